"""The webhook inbox: verify -> store raw (unique per delivery) -> 200 -> drained in batches.

The request path does no business work: it checks the signature and writes one row in one
statement (committed before the 200).  It does not publish a task per webhook: after the commit it
wakes the drainers (``inbox_waker``: at most one ``drain_inbox`` message per web process every few
tens of milliseconds, whatever the load).  A drainer claims up to ``INBOX_DRAIN_BATCH`` waiting rows
with ``FOR UPDATE SKIP LOCKED`` and processes them in one transaction, each delivery in its own
savepoint, so a slow database or a bad payload never makes the platform see a failure (which would
make it retry, and eventually remove the subscription).  A delivery that fails is kept with its
reason and retried with backoff; one bad payload fails alone, never its batch.
"""

import functools
import json
import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from celery import current_app
from django.conf import settings
from django.db import DataError, OperationalError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from commerce.models import Shop
from integrations import inbox_waker
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

    One ``INSERT ... ON CONFLICT DO NOTHING`` in autocommit mode is the shop-id lookup (a
    sub-select), the duplicate check (the unique constraint) and the write: one statement for a new
    delivery, two for a redelivery (its pk read back).  Once the row is committed the delivery is
    safe; the drainers are woken after the commit (or, with Celery eager, it is processed right
    away).  If the broker is down the wake-up is lost (and logged) and the beat's drain picks the
    row up later -- the platform still gets its 200, never a retry storm.
    """
    delivery = WebhookDelivery(
        platform=inbound.platform,
        delivery_id=inbound.delivery_id,
        event_id=inbound.event_id,
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
    transaction.on_commit(functools.partial(_deliveries_waiting, [delivery.pk]))
    return ReceiveResult(delivery=delivery, duplicate=False)


def _insert_unless_present(delivery: WebhookDelivery) -> int | None:
    """``INSERT ... VALUES (..., (SELECT id FROM shop WHERE platform = .. AND domain = ..), ...)
    ON CONFLICT (platform, delivery_id) DO NOTHING RETURNING id``: the new id, or ``None`` for a
    redelivery.  Unlike catching an IntegrityError this leaves no error (nor the body) in the
    database log and no dead row behind, which matters in a redelivery storm.  The shop id comes
    from the sub-select, so it is never stale and costs no round trip of its own.  Run outside a
    transaction block it commits on its own: no BEGIN/COMMIT round trips."""
    meta = WebhookDelivery._meta
    quote = connection.ops.quote_name
    shop_field = meta.get_field("shop")
    shop_lookup = (
        f"(SELECT {quote(str(Shop._meta.pk.column))} FROM {quote(Shop._meta.db_table)} "
        f"WHERE {quote('platform')} = %s AND {quote('domain')} = %s)"
    )
    columns, placeholders, values = [], [], []
    for field in meta.concrete_fields:
        if field.primary_key:
            continue
        columns.append(quote(str(field.column)))
        if field is shop_field:
            placeholders.append(shop_lookup)
            values += [delivery.platform, delivery.shop_domain]
        else:
            placeholders.append("%s")
            values.append(field.get_db_prep_save(field.pre_save(delivery, True), connection))
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(columns)}) VALUES ({', '.join(placeholders)}) "
        f"ON CONFLICT ({quote('platform')}, {quote('delivery_id')}) DO NOTHING RETURNING {quote(str(meta.pk.column))}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        row = cursor.fetchone()
    return row[0] if row else None


def _deliveries_waiting(delivery_pks: list[int]) -> None:
    """After the commit that made these deliveries due: with Celery eager (tests, the demo) process
    them now, one by one, as a task would; otherwise wake the drainers (no publish per delivery)."""
    if current_app.conf.task_always_eager:
        for pk in delivery_pks:
            _enqueue(pk)
    else:
        inbox_waker.wake()


def _enqueue(delivery_pk: int) -> None:
    from integrations.tasks import process_webhook_delivery  # the tasks module imports this one

    try:
        process_webhook_delivery.delay(delivery_pk)
    except Exception as error:  # broker unreachable: the row waits in the inbox for the sweep
        logger.warning("could not enqueue webhook delivery %s (%s); the sweep will retry it", delivery_pk, error)


def _retry_delay(attempts: int) -> timedelta:
    """The first retry comes soon (``INBOX_FIRST_RETRY_SECONDS``): the usual failure is a refund
    that overtook its order, which a neighbouring batch applies a moment later.  Then 60 s,
    doubling, as before (about an hour in all with 8 attempts)."""
    if attempts <= 1:
        return timedelta(seconds=settings.INBOX_FIRST_RETRY_SECONDS)
    return timedelta(seconds=min(30 * 2 ** (attempts - 1), 6 * 3600))


def delivery_process(*, delivery_pk: int) -> str:
    """Process one inbox row at most once in effect (a batch of one); never raises for a bad
    payload.  Waits for the row's lock, so a delivery a drainer holds is then seen as done."""
    with transaction.atomic():
        delivery = WebhookDelivery.objects.select_for_update().filter(pk=delivery_pk).first()
        if delivery is None:
            return "missing"
        if delivery.status in (DeliveryStatus.PROCESSED, DeliveryStatus.IGNORED, DeliveryStatus.DEAD):
            return f"already {delivery.status}"
        return _deliveries_apply([delivery])[0]


@dataclass(frozen=True)
class DrainResult:
    batches: int
    deliveries: int
    more: bool  # the time budget ran out with rows still waiting


def inbox_drain(*, batch_size: int, seconds: float, after_batch: Callable[[], object] | None = None) -> DrainResult:
    """Process waiting deliveries batch after batch until fewer than ``batch_size`` are left to
    claim, or ``seconds`` have passed (then ``more`` says a fresh drain should carry on).  Rows
    committed after the last claim have their own wake-up, published after their commit.
    ``after_batch`` runs after each committed batch (the worker dispatches the batch's events
    there, so a backlog in the inbox does not hold back the points of what was already taken)."""
    deadline = time.monotonic() + seconds
    batches = deliveries = 0
    while True:
        claimed = _batch_with_retries(batch_size=batch_size)
        batches += 1 if claimed else 0
        deliveries += claimed
        if claimed and after_batch is not None:
            after_batch()
        if claimed < batch_size:
            return DrainResult(batches=batches, deliveries=deliveries, more=False)
        if time.monotonic() >= deadline:
            return DrainResult(batches=batches, deliveries=deliveries, more=True)


# deadlock_detected, serialization_failure: two batches that touch the same rows (a customer with
# orders in both) in a different order.  The whole batch is rolled back and simply run again.
_TRANSIENT_SQLSTATES = {"40P01", "40001"}
_BATCH_TRIES = 4


def _transient(error: BaseException) -> bool:
    cause = error.__cause__
    return isinstance(error, OperationalError) and (
        getattr(cause, "sqlstate", None) or getattr(cause, "pgcode", None)) in _TRANSIENT_SQLSTATES


def _batch_with_retries(*, batch_size: int) -> int:
    for attempt in range(1, _BATCH_TRIES + 1):
        try:
            return inbox_drain_batch(batch_size=batch_size)
        except OperationalError as error:
            if not _transient(error) or attempt == _BATCH_TRIES:
                raise
            logger.info("inbox batch rolled back (%s); running it again", error)
            time.sleep(random.uniform(0.01, 0.05 * attempt))
    raise AssertionError("unreachable")


def inbox_drain_batch(*, batch_size: int) -> int:
    """Claim up to ``batch_size`` waiting deliveries with ``FOR UPDATE SKIP LOCKED`` (two drainers
    never take the same row), process them in one transaction and write their statuses in bulk.
    Returns how many.  New deliveries go first, in arrival (id) order, then failed ones due for a
    retry: a refund that failed because its order was not known yet finds it if the order came
    in this batch."""
    with transaction.atomic():
        claim = WebhookDelivery.objects.select_for_update(skip_locked=True).order_by("pk")
        batch = list(claim.filter(status=DeliveryStatus.RECEIVED)[:batch_size])
        if room := batch_size - len(batch):
            batch += claim.filter(status=DeliveryStatus.FAILED, next_attempt_at__lte=timezone.now())[:room]
        if not batch:
            return 0
        _deliveries_apply(batch)
    return len(batch)


EventKey = tuple[str, str, str, str]


def _event_key(delivery: WebhookDelivery) -> EventKey:
    return (delivery.platform, delivery.shop_domain, delivery.event_id, delivery.topic)


def _deliveries_apply(batch: list[WebhookDelivery]) -> list[str]:
    """Apply locked deliveries in order, then write every status with (at most) two statements.
    Runs inside the caller's transaction.  A run of one shop's deliveries that its platform can
    apply together (``webhook_group``: orders, one set-based upsert) goes in one savepoint, at
    the place of its first delivery; if it fails in any way it is rolled back and its deliveries
    are applied one by one, each in its own savepoint, so a bad one still fails alone."""
    seen = _events_seen(batch)
    groups = _groups(batch, seen=seen)
    outcomes: dict[int, str] = {}
    for delivery in batch:
        if delivery.pk in outcomes:
            continue
        group = groups.get(delivery.pk)
        if group is not None and (applied := _group_apply(group, seen=seen)) is not None:
            outcomes.update(applied)
            continue
        outcomes[delivery.pk] = _delivery_apply(delivery, seen=seen)
    _statuses_write(batch, now=timezone.now())
    return [outcomes[delivery.pk] for delivery in batch]


def _groups(batch: list[WebhookDelivery], *, seen: dict[EventKey, int]) -> dict[int, list[WebhookDelivery]]:
    """Runs of two or more deliveries of one shop in one platform group, by the pk of the first.
    A delivery of that shop outside the group ends its run, so the shop's order is kept; a copy of
    an event (seen before, or twice in this batch) is left to the one-by-one path, which skips it."""
    copies: dict[EventKey, int] = {}
    for delivery in batch:
        if delivery.event_id:
            copies[_event_key(delivery)] = copies.get(_event_key(delivery), 0) + 1
    runs: dict[tuple[str, str], list[WebhookDelivery]] = {}
    found: list[list[WebhookDelivery]] = []
    for delivery in batch:
        shop = (delivery.platform, delivery.shop_domain)
        copy = bool(delivery.event_id) and (_event_key(delivery) in seen or copies[_event_key(delivery)] > 1)
        name = None if copy else _group_name(delivery)
        run = runs.get(shop)
        if run is not None and (name is None or _group_name(run[0]) != name):
            found.append(runs.pop(shop))
            run = None
        if name is not None:
            runs.setdefault(shop, []).append(delivery)
    found += runs.values()
    return {run[0].pk: run for run in found if len(run) > 1}


def _group_name(delivery: WebhookDelivery) -> str | None:
    from integrations.platforms import adapter_for  # the registry imports this module

    try:
        return adapter_for(delivery.platform).webhook_group(delivery)
    except LookupError:
        return None


def _group_apply(group: list[WebhookDelivery], *, seen: dict[EventKey, int]) -> dict[int, str] | None:
    """The outcomes of a group applied together, or ``None`` if it was rolled back (then each
    is applied on its own)."""
    from integrations.platforms import adapter_for  # the registry imports this module

    try:
        payloads = [json.loads(bytes(delivery.body).decode("utf-8")) for delivery in group]
        with transaction.atomic():
            outcomes = adapter_for(group[0].platform).webhook_handle_group(list(zip(group, payloads, strict=True)))
        if len(outcomes) != len(group):
            raise ValueError(f"{len(outcomes)} outcomes for {len(group)} deliveries")
    except Exception as error:
        if _transient(error):
            raise
        logger.info("a group of %s deliveries is applied one by one (%s: %s)", len(group), type(error).__name__,
                    error)
        return None
    for delivery in group:
        delivery.attempts += 1
        delivery.status = DeliveryStatus.PROCESSED
        delivery.error = ""
        delivery.next_attempt_at = None
        if delivery.event_id:
            seen.setdefault(_event_key(delivery), delivery.pk)
    return {delivery.pk: outcome for delivery, outcome in zip(group, outcomes, strict=True)}


def _delivery_apply(delivery: WebhookDelivery, *, seen: dict[EventKey, int]) -> str:
    """One delivery: sets its status, attempts, error and retry time (written by the caller)."""
    delivery.attempts += 1
    try:
        if delivery.event_id and (first := seen.get(_event_key(delivery))) is not None:
            raise DeliveryIgnored(f"the same event as delivery {first}")
        with transaction.atomic():
            payload = json.loads(bytes(delivery.body).decode("utf-8"))
            outcome = _handler(delivery.platform)(delivery, payload)
        delivery.status = DeliveryStatus.PROCESSED
        delivery.error = ""
        delivery.next_attempt_at = None
    except DeliveryIgnored as reason:
        outcome = f"ignored: {reason}"
        delivery.status = DeliveryStatus.IGNORED
        delivery.error = str(reason)
    except RecursionError:
        # A signed body nested thousands of levels deep: it will never parse, so it is kept for
        # inspection and dead at once instead of being retried (or swept) forever.
        outcome = "failed: payload nested too deeply"
        delivery.error = "payload nested too deeply"
        delivery.status = DeliveryStatus.DEAD
        delivery.next_attempt_at = None
        logger.warning("webhook delivery %s (%s) is nested too deeply", delivery.pk, delivery.topic)
    except (ValueError, KeyError, TypeError, LookupError, PayloadError, DataError) as error:
        # ValueError covers JSONDecodeError and UnicodeDecodeError: malformed payloads.  DataError:
        # a value that does not fit its column (a list where a status goes, a NUL); the savepoint
        # has rolled it back, so the delivery is recorded as failed, not raised.
        outcome = _delivery_failed(delivery, error)
        logger.warning("webhook delivery %s (%s) failed: %s", delivery.pk, delivery.topic, error)
    except Exception as error:
        # Anything else (a bug, a lost race): rolled back to the savepoint, so it fails alone and is
        # retried with backoff like a bad payload instead of failing its whole batch again and again.
        # A deadlock is the batch's, not the delivery's: the whole batch runs again.
        if _transient(error):
            raise
        outcome = _delivery_failed(delivery, error)
        logger.exception("webhook delivery %s (%s) failed unexpectedly", delivery.pk, delivery.topic)
    if delivery.event_id and delivery.status in (DeliveryStatus.PROCESSED, DeliveryStatus.IGNORED):
        seen.setdefault(_event_key(delivery), delivery.pk)
    return outcome


def _delivery_failed(delivery: WebhookDelivery, error: Exception) -> str:
    delivery.error = f"{type(error).__name__}: {error}"
    if delivery.attempts >= settings.WEBHOOK_MAX_ATTEMPTS:
        delivery.status = DeliveryStatus.DEAD
        delivery.next_attempt_at = None
    else:
        delivery.status = DeliveryStatus.FAILED
        delivery.next_attempt_at = timezone.now() + _retry_delay(delivery.attempts)
    return f"failed: {error}"


def _events_seen(batch: list[WebhookDelivery]) -> dict[EventKey, int]:
    """One event can reach us under two delivery ids -- Shopify sends it once per subscription,
    and a topic may be subscribed both app-wide (``shopify.app.toml``) and per shop -- with the
    same ``X-Shopify-Event-Id``.  The handlers are idempotent, but the second copy is skipped
    rather than applied again.  One query per batch: each event of the batch already processed
    or ignored, with its first delivery (copies within the batch are added as they are done)."""
    keyed = [delivery for delivery in batch if delivery.event_id]
    if not keyed:
        return {}
    wanted = {_event_key(delivery) for delivery in keyed}
    done = (
        WebhookDelivery.objects.filter(
            shop_domain__in={delivery.shop_domain for delivery in keyed},
            event_id__in={delivery.event_id for delivery in keyed},
            status__in=[DeliveryStatus.PROCESSED, DeliveryStatus.IGNORED])
        .exclude(pk__in=[delivery.pk for delivery in batch])
        .order_by("pk").values_list("platform", "shop_domain", "event_id", "topic", "pk")
    )
    seen: dict[EventKey, int] = {}
    for platform, shop_domain, event_id, topic, pk in done:
        if (platform, shop_domain, event_id, topic) in wanted:
            seen.setdefault((platform, shop_domain, event_id, topic), pk)
    return seen


def _statuses_write(batch: list[WebhookDelivery], *, now: datetime) -> None:
    """The processed deliveries in one UPDATE; the rest (ignored, failed, dead) in one more."""
    for delivery in batch:
        if delivery.status in (DeliveryStatus.PROCESSED, DeliveryStatus.IGNORED):
            delivery.processed_at = now
    processed = [delivery.pk for delivery in batch if delivery.status == DeliveryStatus.PROCESSED]
    if processed:
        WebhookDelivery.objects.filter(pk__in=processed).update(
            status=DeliveryStatus.PROCESSED, error="", next_attempt_at=None, processed_at=now,
            attempts=F("attempts") + 1)
    others = [delivery for delivery in batch if delivery.status != DeliveryStatus.PROCESSED]
    if others:
        WebhookDelivery.objects.bulk_update(
            others, ["status", "attempts", "error", "next_attempt_at", "processed_at"])


def _handler(platform: str) -> Callable[[WebhookDelivery, Any], str]:
    from integrations.platforms import adapter_for  # the registry imports this module

    try:
        return adapter_for(platform).webhook_handle
    except LookupError as error:
        raise DeliveryIgnored(f"no handler for platform {platform}") from error


def deliveries_retry(*, deliveries: Any) -> int:
    """Put failed deliveries back in the queue now (the admin's retry action)."""
    pks = list(
        deliveries.filter(status__in=[DeliveryStatus.FAILED, DeliveryStatus.DEAD]).values_list("pk", flat=True)
    )
    WebhookDelivery.objects.filter(pk__in=pks).update(
        status=DeliveryStatus.FAILED, next_attempt_at=timezone.now(), attempts=0
    )
    if pks:
        transaction.on_commit(functools.partial(_deliveries_waiting, pks))
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
