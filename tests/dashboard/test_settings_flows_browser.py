"""In Chromium: a merchant pauses a flow and changes a step's wait, and both are saved (the list
shows the flow paused, the editor shows the new wait, the flow's new version has it); an SMS text
is counted live as it is typed, and the preview finds a customer and shows her message (htmx);
the pages fit 390 px in Hebrew and Persian.

Screenshots: ``var/screenshots/settings-flows-<page>-<lang>-<width>.png``.
"""

from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from playwright.sync_api import Browser, expect

from campaigns.models import Flow, FlowStep
from campaigns.services.flows import flow_enable, flow_presets_create
from commerce.models import Customer
from dashboard.services import membership_grant
from tests.browser import dashboard_log_in, fits_width, needs_chromium
from tests.factories import ShopFactory, UserFactory

pytestmark = [pytest.mark.django_db(transaction=True), needs_chromium]
SCREENSHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"


@pytest.fixture
def shop(live_server: Any) -> Any:
    shop = ShopFactory(domain="flows.myshopify.com", name="Flow Store", timezone="Asia/Jerusalem")
    flow_presets_create(shop=shop)
    flow_enable(shop=shop, key="winback")
    Customer.objects.create(shop=shop, platform_id="c1", first_name="Noa", last_name="Levi", email="noa@example.com",
                            phone="+972501234567", sms_consent="subscribed", locale="he")
    membership_grant(user=UserFactory(username="maya"), shop=shop, role="owner")
    return shop


def test_pause_a_flow_and_change_a_wait_and_see_both_saved(browser: Browser, live_server: Any, shop: Any) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    dashboard_log_in(page, live_server.url, "maya")
    page.goto(f"{live_server.url}/dashboard/settings/flows/")
    row = page.locator("#flow-winback")
    expect(row).to_contain_text("On")
    # when the merchant pauses the win-back flow
    row.get_by_role("button", name="Pause").click()
    # then the list says it is saved and paused
    expect(page.locator("#saved-notice")).to_be_visible()
    expect(page.locator("#flow-winback")).to_contain_text("Paused")
    assert not Flow.objects.get(shop=shop, key="winback").is_enabled
    # when they open it and set the first step's wait to 3 days
    page.locator("#flow-winback").get_by_role("link", name="Edit").click()
    page.locator("#id_steps-0-delay_minutes").fill("3")
    page.locator("#id_steps-0-delay_unit").select_option("days")
    page.get_by_role("button", name="Save the steps").click()
    # then the editor shows it saved, and the flow's new version waits 3 days
    expect(page.locator("#saved-notice")).to_be_visible()
    expect(page.locator("#id_steps-0-delay_minutes")).to_have_value("3")
    expect(page.locator("#id_steps-0-delay_unit")).to_have_value("days")
    flow = Flow.objects.get(shop=shop, key="winback")
    assert flow.version == 2 and not flow.is_enabled
    assert FlowStep.objects.get(flow=flow, version=2).delay_minutes == 3 * 24 * 60
    # and an SMS step's text is counted as it is typed
    page.locator("#id_steps-0-action").select_option("send_sms")
    page.locator("#id_steps-0-template").select_option("winback")
    page.get_by_role("button", name="Save the steps").click()
    expect(page.locator("#saved-notice")).to_be_visible()
    page.locator("#id_steps-0-text_he").fill("{first_name}, התגעגענו! " + "ש" * 40)
    expect(page.locator("#id_steps-0-text_he-count")).to_contain_text("UCS-2")
    expect(page.locator("#id_steps-0-text_he-count")).to_contain_text("2 SMS segments")
    # and the preview finds a customer as the merchant types and shows the step as she would get it
    page.get_by_role("button", name="Save the steps").click()
    expect(page.locator("#saved-notice")).to_be_visible()
    page.get_by_label("Find a customer (name, email or phone)").fill("levi")
    page.locator("#preview-customers").get_by_role("button", name="Noa Levi").click()
    expect(page.locator("#flow-preview")).to_contain_text("Step 1")
    expect(page.locator("#flow-preview")).to_contain_text("Noa, התגעגענו!")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "settings-flows-flow-en.png"), full_page=True)
    page.goto(f"{live_server.url}/dashboard/settings/holidays/")
    page.screenshot(path=str(SCREENSHOTS / "settings-flows-holidays-en.png"), full_page=True)
    context.close()


@pytest.mark.parametrize("language", ["he", "fa"])
def test_the_flow_pages_fit_a_phone_right_to_left(browser: Browser, live_server: Any, shop: Any,
                                                  language: str) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale=language,
                                  extra_http_headers={"Accept-Language": language})
    page = context.new_page()
    dashboard_log_in(page, live_server.url, "maya")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for name, path in (("list", "flows/"), ("flow", "flows/winback/"), ("holidays", "holidays/")):
        page.goto(f"{live_server.url}/dashboard/settings/{path}?locale={language}")
        assert page.evaluate("document.documentElement.dir") == "rtl"
        page.screenshot(path=str(SCREENSHOTS / f"settings-flows-{name}-{language}-390.png"), full_page=True)
        fits_width(page)
    context.close()
