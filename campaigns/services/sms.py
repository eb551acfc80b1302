"""Sending a flow step by SMS, and the shopper's replies."""

from datetime import datetime

from django.conf import settings
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import translation

from campaigns.channels.sms import keyword, phone_key, provider
from campaigns.models import Channel, Message, MessageStatus, ScheduledStep, Unsubscribe
from campaigns.services.consent import unsubscribe
from campaigns.services.email import language_for
from commerce.models import Customer, Order


def send(*, scheduled: ScheduledStep, now: datetime) -> Message:
    customer = scheduled.enrolment.customer
    step = scheduled.step
    language = language_for(customer)
    order_id = (scheduled.enrolment.context or {}).get("order_id")
    order = Order.objects.filter(shop_id=customer.shop_id, pk=order_id).first() if order_id else None
    with translation.override(language):
        body = render_to_string(f"campaigns/sms/{step.template}.txt", {
            "customer": customer, "shop": customer.shop, "order": order, "is_marketing": step.is_marketing,
        }).strip()
    provider().send(to=customer.phone, body=body, sender=settings.SMS_SENDER)
    return Message.objects.create(
        shop_id=customer.shop_id, customer=customer, flow=step.flow, scheduled_step=scheduled, channel=Channel.SMS,
        template=step.template, language=language, is_marketing=step.is_marketing, subject=body[:300],
        status=MessageStatus.SENT, at=now,
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
            unsubscribe(customer=customer, channel=Channel.SMS, source="sms_stop")
        return "You are unsubscribed and will receive no more messages. Reply START to resubscribe."
    if word == "start":
        Unsubscribe.objects.filter(customer__in=customers, channel=Channel.SMS).delete()
        return "You are subscribed again. Reply STOP to unsubscribe, HELP for help."
    if word == "help":
        return "Store messages from Comeback. Reply STOP to unsubscribe. Msg&data rates may apply."
    return ""
