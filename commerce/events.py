"""Domain events: the outbox rows are read here and handed to subscribers after the commit.

A subscriber is a plain function ``(event) -> None`` registered for an event name.  Dispatch
marks the row done only after every subscriber ran, so a crash means a retry; subscribers must
therefore be idempotent (they key their own writes on the event).
"""

from collections import defaultdict
from collections.abc import Callable
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from commerce.models import DomainEvent, Shop

Subscriber = Callable[[DomainEvent], None]
_SUBSCRIBERS: dict[str, list[Subscriber]] = defaultdict(list)


def subscribe(name: str, subscriber: Subscriber) -> None:
    if subscriber not in _SUBSCRIBERS[name]:
        _SUBSCRIBERS[name].append(subscriber)


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


def dispatch_soon() -> None:
    """Dispatch the outbox once the current transaction commits."""
    from commerce.tasks import dispatch_pending_events

    transaction.on_commit(dispatch_pending_events.delay)


def dispatch_pending(*, limit: int = 500, rounds: int = 5) -> int:
    """Dispatch waiting events; events that subscribers emit along the way (a tier reached
    because of an order) are dispatched in the following rounds of the same call."""
    done = 0
    for _ in range(rounds):
        batch = _dispatch_round(limit=limit)
        done += batch
        if batch == 0:
            break
    return done


def _dispatch_round(*, limit: int) -> int:
    done = 0
    pending = DomainEvent.objects.filter(dispatched_at__isnull=True).order_by("pk").values_list("pk", flat=True)
    for pk in list(pending[:limit]):
        with transaction.atomic():
            event = DomainEvent.objects.select_for_update(skip_locked=True).filter(
                pk=pk, dispatched_at__isnull=True
            ).first()
            if event is None:
                continue
            for subscriber in _SUBSCRIBERS.get(event.name, []):
                subscriber(event)
            event.dispatched_at = timezone.now()
            event.save(update_fields=["dispatched_at"])
            done += 1
    return done
