"""CRR, churn, repeat purchases, purchase frequency and the loyal base on hand-computed stores."""

from datetime import date
from decimal import Decimal

import pytest

from analytics.services import (
    active_customers,
    churn,
    customer_retention,
    loyal_base,
    new_customers,
    purchase_frequency,
    repeat_purchase_rate,
)
from tests.analytics.helpers import at, customer, customers_with_orders, order
from tests.factories import ShopFactory

pytestmark = pytest.mark.django_db

MARCH = {"start": date(2026, 3, 1), "end": date(2026, 3, 31)}


def test_the_worked_example_s100_n15_e105_gives_90_percent():
    # given: 100 customers active on Feb 28 (an order within the 365 days up to it); 10 of them
    # ordered last on 2025-03-15, which leaves the window by March 31; 15 customers new in March
    shop = ShopFactory()
    customers_with_orders(shop, 90, at(2025, 6, 1))
    customers_with_orders(shop, 10, at(2025, 3, 15))
    customers_with_orders(shop, 15, at(2026, 3, 10))
    # when
    result = customer_retention(shop=shop, **MARCH)
    # then
    assert result["customers"] == {"start": 100, "end": 105, "new": 15}
    assert result["crr_percent"] == Decimal("90.00")
    assert str(result["crr_percent"]) == "90.00"
    assert churn(shop=shop, **MARCH)["churn_rate_percent"] == Decimal("10.00")


def test_crr_is_none_without_customers_at_the_start():
    shop = ShopFactory()
    customers_with_orders(shop, 3, at(2026, 3, 10))
    result = customer_retention(shop=shop, **MARCH)
    assert result == {"customers": {"start": 0, "end": 3, "new": 3}, "crr_percent": None}
    assert churn(shop=shop, **MARCH)["churn_rate_percent"] is None


def test_only_paid_live_real_orders_count():
    # given: one customer per kind of order, all before the period
    shop = ShopFactory()
    order(shop, customer(shop), at(2026, 1, 5))  # counts
    order(shop, customer(shop), at(2026, 1, 5), refunded="20", status="partially_refunded")  # counts
    order(shop, customer(shop), at(2026, 1, 5), refunded="50", status="refunded")  # fully refunded: no
    order(shop, customer(shop), at(2026, 1, 5), cancelled=True)  # cancelled: no
    order(shop, customer(shop), at(2026, 1, 5), test=True)  # test order: no
    order(shop, customer(shop), at(2026, 1, 5), status="pending")  # not paid (yet): no
    order(shop, None, at(2026, 1, 5))  # a guest: cannot be followed
    # when / then
    assert active_customers(shop=shop, day=date(2026, 2, 28)) == 2


def test_a_first_order_that_was_cancelled_does_not_make_a_customer_old():
    shop = ShopFactory()
    buyer = customer(shop)
    order(shop, buyer, at(2026, 1, 5), cancelled=True)
    order(shop, buyer, at(2026, 3, 5))
    assert new_customers(shop=shop, **MARCH) == 1
    assert customer_retention(shop=shop, **MARCH)["customers"] == {"start": 0, "end": 1, "new": 1}


def test_days_are_the_shops_local_days():
    # given: a New York shop; 2026-03-01 03:00 UTC is still February 28 in New York
    shop = ShopFactory(timezone="America/New_York")
    early = customer(shop)
    order(shop, early, at(2026, 3, 1, hour=3))
    late = customer(shop)
    order(shop, late, at(2026, 4, 1, hour=3))  # March 31, 23:00 local
    # when
    result = customer_retention(shop=shop, **MARCH)
    # then: the first is active the day before March and old; the second is new in March
    assert result["customers"] == {"start": 1, "end": 2, "new": 1}
    assert active_customers(shop=shop, day=date(2026, 2, 27)) == 0


def test_the_activity_window_is_configurable():
    shop = ShopFactory()
    customers_with_orders(shop, 4, at(2025, 12, 15))
    customers_with_orders(shop, 6, at(2026, 2, 20))
    assert active_customers(shop=shop, day=date(2026, 2, 28)) == 10
    assert active_customers(shop=shop, day=date(2026, 2, 28), activity_days=30) == 6
    # 30 days up to March 31: nobody; 90 days: the six of February 20
    assert customer_retention(shop=shop, activity_days=90, **MARCH)["crr_percent"] == Decimal("60.00")


def test_repeat_purchase_rate_and_frequency_count_the_periods_orders():
    # given: in March, A orders 3 times, B twice, C once, D once but it is cancelled; E ordered
    # twice, once in February (not the period) and once in March
    shop = ShopFactory()
    a, b, c, d, e = (customer(shop) for _ in range(5))
    for day in (2, 10, 20):
        order(shop, a, at(2026, 3, day))
    order(shop, b, at(2026, 3, 3))
    order(shop, b, at(2026, 3, 4), refunded="10", status="partially_refunded")
    order(shop, c, at(2026, 3, 31, hour=23))
    order(shop, d, at(2026, 3, 5), cancelled=True)
    order(shop, e, at(2026, 2, 25))
    order(shop, e, at(2026, 3, 6))
    order(shop, None, at(2026, 3, 7))  # a guest order is not a customer's
    # when
    repeat = repeat_purchase_rate(shop=shop, **MARCH)
    frequency = purchase_frequency(shop=shop, **MARCH)
    # then: customers A, B, C, E; repeat A and B; 7 orders
    assert repeat == {"period_customers": 4, "repeat_customers": 2, "repeat_purchase_rate_percent": Decimal("50.00")}
    assert frequency == {"customer_orders": 7, "period_customers": 4, "purchase_frequency": Decimal("1.75")}


def test_repeat_rate_and_frequency_are_none_without_orders():
    shop = ShopFactory()
    assert repeat_purchase_rate(shop=shop, **MARCH)["repeat_purchase_rate_percent"] is None
    assert purchase_frequency(shop=shop, **MARCH)["purchase_frequency"] is None


def test_churn_and_the_revenue_it_costs():
    # given: three customers active at the start
    shop = ShopFactory()
    stays = customer(shop)
    order(shop, stays, at(2025, 5, 1), "100")
    order(shop, stays, at(2026, 3, 2), "10")
    lapses = customer(shop)  # last order 2025-03-20: out of the 365 days up to March 31
    order(shop, lapses, at(2024, 3, 19), "999")  # more than 365 days before the last order
    order(shop, lapses, at(2024, 3, 22), "40")  # inside the 365 days before the last order
    order(shop, lapses, at(2025, 3, 20), "60", refunded="15", status="partially_refunded")
    quiet = customer(shop)  # last order 2025-06-01: still within the churn horizon
    order(shop, quiet, at(2025, 6, 1), "70")
    # when
    result = churn(shop=shop, **MARCH)
    # then: one of three churned; they spent 40 + (60 − 15) in the year up to their last order
    assert result == {"customers_start": 3, "churned_customers": 1, "churn_rate_percent": Decimal("33.33"),
                      "revenue_lost": "85.000"}
    # a 300-day churn horizon also counts the one who last ordered on June 1, 2025
    shorter = churn(shop=shop, churn_days=300, **MARCH)
    assert shorter["churned_customers"] == 2
    assert shorter["revenue_lost"] == "155.000"


def test_the_loyal_base_counts_active_customers_with_enough_orders():
    shop = ShopFactory()
    loyal = customer(shop)
    for month in (1, 2, 3):
        order(shop, loyal, at(2026, month, 5))
    lapsed = customer(shop)  # three orders, but none in the last 365 days
    for day in (1, 2, 3):
        order(shop, lapsed, at(2024, 1, day))
    twice = customer(shop)
    order(shop, twice, at(2026, 1, 5))
    order(shop, twice, at(2026, 2, 5))
    order(shop, twice, at(2026, 4, 5))  # after the end: not counted
    result = loyal_base(shop=shop, end=date(2026, 3, 31))
    assert result == {"min_orders": 3, "customers": 1, "share_percent": Decimal("50.00")}
    assert loyal_base(shop=shop, end=date(2026, 3, 31), min_orders=2)["customers"] == 2


def test_metrics_are_scoped_to_the_shop():
    shop, other = ShopFactory(), ShopFactory()
    customers_with_orders(other, 5, at(2026, 2, 1))
    customers_with_orders(other, 5, at(2026, 3, 3))
    assert customer_retention(shop=shop, **MARCH) == {"customers": {"start": 0, "end": 0, "new": 0},
                                                      "crr_percent": None}


def test_a_period_that_ends_before_it_starts_is_refused():
    from retention_app.errors import ApplicationError

    with pytest.raises(ApplicationError):
        customer_retention(shop=ShopFactory(), start=date(2026, 3, 2), end=date(2026, 3, 1))
