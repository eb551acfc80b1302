"""Earning and taking back: purchase points, reversals for refunds and cancellations, rules.

Keys (unique per shop) make each source count once:
``earn:order:<order>``, ``reverse:refund:<refund>``, ``reverse:cancel:<order>``,
``rule:<kind>:<account>[:<period>]``.

Entries are dated by what they record (``occurred_at``): purchase points by the order's date,
a reversal by its refund's or cancellation's, so history applied at install lands in the months
it happened, not on install day.
"""

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import transaction
from django.db.models import Exists, OuterRef, Sum
from django.utils import timezone

from billing import selectors as billing_selectors
from billing import services as billing_services
from billing.plans import LimitKind
from commerce.models import PAID_STATUSES, Order, OrderLine, Refund, RefundLine, Shop
from loyalty.lock_objects import account_lock
from loyalty.models import (
    HISTORY_ACTOR,
    Account,
    AwardOn,
    EntryKind,
    EntrySource,
    LedgerEntry,
    NegativePolicy,
    Program,
    Rounding,
)
from loyalty.selectors import counted_orders, orders_earning_count, program_get
from loyalty.services.ledger import (
    account_balance,
    account_for_customer,
    account_for_guest,
    accounts_for_owners,
    entries_insert,
    entry_write,
    owner_of,
)
from loyalty.services.program import rule_for
from retention_app.money import ZERO


def _round(value: Decimal, mode: str) -> int:
    if mode == Rounding.UP:
        return math.ceil(value)
    if mode == Rounding.NEAREST:
        return int(value.quantize(Decimal("1"), rounding=ROUND_HALF_UP))
    return math.floor(value)


def _line_net(line: OrderLine) -> Decimal:
    return line.unit_price * line.quantity - line.total_discount


def _product_multipliers(program: Program) -> dict[str, Decimal]:
    rule = rule_for(shop=program.shop, kind="purchase")
    products = (rule.multipliers.get("products") if rule else None) or {}
    return {str(pid): Decimal(str(factor)) for pid, factor in products.items()}


def order_date(*, order: Order) -> datetime:
    """When the order happened: processed, else created on the platform, else (never seen) now."""
    return order.processed_at or order.platform_created_at or timezone.now()


def order_account(*, order: Order) -> Account | None:
    if order.customer is not None:
        return account_for_customer(shop=order.shop, customer=order.customer)
    if order.email:
        return account_for_guest(shop=order.shop, email=order.email)
    return None


@dataclass(frozen=True)
class PurchasePoints:
    base: Decimal
    points: int


def purchase_points(*, program: Program, order: Order, account: Account | None,
                    multipliers: dict[str, Decimal] | None = None) -> PurchasePoints:
    """Points an order earns: its merchandise (after discounts; plus tax and shipping when the
    program says so) × points per unit × product and tier multipliers, rounded as configured.
    ``multipliers``: the purchase rule's product multipliers when the caller has read them."""
    lines = list(order.lines.all())
    merchandise = sum((_line_net(line) for line in lines), ZERO)
    base = order.subtotal
    if program.include_tax:
        base += order.total_tax
    if program.include_shipping:
        base += order.total_shipping
    weighted = base
    if multipliers is None:
        multipliers = _product_multipliers(program)
    if merchandise > 0 and lines and multipliers:
        # Spread the base over the lines by their share of the merchandise, then apply each
        # line's product multiplier.
        weighted = sum(
            (base * _line_net(line) / merchandise * multipliers.get(line.product_platform_id, Decimal("1"))
             for line in lines),
            ZERO,
        )
    tier_multiplier = account.tier.earn_multiplier if account is not None and account.tier else Decimal("1")
    points = _round(weighted * program.points_per_currency_unit * tier_multiplier, program.rounding)
    return PurchasePoints(base=base, points=max(points, 0))


def points_for_amount(*, program: Program, amount: Decimal) -> int:
    """What ``amount`` of merchandise earns at the program's rate and rounding (no multipliers):
    the settings page's preview of a rate."""
    return max(_round(amount * program.points_per_currency_unit, program.rounding), 0)


def order_points_award(*, order: Order, force: bool = False, trigger: str = AwardOn.PAID) -> LedgerEntry | None:
    """Award purchase points for a paid order (pending for the return window), when the
    program awards on ``trigger`` (paid, or fulfilled); the entry is dated by the order.

    ``force`` awards even while the program is switched off: the merchant's backfill of history.
    Its points become spendable no earlier than now (they could not be spent before), so batch
    expiry gives them a full period from the backfill instead of expiring old orders' points at
    once; the entry is marked with ``HISTORY_ACTOR`` for the inactivity clock.
    """
    program = program_get(shop=order.shop)
    if (not program.is_enabled and not force) or rule_for(shop=order.shop, kind="purchase") is None:
        return None
    if not force and program.award_on != trigger:
        return None
    if order.cancelled_at or order.financial_status not in PAID_STATUSES or order.is_test:
        return None
    account = order_account(order=order)
    if account is None:
        return None
    earned = purchase_points(program=program, order=order, account=account)
    if earned.points <= 0:
        return None
    if not force and _earned_for(order) is None and _over_plan_limit(order):
        return None
    occurred_at = order_date(order=order)
    available_at = occurred_at + timedelta(days=program.pending_days)
    if force:
        available_at = max(available_at, timezone.now())
    return entry_write(
        account=account,
        kind=EntryKind.EARN,
        source=EntrySource.ORDER,
        source_id=order.platform_id,
        key=f"earn:order:{order.platform_id}",
        points=earned.points,
        available_at=available_at,
        occurred_at=occurred_at,
        reason=f"order {order.name}",
        actor=HISTORY_ACTOR if force else "",
        announce=not force,
    )


def _over_plan_limit(order: Order) -> bool:
    """The shop's plan caps the orders that earn points per month (Free): past it the order stays
    recorded and earns nothing, and the skip is recorded with its reason (the dashboard says so)."""
    return bool(billing_services.limit_hold(
        shop=order.shop, kind=LimitKind.ORDERS, key=order.platform_id, now=timezone.now(),
        used_since=lambda start: orders_earning_count(shop=order.shop, since=start)))


def plan_skipped_orders_award(*, shop: Shop) -> int:
    """The shop moved onto the paid plan: this month's orders that the Free plan's limit held back
    earn their points now (each once: the usual ``earn:order`` key).  Returns how many earned."""
    period = billing_selectors.limit_period(shop=shop)
    keys = billing_selectors.limit_skipped_keys(shop=shop, kind=LimitKind.ORDERS, period=period)
    awarded = 0
    for order in Order.objects.filter(shop=shop, platform_id__in=keys).select_related("shop", "customer"):
        if _earned_for(order) is None and order_points_award(order=order) is not None:
            awarded += 1
    return awarded


def _earned_for(order: Order) -> LedgerEntry | None:
    return LedgerEntry.objects.filter(shop_id=order.shop_id, idempotency_key=f"earn:order:{order.platform_id}").first()


def _reversed_for(order: Order) -> int:
    taken = LedgerEntry.objects.filter(
        shop_id=order.shop_id, kind=EntryKind.REVERSE, source_id=order.platform_id
    ).aggregate(points=Sum("points"), shortfall=Sum("shortfall"))
    return -(taken["points"] or 0) + (taken["shortfall"] or 0)


def _reverse(
    *, earned: LedgerEntry, order: Order, points: int, key: str, source: str, reason: str, occurred_at: datetime
) -> LedgerEntry | None:
    """Take back ``points`` of an earn entry, honouring the program's negative-balance policy;
    the reversal is dated ``occurred_at`` (the refund or cancellation)."""
    if points <= 0:
        return None
    with transaction.atomic():
        account = account_lock(account_id=earned.account_id)
        now = timezone.now()
        if earned.available_at > now:
            # Still pending: cancel inside the pending bucket; spendable points are untouched.
            return entry_write(account=account, kind=EntryKind.REVERSE, source=source, source_id=order.platform_id,
                               key=key, points=-points, available_at=earned.available_at, occurred_at=occurred_at,
                               reason=reason)
        program = program_get(shop=order.shop)
        recovered, shortfall = points, 0
        if program.negative_policy == NegativePolicy.CAP_AT_ZERO:
            available = max(account_balance(account=account, at=now).available, 0)
            recovered = min(points, available)
            shortfall = points - recovered
        return entry_write(account=account, kind=EntryKind.REVERSE, source=source, source_id=order.platform_id,
                           key=key, points=-recovered, shortfall=shortfall, available_at=now, occurred_at=occurred_at,
                           reason=reason)


def refund_points_reverse(*, refund: Refund) -> LedgerEntry | None:
    """A partial refund takes back points in proportion to the refunded merchandise (rounded
    down, each refund once); a shipping-only refund takes back nothing.  A refund that names no
    lines (an amount refunded by hand, common in WooCommerce) counts by its amount less shipping,
    against the order's total less shipping."""
    order = refund.order
    earned = _earned_for(order)
    if earned is None:
        return None
    refunded = RefundLine.objects.filter(refund=refund).aggregate(total=Sum("subtotal"))["total"]
    if refunded is not None:
        merchandise = sum((_line_net(line) for line in order.lines.all()), ZERO)
    else:
        refunded = (refund.amount or ZERO) - (refund.shipping_amount or ZERO)
        merchandise = (order.total or ZERO) - (order.total_shipping or ZERO)
    if refunded <= 0 or merchandise <= 0:
        return None
    # Multiply before dividing: 29 points x 9.00 / 29.00 is 9, where 29 x (9.00 / 29.00) is 8.99...
    share_points = math.floor(earned.points * min(refunded, merchandise) / merchandise)
    points = min(share_points, earned.points - _reversed_for(order))
    return _reverse(earned=earned, order=order, points=points, key=f"reverse:refund:{refund.platform_id}",
                    source=EntrySource.REFUND, reason=f"refund on order {order.name}",
                    occurred_at=refund.processed_at or timezone.now())


def cancel_points_reverse(*, order: Order) -> LedgerEntry | None:
    """A cancellation takes back whatever the order still holds."""
    earned = _earned_for(order)
    if earned is None:
        return None
    return _reverse(earned=earned, order=order, points=earned.points - _reversed_for(order),
                    key=f"reverse:cancel:{order.platform_id}", source=EntrySource.CANCELLATION,
                    reason=f"order {order.name} cancelled", occurred_at=order.cancelled_at or timezone.now())


def rule_points_award(*, account: Account, kind: str, key_suffix: str = "", reason: str = "") -> LedgerEntry | None:
    """Points for a one-off action (signup, review, survey, social...); once per key."""
    program = program_get(shop=account.shop)
    rule = rule_for(shop=account.shop, kind=kind)
    if not program.is_enabled or rule is None or rule.points <= 0:
        return None
    key = f"rule:{kind}:{account.pk}" + (f":{key_suffix}" if key_suffix else "")
    return entry_write(account=account, kind=EntryKind.EARN, source=EntrySource.RULE, source_id=kind, key=key,
                       points=rule.points, reason=reason or kind)


def points_adjust(
    *, account: Account, points: int, reason: str, created_by: Any = None, actor: str = "", key: str | None = None
) -> LedgerEntry | None:
    """A merchant's manual adjustment: a reason is required and the author is recorded.

    ``key`` (e.g. the client's request id) makes a retried request count once.
    """
    if not reason.strip():
        raise ValueError("a manual adjustment needs a reason")
    if points == 0:
        raise ValueError("an adjustment of zero points changes nothing")
    return entry_write(account=account, kind=EntryKind.ADJUST, source=EntrySource.ADMIN,
                       key=f"adjust:{account.pk}:{key or timezone.now().timestamp()}", points=points,
                       reason=reason, created_by=created_by, actor=actor)


@dataclass(frozen=True)
class BackfillPlan:
    orders: int
    customers: int
    points: int


#: Orders per transaction of ``backfill``.
BACKFILL_CHUNK = 500


def backfill(*, shop: Shop, apply: bool) -> BackfillPlan:
    """Points for orders from before the install: a dry run first, then the same numbers for
    real.  The live path's rules (``order_points_award(force=True)``, then each past refund's
    ``refund_points_reverse``, with the same keys), applied set-based: a chunk of orders per
    transaction, its accounts opened and its entries written in bulk, so the time grows with the
    number of orders, not with its square.  An order never earns twice (one that earned is
    skipped; the keys are unique), and a later refund reverses exactly as it would live."""
    program = program_get(shop=shop)
    rule = rule_for(shop=shop, kind="purchase")
    plan = _BackfillTally()
    if rule is None:
        return plan.result()
    products = (rule.multipliers or {}).get("products") or {}
    multipliers = {str(pid): Decimal(str(factor)) for pid, factor in products.items()}
    earned = LedgerEntry.objects.filter(shop_id=shop.pk, kind=EntryKind.EARN, source=EntrySource.ORDER,
                                        source_id=OuterRef("platform_id"))
    pending = (counted_orders(shop_id=shop.pk).filter(~Exists(earned))
               .select_related("customer").prefetch_related("lines", "refunds__lines").order_by("pk"))
    last = 0
    while True:
        chunk = list(pending.filter(pk__gt=last)[:BACKFILL_CHUNK])
        if not chunk:
            break
        last = chunk[-1].pk
        for order in chunk:
            order.shop = shop
        if apply:
            with transaction.atomic():
                _backfill_chunk(shop=shop, program=program, multipliers=multipliers, orders=chunk, apply=True,
                                plan=plan)
        else:
            _backfill_chunk(shop=shop, program=program, multipliers=multipliers, orders=chunk, apply=False, plan=plan)
    return plan.result()


@dataclass
class _BackfillTally:
    orders: int = 0
    owners: set[int | str] = field(default_factory=set)
    points: int = 0

    def result(self) -> BackfillPlan:
        return BackfillPlan(orders=self.orders, customers=len(self.owners), points=self.points)


def _refund_requested(*, refund: Refund, order: Order, earned: int) -> int:
    """What ``refund_points_reverse`` takes back for ``refund`` of an order that earned ``earned``
    (before the cap of what the order still holds)."""
    lines = list(refund.lines.all())
    if lines:
        refunded = sum((line.subtotal for line in lines), ZERO)
        merchandise = sum((_line_net(line) for line in order.lines.all()), ZERO)
    else:
        refunded = (refund.amount or ZERO) - (refund.shipping_amount or ZERO)
        merchandise = (order.total or ZERO) - (order.total_shipping or ZERO)
    if refunded <= 0 or merchandise <= 0:
        return 0
    return math.floor(earned * min(refunded, merchandise) / merchandise)


def _backfill_chunk(*, shop: Shop, program: Program, multipliers: dict[str, Decimal], orders: list[Order],
                    apply: bool, plan: _BackfillTally) -> None:
    now = timezone.now()
    owners = {order.pk: owner_of(order=order) for order in orders}
    emails = {order.customer.pk: order.customer.email for order in orders if order.customer is not None}
    accounts = accounts_for_owners(shop=shop, owners={o for o in owners.values() if o is not None},
                                   customer_emails=emails, open_missing=apply)
    taken: dict[str, int] = {}  # reversals written already, by order: what they took back
    taken_keys: set[str] = set()
    for source_id, key, points, shortfall in LedgerEntry.objects.filter(
            shop_id=shop.pk, kind=EntryKind.REVERSE, source_id__in=[order.platform_id for order in orders]
    ).values_list("source_id", "idempotency_key", "points", "shortfall"):
        taken[source_id] = taken.get(source_id, 0) - points + shortfall
        taken_keys.add(key)
    earns: list[tuple[Order, LedgerEntry]] = []
    for order in orders:
        owner = owners[order.pk]
        if owner is None:
            continue
        account = accounts.get(owner)
        gross = purchase_points(program=program, order=order, account=account, multipliers=multipliers).points
        if gross <= 0:
            continue
        occurred_at = order_date(order=order)
        entry = LedgerEntry(shop_id=shop.pk, account=account, kind=EntryKind.EARN, source=EntrySource.ORDER,
                            source_id=order.platform_id, idempotency_key=f"earn:order:{order.platform_id}",
                            points=gross, available_at=max(occurred_at + timedelta(days=program.pending_days), now),
                            occurred_at=occurred_at, reason=f"order {order.name}"[:500], actor=HISTORY_ACTOR)
        earns.append((order, entry))
    cap = apply and program.negative_policy == NegativePolicy.CAP_AT_ZERO
    balances: dict[int, int] = {}
    if cap and any(order.refunds.all() for order, _ in earns):
        # spendable points before this chunk's entries; each order's earn is added as it is reached
        balances = _balances_now(shop=shop, accounts=[entry.account_id for _, entry in earns], now=now)
    if apply:
        written = {entry.pk for entry in entries_insert(entries=[entry for _, entry in earns])}
        earns = [(order, entry) for order, entry in earns if entry.pk in written]
    reversals: list[LedgerEntry] = []
    for order, earn in earns:
        if cap and earn.available_at <= now:
            balances[earn.account_id] = balances.get(earn.account_id, 0) + earn.points
        reversed_points = taken.get(order.platform_id, 0)
        for refund in order.refunds.all():
            key = f"reverse:refund:{refund.platform_id}"
            if key in taken_keys:
                continue
            points = min(_refund_requested(refund=refund, order=order, earned=earn.points),
                         earn.points - reversed_points)
            if points <= 0:
                continue
            reversed_points += points
            if not apply:
                continue
            recovered, shortfall, available_at = points, 0, earn.available_at
            if earn.available_at <= now:  # spendable already: taken from the balance, as ``_reverse`` does
                available_at = now
                if cap:
                    recovered = min(points, max(balances.get(earn.account_id, 0), 0))
                    shortfall = points - recovered
                    balances[earn.account_id] = balances.get(earn.account_id, 0) - recovered
            reversals.append(LedgerEntry(
                shop_id=shop.pk, account_id=earn.account_id, kind=EntryKind.REVERSE, source=EntrySource.REFUND,
                source_id=order.platform_id, idempotency_key=key, points=-recovered, shortfall=shortfall,
                available_at=available_at, occurred_at=refund.processed_at or now,
                reason=f"refund on order {order.name}"[:500]))
        plan.orders += 1
        plan.owners.add(order.customer_id or order.email)
        plan.points += earn.points - reversed_points
    if reversals:
        entries_insert(entries=reversals)


def _balances_now(*, shop: Shop, accounts: list[int], now: datetime) -> dict[int, int]:
    """Spendable points of ``accounts`` at ``now``."""
    return dict(LedgerEntry.objects.filter(shop_id=shop.pk, account_id__in=accounts, available_at__lte=now)
                .values("account_id").annotate(points=Sum("points")).order_by().values_list("account_id", "points"))
