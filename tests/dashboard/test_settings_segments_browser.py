"""In Chromium: the segment builder's count follows the conditions as the merchant types (htmx),
and the saved segment holds that many customers; the page works at 390 px in Hebrew and Persian.

Screenshots: ``var/screenshots/settings-segments-<lang>-<width>.png``.
"""

from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from playwright.sync_api import Browser, expect

from dashboard.services import membership_grant
from segments.models import Segment, SegmentMembership
from segments.services import shop_recompute
from tests.browser import dashboard_log_in, needs_chromium
from tests.factories import ShopFactory, UserFactory
from tests.segments.helpers import buyer

pytestmark = [pytest.mark.django_db(transaction=True), needs_chromium]
SCREENSHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"


@pytest.fixture
def shop(live_server: Any) -> Any:
    shop = ShopFactory(domain="builder.myshopify.com", name="Builder Store")
    buyer(shop, 10, spend="150", tags=("vip",))
    buyer(shop, 40, 20, spend="120")
    buyer(shop, 5, spend="30")
    shop_recompute(shop=shop)
    membership_grant(user=UserFactory(username="maya"), shop=shop, role="owner")
    return shop


def test_the_count_follows_the_conditions_and_the_saved_segment_holds_it(browser: Browser, live_server: Any,
                                                                         shop: Any) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    dashboard_log_in(page, live_server.url, "maya")
    page.goto(f"{live_server.url}/dashboard/settings/segments/")
    count = page.locator("#segment-count")
    expect(count).to_contain_text("Add a condition")
    # when: the merchant builds "net spend at least 100"
    page.get_by_label("Condition 1: what").select_option("total_spent")
    page.get_by_label("value").fill("100")
    # then the count follows, without a reload
    expect(count.locator("[data-count]")).to_have_attribute("data-count", "2")
    page.get_by_label("value").fill("20")
    expect(count.locator("[data-count]")).to_have_attribute("data-count", "3")
    page.get_by_label("value").fill("abc")
    expect(count).to_contain_text("Fix the conditions")
    page.get_by_label("value").fill("100")
    expect(count.locator("[data-count]")).to_have_attribute("data-count", "2")
    page.get_by_label("Name").fill("Big spenders")
    page.get_by_role("button", name="Save segment").click()
    expect(page.locator("#saved-notice")).to_be_visible()
    segment = Segment.objects.get(shop=shop, key="big-spenders")
    assert SegmentMembership.objects.filter(segment=segment).count() == 2
    expect(page.locator("#segment-row-big-spenders [data-count]")).to_have_attribute("data-count", "2")
    context.close()


@pytest.mark.parametrize("language", ["he", "fa"])
def test_the_builder_fits_a_phone_right_to_left(browser: Browser, live_server: Any, shop: Any,
                                                language: str) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale=language)
    page = context.new_page()
    dashboard_log_in(page, live_server.url, "maya")
    page.goto(f"{live_server.url}/dashboard/settings/segments/")
    page.locator("#language-switch").select_option(language)
    page.wait_for_load_state("networkidle")
    assert page.locator("html").get_attribute("dir") == "rtl"
    page.locator("#condition-1-field").select_option("orders_count")
    page.locator("#condition-1-value").fill("2")
    expect(page.locator("#segment-count [data-count]")).to_have_attribute("data-count", "1")
    width = page.evaluate("document.documentElement.scrollWidth")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"settings-segments-{language}-390.png"), full_page=True)
    assert width <= 390, f"the page is {width} px wide"
    context.close()


@pytest.mark.parametrize("language", ["he", "fa"])
@pytest.mark.parametrize("path", ["surveys", "data"])
def test_the_survey_and_data_settings_fit_a_phone_right_to_left(browser: Browser, live_server: Any, shop: Any,
                                                                path: str, language: str) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale=language)
    page = context.new_page()
    dashboard_log_in(page, live_server.url, "maya")
    page.goto(f"{live_server.url}/dashboard/settings/{path}/")
    page.locator("#language-switch").select_option(language)
    page.wait_for_load_state("networkidle")
    assert page.locator("html").get_attribute("dir") == "rtl"
    if path == "surveys":
        page.locator("details.question-add summary").first.click()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"settings-{path}-{language}-390.png"), full_page=True)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page is {width} px wide"
    context.close()
