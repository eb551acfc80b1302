"""VIP tiers: qualification, upgrades at once, downgrades only after the period and its grace,
manual tiers that are explicit, and versioned rules with a dry run before they apply.

Qualification counts money spent (orders net of refunds, cancelled ones excluded) or points
earned (earn entries net of reversals; not the current balance), over the scheme's period: orders
by their date, points by when what earned them happened (``occurred_at``: a backfilled order's
points fall in that order's year, not in the install's).
Orders synced from before the install count: the merchant's best customers are VIPs from day one.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone

from commerce import events
from commerce.models import Shop
from commerce.selectors import ORDER_NET_VALUE
from loyalty.models import (
    Account,
    EntryKind,
    EntrySource,
    LedgerEntry,
    ManualTierMode,
    Tier,
    TierBasis,
    TierPeriod,
    TierScheme,
)
from loyalty.selectors import account_orders, counted_orders, period_start
from loyalty.services.ledger import entry_write
from retention_app.errors import ApplicationError
from retention_app.money import ZERO


def tier_metric(*, account: Account, scheme: TierScheme, at: datetime) -> Decimal:
    since = period_start(period=scheme.period, at=at)
    if scheme.basis == TierBasis.POINTS:
        entries = LedgerEntry.objects.filter(account=account, kind__in=[EntryKind.EARN, EntryKind.REVERSE],
                                             occurred_at__lte=at)
        if since:
            entries = entries.filter(occurred_at__gte=since)
        return Decimal(entries.aggregate(points=Sum("points"))["points"] or 0)
    orders = account_orders(account=account).filter(processed_at__lte=at)
    if since:
        orders = orders.filter(processed_at__gte=since)
    return orders.aggregate(spend=Sum(ORDER_NET_VALUE))["spend"] or ZERO


def tier_for_metric(*, tiers: list[Tier], metric: Decimal) -> Tier | None:
    qualified = [tier for tier in tiers if tier.threshold <= metric]
    return max(qualified, key=lambda tier: tier.threshold) if qualified else None


def _with_manual(account: Account, computed: Tier | None) -> Tier | None:
    manual = account.manual_tier
    if manual is None or not account.manual_tier_mode:
        return computed
    if account.manual_tier_mode == ManualTierMode.FIXED:
        return manual
    return manual if computed is None or manual.threshold > computed.threshold else computed


def downgrade_due(*, account: Account, scheme: TierScheme, at: datetime) -> bool:
    """A tier is kept for the rest of the period it was reached in, plus the grace days."""
    since = account.tier_since or at
    if scheme.period == TierPeriod.LIFETIME:
        period_end = since  # lifetime spend only falls through refunds: follow it at once
    elif scheme.period == TierPeriod.CALENDAR_YEAR:
        period_end = since.replace(year=since.year + 1, month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
    else:
        period_end = since + timedelta(days=365)
    return at >= period_end + timedelta(days=scheme.grace_days)


def _rank(tier: Tier | None) -> Decimal:
    return Decimal("-1") if tier is None else tier.threshold


@transaction.atomic
def tier_evaluate(*, account: Account, at: datetime | None = None, scheme: TierScheme | None = None,
                  announce: bool = True) -> Tier | None:
    """Recompute one account's tier; upgrade now, downgrade only when due; announce changes
    (``announce=False`` when the store's history is being brought in: the tiers its customers
    had long reached are set without a "welcome to Gold" to each of them)."""
    at = at or timezone.now()
    scheme = scheme or TierScheme.objects.filter(shop_id=account.shop_id, is_active=True).first()
    if scheme is None:
        return None
    account = Account.objects.select_for_update(of=("self",)).select_related("tier", "manual_tier").get(pk=account.pk)
    tiers = list(scheme.tiers.all())
    target = _with_manual(account, tier_for_metric(tiers=tiers, metric=tier_metric(account=account, scheme=scheme,
                                                                                   at=at)))
    current = account.tier if account.tier and account.tier.scheme_id == scheme.pk else None
    if target == current:
        return current
    going_down = _rank(target) < _rank(current)
    manual_fixed = account.manual_tier_mode == ManualTierMode.FIXED
    if going_down and current is not None and not manual_fixed and not downgrade_due(account=account, scheme=scheme,
                                                                                     at=at):
        return current
    account.tier = target
    account.tier_since = at
    account.save(update_fields=["tier", "tier_since", "updated_at"])
    _announce(account=account, before=current, after=target, at=at, down=going_down, notify=announce)
    return target


def _announce(*, account: Account, before: Tier | None, after: Tier | None, at: datetime, down: bool,
              notify: bool = True) -> None:
    stamp = int(at.timestamp())
    if down and before is not None and notify:
        events.emit(shop=account.shop, name="loyalty.tier_lost", key=f"tier-lost:{account.pk}:{before.pk}:{stamp}",
                    payload={"account_id": account.pk, "tier": before.name, "now": after.name if after else None},
                    occurred_at=at)
    if after is not None and not down:
        if notify:
            events.emit(shop=account.shop, name="loyalty.tier_reached",
                        key=f"tier-reached:{account.pk}:{after.pk}:{stamp}",
                        payload={"account_id": account.pk, "tier": after.name}, occurred_at=at)
        if after.entry_points:
            entry_write(account=account, kind=EntryKind.EARN, source=EntrySource.RULE, source_id="tier_entry",
                        key=f"tier-entry:{after.pk}:{account.pk}", points=after.entry_points, occurred_at=at,
                        reason=f"welcome to {after.name}")
    events.dispatch_soon()


def tier_set_manual(*, account: Account, tier: Tier | None, mode: str) -> Tier | None:
    """The merchant pins a tier: ``floor`` (at least this tier) or ``fixed`` (exactly this one)."""
    if mode not in (ManualTierMode.FLOOR, ManualTierMode.FIXED, ManualTierMode.NONE):
        raise ValueError(f"unknown manual tier mode {mode!r}")
    Account.objects.filter(pk=account.pk).update(manual_tier=tier if mode else None, manual_tier_mode=mode)
    return tier_evaluate(account=account)


# --- versioned rules -------------------------------------------------------------------------

@dataclass(frozen=True)
class TierSpec:
    name: str
    threshold: Decimal
    earn_multiplier: Decimal = Decimal("1")
    entry_points: int = 0
    perks: dict | None = None
    names: dict[str, str] | None = None  # the name per language: {"he": "זהב", "fa": "طلایی"}


@transaction.atomic
def tier_scheme_propose(*, shop: Shop, basis: str, period: str, grace_days: int, tiers: list[TierSpec]) -> TierScheme:
    """A new, inactive version of the rules; the merchant reviews its dry run, then activates it.
    Refused (400) without tiers or with two tiers of one name or one threshold."""
    if not tiers:
        raise ApplicationError("a tier scheme needs at least one tier", status=400)
    names = [spec.name.strip().casefold() for spec in tiers]
    if len(set(names)) != len(names):
        raise ApplicationError("two tiers cannot have the same name", status=400)
    if len({spec.threshold for spec in tiers}) != len(tiers):
        raise ApplicationError("two tiers cannot have the same threshold", status=400)
    version = (TierScheme.objects.filter(shop=shop).order_by("-version").values_list("version", flat=True).first()
               or 0) + 1
    scheme = TierScheme.objects.create(shop=shop, version=version, basis=basis, period=period, grace_days=grace_days)
    Tier.objects.bulk_create([
        Tier(shop=shop, scheme=scheme, name=spec.name.strip(), threshold=spec.threshold,
             earn_multiplier=spec.earn_multiplier, entry_points=spec.entry_points, perks=spec.perks or {},
             names={language: name for language, name in (spec.names or {}).items() if name})
        for spec in tiers
    ])
    return scheme


@dataclass(frozen=True)
class TierMove:
    account_id: int
    before: str | None
    after: str | None
    is_up: bool


@dataclass(frozen=True)
class DryRun:
    moves: list[TierMove]

    @property
    def up(self) -> int:
        return sum(1 for move in self.moves if move.is_up)

    @property
    def down(self) -> int:
        return len(self.moves) - self.up


def tier_metrics(*, scheme: TierScheme, at: datetime) -> dict[int, Decimal]:
    """``tier_metric`` of every account of the shop at once (set-based: a few grouped queries,
    however many members), by account id; an account with nothing counted is left out (0)."""
    since = period_start(period=scheme.period, at=at)
    accounts = Account.objects.filter(shop_id=scheme.shop_id)
    if scheme.basis == TierBasis.POINTS:
        entries = LedgerEntry.objects.filter(shop_id=scheme.shop_id, kind__in=[EntryKind.EARN, EntryKind.REVERSE],
                                             occurred_at__lte=at)
        if since:
            entries = entries.filter(occurred_at__gte=since)
        return {row["account_id"]: Decimal(row["points"] or 0)
                for row in entries.values("account_id").annotate(points=Sum("points")).order_by()}
    orders = counted_orders(shop_id=scheme.shop_id).filter(processed_at__lte=at)
    if since:
        orders = orders.filter(processed_at__gte=since)
    by_customer = {row["customer_id"]: row["spend"] or ZERO for row in orders.filter(customer_id__isnull=False)
                   .values("customer_id").annotate(spend=Sum(ORDER_NET_VALUE)).order_by()}
    guests = dict(accounts.filter(customer__isnull=True).values_list("email", "pk"))
    by_email = {row["email"]: row["spend"] or ZERO for row in orders.filter(email__in=list(guests))
                .values("email").annotate(spend=Sum(ORDER_NET_VALUE)).order_by()} if guests else {}
    metrics = {pk: by_customer[customer_id] for pk, customer_id in accounts.filter(customer__isnull=False)
               .values_list("pk", "customer_id") if customer_id in by_customer}
    metrics.update({pk: by_email[email] for email, pk in guests.items() if email in by_email})
    return metrics


def tier_scheme_dry_run(*, scheme: TierScheme, at: datetime | None = None) -> DryRun:
    """Who would move, and where, if this version applied now (nothing is written).  Set-based:
    the same handful of queries for ten members or a hundred thousand."""
    at = at or timezone.now()
    tiers = list(scheme.tiers.all())
    metrics = tier_metrics(scheme=scheme, at=at)
    moves = []
    for account in Account.objects.filter(shop_id=scheme.shop_id).select_related("tier", "manual_tier"):
        after = _with_manual(account, tier_for_metric(tiers=tiers, metric=metrics.get(account.pk, ZERO)))
        before_name = account.tier.name if account.tier else None
        after_name = after.name if after else None
        if before_name != after_name:
            moves.append(TierMove(account.pk, before_name, after_name,
                                  is_up=_moves_up(before=account.tier, after=after, tiers=tiers)))
    return DryRun(moves=moves)


def _moves_up(*, before: Tier | None, after: Tier | None, tiers: list[Tier]) -> bool:
    """Whether going from ``before`` (a tier of any version) to ``after`` (one of the new version's
    ``tiers``) is a move up.  A tier whose name the new version keeps is compared by its step on the
    new ladder (Silver at 500 before, at 100 now, Gold at 300: Silver -> Gold is up); one it drops,
    by threshold (Silver at 500 -> Gold at 800 is up)."""
    if before is None or after is None:
        return after is not None
    ladder = [tier.name for tier in sorted(tiers, key=lambda tier: tier.threshold)]
    if before.name in ladder:
        return ladder.index(after.name) > ladder.index(before.name)
    return after.threshold > before.threshold


@transaction.atomic
def tier_scheme_activate(*, scheme: TierScheme, at: datetime | None = None) -> DryRun:
    """Make this version the active one and move every account to its tier under it."""
    at = at or timezone.now()
    plan = tier_scheme_dry_run(scheme=scheme, at=at)
    TierScheme.objects.filter(shop_id=scheme.shop_id, is_active=True).update(is_active=False)
    TierScheme.objects.filter(pk=scheme.pk).update(is_active=True)
    by_name = {tier.name: tier for tier in scheme.tiers.all()}
    # Re-point accounts to the same-named tier of the new version first (one update per tier), the
    # rest of the old version's to none; then move those the dry run moves.
    members = Account.objects.filter(shop_id=scheme.shop_id, tier__isnull=False)
    for name, tier in by_name.items():
        members.filter(tier__name=name).exclude(tier=tier).update(tier=tier)
    members.exclude(tier__scheme_id=scheme.pk).update(tier=None)
    moved = {move.account_id: move.after for move in plan.moves}
    for account in Account.objects.filter(shop_id=scheme.shop_id, pk__in=list(moved)).select_related("tier"):
        target = by_name.get(moved[account.pk] or "")
        previous = account.tier
        Account.objects.filter(pk=account.pk).update(tier=target, tier_since=at)
        _announce(account=account, before=previous, after=target, at=at,
                  down=_rank(target) < _rank(previous))
    return plan


def accounts_due_for_review(*, shop: Shop) -> list[int]:
    return list(Account.objects.filter(shop=shop).filter(Q(tier__isnull=False) | Q(manual_tier__isnull=False))
                .values_list("pk", flat=True))


@transaction.atomic
def tiers_switch_off(*, shop: Shop) -> None:
    """No tiers: no version of the rules stays active and no account holds a tier (earlier
    versions are kept, so a later version can bring tiers back)."""
    TierScheme.objects.filter(shop=shop, is_active=True).update(is_active=False)
    Account.objects.filter(shop=shop).exclude(tier=None).update(tier=None, tier_since=None)
