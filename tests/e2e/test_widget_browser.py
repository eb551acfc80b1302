"""The storefront widget in a real browser: the sandbox's storefront page embeds the script served by
the app, the widget talks to the app through the sandbox's signed app proxy, and a shopper redeems
points with the keyboard.  Headless Chromium (Debian's ``/usr/bin/chromium``) through Playwright."""

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from commerce.models import Customer, Shop
from loyalty.models import Account, Reward
from loyalty.services.ledger import account_balance, account_for_customer, entry_write
from loyalty.services.program import program_enable
from tests.browser import needs_chromium
from tests.e2e.conftest import install

DOMAIN = "widget.myshopify.com"
VIEWPORT = {"width": 1280, "height": 800}

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport=VIEWPORT, reduced_motion="reduce")
    context.set_default_timeout(10_000)
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture
def store(app: Any, sandbox: Any) -> Any:
    """An installed shop with the program on; the sandbox embeds the widget from the live server."""
    sandbox.app_config(app_url=app.url)
    shop_store = sandbox.add_shop(DOMAIN, seed=12, customers=20, orders=40)
    install(app, DOMAIN)
    program_enable(shop=Shop.objects.get(domain=DOMAIN))
    return shop_store


@pytest.fixture
def member(store: Any) -> tuple[Customer, Any]:
    shop = Shop.objects.get(domain=DOMAIN)
    customer = Customer.objects.filter(shop=shop).exclude(email="").order_by("pk").first()
    account = account_for_customer(shop=shop, customer=customer)
    entry_write(account=account, kind="adjust", source="admin", key="gift", points=300, reason="welcome gift")
    return customer, account


def tab_to(page: Page, target: Locator, limit: int = 40) -> None:
    """Press Tab until ``target`` has the focus (the keyboard path a shopper would take)."""
    for _ in range(limit):
        if target.evaluate("el => el === document.activeElement"):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached {target}")


def focused_class(page: Page) -> str:
    return str(page.evaluate("document.activeElement && document.activeElement.className"))


def screenshot(page: Page, path: Path) -> Path:
    page.screenshot(path=str(path))
    assert path.stat().st_size > 10_000
    return path


@needs_chromium
def test_member_redeems_a_reward_with_the_keyboard(page: Page, store: Any, member: Any, tmp_path: Path) -> None:
    customer, account = member
    page.goto(f"{store.origin}/?customer={customer.platform_id}")
    launcher = page.locator(".cbw-launcher")
    expect(launcher).to_contain_text("300")
    expect(launcher).to_have_attribute("aria-expanded", "false")
    assert page.locator(".cbw").get_attribute("dir") == "ltr"
    box = launcher.bounding_box()
    assert box is not None and box["x"] > VIEWPORT["width"] / 2, box

    tab_to(page, launcher)
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="Rewards")
    expect(dialog).to_be_visible()
    expect(launcher).to_have_attribute("aria-expanded", "true")
    assert launcher.get_attribute("aria-controls") == dialog.get_attribute("id")
    assert dialog.evaluate("el => el.contains(document.activeElement)"), "focus moves into the panel"
    balance = dialog.locator("[data-cbw=balance]")
    expect(balance).to_contain_text("300")
    expect(balance).to_contain_text("Next tier: Silver")  # a new account starts in the first tier
    expect(dialog.locator(".cbw-referral input")).to_have_value(re.compile(r"\?ref=\w+"))

    redeem = dialog.get_by_role("button", name="Redeem 5 off your order")
    tab_to(page, redeem)
    page.keyboard.press("Enter")
    code_box = dialog.locator("[data-cbw=code]")
    expect(code_box).to_have_text(re.compile(r"^CB-[A-Z0-9]{10}$"), timeout=20_000)
    code = code_box.inner_text()
    assert "cbw-issued" in focused_class(page), "focus lands on the new code"
    expect(dialog.get_by_role("button", name=f"Copy {code}").first).to_be_visible()

    assert code in [c.code for c in store.discount_codes]
    expect(balance).to_contain_text("200")
    expect(launcher).to_contain_text("200")
    assert account_balance(account=account).available == 200
    expect(dialog.locator(".cbw-codes")).to_contain_text(code)
    expect(dialog.locator(".cbw-history")).to_contain_text("5 off your order")
    expect(page.get_by_role("alert")).to_be_hidden()
    screenshot(page, tmp_path / "widget-en.png")

    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(launcher).to_have_attribute("aria-expanded", "false")
    assert "cbw-launcher" in focused_class(page), "Escape returns the focus to the launcher"


@needs_chromium
def test_a_shoppers_first_visit_opens_their_account_with_a_referral_link(page: Page, store: Any) -> None:
    # given a logged-in shopper the store has sent us, with no loyalty account yet
    shop = Shop.objects.get(domain=DOMAIN)
    customer = (Customer.objects.filter(shop=shop).exclude(email="")
                .exclude(pk__in=Account.objects.filter(shop=shop).values("customer_id")).order_by("pk").first())
    assert customer is not None
    # when they open the store: the widget reads (which opens nothing), then joins with a POST
    page.goto(f"{store.origin}/?customer={customer.platform_id}")
    page.locator(".cbw-launcher").click()
    dialog = page.get_by_role("dialog", name="Rewards")
    referral = dialog.locator(".cbw-referral input")
    expect(referral).to_have_value(re.compile(r"\?ref=\w+"))
    expect(dialog.locator("[data-cbw=balance]")).to_contain_text("Next tier")
    # then their account is open, once, and the link carries its code
    account = Account.objects.get(shop=shop, customer=customer)
    assert referral.input_value().endswith(f"?ref={account.referral_code}")


@needs_chromium
def test_a_refused_redemption_is_announced_and_costs_nothing(page: Page, store: Any, member: Any) -> None:
    customer, account = member
    page.goto(f"{store.origin}/?customer={customer.platform_id}")
    page.locator(".cbw-launcher").click()
    dialog = page.get_by_role("dialog", name="Rewards")
    redeem = dialog.get_by_role("button", name="Redeem 5 off your order")
    expect(redeem).to_be_visible()
    expect(dialog).not_to_have_attribute("aria-busy", "true")  # opening reloads the state
    # the merchant raises the price while the panel is open: the app refuses (409)
    Reward.objects.filter(shop__domain=DOMAIN, name="5 off your order").update(points_cost=1000)
    redeem.click()
    alert = page.get_by_role("alert")
    expect(alert).to_have_text("You don't have enough points for this reward yet.")
    expect(dialog.get_by_role("button", name="Redeem 5 off your order")).to_have_count(0)
    expect(dialog.locator(".cbw-reward", has_text="5 off your order")).to_contain_text("700 more points")
    assert account_balance(account=account).available == 300
    assert not store.discount_codes


@needs_chromium
@pytest.mark.parametrize(("locale", "label", "available"), [
    ("he", "מועדון הטבות", "300"),
    ("fa", "باشگاه مشتریان", "۳۰۰"),  # Intl writes Persian digits for fa
], ids=["he", "fa"])
def test_right_to_left_locales(page: Page, store: Any, member: Any, tmp_path: Path, locale: str, label: str,
                               available: str) -> None:
    customer, _ = member
    page.goto(f"{store.origin}/?customer={customer.platform_id}&locale={locale}")
    assert page.locator("html").get_attribute("dir") == "rtl"
    root = page.locator(".cbw")
    launcher = page.locator(".cbw-launcher")
    expect(launcher).to_contain_text(label)
    expect(root).to_have_attribute("dir", "rtl")
    expect(root).to_have_attribute("lang", locale)
    expect(launcher).to_contain_text(available)
    box = launcher.bounding_box()
    assert box is not None and box["x"] + box["width"] < VIEWPORT["width"] / 2, f"launcher on the left: {box}"

    launcher.click()
    dialog = page.get_by_role("dialog", name=label)
    expect(dialog).to_be_visible()
    expect(dialog.locator("[data-cbw=balance]")).to_contain_text(available)
    panel_box = dialog.bounding_box()
    assert panel_box is not None and panel_box["x"] < VIEWPORT["width"] / 2, panel_box
    if locale == "he":
        expect(dialog).to_contain_text("נקודות זמינות")
        expect(dialog.get_by_role("button", name=re.compile("^מימוש")).first).to_be_visible()
    else:
        expect(dialog).to_contain_text("امتیاز قابل استفاده")
        expect(dialog.get_by_role("button", name=re.compile("^دریافت")).first).to_be_visible()
    screenshot(page, tmp_path / f"widget-{locale}.png")


@needs_chromium
def test_logged_out_shopper_sees_the_pitch_and_a_login_link(page: Page, store: Any, member: Any,
                                                            tmp_path: Path) -> None:
    page.goto(f"{store.origin}/")
    launcher = page.get_by_role("button", name="Rewards", exact=True)
    expect(launcher).to_be_visible()
    expect(page.locator(".cbw-badge")).to_have_count(0)
    launcher.click()
    dialog = page.get_by_role("dialog", name="Rewards")
    expect(dialog.locator("[data-cbw=pitch]")).to_contain_text("Join our rewards program")
    expect(dialog).to_contain_text("Earn 1 point for every $1 you spend.")
    expect(dialog).to_contain_text("5 off your order")
    expect(dialog).to_contain_text("Tiers: Bronze · Silver · Gold")
    expect(dialog.locator("[data-cbw=balance]")).to_have_count(0)
    expect(dialog.get_by_role("button", name=re.compile("^Redeem"))).to_have_count(0)
    login = dialog.get_by_role("link", name="Log in or create an account")
    assert "/account/login" in (login.get_attribute("href") or "")
    screenshot(page, tmp_path / "widget-guest.png")
    # the sandbox's login page stands in for the shop's: log in, come back to the store, see the points
    login.click()
    page.get_by_label("Customer id").fill(member[0].platform_id)
    page.get_by_label("Customer id").press("Enter")
    expect(page.locator(".cbw-launcher")).to_contain_text("300")


def test_widget_files_are_served_cacheable_and_nothing_else(client: Any) -> None:
    script = client.get("/storefront/comeback-widget.js")
    assert script.status_code == 200
    assert script["Content-Type"] == "text/javascript; charset=utf-8"
    assert "max-age=86400" in script["Cache-Control"]
    assert b"ComebackWidget" in b"".join(script.streaming_content)
    again = client.get("/storefront/comeback-widget.js", HTTP_IF_MODIFIED_SINCE=script["Last-Modified"])
    assert again.status_code == 304
    versioned = client.get("/storefront/comeback-widget.css?v=3")
    assert versioned["Content-Type"] == "text/css; charset=utf-8"
    assert "immutable" in versioned["Cache-Control"]
    for other in ("views.py", "README.md", "../manage.py", "__init__.py"):
        assert client.get(f"/storefront/{other}").status_code == 404, other
    sizes = sum((Path(__file__).resolve().parents[2] / "storefront" / name).stat().st_size
                for name in ("comeback-widget.js", "comeback-widget.css"))
    assert sizes < 40_000  # no framework, no build step: small enough to read (loyalty, referrals, surveys)
