"""Points expiry, in the program's mode, with a warning event before it happens.

- ``inactivity``: everything spendable expires N months after the last order (LoyaltyLion style).
- ``batch``: each earned batch expires N days after it became spendable; spending and expiry
  consume the oldest batches first, and a reversal takes from the batch it reverses.

Points from history (the backfill at install, ``HISTORY_ACTOR``) keep their orders' dates for
reports, but their expiry clock starts when they were credited: they became spendable at the
backfill (batch mode), and the inactivity clock runs from the later of the last order and the
backfill.  So a shopper whose last order is two years old gets the full period to use the points
the program just gave them, instead of losing them the next night; and they do expire.
Expiry entries are keyed on what expires, so running the job twice expires nothing twice.
The daily job picks, in one query, the accounts that can have something to expire or to warn
about, and runs the per-account rules (under the account's lock) for those only.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from dateutil.relativedelta import relativedelta
from django.db import transaction
from django.db.models import (
    Case,
    CharField,
    Exists,
    F,
    IntegerField,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
    Window,
)
from django.db.models.functions import Cast, Coalesce, Concat, Greatest
from django.utils import timezone

from commerce import events
from commerce.models import DomainEvent, Shop
from loyalty.lock_objects import account_lock
from loyalty.models import HISTORY_ACTOR, Account, EntryKind, EntrySource, ExpiryMode, LedgerEntry, Program
from loyalty.selectors import account_orders, counted_orders, program_get
from loyalty.services.ledger import account_balance, entry_write


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
    """The inactivity clock's start: the last counted order (else the account's opening), or the
    moment points from history became spendable when that is later."""
    last = account_orders(account=account).aggregate(last=Max("processed_at"))["last"] or account.created_at
    credited = LedgerEntry.objects.filter(account=account, kind=EntryKind.EARN, actor=HISTORY_ACTOR).aggregate(
        last=Max("available_at"))["last"]
    return max(last, credited) if credited else last


def _warn(*, account: Account, key: str, points: int, expires_at: datetime) -> None:
    events.emit(shop=account.shop, name="loyalty.points_expiring", key=key,
                payload={"account_id": account.pk, "points": points, "expires_at": expires_at.isoformat()})


def account_expire(*, account: Account, program: Program, at: datetime | None = None) -> int:
    """Expire (and warn about) one account's points; returns the points expired now."""
    expired = _account_expire(account=account, program=program, at=at or timezone.now())
    events.dispatch_soon()
    return expired


def _account_expire(*, account: Account, program: Program, at: datetime) -> int:
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
    return expired


def shop_expire(*, shop: Shop, at: datetime | None = None) -> int:
    """Daily: expire and warn in every account that may need it; returns the points expired."""
    program = program_get(shop=shop)
    if not program.is_enabled or program.expiry_mode == ExpiryMode.NONE:
        return 0
    at = at or timezone.now()
    accounts = list(accounts_to_review(shop=shop, program=program, at=at).order_by("pk"))  # (few: not a cursor)
    expired = sum(_account_expire(account=account, program=program, at=at) for account in accounts)
    events.dispatch_soon()
    return expired


def accounts_to_review(*, shop: Shop, program: Program, at: datetime) -> QuerySet[Account]:
    """The accounts ``account_expire`` may act on at ``at`` (a superset: the per-account rules
    decide), found in one query instead of reading every account.

    * batch: an account with a batch old enough to warn about or expire, not expired already by
      its key, not warned already unless due now, and not used up.  "Used up" is judged from the
      spending alone: every negative but a reversal takes the oldest points first, so a batch
      still holds points only if the points earned up to it exceed everything spent (reversals
      take from their own batch, so leaving them out keeps the superset).
    * inactivity: an account with spendable points and no order (nor points from history
      credited) since the warning could start (with three days' slack for month ends).
    """
    if program.expiry_mode == ExpiryMode.BATCH:
        return Account.objects.filter(shop=shop, pk__in=_batch_account_ids(shop=shop, program=program, at=at))
    return _inactive_accounts(shop=shop, program=program, at=at)


def _batch_account_ids(*, shop: Shop, program: Program, at: datetime) -> QuerySet[Any, Any]:
    expire_before = at - timedelta(days=program.expiry_days)
    warn_before = expire_before + timedelta(days=program.expiry_warning_days)
    earned_up_to = Window(Sum(Case(When(points__gt=0, then=F("points")), default=0)), partition_by=F("account_id"),
                          order_by=[F("available_at").asc(), F("pk").asc()])
    spent = Window(Sum(Case(When(Q(points__lt=0) & ~Q(kind=EntryKind.REVERSE), then=F("points")), default=0)),
                   partition_by=F("account_id"))
    # (the batch conditions sit inside the windowed expression so that they filter after the window)
    left = Case(When(points__gt=0, available_at__lte=warn_before, then=earned_up_to + spent), default=0,
                output_field=IntegerField())
    open_old = (LedgerEntry.objects.filter(shop_id=shop.pk, available_at__lte=at)
                .annotate(left=left).filter(left__gt=0).values("pk"))
    entry_id = Cast(OuterRef("pk"), output_field=CharField())
    expired = LedgerEntry.objects.filter(shop_id=shop.pk, idempotency_key=Concat(Value("expire:batch:"), entry_id))
    warned = DomainEvent.objects.filter(shop_id=shop.pk, key=Concat(Value("expiring:batch:"), entry_id))
    batches = (LedgerEntry.objects.filter(pk__in=Subquery(open_old))
               .alias(expired=Exists(expired), warned=Exists(warned))
               .filter(Q(available_at__lte=expire_before) | Q(warned=False), expired=False))
    return batches.values("account_id").distinct()


def _inactive_accounts(*, shop: Shop, program: Program, at: datetime) -> QuerySet[Account]:
    quiet_since = at + timedelta(days=program.expiry_warning_days + 3) - relativedelta(months=program.expiry_months)
    orders = counted_orders(shop_id=shop.pk)
    by_customer = orders.filter(customer_id=OuterRef("customer_id")).order_by().values("customer_id")
    by_email = orders.filter(email=OuterRef("email")).order_by().values("email")
    balance = (LedgerEntry.objects.filter(account_id=OuterRef("pk"), available_at__lte=at).order_by()
               .values("account_id").annotate(total=Sum("points")).values("total"))
    credited = (LedgerEntry.objects.filter(account_id=OuterRef("pk"), kind=EntryKind.EARN, actor=HISTORY_ACTOR)
                .order_by().values("account_id").annotate(last=Max("available_at")).values("last"))
    last_order = Case(When(customer_id__isnull=False, then=Subquery(by_customer.annotate(last=Max("processed_at"))
                                                                    .values("last"))),
                      default=Subquery(by_email.annotate(last=Max("processed_at")).values("last")))
    last = Coalesce(last_order, "created_at")
    return (Account.objects.filter(shop=shop)
            .alias(available=Subquery(balance), last=Greatest(last, Coalesce(Subquery(credited), last)))
            .filter(available__gt=0, last__lte=quiet_since))
