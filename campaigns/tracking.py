"""Provider tracking events (django-anymail's normalised webhooks) -> message events.

A bounce or a spam complaint also stops marketing email to that customer at once.
"""

from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from campaigns.models import Channel, Message, MessageEvent
from campaigns.services.consent import unsubscribe
from commerce.models import ConsentSource

SUPPRESSING = {"bounced", "complained", "rejected"}


def tracking_event_record(*, event: Any) -> MessageEvent | None:
    metadata = getattr(event, "metadata", None) or {}
    message = None
    if metadata.get("comeback_message"):
        message = Message.objects.filter(tracking_id=metadata["comeback_message"]).first()
    if message is None and getattr(event, "message_id", None):
        message = Message.objects.filter(provider_message_id=event.message_id).first()
    if message is None:
        return None
    try:
        with transaction.atomic():
            recorded = MessageEvent.objects.create(
                shop_id=message.shop_id, message=message, event_type=str(event.event_type),
                at=getattr(event, "timestamp", None) or timezone.now(),
                detail=str(getattr(event, "click_url", None) or getattr(event, "description", None) or "")[:300])
    except IntegrityError:
        return None  # the provider told us twice
    if recorded.event_type in SUPPRESSING:
        unsubscribe(customer=message.customer, channel=Channel.EMAIL, source=ConsentSource.BOUNCE,
                    detail=recorded.event_type)
    return recorded


def on_tracking(sender: Any, event: Any, esp_name: str, **kwargs: Any) -> None:
    tracking_event_record(event=event)
