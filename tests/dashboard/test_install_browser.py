"""A merchant opens Comeback from the Shopify admin of a shop that has not installed it, in
Chromium: the sandbox's admin asks for consent (managed install), frames the app with ``shop``,
``host``, ``id_token`` and ``locale``, and the app installs itself by token exchange and shows the
dashboard embedded, in the admin's language.  Moving between pages inside the frame goes through
the App Bridge bounce (the sandbox's App Bridge asks the admin for a fresh token).

Screenshots land in ``var/screenshots/install-<step>-<lang>[-phone].png``.
"""

from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from playwright.sync_api import Browser, FrameLocator, Page, expect

from commerce.models import Shop
from integrations.models import SyncRun
from integrations.shopify.app_config import APP_TOML
from tests.browser import needs_chromium
from tests.e2e.conftest import wait_until

pytestmark = [pytest.mark.django_db(transaction=True), needs_chromium]

DOMAIN = "new-store.myshopify.com"
SCREENSHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"
# A shop that has just installed opens on the set-up guide (dashboard:onboarding).
HEADING = {"he": "הגדרת Comeback", "fa": "راه‌اندازی Comeback", "en": "Set up Comeback"}
COHORTS = {"he": "קבוצות", "fa": "گروه‌ها"}
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 900}


class Console:
    """Errors the admin page and the app's frame logged (CSP refusals among them)."""

    def __init__(self, page: Page) -> None:
        self.errors: list[str] = []
        page.on("console", lambda message: self.errors.append(message.text) if message.type == "error" else None)
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on("response", lambda response: self.errors.append(f"{response.status} {response.url}")
                if response.status >= 400 else None)


def _app(page: Page) -> FrameLocator:
    return page.frame_locator("iframe[name=app-iframe]")


def _shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"install-{name}.png"), full_page=True)


def _no_overflow(page: Page) -> list[str]:
    """What sticks out of the app's frame sideways."""
    frame = page.frame(name="app-iframe")
    assert frame is not None
    return frame.evaluate("""() => document.documentElement.scrollWidth > document.documentElement.clientWidth + 1
        ? [...document.querySelectorAll("body *")].filter(e => e.getBoundingClientRect().right
            > document.documentElement.clientWidth + 1).slice(0, 8).map(e => e.tagName + "." + e.className) : []""")


def test_opening_the_app_for_a_new_shop_installs_it_and_lands_embedded_in_hebrew(browser: Browser, app: Any,
                                                                                 sandbox: Any) -> None:
    # given a shop that has not installed the app, and the app deployed from shopify.app.toml
    store = sandbox.add_shop(DOMAIN, seed=8, customers=25, orders=60, installed=False)
    sandbox.app_deploy(str(APP_TOML), app_url=app.url)
    context = browser.new_context(viewport=DESKTOP, locale="he", reduced_motion="reduce")
    context.set_default_timeout(60_000)
    try:
        page = context.new_page()
        console = Console(page)
        # when the merchant opens Comeback from the admin (in Hebrew) and approves the install
        page.goto(f"{store.origin}/admin/apps/test-api-key?locale=he")
        expect(page.get_by_role("heading", name="Install Comeback")).to_be_visible()
        _shot(page, "consent-he")
        page.get_by_role("button", name="Install").click()
        # then the set-up guide opens inside the admin, in Hebrew, right to left
        heading = _app(page).get_by_role("heading", level=1)
        expect(heading).to_have_text(HEADING["he"])
        expect(_app(page).locator("html")).to_have_attribute("dir", "rtl")
        expect(_app(page).locator("html")).to_have_attribute("lang", "he")
        assert page.url.startswith(f"{store.origin}/admin/apps/test-api-key")  # still in the admin
        # and the shop is installed with an expiring token from the token exchange
        shop = Shop.objects.get(domain=DOMAIN)
        assert shop.status == "installed" and shop.access_token_expires_at is not None
        assert [r["grant_type"] for r in sandbox.token_requests] == [
            "urn:ietf:params:oauth:grant-type:token-exchange"]
        assert wait_until(lambda: SyncRun.objects.filter(shop=shop, kind="history", status="completed").exists(), 60)
        assert not _no_overflow(page)
        _shot(page, "dashboard-he")

        # when the merchant follows a link inside the app (no token in it: App Bridge's bounce)
        _app(page).get_by_role("link", name=COHORTS["he"]).first.click()
        # then the page comes back with a fresh token from the admin, still in Hebrew
        expect(_app(page).get_by_role("heading", level=1)).to_have_text(COHORTS["he"])
        expect(_app(page).locator("html")).to_have_attribute("dir", "rtl")
        assert len(sandbox.token_requests) == 1  # installed once; later loads use the stored token
        assert not [error for error in console.errors if "Content Security Policy" in error], console.errors

        # and a Persian-speaking staff member (another admin locale) sees it in Persian, on a phone too
        for viewport, suffix in ((DESKTOP, ""), (PHONE, "-phone")):
            page.set_viewport_size(viewport)
            page.goto(f"{store.origin}/admin/apps/test-api-key?locale=fa")
            expect(_app(page).get_by_role("heading", level=1)).to_have_text(HEADING["fa"])
            expect(_app(page).locator("html")).to_have_attribute("dir", "rtl")
            assert not _no_overflow(page), suffix
            _shot(page, f"dashboard-fa{suffix}")
        page.goto(f"{store.origin}/admin/apps/test-api-key?locale=he")
        expect(_app(page).get_by_role("heading", level=1)).to_have_text(HEADING["he"])
        _shot(page, "dashboard-he-phone")
        assert not console.errors, console.errors
    finally:
        context.close()
