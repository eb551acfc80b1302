"""Headless Chromium for the browser tests (Debian's ``/usr/bin/chromium`` driven by Playwright;
no browser download).  Loaded as a plugin by ``tests/conftest.py``: the module-scoped ``browser``
fixture is there for every test; mark browser tests with ``needs_chromium``."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(), reason=f"browser tests need Chromium at {CHROMIUM} (apt-get install chromium)")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    # Playwright's sync API runs an event loop on this thread, and Django refuses ORM calls from a
    # thread with a running loop unless told otherwise: the tests' ORM calls are plain sync code.
    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


#: Where the browser tests leave their screenshots (to look at; not compared).
SCREENSHOTS = Path(__file__).resolve().parents[1] / "var" / "screenshots"


def dashboard_log_in(page: Page, base_url: str, username: str, password: str = "password") -> None:
    """Log in on the dashboard's login page; it lands wherever the shop's set-up stands."""
    page.goto(f"{base_url}/dashboard/login/")
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(password)
    page.locator("#id_password").press("Enter")
    page.wait_for_url("**/dashboard/**")


def fits_width(page: Page, screenshot: str = "") -> None:
    """Nothing makes the page scroll sideways at its viewport's width; the page is screenshotted
    first under ``var/screenshots/<screenshot>.png`` when named (for a person to look at)."""
    if screenshot:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{screenshot}.png"), full_page=True)
    width = page.evaluate("document.documentElement.scrollWidth")
    viewport = page.viewport_size or {"width": width}
    assert width <= viewport["width"] + 1, f"{screenshot or page.url}: the page is {width} px wide"
