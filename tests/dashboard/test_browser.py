"""The dashboard in headless Chromium on a demo-like store: the Shopify sandbox seeds 14 months of
history, the app installs through OAuth and syncs it, the loyalty program, flows, surveys and
segments run on it; a merchant logs in and opens every page in English, Hebrew and Persian.

Screenshots land in ``var/screenshots/dashboard-<page>-<lang>.png``.
"""

import random
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from playwright.sync_api import Browser, Page, expect

from commerce.models import Customer, Shop
from dashboard.onboarding import onboarding_complete
from dashboard.services import membership_grant
from tests.browser import needs_chromium
from tests.e2e.conftest import install
from tests.factories import UserFactory
from tests.integrations.test_oauth import session_token

pytestmark = [pytest.mark.django_db(transaction=True), needs_chromium]

DOMAIN = "dashboard-demo.myshopify.com"
VIEWPORT = {"width": 1366, "height": 900}
SCREENSHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"
PAGES = ["overview", "cohorts", "segments", "loyalty", "flows", "surveys"]
# the charts each page must draw (canvas data-chart ids)
CHARTS = {
    "overview": ["active", "customers", "industry"],
    "cohorts": ["cohort-sizes", "cohort-curves"],
    "segments": ["segments"],
    "loyalty": ["members", "points"],
    "flows": ["flow-revenue"],
    "surveys": ["nps"],
}
HEADINGS = {
    "en": {"overview": "Retention overview", "cohorts": "Cohorts", "flows": "Flows"},
    "he": {"overview": "סקירת שימור לקוחות", "cohorts": "קבוצות", "flows": "תהליכים"},
    "fa": {"overview": "نمای کلی حفظ مشتری", "cohorts": "گروه‌ها", "flows": "جریان‌ها"},
}


def _surveys_answered(shop: Shop) -> None:
    """NPS answers spread over the last months, so "NPS over time" has a line."""
    from surveys.models import Channel, Response, SurveyKind
    from surveys.selectors import survey_list
    from surveys.services import response_submit, survey_activate

    survey = next(s for s in survey_list(shop=shop) if s.kind == SurveyKind.NPS)
    survey = survey_activate(shop=shop, survey_id=survey.pk, active=True)
    rng = random.Random(5)
    now = datetime.now(UTC)
    for index, customer in enumerate(Customer.objects.filter(shop=shop).order_by("pk")[:60]):
        submitted = response_submit(survey=survey, customer=customer, channel=Channel.EMAIL,
                                    answers={"recommend": rng.choice([3, 6, 7, 8, 9, 9, 10, 10]),
                                             "reason": "Fast delivery" if index % 3 else "משלוח מהיר"})
        Response.objects.filter(pk=submitted.response.pk).update(submitted_at=now - timedelta(days=5 + index * 5))


def _history(shop: Shop, store: Any, sandbox: Any) -> None:
    from campaigns.models import Flow, Message
    from campaigns.selectors import flow_list
    from campaigns.services.engine import run_due, winback_scan
    from campaigns.services.flows import flow_enable
    from loyalty.services.earning import backfill
    from loyalty.services.program import program_enable
    from segments.services import shop_recompute

    program_enable(shop=shop)
    backfill(shop=shop, apply=True)
    for flow in flow_list(shop=shop):
        flow_enable(shop=shop, key=flow.key)
    for flow in Flow.objects.filter(shop=shop, key="winback"):
        winback_scan(flow=flow)
    run_due()
    # some of the customers who got an email come back and buy (with the code when they have one)
    emailed = (Message.objects.filter(shop=shop, status="sent", is_marketing=True)
               .values_list("customer__platform_id", flat=True).distinct().order_by("customer__platform_id")[:12])
    for platform_id in emailed:
        store.place_order(customer_id=platform_id, use_app_codes=1.0)
    sandbox.webhooks.wait_idle(30)
    shop_recompute(shop=shop)
    _surveys_answered(shop)


@pytest.fixture
def demo_shop(app: Any, sandbox: Any) -> Shop:
    store = sandbox.add_shop(DOMAIN, seed=42, customers=160, orders=700, months=14, now=datetime.now(UTC),
                             name="Demo Store")
    install(app, DOMAIN)
    shop = Shop.objects.get(domain=DOMAIN)
    onboarding_complete(shop=shop)  # set up already, as make demo's store: the app opens on the overview
    _history(shop, store, sandbox)
    return shop


@pytest.fixture
def merchant(demo_shop: Shop) -> Any:
    user = UserFactory(username="demo")
    membership_grant(user=user, shop=demo_shop, role="owner")
    return user


class Console:
    """What the page logged as errors, and the scripts that threw."""

    def __init__(self, page: Page) -> None:
        self.errors: list[str] = []
        page.on("console", lambda message: self.errors.append(message.text) if message.type == "error" else None)
        page.on("pageerror", lambda error: self.errors.append(str(error)))

    @property
    def csp_violations(self) -> list[str]:
        """What the Content-Security-Policy blocked (Chromium logs each refusal as an error)."""
        return [error for error in self.errors if "Content Security Policy" in error]


def _log_in(page: Page, base_url: str, language: str = "") -> None:
    page.goto(f"{base_url}/dashboard/")
    if language:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"dashboard-login-{language}.png"))
    page.locator("#id_username").fill("demo")
    page.locator("#id_password").fill("password")
    page.locator("#id_password").press("Enter")
    page.wait_for_url(re.compile(r"/dashboard/(overview|home|onboarding)/"))  # where the shop's set-up stands


def _chart_drawn(page: Page, chart_id: str) -> dict[str, Any]:
    """Whether Chart.js owns the canvas and painted something on it."""
    return page.evaluate("""(id) => {
        const canvas = document.querySelector(`canvas[data-chart="${id}"]`);
        if (!canvas) return {exists: false};
        const chart = window.Chart && Chart.getChart(canvas);
        const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
        let painted = 0;
        for (let i = 3; i < pixels.length; i += 4) if (pixels[i] !== 0) painted++;
        return {exists: true, chart: Boolean(chart), points: chart ? chart.data.datasets.reduce(
            (n, d) => n + d.data.filter(v => v !== null).length, 0) : 0, painted, width: canvas.width};
    }""", chart_id)


def _check_page(page: Page, console: Console, base_url: str, name: str, language: str) -> None:
    response = page.goto(f"{base_url}/dashboard/{name}/")
    assert response is not None and response.status == 200, (name, language)
    policy = response.headers["content-security-policy"]  # the charts below are drawn under it
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy and "frame-ancestors 'none'" in policy
    page.wait_for_load_state("networkidle")
    html = page.locator("html")
    direction = "ltr" if language == "en" else "rtl"
    assert html.get_attribute("dir") == direction, (name, language)
    assert html.get_attribute("lang") == language
    if name in HEADINGS[language]:
        expect(page.get_by_role("heading", level=1)).to_have_text(HEADINGS[language][name])
    for chart_id in CHARTS[name]:
        drawn = _chart_drawn(page, chart_id)
        assert drawn["exists"] and drawn["chart"], (name, language, chart_id, drawn)
        assert drawn["points"] > 0, (name, language, chart_id, drawn)
        assert drawn["painted"] > 500, (name, language, chart_id, drawn)  # not a blank canvas
    # mirrored layout: the navigation stands at the start side (left in ltr, right in rtl)
    nav = page.locator("nav.sidebar").bounding_box()
    main = page.locator("main").bounding_box()
    assert nav is not None and main is not None
    assert (nav["x"] < main["x"]) == (direction == "ltr"), (name, language, nav, main)
    wide = page.evaluate("""() => document.documentElement.scrollWidth > document.documentElement.clientWidth
        ? [...document.querySelectorAll("body *")].filter(e => e.getBoundingClientRect().right
            > document.documentElement.clientWidth).slice(0, 8).map(e => e.tagName + "." + e.className) : []""")
    assert not wide, (name, language, "wider than the window", wide)
    if name == "cohorts":
        assert page.locator("#heatmap td.heat:not(.empty)").count() >= 20
        assert page.locator("#heatmap tbody tr").count() >= 10
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"dashboard-{name}-{language}.png"), full_page=True)
    assert not console.csp_violations, (name, language, console.csp_violations)
    assert not console.errors, (name, language, console.errors)


@pytest.mark.parametrize("language", ["en", "he", "fa"])
def test_every_page_loads_draws_its_charts_and_mirrors_in_rtl(browser: Browser, app: Any, merchant: Any,
                                                             language: str) -> None:
    context = browser.new_context(viewport=VIEWPORT, locale=language, reduced_motion="reduce")
    context.set_default_timeout(20_000)
    try:
        page = context.new_page()
        console = Console(page)
        _log_in(page, app.url, language)
        for name in PAGES:
            _check_page(page, console, app.url, name, language)
        # the drill-down from a segment to its customers
        page.goto(f"{app.url}/dashboard/segments/")
        page.locator("#table-segments tbody th a").first.click()
        expect(page.locator("#table-customers tbody tr").first).to_be_visible()
        page.screenshot(path=str(SCREENSHOTS / f"dashboard-segment-{language}.png"), full_page=True)
        assert not console.errors, console.errors
    finally:
        context.close()


def test_language_switcher_and_embedded_load(browser: Browser, app: Any, merchant: Any, demo_shop: Shop) -> None:
    context = browser.new_context(viewport=VIEWPORT, locale="en", reduced_motion="reduce")
    context.set_default_timeout(20_000)
    try:
        page = context.new_page()
        console = Console(page)
        _log_in(page, app.url)
        page.locator("#language-switch").select_option("fa")
        page.wait_for_load_state("networkidle")
        assert page.locator("html").get_attribute("dir") == "rtl"
        assert page.locator("html").get_attribute("lang") == "fa"
        # the Shopify admin's load: a session token in the URL, the language from Shopify's locale
        assert not console.csp_violations, console.csp_violations  # the switcher's script is no inline handler
        embedded = context.new_page()
        embedded_console = Console(embedded)
        embedded.route("https://cdn.shopify.com/**", lambda route: route.fulfill(
            status=200, content_type="text/javascript", body="window.shopify = {};"))
        response = embedded.goto(f"{app.url}/dashboard/overview/?shop={DOMAIN}&locale=he"
                                 "&host=YWRtaW4uc2hvcGlmeS5jb20vc3RvcmUvZGFzaGJvYXJkLWRlbW8"  # its admin, base64
                                 f"&id_token={session_token(DOMAIN)}")
        assert response is not None and response.status == 200
        policy = response.headers["content-security-policy"]
        # the shop's admin (and, in development, the sandbox's emulated admin) may frame it
        assert policy.startswith(f"frame-ancestors https://{DOMAIN} https://admin.shopify.com "
                                 f"{settings.SHOPIFY_SANDBOX_URL};")
        assert "script-src 'self' https://cdn.shopify.com" in policy and "x-frame-options" not in response.headers
        assert embedded.locator("html").get_attribute("dir") == "rtl"
        assert _chart_drawn(embedded, "customers")["chart"]
        assert not embedded_console.csp_violations, embedded_console.csp_violations
        assert not embedded_console.errors, embedded_console.errors
    finally:
        context.close()


PHONE = {"width": 390, "height": 844}


WIDE_ELEMENTS = """() => {
    const width = document.documentElement.clientWidth;
    if (document.documentElement.scrollWidth <= width) return [];
    return [...document.querySelectorAll("body *")].filter(e => {
        const box = e.getBoundingClientRect();
        return box.right > width + 1 || box.left < -1;
    }).slice(0, 8).map(e => `${e.tagName}.${e.className} ${Math.round(e.getBoundingClientRect().width)}`);
}"""


def _menu_pages(page: Page, base_url: str) -> list[str]:
    """Every page the menu links to (reports and settings), as paths."""
    page.goto(f"{base_url}/dashboard/overview/")
    hrefs = page.locator("nav.sidebar a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    paths = sorted({href.split("?")[0] for href in hrefs})
    assert len(paths) >= len(PAGES) + 1, paths
    return paths


@pytest.mark.parametrize("language", ["en", "he", "fa"])
def test_every_page_in_the_menu_fits_a_phone_and_a_desktop(browser: Browser, app: Any, merchant: Any,
                                                          language: str) -> None:
    """Every page of the menu at 390 px and at desktop width: nothing makes the page scroll sideways
    (wide tables scroll inside their own box), the direction follows the language, no script error."""
    for viewport, mobile in ((PHONE, True), (VIEWPORT, False)):
        context = browser.new_context(viewport=viewport, locale=language, reduced_motion="reduce",
                                      is_mobile=mobile, has_touch=mobile)
        context.set_default_timeout(20_000)
        try:
            page = context.new_page()
            console = Console(page)
            _log_in(page, app.url)
            for path in _menu_pages(page, app.url):
                response = page.goto(f"{app.url}{path}")
                assert response is not None and response.status == 200, (path, language)
                page.wait_for_load_state("networkidle")
                assert page.locator("html").get_attribute("lang") == language
                assert page.locator("html").get_attribute("dir") == ("ltr" if language == "en" else "rtl")
                assert page.locator("h1").count() == 1, (path, language)
                wide = page.evaluate(WIDE_ELEMENTS)
                name = path.strip("/").replace("/", "-") or "home"
                SCREENSHOTS.mkdir(parents=True, exist_ok=True)
                suffix = "-390" if mobile else ""
                page.screenshot(path=str(SCREENSHOTS / f"{name}-{language}{suffix}.png"), full_page=True)
                assert not wide, (path, language, viewport["width"], "wider than the screen", wide)
            assert not console.csp_violations, (language, console.csp_violations)
            assert not console.errors, (language, console.errors)
        finally:
            context.close()
