"""The webhook inbox: verify -> store raw (unique per delivery) -> 200 -> process in a task.

The request path does no business work: it checks the signature, writes one row and schedules
processing after the commit.  Processing runs in a Celery task, so a slow database or a bad
payload never makes the platform see a failure (which would make it retry, and eventually remove
the subscription).  A delivery that fails is kept with its reason and retried with backoff.
"""

import functools
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import DataError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from commerce.models import Shop
from integrations.models import DeliveryStatus, WebhookDelivery

logger = logging.getLogger(__name__)


class PayloadError(ValueError):
    """The payload cannot be understood; the delivery is kept and marked failed."""


class WebhookUnauthorized(Exception):
    """Signature missing or wrong: answer 401 and store nothing."""


class WebhookRejected(Exception):
    """Signed, but not a delivery we can keep (e.g. no delivery id): answer 400."""


class WebhookAcknowledged(Exception):
    """Genuine, but nothing to store (WooCommerce's unsigned ping on webhook creation): answer
    200 and keep nothing."""


class DeliveryIgnored(Exception):
    """Nothing to do for this delivery (unknown shop, uninstalled shop, unknown topic)."""


@dataclass(frozen=True)
class InboundWebhook:
    platform: str
    delivery_id: str
    event_id: str
    shop_domain: str
    topic: str
    api_version: str
    triggered_at: str
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class ReceiveResult:
    delivery: WebhookDelivery
    duplicate: bool


def webhook_receive(*, inbound: InboundWebhook) -> ReceiveResult:
    """Store a verified delivery once; a redelivery of the same id changes nothing.

    One INSERT in autocommit mode is both the duplicate check (the unique constraint) and the
    write, so the ack path costs a shop lookup and an insert.  Once the row is committed the
    delivery is safe: if the broker is down the enqueue is skipped (and logged) and the beat job
    picks the row up later -- the platform still gets its 200, never a retry storm.
    """
    shop_id = (
        Shop.objects.filter(platform=inbound.platform, domain=inbound.shop_domain)
        .values_list("pk", flat=True)
        .first()
    )
    delivery = WebhookDelivery(
        platform=inbound.platform,
        delivery_id=inbound.delivery_id,
        event_id=inbound.event_id,
        shop_id=shop_id,
        shop_domain=inbound.shop_domain,
        topic=inbound.topic,
        api_version=inbound.api_version,
        triggered_at=parse_datetime(inbound.triggered_at) if inbound.triggered_at else None,
        headers=inbound.headers,
        body=inbound.body,
    )
    delivery.pk = _insert_unless_present(delivery)
    if delivery.pk is None:  # this delivery id is already in the inbox
        existing = WebhookDelivery(
            pk=WebhookDelivery.objects.filter(platform=inbound.platform, delivery_id=inbound.delivery_id)
            .values_list("pk", flat=True)
            .first()
        )
        return ReceiveResult(delivery=existing, duplicate=True)
    transaction.on_commit(lambda: _enqueue(delivery.pk))
    return ReceiveResult(delivery=delivery, duplicate=False)


def _insert_unless_present(delivery: WebhookDelivery) -> int | None:
    """``INSERT ... ON CONFLICT (platform, delivery_id) DO NOTHING RETURNING id``: the new id, or
    ``None`` for a redelivery.  Unlike catching an IntegrityError this leaves no error (nor the
    body) in the database log and no dead row behind, which matters in a redelivery storm."""
    meta = WebhookDelivery._meta
    fields = [field for field in meta.concrete_fields if not field.primary_key]
    values = [field.get_db_prep_save(field.pre_save(delivery, True), connection) for field in fields]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(str(field.column)) for field in fields)
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES ({', '.join(['%s'] * len(fields))}) "
        f"ON CONFLICT ({quote('platform')}, {quote('delivery_id')}) DO NOTHING RETURNING {quote(str(meta.pk.column))}"
    )
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, values)
        row = cursor.fetchone()
    return row[0] if row else None


def _enqueue(delivery_pk: int) -> None:
    from integrations.tasks import process_webhook_delivery

    try:
        process_webhook_delivery.delay(delivery_pk)
    except Exception as error:  # broker unreachable: the row waits in the inbox for the sweep
        logger.warning("could not enqueue webhook delivery %s (%s); the sweep will retry it", delivery_pk, error)


def _retry_delay(attempts: int) -> timedelta:
    return timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), 6 * 3600))


def delivery_process(*, delivery_pk: int) -> str:
    """Process one inbox row at most once in effect; never raises for a bad payload."""
    with transaction.atomic():
        delivery = WebhookDelivery.objects.select_for_update().filter(pk=delivery_pk).first()
        if delivery is None:
            return "missing"
        if delivery.status in (DeliveryStatus.PROCESSED, DeliveryStatus.IGNORED, DeliveryStatus.DEAD):
            return f"already {delivery.status}"
        delivery.attempts += 1
        try:
            with transaction.atomic():
                _same_event_check(delivery)
                payload = json.loads(bytes(delivery.body).decode("utf-8"))
                outcome = _handler(delivery.platform)(delivery, payload)
            delivery.status = DeliveryStatus.PROCESSED
            delivery.error = ""
            delivery.next_attempt_at = None
            delivery.processed_at = timezone.now()
        except DeliveryIgnored as reason:
            outcome = f"ignored: {reason}"
            delivery.status = DeliveryStatus.IGNORED
            delivery.error = str(reason)
            delivery.processed_at = timezone.now()
        except RecursionError:
            # A signed body nested thousands of levels deep: it will never parse, so it is kept
            # for inspection and dead at once instead of being retried (or swept) forever.
            outcome = "failed: payload nested too deeply"
            delivery.error = "payload nested too deeply"
            delivery.status = DeliveryStatus.DEAD
            delivery.next_attempt_at = None
            logger.warning("webhook delivery %s (%s) is nested too deeply", delivery.pk, delivery.topic)
        except (ValueError, KeyError, TypeError, LookupError, PayloadError, DataError) as error:
            # ValueError covers JSONDecodeError and UnicodeDecodeError: malformed payloads.  DataError:
            # a value that does not fit its column (a list where a status goes, a NUL); the inner
            # savepoint has rolled it back, so the delivery is recorded as failed, not raised.
            outcome = f"failed: {error}"
            delivery.error = f"{type(error).__name__}: {error}"
            if delivery.attempts >= settings.WEBHOOK_MAX_ATTEMPTS:
                delivery.status = DeliveryStatus.DEAD
                delivery.next_attempt_at = None
            else:
                delivery.status = DeliveryStatus.FAILED
                delivery.next_attempt_at = timezone.now() + _retry_delay(delivery.attempts)
            logger.warning("webhook delivery %s (%s) failed: %s", delivery.pk, delivery.topic, error)
        delivery.save(update_fields=["status", "attempts", "error", "next_attempt_at", "processed_at"])
    return outcome


def _handler(platform: str) -> Callable[[WebhookDelivery, Any], str]:
    from integrations.platforms import adapter_for  # the registry imports this module

    try:
        return adapter_for(platform).webhook_handle
    except LookupError as error:
        raise DeliveryIgnored(f"no handler for platform {platform}") from error


def _same_event_check(delivery: WebhookDelivery) -> None:
    """One event can reach us under two delivery ids -- Shopify sends it once per subscription,
    and a topic may be subscribed both app-wide (``shopify.app.toml``) and per shop -- with the
    same ``X-Shopify-Event-Id``.  The handlers are idempotent, but the second copy is skipped
    rather than applied again."""
    if not delivery.event_id:
        return
    first = (
        WebhookDelivery.objects.filter(
            platform=delivery.platform, shop_domain=delivery.shop_domain, event_id=delivery.event_id,
            topic=delivery.topic, status__in=[DeliveryStatus.PROCESSED, DeliveryStatus.IGNORED])
        .exclude(pk=delivery.pk).values_list("pk", flat=True).first()
    )
    if first is not None:
        raise DeliveryIgnored(f"the same event as delivery {first}")


def deliveries_retry(*, deliveries: Any) -> int:
    """Put failed deliveries back in the queue now (the admin's retry action)."""
    pks = list(
        deliveries.filter(status__in=[DeliveryStatus.FAILED, DeliveryStatus.DEAD]).values_list("pk", flat=True)
    )
    WebhookDelivery.objects.filter(pk__in=pks).update(
        status=DeliveryStatus.FAILED, next_attempt_at=timezone.now(), attempts=0
    )
    for pk in pks:
        transaction.on_commit(functools.partial(_enqueue, pk))
    return len(pks)


# A delivery still "received" this long after arrival was never picked up (broker down, worker
# lost before its ack): the sweep enqueues it again.  Processing is idempotent either way.
STUCK_AFTER = timedelta(minutes=2)


def deliveries_prune(*, older_than: timedelta, batch_size: int = 1000) -> int:
    """Delete processed and ignored deliveries received more than ``older_than`` ago: their raw
    bodies hold shoppers' personal data we no longer need.  Failed and dead ones stay for
    operators to inspect and retry.  Batches of ``batch_size`` keep each transaction short."""
    cutoff = timezone.now() - older_than
    old = WebhookDelivery.objects.filter(
        status__in=[DeliveryStatus.PROCESSED, DeliveryStatus.IGNORED], received_at__lt=cutoff
    )
    deleted = 0
    while pks := list(old.order_by().values_list("pk", flat=True)[:batch_size]):
        deleted += WebhookDelivery.objects.filter(pk__in=pks).delete()[0]
    return deleted


def deliveries_due() -> list[int]:
    now = timezone.now()
    due = WebhookDelivery.objects.filter(
        Q(status=DeliveryStatus.FAILED, next_attempt_at__lte=now)
        | Q(status=DeliveryStatus.RECEIVED, received_at__lte=now - STUCK_AFTER)
    )
    return list(due.order_by("received_at").values_list("pk", flat=True)[:500])


def header(headers: Mapping[str, str], name: str) -> str:
    """Header names are case-insensitive."""
    lowered = name.lower()
    for key, value in headers.items():
        if key.lower() == lowered:
            return value
    return ""
