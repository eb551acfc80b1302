"""The cohort triangle on a hand-computed store (Berlin time)."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from analytics.services import cohort_retention
from tests.analytics.helpers import at, customer, order
from tests.factories import ShopFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop():
    shop = ShopFactory(timezone="Europe/Berlin")
    a, b, c, d, e, f, g, i = (customer(shop, name) for name in "abcdefgi")
    for who, days in ((a, [(1, 5), (2, 5), (3, 20)]), (b, [(1, 6), (2, 10)]), (c, [(1, 7), (3, 10)]),
                      (d, [(1, 8)]), (e, [(2, 2), (2, 20), (3, 3)]), (f, [(2, 3)]), (g, [(1, 15), (2, 15)])):
        for month, day in days:
            order(shop, who, at(2026, month, day))
    order(shop, c, at(2026, 2, 11), cancelled=True)  # does not count as ordering again in February
    order(shop, g, at(2025, 12, 10))  # an old customer: in no cohort of 2026
    order(shop, i, datetime(2026, 1, 31, 23, 30, tzinfo=UTC))  # February 1st, 00:30 in Berlin
    return shop


def _percents(*values: str | None) -> list[Decimal | None]:
    return [None if value is None else Decimal(value) for value in values]


def test_the_cohort_triangle(shop):
    cohorts = cohort_retention(shop=shop, start=date(2026, 1, 1), end=date(2026, 3, 31))
    assert cohorts == [
        {"month": "2026-01", "size": 4, "partial": False, "retention_percent": _percents("100.00", "50.00", "50.00"),
         "retention_partial": [False, False, False]},
        {"month": "2026-02", "size": 3, "partial": False, "retention_percent": _percents("100.00", "33.33"),
         "retention_partial": [False, False]},
        {"month": "2026-03", "size": 0, "partial": False, "retention_percent": _percents(None),
         "retention_partial": [False]},
    ]


def test_cohorts_are_followed_to_the_periods_end_only_and_its_month_is_partial(shop):
    cohorts = cohort_retention(shop=shop, start=date(2026, 1, 1), end=date(2026, 3, 15))
    assert [cohort["retention_percent"] for cohort in cohorts] == [
        _percents("100.00", "50.00", "25.00"), _percents("100.00", "33.33"), _percents(None)]
    # March is cut on the 15th: its 25 % is so far, not a drop from 50 %
    assert [cohort["retention_partial"] for cohort in cohorts] == [[False, False, True], [False, True], [True]]
    assert [cohort["partial"] for cohort in cohorts] == [False, False, True]


def test_the_current_month_is_partial_until_it_ends(shop):
    # a period to the end of March, seen on March 20th (the dashboard's "this quarter")
    cohorts = cohort_retention(shop=shop, start=date(2026, 1, 1), end=date(2026, 3, 31), today=date(2026, 3, 20))
    assert [cohort["retention_partial"][-1] for cohort in cohorts] == [True, True, True]
    assert [cohort["partial"] for cohort in cohorts] == [False, False, True]
    # on its last day (the shop's local date) March is over
    last_day = cohort_retention(shop=shop, start=date(2026, 1, 1), end=date(2026, 3, 31), today=date(2026, 3, 31))
    assert not any(any(cohort["retention_partial"]) for cohort in last_day)


def test_without_today_the_shops_local_date_decides(shop):
    today = timezone.localdate(timezone=ZoneInfo("Europe/Berlin"))
    this_month = today.replace(day=1)
    cohorts = cohort_retention(shop=shop, start=this_month - timedelta(days=40), end=this_month + timedelta(days=40))
    last_day_today = (today + timedelta(days=1)).day == 1
    assert [cohort["partial"] for cohort in cohorts] == [False, False, not last_day_today, True]


def test_a_cohort_holds_the_customers_whose_first_order_is_in_the_period(shop):
    # A's first order (January 5) is before the period: A is in no cohort
    cohorts = cohort_retention(shop=shop, start=date(2026, 1, 6), end=date(2026, 3, 31))
    assert cohorts[0]["size"] == 3
    assert cohorts[0]["retention_percent"] == _percents("100.00", "33.33", "33.33")


def test_a_single_month(shop):
    assert cohort_retention(shop=shop, start=date(2026, 2, 1), end=date(2026, 2, 28)) == [
        {"month": "2026-02", "size": 3, "partial": False, "retention_percent": _percents("100.00"),
         "retention_partial": [False]}]
