"""Each predefined segment on hand-made customers, at a fixed moment."""

from datetime import timedelta

import pytest
from django.utils import translation

from segments.models import SegmentMembership
from segments.selectors import customer_segment_keys, in_segment, segment_counts
from segments.services import settings_update, shop_recompute
from segments.tasks import recompute_all_shops
from tests.factories import CustomerFactory, ShopFactory
from tests.segments.helpers import NOW, buyer

pytestmark = pytest.mark.django_db


def members(shop, key: str) -> set[int]:
    return set(SegmentMembership.objects.filter(shop=shop, segment__key=key).values_list("customer_id", flat=True))


def test_top_spenders_are_the_top_ten_percent_by_net_spend(shop):
    spenders = [buyer(shop, 10, spend=str(10 * n)) for n in range(1, 21)]
    CustomerFactory(shop=shop)  # no orders: not a buyer, does not widen the top
    shop_recompute(shop=shop, now=NOW)
    assert members(shop, "top_spenders") == {spenders[-1].pk, spenders[-2].pk}


def test_a_small_shop_has_one_top_spender(shop):
    small, big = buyer(shop, 5, spend="10"), buyer(shop, 5, spend="90")
    shop_recompute(shop=shop, now=NOW)
    assert members(shop, "top_spenders") == {big.pk}
    assert not in_segment(customer=small, key="top_spenders")


def test_loyal_repeat_buyers(shop):
    loyal = buyer(shop, 300, 200, 100)
    lapsed = buyer(shop, 400, 300, 200)  # three orders, the last 200 days ago
    twice = buyer(shop, 20, 10)
    shop_recompute(shop=shop, now=NOW)
    assert members(shop, "loyal") == {loyal.pk}
    assert not in_segment(customer=lapsed, key="loyal") and not in_segment(customer=twice, key="loyal")


def test_one_time_buyers(shop):
    once = buyer(shop, 10)
    buyer(shop, 10, 5)
    CustomerFactory(shop=shop)
    shop_recompute(shop=shop, now=NOW)
    assert members(shop, "one_time") == {once.pk}


def test_at_risk_is_past_one_and_a_half_times_the_usual_interval(shop):
    # ordering every 10 days: at risk after 15 days without an order
    late = buyer(shop, 56, 46, 36, 26, 16)
    on_time = buyer(shop, 54, 44, 34, 24, 14)
    shop_recompute(shop=shop, now=NOW)
    assert in_segment(customer=late, key="at_risk")
    assert not in_segment(customer=on_time, key="at_risk")


def test_one_time_buyers_are_measured_by_the_shops_median_interval(shop):
    for _ in range(3):
        buyer(shop, 40, 30, 20, 10, 0)  # the shop's median interval: 10 days -> at risk after 15
    lapsing = buyer(shop, 16)
    recent = buyer(shop, 14)
    shop_recompute(shop=shop, now=NOW)
    assert members(shop, "at_risk") == {lapsing.pk}
    assert in_segment(customer=recent, key="one_time")


def test_no_one_time_buyer_is_at_risk_without_any_repeat_purchases(shop):
    buyer(shop, 300)
    shop_recompute(shop=shop, now=NOW)
    assert members(shop, "at_risk") == set()


def test_churned_customers_are_not_at_risk_and_churn_days_is_per_shop(shop):
    gone = buyer(shop, 400, 390)
    quiet = buyer(shop, 120, 110)
    shop_recompute(shop=shop, now=NOW)
    assert members(shop, "churned") == {gone.pk}
    assert members(shop, "at_risk") == {quiet.pk}
    # when the merchant calls 90 days without an order churned
    settings_update(shop=shop, churn_days=90)
    shop_recompute(shop=shop, now=NOW)
    assert members(shop, "churned") == {gone.pk, quiet.pk}
    assert members(shop, "at_risk") == set()


def test_new_customers_placed_their_first_order_in_the_last_30_days(shop):
    new = buyer(shop, 29, 2)
    returning = buyer(shop, 31, 2)
    shop_recompute(shop=shop, now=NOW)
    assert members(shop, "new") == {new.pk}
    assert "new" not in customer_segment_keys(customer=returning)


def test_time_passing_moves_customers_along_at_the_daily_recompute(shop):
    customer = buyer(shop, 20, 10, now=NOW)
    buyer(shop, 1000, spend="900")  # the top spender
    shop_recompute(shop=shop, now=NOW)
    assert customer_segment_keys(customer=customer) == ["new"]
    shop_recompute(shop=shop, now=NOW + timedelta(days=11))  # 21 days since the last order, interval 10
    assert customer_segment_keys(customer=customer) == ["at_risk"]
    shop_recompute(shop=shop, now=NOW + timedelta(days=400))
    assert customer_segment_keys(customer=customer) == ["churned"]


def test_the_daily_task_recomputes_every_installed_shop(shop):
    customer = buyer(shop, 3)  # relative to NOW, long before the real clock
    uninstalled = ShopFactory(domain="gone.myshopify.com", status="uninstalled")
    buyer(uninstalled, 3)
    assert recompute_all_shops.delay().get() == 1
    assert in_segment(customer=customer, key="one_time")
    assert not SegmentMembership.objects.filter(shop=uninstalled).exists()


def test_counts_list_every_predefined_segment(shop):
    buyer(shop, 5)
    buyer(shop, 60, 4)
    shop_recompute(shop=shop, now=NOW)
    counts = {row["key"]: row["count"] for row in segment_counts(shop=shop)}
    assert counts == {"top_spenders": 1, "loyal": 0, "one_time": 1, "at_risk": 0, "churned": 0, "new": 1}
    assert segment_counts(shop=ShopFactory(domain="empty.myshopify.com"))[0] == {
        "key": "top_spenders", "name": "Top spenders", "kind": "predefined", "count": 0}


def test_predefined_names_are_translated(shop):
    with translation.override("he"):
        names = {row["key"]: row["name"] for row in segment_counts(shop=shop)}
    assert names["churned"] == "נטשו"
    with translation.override("fa"):
        assert segment_counts(shop=shop)[-1]["name"] == "مشتریان جدید"
