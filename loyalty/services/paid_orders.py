"""Paid orders, a run at a time: what ``order.paid`` does in loyalty, with the shop's program,
rules, tiers and badges read once per run and the ledger written in bulk.

The rules are those of the one-order path (``order_paid_handle``), applied to the run's orders in
their event order: each order earns at the multiplier of the tier its account holds when the
order is reached, then the account's tier is reviewed (upgrade at once, downgrade when due) and
its badges given.  Tiers and badges count the shop's counted orders as stored, and every order of
the run is stored before the run starts, so an account's review gives the same answer at each of
its orders in the run: it is done once, at its first.

Shops whose set-up this path does not model (the program off or awarding on fulfilment, tiers on
points, a running challenge, an open referral) take the one-order path for the whole run: the
same result, more statements.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import Count, Q, Sum
from django.utils import timezone

from billing import services as billing_services
from billing.plans import LimitKind
from billing.selectors import limit_period, plan_for
from commerce import events
from commerce.models import PAID_STATUSES, Order
from commerce.selectors import ORDER_NET_VALUE
from loyalty.models import Account as AccountModel
from loyalty.models import (
    AccountBadge,
    AwardOn,
    Badge,
    BadgeKind,
    Challenge,
    EntryKind,
    EntrySource,
    LedgerEntry,
    ManualTierMode,
    Program,
    Redemption,
    RedemptionStatus,
    Referral,
    ReferralStatus,
    Review,
    Reward,
    Tier,
    TierBasis,
    TierScheme,
)
from loyalty.selectors import counted_orders, orders_earning_count, program_get
from loyalty.services import actions, earning, redemption, referrals, tiers
from loyalty.services.ledger import accounts_for_owners, entries_insert, owner_of
from loyalty.services.program import rule_for


@dataclass(frozen=True)
class PaidOrder:
    """One ``order.paid`` event: the order and whether it was the customer's first."""

    order_id: int
    is_first_order: bool


def order_paid_handle(*, order: Order, is_first_order: bool) -> None:
    """The one-order path: earn, mark a used reward code, complete a referral, review the tier,
    badges and challenges."""
    earning.order_points_award(order=order)
    redemption.redemptions_mark_used(order=order)
    if is_first_order or order.discount_codes:  # a friend's code on a later order: refused
        referrals.referral_order_paid(order=order, by_email=is_first_order)
    account = earning.order_account(order=order)
    if account is not None:
        tiers.tier_evaluate(account=account)
        actions.badges_review(account=account)
        actions.challenges_review(account=account)


def orders_paid_handle(*, shop_id: int, paid: list[PaidOrder]) -> None:
    """``order_paid_handle`` for a run of one shop's paid orders, in bulk where the shop's set-up
    allows (see the module's docstring)."""
    by_pk = {order.pk: order for order in Order.objects.filter(shop_id=shop_id, pk__in=[p.order_id for p in paid])
             .select_related("shop", "customer").prefetch_related("lines")}
    run = [(by_pk[p.order_id], p.is_first_order) for p in paid if p.order_id in by_pk]
    if not run:
        return
    shop = run[0][0].shop
    for order, _ in run:
        order.shop = shop  # one shop instance: its fields (and secrets) are read once
    batch = _Batch.load(shop_id=shop_id, run=run)
    if batch is None:
        for order, is_first_order in run:
            order_paid_handle(order=order, is_first_order=is_first_order)
        return
    batch.apply(run)


@dataclass
class _Pending:
    """An entry to write and what to announce about it once it has its id."""

    entry: LedgerEntry
    unlocks: int | None = None  # the balance after it, when it lifts the balance across the cheapest reward


Announcement = tuple[str, str, dict, datetime] | _Pending  # an event, or the events of a gain
_NAME_ORDER = {name: rank for rank, name in enumerate(
    ("loyalty.points_earned", "loyalty.reward_unlocked", "loyalty.tier_lost", "loyalty.tier_reached"))}


@dataclass
class _Batch:
    shop_id: int
    now: datetime
    program: Program
    multipliers: dict[str, Decimal]
    scheme: TierScheme | None
    tiers: list[Tier]
    badges: list[Badge]
    entries: list[_Pending] = field(default_factory=list)
    announcements: list[Announcement] = field(default_factory=list)  # in the order the one-order path emits
    account_ids: list[int] = field(default_factory=list)
    partners: set[int] = field(default_factory=set)  # accounts that referred a friend successfully
    reviewers: set[int] = field(default_factory=set)  # accounts with a review
    tier_moves: dict[int, Tier | None] = field(default_factory=dict)  # account id -> its new tier
    badge_rows: list[AccountBadge] = field(default_factory=list)
    balances: dict[int, int] | None = None  # spendable points by account (read when first needed)
    cheapest: int | None = None
    cheapest_read: bool = False
    limit: int | None = None  # the plan's earning orders a month (Free), ``None``: no limit
    used: int = 0  # earning orders this month so far, this run's included

    @classmethod
    def load(cls, *, shop_id: int, run: list[tuple[Order, bool]]) -> "_Batch | None":
        """The shop's set-up for the run, or ``None`` when the run takes the one-order path."""
        shop = run[0][0].shop
        program = program_get(shop=shop)
        if not program.is_enabled or program.award_on != AwardOn.PAID:
            return None
        rule = rule_for(shop=shop, kind="purchase")
        if rule is None:
            return None
        now = timezone.now()
        limit = plan_for(shop=shop).limit(LimitKind.ORDERS)
        scheme = TierScheme.objects.filter(shop_id=shop_id, is_active=True).first()
        if scheme is not None and scheme.basis != TierBasis.SPEND:
            return None
        if Challenge.objects.filter(shop_id=shop_id, is_active=True, starts_at__lte=now,
                                    ends_at__gte=now - timedelta(days=1)).exists():
            return None
        if any(is_first_order or order.discount_codes for order, is_first_order in run):
            if Referral.objects.filter(
                Q(status=ReferralStatus.PENDING) | Q(status=ReferralStatus.REVIEW, friend_order__isnull=True),
                shop_id=shop_id,
            ).exists():
                return None
        products = (rule.multipliers or {}).get("products") or {}
        return cls(
            shop_id=shop_id, now=now, program=program,
            multipliers={str(pid): Decimal(str(factor)) for pid, factor in products.items()},
            scheme=scheme, tiers=list(scheme.tiers.all()) if scheme is not None else [],
            badges=list(Badge.objects.filter(shop_id=shop_id, is_active=True).order_by("pk")),
            limit=limit,
            used=orders_earning_count(shop=shop, since=limit_period(shop=shop, now=now).start) if limit else 0,
        )

    def apply(self, run: list[tuple[Order, bool]]) -> None:
        orders = [order for order, _ in run]
        self._codes_mark_used(orders)
        owners = {order.pk: owner_of(order=order) for order in orders}
        emails = {order.customer.pk: order.customer.email for order in orders if order.customer is not None}
        accounts = accounts_for_owners(shop=orders[0].shop, owners={o for o in owners.values() if o is not None},
                                       customer_emails=emails)
        self.account_ids = sorted(account.pk for account in accounts.values())
        earned = set(LedgerEntry.objects.filter(
            shop_id=self.shop_id, idempotency_key__in=[f"earn:order:{order.platform_id}" for order in orders])
            .values_list("idempotency_key", flat=True))
        reviewed = [accounts[owner] for owner in dict.fromkeys(o for o in owners.values() if o is not None)]
        stats = self._order_stats(reviewed)
        owned = self._badges_owned(reviewed)
        seen: set[int] = set()
        for order in orders:
            owner = owners[order.pk]
            if owner is None:
                continue
            account = accounts[owner]
            key = f"earn:order:{order.platform_id}"
            if key not in earned:
                earned.add(key)
                self._earn(order=order, account=account, key=key)
            if account.pk not in seen:
                seen.add(account.pk)
                spend, count = stats.get(account.pk, (Decimal("0"), 0))
                self._tier_review(account=account, spend=spend)
                self._badges_review(account=account, count=count, owned=owned.get(account.pk, set()))
        self._write()

    # --- earning ------------------------------------------------------------------------------

    def _earn(self, *, order: Order, account: AccountModel, key: str) -> None:
        if order.cancelled_at or order.financial_status not in PAID_STATUSES or order.is_test:
            return
        points = earning.purchase_points(program=self.program, order=order, account=account,
                                         multipliers=self.multipliers).points
        if points <= 0:
            return
        if self.limit is not None:
            if self.used >= self.limit:
                # Over the plan's limit: recorded with its reason, as the one-order path does.
                used = self.used
                billing_services.limit_hold(shop=order.shop, kind=LimitKind.ORDERS, key=order.platform_id,
                                            now=self.now, used_since=lambda start: used)
                return
            self.used += 1
        occurred_at = earning.order_date(order=order)
        self._entry(account=account, kind=EntryKind.EARN, source=EntrySource.ORDER, source_id=order.platform_id,
                    key=key, points=points, reason=f"order {order.name}", occurred_at=occurred_at,
                    available_at=occurred_at + timedelta(days=self.program.pending_days))

    def _entry(self, *, account: AccountModel, kind: str, source: str, source_id: str, key: str, points: int,
               reason: str, occurred_at: datetime | None = None, available_at: datetime | None = None) -> None:
        """An entry to write, with the gain's announcements as ``entry_write`` makes them."""
        entry = LedgerEntry(shop_id=self.shop_id, account=account, kind=kind, source=source, source_id=source_id,
                            idempotency_key=key, points=points, available_at=available_at or self.now,
                            occurred_at=occurred_at or self.now, reason=reason[:500])
        pending = _Pending(entry)
        if points > 0 and entry.available_at <= self.now:
            cheapest = self._cheapest()
            balances = self._balances()
            before = balances.get(account.pk, 0)
            balances[account.pk] = after = before + points
            if cheapest is not None and after >= cheapest > before:
                pending.unlocks = after
        self.entries.append(pending)
        self.announcements.append(pending)

    def _cheapest(self) -> int | None:
        if not self.cheapest_read:
            self.cheapest = (Reward.objects.filter(shop_id=self.shop_id, is_active=True).order_by("points_cost")
                             .values_list("points_cost", flat=True).first())
            self.cheapest_read = True
        return self.cheapest

    def _balances(self) -> dict[int, int]:
        """Spendable points of the run's accounts now, read once, then kept current here."""
        if self.balances is None:
            self.balances = dict(
                LedgerEntry.objects.filter(shop_id=self.shop_id, account_id__in=self.account_ids,
                                           available_at__lte=self.now)
                .values("account_id").annotate(points=Sum("points")).order_by().values_list("account_id", "points"))
        return self.balances

    # --- tiers and badges ---------------------------------------------------------------------

    def _order_stats(self, accounts: list[AccountModel]) -> dict[int, tuple[Decimal, int]]:
        """Per account: the spend its tier counts (the scheme's period, up to now) and the number of
        its counted orders (what an "orders" badge counts)."""
        if not accounts:
            return {}
        since = tiers.period_start(period=self.scheme.period, at=self.now) if self.scheme is not None else None
        in_period = Q(processed_at__lte=self.now) & (Q(processed_at__gte=since) if since else Q())
        orders = counted_orders(shop_id=self.shop_id)
        stats: dict[int, tuple[Decimal, int]] = {}
        by_customer = {a.customer_id: a.pk for a in accounts if a.customer_id}
        if by_customer:
            rows = (orders.filter(customer_id__in=list(by_customer)).values("customer_id")
                    .annotate(spend=Sum(ORDER_NET_VALUE, filter=in_period), orders=Count("pk")).order_by())
            for customer_id, spend, count in rows.values_list("customer_id", "spend", "orders"):
                stats[by_customer[customer_id]] = (spend or Decimal("0"), count)
        by_email = {a.email: a.pk for a in accounts if not a.customer_id}
        if by_email:
            guests = (orders.filter(email__in=list(by_email)).values("email")
                      .annotate(spend=Sum(ORDER_NET_VALUE, filter=in_period), orders=Count("pk")).order_by())
            for email, spend, count in guests.values_list("email", "spend", "orders"):
                stats[by_email[email]] = (spend or Decimal("0"), count)
        return stats

    def _tier_review(self, *, account: AccountModel, spend: Decimal) -> None:
        """``tier_evaluate`` on the account's counted spend (the account row is locked)."""
        scheme = self.scheme
        if scheme is None:
            return
        target = tiers._with_manual(account, tiers.tier_for_metric(tiers=self.tiers, metric=spend))
        current = account.tier if account.tier and account.tier.scheme_id == scheme.pk else None
        if target == current:
            return
        going_down = tiers._rank(target) < tiers._rank(current)
        manual_fixed = account.manual_tier_mode == ManualTierMode.FIXED
        if going_down and current is not None and not manual_fixed and not tiers.downgrade_due(
                account=account, scheme=scheme, at=self.now):
            return
        account.tier = target
        account.tier_since = self.now
        self.tier_moves[account.pk] = target
        stamp = int(self.now.timestamp())
        if going_down and current is not None:
            self.announcements.append((
                "loyalty.tier_lost", f"tier-lost:{account.pk}:{current.pk}:{stamp}",
                {"account_id": account.pk, "tier": current.name, "now": target.name if target else None}, self.now))
        if target is not None and not going_down:
            self.announcements.append(("loyalty.tier_reached", f"tier-reached:{account.pk}:{target.pk}:{stamp}",
                                       {"account_id": account.pk, "tier": target.name}, self.now))
            if target.entry_points:
                self._entry(account=account, kind=EntryKind.EARN, source=EntrySource.RULE, source_id="tier_entry",
                            key=f"tier-entry:{target.pk}:{account.pk}", points=target.entry_points,
                            reason=f"welcome to {target.name}")

    def _badges_owned(self, accounts: list[AccountModel]) -> dict[int, set[int]]:
        owned: dict[int, set[int]] = {}
        if not self.badges or not accounts:
            return owned
        for account_id, badge_id in AccountBadge.objects.filter(
                shop_id=self.shop_id, account_id__in=[a.pk for a in accounts]).values_list("account_id", "badge_id"):
            owned.setdefault(account_id, set()).add(badge_id)
        missing = {badge.kind for badge in self.badges for a in accounts if badge.pk not in owned.get(a.pk, set())}
        ids = [a.pk for a in accounts]
        self.partners = set(Referral.objects.filter(
            shop_id=self.shop_id, referrer_id__in=ids, status=ReferralStatus.COMPLETED)
            .values_list("referrer_id", flat=True)) if BadgeKind.PARTNER in missing else set()
        self.reviewers = set(Review.objects.filter(shop_id=self.shop_id, account_id__in=ids)
                              .values_list("account_id", flat=True)) if BadgeKind.FIRST_REVIEW in missing else set()
        return owned

    def _badges_review(self, *, account: AccountModel, count: int, owned: set[int]) -> None:
        """``badges_review``: each active badge the account now qualifies for, once, with its points."""
        for badge in self.badges:
            if badge.pk in owned or not self._qualifies(badge=badge, account=account, count=count):
                continue
            self.badge_rows.append(AccountBadge(shop_id=self.shop_id, account=account, badge=badge))
            if badge.points:
                self._entry(account=account, kind=EntryKind.EARN, source=EntrySource.RULE,
                            source_id=f"badge:{badge.pk}", key=f"badge:{badge.pk}:{account.pk}", points=badge.points,
                            reason=f"badge: {badge.name}")

    def _qualifies(self, *, badge: Badge, account: AccountModel, count: int) -> bool:
        if badge.kind == BadgeKind.MEMBER:
            return True
        if badge.kind == BadgeKind.PARTNER:
            return account.pk in self.partners
        if badge.kind == BadgeKind.FIRST_REVIEW:
            return account.pk in self.reviewers
        if badge.kind == BadgeKind.ORDERS:
            return count >= badge.threshold
        if badge.kind == BadgeKind.TIER:
            return account.tier is not None and account.tier.name == badge.tier_name
        return False

    # --- writing ------------------------------------------------------------------------------

    def _codes_mark_used(self, orders: list[Order]) -> None:
        """A used reward code marks its redemption used (one read for the run; a write per hit)."""
        codes = {code.upper() for order in orders for code in order.discount_codes or ()}
        if not codes:
            return
        issued = set(Redemption.objects.filter(shop_id=self.shop_id, code__in=codes, status=RedemptionStatus.ISSUED)
                     .values_list("code", flat=True))
        for order in orders:
            if issued & {code.upper() for code in order.discount_codes or ()}:
                redemption.redemptions_mark_used(order=order)

    def _write(self) -> None:
        by_tier: dict[int | None, list[int]] = {}
        for account_id, tier in self.tier_moves.items():
            by_tier.setdefault(tier.pk if tier else None, []).append(account_id)
        for tier_id, account_ids in by_tier.items():
            AccountModel.objects.filter(shop_id=self.shop_id, pk__in=account_ids).update(
                tier_id=tier_id, tier_since=self.now, updated_at=self.now)
        if self.badge_rows:
            AccountBadge.objects.bulk_create(self.badge_rows, ignore_conflicts=True)
        inserted = {entry.pk for entry in entries_insert(entries=[p.entry for p in self.entries])}
        announcements: list[tuple[str, str, dict, datetime]] = []
        for pending in self.announcements:
            if not isinstance(pending, _Pending):
                announcements.append(pending)
                continue
            entry = pending.entry
            if entry.pk not in inserted or entry.points <= 0:
                continue
            announcements.append(("loyalty.points_earned", f"points-earned:{entry.pk}",
                                  {"account_id": entry.account_id, "points": entry.points, "reason": entry.reason,
                                   "available_at": entry.available_at.isoformat()}, self.now))
            if pending.unlocks is not None:
                announcements.append(("loyalty.reward_unlocked", f"reward-unlocked:{entry.pk}",
                                      {"account_id": entry.account_id, "available": pending.unlocks,
                                       "cheapest_reward": self.cheapest}, self.now))
        if announcements:
            # one name after the other (each shopper's events of a name still in order), so the next
            # round hands each name's events to its batch subscribers as one run
            announcements.sort(key=lambda announcement: _NAME_ORDER.get(announcement[0], len(_NAME_ORDER)))
            events.emit_many(shop_id=self.shop_id, events=announcements)
            events.dispatch_soon()
