"""The rollups (``CustomerDay``, ``ShopDay``): refreshed after orders and refunds arrive through
commerce's services, the report from them equals ``retention_report`` on every figure they answer."""

import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from analytics.models import CustomerDay, RollupState, ShopDay
from analytics.services import active_customers, average_order_value, retention_report
from analytics.services.rollup_report import rollup_active_customers_on, rollup_report
from analytics.services.rollups import rollups_refresh
from commerce.models import Order
from commerce.records import OrderRecord
from commerce.services import orders_upsert
from tests.analytics.helpers import customer, order
from tests.factories import ShopFactory

pytestmark = pytest.mark.django_db

PERIOD = {"start": date(2026, 1, 1), "end": date(2026, 6, 30)}
TODAY = date(2026, 5, 20)  # the period runs past it: May and June are partial
ROLLUP_KEYS = ("customers", "crr_percent", "repeat_purchase_rate_percent", "period_customers", "repeat_customers",
               "purchase_frequency", "customer_orders", "orders", "revenue", "average_order_value",
               "churned_customers", "churn_rate_percent", "cohorts", "loyal_base")


def _store(seed: int = 7) -> object:
    """A Berlin shop in EUR: 160 customers over 2024-2026 (orders near local midnight, so UTC days
    differ from the shop's), repeaters, guests, other-currency, cancelled, test and refunded orders."""
    shop = ShopFactory(domain="rollups.example", currency="EUR", timezone="Europe/Berlin")
    rng = random.Random(seed)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    for index in range(160):
        buyer = customer(shop, f"rollup-{index}")
        first = start + timedelta(days=rng.randrange(0, 880), hours=rng.choice([0, 1, 22, 23, 12]))
        orders = 1 if rng.random() < 0.45 else rng.randrange(2, 9)
        when = first
        for _ in range(orders):
            kind = rng.random()
            total = str(Decimal(rng.randrange(1000, 20000)) / 100)
            order(shop, buyer, when, total,
                  refunded=str(Decimal(total) / 4) if kind < 0.08 else "0",
                  status="partially_refunded" if kind < 0.08 else "paid",
                  cancelled=0.08 <= kind < 0.11, test=0.11 <= kind < 0.13,
                  currency="USD" if 0.13 <= kind < 0.16 else None)
            when += timedelta(days=rng.randrange(0, 120), hours=rng.randrange(0, 24))
    order(shop, buyer, datetime(2026, 2, 10, 23, tzinfo=UTC), "44", currency="USD")  # left out of amounts
    for index in range(12):  # guest orders count for orders and revenue, not for customers
        order(shop, None, start + timedelta(days=700 + index * 9, hours=23), "35")
    # a store whose history arrived an hour ago: only what changes from now on is new to a refresh
    Order.objects.filter(shop=shop).update(updated_at=timezone.now() - timedelta(hours=1))
    return shop


def _same(shop: object, **kwargs: object) -> None:
    full = retention_report(shop=shop, **PERIOD, **kwargs)  # type: ignore[arg-type]
    fast = rollup_report(shop=shop, **PERIOD, today=TODAY, **kwargs)  # type: ignore[arg-type]
    for key in ROLLUP_KEYS:
        if key == "cohorts":
            continue
        assert fast[key] == full[key], key
    assert [(c["month"], c["size"], c["retention_percent"]) for c in fast["cohorts"]] == [
        (c["month"], c["size"], c["retention_percent"]) for c in full["cohorts"]]
    other = average_order_value(shop=shop, **PERIOD)["orders_in_other_currency"]  # type: ignore[arg-type]
    assert fast["orders_in_other_currency"] == other > 0
    for key in ("historic_mean", "customers", "repeat_customers", "spend_model_customers", "predicted_mean",
                "probability_alive", "model", "reason"):
        assert fast["clv"][key] == full["clv"][key], key


def test_after_a_refresh_the_rollups_give_the_reports_numbers():
    # given
    shop = _store()
    # when
    result = rollups_refresh(shop=shop)
    # then
    assert result.full and CustomerDay.objects.filter(shop=shop).count() > 300
    assert ShopDay.objects.filter(shop=shop).exists()
    _same(shop)


def test_orders_and_refunds_through_the_services_are_in_the_next_refresh():
    # given
    shop = _store(seed=11)
    rollups_refresh(shop=shop)
    before = rollup_report(shop=shop, **PERIOD, predicted=False)
    when = datetime(2026, 3, 3, 23, 30, tzinfo=UTC)  # 4 March in Berlin
    records = [
        OrderRecord(platform_id="live-1", updated_at=when, currency="EUR", customer_platform_id="rollup-3",
                    financial_status="paid", total=Decimal("80"), subtotal=Decimal("80"), processed_at=when),
        OrderRecord(platform_id="live-2", updated_at=when, currency="EUR", customer_platform_id="brand-new",
                    financial_status="paid", total=Decimal("20"), subtotal=Decimal("20"), processed_at=when),
    ]
    orders_upsert(shop=shop, records=records, live=True)
    later = when + timedelta(hours=2)
    refunded = OrderRecord(platform_id="live-1", updated_at=later, currency="EUR", customer_platform_id="rollup-3",
                           financial_status="partially_refunded", total=Decimal("80"), subtotal=Decimal("80"),
                           total_refunded=Decimal("30"), processed_at=when)
    orders_upsert(shop=shop, records=[refunded], live=True)
    # when
    result = rollups_refresh(shop=shop)
    # then
    assert not result.full and result.customers == 2 and result.days == 1
    after = rollup_report(shop=shop, **PERIOD, predicted=False)
    assert after["orders"] == before["orders"] + 2
    assert Decimal(after["revenue"]) == Decimal(before["revenue"]) + Decimal("70")
    assert after["customers"]["new"] == before["customers"]["new"] + 1
    _same(shop)


def test_a_cancelled_order_leaves_the_rollups_and_a_new_time_zone_rebuilds_them():
    # given
    shop = _store(seed=5)
    rollups_refresh(shop=shop)
    target = CustomerDay.objects.filter(shop=shop, day__gte=PERIOD["start"]).order_by("day").first()
    assert target is not None
    victim = Order.objects.filter(shop=shop, customer_id=target.customer_id, cancelled_at__isnull=True,
                                  is_test=False).order_by("processed_at").last()
    assert victim is not None
    victim.cancelled_at = victim.processed_at
    victim.save()
    # when
    rollups_refresh(shop=shop)
    # then
    _same(shop)
    # given
    shop.timezone = "America/New_York"
    shop.save()
    # when
    result = rollups_refresh(shop=shop)
    # then
    assert result.full
    assert RollupState.objects.get(shop=shop).timezone == "America/New_York"
    _same(shop)


def test_a_refresh_with_nothing_new_changes_nothing(django_assert_max_num_queries):
    shop = _store(seed=3)
    rollups_refresh(shop=shop)
    rows = list(CustomerDay.objects.filter(shop=shop).order_by("customer_id", "day").values_list(
        "customer_id", "day", "orders", "revenue"))
    with django_assert_max_num_queries(8):
        result = rollups_refresh(shop=shop)
    assert (result.full, result.customers, result.days) == (False, 0, 0)
    assert rows == list(CustomerDay.objects.filter(shop=shop).order_by("customer_id", "day").values_list(
        "customer_id", "day", "orders", "revenue"))


def test_active_customers_at_each_month_end_from_the_rollup_are_the_orders():
    shop = _store(seed=13)
    rollups_refresh(shop=shop)
    days = [date(2025, 12, 31), date(2026, 1, 31), date(2026, 2, 28), date(2026, 3, 15)]
    assert rollup_active_customers_on(shop=shop, days=days, activity_days=90) == [
        active_customers(shop=shop, day=day, activity_days=90) for day in days]
    assert rollup_active_customers_on(shop=shop, days=[], activity_days=90) == []
