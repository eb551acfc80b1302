"""A merchant's first hour, in Chromium on the Shopify sandbox: they open Comeback from the admin of
a shop that has not installed it, approve the managed install, land embedded on the set-up guide,
set 3 points per dollar and a starter reward, walk the other steps, see the launch's dry run and
launch; a shopper's widget on the storefront then shows the new rate, the reward and the points
their past orders earned.  A second test walks the guide with the keyboard only.

Screenshots land in ``var/screenshots/onboarding-*.png``; with ``DOCS_SCREENSHOTS=1`` the README's
copies in ``docs/screenshots/`` are refreshed too.
"""

import os
import re
import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db.models import Sum
from playwright.sync_api import Browser, FrameLocator, Page, expect

from commerce.models import Customer, Shop
from dashboard.models import MembershipRole, Onboarding
from dashboard.services import membership_grant
from integrations.models import SyncRun
from integrations.shopify.app_config import APP_TOML
from loyalty.models import LedgerEntry, Program
from loyalty.services.earning import backfill
from tests.browser import needs_chromium
from tests.e2e.conftest import wait_until
from tests.factories import CustomerFactory, OrderFactory, ShopFactory, UserFactory

pytestmark = [pytest.mark.django_db(transaction=True), needs_chromium]

DOMAIN = "new-store.myshopify.com"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
SCREENSHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"
DOCS = Path(settings.BASE_DIR) / "docs" / "screenshots"


def _shot(page: Page, name: str, *, full_page: bool = False) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"onboarding-{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    if os.environ.get("DOCS_SCREENSHOTS") == "1":
        DOCS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, DOCS / path.name)


def _app(page: Page) -> FrameLocator:
    return page.frame_locator("iframe[name=app-iframe]")


def _step(frame: FrameLocator | Page, text: str) -> None:
    expect(frame.locator("#step-heading")).to_have_text(re.compile(re.escape(text)))


def test_install_onboarding_and_launch_change_what_a_shopper_sees(browser: Browser, app: Any, sandbox: Any) -> None:
    # given a sandbox shop with a history that has not installed the app, its theme's app embed on
    store = sandbox.add_shop(DOMAIN, seed=21, customers=25, orders=80, installed=False, name="New Store")
    store.app_embed_set(enabled=False, widget_snippet=False)  # no widget in the theme yet
    sandbox.app_deploy(str(APP_TOML), app_url=app.url)
    context = browser.new_context(viewport=DESKTOP, locale="en", reduced_motion="reduce")
    context.set_default_timeout(60_000)
    errors: list[str] = []
    try:
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        # when the merchant opens Comeback from the admin and approves the install
        page.goto(f"{store.origin}/admin/apps/test-api-key?locale=en")
        expect(page.get_by_role("heading", name="Install Comeback")).to_be_visible()
        _shot(page, "1-install")
        page.get_by_role("button", name="Install").click()
        # then the set-up guide opens inside the admin, at its first step
        frame = _app(page)
        expect(frame.get_by_role("heading", level=1)).to_have_text("Set up Comeback")
        _step(frame, "Step 1 of 7: Loyalty program")
        assert page.url.startswith(f"{store.origin}/admin/apps/test-api-key")
        shop = Shop.objects.get(domain=DOMAIN)
        assert wait_until(lambda: SyncRun.objects.filter(shop=shop, kind="history", status="completed").exists(), 90)
        sandbox.webhooks.wait_idle(10)
        _shot(page, "2-program")

        # when they set 3 points per $1, program on
        frame.get_by_label("Points per $1.00 spent").fill("3")
        expect(frame.get_by_label("Switch the loyalty program on")).to_be_checked()
        frame.get_by_role("button", name="Save and continue").click()
        # then the rewards step shows what a reward gives back at that rate
        _step(frame, "Step 2 of 7: Starter rewards")
        expect(frame.locator("#saved-notice")).to_have_text("Saved.")
        program = Program.objects.get(shop=shop)
        assert program.is_enabled and program.points_per_currency_unit == Decimal("3")
        expect(frame.locator("label[for=id_rewards_0]")).to_contain_text(
            "$5 off your order, for 500 points (about 3.0% back at your rate)")
        expect(frame.locator("input[name=rewards][value=amount_5]")).to_be_checked()
        frame.locator("input[name=rewards][value=amount_10]").uncheck()  # only the $5 reward
        frame.get_by_role("button", name="Save and continue").click()
        _step(frame, "Step 3 of 7: Tiers")
        frame.locator("input[name=tiers][value=none]").check()
        frame.get_by_role("button", name="Save and continue").click()

        # the flows step previews a message for one of the store's customers
        _step(frame, "Step 4 of 7: Emails to switch on")
        thank_you = frame.locator("#flow-order_thank_you")
        thank_you.locator("summary").click()
        expect(thank_you.locator(".onboarding-message")).to_contain_text("Subject:")
        _shot(page, "3-flows")
        frame.get_by_role("button", name="Save and continue").click()
        _step(frame, "Step 5 of 7: Holiday greetings")
        frame.get_by_role("button", name="Save and continue").click()
        _step(frame, "Step 6 of 7: Widget look")
        frame.get_by_label("Accent colour").fill("#1f7a4d")
        # the guide's link opens the theme editor with the app embed switched on: the merchant saves it
        with context.expect_page() as opened:
            frame.locator("#widget-setup").click()
        editor = opened.value
        expect(editor.get_by_role("switch")).to_be_checked()
        editor.get_by_role("button", name="Save").click()
        expect(editor.get_by_role("status")).to_have_text("Saved.")
        editor.close()
        assert store.app_embed_enabled
        frame.get_by_role("button", name="Save and continue").click()

        # the launch step shows the dry run: what the history will earn, nothing written yet
        _step(frame, "Step 7 of 7: Launch")
        plan = backfill(shop=shop, apply=False)
        assert plan.points > 0 and not LedgerEntry.objects.filter(shop=shop).exists()
        expect(frame.locator("#launch-customers")).to_have_text(f"{plan.customers:,}")
        expect(frame.locator("#launch-points")).to_have_text(f"{plan.points:,}")
        expect(frame.locator("#launch-dry-run")).to_be_visible()
        expect(frame.get_by_text("Shoppers earn 3 points for every $1.00 they spend.")).to_be_visible()
        _shot(page, "4-launch")
        sandbox.webhooks.hold()  # SQLite's test database: one writer at a time
        frame.get_by_role("button", name="Launch").click()
        # then the home page says it is set up, and the history earned its points once
        # (the launch's job runs at once here, eager: a busy machine may take a while)
        expect(frame.locator("#home-complete")).to_contain_text("Comeback is set up and running.", timeout=60_000)
        expect(frame.locator("#home-complete")).to_contain_text(f"{plan.customers:,} customers received")
        sandbox.webhooks.release()
        _shot(page, "5-home")
        assert Onboarding.objects.get(shop=shop).launched_at is not None
        assert LedgerEntry.objects.filter(shop=shop).aggregate(total=Sum("points"))["total"] == plan.points

        # and a shopper with past orders sees the new rate, the reward and their points in the widget
        shopper = (Customer.objects.filter(shop=shop, platform_id__in=LedgerEntry.objects.filter(shop=shop)
                                           .values("account__customer__platform_id")).order_by("pk").first())
        assert shopper is not None
        points = LedgerEntry.objects.filter(shop=shop, account__customer=shopper).aggregate(
            total=Sum("points"))["total"]
        page.goto(f"{store.origin}/?customer={shopper.platform_id}")
        page.locator(".cbw-launcher").click()
        dialog = page.get_by_role("dialog", name="Rewards")
        expect(dialog.locator(".cbw-way[data-kind=purchase]")).to_contain_text(re.compile(r"3 points per \$1"))
        expect(dialog.locator(".cbw-reward").filter(has_text="$5 off your order")).to_have_count(1)
        expect(dialog.locator(".cbw-reward").filter(has_text="$10 off your order")).to_have_count(0)
        expect(dialog.locator("[data-cbw=balance]")).to_contain_text(f"{points:,}")
        _shot(page, "6-widget")

        # the guide in Persian on a phone, inside the admin
        page.set_viewport_size(PHONE)
        page.goto(f"{store.origin}/admin/apps/test-api-key?locale=fa")
        expect(_app(page).locator("html")).to_have_attribute("dir", "rtl")
        expect(_app(page).get_by_role("heading", level=1)).to_be_visible()
        _app(page).locator("nav.sidebar a[href*='/dashboard/onboarding/']").first.evaluate("link => link.click()")
        expect(_app(page).get_by_role("heading", level=1)).to_have_text("راه‌اندازی Comeback")
        app_frame = page.frame(name="app-iframe")
        assert app_frame is not None
        assert app_frame.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth + 1")
        _shot(page, "7-fa-phone", full_page=True)
        assert not errors, errors
    finally:
        context.close()


def _focused(page: Page) -> dict[str, str]:
    """The focused element's name, value and whether its focus is drawn (outline or box-shadow)."""
    return page.evaluate("""() => {
        const el = document.activeElement, style = getComputedStyle(el);
        const drawn = (style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0)
            || style.boxShadow !== "none";
        return {tag: el.tagName, name: el.name || "", value: el.value || "", text: (el.innerText || "").trim(),
                drawn: String(drawn)};
    }""")


def _tab_to(page: Page, matches: Any, limit: int = 80) -> dict[str, str]:
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = _focused(page)
        if matches(focused):
            assert focused["drawn"] == "true", f"focus is not visible on {focused}"
            return focused
    raise AssertionError("Tab never reached the control")


def test_the_guide_can_be_walked_with_the_keyboard_only(browser: Browser, app: Any) -> None:
    # given a merchant whose store has just installed, with a past order
    shop = ShopFactory(domain="keys.myshopify.com", name="Keys", onboarded=False)
    OrderFactory(shop=shop, customer=CustomerFactory(shop=shop, email="noa@example.com"), total=Decimal("20"),
                 subtotal=Decimal("20"))
    user = UserFactory(username="keys")
    user.set_password("password")
    user.save()
    membership_grant(user=user, shop=shop, role=MembershipRole.OWNER)
    context = browser.new_context(viewport=DESKTOP, locale="he", reduced_motion="reduce")
    context.set_default_timeout(20_000)
    try:
        page = context.new_page()
        page.goto(f"{app.url}/dashboard/?locale=he")
        page.keyboard.press("Tab")
        _tab_to(page, lambda f: f["name"] == "username")
        page.keyboard.type("keys")
        _tab_to(page, lambda f: f["name"] == "password")
        page.keyboard.type("password")
        page.keyboard.press("Enter")
        # the app opens on the guide's first step
        page.wait_for_url("**/dashboard/onboarding/**")
        _step(page, "1")
        # Tab to the rate, type it, Tab to "Save and continue", Enter
        _tab_to(page, lambda f: f["name"] == "points_per_currency_unit")
        page.keyboard.press("Control+A")
        page.keyboard.type("2")
        _tab_to(page, lambda f: f["tag"] == "BUTTON" and f["text"] == "שמירה והמשך")
        page.keyboard.press("Enter")
        page.wait_for_url("**step=rewards**")
        # Space ticks a reward: free shipping on, then save with Enter
        _tab_to(page, lambda f: f["name"] == "rewards" and f["value"] == "free_shipping")
        page.keyboard.press("Space")
        expect(page.locator("input[value=free_shipping]")).to_be_checked()
        _tab_to(page, lambda f: f["tag"] == "BUTTON" and f["text"] == "שמירה והמשך")
        page.keyboard.press("Enter")
        for step in ("tiers", "flows", "holidays", "widget"):
            page.wait_for_url(f"**step={step}**")
            _tab_to(page, lambda f: f["tag"] == "BUTTON" and f["text"] == "שמירה והמשך")
            page.keyboard.press("Enter")
        page.wait_for_url("**step=launch**")
        _tab_to(page, lambda f: f["tag"] == "BUTTON" and f["text"] == "השקה")
        page.keyboard.press("Space")
        page.wait_for_url("**/dashboard/home/**")
        expect(page.locator("#home-complete")).to_be_visible()
        # then everything the keyboard chose was saved, and the past order earned 2 points per unit
        program = Program.objects.get(shop=shop)
        assert program.is_enabled and program.points_per_currency_unit == Decimal("2")
        assert LedgerEntry.objects.filter(shop=shop).aggregate(total=Sum("points"))["total"] == 40
        assert Onboarding.objects.get(shop=shop).launched_at is not None
    finally:
        context.close()


@pytest.mark.parametrize("language", ["he", "fa"])
def test_every_step_of_the_guide_fits_a_phone_right_to_left(browser: Browser, app: Any, language: str) -> None:
    # given a merchant of a new shop, logged in on a 390 px phone in Hebrew or Persian
    shop = ShopFactory(domain=f"phone-{language}.myshopify.com", name="Phone", onboarded=False)
    OrderFactory(shop=shop, customer=CustomerFactory(shop=shop, email="noa@example.com"), total=Decimal("20"),
                 subtotal=Decimal("20"))
    user = UserFactory(username=f"phone-{language}")
    user.set_password("password")
    user.save()
    membership_grant(user=user, shop=shop, role=MembershipRole.OWNER)
    context = browser.new_context(viewport=PHONE, locale=language, reduced_motion="reduce")
    context.set_default_timeout(20_000)
    try:
        page = context.new_page()
        page.goto(f"{app.url}/dashboard/?locale={language}")
        page.locator("#id_username").fill(user.username)
        page.locator("#id_password").fill("password")
        page.locator("#id_password").press("Enter")
        page.wait_for_url("**/dashboard/onboarding/**")
        # when each step is opened, then it reads right to left and nothing sticks out sideways
        for step in ("program", "rewards", "tiers", "flows", "holidays", "widget", "launch", "home"):
            path = "/dashboard/home/" if step == "home" else f"/dashboard/onboarding/?step={step}"
            page.goto(f"{app.url}{path}")
            assert page.locator("html").get_attribute("dir") == "rtl"
            if step == "flows":
                page.locator("#flow-order_thank_you summary").click()
                expect(page.locator("#flow-order_thank_you .onboarding-message")).to_be_visible()
            wide = page.evaluate("""() => [...document.querySelectorAll("body *")].filter(e =>
                e.getBoundingClientRect().right > document.documentElement.clientWidth + 1
                || e.getBoundingClientRect().left < -1).slice(0, 5).map(e => e.tagName + "." + e.className)""")
            assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth + 1"), \
                (step, wide)
            if language == "he" and step in ("rewards", "flows"):
                _shot(page, f"phone-{language}-{step}", full_page=True)
    finally:
        context.close()
