"""Campaigns' part in privacy requests (see ``commerce.privacy``).

A redacted shopper's messages stay as rows (the flows' sent/skipped numbers and attributed
revenue still add up) without what was personal in them: the rendered subject (it greets them
by name) and the provider's event details (bounce texts quote the address).  Enrolment context
(order, points, tier the flow was started with) is emptied and their consent records are
deleted (a redacted customer is never messaged again: the engine exits them).  ``shop/redact``
deletes every campaigns row of the shop.
"""

from typing import Any

from campaigns.models import (
    Attribution,
    Branding,
    EmailContent,
    Enrolment,
    Flow,
    FlowStep,
    Message,
    MessageEvent,
    ScheduledStep,
)
from commerce.models import ConsentChange, Shop
from commerce.privacy import DataSubject, PrivacyParticipant


def erase_customer(*, subject: DataSubject) -> None:
    shop, customer_ids = subject.shop, subject.customer_ids
    MessageEvent.objects.filter(shop=shop, message__customer_id__in=customer_ids).update(detail="")
    Message.objects.filter(shop=shop, customer_id__in=customer_ids).update(subject="")
    Enrolment.objects.filter(shop=shop, customer_id__in=customer_ids).update(context={})
    ConsentChange.objects.filter(shop=shop, customer_id__in=customer_ids).delete()


def erase_shop(*, shop: Shop) -> None:
    for model in (MessageEvent, Attribution, Message, ScheduledStep, Enrolment, ConsentChange, EmailContent, Branding):
        model._default_manager.filter(shop=shop).delete()
    FlowStep.objects.filter(flow__shop=shop).delete()
    Flow.objects.filter(shop=shop).delete()


def export(*, subject: DataSubject) -> dict[str, Any]:
    """The messages sent (or skipped, with why) and the shopper's consent changes (the ledger)."""
    messages = (Message.objects.filter(shop=subject.shop, customer_id__in=subject.customer_ids)
                .select_related("flow").prefetch_related("events").order_by("at", "pk"))
    consent = ConsentChange.objects.filter(shop=subject.shop, customer_id__in=subject.customer_ids)
    return {
        "messages": [
            {"flow": message.flow.name if message.flow else None, "template": message.template,
             "channel": message.channel, "language": message.language, "subject": message.subject,
             "marketing": message.is_marketing, "discount_code": message.discount_code,
             "status": message.status, "reason": message.reason, "at": message.at.isoformat(),
             "events": [{"event": event.event_type, "at": event.at.isoformat()} for event in message.events.all()]}
            for message in messages
        ],
        "consent": [
            {"channel": row.channel, "state": row.state, "source": row.source, "at": row.at.isoformat()}
            for row in consent.order_by("at", "pk")
        ],
    }


CAMPAIGNS = PrivacyParticipant(
    name="campaigns",
    erase_customer=erase_customer,
    erase_shop=erase_shop,
    export=export,
    personal_fields=(
        "campaigns.Message.subject", "campaigns.MessageEvent.detail", "campaigns.Enrolment.context",
        "commerce.ConsentChange.source", "commerce.ConsentChange.detail",
    ),
    not_personal={
        "campaigns.Flow.name": "the flow's name",
        "campaigns.Flow.settings": "the flow's settings (days, percentages)",
        "campaigns.FlowStep.conditions": "the step's conditions (flags and numbers)",
        "campaigns.FlowStep.config": "the step's settings (discount percent, hours)",
        "campaigns.Message.reason": "why a message was skipped, in fixed words",
        "campaigns.Message.provider_message_id": "the email provider's id for the message",
        "campaigns.ScheduledStep.result": "the step's outcome, in fixed words",
        "campaigns.Branding.address": "the shop's business address, printed in its emails' footer",
        "campaigns.Branding.footer_text": "the shop's own footer line for its emails",
        "campaigns.Branding.button_text_color": "a colour (#RRGGBB) of the shop's email buttons",
        "campaigns.EmailContent.subject": "the merchant's subject template for a flow step",
        "campaigns.EmailContent.blocks": "the merchant's content blocks for a flow step",
    },
)
