"""The widget on a WooCommerce storefront in a real browser: the WordPress-like page of the sandbox
store prints the plugin's mount point (endpoint ``/wp-json/comeback/v1``, the REST nonce) and the
script served by the app; the widget reaches the app through the plugin's signed route and shows
the logged-in shopper's points, in English at desktop width and in Hebrew on a 390 px phone.
Headless Chromium (Debian's ``/usr/bin/chromium``) through Playwright."""

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from commerce.models import Customer
from loyalty.services.ledger import account_balance, account_for_customer, entry_write
from loyalty.services.program import program_enable
from tests.browser import fits_width, needs_chromium
from tests.e2e.woocommerce.conftest import add_store, connect

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def store(app: Any, woo_sandbox: Any) -> Any:
    """A store connected from the plugin, with the program on and a shopper holding 300 points."""
    woo_store = add_store(woo_sandbox, "widget", seed=12, customers=20, orders=40)
    shop = connect(app, woo_store, woo_sandbox)
    program_enable(shop=shop)
    return woo_store


@pytest.fixture
def member(store: Any) -> tuple[Any, Any]:
    wp_user = next(c for c in store.customers.values() if c.email)
    customer = Customer.objects.get(shop__domain=store.domain, platform_id=str(wp_user.id))
    account = account_for_customer(shop=customer.shop, customer=customer)
    entry_write(account=account, kind="adjust", source="admin", key="gift", points=300, reason="welcome gift")
    return wp_user, account


def page_for(browser: Browser, width: int, height: int) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": width, "height": height}, reduced_motion="reduce")
    context.set_default_timeout(15_000)
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture
def desktop(browser: Browser) -> Iterator[Page]:
    yield from page_for(browser, 1280, 800)


@pytest.fixture
def phone(browser: Browser) -> Iterator[Page]:
    yield from page_for(browser, 390, 844)


def log_in(page: Page, store: Any, wp_user: Any, query: str = "") -> None:
    """The shopper logs in to the WordPress site (My account) and comes back to the shop page."""
    page.goto(f"{store.url}/my-account?sandbox_login={wp_user.id}")
    page.goto(f"{store.url}/{query}")


@needs_chromium
def test_the_logged_in_shopper_sees_their_points_on_the_storefront(desktop: Page, woo_sandbox: Any, store: Any,
                                                                   member: Any) -> None:
    wp_user, account = member
    available = account_balance(account=account).available
    log_in(desktop, store, wp_user)
    mount = desktop.locator("[data-comeback-widget]")
    # the plugin prints rest_url('comeback/v1'): the store's own REST route, never the app's address
    assert (mount.get_attribute("data-endpoint") or "").rstrip("/") in (
        f"{store.url}/wp-json/comeback/v1", f"/stores/{store.name}/wp-json/comeback/v1")
    launcher = desktop.locator(".cbw-launcher")
    expect(launcher).to_contain_text(str(available))
    launcher.click()
    dialog = desktop.get_by_role("dialog", name="Rewards")
    expect(dialog.locator("[data-cbw=balance]")).to_contain_text(str(available))
    expect(dialog.locator(".cbw-referral input")).to_have_value(f"{store.url}/?ref={account.referral_code}")
    # every widget call went through the plugin's route, signed for this shopper
    calls = [dict(entry["params"]) for entry in woo_sandbox.proxy_log if entry["store"] == store.name]
    assert calls and {(c["shop"], c["logged_in_customer_id"]) for c in calls} == {(store.domain, str(wp_user.id))}
    fits_width(desktop, "woocommerce-widget-en")


@needs_chromium
def test_in_hebrew_on_a_phone(phone: Page, store: Any, member: Any) -> None:
    wp_user, account = member
    available = account_balance(account=account).available
    log_in(phone, store, wp_user, "?lang=he")
    assert phone.locator("html").get_attribute("dir") == "rtl"
    root = phone.locator(".cbw")
    expect(root).to_have_attribute("dir", "rtl")
    expect(root).to_have_attribute("lang", re.compile(r"^he\b"))  # he or WordPress's he-IL
    launcher = phone.locator(".cbw-launcher")
    expect(launcher).to_contain_text("מועדון הטבות")
    expect(launcher).to_contain_text(str(available))
    launcher.click()
    dialog = phone.get_by_role("dialog", name="מועדון הטבות")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("נקודות זמינות")
    expect(dialog.locator("[data-cbw=balance]")).to_contain_text(str(available))
    box = dialog.bounding_box()
    assert box is not None and box["x"] >= -1 and box["x"] + box["width"] <= 391, box
    fits_width(phone, "woocommerce-widget-he-390")


@needs_chromium
def test_a_guest_sees_the_pitch_and_the_stores_login(desktop: Page, store: Any, member: Any) -> None:
    desktop.goto(f"{store.url}/")
    launcher = desktop.get_by_role("button", name="Rewards", exact=True)
    launcher.click()
    dialog = desktop.get_by_role("dialog", name="Rewards")
    expect(dialog.locator("[data-cbw=pitch]")).to_contain_text("Join our rewards program")
    expect(dialog.locator("[data-cbw=balance]")).to_have_count(0)
    login = dialog.get_by_role("link", name="Log in or create an account")
    assert (login.get_attribute("href") or "").rstrip("/") == f"{store.url}/my-account"
