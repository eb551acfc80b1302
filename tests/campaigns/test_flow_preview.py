"""Preview a flow for one customer: what they would get and what the engine would decide, with
nothing sent, no code created in the store and no rows written."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.core import mail

from campaigns.models import Enrolment, Message, ScheduledStep
from campaigns.services.flows import PRESETS, PREVIEW_CODE, flow_enable, flow_preview
from commerce.models import Customer, Product, Variant
from retention_app.errors import ApplicationError
from tests.factories import ShopFactory
from tests.integrations.test_oauth import session_token
from tests.loyalty.helpers import deliver, line, order

pytestmark = pytest.mark.django_db

NOON = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)  # 15:00 in Jerusalem


@pytest.fixture
def shop(settings, tmp_path):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.SHOPIFY_SANDBOX_URL = "http://127.0.0.1:1"  # a preview that created a code would fail here
    settings.VAR_DIR = tmp_path
    shop = ShopFactory(domain="preview.myshopify.com", timezone="Asia/Jerusalem", locale="en", name="Shira")
    for pid, title, category, price, cost in [("serum", "Hair serum", "hair", "90", "20"),
                                              ("mask", "Hair mask", "hair", "60", "15"),
                                              ("soap", "Soap", "body", "8", "2")]:
        product = Product.objects.create(shop=shop, platform_id=pid, title=title, category=category, status="active")
        Variant.objects.create(shop=shop, product=product, platform_id=f"v-{pid}", currency="USD",
                               price=Decimal(price), unit_cost=Decimal(cost))
    for n in range(2):  # others bought the mask with the serum
        lines = [line(f"o{n}a", 1, "90", product="serum"), line(f"o{n}b", 1, "60", product="mask")]
        deliver(shop, order(f"o{n}", lines, customer=f"x{n}", email=f"x{n}@example.com",
                            at=NOON - timedelta(days=20 + n)))
    return shop


def noa(shop, **fields) -> Customer:
    defaults = {"first_name": "Noa", "email": "noa@example.com", "email_consent": "subscribed", "locale": "he",
                "phone": "+972501234567", "sms_consent": "subscribed"}
    customer = Customer.objects.create(shop=shop, platform_id="noa", **{**defaults, **fields})
    deliver(shop, order("noa-1", [line("noa-1a", 1, "90", product="serum")], customer="noa",
                        email="noa@example.com", at=NOON - timedelta(days=1)))
    return customer


def rows_written() -> tuple[int, int, int]:
    return Message.objects.count(), Enrolment.objects.count(), ScheduledStep.objects.count()


def test_email_preview_renders_in_the_shoppers_language_with_a_placeholder_code(shop, tmp_path):
    customer = noa(shop)
    before = rows_written()
    [step] = flow_preview(shop=shop, key="bounce_back", customer=customer, now=NOON)
    assert (step["channel"], step["template"], step["language"]) == ("email", "bounce_back", "he")
    assert step["subject"] and 'dir="rtl"' in step["html"]
    assert PREVIEW_CODE in step["text"] and PREVIEW_CODE in step["html"]
    assert step["discount"] == {"would_create": True, "code": PREVIEW_CODE, "percent": 10,
                                "ends_at": (NOON + timedelta(hours=12)).isoformat()}
    # recommended: not the serum she bought, the same category first
    assert [p["title"] for p in step["products"]] == ["Hair mask", "Soap"]
    assert step["decision"] == {"action": "send", "reason": "", "until": None}
    # nothing sent, nothing written
    assert mail.outbox == [] and rows_written() == before
    assert not (tmp_path / "sms").exists()


def test_sms_upsell_preview_shows_the_product_and_the_link(shop, tmp_path):
    customer = noa(shop, locale="en")
    [step] = flow_preview(shop=shop, key="post_purchase_upsell", customer=customer, now=NOON)
    assert step["channel"] == "sms" and step["html"] == ""
    assert step["text"] == ("Shira: thank you for your order, Noa! Shoppers who bought the same also loved Hair mask: "
                            "https://preview.myshopify.com/cart/v-mask:1 Reply STOP to opt out.")
    assert step["products"] == [{"product_platform_id": "mask", "variant_platform_id": "v-mask",
                                 "title": "Hair mask", "price": "60.000", "currency": "USD"}]
    assert step["discount"]["would_create"] is False
    assert not (tmp_path / "sms").exists()
    assert Message.objects.count() == 0


def test_an_upsell_with_nothing_to_offer_would_be_skipped(shop):
    customer = Customer.objects.create(shop=shop, platform_id="solo", phone="+15550001", sms_consent="subscribed")
    [step] = flow_preview(shop=shop, key="post_purchase_upsell", customer=customer, now=NOON)
    assert step["decision"]["action"] == "skip"
    assert step["decision"]["reason"] == "no complementary product to offer for this order"


def test_the_preview_tells_what_the_engine_would_decide(shop):
    # no consent
    refused = noa(shop, email_consent="not_subscribed")
    [step] = flow_preview(shop=shop, key="winback", customer=refused, now=NOON)
    assert step["decision"] == {"action": "skip", "reason": "no marketing consent for email", "until": None}
    Customer.objects.filter(pk=refused.pk).update(email_consent="subscribed")
    customer = Customer.objects.get(pk=refused.pk)
    # quiet hours: 23:30 in Jerusalem -> 09:00 local
    [step] = flow_preview(shop=shop, key="winback", customer=customer, now=datetime(2026, 6, 10, 20, 30, tzinfo=UTC))
    assert step["decision"] == {"action": "defer", "reason": "quiet hours",
                                "until": datetime(2026, 6, 11, 6, 0, tzinfo=UTC).isoformat()}
    # frequency cap: another marketing email went out this morning
    sent = Message.objects.create(shop=shop, customer=customer, channel="email", template="birthday", language="he",
                                  status="sent", at=NOON - timedelta(hours=3))
    [step] = flow_preview(shop=shop, key="winback", customer=customer, now=NOON)
    assert step["decision"] == {"action": "defer", "reason": "frequency cap",  # the next day with room, 09:00 local
                                "until": datetime(2026, 6, 11, 6, 0, tzinfo=UTC).isoformat()}
    # duplicate window: the same template three days ago
    Message.objects.filter(pk=sent.pk).update(template="winback", at=NOON - timedelta(days=3))
    [step] = flow_preview(shop=shop, key="winback", customer=customer, now=NOON)
    assert step["decision"] == {"action": "skip", "reason": "winback was sent within 30 days", "until": None}
    assert Message.objects.count() == 1


def test_a_paused_flow_can_be_previewed(shop):
    customer = noa(shop)
    flow_enable(shop=shop, key="winback", enabled=False)
    [step] = flow_preview(shop=shop, key="winback", customer=customer, now=NOON)
    assert step["subject"] and step["discount"]["code"] == PREVIEW_CODE


def test_a_customer_of_another_shop_cannot_be_previewed(shop):
    stranger = Customer.objects.create(shop=ShopFactory(domain="else.myshopify.com"), platform_id="s")
    with pytest.raises(ApplicationError) as refused:
        flow_preview(shop=shop, key="winback", customer=stranger)
    assert refused.value.status == 404


def test_preview_api(shop, client):
    customer = noa(shop)
    stranger = Customer.objects.create(shop=ShopFactory(domain="else.myshopify.com"), platform_id="s")
    headers = {"Authorization": f"Bearer {session_token(shop.domain)}"}
    response = client.get(f"/api/campaigns/flows/bounce_back/preview?customer_id={customer.pk}", headers=headers)
    assert response.status_code == 200
    body = response.json()
    assert (body["flow"], body["version"], body["enabled"], body["customer_id"]) == (
        "bounce_back", 1, False, customer.pk)
    assert body["steps"][0]["discount"]["code"] == PREVIEW_CODE
    assert client.get(f"/api/campaigns/flows/bounce_back/preview?customer_id={stranger.pk}",
                      headers=headers).status_code == 404
    assert client.get("/api/campaigns/flows/bounce_back/preview", headers=headers).status_code == 400
    assert client.get(f"/api/campaigns/flows/nope/preview?customer_id={customer.pk}",
                      headers=headers).status_code == 404
    assert Message.objects.count() == 0


@pytest.mark.parametrize("key", sorted(PRESETS))
def test_every_preset_can_be_previewed_without_side_effects(shop, key):
    customer = noa(shop, birthday=datetime(1990, 6, 10).date())
    before = rows_written()
    steps = flow_preview(shop=shop, key=key, customer=customer, now=NOON)
    assert steps and all(step["language"] == "he" for step in steps)
    assert all(step["text"] or step["decision"]["action"] == "skip" for step in steps)
    assert "%(" not in "".join(step["subject"] + step["text"] for step in steps)  # every placeholder filled
    assert rows_written() == before and mail.outbox == []


def test_the_preview_says_when_the_customer_is_outside_the_steps_segment(shop):
    from campaigns.services.flows import flow_edit
    from segments.services import shop_recompute

    customer = noa(shop)  # one order: a one-time buyer, not a loyal one
    shop_recompute(shop=shop, now=NOON)
    step = PRESETS["winback"]["steps"][0]
    flow_edit(shop=shop, key="winback", steps=[{**step, "conditions": {"segment": "loyal"}}])
    [row] = flow_preview(shop=shop, key="winback", customer=customer, now=NOON)
    assert row["decision"] == {"action": "exit", "reason": "the customer is not in the segment loyal", "until": None}
    flow_edit(shop=shop, key="winback", steps=[{**step, "conditions": {"segment": "one_time"}}])
    [row] = flow_preview(shop=shop, key="winback", customer=customer, now=NOON)
    assert row["decision"]["action"] == "send"
    flow_edit(shop=shop, key="winback", steps=[{**step, "conditions": {"not_segment": "one_time"}}])
    [row] = flow_preview(shop=shop, key="winback", customer=customer, now=NOON)
    assert row["decision"] == {"action": "exit", "reason": "the customer is in the segment one_time", "until": None}
