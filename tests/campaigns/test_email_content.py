"""Branded responsive emails (MJML), the merchant's words per step and language, and the email
bugs shoppers reported: the points email without a balance, "p.m.." and no time zone, Latin
digits in Persian subjects, "#9003" shown as "9003#" in Hebrew."""

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.core import mail

from campaigns.models import EmailContent, Flow, FlowStep
from campaigns.services import email
from campaigns.services.email_blocks import default_content
from campaigns.services.email_content import (
    branding_save,
    email_content_reset,
    email_content_save,
    email_preview,
    email_test_send,
)
from campaigns.services.flows import flow_presets_create
from commerce.models import Customer, Order, Product, Variant
from loyalty.models import Account, EntryKind, EntrySource
from loyalty.services.ledger import account_for_customer, entry_write
from retention_app.errors import ApplicationError
from tests.factories import ShopFactory
from tests.loyalty.helpers import deliver, line, order

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 12, 7, 20, 31, tzinfo=UTC)  # 22:31 in Jerusalem
FSI, PDI = "\u2068", "\u2069"


@pytest.fixture
def shop(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    shop = ShopFactory(domain="brand.myshopify.com", name="Shira Cosmetics", timezone="Asia/Jerusalem",
                       storefront_url="https://shira.example")
    flow_presets_create(shop=shop)
    product = Product.objects.create(shop=shop, platform_id="serum", title="Hair serum", status="active")
    Variant.objects.create(shop=shop, product=product, platform_id="v-serum", currency="USD", price=Decimal("90"),
                           unit_cost=Decimal("20"))
    return shop


def customer(shop, *, language="en", first_name="Noa") -> Customer:
    return Customer.objects.create(shop=shop, platform_id=f"c-{language}", first_name=first_name,
                                   email=f"{language}@example.com", email_consent="subscribed", locale=language)


def step_of(shop, key: str) -> FlowStep:
    flow = Flow.objects.get(shop=shop, key=key)
    return FlowStep.objects.get(flow=flow, version=flow.version, position=0)


def with_points(shop, person: Customer, points: int) -> Account:
    account = account_for_customer(shop=shop, customer=person)
    entry_write(account=account, kind=EntryKind.ADJUST, source=EntrySource.ADMIN, key=f"k{person.pk}", points=points,
                available_at=NOW - timedelta(days=1), announce=False)
    return account


def test_the_points_email_is_branded_and_shows_the_balance_the_points_earned_and_a_button(shop):
    # given a shopper with 1,250 points and the shop's logo and colour
    branding_save(shop=shop, logo_url="https://cdn.example/logo.png", primary_color="#aa0055",
                  accent_color="#ffcc00", button_text_color="#ffffff", footer_text="Thanks for shopping local",
                  address="1 Rothschild Blvd, Tel Aviv")
    noa = customer(shop)
    with_points(shop, noa, 1250)
    # when the "points earned" email is rendered for 100 new points
    rendered = email.render(step=step_of(shop, "loyalty_points_earned"), customer=noa, values={"points": 100},
                            code="", ends=None)
    # then the HTML is MJML's responsive output with the logo, the balance and a button to the store
    assert rendered.subject == "You earned 100 points"
    assert 'src="https://cdn.example/logo.png"' in rendered.html
    assert "1,250 points" in rendered.html
    assert "+100 points for you" in rendered.html
    assert re.search(r'<a href="https://shira\.example"[^>]*background:#aa0055', rendered.html)
    assert "@media only screen" in rendered.html  # responsive: columns stack on phones
    assert "1 Rothschild Blvd, Tel Aviv" in rendered.html and "Unsubscribe" in rendered.html
    # and the plain-text part says the same
    assert "Your points balance: 1,250 points" in rendered.text
    assert "https://shira.example" in rendered.text
    assert "Unsubscribe: http" in rendered.text


def test_without_branding_the_shop_name_stands_for_the_logo(shop):
    noa = customer(shop)
    rendered = email.render(step=step_of(shop, "loyalty_points_earned"), customer=noa, values={"points": 5},
                            code="", ends=None)
    assert ('<a href="https://shira.example" style="color:#202223;text-decoration:none">Shira Cosmetics</a>'
            in rendered.html)
    assert "0 points" in rendered.text


def test_persian_subjects_and_bodies_use_persian_digits_but_codes_stay_as_typed(shop):
    noa = customer(shop, language="fa")
    with_points(shop, noa, 1250)
    rendered = email.render(step=step_of(shop, "loyalty_points_earned"), customer=noa, values={"points": 100},
                            code="", ends=None)
    assert "۱۰۰" in rendered.subject and not re.search(r"[0-9]", rendered.subject)
    assert "۱٬۲۵۰" in rendered.html
    assert 'dir="rtl"' in rendered.html and 'lang="fa"' in rendered.html
    # a discount code keeps its Latin digits
    birthday = email.render(step=step_of(shop, "birthday"), customer=noa, values={}, code="BACK-23AB",
                            ends=NOW + timedelta(days=7))
    assert "BACK-23AB" in birthday.html and "۱۵" in birthday.text


def test_hebrew_order_numbers_are_isolated_in_the_subject_text_and_html(shop):
    noa = customer(shop, language="he")
    deliver(shop, order("9003", [line("l1", 2, "45", product="serum")], customer="c-he",
                        email="he@example.com", at=NOW - timedelta(hours=1)))
    placed = Order.objects.get(shop=shop, platform_id="9003")
    Order.objects.filter(pk=placed.pk).update(name="#9003")
    rendered = email.render(step=step_of(shop, "order_thank_you"), customer=noa, values={"order_id": placed.pk},
                            code="", ends=None)
    assert f"{FSI}#9003{PDI}" in rendered.subject
    assert f"{FSI}#9003{PDI}" in rendered.text
    assert "<bdi>#9003</bdi>" in rendered.html
    assert "2 × item l1" in rendered.html  # the order's lines


def test_valid_until_has_one_stop_the_shoppers_language_and_the_shops_time_zone(shop):
    english = email.render(step=step_of(shop, "winback"), customer=customer(shop), values={}, code="BACK-X",
                           ends=NOW)
    assert "Valid until Dec 7, 2026, 10:31\u202fPM (Israel Time)." in english.text
    assert ".." not in english.text
    hebrew = email.render(step=step_of(shop, "winback"), customer=customer(shop, language="he"), values={},
                          code="BACK-X", ends=NOW)
    assert "22:31" in hebrew.text and "שעון ישראל" in hebrew.text and ".." not in hebrew.text


def test_the_built_in_emails_move_onto_blocks_with_a_button_and_products(shop):
    buyer = customer(shop)
    deliver(shop, order("o1", [line("l1", 1, "90", product="serum")], customer="c-en", email="en@example.com",
                        at=NOW - timedelta(days=200)))
    rendered = email.render(step=step_of(shop, "winback"), customer=buyer, values={}, code="BACK-ABCD",
                            ends=NOW + timedelta(days=3))
    assert "We miss you, Noa" == rendered.subject
    assert "Hair serum" in rendered.html and "https://shira.example/cart/v-serum:1" in rendered.html
    assert "BACK-ABCD" in rendered.html
    assert "https://shira.example/discount/BACK-ABCD" in rendered.html
    for template in email.templates():
        assert default_content(template=template, language="he").blocks


def test_the_merchants_words_replace_the_built_in_copy_in_their_language_only(shop, settings):
    # given the merchant's Hebrew subject for the points email
    email_content_save(shop=shop, flow_key="loyalty_points_earned", position=0, language="he",
                       subject="קיבלת {points} נקודות, {first_name}!", preheader="יתרה: {balance}",
                       blocks=[{"type": "heading", "text": "תודה {first_name}"}, {"type": "points"},
                               {"type": "button", "text": "לחנות", "link": "store"}])
    he, en = customer(shop, language="he"), customer(shop, language="en", first_name="Dana")
    step = step_of(shop, "loyalty_points_earned")
    # then Hebrew shoppers get it, English ones the built-in copy
    hebrew = email.render(step=step, customer=he, values={"points": 40}, code="", ends=None)
    assert hebrew.subject == "קיבלת 40 נקודות, Noa!"
    assert "תודה Noa" in hebrew.html and "לחנות" in hebrew.html
    assert email.render(step=step, customer=en, values={"points": 40}, code="", ends=None).subject == \
        "You earned 40 points"
    # and back to the built-in copy on reset
    assert email_content_reset(shop=shop, flow_key="loyalty_points_earned", position=0, language="he") == 1
    assert "קיבלת" not in email.render(step=step, customer=he, values={"points": 40}, code="", ends=None).subject


@pytest.mark.parametrize("blocks", [
    "not a list", [{"type": "video"}], [{"type": "text"}], [{"type": "button", "text": "Go", "link": "url",
                                                              "url": "javascript:alert(1)"}],
    [{"type": "products", "limit": 50}], [42], [{"type": "text", "text": "a\x00b"}],
])
def test_invalid_blocks_are_refused_and_nothing_is_saved(shop, blocks):
    with pytest.raises(ApplicationError) as error:
        email_content_save(shop=shop, flow_key="winback", position=0, language="en", subject="Hi",
                           preheader="", blocks=blocks)
    assert error.value.status == 400
    assert not EmailContent.objects.exists()


def test_merchant_text_is_escaped_not_html(shop):
    email_content_save(shop=shop, flow_key="winback", position=0, language="en", subject="Hi <b>",
                       preheader="", blocks=[{"type": "text", "text": "<script>x</script> & more"}])
    rendered = email.render(step=step_of(shop, "winback"), customer=customer(shop), values={}, code="", ends=None)
    assert "<script>x" not in rendered.html and "&lt;script&gt;x&lt;/script&gt; &amp; more" in rendered.html


def test_send_me_a_test_lands_in_the_outbox_with_the_unsaved_words(shop):
    from campaigns.services.email_blocks import content_clean

    content = content_clean(subject="Trying {shop}", preheader="", blocks=[{"type": "text", "text": "Draft"}])
    email_test_send(shop=shop, flow_key="winback", position=0, language="en", to="owner@example.com",
                    content=content)
    assert len(mail.outbox) == 1
    sent = mail.outbox[0]
    assert sent.to == ["owner@example.com"] and sent.subject == "[Test] Trying Shira Cosmetics"
    assert "Draft" in sent.body and "Draft" in sent.alternatives[0][0]
    assert not EmailContent.objects.exists()


def test_the_preview_writes_nothing_and_creates_no_code(shop):
    rendered = email_preview(shop=shop, flow_key="birthday", position=0, language="fa")
    assert "PREVIEW-CODE" in rendered.html
    assert rendered.language == "fa"
    assert not Customer.objects.filter(first_name="Dana").exists()


def test_the_email_api_reads_saves_refuses_and_resets_with_a_session_token(shop, client):
    from tests.integrations.test_oauth import session_token

    headers = {"Authorization": f"Bearer {session_token(shop.domain)}"}
    url = "/api/campaigns/flows/winback/steps/0/email/fa"
    built_in = client.get(url, headers=headers).json()
    assert built_in["custom"] is False and "{first_name}" in built_in["subject"]
    response = client.put(url, {"subject": "برگرد {first_name}", "preheader": "",
                                "blocks": [{"type": "text", "text": "سلام"}, {"type": "discount"}]},
                          content_type="application/json", headers=headers)
    assert response.status_code == 200 and response.json()["custom"] is True
    assert email.render(step=step_of(shop, "winback"), customer=customer(shop, language="fa"), values={}, code="",
                        ends=None).subject == "برگرد Noa"
    refused = client.put(url, {"subject": "x", "blocks": [{"type": "video"}]}, content_type="application/json",
                         headers=headers)
    assert refused.status_code == 400 and refused.json()["code"] == "invalid"
    assert EmailContent.objects.get().blocks == [{"type": "text", "text": "سلام"}, {"type": "discount"}]
    assert client.delete(url, headers=headers).status_code == 204
    assert not EmailContent.objects.exists()
    branding = client.put("/api/campaigns/branding", {"primary_color": "#112233", "accent_color": "#445566",
                                                      "button_text_color": "#ffffff", "address": "2 Main St"},
                          content_type="application/json", headers=headers)
    assert branding.status_code == 200 and branding.json()["address"] == "2 Main St"
    assert client.put("/api/campaigns/branding", {"primary_color": "blue", "accent_color": "#445566",
                                                  "button_text_color": "#ffffff"}, content_type="application/json",
                      headers=headers).status_code == 400
    assert client.get("/api/campaigns/branding", headers=headers).json()["primary_color"] == "#112233"
