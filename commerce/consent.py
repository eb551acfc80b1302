"""One consent ledger: every change of a shopper's marketing consent (email, SMS), with when it
happened and where it came from, appended to ``ConsentChange``; the current state is kept beside
it on the customer (``Customer.email_consent`` / ``sms_consent``), which the campaigns read.

The newest change wins, by when it happened.  Our own changes (an unsubscribe link, a STOP
reply, a bounce) happen now, so they win at once and are written back to the store.  A
platform change (a webhook, a sync) is taken when the platform's ``consent_updated_at`` is
newer than our latest change for that channel: a later opt-in in the store re-subscribes; an
older state (a late delivery, the echo of our own write-back) changes nothing.
"""

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from commerce.models import (
    ConsentChange,
    ConsentSource,
    Customer,
    MarketingChannel,
    Shop,
)
from commerce.records import CustomerRecord

# How long an unwritten change is retried by the sweep (a shopper who never had an address in
# the store, or a shop that left, would otherwise be tried forever).
WRITE_BACK_DAYS = 7
STATE_FIELDS = {MarketingChannel.EMAIL: "email_consent", MarketingChannel.SMS: "sms_consent"}
RECORD_TIMES = {MarketingChannel.EMAIL: "email_consent_updated_at", MarketingChannel.SMS: "sms_consent_updated_at"}


def consent_latest(*, shop: Shop | int, customer_ids: Sequence[int]) -> dict[tuple[int, str], ConsentChange]:
    """The newest change per (customer, channel) among ``customer_ids``: one query."""
    latest: dict[tuple[int, str], ConsentChange] = {}
    if not customer_ids:
        return latest
    changes = (ConsentChange.objects.filter(shop=shop, customer_id__in=list(customer_ids))
               .order_by("customer_id", "channel", "-at", "-pk"))
    for change in changes:
        latest.setdefault((change.customer_id, change.channel), change)
    return latest


def consent_state(*, customer: Customer, channel: str) -> str:
    return str(getattr(customer, STATE_FIELDS[MarketingChannel(channel)]))


def consent_change_record(*, customer: Customer, channel: str, state: str, source: str,
                          at: datetime | None = None, detail: str = "") -> ConsentChange | None:
    """Append a change and, when it is the newest for the channel, make it the customer's state.
    Returns None (and writes nothing) when the shopper is in that state already: a second STOP,
    a link clicked twice."""
    channel = MarketingChannel(channel)
    at = at or timezone.now()
    field = STATE_FIELDS[channel]
    with transaction.atomic():
        locked = Customer.objects.select_for_update().get(pk=customer.pk)
        if getattr(locked, field) == state:
            return None
        latest = consent_latest(shop=locked.shop_id, customer_ids=[locked.pk]).get((locked.pk, channel))
        change = ConsentChange.objects.create(shop_id=locked.shop_id, customer=locked, channel=channel, state=state,
                                              source=source, at=at, detail=detail[:200])
        if latest is None or at >= latest.at:
            Customer.objects.filter(pk=locked.pk).update(**{field: state, "updated_at": timezone.now()})
            setattr(customer, field, state)
    return change


def consent_from_platform(*, shop: Shop, records: Sequence[CustomerRecord]) -> list[CustomerRecord]:
    """Before the platform's customers are written: their consent as it should be stored.

    Per existing customer and channel: a platform state that differs from ours and is newer than
    our latest change is appended to the ledger (source ``platform``) and taken; when our latest
    change is newer (or the platform does not say when its state was set), ours is kept.  A new
    customer's first state is the mirror's starting point, not a change.  Set-based: two queries
    and one insert for the whole batch."""
    existing = {platform_id: (pk, email, sms, updated_at) for platform_id, pk, email, sms, updated_at in
                Customer.objects.filter(shop=shop, platform_id__in=[record.platform_id for record in records])
                .values_list("platform_id", "pk", "email_consent", "sms_consent", "platform_updated_at")}
    latest = consent_latest(shop=shop, customer_ids=[row[0] for row in existing.values()])
    now = timezone.now()
    taken: list[ConsentChange] = []
    out: list[CustomerRecord] = []
    for record in records:
        row = existing.get(record.platform_id)
        if row is None or (row[3] and record.updated_at and record.updated_at < row[3]):
            out.append(record)  # new to the mirror, or an out-of-date delivery the upsert skips anyway
            continue
        pk, current = row[0], {MarketingChannel.EMAIL: row[1], MarketingChannel.SMS: row[2]}
        kept: dict[str, str] = {}
        for channel, field in STATE_FIELDS.items():
            platform_state = getattr(record, field)
            platform_at = getattr(record, RECORD_TIMES[channel])
            ours = latest.get((pk, channel))
            if ours is not None and (platform_at is None or platform_at <= ours.at):
                kept[field] = ours.state  # our change is the newer one
                continue
            if platform_state != current[channel]:
                taken.append(ConsentChange(shop=shop, customer_id=pk, channel=channel, state=platform_state,
                                           source=ConsentSource.PLATFORM, at=platform_at or record.updated_at or now,
                                           platform_synced_at=now))
        out.append(replace(record, **kept) if kept else record)  # type: ignore[arg-type]
    ConsentChange.objects.bulk_create(taken)
    return out


def consent_change_pending(*, change_id: int) -> ConsentChange | None:
    """The change to write back to the store, if it still needs it: not written yet, ours (not
    the platform's) and still the newest for its channel (an older one would undo a newer)."""
    change = ConsentChange.objects.select_related("customer__shop").filter(pk=change_id).first()
    if change is None or change.platform_synced_at is not None or change.source == ConsentSource.PLATFORM:
        return None
    newest = consent_latest(shop=change.shop_id, customer_ids=[change.customer_id]).get(
        (change.customer_id, change.channel))
    return change if newest is not None and newest.pk == change.pk else None


def consent_change_synced(*, change: ConsentChange) -> None:
    ConsentChange.objects.filter(pk=change.pk, platform_synced_at__isnull=True).update(
        platform_synced_at=timezone.now())



def consent_changes_unsynced(*, before: datetime, limit: int = 500) -> list[int]:
    """Our changes not yet written to the store, made before ``before`` and within
    ``WRITE_BACK_DAYS`` (their task was lost with the broker, or ran out of retries)."""
    return list(ConsentChange.objects.filter(platform_synced_at__isnull=True, at__lt=before,
                                             at__gte=before - timedelta(days=WRITE_BACK_DAYS))
                .exclude(source=ConsentSource.PLATFORM).order_by("at", "pk").values_list("pk", flat=True)[:limit])
