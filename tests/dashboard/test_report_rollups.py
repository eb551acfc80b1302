"""Once a shop's rollups are built, the report pages read their figures from them: the same
numbers as ``retention_report``, and a page that no longer fits the CLV model on every view."""

from datetime import timedelta

import pytest
from django.core.cache import cache

from analytics.services import retention_report, rollups_refresh
from dashboard.periods import shop_today
from tests.dashboard.test_pages import _csv, store  # noqa: F401  (the fixture)

pytestmark = pytest.mark.django_db


def test_the_overview_on_the_rollups_shows_every_figure_of_the_report(client, store, member):  # noqa: F811
    # given
    client.force_login(member)
    today = shop_today(shop=store)
    start = today - timedelta(days=89)
    params = {"start": start.isoformat(), "end": today.isoformat(), "format": "csv", "table": "metrics"}
    on_orders = _csv(client.get("/dashboard/overview/", params))
    cache.clear()
    # when
    rollups_refresh(shop=store)
    on_rollups = _csv(client.get("/dashboard/overview/", params))
    # then
    assert on_rollups == on_orders
    report = retention_report(shop=store, start=start, end=today)
    by_name = {row[0]: row[1] for row in on_rollups[1:]}
    assert by_name["New customers in the range (N)"] == str(report["customers"]["new"])
    assert by_name["Average order value"] == str(report["average_order_value"])


def test_the_cohorts_on_the_rollups_are_the_reports(client, store, member):  # noqa: F811
    client.force_login(member)
    on_orders = _csv(client.get("/dashboard/cohorts/", {"format": "csv", "table": "cohorts"}))
    cache.clear()
    rollups_refresh(shop=store)
    assert _csv(client.get("/dashboard/cohorts/", {"format": "csv", "table": "cohorts"})) == on_orders


def test_the_loyalty_page_on_the_rollups_shows_the_same_comparison(client, store, member):  # noqa: F811
    client.force_login(member)
    on_orders = _csv(client.get("/dashboard/loyalty/", {"format": "csv", "table": "members"}))
    cache.clear()
    rollups_refresh(shop=store)
    assert _csv(client.get("/dashboard/loyalty/", {"format": "csv", "table": "members"})) == on_orders
