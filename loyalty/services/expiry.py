"""Points expiry, in the program's mode, with a warning event before it happens.

- ``inactivity``: everything spendable expires N months after the last order (LoyaltyLion style).
- ``batch``: each earned batch expires N days after it became spendable; spending and expiry
  consume the oldest batches first, and a reversal takes from the batch it reverses.
Expiry entries are keyed on what expires, so running the job twice expires nothing twice.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from dateutil.relativedelta import relativedelta
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from commerce import events
from commerce.models import Shop
from loyalty.lock_objects import account_lock
from loyalty.models import Account, EntryKind, EntrySource, ExpiryMode, LedgerEntry, Program
from loyalty.selectors import account_orders
from loyalty.services.ledger import account_balance, entry_write
from loyalty.services.program import program_for


@dataclass
class Batch:
    entry_id: int
    points: int
    available_at: datetime
    source_id: str


def _take(batches: list[Batch], owed: int) -> int:
    for batch in batches:
        if owed <= 0:
            break
        taken = min(batch.points, owed)
        batch.points -= taken
        owed -= taken
    return owed


def open_batches(*, account: Account, at: datetime) -> list[Batch]:
    """What is left of each positive, spendable entry after the negatives consumed it: a
    reversal first from the batch of the order it reverses, everything else oldest first (a
    negative balance is repaid by later batches)."""
    entries = list(LedgerEntry.objects.filter(account=account, available_at__lte=at).order_by("available_at", "pk"))
    batches = [Batch(e.pk, e.points, e.available_at, e.source_id) for e in entries if e.points > 0]
    for entry in entries:
        if entry.points >= 0:
            continue
        owed = -entry.points
        if entry.kind == EntryKind.REVERSE:
            owed = _take([b for b in batches if b.source_id == entry.source_id], owed)
        _take(batches, owed)
    return [batch for batch in batches if batch.points > 0]


def last_activity(*, account: Account) -> datetime:
    return account_orders(account=account).aggregate(last=Max("processed_at"))["last"] or account.created_at


def _warn(*, account: Account, key: str, points: int, expires_at: datetime) -> None:
    events.emit(shop=account.shop, name="loyalty.points_expiring", key=key,
                payload={"account_id": account.pk, "points": points, "expires_at": expires_at.isoformat()})


def account_expire(*, account: Account, program: Program, at: datetime | None = None) -> int:
    """Expire (and warn about) one account's points; returns the points expired now."""
    at = at or timezone.now()
    if program.expiry_mode == ExpiryMode.NONE:
        return 0
    warn_before = timedelta(days=program.expiry_warning_days)
    expired = 0
    with transaction.atomic():
        account = account_lock(account_id=account.pk)
        if program.expiry_mode == ExpiryMode.INACTIVITY:
            last = last_activity(account=account)
            expires_at = last + relativedelta(months=program.expiry_months)
            available = account_balance(account=account, at=at).available
            stamp = last.date().isoformat()
            if available > 0 and at >= expires_at:
                if entry_write(account=account, kind=EntryKind.EXPIRE, source=EntrySource.EXPIRY,
                               key=f"expire:inactive:{account.pk}:{stamp}", points=-available, available_at=at,
                               reason=f"no order since {stamp}"):
                    expired = available
            elif available > 0 and at >= expires_at - warn_before:
                _warn(account=account, key=f"expiring:inactive:{account.pk}:{stamp}", points=available,
                      expires_at=expires_at)
        else:
            for batch in open_batches(account=account, at=at):
                expires_at = batch.available_at + timedelta(days=program.expiry_days)
                if at >= expires_at:
                    if entry_write(account=account, kind=EntryKind.EXPIRE, source=EntrySource.EXPIRY,
                                   source_id=str(batch.entry_id), key=f"expire:batch:{batch.entry_id}",
                                   points=-batch.points, available_at=at, reason="points expired"):
                        expired += batch.points
                elif at >= expires_at - warn_before:
                    _warn(account=account, key=f"expiring:batch:{batch.entry_id}", points=batch.points,
                          expires_at=expires_at)
        events.dispatch_soon()
    return expired


def shop_expire(*, shop: Shop, at: datetime | None = None) -> int:
    program = program_for(shop=shop)
    if not program.is_enabled or program.expiry_mode == ExpiryMode.NONE:
        return 0
    return sum(account_expire(account=account, program=program, at=at)
               for account in Account.objects.filter(shop=shop).iterator())
