"""RFM quintiles and the figures behind them, computed in SQL over the shop's counted orders."""

from datetime import timedelta
from decimal import Decimal

import pytest

from segments.models import CustomerScore
from segments.services import customer_refresh, ntile, shop_recompute
from tests.factories import CustomerFactory, ShopFactory
from tests.segments.helpers import NOW, buyer, order

pytestmark = pytest.mark.django_db


def scores(shop) -> dict[int, CustomerScore]:
    return {score.customer_id: score for score in CustomerScore.objects.filter(shop=shop)}


def test_quintiles_on_a_small_store(shop):
    # given ten buyers: the n-th ordered n times, most recently n days... the 10th the most recent
    customers = []
    for n in range(1, 11):
        customer = CustomerFactory(shop=shop)
        for k in range(n):
            order(customer, days_ago=100 - n - k * 0.01, spend=str(10 * n))
        customers.append(customer)
    # when
    assert shop_recompute(shop=shop, now=NOW) == 10
    # then two customers per quintile, in the order of recency, frequency and spend
    got = scores(shop)
    expected = [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert [got[c.pk].r for c in customers] == expected
    assert [got[c.pk].f for c in customers] == expected
    assert [got[c.pk].m for c in customers] == expected
    assert got[customers[9].pk].total_spent == Decimal("1000.000")  # 10 orders of 100
    assert [got[c.pk].spend_rank for c in customers] == list(range(10, 0, -1))


def test_equal_figures_share_a_quintile(shop):
    one_timers = [buyer(shop, 10, spend="20") for _ in range(6)]
    regulars = [buyer(shop, 30, 20, 10, spend="20") for _ in range(4)]
    shop_recompute(shop=shop, now=NOW)
    got = scores(shop)
    assert {got[c.pk].f for c in one_timers} == {1}  # not spread over 1..3 by id
    assert {got[c.pk].f for c in regulars} == {4}  # the first of the tie: the 7th of 10 is in quintile 4
    assert {got[c.pk].r for c in one_timers + regulars} == {1}  # all ordered last 10 days ago


def test_only_paid_live_real_orders_count_net_of_refunds(shop):
    customer = CustomerFactory(shop=shop)
    order(customer, 50, spend="100", total_refunded=Decimal("30"))  # partly refunded: 70 counts
    order(customer, 40, spend="80", total_refunded=Decimal("80"), financial_status="refunded")  # all returned
    order(customer, 30, spend="500", cancelled_at=NOW - timedelta(days=29))
    order(customer, 20, spend="500", is_test=True)
    order(customer, 10, spend="500", financial_status="pending")
    order(customer, 5, spend="25")
    shop_recompute(shop=shop, now=NOW)
    score = CustomerScore.objects.get(customer=customer)
    assert (score.orders_count, score.total_spent) == (2, Decimal("95.000"))
    assert (score.first_order_at, score.last_order_at) == (NOW - timedelta(days=50), NOW - timedelta(days=5))
    assert score.median_interval_days == Decimal("45.00")


def test_customers_without_orders_have_a_row_but_no_quintiles(shop):
    browser = CustomerFactory(shop=shop)
    buyer(shop, 3)
    shop_recompute(shop=shop, now=NOW)
    score = CustomerScore.objects.get(customer=browser)
    assert (score.orders_count, score.total_spent, score.r, score.f, score.m) == (0, Decimal("0"), None, None, None)


def test_median_interval_between_orders(shop):
    odd = buyer(shop, 100, 90, 70, 10)  # gaps 10, 20, 60 -> 20
    even = buyer(shop, 40, 30, 10)  # gaps 10, 20 -> 15
    shop_recompute(shop=shop, now=NOW)
    got = scores(shop)
    assert got[odd.pk].median_interval_days == Decimal("20.00")
    assert got[even.pk].median_interval_days == Decimal("15.00")
    # at risk after last order + 1.5 × median
    expected = got[odd.pk].expected_next_order_at
    assert expected is not None and abs(expected - (NOW + timedelta(days=20))) < timedelta(seconds=1)


def test_ntile_matches_sql():
    # 7 rows in 5 buckets: 2, 2, 1, 1, 1
    assert [ntile(position, 7) for position in range(1, 8)] == [1, 1, 2, 2, 3, 4, 5]
    assert [ntile(position, 3) for position in range(1, 4)] == [1, 2, 3]
    assert [ntile(position, 10) for position in range(1, 11)] == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]


def test_one_customers_refresh_places_them_as_the_full_recompute_would(shop):
    customers = [buyer(shop, *[60 - n - k for k in range(n)], spend=str(7 * n)) for n in range(1, 8)]
    shop_recompute(shop=shop, now=NOW)
    # when the least active customer buys three times, refreshed alone
    for days in (3, 2, 1):
        order(customers[0], days, spend="150")
    customer_refresh(customer=customers[0], now=NOW)
    alone = CustomerScore.objects.get(customer=customers[0])
    # then the same figures and quintiles as a full recompute gives
    shop_recompute(shop=shop, now=NOW)
    full = CustomerScore.objects.get(customer=customers[0])
    fields = ("orders_count", "total_spent", "last_order_at", "median_interval_days", "r", "f", "m", "spend_rank")
    assert [getattr(alone, f) for f in fields] == [getattr(full, f) for f in fields]
    assert (full.r, full.m) == (5, 5)


def test_a_shop_never_scores_another_shops_customers(shop):
    mine = buyer(shop, 5)
    other = ShopFactory(domain="other-rfm.myshopify.com")
    theirs = buyer(other, 5)
    shop_recompute(shop=shop, now=NOW)
    assert list(CustomerScore.objects.values_list("customer_id", flat=True)) == [mine.pk]
    customer_refresh(customer=theirs, now=NOW)
    assert CustomerScore.objects.get(customer=theirs).shop_id == other.pk
    assert CustomerScore.objects.filter(shop=shop).count() == 1
