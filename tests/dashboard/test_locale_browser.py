"""In Chromium: the Persian dashboard shows the Persian calendar with Persian digits (as the widget
does), its period picker takes a typed Persian date, and no chart's axis label is cut off at the
canvas's edge in Hebrew or Persian, on a desktop or a 390 px phone.

Screenshots of the charts: ``var/screenshots/charts-<page>-<lang>-<width>.png``.
"""

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from playwright.sync_api import Browser, Page, expect

from commerce.models import Shop
from dashboard.periods import shop_today
from dashboard.services import membership_grant
from loyalty.services.program import program_enable
from retention_app.locale_format import format_date
from tests.browser import needs_chromium
from tests.e2e.conftest import install
from tests.factories import UserFactory

pytestmark = [pytest.mark.django_db(transaction=True), needs_chromium]

DOMAIN = "calendar-demo.myshopify.com"
SCREENSHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"
LATIN_DIGIT = re.compile(r"[0-9]")
PERSIAN_MONTH = re.compile("فروردین|اردیبهشت|خرداد|تیر|مرداد|شهریور|مهر|آبان|آذر|دی|بهمن|اسفند")
GREGORIAN_IN_PERSIAN = re.compile(
    r"(?<!\w)(ژانویه|فوریه|مارس|آوریل|مه|ژوئن|ژوئیه|اوت|سپتامبر|اکتبر|نوامبر|دسامبر)(?!\w)")


@pytest.fixture
def shop(app: Any, sandbox: Any) -> Shop:
    sandbox.add_shop(DOMAIN, seed=11, customers=60, orders=260, months=14, now=datetime.now(UTC),
                     name="Calendar Store", timezone="Asia/Tehran")
    install(app, DOMAIN)
    shop = Shop.objects.get(domain=DOMAIN)
    program_enable(shop=shop)
    membership_grant(user=UserFactory(username="sara"), shop=shop, role="owner")
    return shop


def _log_in(page: Page, base_url: str, language: str) -> None:
    page.goto(f"{base_url}/dashboard/")
    page.locator("#id_username").fill("sara")
    page.locator("#id_password").fill("password")
    page.locator("#id_password").press("Enter")
    expect(page).not_to_have_url(re.compile(r"/login"))  # the overview, or the onboarding on a first visit
    page.goto(f"{base_url}/dashboard/overview/")
    page.wait_for_load_state("networkidle")
    assert page.locator("html").get_attribute("lang") == language


CLIPPED_LABELS = """() => [...document.querySelectorAll("canvas[data-chart]")].flatMap((canvas) => {
    const chart = Chart.getChart(canvas);
    if (!chart) return [];
    const context = canvas.getContext("2d");
    return Object.values(chart.scales).flatMap((scale) => (scale._labelItems || []).flatMap((item) => {
        context.font = item.font.string;
        const lines = Array.isArray(item.label) ? item.label : [item.label];
        const width = Math.max(...lines.map((line) => context.measureText(String(line)).width));
        const x = item.options.translation[0], align = item.options.textAlign;
        const left = align === "left" ? x : align === "right" ? x - width : x - width / 2;
        return left < -0.5 || left + width > chart.width + 0.5
            ? [`${canvas.dataset.chart}: ${lines.join(" ")} [${Math.round(left)}, ${Math.round(left + width)}]`
               + ` of ${chart.width}`] : [];
    }));
})"""


def test_the_persian_overview_shows_the_persian_calendar_and_digits(browser: Browser, app: Any, shop: Shop) -> None:
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="fa")
    context.set_default_timeout(20_000)
    try:
        page = context.new_page()
        _log_in(page, app.url, "fa")
        today = shop_today(shop=shop)
        start = today - timedelta(days=364)
        # the period: its label, and the picker's fields, in the Persian calendar with Persian digits
        label = page.locator(".period-label").inner_text()
        assert label == f"{format_date(start, language='fa')} – {format_date(today, language='fa')}"
        assert PERSIAN_MONTH.search(label) and not LATIN_DIGIT.search(label), label
        expect(page.locator('input[name="end"]')).to_have_value(format_date(today, language="fa"))
        # the active-customers chart and its table: month ends as Persian-calendar days
        labels = page.evaluate("""() => Chart.getChart(document.querySelector('canvas[data-chart="active"]'))
                                  .data.labels""")
        assert len(labels) >= 12
        for text in labels:
            assert PERSIAN_MONTH.search(text) and not LATIN_DIGIT.search(text), text
            assert not GREGORIAN_IN_PERSIAN.search(text), text
        days = page.locator("#table-active tbody th").all_inner_texts()
        assert days and all(PERSIAN_MONTH.search(day) and not LATIN_DIGIT.search(day) for day in days), days
        # the KPIs' figures are in Persian digits too
        figures = page.locator(".kpi .value").all_inner_texts()
        assert figures and not any(LATIN_DIGIT.search(figure) for figure in figures), figures
        # a date typed the Persian way (Persian digits, year/month/day), submitted from the keyboard
        first_of_year = format_date(today.replace(month=1, day=1), language="fa", style="short")
        page.locator('input[name="start"]').fill(first_of_year)
        page.locator('input[name="start"]').press("Enter")
        page.wait_for_load_state("networkidle")
        expect(page.locator(".period-label")).to_have_text(
            f"{format_date(today.replace(month=1, day=1), language='fa')} – {format_date(today, language='fa')}")
        assert not page.locator('input[type="date"]').count()
    finally:
        context.close()


@pytest.mark.parametrize("language", ["he", "fa"])
@pytest.mark.parametrize("width", [1366, 390])
def test_no_chart_label_is_cut_off_in_right_to_left_pages(browser: Browser, app: Any, shop: Shop, language: str,
                                                         width: int) -> None:
    context = browser.new_context(viewport={"width": width, "height": 900}, locale=language, device_scale_factor=2)
    context.set_default_timeout(20_000)
    try:
        page = context.new_page()
        _log_in(page, app.url, language)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        for name in ("overview", "cohorts", "loyalty"):
            page.goto(f"{app.url}/dashboard/{name}/")
            page.wait_for_load_state("networkidle")
            assert page.locator("canvas[data-chart]").count() >= 1, name
            clipped = page.evaluate(CLIPPED_LABELS)
            for index, box in enumerate(page.locator(".chart-box").all()):
                box.screenshot(path=str(SCREENSHOTS / f"charts-{name}-{language}-{width}-{index}.png"))
            assert not clipped, (name, language, width, clipped)
            if name == "overview":  # the picker's text fields fit the phone too
                page.locator("form.period").screenshot(path=str(SCREENSHOTS / f"period-{language}-{width}.png"))
                assert page.evaluate("() => document.documentElement.scrollWidth <= innerWidth"), (language, width)
    finally:
        context.close()
