"""The widget in Chromium on the real WordPress: the shopper logs in on wp-login.php, opens the
store and reads their points; a guest is asked to log in.  The widget's calls go to the
plugin's REST route with the page's nonce, and on to the app."""

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser import needs_chromium
from tests.wordpress.conftest import Store, member

pytestmark = [pytest.mark.django_db(transaction=True), needs_chromium]

#: The first page warms php -S's opcache and the live server: generous on a busy machine.
FIRST_PAINT_MS = 30_000


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 800}, reduced_motion="reduce")
    context.set_default_timeout(FIRST_PAINT_MS)
    try:
        yield context.new_page()
    finally:
        context.close()


def wordpress_log_in(page: Page, store: Store) -> None:
    page.goto(f"{store.site.url}/wp-login.php")
    page.locator("#user_login").fill("dana")
    page.locator("#user_pass").fill(store.shopper_password)
    page.locator("#wp-submit").click()
    page.wait_for_url("**/wp-admin/**")


@pytest.mark.parametrize("permalinks", ["/%postname%/", ""])
def test_a_logged_in_shopper_opens_their_rewards_on_the_store(page: Page, store: Store, permalinks: str) -> None:
    """Pretty permalinks (/wp-json/comeback/v1) and plain ones (?rest_route=/comeback/v1)."""
    member(store, points=120)
    store.site.tool("permalinks", permalinks)
    try:
        wordpress_log_in(page, store)
        page.goto(f"{store.site.url}/")
        launcher = page.locator(".cbw-launcher")
        expect(launcher).to_contain_text("120", timeout=FIRST_PAINT_MS)
        launcher.click()
        dialog = page.get_by_role("dialog", name="Rewards")
        expect(dialog.locator("[data-cbw=balance]")).to_contain_text("120")
    finally:
        store.site.tool("permalinks", "/%postname%/")
    assert store.site.plugin_problems() == []


def test_a_guest_is_offered_the_wordpress_log_in(page: Page, store: Store) -> None:
    page.goto(f"{store.site.url}/")
    expect(page.locator(".cbw-launcher")).to_be_visible(timeout=FIRST_PAINT_MS)
    page.locator(".cbw-launcher").click()
    login = page.get_by_role("dialog", name="Rewards").locator("[data-key=login]")
    expect(login).to_be_visible()
    assert "/wp-login.php?redirect_to=" in (login.get_attribute("href") or "")
