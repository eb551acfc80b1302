"""The current, incomplete month on the cohorts page is marked as partial (hatched, with a note,
and lighter in the charts) instead of looking like a drop; the CLV label says how its model was chosen."""

import json
import re
from datetime import datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from analytics.services import retention_report
from dashboard.periods import shop_today
from dashboard.views import _clv_selection
from tests.factories import CustomerFactory, OrderFactory

pytestmark = pytest.mark.django_db


def _at(day):
    return datetime.combine(day, time(0, 30), ZoneInfo("Asia/Jerusalem"))


@pytest.fixture
def store(two_shops):
    """Four customers who first ordered three months ago, two of them again this month (day 1, so the
    month has begun whatever today is), and one new customer this month."""
    shop = two_shops[0]
    this_month = shop_today(shop=shop).replace(day=1)
    earlier = (this_month - timedelta(days=80)).replace(day=1)
    for index in range(4):
        customer = CustomerFactory(shop=shop, first_name=f"Noa{index}")
        OrderFactory(shop=shop, customer=customer, processed_at=_at(earlier), total=Decimal("80.000"))
        if index < 2:
            OrderFactory(shop=shop, customer=customer, processed_at=_at(this_month), total=Decimal("50.000"))
    OrderFactory(shop=shop, customer=CustomerFactory(shop=shop, first_name="New"), processed_at=_at(this_month),
                 total=Decimal("30.000"))
    return shop


def _charts(html: str) -> dict[str, dict]:
    found = re.search(r'<script id="dashboard-charts" type="application/json">(.*?)</script>', html, re.S)
    assert found is not None
    return {chart["id"]: chart for chart in json.loads(found.group(1))}


def test_the_current_month_is_hatched_and_explained(client, store, member):
    # given
    client.force_login(member)
    today = shop_today(shop=store)
    report = retention_report(shop=store, start=today - timedelta(days=364), end=today)
    last_day = (today + timedelta(days=1)).day == 1
    # the report: this month's cohort and every cohort's share in this month are partial (unless today is the last day)
    assert report["cohorts"][-1]["partial"] is not last_day
    assert all(row["retention_partial"][-1] is not last_day for row in report["cohorts"])
    if last_day:
        pytest.skip("on a month's last day the month is over: nothing is partial")
    # when
    html = client.get("/dashboard/cohorts/").content.decode()
    # then: the older cohort's 50 % this month is hatched, with a note; earlier months are not
    partial_cells = re.findall(r'<td class="percent heat [a-z]+ partial"[^>]*>([^<]*)<', html)
    assert "50.0%" in partial_cells
    assert html.count(" partial\"") >= 2  # this month's share of the older cohort, and this month's own cohort
    assert 'id="partial-note"' in html and "the month is not over yet" in html
    full_cells = re.findall(r'<td class="percent heat (?:light|dark)"[^>]*>([^<]*)<', html)
    assert "100.0%" in full_cells  # the older cohort's own month is over
    charts = _charts(html)
    sizes = charts["cohort-sizes"]["series"][0]
    assert sizes["partial"][-1] is True and not any(sizes["partial"][:-1])
    assert charts["cohort-sizes"]["partial_note"] == "month not over yet: the figure so far"


def test_a_period_that_ended_has_nothing_partial(client, store, member):
    client.force_login(member)
    last_month_end = shop_today(shop=store).replace(day=1) - timedelta(days=1)
    start = (last_month_end - timedelta(days=150)).replace(day=1)
    html = client.get("/dashboard/cohorts/", {"start": start.isoformat(), "end": last_month_end.isoformat()}).content
    page = html.decode()
    assert " partial\"" not in page and 'id="partial-note"' not in page
    assert '"partial"' not in json.dumps(_charts(page)["cohort-sizes"])


def test_the_clv_label_says_how_each_model_was_chosen():
    selection = {"purchases": {"chosen": "constant_dropout", "full_log_likelihood": -100.0,
                               "limit_log_likelihood": -100.2, "likelihood_ratio": 0.4, "critical_value": 3.841},
                 "spend": {"chosen": "gamma_gamma", "full_log_likelihood": -50.0, "limit_log_likelihood": -80.0,
                           "likelihood_ratio": 60.0, "critical_value": 3.841}}
    assert _clv_selection(selection) == [
        ("Purchases model", "constant-dropout limit (likelihood ratio 0.400, threshold 3.841)"),
        ("Spend model", "Gamma-Gamma (likelihood ratio 60.000, threshold 3.841)"),
    ]
    assert _clv_selection({}) == []
