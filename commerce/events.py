"""Domain events: the outbox rows are read here and handed to subscribers after the commit.

A subscriber is a plain function ``(event) -> None`` registered for an event name; it is known by
its stable name, ``module.qualname``.  Subscribers must be idempotent (they key their own writes
on the event): a crash between their work and the dispatch mark means they run again.

A poison event never stalls the pipeline:

- **Isolation.**  Each subscriber of an event runs in its own savepoint.  One that raises is
  rolled back alone and recorded as an ``EventDelivery`` (error, short traceback, next attempt);
  the event's other subscribers still run, the event is marked dispatched, and dispatch moves on.
  The normal path pays little for this: all subscribers of a unit (below) first run together,
  and only an event where one of them raised is run again subscriber by subscriber
  (so the healthy subscribers of a failing event run more than once -- possibly by another
  worker, which may take the event between the two tries -- and their work is kept once).
- **Retry, then dead letter.**  A failed delivery is retried (that subscriber only) by the beat's
  dispatch each minute (``event_deliveries_retry_due``) after ``EVENT_RETRY_BASE_SECONDS``
  doubled per attempt (capped at ``EVENT_RETRY_MAX_SECONDS``); after ``EVENT_MAX_ATTEMPTS``
  attempts in all it is dead-lettered and logged at ERROR.  With the defaults (8 attempts, 60 s):
  retries 1, 2, 4, 8, 16, 32 and 64 minutes apart, dead about two hours after the first failure.
  Operators retry or resolve deliveries in the admin.
- **Fair across shops.**  Each round takes at most ``EVENT_DISPATCH_PER_SHOP`` pending events of
  each shop (``ROW_NUMBER() OVER (PARTITION BY shop_id ORDER BY id)``) and interleaves the shops,
  so one shop's flood or poison cannot starve the others.  Rows are locked with
  ``SKIP LOCKED``: two workers never run the same event (or the same retry) at once.
- **Batches.**  A round claims up to ``limit`` events and dispatches them in one transaction
  and one commit, with one bulk ``UPDATE`` of ``dispatched_at`` (events without subscribers
  cost nothing more).  Each unit runs in a savepoint: an event, or, for an event name with batch
  subscribers, a run of one shop's consecutive events of that name.  A unit that raises is
  rolled back alone and its events run one by one, as above; a round with a single unit skips
  the savepoint and is run again with it if it raises.  Events that subscribers emit are taken
  by the next round.
- **Batch subscribers** (``subscribe_batch``) receive a run of one shop's events of one name in
  id order, so hot events (``order.paid``) are handled with a few bulk queries per run; the
  same function is called with a one-event list for an isolated run, a retry or a lone event.

Ordering: within one shop, events are first delivered in outbox (id) order.  A delivery that
failed does not hold back later events: the same subscriber receives the shop's (and the same
customer's) later events while the failed one waits for its retry, so a retried event may be
handled after events that came later.  Subscribers therefore recompute from the current rows or
key their writes on the event, never assume they saw the previous event.  Nothing is ordered
across shops.
"""

import functools
import logging
import traceback
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, QuerySet, Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from commerce.models import DeliveryState, DomainEvent, EventDelivery, Shop

logger = logging.getLogger(__name__)

Subscriber = Callable[[DomainEvent], None]
BatchFunction = Callable[[list[DomainEvent]], None]


class BatchSubscriber:
    """A subscriber that takes a run of events at once (``subscribe_batch``); called with one
    event, it passes a one-event list, so isolation and retries treat it as any subscriber."""

    def __init__(self, function: BatchFunction) -> None:
        self.function = function
        self.__module__ = function.__module__
        self.__qualname__ = function.__qualname__

    def __call__(self, event: DomainEvent) -> None:
        self.function([event])

    def __eq__(self, other: object) -> bool:
        return isinstance(other, BatchSubscriber) and other.function == self.function

    def __hash__(self) -> int:
        return hash(self.function)


_SUBSCRIBERS: dict[str, list[Subscriber]] = defaultdict(list)

ERROR_MESSAGE_CHARS = 2000
TRACEBACK_FRAMES = 8
TRACEBACK_CHARS = 4000


class SubscriberMissing(Exception):
    """A delivery names a subscriber that is no longer registered for its event."""


def subscribe(name: str, subscriber: Subscriber) -> None:
    if subscriber not in _SUBSCRIBERS[name]:
        _SUBSCRIBERS[name].append(subscriber)


def subscribe_batch(name: str, function: BatchFunction) -> None:
    """Register ``function(events)`` for ``name``: it receives one shop's consecutive events of
    that name (id order) in one call, so it can load what they share once and write in bulk.  It
    must give the same result as handling the events one by one in that order."""
    subscribe(name, BatchSubscriber(function))


def unsubscribe(name: str, subscriber: Subscriber) -> None:
    if subscriber in _SUBSCRIBERS[name]:
        _SUBSCRIBERS[name].remove(subscriber)


def unsubscribe_batch(name: str, function: BatchFunction) -> None:
    unsubscribe(name, BatchSubscriber(function))


def subscriber_name(subscriber: Subscriber) -> str:
    """The stable name a delivery is recorded under: ``module.qualname``."""
    return f"{subscriber.__module__}.{subscriber.__qualname__}"


def emit(*, shop: Shop, name: str, key: str, payload: dict, occurred_at: datetime | None = None) -> bool:
    """Write an event to the outbox (in the caller's transaction) unless ``key`` was used already.

    Other apps announce their own events this way too (``loyalty.tier_reached`` ...); the
    dispatch after commit is scheduled by the caller (``dispatch_soon``) or the beat job.
    """
    _, created = DomainEvent.objects.get_or_create(
        shop=shop,
        key=key,
        defaults={"name": name, "payload": payload, "occurred_at": occurred_at or timezone.now()},
    )
    return created


def emit_many(*, shop_id: int, events: list[tuple[str, str, dict, datetime]]) -> None:
    """``emit`` for many events of one shop in one statement: ``(name, key, payload, occurred_at)``
    each; a key used already is skipped (``ON CONFLICT DO NOTHING`` on the shop's unique key)."""
    if events:
        DomainEvent.objects.bulk_create(
            [DomainEvent(shop_id=shop_id, name=name, key=key, payload=payload, occurred_at=occurred_at)
             for name, key, payload, occurred_at in events],
            ignore_conflicts=True,
        )


#: Set on the (per-thread) connection while ``dispatch_pending`` runs.
_DISPATCHING = "comeback_outbox_dispatching"


def _publish() -> None:
    from commerce.tasks import dispatch_pending_events

    dispatch_pending_events.delay(retries=False)


def dispatch_soon() -> None:
    """Dispatch the outbox once the current transaction commits (retries wait for the beat).

    At most one publish per outermost transaction, however many events it writes: the publish
    is registered once and found again in the connection's pending ``on_commit`` callbacks.  One
    registered inside a savepoint that rolls back is dropped with it (Django's rule), so the next
    call registers it again.  Inside ``dispatch_pending`` nothing is published: its next rounds
    take what the subscribers emit (and it publishes once if it stops with work left)."""
    if getattr(connection, _DISPATCHING, False):
        return
    if connection.in_atomic_block and any(callback is _publish for _, callback, *_ in connection.run_on_commit):
        return
    transaction.on_commit(_publish)


def dispatch_pending(*, limit: int = 500, rounds: int = 5) -> int:
    """Dispatch waiting events; returns how many.  Failed deliveries are retried separately
    (``event_deliveries_retry_due``, by the beat), so this costs what it did before isolation.

    Events that subscribers emit along the way (a tier reached because of an order) are taken by
    the following rounds of the same call.  At most ``limit * rounds`` events per call.
    """
    budget = limit * rounds
    done = 0
    outer = getattr(connection, _DISPATCHING, False)
    setattr(connection, _DISPATCHING, True)
    try:
        while done < budget:
            batch = _dispatch_round(limit=min(limit, budget - done))
            done += batch
            if batch == 0:
                break
    finally:
        setattr(connection, _DISPATCHING, outer)
    if done >= budget:
        dispatch_soon()  # more may be waiting: another call picks it up
    return done


def _fair(queryset: QuerySet[Any], *, per_shop: int, limit: int) -> QuerySet[Any]:
    """Primary keys of ``queryset``: at most ``per_shop`` per shop, in id order within a shop,
    the shops interleaved (each shop's first, then each shop's second, ...)."""
    ranked = queryset.annotate(
        shop_rank=Window(RowNumber(), partition_by=[F("shop_id")], order_by=F("id").asc())
    ).filter(shop_rank__lte=per_shop)
    return ranked.order_by("shop_rank", "id").values_list("pk", flat=True)[:limit]


def _fair_pks(queryset: QuerySet[Any], *, limit: int) -> list[int]:
    return list(_fair(queryset, per_shop=settings.EVENT_DISPATCH_PER_SHOP, limit=limit))


@functools.lru_cache(maxsize=32)
def _pending_round_sql(vendor: str, per_shop: int, limit: int) -> tuple[str, tuple[Any, ...]]:
    """The round's query, compiled once: building a window query costs Django a few
    milliseconds of CPU, more than running it, and the dispatch after every commit runs it."""
    query = _fair(DomainEvent.objects.filter(dispatched_at__isnull=True), per_shop=per_shop, limit=limit).query
    sql, params = query.get_compiler(connection=connection).as_sql()
    return sql, tuple(params)


def _pending_round_pks(*, limit: int) -> list[int]:
    sql, params = _pending_round_sql(connection.vendor, settings.EVENT_DISPATCH_PER_SHOP, limit)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]


def _dispatch_round(*, limit: int) -> int:
    """One round: claim up to ``limit`` pending events (fair across shops, ``SKIP LOCKED``) and
    dispatch them in one transaction; returns how many were dispatched.

    Each unit with subscribers runs in its own savepoint (and, within a unit that raises, each
    event and then each subscriber isolated), so a healthy event runs once.  A round with a
    single such unit (a lone event, or one run) skips the savepoint: if it raises, the round is
    rolled back and run again with the savepoint."""
    pks = _pending_round_pks(limit=limit)
    if not pks:
        return 0
    try:
        return _round_run(pks, isolated=False)
    except Exception as error:  # noqa: BLE001 - the isolated run below records what failed
        logger.info("a dispatch round of %d events raised %s; running it unit by unit", len(pks),
                    type(error).__name__)
    try:
        return _round_run(pks, isolated=True)
    except Exception:  # noqa: BLE001 - even bookkeeping that fails must not stop the next call
        logger.exception("a dispatch round of %d events failed; they stay pending", len(pks))
        return 0


def _round_run(pks: list[int], *, isolated: bool) -> int:
    with transaction.atomic():
        claimed = _events_claim(pks)
        if not claimed:
            return 0
        units = [run for run in _runs(claimed) if _SUBSCRIBERS.get(run[0].name)]
        for run in units:
            if isolated or len(units) > 1:
                _run_dispatch(run)
            else:
                _run_subscribers(run)
        DomainEvent.objects.filter(pk__in=[event.pk for event in claimed]).update(dispatched_at=timezone.now())
        return len(claimed)


def _events_claim(pks: list[int]) -> list[DomainEvent]:
    """Lock the round's events that are still pending and not taken by another worker, in the
    fair order of ``pks``."""
    locked = {event.pk: event for event in DomainEvent.objects.select_for_update(skip_locked=True)
              .filter(pk__in=pks, dispatched_at__isnull=True).order_by("pk")}
    return [locked[pk] for pk in pks if pk in locked]


def _has_batch(name: str) -> bool:
    return any(isinstance(subscriber, BatchSubscriber) for subscriber in _SUBSCRIBERS.get(name, []))


def _runs(claimed: list[DomainEvent]) -> list[list[DomainEvent]]:
    """The round's units, in the fair order of their first event: an event alone, or, for a name
    with batch subscribers, a run of one shop's consecutive events of that name (a shop's
    events of another name in between end the run, so each shop's events keep their id order)."""
    runs: list[list[DomainEvent]] = []
    open_run: dict[int, list[DomainEvent]] = {}  # shop id -> its run still taking events
    for event in sorted(claimed, key=lambda event: (event.shop_id, event.pk)):
        current = open_run.get(event.shop_id)
        if current is not None and current[0].name == event.name and _has_batch(event.name):
            current.append(event)
            continue
        run = [event]
        runs.append(run)
        open_run[event.shop_id] = run
    position = {event.pk: index for index, event in enumerate(claimed)}
    return sorted(runs, key=lambda run: position[run[0].pk])


def _run_subscribers(run: list[DomainEvent]) -> None:
    for subscriber in list(_SUBSCRIBERS.get(run[0].name, [])):
        if isinstance(subscriber, BatchSubscriber):
            subscriber.function(run)
        else:
            for event in run:
                subscriber(event)


def _run_dispatch(run: list[DomainEvent]) -> None:
    """All subscribers of a run as one unit in a savepoint; if one raised, the unit is rolled
    back and each event is run again alone, then with each subscriber isolated."""
    if not _SUBSCRIBERS.get(run[0].name):
        return
    try:
        with transaction.atomic():
            _run_subscribers(run)
        return
    except Exception as error:  # noqa: BLE001 - whatever a subscriber raised, it is recorded below
        logger.info("events %s: a subscriber raised %s; running them one by one",
                    ",".join(str(event.pk) for event in run), type(error).__name__)
    for event in run:
        if len(run) > 1 and _event_unit(event):
            continue
        _event_isolated(event)


def _event_unit(event: DomainEvent) -> bool:
    """Every subscriber of one event in one savepoint; ``False`` if one raised (rolled back)."""
    try:
        with transaction.atomic():
            for subscriber in list(_SUBSCRIBERS.get(event.name, [])):
                subscriber(event)
        return True
    except Exception as error:  # noqa: BLE001 - the isolated run records it
        logger.info("event %s: a subscriber raised %s; running its subscribers one by one", event.pk,
                    type(error).__name__)
        return False


def _event_isolated(event: DomainEvent) -> None:
    for subscriber in list(_SUBSCRIBERS.get(event.name, [])):
        try:
            with transaction.atomic():
                subscriber(event)
        except Exception as error:  # noqa: BLE001 - isolation: any failure is recorded, not raised
            _first_failure_record(event=event, subscriber=subscriber_name(subscriber), error=error)


def _first_failure_record(*, event: DomainEvent, subscriber: str, error: Exception) -> None:
    delivery = EventDelivery.objects.filter(shop_id=event.shop_id, event=event, subscriber=subscriber).first()
    if delivery is None:
        delivery = EventDelivery(shop_id=event.shop_id, event=event, subscriber=subscriber)
    delivery.event = event
    _failure_note(delivery=delivery, error=error)
    delivery.save()


def _storable(text: str) -> str:
    """PostgreSQL text cannot hold NUL: an error quoting a value with one must still be recorded."""
    return text.replace("\x00", "\\x00")


def _retry_delay(attempts: int) -> timedelta:
    seconds = settings.EVENT_RETRY_BASE_SECONDS * 2 ** max(attempts - 1, 0)
    return timedelta(seconds=min(seconds, settings.EVENT_RETRY_MAX_SECONDS))


def _failure_note(*, delivery: EventDelivery, error: BaseException) -> None:
    """Count the attempt, keep the error, and schedule the next attempt or dead-letter it."""
    now = timezone.now()
    delivery.attempts += 1
    delivery.last_attempt_at = now
    delivery.error_class = f"{type(error).__module__}.{type(error).__qualname__}"[:255]
    delivery.error_message = _storable(str(error))[:ERROR_MESSAGE_CHARS]
    frames = traceback.format_tb(error.__traceback__)[-TRACEBACK_FRAMES:]
    delivery.error_traceback = _storable("".join(frames))[-TRACEBACK_CHARS:]
    delivery.resolved_at = None
    event = delivery.event
    if delivery.attempts >= settings.EVENT_MAX_ATTEMPTS:
        delivery.state = DeliveryState.DEAD
        delivery.next_attempt_at = None
        delivery.dead_at = now
        logger.error(
            "event %s (%s) of shop %s dead-lettered for %s after %d attempts: %s: %s",
            event.key, event.name, event.shop_id, delivery.subscriber, delivery.attempts,
            delivery.error_class, delivery.error_message,
        )
    else:
        delivery.state = DeliveryState.RETRYING
        delivery.next_attempt_at = now + _retry_delay(delivery.attempts)
        delivery.dead_at = None
        logger.warning(
            "event %s (%s) of shop %s failed in %s (attempt %d, next at %s): %s: %s",
            event.key, event.name, event.shop_id, delivery.subscriber, delivery.attempts,
            delivery.next_attempt_at.isoformat(), delivery.error_class, delivery.error_message,
        )


def _subscriber_find(*, event_name: str, name: str) -> Subscriber | None:
    for subscriber in _SUBSCRIBERS.get(event_name, []):
        if subscriber_name(subscriber) == name:
            return subscriber
    return None


def event_deliveries_retry_due(*, limit: int = 500) -> int:
    """Retry the failed deliveries whose time has come, fairly across shops; each runs only its
    own subscriber, in a savepoint.  Returns how many succeeded."""
    due = EventDelivery.objects.filter(state=DeliveryState.RETRYING, next_attempt_at__lte=timezone.now())
    succeeded = 0
    for pk in _fair_pks(due, limit=limit):
        try:
            if _delivery_retry(pk):
                succeeded += 1
        except Exception:  # noqa: BLE001 - as in dispatch: one broken row never stops the rest
            logger.exception("event delivery %s could not be retried", pk)
    return succeeded


def _delivery_retry(pk: int) -> bool:
    with transaction.atomic():
        delivery = (
            EventDelivery.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("event")
            .filter(pk=pk, state=DeliveryState.RETRYING, next_attempt_at__lte=timezone.now())
            .first()
        )
        if delivery is None:
            return False
        subscriber = _subscriber_find(event_name=delivery.event.name, name=delivery.subscriber)
        try:
            with transaction.atomic():
                if subscriber is None:
                    raise SubscriberMissing(f"{delivery.subscriber} is not subscribed to {delivery.event.name}")
                subscriber(delivery.event)
        except Exception as error:  # noqa: BLE001 - recorded, retried or dead-lettered
            _failure_note(delivery=delivery, error=error)
            delivery.save()
            return False
        now = timezone.now()
        delivery.attempts += 1
        delivery.last_attempt_at = now
        delivery.state = DeliveryState.SUCCEEDED
        delivery.next_attempt_at = None
        delivery.resolved_at = now
        delivery.save()
        logger.info("event %s of shop %s delivered to %s on attempt %d",
                    delivery.event.key, delivery.shop_id, delivery.subscriber, delivery.attempts)
        return True


# --- operators' actions (the admin) ------------------------------------------------------------

def event_deliveries_retry_now(*, deliveries: QuerySet[EventDelivery]) -> int:
    """Retry now: failing, dead and ignored deliveries get a fresh set of attempts and are run
    once the current transaction commits.  Deliveries that succeeded are left alone."""
    now = timezone.now()
    count = deliveries.exclude(state=DeliveryState.SUCCEEDED).update(
        state=DeliveryState.RETRYING, attempts=0, next_attempt_at=now, dead_at=None, resolved_at=None,
        updated_at=now,
    )
    if count:
        from commerce.tasks import dispatch_pending_events

        transaction.on_commit(dispatch_pending_events.delay)  # with the retries that are due
    return count


def event_deliveries_resolve(*, deliveries: QuerySet[EventDelivery], note: str) -> int:
    """Resolved by an operator (fixed by hand, or not worth running): no further attempts."""
    now = timezone.now()
    return deliveries.filter(state__in=[DeliveryState.RETRYING, DeliveryState.DEAD]).update(
        state=DeliveryState.IGNORED, next_attempt_at=None, resolved_at=now, resolution_note=note, updated_at=now,
    )


def event_deliveries_prune(*, older_than: timedelta, batch_size: int = 1000) -> int:
    """Delete deliveries resolved (succeeded or ignored) more than ``older_than`` ago: their error
    text may quote shoppers' data.  Retrying and dead ones stay for operators."""
    old = EventDelivery.objects.filter(
        state__in=[DeliveryState.SUCCEEDED, DeliveryState.IGNORED], resolved_at__lt=timezone.now() - older_than
    )
    deleted = 0
    while pks := list(old.order_by().values_list("pk", flat=True)[:batch_size]):
        deleted += EventDelivery.objects.filter(pk__in=pks).delete()[0]
    return deleted
