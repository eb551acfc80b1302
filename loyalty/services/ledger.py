"""The points ledger: append-only entries, balances as sums, accounts."""

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Q, Sum
from django.utils import timezone

from commerce.models import Customer, Order, Shop
from loyalty.models import Account, LedgerEntry

#: Whose account an order earns for: ``("customer", <customer id>)`` or ``("guest", <email>)``.
Owner = tuple[str, int | str]
#: Rows per ``INSERT`` of ``entries_insert`` (well under either database's bound on parameters).
INSERT_ROWS = 500

REFERRAL_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: codes are read aloud


@dataclass(frozen=True)
class Balance:
    available: int
    pending: int

    @property
    def total(self) -> int:
        return self.available + self.pending


def account_balance(*, account: Account, at: datetime | None = None) -> Balance:
    """Sum of the account's entries, split by whether they are spendable at ``at``."""
    moment = at or timezone.now()
    totals = LedgerEntry.objects.filter(account=account).aggregate(
        available=Sum("points", filter=Q(available_at__lte=moment)),
        pending=Sum("points", filter=Q(available_at__gt=moment)),
    )
    return Balance(available=totals["available"] or 0, pending=totals["pending"] or 0)


def entry_write(
    *,
    account: Account,
    kind: str,
    source: str,
    key: str,
    points: int,
    source_id: str = "",
    available_at: datetime | None = None,
    occurred_at: datetime | None = None,
    reason: str = "",
    shortfall: int = 0,
    created_by: Any = None,
    actor: str = "",
    announce: bool = True,
) -> LedgerEntry | None:
    """Append one entry; ``None`` if an entry with this key exists (the source already counted).

    ``occurred_at``: when what it records happened (default: now); ``available_at``: when its
    points become spendable (default: now).

    ``announce=False`` keeps a gain quiet (no ``points_earned`` event): the merchant's backfill
    of history must not send thousands of "you earned points" messages on day one.
    """
    try:
        with transaction.atomic():
            entry = LedgerEntry.objects.create(
                shop_id=account.shop_id,
                account=account,
                kind=kind,
                source=source,
                source_id=source_id,
                idempotency_key=key,
                points=points,
                shortfall=shortfall,
                available_at=available_at or timezone.now(),
                occurred_at=occurred_at or timezone.now(),
                reason=reason[:500],
                created_by=created_by,
                actor=actor,
            )
            if entry.points > 0 and announce:
                _announce_gain(entry)
            return entry
    except IntegrityError:
        if LedgerEntry.objects.filter(shop_id=account.shop_id, idempotency_key=key).exists():
            return None
        raise


def entries_insert(*, entries: list[LedgerEntry]) -> list[LedgerEntry]:
    """Append many entries in a few statements: ``INSERT ... ON CONFLICT DO NOTHING RETURNING``,
    so an entry whose key exists already (its source counted) is skipped as ``entry_write`` skips
    it.  Returns the entries written, with their ids; nothing is announced (the caller does)."""
    fields = [f for f in LedgerEntry._meta.concrete_fields if not f.primary_key]
    quote = connection.ops.quote_name
    table = quote(LedgerEntry._meta.db_table)
    columns = ", ".join(quote(str(f.column)) for f in fields)
    unique = {entry.idempotency_key: entry for entry in entries}  # one key once, the first kept
    ordered = [entry for key, entry in unique.items() if entry is unique[key]]
    written: list[LedgerEntry] = []
    for start in range(0, len(ordered), INSERT_ROWS):
        chunk = ordered[start:start + INSERT_ROWS]
        params: list[Any] = []
        for entry in chunk:
            params.extend(f.get_db_prep_save(f.pre_save(entry, True), connection) for f in fields)
        row = "(" + ", ".join(["%s"] * len(fields)) + ")"
        sql = (f"INSERT INTO {table} ({columns}) VALUES {', '.join([row] * len(chunk))} ON CONFLICT DO NOTHING "
               f"RETURNING {quote('id')}, {quote('idempotency_key')}")
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            ids = {key: pk for pk, key in cursor.fetchall()}
        for entry in chunk:
            if entry.idempotency_key in ids:
                entry.pk = ids[entry.idempotency_key]
                entry._state.adding = False
                written.append(entry)
    return written


def _announce_gain(entry: LedgerEntry) -> None:
    """``loyalty.points_earned`` for every gain, and ``loyalty.reward_unlocked`` when this gain
    lifts the spendable balance across the cheapest reward (pending points unlock when they
    become spendable: the daily expiry job is where that is noticed)."""
    from commerce import events
    from loyalty.models import Reward

    shop = entry.account.shop
    events.emit(shop=shop, name="loyalty.points_earned", key=f"points-earned:{entry.pk}",
                payload={"account_id": entry.account_id, "points": entry.points, "reason": entry.reason,
                         "available_at": entry.available_at.isoformat()})
    cheapest = (Reward.objects.filter(shop_id=entry.shop_id, is_active=True).order_by("points_cost")
                .values_list("points_cost", flat=True).first())
    if cheapest is not None and entry.available_at <= timezone.now():
        after = account_balance(account=entry.account).available
        if after >= cheapest > after - entry.points:
            events.emit(shop=shop, name="loyalty.reward_unlocked", key=f"reward-unlocked:{entry.pk}",
                        payload={"account_id": entry.account_id, "available": after, "cheapest_reward": cheapest})
    events.dispatch_soon()


def _referral_code() -> str:
    return "".join(secrets.choice(REFERRAL_ALPHABET) for _ in range(8))


def _account_create(*, shop: Shop, customer: Customer | None, email: str) -> Account:
    for _ in range(5):
        try:
            with transaction.atomic():
                return Account.objects.create(shop=shop, customer=customer, email=email, referral_code=_referral_code())
        except IntegrityError:
            existing = (
                Account.objects.filter(shop=shop, customer=customer).first()
                if customer is not None
                else Account.objects.filter(shop=shop, customer__isnull=True, email=email).first()
            )
            if existing is not None:
                return existing
    raise RuntimeError("could not allocate a unique referral code")


def account_for_customer(*, shop: Shop, customer: Customer) -> Account:
    account = Account.objects.filter(shop=shop, customer=customer).first()
    return account or _account_create(shop=shop, customer=customer, email=customer.email)


def owner_of(*, order: Order) -> Owner | None:
    """Whose account the order earns for (``order_account`` without opening it)."""
    if order.customer_id is not None:
        return ("customer", order.customer_id)
    if order.email:
        return ("guest", order.email.strip().lower())
    return None


def accounts_for_owners(*, shop: Shop, owners: set[Owner], customer_emails: dict[int, str],
                        open_missing: bool = True) -> dict[Owner, Account]:
    """The owners' accounts, opened where missing (as ``account_for_customer`` and
    ``account_for_guest`` open them) and locked (``FOR UPDATE``, in id order), with their tiers.
    ``customer_emails``: each customer's email, which a customer's new account records.
    ``open_missing=False``: only those that exist, read without a lock (a dry run)."""
    found: dict[Owner, Account] = {}

    def load(wanted: set[Owner]) -> None:
        customers = [value for kind, value in wanted if kind == "customer"]
        emails = [value for kind, value in wanted if kind == "guest"]
        if not customers and not emails:
            return
        rows = (Account.objects.select_related("tier", "manual_tier")
                .filter(Q(customer_id__in=customers) | Q(customer__isnull=True, email__in=emails), shop=shop)
                .order_by("pk"))
        if open_missing:
            rows = rows.select_for_update(of=("self",))
        for account in rows:
            found[("customer", account.customer_id) if account.customer_id else ("guest", account.email)] = account

    load(owners)
    missing = owners - set(found)
    if missing and open_missing:
        Account.objects.bulk_create([
            Account(shop=shop, customer_id=value if kind == "customer" else None,
                    email=customer_emails.get(value, "") if kind == "customer" else str(value),  # type: ignore[arg-type]
                    referral_code=_referral_code())
            for kind, value in sorted(missing, key=str)
        ], ignore_conflicts=True)
        load(missing)
        for kind, value in missing - set(found):  # a referral code taken already: one at a time
            if kind == "customer":
                customer = Customer.objects.get(shop=shop, pk=value)
                account_for_customer(shop=shop, customer=customer)
            else:
                account_for_guest(shop=shop, email=str(value))
        load(missing - set(found))
    return found


def account_for_guest(*, shop: Shop, email: str) -> Account:
    """Points for a guest order are held against the (normalised) email until claimed."""
    email = email.strip().lower()
    account = Account.objects.filter(shop=shop, customer__isnull=True, email=email).first()
    return account or _account_create(shop=shop, customer=None, email=email)


def guest_points_claim(*, customer: Customer) -> Account | None:
    """Attach points held against the customer's email (guest orders) to the customer.

    A guest account becomes the customer's account when the customer has none; otherwise its
    balance moves over with a pair of transfer entries (the ledger is never rewritten).
    """
    from loyalty.models import EntryKind, EntrySource

    email = (customer.email or "").strip().lower()
    if not email:
        return None
    with transaction.atomic():
        guest = Account.objects.select_for_update().filter(
            shop_id=customer.shop_id, customer__isnull=True, email=email
        ).first()
        if guest is None:
            return None
        own = Account.objects.filter(shop_id=customer.shop_id, customer=customer).first()
        if own is None:
            guest.customer = customer
            guest.save(update_fields=["customer", "updated_at"])
            return guest
        moved = LedgerEntry.objects.filter(account=guest).aggregate(points=Sum("points"))["points"] or 0
        if moved:
            entry_write(account=guest, kind=EntryKind.TRANSFER, source=EntrySource.ACCOUNT, key=f"claim-out:{guest.pk}",
                        points=-moved, reason=f"claimed by customer {customer.platform_id}")
            entry_write(account=own, kind=EntryKind.TRANSFER, source=EntrySource.ACCOUNT, key=f"claim-in:{guest.pk}",
                        points=moved, reason=f"guest points of {email}")
        return own
