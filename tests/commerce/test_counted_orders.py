"""One definition of a counted order: a fully refunded order and a test order, delivered as Shopify
sends them, are left out alike by analytics, loyalty tiers and badges, segments and the campaign scans."""

import copy
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection

from analytics.services import average_order_value, historic_clv, repeat_purchase_rate
from campaigns.models import Enrolment
from campaigns.services.engine import dates_scan, winback_scan
from campaigns.services.flows import flow_enable
from commerce.models import Customer, Order
from commerce.selectors import counted_order_q, orders_counted, orders_counted_sql
from loyalty.models import Account, TierScheme
from loyalty.selectors import account_orders
from loyalty.services.program import program_enable
from loyalty.services.tiers import tier_metric
from segments.models import CustomerScore, SegmentMembership
from segments.services import shop_recompute
from tests.factories import ShopFactory
from tests.integrations.helpers import fixture, post_webhook

pytestmark = pytest.mark.django_db(transaction=True)

PAID_AT = datetime(2026, 1, 10, 15, 15, tzinfo=UTC)  # the fixture order's processed_at
LATER = "2026-07-01T10:00:00-05:00"
NOW = PAID_AT + timedelta(days=200)  # the paid order lapsed 200 days ago; the other two are 28 days old


def _refunded_in_full(order: dict) -> dict:
    """The fixture order as Shopify sends it once the merchant refunded all of it."""
    refunded = copy.deepcopy(order)
    refunded.update(id=820982911946154600, name="#1002", order_number=1002, processed_at=LATER, created_at=LATER,
                    updated_at="2026-07-02T10:00:00-05:00", financial_status="refunded", current_total_price="0.00",
                    current_subtotal_price="0.00")
    refund = fixture("shopify_refund.json")
    refund.update(order_id=refunded["id"])
    refund["transactions"][0].update(order_id=refunded["id"], amount=refunded["total_price"])
    refunded["refunds"] = [refund]
    return refunded


def _test_order(order: dict) -> dict:
    """The fixture order placed with Shopify's test gateway (``test: true``)."""
    tested = copy.deepcopy(order)
    tested.update(id=820982911946154700, name="#1003", order_number=1003, processed_at=LATER, created_at=LATER,
                  updated_at=LATER, test=True, gateway="bogus")
    return tested


@pytest.fixture
def shop(client, settings):
    shop = ShopFactory(domain="counted-store.myshopify.com", installed_at=PAID_AT - timedelta(days=30))
    program_enable(shop=shop)
    order = fixture("shopify_order.json")
    for topic, payload in (("orders/create", order), ("orders/create", _refunded_in_full(order)),
                           ("orders/create", _test_order(order))):
        assert post_webhook(client, topic, payload, shop_domain=shop.domain).status_code == 200
    return shop


def test_the_rule_keeps_only_the_paid_order(shop):
    # given three orders of one customer: paid, refunded in full, test
    assert Order.objects.filter(shop=shop).count() == 3
    refunded = Order.objects.get(shop=shop, platform_id="820982911946154600")
    assert refunded.financial_status == "refunded" and refunded.total_refunded == refunded.total == Decimal("403")
    assert Order.objects.get(shop=shop, platform_id="820982911946154700").is_test
    # then
    assert list(orders_counted(shop=shop).values_list("platform_id", flat=True)) == ["820982911946154508"]
    assert list(Order.objects.filter(counted_order_q(), shop=shop).values_list("platform_id", flat=True)) == [
        "820982911946154508"]
    sql, params = orders_counted_sql(shop=shop)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*), SUM(net) FROM ({sql}) counted", params)
        count, net = cursor.fetchone()
    assert count == 1 and Decimal(str(net)) == Decimal("403")


def test_a_partially_refunded_order_whose_refunds_add_up_to_its_total_does_not_count(shop):
    Order.objects.filter(shop=shop, platform_id="820982911946154600").update(financial_status="partially_refunded")
    assert orders_counted(shop=shop).count() == 1
    Order.objects.filter(shop=shop, platform_id="820982911946154600").update(total_refunded=Decimal("100"))
    assert orders_counted(shop=shop).count() == 2  # refunded in part: still a purchase, worth 303


def test_analytics_counts_one_order_of_403(shop):
    value = average_order_value(shop=shop, start=date(2026, 1, 1), end=date(2026, 7, 31))
    assert value["orders"] == 1 and value["revenue"] == "403.000"
    assert historic_clv(shop=shop, end=date(2026, 7, 31)) == {"customers": 1, "historic_mean": "403.000"}
    repeat = repeat_purchase_rate(shop=shop, start=date(2026, 1, 1), end=date(2026, 7, 31))
    assert repeat["repeat_customers"] == 0


def test_loyalty_tiers_and_badges_count_one_order_of_403(shop):
    account = Account.objects.get(shop=shop, customer__platform_id="115310627314723954")
    scheme = TierScheme.objects.get(shop=shop, is_active=True)
    assert tier_metric(account=account, scheme=scheme, at=NOW) == Decimal("403")
    assert account_orders(account=account).count() == 1  # what order-count badges and challenges read
    account.refresh_from_db()
    assert account.tier is not None and account.tier.threshold < Decimal("500")  # 806 or 1,209 would be Silver


def test_segments_count_one_order_of_403(shop):
    shop_recompute(shop=shop, now=NOW)
    customer = Customer.objects.get(shop=shop, platform_id="115310627314723954")
    score = CustomerScore.objects.get(shop=shop, customer=customer)
    assert score.orders_count == 1 and score.total_spent == Decimal("403")
    assert score.last_order_at == PAID_AT
    keys = set(SegmentMembership.objects.filter(shop=shop, customer=customer).values_list("segment__key", flat=True))
    assert "one_time" in keys


def test_the_winback_scan_sees_the_paid_order_as_the_last_one(shop):
    # the refunded and the test order are 28 days old: counted, they would hide the lapse
    flow = flow_enable(shop=shop, key="winback")
    assert winback_scan(flow=flow, now=NOW) == 1
    enrolment = Enrolment.objects.get(shop=shop, flow=flow)
    assert enrolment.trigger_key == f"winback:{enrolment.customer_id}:2026-01-10"


def test_a_test_order_a_year_earlier_is_no_first_order_anniversary(client, shop):
    # given a test order placed a year before the customer's first real one
    earlier = _test_order(fixture("shopify_order.json"))
    earlier.update(id=820982911946154800, name="#1000", order_number=1000, processed_at="2025-01-10T10:15:00-05:00",
                   created_at="2025-01-10T10:15:00-05:00", updated_at="2025-01-10T10:15:00-05:00")
    assert post_webhook(client, "orders/create", earlier, shop_domain=shop.domain).status_code == 200
    # then the first order is the paid one, and its first anniversary is a year away
    customer = Customer.objects.get(shop=shop, platform_id="115310627314723954")
    assert customer.first_order_at == PAID_AT
    flow = flow_enable(shop=shop, key="anniversary")
    assert dates_scan(flow=flow, now=PAID_AT + timedelta(hours=2)) == 0
    assert dates_scan(flow=flow, now=PAID_AT.replace(year=2027) + timedelta(hours=2)) == 1
