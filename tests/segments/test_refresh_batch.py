"""A set of customers refreshed at once (what the order events' subscriber does per run of events):
the same figures, quintiles and memberships as the full recompute, in a fixed number of statements."""

from datetime import timedelta
from decimal import Decimal

import pytest

from commerce.models import Customer, DomainEvent
from segments import services
from segments.models import CustomerScore, SegmentMembership
from segments.services import customers_refresh, segment_create, shop_recompute
from segments.subscribers import on_order_changed
from tests.factories import CustomerFactory, ShopFactory
from tests.segments.helpers import NOW, buyer, order

pytestmark = pytest.mark.django_db

FIGURES = ("orders_count", "total_spent", "first_order_at", "last_order_at", "median_interval_days",
           "expected_next_order_at", "r", "f", "m", "spend_rank")


def shoppers(shop, count: int = 40) -> list[Customer]:
    """Buyers of 1 to 4 orders, some with equal figures (ties), some spread over a year."""
    customers = []
    for n in range(count):
        orders = 1 + n % 4
        days = [20 + (n * 7) % 300 + k * (15 + n % 5) for k in range(orders)]
        customers.append(buyer(shop, *days, spend=str(10 + (n % 6) * 15), tags=("vip",) if n % 3 == 0 else ()))
    return customers


def figures(shop, customers) -> dict[int, tuple]:
    rows = CustomerScore.objects.filter(shop=shop, customer__in=customers)
    return {row.customer_id: tuple(getattr(row, name) for name in FIGURES) for row in rows}


def memberships(shop, customers, *, without: tuple[str, ...] = ()) -> set[tuple[str, int]]:
    return set(SegmentMembership.objects.filter(shop=shop, customer__in=customers)
               .exclude(segment__key__in=without).values_list("segment__key", "customer_id"))


@pytest.mark.parametrize("size", [3, 25])  # placed by counting (<= 16), by ranking (> 16)
def test_a_batch_refresh_places_customers_as_the_full_recompute_would(shop, size):
    # given a scored shop
    customers = shoppers(shop)
    shop_recompute(shop=shop, now=NOW)
    # when some of them buy again, and are refreshed together
    chosen = customers[:size]
    for position, customer in enumerate(chosen):
        order(customer, 1 + position % 3, spend=str(40 + position * 5))
    customers_refresh(shop=shop, customer_ids=[customer.pk for customer in chosen], now=NOW)
    refreshed = figures(shop, chosen)
    # then their figures, quintiles and memberships are what a full recompute gives them
    # (at-risk is left out: one-time buyers are measured with the shop's median of the last recompute)
    joined = memberships(shop, chosen, without=("at_risk",))
    shop_recompute(shop=shop, now=NOW)
    assert refreshed == figures(shop, chosen)
    assert joined == memberships(shop, chosen, without=("at_risk",))
    assert any(row[0] >= 2 for row in refreshed.values())


@pytest.mark.parametrize("size", [3, 25])
def test_after_a_full_recompute_a_refresh_changes_nothing(shop, size):
    customers = shoppers(shop)
    shop_recompute(shop=shop, now=NOW)
    before = (figures(shop, customers), memberships(shop, customers))
    customers_refresh(shop=shop, customer_ids=[customer.pk for customer in customers[-size:]], now=NOW)
    assert (figures(shop, customers), memberships(shop, customers)) == before
    assert len(before[1]) > size


def test_a_merchant_segment_reading_another_segment_sees_its_fresh_members(shop):
    # given a merchant segment of loyal VIPs, and a VIP with two orders (not loyal yet)
    segment_create(shop=shop, key="loyal-vips", name="Loyal VIPs",
                   conditions={"all": [{"field": "segment", "op": "is", "value": "loyal"},
                                       {"field": "tag", "op": "contains", "value": "vip"}]})
    vip = buyer(shop, 60, 30, tags=("VIP",))
    other = buyer(shop, 60, 30)
    shop_recompute(shop=shop, now=NOW)
    assert not memberships(shop, [vip, other], without=("at_risk", "top_spenders"))
    # when both order a third time and are refreshed together
    order(vip, 2)
    order(other, 2)
    customers_refresh(shop=shop, customer_ids=[vip.pk, other.pk], now=NOW)
    # then the VIP is loyal and so a loyal VIP in the same refresh; the other only loyal
    assert memberships(shop, [vip, other], without=("at_risk", "top_spenders")) == {
        ("loyal", vip.pk), ("loyal-vips", vip.pk), ("loyal", other.pk)}


def test_an_erased_customer_in_the_batch_loses_score_and_memberships(shop):
    kept, erased = buyer(shop, 10), buyer(shop, 10)
    shop_recompute(shop=shop, now=NOW)
    assert memberships(shop, [erased])
    Customer.objects.filter(pk=erased.pk).update(is_deleted=True)
    order(kept, 5)
    customers_refresh(shop=shop, customer_ids=[kept.pk, erased.pk], now=NOW)
    assert not CustomerScore.objects.filter(customer=erased).exists()
    assert not memberships(shop, [erased])
    assert CustomerScore.objects.get(customer=kept).orders_count == 2


def test_another_shops_customers_are_ignored(shop):
    mine = buyer(shop, 10)
    theirs = buyer(ShopFactory(domain="other-batch.myshopify.com"), 10)
    customers_refresh(shop=shop, customer_ids=[mine.pk, theirs.pk], now=NOW)
    assert list(CustomerScore.objects.values_list("customer_id", flat=True)) == [mine.pk]
    assert not SegmentMembership.objects.filter(customer=theirs).exists()


def test_the_first_refresh_of_a_never_recomputed_shop_keeps_its_median(shop):
    """The shop's median interval is measured once (a query over the whole shop), not per event."""
    customers = [buyer(shop, 40, 20), buyer(shop, 50, 20), buyer(shop, 30)]
    customers_refresh(shop=shop, customer_ids=[customers[2].pk], now=NOW)
    assert services.settings_for(shop=shop).median_interval_days == Decimal("25.00")
    one_time = CustomerScore.objects.get(customer=customers[2])
    expected = NOW - timedelta(days=30) + timedelta(days=37.5)  # its last order + 1.5 x the shop's 25 days
    assert one_time.expected_next_order_at is not None
    assert abs(one_time.expected_next_order_at - expected) < timedelta(seconds=1)


# --- statements: fixed per refresh, whatever the number of customers --------------------------

REFRESH_STATEMENTS = 12


@pytest.mark.parametrize("size", [1, 40])
def test_a_refresh_costs_the_same_statements_for_one_customer_or_forty(shop, size, django_assert_num_queries):
    customers = shoppers(shop, 41)
    shop_recompute(shop=shop, now=NOW)
    chosen = customers[1:1 + size]  # the first: two orders, at risk
    for customer in chosen:  # a new order each: memberships change (leaving at-risk, joining loyal ...)
        order(customer, 0.5, spend="30")
    # settings, segments, savepoint, erased, upsert, quintiles, top count, matches, stored, delete, insert, release
    with django_assert_num_queries(REFRESH_STATEMENTS):
        customers_refresh(shop=shop, customer_ids=[customer.pk for customer in chosen], now=NOW)


@pytest.mark.parametrize("size", [1, 30])
def test_the_subscriber_costs_the_same_for_one_paid_order_or_thirty(shop, size, django_assert_num_queries):
    """The outbox hands the subscriber a run of one shop's events: one refresh for all of them."""
    customers = shoppers(shop, 30)
    shop_recompute(shop=shop, now=NOW)
    events = []
    for position, customer in enumerate(customers[:size]):
        placed = order(customer, 0.5, spend="30")
        events.append(DomainEvent.objects.create(
            shop=shop, name=DomainEvent.Name.ORDER_PAID, key=f"order.paid:{placed.pk}", occurred_at=NOW,
            payload={"order_id": placed.pk, "customer_id": customer.pk, "position": position}))
    batch = list(DomainEvent.objects.filter(pk__in=[event.pk for event in events]).order_by("pk"))
    with django_assert_num_queries(REFRESH_STATEMENTS + 1):  # + the events' shop
        on_order_changed(batch)
    assert CustomerScore.objects.filter(customer__in=customers[:size], orders_count__gte=2).count() == size


def test_a_guest_order_costs_the_subscriber_nothing(shop, django_assert_num_queries):
    event = DomainEvent.objects.create(shop=shop, name=DomainEvent.Name.ORDER_PAID, key="order.paid:1",
                                       occurred_at=NOW, payload={"order_id": 1, "customer_id": None})
    with django_assert_num_queries(0):
        on_order_changed([event])
    assert not CustomerFactory._meta.model.objects.filter(shop=shop).exists()
