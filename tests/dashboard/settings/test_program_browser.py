"""In Chromium: a merchant changes the points rate in Hebrew (and Persian) on a phone, sees the
preview follow the rate (htmx), saves, reads "Saved" and the new value, and the next order earns
at it; a reward with a Hebrew name is added, and a bad one is refused next to its field.

Screenshots: ``var/screenshots/settings-program-<lang>-<width>.png``, ``settings-rewards-<lang>-<width>.png``.
"""

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from playwright.sync_api import Browser, expect

from dashboard.services import membership_grant
from loyalty.models import LedgerEntry, Program, Reward
from tests.browser import dashboard_log_in, fits_width, needs_chromium
from tests.factories import ShopFactory, UserFactory
from tests.loyalty.helpers import deliver, line, order

pytestmark = [pytest.mark.django_db(transaction=True), needs_chromium]
SCREENSHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"
PHONE = {"width": 390, "height": 844}
TEXTS = {
    "he": {"rate": "נקודות לכל USD", "save": "שמירת הגדרות הנקודות", "saved": "נשמר.", "preview": "500",
           "on": "תוכנית הנאמנות פועלת"},
    "fa": {"rate": "امتیاز به ازای هر USD", "save": "ذخیرهٔ تنظیمات امتیاز", "saved": "ذخیره شد.", "preview": "۵۰۰",
           "on": "برنامهٔ وفاداری روشن است"},
}


@pytest.fixture
def shop(live_server: Any) -> Any:
    shop = ShopFactory(domain="points.myshopify.com", name="Points Store")
    membership_grant(user=UserFactory(username="noa"), shop=shop, role="owner")
    return shop


@pytest.mark.parametrize("language", ["he", "fa"])
def test_the_rate_changes_right_to_left_on_a_phone_and_the_next_order_earns_at_it(
        browser: Browser, live_server: Any, shop: Any, language: str) -> None:
    texts = TEXTS[language]
    context = browser.new_context(viewport=PHONE, locale=language)
    page = context.new_page()
    dashboard_log_in(page, live_server.url, "noa")
    page.goto(f"{live_server.url}/dashboard/settings/program/")
    page.locator("#language-switch").select_option(language)
    page.wait_for_load_state("networkidle")
    assert page.locator("html").get_attribute("dir") == "rtl"
    # when: the program goes on at 5 points per dollar
    page.get_by_label(texts["on"]).check()
    rate = page.get_by_label(texts["rate"])
    rate.fill("5")
    expect(page.locator("#rate-preview")).to_contain_text(texts["preview"])  # 100 USD earn 500, said while typing
    fits_width(page, f"settings-program-{language}-390")
    page.get_by_role("button", name=texts["save"]).click()
    # then
    expect(page.locator("#saved-notice")).to_have_text(texts["saved"])
    expect(page.get_by_label(texts["rate"])).to_have_value("5")
    program = Program.objects.get(shop=shop)
    assert (program.is_enabled, program.points_per_currency_unit) == (True, Decimal("5"))
    deliver(shop, order("1", [line("1a", 1, "30.00")]))
    assert LedgerEntry.objects.get(shop=shop, idempotency_key="earn:order:1").points == 150
    context.close()


def test_a_reward_named_in_hebrew_is_added_and_a_bad_one_refused_by_its_field(browser: Browser, live_server: Any,
                                                                             shop: Any) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    dashboard_log_in(page, live_server.url, "noa")
    page.goto(f"{live_server.url}/dashboard/settings/rewards/")
    # a percentage above 100 is refused next to the field, and the summary takes the focus
    page.get_by_label("Name (English)").fill("Too generous")
    page.get_by_label("Kind").select_option("percentage")
    page.get_by_label("Cost in points").fill("10")
    page.get_by_label("Value (USD or %)").fill("150")
    page.get_by_role("button", name="Add reward").click()
    expect(page.locator("#id_value_error")).to_contain_text("at most 100")
    expect(page.locator("#id_value")).to_have_attribute("aria-invalid", "true")
    expect(page.locator(".error-summary")).to_be_focused()
    assert not Reward.objects.filter(shop=shop, name="Too generous").exists()
    # a good one with its Hebrew name is saved and listed
    page.get_by_label("Name (English)").fill("Tote bag")
    page.get_by_label("Name in Hebrew").fill("תיק בד")
    page.get_by_label("Kind").select_option("fixed_amount")
    page.get_by_label("Cost in points").fill("300")
    page.get_by_label("Value (USD or %)").fill("15")
    page.get_by_role("button", name="Add reward").click()
    expect(page.locator("#saved-notice")).to_be_visible()
    reward = Reward.objects.get(shop=shop, name="Tote bag")
    assert (reward.names, reward.points_cost, reward.value) == ({"he": "תיק בד"}, 300, Decimal("15"))
    page.screenshot(path=str(SCREENSHOTS / "settings-reward-en-1280.png"), full_page=True)
    page.get_by_role("link", name="All rewards").click()
    expect(page.locator(f"#reward-{reward.pk}")).to_contain_text("תיק בד")
    page.screenshot(path=str(SCREENSHOTS / "settings-rewards-en-1280.png"), full_page=True)
    page.goto(f"{live_server.url}/dashboard/settings/program/")
    page.screenshot(path=str(SCREENSHOTS / "settings-program-en-1280.png"), full_page=True)
    context.close()


@pytest.mark.parametrize("language", ["he", "fa"])
def test_the_rewards_pages_fit_a_phone_right_to_left(browser: Browser, live_server: Any, shop: Any,
                                                     language: str) -> None:
    context = browser.new_context(viewport=PHONE, locale=language)
    page = context.new_page()
    dashboard_log_in(page, live_server.url, "noa")
    page.goto(f"{live_server.url}/dashboard/settings/rewards/")
    page.locator("#language-switch").select_option(language)
    page.wait_for_load_state("networkidle")
    assert page.locator("html").get_attribute("dir") == "rtl"
    fits_width(page, f"settings-rewards-{language}-390")
    reward = Reward.objects.filter(shop=shop).order_by("points_cost").first()
    page.goto(f"{live_server.url}/dashboard/settings/rewards/{reward.pk}/")
    fits_width(page, f"settings-reward-{language}-390")
    context.close()
