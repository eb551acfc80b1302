"""In headless Chromium: a Free shop past its monthly order limit sees the notice, opens the Plan page,
upgrades through Shopify's approval page (the sandbox's) and comes back on the paid plan; the Plan
page in English, Hebrew and Persian at 390 px wide, mirrored in RTL and without overflow.

Screenshots land in ``var/screenshots/plan-<state>-<lang>-<width>.png``.
"""

from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from playwright.sync_api import Browser, Page, expect

from billing.models import LimitSkip, ShopPlan
from billing.plans import PlanCode
from commerce.models import Shop
from dashboard.onboarding import onboarding_complete
from dashboard.services import membership_grant
from integrations.models import SyncRun
from integrations.shopify.app_config import APP_TOML
from loyalty.services.program import program_enable
from tests.browser import needs_chromium
from tests.e2e.conftest import install, wait_until
from tests.factories import UserFactory

pytestmark = [pytest.mark.django_db(transaction=True), needs_chromium]

DOMAIN = "plan-browser.myshopify.com"
EMBEDDED_DOMAIN = "plan-embedded.myshopify.com"
SCREENSHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
UPGRADE = {"en": "Upgrade", "he": "שדרוג", "fa": "ارتقا"}
PAID_NAME = {"en": "every 30 days", "he": "כל 30 יום", "fa": "هر ۳۰ روز"}


@pytest.fixture
def free_shop_over_its_limit(app: Any, sandbox: Any, settings: Any) -> Any:
    settings.BILLING_FREE_ORDERS_PER_MONTH = 1
    store = sandbox.add_shop(DOMAIN, seed=8, customers=6, orders=6)
    sandbox.app_config(app_url=app.url)
    install(app, DOMAIN)
    shop = Shop.objects.get(domain=DOMAIN)
    program_enable(shop=shop)
    onboarding_complete(shop=shop)  # set up already: the app opens on the overview
    sandbox.webhooks.wait_idle(10)
    for _ in range(2):  # two new paid orders: the second is over the Free plan's one a month
        store.place_order()
    assert wait_until(lambda: LimitSkip.objects.filter(shop=shop).count() == 1, timeout=30)
    sandbox.webhooks.wait_idle(10)
    membership_grant(user=UserFactory(username="owner"), shop=shop, role="owner")
    return store


def log_in(page: Page, base_url: str) -> None:
    page.goto(f"{base_url}/dashboard/")
    page.locator("#id_username").fill("owner")
    page.locator("#id_password").fill("password")
    page.locator("#id_password").press("Enter")
    page.wait_for_url("**/dashboard/overview/**")


def check_layout(page: Page, language: str, name: str, *, overflow: bool = True) -> None:
    direction = "rtl" if language in ("he", "fa") else "ltr"
    assert page.locator("html").get_attribute("dir") == direction
    wide = page.evaluate("""() => document.documentElement.scrollWidth > document.documentElement.clientWidth
        ? [...document.querySelectorAll("body *")].filter(e => e.getBoundingClientRect().right
            > document.documentElement.clientWidth).slice(0, 8).map(e => e.tagName + "." + e.className) : []""")
    assert not (overflow and wide), (name, language, wide)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    width = page.viewport_size["width"] if page.viewport_size else 0
    page.screenshot(path=str(SCREENSHOTS / f"plan-{name}-{language}-{width}.png"), full_page=True)


def test_a_free_shop_over_its_limit_upgrades_through_shopifys_approval_page(
        browser: Browser, app: Any, sandbox: Any, free_shop_over_its_limit: Any) -> None:
    # the notice and the Plan page in each language, on a phone
    for language in ("en", "he", "fa"):
        context = browser.new_context(viewport=PHONE, locale=language, reduced_motion="reduce")
        context.set_default_timeout(20_000)
        try:
            page = context.new_page()
            log_in(page, app.url)
            notice = page.locator("#plan-notice")
            expect(notice).to_be_visible()
            # (the overview's own tables and charts are another page's matter at 390 px)
            check_layout(page, language, "notice", overflow=False)
            notice.get_by_role("link", name=UPGRADE[language]).click()
            page.wait_for_url("**/dashboard/plan/**")
            expect(page.locator("#usage-orders.reached")).to_be_visible()
            expect(page.locator("#plan-upgrade")).to_have_text(UPGRADE[language])
            check_layout(page, language, "free")
        finally:
            context.close()

    # the merchant upgrades: Shopify's approval page, Approve, and back on the paid plan
    context = browser.new_context(viewport=DESKTOP, locale="en", reduced_motion="reduce")
    context.set_default_timeout(20_000)
    try:
        page = context.new_page()
        log_in(page, app.url)
        page.goto(f"{app.url}/dashboard/plan/")
        sandbox.webhooks.hold()  # SQLite's test database: one writer at a time
        page.locator("#plan-upgrade").click()
        page.wait_for_url(f"{free_shop_over_its_limit.origin}/admin/charges/**")
        expect(page.get_by_role("heading", name="Approve subscription")).to_be_visible()
        expect(page.get_by_text("USD 29.00")).to_be_visible()
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "plan-shopify-approval.png"), full_page=True)
        page.get_by_role("button", name="Approve").click()
        page.wait_for_url(f"{app.url}/dashboard/plan/")
        expect(page.locator("#plan-name")).to_contain_text("Comeback")
        expect(page.locator("#plan-cancel")).to_be_visible()
        expect(page.locator("#usage-orders")).to_contain_text("unlimited")
        sandbox.webhooks.release()
        sandbox.webhooks.wait_idle(10)
    finally:
        context.close()
    assert ShopPlan.objects.get(shop__domain=DOMAIN).plan == PlanCode.PAID

    # the paid Plan page in each language on a phone, without the notice
    for language in ("en", "he", "fa"):
        context = browser.new_context(viewport=PHONE, locale=language, reduced_motion="reduce")
        try:
            page = context.new_page()
            log_in(page, app.url)
            expect(page.locator("#plan-notice")).to_have_count(0)
            page.goto(f"{app.url}/dashboard/plan/")
            expect(page.locator("#plan-name")).to_contain_text(PAID_NAME[language])
            check_layout(page, language, "paid")
        finally:
            context.close()


def test_inside_the_shopify_admin_upgrade_leaves_the_frame_for_the_approval_and_comes_back_embedded(
        browser: Browser, app: Any, sandbox: Any) -> None:
    # given a shop that installs Comeback from the (sandbox's) Shopify admin, in Hebrew
    store = sandbox.add_shop(EMBEDDED_DOMAIN, seed=9, customers=8, orders=12, installed=False)
    sandbox.app_deploy(str(APP_TOML), app_url=app.url)
    context = browser.new_context(viewport=DESKTOP, locale="he", reduced_motion="reduce")
    context.set_default_timeout(60_000)
    try:
        page = context.new_page()
        page.goto(f"{store.origin}/admin/apps/test-api-key?locale=he")
        page.get_by_role("button", name="Install").click()
        frame = page.frame_locator("iframe[name=app-iframe]")
        expect(frame.get_by_role("heading", level=1)).to_be_visible()
        shop = Shop.objects.get(domain=EMBEDDED_DOMAIN)
        assert wait_until(lambda: SyncRun.objects.filter(shop=shop, kind="history", status="completed").exists(), 60)
        sandbox.webhooks.wait_idle(10)
        page.goto(f"{store.origin}/admin/apps/test-api-key?locale=he")
        # when the merchant opens the Plan page in the app and clicks Upgrade
        expect(frame.get_by_role("heading", level=1)).to_be_visible()
        frame.locator("nav.sidebar a[href*='/dashboard/plan/']").click()
        expect(frame.locator("#plan-upgrade")).to_have_text("שדרוג")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "plan-embedded-he.png"), full_page=True)
        sandbox.webhooks.hold()  # SQLite's test database: one writer at a time
        frame.locator("#plan-upgrade").click()
        # then the whole window (not the frame) shows Shopify's approval page
        page.wait_for_url(f"{store.origin}/admin/charges/**")
        page.get_by_role("button", name="Approve").click()
        # and after approving the merchant is back in the admin, with the app framed, on the paid plan
        page.wait_for_url(f"{store.origin}/admin/apps/test-api-key**")
        expect(frame.get_by_role("heading", level=1)).to_be_visible()
        assert ShopPlan.objects.get(shop=shop).plan == PlanCode.PAID
        frame.locator("nav.sidebar a[href*='/dashboard/plan/']").click()
        expect(frame.locator("#plan-name")).to_contain_text("Comeback")
        page.screenshot(path=str(SCREENSHOTS / "plan-embedded-paid-he.png"), full_page=True)
        sandbox.webhooks.release()
        sandbox.webhooks.wait_idle(10)
    finally:
        context.close()
