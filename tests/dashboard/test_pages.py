"""The pages show what the other apps compute (never their own numbers), localised, with CSV
downloads of every table."""

import csv
import io
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone, translation

from analytics.services import retention_report
from commerce.models import Shop
from dashboard import formatting
from dashboard.periods import shop_today
from loyalty.services.program import program_enable
from segments.services import shop_recompute
from tests.factories import CustomerFactory, OrderFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def store(two_shops, member):
    """Alpha: 12 customers over the last 14 months, a third of them coming back; beta has its own."""
    alpha, beta = two_shops
    today = shop_today(shop=alpha)
    for index in range(12):
        customer = CustomerFactory(shop=alpha, first_name=f"Noa{index}")
        first = today - timedelta(days=400 - index * 30)
        OrderFactory(shop=alpha, customer=customer, processed_at=_noon(first), total=Decimal("80.000"))
        if index % 3 == 0:
            OrderFactory(shop=alpha, customer=customer, processed_at=_noon(first + timedelta(days=45)),
                         total=Decimal("120.000"))
    OrderFactory(shop=beta, customer=CustomerFactory(shop=beta, first_name="Other"), total=Decimal("999.000"))
    program_enable(shop=alpha)
    return alpha


def _noon(day):
    return datetime.combine(day, time(12), ZoneInfo("Asia/Jerusalem"))


def _csv(response) -> list[list[str]]:
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response.content.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def _report(shop: Shop, start, end):
    return retention_report(shop=shop, start=start, end=end)


def test_overview_shows_the_reports_numbers_with_the_crr_definition(client, store, member):
    client.force_login(member)
    response = client.get("/dashboard/overview/", {"range": "365d"})
    html = response.content.decode()
    today = shop_today(shop=store)
    report = _report(store, today - timedelta(days=364), today)
    assert response.status_code == 200
    assert '<html lang="en" dir="ltr">' in html
    assert "CRR = (E − N) / S × 100</bdi>; active = an order in the 365 days ending that day" in html
    with translation.override("en"):
        assert f'<p class="value">{formatting.percent(report["crr_percent"])}</p>' in html
        assert formatting.money(report["average_order_value"], "USD") in html
    assert "Other" not in html and "999" not in html


def test_overview_in_persian_is_right_to_left_with_persian_digits(client, store, member):
    client.force_login(member)
    client.post("/i18n/setlang/", {"language": "fa", "next": "/dashboard/overview/"})
    html = client.get("/dashboard/overview/").content.decode()
    today = shop_today(shop=store)
    report = _report(store, today - timedelta(days=364), today)
    assert '<html lang="fa" dir="rtl">' in html
    assert "نمای کلی حفظ مشتری" in html
    with translation.override("fa"):
        crr = formatting.percent(report["crr_percent"])
    assert crr[0] in "۰۱۲۳۴۵۶۷۸۹" and crr.endswith("٪")
    assert crr in html


def test_overview_csv_has_every_figure_raw(client, store, member):
    client.force_login(member)
    today = shop_today(shop=store)
    start = today - timedelta(days=89)
    response = client.get("/dashboard/overview/", {"start": start.isoformat(), "end": today.isoformat(),
                                                  "format": "csv", "table": "metrics"},
                          headers={"Accept-Language": "he"})
    assert response["Content-Disposition"] == (
        f'attachment; filename="comeback-alpha.myshopify.com-metrics-{start}_{today}.csv"')
    rows = _csv(response)
    report = _report(store, start, today)
    assert rows[0] == ["מדד", "ערך", "יחידה"]
    by_name = {row[0]: row[1] for row in rows[1:]}
    assert by_name["שיעור שימור לקוחות (CRR)"] == ("" if report["crr_percent"] is None else str(report["crr_percent"]))
    assert by_name["ערך הזמנה ממוצע"] == str(report["average_order_value"])
    assert by_name["לקוחות חדשים בטווח (N)"] == str(report["customers"]["new"])


def test_cohort_heat_map_and_its_csv_follow_the_report(client, store, member):
    client.force_login(member)
    today = shop_today(shop=store)
    report = _report(store, today - timedelta(days=364), today)
    html = client.get("/dashboard/cohorts/").content.decode()
    filled = sum(value is not None for row in report["cohorts"] for value in row["retention_percent"])
    assert filled > 10
    assert html.count('class="percent heat ') - html.count('class="percent heat empty"') == filled
    rows = _csv(client.get("/dashboard/cohorts/", {"format": "csv", "table": "cohorts"}))
    assert rows[0][:3] == ["Cohort", "Customers", "Month 0"]
    assert [row[0] for row in rows[1:]] == [cohort["month"] for cohort in report["cohorts"]]
    assert rows[1][2:2 + len(report["cohorts"][0]["retention_percent"])] == [
        "" if value is None else str(value) for value in report["cohorts"][0]["retention_percent"]]


def test_segments_drill_down_lists_the_segments_customers_and_exports_them_all(client, store, member):
    shop_recompute(shop=store)
    client.force_login(member)
    html = client.get("/dashboard/segments/").content.decode()
    assert 'href="/dashboard/segments/one_time/"' in html
    page = client.get("/dashboard/segments/one_time/").content.decode()
    assert "Noa1" in page and "Noa0" not in page  # Noa0 came back: not a one-time buyer
    rows = _csv(client.get("/dashboard/segments/one_time/", {"format": "csv", "table": "customers"}))
    assert rows[0][:4] == ["Customer", "Email", "Orders", "Total spent (USD)"]
    assert sorted(row[0] for row in rows[1:]) == sorted(f"Noa{i}" for i in range(12) if i % 3)
    assert client.get("/dashboard/segments/nope/").status_code == 404


def test_flows_table_downloads_as_csv(client, store, member):
    client.force_login(member)
    rows = _csv(client.get("/dashboard/flows/", {"format": "csv", "table": "flows"}))
    assert rows[0] == ["Flow", "On", "Sent", "Delivered", "Opened", "Clicked", "Orders", "Revenue (USD)",
                       "Discount cost (USD)", "Skipped", "Deferred", "Why skipped or deferred"]
    assert "Win-back: we miss you" in [row[0] for row in rows[1:]]
    assert client.get("/dashboard/flows/", {"format": "csv", "table": "nothing"}).status_code == 404


def test_flows_page_says_what_was_deferred_or_skipped_and_why(client, store, member):
    from campaigns.services.engine import enrol, run_due
    from campaigns.services.flows import flow_enable

    # given one shopper with two marketing messages due on one day (one a day may go)
    # and a holiday greeting held (its flow paused) past its day
    noon = datetime.combine(shop_today(shop=store), time(12), ZoneInfo("Asia/Jerusalem"))
    shopper = CustomerFactory(shop=store, first_name="Dana", email="dana@example.com", email_consent="subscribed")
    for key in ("winback", "replenishment"):
        flow = flow_enable(shop=store, key=key)
        flow.steps.update(config={})
        enrol(flow=flow, customer=shopper, trigger_key=f"{key}:1", at=noon - timedelta(hours=1),
              context={"product": "Tea"})
    late = flow_enable(shop=store, key="holiday_greetings")
    three_days_ago = noon - timedelta(days=3)
    enrol(flow=late, customer=shopper, trigger_key="holiday:1", at=three_days_ago,
          context={"holiday": "Shavuot", "holiday_date": three_days_ago.date().isoformat()})
    run_due(now=noon)
    # when
    client.force_login(member)
    rows = _csv(client.get("/dashboard/flows/", {"format": "csv", "table": "flows"}))
    # then
    by_flow = {row[0]: row for row in rows[1:]}
    assert by_flow["Replenishment reminder"][9:] == ["0", "1", "Frequency cap (deferred): 1"]
    assert by_flow["Holiday greetings"][9:] == ["1", "0", "Its day had passed: 1"]
    assert by_flow["Win-back: we miss you"][2] == "1"


def test_surveys_page_shows_the_nps_of_the_range(client, store, member):
    from surveys.models import Channel, SurveyKind
    from surveys.selectors import survey_list
    from surveys.services import response_submit, survey_activate

    survey = next(s for s in survey_list(shop=store) if s.kind == SurveyKind.NPS)
    survey = survey_activate(shop=store, survey_id=survey.pk, active=True)
    customers = list(store_customers(store))[:4]
    for customer, score in zip(customers, [10, 9, 8, 2], strict=True):
        response_submit(survey=survey, customer=customer, channel=Channel.EMAIL, answers={"recommend": score})
    client.force_login(member)
    html = client.get("/dashboard/surveys/", {"range": "30d"}).content.decode()
    # two promoters, one detractor out of four: NPS 25
    assert '<li class="kpi" id="kpi-nps"><h3>Net Promoter Score</h3><p class="value">25</p>' in html


def store_customers(shop):
    from commerce.models import Customer
    return Customer.objects.filter(shop=shop).order_by("pk")


@pytest.mark.parametrize("params", [{"start": "2026-13-01"}, {"start": "2026-03-01", "end": "2026-02-01"},
                                    {"start": "2020-01-01", "end": "2026-01-01"}])
def test_bad_date_ranges_are_refused(client, store, member, params):
    client.force_login(member)
    assert client.get("/dashboard/overview/", params).status_code == 400


def test_presets_are_in_the_shops_time_zone(client, store, member, monkeypatch):
    client.force_login(member)
    # 22:30 UTC on 31 December is already 1 January in Jerusalem: the year to date is that one day
    monkeypatch.setattr(timezone, "now", lambda: datetime(2025, 12, 31, 22, 30, tzinfo=UTC))
    html = client.get("/dashboard/loyalty/", {"range": "ytd"}).content.decode()
    assert 'name="start" value="Jan 1, 2026"' in html
    assert 'name="end" value="Jan 1, 2026"' in html
    assert "time zone Israel Time (\u2068Asia/Jerusalem\u2069)" in html


@pytest.mark.parametrize("language, words", [("en", "still being imported"), ("he", "עדיין מיובאת"),
                                             ("fa", "هنوز در حال وارد شدن")])
def test_while_the_history_is_imported_every_page_says_the_figures_are_partial(client, store, member,
                                                                               language, words):
    from integrations.models import SyncKind, SyncRun, SyncStatus

    client.force_login(member)
    client.post("/i18n/setlang/", {"language": language, "next": "/dashboard/overview/"})
    run = SyncRun.objects.create(shop=store, kind=SyncKind.HISTORY, status=SyncStatus.RUNNING)
    for page in ("overview", "cohorts", "loyalty"):
        assert words in client.get(f"/dashboard/{page}/").content.decode(), page
    run.status = SyncStatus.COMPLETED
    run.save(update_fields=["status"])
    assert 'id="sync-notice"' not in client.get("/dashboard/overview/").content.decode()
