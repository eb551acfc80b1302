"""Campaigns on the paid-order path: attribution and enrolment for a run of events in a fixed
number of statements, with the same credits as one order at a time."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from campaigns.models import Attribution, Flow, Message
from campaigns.services.attribution import order_attribute, orders_attribute
from campaigns.services.flows import flow_enable
from campaigns.subscribers import on_event, on_order_paid
from commerce.models import Customer, DomainEvent, Order
from tests.factories import CustomerFactory, OrderFactory, ShopFactory

pytestmark = pytest.mark.django_db

NOON = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)


@pytest.fixture
def shop(db):
    return ShopFactory(domain="attribution-batch.myshopify.com")


def sent(flow: Flow, customer: Customer, at: datetime, *, code: str = "", marketing: bool = True) -> Message:
    return Message.objects.create(shop=flow.shop, customer=customer, flow=flow, channel="email", template="winback",
                                  language="en", is_marketing=marketing, status="sent", at=at, discount_code=code)


def paid(customer: Customer, at: datetime, *codes: str, total: str = "80") -> Order:
    return OrderFactory(shop=customer.shop, customer=customer, total=Decimal(total), processed_at=at,
                        platform_updated_at=at, discount_codes=list(codes))


def event(order: Order) -> DomainEvent:
    return DomainEvent.objects.create(shop_id=order.shop_id, name=DomainEvent.Name.ORDER_PAID,
                                      key=f"order.paid:{order.pk}", occurred_at=NOON,
                                      payload={"order_id": order.pk, "customer_id": order.customer_id})


def history(shop) -> dict[str, Order]:
    """Orders credited by code (a message long before), by window (the latest of two), not at all
    (a message after the order, a transactional one, one too old, none)."""
    winback, birthday = flow_enable(shop=shop, key="winback"), flow_enable(shop=shop, key="birthday")
    by_code, by_window, after, transactional, too_old, nobody = (CustomerFactory(shop=shop) for _ in range(6))
    sent(winback, by_code, NOON - timedelta(days=40), code="BACK-1")
    sent(birthday, by_code, NOON - timedelta(days=1))
    sent(winback, by_window, NOON - timedelta(days=4))
    sent(birthday, by_window, NOON - timedelta(days=2))
    sent(winback, after, NOON + timedelta(hours=1))
    sent(winback, transactional, NOON - timedelta(days=1), marketing=False)
    sent(winback, too_old, NOON - timedelta(days=6))
    return {"code": paid(by_code, NOON, "back-1"), "window": paid(by_window, NOON, total="25"),
            "after": paid(after, NOON), "transactional": paid(transactional, NOON),
            "too_old": paid(too_old, NOON), "nobody": paid(nobody, NOON)}


def credits(shop) -> dict[int, tuple]:
    return {row.order_id: (row.flow.key, row.via, row.message_id, row.revenue)
            for row in Attribution.objects.filter(shop=shop).select_related("flow")}


def test_a_run_of_orders_gets_the_credits_one_order_at_a_time_gets(shop):
    orders = history(shop)
    # when credited together
    assert orders_attribute(shop_id=shop.pk, order_ids=[order.pk for order in orders.values()]) == 2
    together = credits(shop)
    # then as one at a time
    Attribution.objects.all().delete()
    for order in orders.values():
        order_attribute(order=order)
    assert together == credits(shop)
    assert {orders["code"].pk: "code", orders["window"].pk: "window"} == {
        order_id: via for order_id, (_, via, _, _) in together.items()}
    assert together[orders["window"].pk][:2] == ("birthday", "window")  # the latest message in the window
    assert together[orders["code"].pk][:2] == ("winback", "code")  # the code wins over a later message


def test_an_order_credited_already_stays_as_it_was(shop):
    orders = history(shop)
    order_attribute(order=orders["window"])
    first = credits(shop)
    orders_attribute(shop_id=shop.pk, order_ids=[orders["window"].pk, orders["window"].pk])
    assert credits(shop) == first and Attribution.objects.count() == 1


def test_another_shops_orders_are_not_credited(shop):
    orders = history(shop)
    other = ShopFactory(domain="attribution-other.myshopify.com")
    assert orders_attribute(shop_id=other.pk, order_ids=[order.pk for order in orders.values()]) == 0
    assert not Attribution.objects.exists()


@pytest.mark.parametrize("copies", [1, 20])
def test_attribution_costs_the_same_for_one_paid_order_or_twenty(shop, copies, django_assert_num_queries):
    winback = flow_enable(shop=shop, key="winback")
    batch = []
    for _ in range(copies):
        customer = CustomerFactory(shop=shop)
        sent(winback, customer, NOON - timedelta(days=1))
        batch.append(event(paid(customer, NOON)))
    with django_assert_num_queries(3):  # the orders, the messages, one insert
        on_order_paid(batch)
    assert Attribution.objects.filter(shop=shop).count() == copies


@pytest.mark.parametrize("copies", [1, 20])
def test_enrolment_costs_one_statement_for_a_run_no_flow_starts_on(shop, copies, django_assert_num_queries):
    Flow.objects.filter(shop=shop, trigger=DomainEvent.Name.ORDER_PAID).update(is_enabled=False)
    batch = [event(paid(CustomerFactory(shop=shop), NOON)) for _ in range(copies)]
    with django_assert_num_queries(1):
        on_event(batch)
