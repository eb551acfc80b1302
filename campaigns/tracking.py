"""Provider tracking events (django-anymail's normalised webhooks) -> message events.

A hard bounce, a rejection or a spam complaint stops marketing email to that customer at once.
A soft bounce (mailbox full, greylisting, a temporary block) is recorded as ``soft_bounced`` and
stops email only after ``EMAIL_SOFT_BOUNCE_LIMIT`` of them within ``EMAIL_SOFT_BOUNCE_DAYS``:
one full mailbox must not cost a merchant a subscriber, but an address that keeps bouncing
hurts the store's sender reputation.
"""

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from campaigns.models import Channel, Message, MessageEvent
from campaigns.services.consent import unsubscribe
from commerce.models import ConsentSource

SUPPRESSING = {"bounced", "complained", "rejected"}
SOFT_BOUNCED = "soft_bounced"
# SparkPost's bounce classes for temporary failures (its "Bounce Classification Codes").
_SPARKPOST_SOFT_CLASSES = {"20", "21", "22", "23", "24", "40", "60", "70", "100"}


def _is_soft_bounce(esp_event: Any) -> bool:
    """Whether the provider's own payload calls this bounce temporary (anymail reports hard and
    soft bounces alike as ``bounced``)."""
    if not isinstance(esp_event, dict):
        return False
    if esp_event.get("Type") == "SoftBounce":  # Postmark
        return True
    if esp_event.get("event") == "soft_bounce":  # Brevo
        return True
    if esp_event.get("event") == "bounce" and esp_event.get("type") == "blocked":  # SendGrid
        return True
    bounce = esp_event.get("bounce")
    if isinstance(bounce, dict) and bounce.get("bounceType") == "Transient":  # Amazon SES
        return True
    msys = esp_event.get("msys")
    if isinstance(msys, dict):  # SparkPost
        detail = msys.get("message_event") or {}
        return isinstance(detail, dict) and str(detail.get("bounce_class", "")) in _SPARKPOST_SOFT_CLASSES
    return False


def tracking_event_record(*, event: Any) -> MessageEvent | None:
    metadata = getattr(event, "metadata", None) or {}
    message = None
    if metadata.get("comeback_message"):
        message = Message.objects.filter(tracking_id=metadata["comeback_message"]).first()
    if message is None and getattr(event, "message_id", None):
        message = Message.objects.filter(provider_message_id=event.message_id).first()
    if message is None:
        return None
    event_type = str(event.event_type)
    if event_type == "bounced" and _is_soft_bounce(getattr(event, "esp_event", None)):
        event_type = SOFT_BOUNCED
    try:
        with transaction.atomic():
            recorded = MessageEvent.objects.create(
                shop_id=message.shop_id, message=message, event_type=event_type,
                at=getattr(event, "timestamp", None) or timezone.now(),
                detail=str(getattr(event, "click_url", None) or getattr(event, "description", None) or "")[:300])
    except IntegrityError:
        return None  # the provider told us twice
    repeated_soft = (recorded.event_type == SOFT_BOUNCED
                     and _soft_bounces_recently(message=message) >= settings.EMAIL_SOFT_BOUNCE_LIMIT)
    if recorded.event_type in SUPPRESSING or repeated_soft:
        unsubscribe(customer=message.customer, channel=Channel.EMAIL, source=ConsentSource.BOUNCE,
                    detail=recorded.event_type)
    return recorded


def _soft_bounces_recently(*, message: Message) -> int:
    since = timezone.now() - timedelta(days=settings.EMAIL_SOFT_BOUNCE_DAYS)
    return MessageEvent.objects.filter(
        shop_id=message.shop_id, message__customer_id=message.customer_id, message__channel=Channel.EMAIL,
        event_type=SOFT_BOUNCED, at__gte=since).count()


def on_tracking(sender: Any, event: Any, esp_name: str, **kwargs: Any) -> None:
    tracking_event_record(event=event)
