"""What shoppers expect from the widget, on the sandbox storefront in Chromium: ways to earn,
progress to the next tier as an amount, names in their language, and the widget designer's
colours, label, corner and sections winning over the theme editor's block settings."""

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from commerce.models import Customer, Shop
from loyalty.models import Program, Reward, Tier
from loyalty.services.ledger import account_for_customer, entry_write
from loyalty.services.program import program_enable
from loyalty.services.widget import widget_settings_update
from tests.browser import dashboard_log_in, needs_chromium
from tests.e2e.conftest import install

DOMAIN = "widget-design.myshopify.com"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def store(app: Any, sandbox: Any) -> Any:
    sandbox.app_config(app_url=app.url)
    shop_store = sandbox.add_shop(DOMAIN, seed=14, customers=12, orders=0)
    # the theme editor's block settings: a red accent in the right corner, labelled "Club"
    shop_store.app_embed_set(enabled=True, widget_snippet=False,
                             settings={"accent": "#aa0000", "position": "right", "label": "Club"})
    install(app, DOMAIN)
    shop = Shop.objects.get(domain=DOMAIN)
    program_enable(shop=shop)
    Program.objects.filter(shop=shop).update(points_per_currency_unit=Decimal("5"))
    return shop_store


@pytest.fixture
def member(store: Any) -> Customer:
    shop = Shop.objects.get(domain=DOMAIN)
    customer = Customer.objects.filter(shop=shop).exclude(email="").order_by("pk").first()
    assert customer is not None
    account = account_for_customer(shop=shop, customer=customer)
    entry_write(account=account, kind="adjust", source="admin", key="gift", points=300, reason="welcome gift")
    return customer


def _page(browser: Browser, width: int = 1280, locale: str = "en") -> Page:
    context = browser.new_context(viewport={"width": width, "height": 800}, reduced_motion="reduce", locale=locale)
    context.set_default_timeout(10_000)
    return context.new_page()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    page = _page(browser)
    try:
        yield page
    finally:
        page.context.close()


def accent(page: Page) -> str:
    return str(page.locator(".cbw-launcher").evaluate("el => getComputedStyle(el).backgroundColor"))


@needs_chromium
def test_member_sees_ways_to_earn_and_the_amount_left_for_the_next_tier(page: Page, store: Any,
                                                                        member: Customer) -> None:
    page.goto(f"{store.origin}/?customer={member.platform_id}")
    page.locator(".cbw-launcher").click()
    dialog = page.get_by_role("dialog", name="Rewards")
    ways = dialog.locator("[data-cbw=ways]")
    expect(ways.locator("[data-kind=purchase]")).to_have_text("5 points per $1 spent")
    expect(ways.locator("[data-kind=birthday]")).to_have_text("100 points on your birthday")
    expect(ways.locator("[data-kind=signup]")).to_have_text("50 points for creating an account")
    # nothing spent yet: Silver from 500.00
    expect(dialog.locator("[data-cbw=tier-progress]")).to_have_text("Spend $500 more for Silver")
    expect(dialog.get_by_role("progressbar", name="Progress to Silver")).to_have_attribute("aria-valuenow", "0")
    # the theme editor's settings apply while the designer sets nothing
    expect(page.locator(".cbw-launcher")).to_contain_text("Club")
    assert accent(page) == "rgb(170, 0, 0)"


@needs_chromium
def test_the_designers_settings_win_over_the_theme_editors(page: Page, store: Any, member: Customer) -> None:
    # given: the merchant's colour, label, corner and a hidden section in the designer
    shop = Shop.objects.get(domain=DOMAIN)
    widget_settings_update(shop=shop, changes={
        "accent_color": "#0b6e4f", "launcher_position": "left", "show_ways_to_earn": False,
        "texts": {"en": {"launcher_label": "Perks", "title": "Perks club", "welcome": "Hello, friend!"}}})
    # when the shopper opens the store
    page.goto(f"{store.origin}/?customer={member.platform_id}")
    launcher = page.locator(".cbw-launcher")
    # then
    expect(launcher).to_contain_text("Perks")
    assert accent(page) == "rgb(11, 110, 79)"
    box = launcher.bounding_box()
    assert box is not None and box["x"] < 640, box  # bottom left
    launcher.click()
    dialog = page.get_by_role("dialog", name="Perks club")
    expect(dialog.locator("[data-cbw=welcome]")).to_have_text("Hello, friend!")
    expect(dialog.locator("[data-cbw=balance]")).to_contain_text("300")
    expect(dialog.locator("[data-cbw=ways]")).to_have_count(0)
    expect(dialog.locator(".cbw-rewards")).to_be_visible()
    # with ways to earn back but surveys and referrals hidden, their ways go too
    widget_settings_update(shop=shop, changes={"show_ways_to_earn": True, "show_surveys": False,
                                               "show_referrals": False})
    page.reload()
    page.locator(".cbw-launcher").click()
    ways = page.locator("[data-cbw=ways]")
    expect(ways.locator("[data-kind=birthday]")).to_be_visible()
    expect(ways.locator("[data-kind=survey], [data-kind=referral_referrer]")).to_have_count(0)
    expect(page.locator(".cbw-referral")).to_have_count(0)


@needs_chromium
@pytest.mark.parametrize("language", ["he", "fa"])
def test_right_to_left_widget_at_phone_width(browser: Browser, store: Any, member: Customer, language: str) -> None:
    # given: names and texts in the shopper's language
    shop = Shop.objects.get(domain=DOMAIN)
    names = {"he": ("5 הנחה", "כסף", "הטבות"), "fa": ("۵ تخفیف", "نقره‌ای", "جایزه‌ها")}[language]
    Reward.objects.filter(shop=shop, points_cost=100).update(names={language: names[0]})
    Tier.objects.filter(shop=shop, name="Silver").update(names={language: names[1]})
    widget_settings_update(shop=shop, changes={"texts": {language: {"launcher_label": names[2]}}})
    page = _page(browser, width=390)
    try:
        page.goto(f"{store.origin}/?customer={member.platform_id}&locale={language}")
        launcher = page.locator(".cbw-launcher")
        expect(launcher).to_contain_text(names[2])
        assert page.locator(".cbw").get_attribute("dir") == "rtl"
        launcher.click()
        dialog = page.locator(".cbw-panel")
        expect(dialog.locator(".cbw-rewards")).to_contain_text(names[0])
        progress = dialog.locator("[data-cbw=tier-progress]")
        expect(progress).to_contain_text(names[1])
        expect(progress).to_contain_text("$")  # the amount in the shop's currency
        expect(dialog.locator("[data-cbw=ways] [data-kind=purchase]")).to_be_visible()
        if language == "fa":
            expect(progress).to_contain_text("۵۰۰")  # Persian digits
        # nothing overflows the phone's width
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        box = dialog.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390, box
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"widget-design-{language}-390.png"))
    finally:
        page.context.close()


@pytest.fixture
def merchant(store: Any) -> Any:
    from dashboard.services import membership_grant
    from tests.factories import UserFactory

    user = UserFactory(username="designer")
    membership_grant(user=user, shop=Shop.objects.get(domain=DOMAIN), role="owner")
    return user


@needs_chromium
def test_merchant_designs_the_widget_and_the_shopper_sees_it(page: Page, app: Any, store: Any, member: Customer,
                                                              merchant: Any) -> None:
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    dashboard_log_in(page, app.url, "designer")
    page.goto(f"{app.url}/dashboard/settings/widget/")
    stage = page.locator("#widget-stage")
    # the preview is the real widget, open, with the shop's rewards and ways to earn
    expect(stage.locator(".cbw-panel")).to_be_visible()
    expect(stage.locator(".cbw-rewards")).to_contain_text("5 off your order")
    expect(stage.locator("[data-cbw=ways] [data-kind=purchase]")).to_have_text("5 points per $1 spent")
    # when: the merchant types a colour and a label and hides "ways to earn" (keyboard and mouse alike)
    page.get_by_label("Accent colour", exact=True).fill("#0b6e4f")
    page.locator("[name='texts.en.launcher_label']").fill("Perks")
    page.get_by_role("checkbox", name="Ways to earn").uncheck()
    page.get_by_label("Bottom left").check()
    # then the preview follows before saving
    expect(stage.locator(".cbw-launcher")).to_contain_text("Perks")
    expect(stage.locator("[data-cbw=ways]")).to_have_count(0)
    expect(stage.locator(".cbw-launcher")).to_have_css("background-color", "rgb(11, 110, 79)")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "widget-designer-en.png"), full_page=True)
    # and the shopper's widget has not changed yet
    shopper = page.context.browser.new_context(viewport={"width": 1280, "height": 800})  # type: ignore[union-attr]
    try:
        store_page = shopper.new_page()
        store_page.goto(f"{store.origin}/?customer={member.platform_id}")
        expect(store_page.locator(".cbw-launcher")).to_contain_text("Club")
        # when the merchant saves
        page.get_by_role("button", name="Save widget").click()
        expect(page.locator("#saved-notice")).to_have_text("Saved.")
        # then the shopper's next page shows the design, over the theme editor's red and "Club"
        store_page.reload()
        launcher = store_page.locator(".cbw-launcher")
        expect(launcher).to_contain_text("Perks")
        expect(launcher).to_have_css("background-color", "rgb(11, 110, 79)")
        box = launcher.bounding_box()
        assert box is not None and box["x"] < 640, box
        launcher.click()
        expect(store_page.locator(".cbw-rewards")).to_be_visible()
        expect(store_page.locator("[data-cbw=ways]")).to_have_count(0)
    finally:
        shopper.close()
    assert not [e for e in errors if "Content Security Policy" in e], errors


@needs_chromium
def test_a_bad_colour_is_explained_and_the_preview_keeps_working(page: Page, app: Any, store: Any,
                                                                  merchant: Any) -> None:
    dashboard_log_in(page, app.url, "designer")
    page.goto(f"{app.url}/dashboard/settings/widget/")
    page.get_by_label("Accent colour", exact=True).fill("green")
    page.get_by_role("button", name="Save widget").click()
    summary = page.locator(".error-summary")
    expect(summary).to_be_focused()
    expect(summary).to_contain_text("Accent colour")
    field = page.get_by_label("Accent colour", exact=True)
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#widget-stage .cbw-panel")).to_be_visible()


@needs_chromium
@pytest.mark.parametrize("language", ["he", "fa"])
def test_the_designer_at_phone_width_right_to_left(browser: Browser, app: Any, store: Any, merchant: Any,
                                                   language: str) -> None:
    page = _page(browser, width=390, locale=language)
    try:
        dashboard_log_in(page, app.url, "designer")
        page.goto(f"{app.url}/dashboard/settings/widget/")
        assert page.locator("html").get_attribute("dir") == "rtl"
        stage = page.locator("#widget-stage")
        expect(stage.locator(".cbw-panel")).to_be_visible()
        assert stage.locator(".cbw").get_attribute("dir") == "rtl"
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"widget-designer-{language}-390.png"), full_page=True)
    finally:
        page.context.close()
