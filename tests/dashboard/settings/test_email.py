"""The email editor and the branding page: the merchant's words per language reach the flow's next
email, a test lands in the outbox, bad blocks are refused with 400 and save nothing, the preview
frames are their own sandboxed documents."""

import json
from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from campaigns.models import Branding, EmailContent
from campaigns.services.engine import run_due
from campaigns.services.flows import flow_enable, flow_presets_create
from commerce import events
from commerce.models import Customer
from loyalty.services.ledger import account_for_customer, entry_write
from loyalty.services.program import program_enable

pytestmark = pytest.mark.django_db
URL = "/dashboard/settings/flows/loyalty_points_earned/steps/0/email/{language}/"
BRANDING = "/dashboard/settings/branding/"


@pytest.fixture
def shop(alpha: Any, settings: Any) -> Any:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    flow_presets_create(shop=alpha)
    return alpha


def _blocks_form(blocks: list[dict[str, Any]], **fields: Any) -> dict[str, Any]:
    """The editor's form as the browser posts it."""
    data: dict[str, Any] = {"blocks-count": str(len(blocks))}
    for index, block in enumerate(blocks):
        data.update({f"blocks-{index}-{key}": value for key, value in block.items()})
    data.update(fields)
    return data


def _daytime() -> Any:
    return (timezone.now() + timedelta(days=1)).replace(hour=11, minute=0, second=0, microsecond=0)


def test_the_editor_starts_from_the_built_in_email(client_in: Client, shop: Any) -> None:
    response = client_in.get(URL.format(language="he"))
    assert response.status_code == 200
    page = response.content.decode()
    assert 'name="subject"' in page and "{points}" in page  # the built-in Hebrew subject, with its placeholder
    assert 'name="blocks-0-type" value="heading"' in page
    assert 'value="points"' in page  # the points balance block
    assert "frame=desktop" in page and "frame=phone" in page


def test_a_saved_hebrew_subject_is_what_the_next_hebrew_email_says(client_in: Client, shop: Any) -> None:
    # given the merchant's Hebrew words, saved on the page
    response = client_in.post(URL.format(language="he"), _blocks_form(
        [{"type": "heading", "text": "כל הכבוד {first_name}"}, {"type": "points"},
         {"type": "button", "text": "לחנות", "link": "store"}],
        subject="צברת {points} נקודות!", preheader="", op="save"))
    assert response.status_code == 302 and "saved=1" in response["Location"]
    saved = EmailContent.objects.get(shop=shop, language="he")
    assert [block["type"] for block in saved.blocks] == ["heading", "points", "button"]
    # when a Hebrew shopper earns points
    program_enable(shop=shop)
    flow_enable(shop=shop, key="loyalty_points_earned")
    noa = Customer.objects.create(shop=shop, platform_id="c1", email="noa@example.com", first_name="Noa",
                                  email_consent="subscribed", locale="he")
    entry_write(account=account_for_customer(shop=shop, customer=noa), kind="adjust", source="admin", key="gift",
                points=75, reason="gift")
    events.dispatch_pending()
    run_due(now=_daytime())
    # then the flow's email carries the merchant's subject, heading and balance
    [sent] = mail.outbox
    assert sent.subject == "צברת 75 נקודות!"
    html = sent.alternatives[0][0]
    assert "כל הכבוד Noa" in html and "75 points" not in sent.subject
    assert "לחנות" in html


def test_invalid_block_json_is_refused_with_400_and_nothing_is_saved(client_in: Client, shop: Any) -> None:
    response = client_in.post(URL.format(language="en"), {"subject": "Hi", "preheader": "", "blocks": "[{oops"})
    assert response.status_code == 400
    response = client_in.post(URL.format(language="en"), {"subject": "Hi", "preheader": "",
                                                          "blocks": json.dumps([{"type": "video"}])})
    assert response.status_code == 400 and "unknown type" in response.content.decode()
    response = client_in.post(URL.format(language="en"), _blocks_form(
        [{"type": "button", "text": "Go", "link": "url", "url": "javascript:alert(1)"}], subject="Hi", op="save"))
    assert response.status_code == 400
    assert not EmailContent.objects.exists()


def test_send_me_a_test_reaches_the_merchants_inbox(client_in: Client, shop: Any, member: Any) -> None:
    response = client_in.post(URL.format(language="fa"), _blocks_form(
        [{"type": "text", "text": "پیش‌نویس"}, {"type": "points"}], subject="آزمایش {points}", op="test"))
    assert response.status_code == 200
    [sent] = mail.outbox
    assert sent.to == [member.email]
    assert sent.subject == "[Test] آزمایش ۱۰۰"
    assert "پیش‌نویس" in sent.body and 'dir="rtl"' in sent.alternatives[0][0]
    assert not EmailContent.objects.exists()  # a test saves nothing


def test_blocks_are_added_moved_and_removed_without_saving(client_in: Client, shop: Any) -> None:
    blocks = [{"type": "heading", "text": "A"}, {"type": "text", "text": "B"}]
    page = client_in.post(URL.format(language="en"), _blocks_form(blocks, subject="S", op="down:0")).content.decode()
    assert page.index(">B</textarea>") < page.index('value="A"')
    page = client_in.post(URL.format(language="en"), _blocks_form(blocks, subject="S",
                                                                  op="add:products")).content.decode()
    assert 'name="blocks-2-type" value="products"' in page
    page = client_in.post(URL.format(language="en"), _blocks_form(blocks, subject="S", op="remove:0")).content.decode()
    assert 'value="A"' not in page and 'name="blocks-count" value="1"' in page
    assert not EmailContent.objects.exists()


def test_the_live_preview_is_a_sandboxed_document_of_its_own(client_in: Client, shop: Any) -> None:
    response = client_in.post(URL.format(language="he"), _blocks_form([{"type": "heading", "text": "טיוטה"}],
                                                                      subject="נושא", op="preview"),
                              headers={"HX-Request": "true"})
    assert response.status_code == 200
    fragment = response.content.decode()
    assert "<iframe" in fragment and "sandbox" in fragment and "<html" not in fragment
    frame_url = fragment.split('src="')[1].split('"')[0].replace("&amp;", "&")
    frame = client_in.get(frame_url)
    assert frame.status_code == 200
    assert "טיוטה" in frame.content.decode() and 'dir="rtl"' in frame.content.decode()
    policy = frame["Content-Security-Policy"]
    assert "sandbox" in policy and "script-src" not in policy and "frame-ancestors 'self'" in policy


def test_an_unknown_step_or_language_is_404(client_in: Client, shop: Any) -> None:
    assert client_in.get("/dashboard/settings/flows/loyalty_points_earned/steps/5/email/en/").status_code == 404
    assert client_in.get("/dashboard/settings/flows/loyalty_points_earned/steps/0/email/de/").status_code == 404
    assert client_in.get("/dashboard/settings/flows/post_purchase_upsell/steps/0/email/en/").status_code == 404


def test_branding_saves_and_validates(client_in: Client, shop: Any) -> None:
    response = client_in.post(BRANDING, {"logo_url": "https://cdn.example/logo.png", "primary_color": "#AA0055",
                                         "button_text_color": "#ffffff", "accent_color": "#ffcc00",
                                         "footer_text": "Hand made in Haifa", "address": "1 Port St, Haifa"})
    assert response.status_code == 302
    brand = Branding.objects.get(shop=shop)
    assert (brand.primary_color, brand.address) == ("#aa0055", "1 Port St, Haifa")
    response = client_in.post(BRANDING, {"logo_url": "", "primary_color": "red", "button_text_color": "#ffffff",
                                         "accent_color": "#ffcc00", "footer_text": "", "address": ""})
    assert response.status_code == 400 and "must be a colour like #1f6f5c" in response.content.decode()
    assert Branding.objects.get(shop=shop).primary_color == "#aa0055"
    # and the preview shows the logo
    frame = client_in.get(URL.format(language="en") + "?frame=phone")
    assert 'src="https://cdn.example/logo.png"' in frame.content.decode()
