"""Sending a flow step by SMS, and the shopper's replies."""

from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import translation

from campaigns.channels.sms import keyword, phone_key, provider
from campaigns.models import Channel, FlowStep, Message, MessageStatus, ScheduledStep
from campaigns.services.consent import consent_change, unsubscribe
from campaigns.services.email import Rendered, enrolment_order, language_for, step_products
from commerce.models import ConsentSource, Customer
from integrations.platforms import adapter_for

TITLE_SEPARATOR = {"fa": "، "}
TEMPLATE_DIR = Path(__file__).resolve().parents[1] / "templates" / "campaigns" / "sms"


def render(*, step: FlowStep, customer: Customer, values: dict) -> Rendered:
    """The SMS body in the shopper's language; ``values`` is the enrolment's context.  Writes
    nothing: the preview renders through here.  Raises ``NothingToSend`` when an upsell step has
    no complementary product for the order."""
    language = language_for(customer)
    order = enrolment_order(customer=customer, values=values)
    products = step_products(step=step, customer=customer, order=order)
    link = ""
    if products:
        link = adapter_for(customer.shop.platform).cart_link(
            shop=customer.shop, variant_platform_ids=[variant.platform_id for variant in products])
    with translation.override(language):
        greeting = {}
        if step.template == "holiday":  # the occasions' names and greeting in the shopper's language
            from campaigns.services.holidays import greeting_values

            greeting = greeting_values(values=values, language=language)
        body = render_to_string(f"campaigns/sms/{step.template}.txt", {**greeting,
            "customer": customer, "shop": customer.shop, "order": order, "is_marketing": step.is_marketing,
            "products": products, "product_titles": TITLE_SEPARATOR.get(language, ", ").join(
                variant.product.title for variant in products),
            "link": link,
        }).strip()
    return Rendered(language=language, subject="", text=body, products=products)


def templates() -> set[str]:
    return {path.stem for path in TEMPLATE_DIR.glob("*.txt")}


def send(*, scheduled: ScheduledStep, now: datetime) -> Message:
    customer = scheduled.enrolment.customer
    step = scheduled.step
    rendered = render(step=step, customer=customer, values=dict(scheduled.enrolment.context or {}))
    provider().send(to=customer.phone, body=rendered.text, sender=settings.SMS_SENDER)
    return Message.objects.create(
        shop_id=customer.shop_id, customer=customer, flow=step.flow, scheduled_step=scheduled, channel=Channel.SMS,
        template=step.template, language=rendered.language, is_marketing=step.is_marketing,
        subject=rendered.text[:300], status=MessageStatus.SENT, at=now,
    )


def customers_with_phone(number: str) -> list[Customer]:
    key = phone_key(number)
    if len(key) < 7:
        return []
    return [c for c in Customer.objects.filter(~Q(phone="")).filter(phone__endswith=key[-4:])
            if phone_key(c.phone) == key]


def inbound_reply(*, sender: str, body: str) -> str:
    """STOP opts the number out at once (every shop that knows it: they share our sender);
    START opts back in; HELP is answered.  Returns the reply text ("" for none)."""
    word = keyword(body)
    customers = customers_with_phone(sender)
    if word == "stop":
        for customer in customers:
            unsubscribe(customer=customer, channel=Channel.SMS, source=ConsentSource.SMS_STOP)
        return "You are unsubscribed and will receive no more messages. Reply START to resubscribe."
    if word == "start":
        for customer in customers:
            consent_change(customer=customer, channel=Channel.SMS, subscribed=True, source=ConsentSource.SMS_START)
        return "You are subscribed again. Reply STOP to unsubscribe, HELP for help."
    if word == "help":
        return "Store messages from Comeback. Reply STOP to unsubscribe. Msg&data rates may apply."
    return ""
