"""The report: its documented JSON (keys, types, values), the table, and the command."""

import json
from datetime import date
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from analytics.services import industry_context, report_json, report_table, retention_report
from analytics.services.options import analytics_settings_update, report_options
from retention_app.errors import ApplicationError
from tests.analytics.helpers import at, customer, customers_with_orders, order
from tests.factories import ShopFactory

pytestmark = pytest.mark.django_db

MARCH = {"start": date(2026, 3, 1), "end": date(2026, 3, 31)}
TOP_LEVEL = {
    "version", "shop", "start", "end", "currency", "timezone", "settings", "customers", "crr_percent",
    "repeat_purchase_rate_percent", "period_customers", "repeat_customers", "purchase_frequency", "customer_orders",
    "orders", "revenue", "average_order_value", "churn_rate_percent", "churned_customers", "revenue_lost",
    "profit_per_order", "profit", "cohorts", "clv", "nps", "loyal_base", "loyalty", "campaigns", "industry_context",
    "definitions", "warnings",
}


@pytest.fixture
def shop():
    """The worked example (S = 100, N = 15, E = 105), one of the new customers ordering twice."""
    shop = ShopFactory(domain="example-store.example", currency="EUR", timezone="Europe/Berlin")
    customers_with_orders(shop, 90, at(2025, 6, 1), total="30")
    customers_with_orders(shop, 10, at(2025, 3, 15), total="30")
    customers_with_orders(shop, 14, at(2026, 3, 10), total="20")
    twice = customer(shop)
    order(shop, twice, at(2026, 3, 2), "40")
    order(shop, twice, at(2026, 3, 20), "60", refunded="20", status="partially_refunded")
    return shop


def test_the_report_has_every_documented_key_and_the_right_values(shop):
    report = retention_report(shop=shop, **MARCH)
    assert set(report) == TOP_LEVEL
    assert report["start"] == "2026-03-01" and report["end"] == "2026-03-31"
    assert (report["currency"], report["timezone"]) == ("EUR", "Europe/Berlin")
    assert report["customers"] == {"start": 100, "end": 105, "new": 15}
    assert report["crr_percent"] == Decimal("90.00")
    assert report["churn_rate_percent"] == Decimal("10.00")
    assert report["revenue_lost"] == "300.000"  # 10 churned customers × 30
    assert report["repeat_purchase_rate_percent"] == Decimal("6.67")  # 1 of 15
    assert report["purchase_frequency"] == Decimal("1.07")  # 16 orders / 15 customers
    assert report["average_order_value"] == "22.500"  # (14 × 20 + 40 + (60 − 20)) / 16
    assert report["profit_per_order"] == "22.500"  # no costs known
    assert report["profit"]["orders_without_cost"] == 16
    assert report["cohorts"] == [{"month": "2026-03", "size": 15, "partial": False,
                                  "retention_percent": [Decimal("100.00")], "retention_partial": [False]}]
    assert report["clv"]["historic_mean"] == "29.217"  # (100 × 30 + 14 × 20 + 80) / 115
    assert report["clv"]["model"] is None and report["clv"]["customers"] == 115
    assert "too few repeat customers" in report["clv"]["reason"]
    assert report["nps"] is None
    assert report["loyal_base"] == {"min_orders": 3, "customers": 0, "share_percent": Decimal("0.00")}
    assert report["industry_context"] == {"typical_low": 20, "typical_high": 35, "position": "above"}
    assert report["settings"] == {"activity_days": 365, "churn_days": 365, "fulfilment_cost_per_order": "0.000",
                                  "loyal_min_orders": 3, "clv_horizon_weeks": 52}
    assert "365 days" in report["definitions"]["crr_percent"]
    assert report["warnings"] == ["16 orders have no known product cost: profit is overstated by it"]


def test_the_shops_settings_apply_and_options_override_them(shop):
    analytics_settings_update(shop=shop, activity_days=400, fulfilment_cost_per_order="1.50")
    report = retention_report(shop=shop, **MARCH)
    assert report["settings"]["activity_days"] == 400
    assert report["customers"] == {"start": 100, "end": 115, "new": 15}  # 2025-03-15 is within 400 days
    assert report["profit_per_order"] == "21.000"
    overridden = retention_report(shop=shop, options=report_options(shop=shop, activity_days=365), **MARCH)
    assert overridden["crr_percent"] == Decimal("90.00")
    for bad in ({"churn_days": 0}, {"activity_days": "many"}, {"fulfilment_cost_per_order": "-1"},
                {"fulfilment_cost_per_order": "cheap"}, {"colour": "red"}):
        with pytest.raises(ApplicationError):
            analytics_settings_update(shop=shop, **bad)
    assert report_options(shop=shop).activity_days == 400  # the failed updates changed nothing


def test_report_options_take_a_cost_as_text_and_refuse_one_that_is_not_an_amount(shop):
    assert report_options(shop=shop, fulfilment_cost_per_order="2.5").fulfilment_cost_per_order == Decimal("2.5")
    with pytest.raises(ApplicationError, match="must be an amount"):
        report_options(shop=shop, fulfilment_cost_per_order="cheap")


def test_the_json_writes_percentages_as_numbers_with_two_decimals(shop):
    text = report_json(retention_report(shop=shop, **MARCH))
    assert '"crr_percent": 90.00,' in text
    assert '"revenue_lost": "300.000",' in text
    parsed = json.loads(text, parse_float=Decimal)
    assert parsed["crr_percent"] == Decimal("90.00")
    assert parsed["cohorts"][0]["retention_percent"] == [Decimal("100.00")]


def test_crr_is_null_in_json_when_no_customer_was_active_before():
    shop = ShopFactory()
    customers_with_orders(shop, 2, at(2026, 3, 5))
    parsed = json.loads(report_json(retention_report(shop=shop, **MARCH)))
    assert parsed["crr_percent"] is None
    assert parsed["churn_rate_percent"] is None
    assert parsed["industry_context"]["position"] is None


def test_an_empty_shop_gives_a_report_of_zeros_and_nulls():
    report = retention_report(shop=ShopFactory(), **MARCH)
    assert report["customers"] == {"start": 0, "end": 0, "new": 0}
    assert report["average_order_value"] is None and report["profit_per_order"] is None
    assert report["clv"]["historic_mean"] is None
    crr_line = next(line for line in report_table(report).splitlines() if line.startswith("Customer retention rate"))
    assert "—" in crr_line  # no CRR is shown as a dash, not as 0 or None


@pytest.mark.parametrize(("crr", "position"), [
    ("19.99", "below"), ("20.00", "within"), ("35.00", "within"), ("35.01", "above"), (None, None)])
def test_industry_context(crr, position):
    value = None if crr is None else Decimal(crr)
    assert industry_context(crr_percent=value)["position"] == position


def test_the_command_prints_exactly_the_json(shop):
    out = StringIO()
    call_command("retention_report", "--shop", shop.domain, "--start", "2026-03-01", "--end", "2026-03-31",
                 stdout=out)
    assert out.getvalue() == report_json(retention_report(shop=shop, **MARCH))
    parsed = json.loads(out.getvalue(), parse_float=Decimal)
    assert parsed["customers"] == {"start": 100, "end": 105, "new": 15}
    assert parsed["crr_percent"] == Decimal("90.00")


def test_the_command_options_override_the_settings(shop):
    out = StringIO()
    call_command("retention_report", "--shop", shop.domain, "--start", "2026-03-01", "--end", "2026-03-31",
                 "--activity-days", "400", "--fulfilment-cost", "2", stdout=out)
    parsed = json.loads(out.getvalue())
    assert parsed["customers"]["end"] == 115
    assert parsed["profit_per_order"] == "20.500"


def test_the_table_shows_each_number_with_its_definition(shop):
    out = StringIO()
    call_command("retention_report", "--shop", shop.domain, "--start", "2026-03-01", "--end", "2026-03-31",
                 "--format", "table", stdout=out)
    text = out.getvalue()
    crr_line = next(line for line in text.splitlines() if line.startswith("Customer retention rate"))
    assert "90.00 %" in crr_line and "(E − N) / S × 100" in crr_line
    assert "100 / 105 / 15" in text
    assert "2026-03     15 100.00" in text


@pytest.mark.parametrize(("args", "message"), [
    (["--shop", "nowhere.example", "--start", "2026-03-01", "--end", "2026-03-31"], "unknown shop"),
    (["--shop", "example-store.example", "--start", "March", "--end", "2026-03-31"], "is not a date"),
    (["--shop", "example-store.example", "--start", "2026-03-31", "--end", "2026-03-01"], "ends"),
    (["--shop", "example-store.example", "--start", "2026-03-01", "--end", "2026-03-31", "--churn-days", "0"],
     "churn_days"),
])
def test_the_command_refuses_bad_input(shop, args, message):
    with pytest.raises(CommandError, match=message):
        call_command("retention_report", *args, stdout=StringIO())


def test_import_then_report_end_to_end(tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text(
        "order_id,customer_id,email,processed_at,total,currency,cost,refunded\n"
        "1,A,a@example.com,2025-12-01,100,USD,40,\n"
        "2,B,b@example.com,2025-12-02,50,USD,20,\n"
        "3,A,a@example.com,2026-03-05,80,USD,30,10\n"
        "4,C,c@example.com,2026-03-06,60,USD,25,\n", encoding="utf-8")
    call_command("import_orders", str(path), "--shop", "migrated.example", stdout=StringIO())
    out = StringIO()
    call_command("retention_report", "--shop", "migrated.example", "--start", "2026-03-01", "--end", "2026-03-31",
                 stdout=out)
    parsed = json.loads(out.getvalue(), parse_float=Decimal)
    assert parsed["currency"] == "USD"
    assert parsed["customers"] == {"start": 2, "end": 3, "new": 1}
    assert parsed["crr_percent"] == Decimal("100.00")
    assert parsed["average_order_value"] == "65.000"  # (70 + 60) / 2
    # (140 gross − 10 refunded − 55 cost) / 2
    assert parsed["profit_per_order"] == "37.500"
    assert parsed["profit"]["orders_without_cost"] == 0


def test_the_definitions_follow_the_active_language(shop):
    from django.utils import translation

    with translation.override("he"):
        hebrew = retention_report(shop=shop, **MARCH)
        table = report_table(hebrew)
    with translation.override("fa"):
        persian = retention_report(shop=shop, **MARCH)
    assert hebrew["definitions"]["crr_percent"].startswith("שיעור שימור לקוחות = (E − N) / S × 100")
    assert "365" in hebrew["definitions"]["crr_percent"]
    assert "שיעור שימור לקוחות (CRR)" in table
    assert persian["definitions"]["churn_rate_percent"].startswith("سهم مشتریان فعال")
    assert hebrew["crr_percent"] == persian["crr_percent"] == Decimal("90.00")


def test_the_table_marks_a_month_not_over_yet(shop):
    report = retention_report(shop=shop, start=date(2026, 3, 1), end=date(2026, 3, 15))
    assert report["cohorts"][0]["partial"] and report["cohorts"][0]["retention_partial"] == [True]
    table = report_table(report)
    march = next(line for line in table.splitlines() if line.startswith("2026-03"))
    assert "100.00*" in march
    assert "* month not over yet" in table
    whole = report_table(retention_report(shop=shop, **MARCH))
    assert "*" not in next(line for line in whole.splitlines() if line.startswith("2026-03"))
    assert "month not over yet" not in whole
