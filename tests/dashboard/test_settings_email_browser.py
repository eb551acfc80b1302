"""In Chromium: a merchant sets the emails' brand, writes the Hebrew points email (adds a block,
sees the live preview change in its frame), sends a test and saves; the next Hebrew points email
says the merchant's words.  The editor and the email fit 390 px in Hebrew and Persian.

Screenshots: ``var/screenshots/settings-email-<what>-<lang>-<width>.png``.
"""

from datetime import timedelta
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.utils import timezone
from playwright.sync_api import Browser, expect

from campaigns.models import Branding, EmailContent
from campaigns.services.flows import flow_enable, flow_presets_create
from dashboard.services import membership_grant
from tests.browser import dashboard_log_in, fits_width, needs_chromium
from tests.factories import ShopFactory, UserFactory

pytestmark = [pytest.mark.django_db(transaction=True), needs_chromium]
SCREENSHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"
EDITOR = "/dashboard/settings/flows/loyalty_points_earned/steps/0/email/{language}/"


@pytest.fixture
def shop(live_server: Any, settings: Any, tmp_path: Path) -> Any:
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = str(tmp_path / "outbox")
    shop = ShopFactory(domain="mail.myshopify.com", name="Shira Cosmetics", timezone="Asia/Jerusalem",
                       storefront_url="https://shira.example")
    flow_presets_create(shop=shop)
    membership_grant(user=UserFactory(username="maya"), shop=shop, role="owner")
    return shop


def test_brand_write_preview_test_and_save_the_hebrew_points_email(browser: Browser, live_server: Any, shop: Any,
                                                                   tmp_path: Path) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    dashboard_log_in(page, live_server.url, "maya")
    # given the shop's brand colour
    page.goto(f"{live_server.url}/dashboard/settings/branding/")
    page.locator("#id_primary_color").fill("#aa0055")
    page.locator("#id_address").fill("1 Port St, Haifa")
    page.get_by_role("button", name="Save branding").click()
    expect(page.locator("#saved-notice")).to_be_visible()
    assert Branding.objects.get(shop=shop).primary_color == "#aa0055"
    # when the merchant opens the Hebrew points email and rewrites its heading
    page.goto(f"{live_server.url}{EDITOR.format(language='he')}")
    heading = page.locator("#blocks-0-text")
    heading.fill("כל הכבוד {first_name}")
    # then the live preview's frame shows it, right to left, in the brand's colour
    frame = page.frame_locator(".email-frame-desktop iframe")
    expect(frame.locator("body")).to_contain_text("כל הכבוד Dana")
    expect(frame.locator("html")).to_have_attribute("dir", "rtl")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "settings-email-editor-he-content-1280.png"), full_page=True)
    expect(frame.locator("a", has_text="יתרת הנקודות").or_(frame.locator("body"))).to_contain_text("נקודות")
    # when they add a text block (plain form post: the draft is kept, nothing saved)
    page.get_by_role("button", name="+ Text").click()
    page.locator("#blocks-4-text").fill("תודה שבחרת בנו")
    expect(frame.locator("body")).to_contain_text("תודה שבחרת בנו")
    # and send themselves a test
    page.get_by_role("button", name="Send me a test").click()
    expect(page.locator("#test-sent")).to_be_visible()
    sent = list((tmp_path / "outbox").glob("*.log"))
    assert len(sent) == 1 and "maya@example.com" in sent[0].read_text()
    assert not EmailContent.objects.exists()
    # and save
    page.get_by_role("button", name="Save email").click()
    expect(page.locator("#saved-notice")).to_be_visible()
    saved = EmailContent.objects.get(shop=shop, language="he")
    assert saved.blocks[0] == {"type": "heading", "text": "כל הכבוד {first_name}"}
    assert saved.blocks[-1] == {"type": "text", "text": "תודה שבחרת בנו"}
    context.close()
    # then the flow's next Hebrew email says it
    from campaigns.services.engine import run_due
    from commerce import events
    from commerce.models import Customer
    from loyalty.services.ledger import account_for_customer, entry_write
    from loyalty.services.program import program_enable

    program_enable(shop=shop)
    flow_enable(shop=shop, key="loyalty_points_earned")
    noa = Customer.objects.create(shop=shop, platform_id="c1", email="noa@example.com", first_name="Noa",
                                  email_consent="subscribed", locale="he")
    entry_write(account=account_for_customer(shop=shop, customer=noa), kind="adjust", source="admin", key="gift",
                points=75, reason="gift")
    events.dispatch_pending()
    run_due(now=(timezone.now() + timedelta(days=1)).replace(hour=11, minute=0))
    outbox = sorted((tmp_path / "outbox").glob("*.log"), key=lambda path: path.stat().st_mtime)
    assert len(outbox) == 2
    message = message_from_bytes(outbox[-1].read_bytes().split(b"\n", 0)[0], policy=policy.default)
    html = message.get_body(preferencelist=("html",)).get_content()  # type: ignore[union-attr]
    assert message["To"] == "noa@example.com"
    assert "כל הכבוד Noa" in html and "תודה שבחרת בנו" in html and "#aa0055" in html


@pytest.mark.parametrize("language", ["he", "fa"])
def test_the_editor_and_the_email_fit_a_phone(browser: Browser, live_server: Any, shop: Any, language: str) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale=language)
    page = context.new_page()
    dashboard_log_in(page, live_server.url, "maya")
    page.goto(f"{live_server.url}{EDITOR.format(language=language)}?locale={language}")
    expect(page.locator("#email-form")).to_be_visible()
    fits_width(page)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"settings-email-editor-{language}-390.png"), full_page=True)
    # the email itself, as a phone shows it
    page.goto(f"{live_server.url}{EDITOR.format(language=language)}?frame=phone")
    assert page.evaluate("document.documentElement.dir") == "rtl"
    fits_width(page)
    page.screenshot(path=str(SCREENSHOTS / f"settings-email-message-{language}-390.png"), full_page=True)
    context.close()
