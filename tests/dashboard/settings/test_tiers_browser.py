"""In Chromium: a merchant saves a new tier version, reads its dry run (who moves up), activates
it, and the customer is in the new tier; the loyalty settings pages of this area fit a phone in
Hebrew and Persian with the dry run shown.

Screenshots: ``var/screenshots/settings-tiers-dry-run-en.png``, ``settings-<page>-<lang>-390.png``.
"""

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from playwright.sync_api import Browser, expect

from dashboard.services import membership_grant
from loyalty.models import Account, Badge, Referral, ReferralStatus, TierScheme
from loyalty.services.ledger import account_for_customer
from loyalty.services.tiers import tier_evaluate
from tests.browser import dashboard_log_in, fits_width, needs_chromium
from tests.factories import CustomerFactory, OrderFactory, ShopFactory, UserFactory

pytestmark = [pytest.mark.django_db(transaction=True), needs_chromium]
SCREENSHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def shop(live_server: Any) -> Any:
    shop = ShopFactory(domain="tiers.myshopify.com", name="Tier Store", timezone="Asia/Jerusalem")
    membership_grant(user=UserFactory(username="noa"), shop=shop, role="owner")
    return shop


@pytest.fixture
def silver(shop: Any) -> Account:
    """Dana spent 600: Silver under the default tiers (Silver from 500, Gold from 1500)."""
    customer = CustomerFactory(shop=shop, email="dana.levi@example.com", first_name="Dana", last_name="Levi")
    OrderFactory(shop=shop, customer=customer, total=Decimal("600"))
    tier_evaluate(account=account_for_customer(shop=shop, customer=CustomerFactory(
        shop=shop, email="omer@example.com", first_name="Omer")))  # Bronze, and stays there
    account = account_for_customer(shop=shop, customer=customer)
    tier_evaluate(account=account)
    return Account.objects.select_related("tier").get(pk=account.pk)


def test_a_new_tier_version_is_dry_run_then_activated(browser: Browser, live_server: Any, shop: Any,
                                                       silver: Account) -> None:
    assert silver.tier is not None and silver.tier.name == "Silver"
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    dashboard_log_in(page, live_server.url, "noa")
    page.goto(f"{live_server.url}/dashboard/settings/tiers/")
    expect(page.locator("#version-1")).to_contain_text("Active")
    # when: Silver from 100, Gold from 300 (with its Hebrew name)
    page.locator("#id_tiers-1-threshold").fill("100")
    page.locator("#id_tiers-2-threshold").fill("300")
    page.locator("#id_tiers-2-names_he").fill("זהב")
    page.get_by_role("button", name="Save as a new version and see its dry run").click()
    # then: the dry run says who moves, and nothing moved yet
    expect(page.locator("#dry-run-up")).to_have_text("1 up")
    expect(page.locator("#dry-run-table")).to_contain_text("Dana Levi")
    expect(page.locator("#dry-run-table tbody tr")).to_have_count(1)
    expect(page.locator("#dry-run-table tbody tr td").nth(1)).to_have_text("Gold")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "settings-tiers-dry-run-en.png"), full_page=True)
    silver.refresh_from_db()
    assert silver.tier.scheme.version == 1
    # when: activated
    page.get_by_role("button", name="Activate version 2").click()
    # then
    expect(page.locator("#saved-notice")).to_be_visible()
    expect(page.locator("#version-2")).to_contain_text("Active")
    silver.refresh_from_db()
    assert silver.tier.name == "Gold" and silver.tier.scheme.version == 2
    assert TierScheme.objects.get(shop=shop, is_active=True).version == 2
    # the customer's page says so: found by typing (the list follows the search box)
    page.goto(f"{live_server.url}/dashboard/settings/customers/")
    expect(page.locator("#customers-table tbody tr")).to_have_count(2)
    page.get_by_label("Search by email, name, customer ID or referral code").press_sequentially("levi", delay=50)
    expect(page.locator("#customers-table tbody tr")).to_have_count(1)
    assert "q=levi" in page.url  # the search is in the address, so back and reload keep it
    page.get_by_role("link", name="Dana Levi").click()
    expect(page.locator("#customer-tier")).to_contain_text("Gold")
    context.close()


@pytest.mark.parametrize("language", ["he", "fa"])
def test_the_pages_fit_a_phone_right_to_left(browser: Browser, live_server: Any, shop: Any, silver: Account,
                                             language: str) -> None:
    referrer = account_for_customer(shop=shop, customer=CustomerFactory(shop=shop, email="ref@example.com"))
    Referral.objects.create(shop=shop, referrer=referrer, friend_email="a.very.long.friend.address@example.com",
                            status=ReferralStatus.REVIEW, reasons=["same name as the referrer"])
    Badge.objects.filter(shop=shop, name="Partner").update(name="A badge with a rather long name")
    proposed = TierScheme.objects.create(shop=shop, version=2, basis="spend", period="lifetime", grace_days=0)
    proposed.tiers.create(shop=shop, name="Gold", threshold=Decimal("300"))
    context = browser.new_context(viewport=PHONE, locale=language)
    page = context.new_page()
    errors: list[str] = []  # what the console reports (a script that threw, a CSP refusal)
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    dashboard_log_in(page, live_server.url, "noa")
    page.goto(f"{live_server.url}/dashboard/settings/tiers/")
    page.locator("#language-switch").select_option(language)
    page.wait_for_load_state("networkidle")
    assert page.locator("html").get_attribute("dir") == "rtl"
    for name, path in (("tiers", f"settings/tiers/?scheme={proposed.pk}"), ("referrals", "settings/referrals/"),
                       ("badges", "settings/badges/"), ("customers", "settings/customers/"),
                       ("customer", f"settings/customers/{silver.pk}/")):
        page.goto(f"{live_server.url}/dashboard/{path}")
        assert page.locator("html").get_attribute("dir") == "rtl"
        fits_width(page, f"settings-{name}-{language}-390")
    assert not errors, errors
    context.close()
