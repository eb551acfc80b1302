"""Post-purchase upsell by SMS: right after payment, a product others bought with the order."""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from campaigns.models import Enrolment, Message
from campaigns.selectors import flow_list
from campaigns.services.engine import run_due
from campaigns.services.flows import flow_enable
from commerce.models import Customer
from tests.campaigns.helpers import co_purchase_store
from tests.factories import ShopFactory
from tests.loyalty.helpers import deliver, line, order

pytestmark = pytest.mark.django_db

T = datetime(2026, 5, 1, 10, tzinfo=UTC)  # 13:00 in Jerusalem


@pytest.fixture
def shop(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    settings.SMS_PROVIDER = "sandbox"
    return co_purchase_store(
        ShopFactory(domain="hair.myshopify.com", name="Hair & Co", timezone="Asia/Jerusalem", locale="en"), at=T)


def sent_sms(tmp_path: Path) -> list[dict]:
    return [json.loads(row) for file in sorted((tmp_path / "sms").glob("*.jsonl"))
            for row in file.read_text().splitlines()]


def shopper(shop, *, locale="en", consent="subscribed", first_name="Noa") -> Customer:
    return Customer.objects.create(shop=shop, platform_id="buyer", first_name=first_name, locale=locale,
                                   phone="+972-50-123-4567", sms_consent=consent, email="noa@example.com")


def buy(shop, product="serum", pid="new"):
    deliver(shop, order(pid, [line(f"{pid}-a", 1, "90", product=product)], customer="buyer",
                        email="noa@example.com", at=T))


def test_the_preset_is_an_immediate_marketing_sms_and_starts_switched_off(shop):
    flow = next(f for f in flow_list(shop=shop) if f.key == "post_purchase_upsell")
    [step] = flow.steps.all()
    assert (flow.trigger, flow.is_enabled) == ("order.paid", False)
    assert (step.action, step.template, step.delay_minutes, step.is_marketing) == ("send_sms", "upsell_sms", 0, True)


def test_right_after_payment_the_buyer_gets_a_complementary_product_with_a_link(shop, tmp_path):
    # given the upsell flow is on and a shopper who agreed to SMS pays for a serum
    flow_enable(shop=shop, key="post_purchase_upsell")
    shopper(shop)
    buy(shop)
    # when the scheduler runs a minute later
    assert [o.status for o in run_due(now=T + timedelta(minutes=1))] == ["sent"]
    # then one SMS offers the mask (bought with the serum most often, and not in this order)
    [sms] = sent_sms(tmp_path)
    assert sms["body"] == ("Hair & Co: thank you for your order, Noa! Shoppers who bought the same also loved "
                           "Hair mask: https://hair.myshopify.com/cart/v-mask:1 Reply STOP to opt out.")
    message = Message.objects.get()
    assert (message.template, message.channel, message.status, message.is_marketing) == (
        "upsell_sms", "sms", "sent", True)


@pytest.mark.parametrize(("locale", "words"), [("he", "תודה על ההזמנה"), ("fa", "از سفارش شما سپاسگزاریم")])
def test_the_sms_is_in_the_shoppers_language(shop, tmp_path, locale, words):
    flow_enable(shop=shop, key="post_purchase_upsell")
    shopper(shop, locale=locale, first_name="")
    buy(shop)
    run_due(now=T + timedelta(minutes=1))
    [sms] = sent_sms(tmp_path)
    assert words in sms["body"] and "Hair mask" in sms["body"] and "https://hair.myshopify.com/cart/v-mask:1" in sms[
        "body"]
    assert Message.objects.get().language == locale


def test_no_complementary_product_skips_the_step_with_the_reason(shop, tmp_path):
    flow_enable(shop=shop, key="post_purchase_upsell")
    shopper(shop)
    buy(shop, product="soap")  # nobody bought anything with soap
    assert [o.reason for o in run_due(now=T + timedelta(minutes=1))] == [
        "no complementary product to offer for this order"]
    assert sent_sms(tmp_path) == []
    assert Message.objects.get().status == "skipped"


def test_without_sms_consent_nothing_is_sent(shop, tmp_path):
    flow_enable(shop=shop, key="post_purchase_upsell")
    shopper(shop, consent="not_subscribed")
    buy(shop)
    assert [o.reason for o in run_due(now=T + timedelta(minutes=1))] == ["no marketing consent for sms"]
    assert sent_sms(tmp_path) == []


def test_switched_off_it_enrols_nobody(shop):
    shopper(shop)
    buy(shop)
    assert not Enrolment.objects.filter(flow__key="post_purchase_upsell").exists()
