"""Loyalty reads: the shopper's state for the widget, history, reports."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import F, IntegerField, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce, NullIf, TruncDate
from django.utils import timezone

from commerce.models import Customer, Order, OrderLine, Product, Shop
from commerce.selectors import ORDER_NET_VALUE, counted_order_q, orders_counted
from integrations.platforms import adapter_for
from loyalty.models import (
    HISTORY_ACTOR,
    WIDGET_SECTIONS,
    Account,
    EarningRule,
    EntryKind,
    EntrySource,
    LedgerEntry,
    Program,
    Redemption,
    RedemptionStatus,
    Referral,
    ReferralStatus,
    RuleKind,
    Tier,
    TierBasis,
    TierPeriod,
    TierScheme,
    WidgetSettings,
    name_in,
)
from loyalty.prepared_sql import prepared_rows
from loyalty.program_cache import ProgramSnapshot, program_snapshot
from retention_app.money import ZERO, money_str


def program_get(*, shop: Shop) -> Program:
    """The shop's program; a shop without one (installed before programs were created at install,
    or not installed) gets the defaults in memory, switched off and unsaved: a read writes nothing."""
    return Program.objects.filter(shop=shop).first() or Program(shop=shop, is_enabled=False)


def period_start(*, period: str, at: datetime) -> datetime | None:
    """Where a tier scheme's qualification period began at ``at`` (``None``: all time)."""
    if period == TierPeriod.CALENDAR_YEAR:
        return at.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
    if period == TierPeriod.ROLLING_12_MONTHS:
        return at - timedelta(days=365)
    return None


def counted_orders(*, shop_id: int) -> QuerySet[Order]:
    """The shop's counted orders -- commerce's one rule (``commerce.selectors.orders_counted``: paid,
    not cancelled, not test, not refunded in full) -- the ones tiers, badges, challenges, inactivity
    expiry and the backfill count."""
    return orders_counted(shop=shop_id)


def account_orders(*, account: Account) -> QuerySet[Order]:
    """The shopper's counted orders: the customer's, or a guest's by email."""
    orders = counted_orders(shop_id=account.shop_id)
    if account.customer_id:
        return orders.filter(customer_id=account.customer_id)
    return orders.filter(email=account.email)


def shopper_account(*, shop: Shop, customer_platform_id: str) -> Account | None:
    """The logged-in shopper's account, if it was opened (reading the widget opens none)."""
    if not customer_platform_id:
        return None
    return (Account.objects.filter(shop=shop, customer__platform_id=customer_platform_id)
            .select_related("tier", "customer").first())


def active_tiers(*, shop: Shop) -> list[Tier]:
    scheme = TierScheme.objects.filter(shop=shop, is_active=True).first()
    return list(scheme.tiers.order_by("threshold")) if scheme else []


def widget_language(requested: str | None) -> str:
    """The primary language subtag of a locale (``fa-IR`` -> ``fa``), lower case; ``""`` for none."""
    return (requested or "").replace("_", "-").split("-")[0].strip().lower()[:8]


def widget_settings_get(*, shop: Shop) -> WidgetSettings:
    """The widget designer's settings; a shop that never saved them gets the defaults, unsaved."""
    return WidgetSettings.objects.filter(shop=shop).first() or WidgetSettings(shop=shop)


def widget_config(*, widget: WidgetSettings, language: str) -> dict[str, Any]:
    """What the storefront widget applies over the theme editor's block settings: only what the
    merchant set in the designer (``null`` / ``""``: the block's setting, then the widget's default),
    the texts in ``language`` (falling back to English), and which sections show."""
    texts = widget.texts or {}
    chosen = texts.get(language) or {}
    english = texts.get("en") or {}

    def text(key: str) -> str:
        return str(chosen.get(key) or english.get(key) or "").strip()

    return {
        "accent_color": widget.accent_color or None,
        "accent_text_color": widget.accent_text_color or None,
        "launcher_position": widget.launcher_position or None,
        "launcher_label": text("launcher_label"),
        "title": text("title"),
        "welcome": text("welcome"),
        "sections": {key: bool(getattr(widget, f"show_{key}")) for key in WIDGET_SECTIONS},
    }


#: The one-off actions shown under "ways to earn", in the widget's order (purchase first).
WAYS_TO_EARN = (RuleKind.SIGNUP, RuleKind.BIRTHDAY, RuleKind.REVIEW, RuleKind.SURVEY, RuleKind.REFERRAL_REFERRER,
                RuleKind.SOCIAL_FOLLOW, RuleKind.SOCIAL_SHARE)


def ways_to_earn(*, shop: Shop, program: Program, rules: Mapping[str, EarningRule] | None = None
                 ) -> list[dict[str, Any]]:
    """The active earning rules as the shopper reads them: purchase points per currency unit
    (when the purchase rule is on and the rate is above zero), then each action worth points.
    The widget words them in the shopper's language ("5 points per $1", "100 points on your
    birthday").  ``rules``: the enabled rules by kind, when the caller has them."""
    if rules is None:
        rules = {rule.kind: rule for rule in EarningRule.objects.filter(shop=shop, is_enabled=True)}
    ways: list[dict[str, Any]] = []
    rate = program.points_per_currency_unit
    if RuleKind.PURCHASE in rules and rate > 0:
        ways.append({"kind": RuleKind.PURCHASE.value, "points_per_currency_unit": str(rate.normalize()),
                     "currency": shop.currency})
    for kind in WAYS_TO_EARN:
        rule = rules.get(kind)
        if rule is not None and rule.points > 0:
            ways.append({"kind": kind.value, "points": rule.points})
    return ways


def _figures(*, scheme: TierScheme | None, at: datetime, by_customer: bool,
             since: datetime | None | bool = False, shop_id: int | None = None) -> dict[str, Any]:
    """Annotations on ``Account`` for the widget, each a subquery on the account's own rows (an
    index lookup): the spendable and pending balance at ``at`` (``account_balance``) and the
    progress in the scheme's basis (``tier_metric``: the customer's counted orders, or a guest's
    by email)."""
    entries = LedgerEntry.objects.filter(account=OuterRef("pk")).order_by().values("account")
    figures: dict[str, Any] = {
        "widget_available": Subquery(entries.filter(available_at__lte=at).annotate(total=Sum("points"))
                                     .values("total"), output_field=IntegerField()),
        "widget_pending": Subquery(entries.filter(available_at__gt=at).annotate(total=Sum("points"))
                                   .values("total"), output_field=IntegerField()),
    }
    if scheme is None:
        return figures
    if since is False:  # not given: the scheme's period at ``at``
        since = period_start(period=scheme.period, at=at)
    if scheme.basis == TierBasis.POINTS:
        earned = entries.filter(kind__in=[EntryKind.EARN, EntryKind.REVERSE], occurred_at__lte=at)
        if since:
            earned = earned.filter(occurred_at__gte=since)
        figures["widget_progress"] = Subquery(earned.annotate(total=Sum("points")).values("total"),
                                              output_field=IntegerField())
        return figures
    owner = "customer_id" if by_customer else "email"
    orders = counted_orders(shop_id=shop_id or scheme.shop_id).filter(processed_at__lte=at,
                                                                      **{owner: OuterRef(owner)})
    if since:
        orders = orders.filter(processed_at__gte=since)
    figures["widget_progress"] = Subquery(orders.order_by().values(owner).annotate(total=Sum(ORDER_NET_VALUE))
                                          .values("total"), output_field=ORDER_NET_VALUE.output_field)
    return figures


#: The account's columns the widget reads, then its figures (``_figures``).
_ACCOUNT_COLUMNS = ("pk", "shop_id", "customer_id", "email", "tier_id", "referral_code")


def widget_account(*, shop: Shop, customer_platform_id: str, scheme: TierScheme | None,
                   at: datetime) -> Account | None:
    """The logged-in shopper's account (reading the widget opens none) with its balance and tier
    progress at ``at``, in one statement (compiled once per kind of scheme: ``prepared_sql``)."""
    if not customer_platform_id:
        return None
    since = period_start(period=scheme.period, at=at) if scheme else None
    values: dict[str, Any] = {"shop": shop.pk, "customer": customer_platform_id, "at": at}
    if since is not None:
        values["since"] = since

    def build(marked: Mapping[str, Any]) -> QuerySet[Account]:
        figures = _figures(scheme=scheme, at=marked["at"], by_customer=True, since=marked.get("since"),
                           shop_id=marked["shop"])
        return (Account.objects.filter(shop_id=marked["shop"], customer__platform_id=marked["customer"])
                .annotate(**figures).order_by("pk").values_list(*_ACCOUNT_COLUMNS, *figures)[:1])

    shape = ("widget-account", scheme.basis if scheme else None, since is not None)
    rows = prepared_rows(shape=shape, build=build, values=values)
    if not rows:
        return None
    row = rows[0]
    account = Account(**{("id" if name == "pk" else name): value
                         for name, value in zip(_ACCOUNT_COLUMNS, row, strict=False)})
    account._state.adding, account._state.db = False, "default"
    figures = row[len(_ACCOUNT_COLUMNS):]
    for name, value in zip(("widget_available", "widget_pending", "widget_progress"), figures, strict=False):
        setattr(account, name, value)
    return account


def _account_figures(*, account: Account, scheme: TierScheme | None, at: datetime) -> tuple[int, int, Decimal]:
    """Spendable and pending points and tier progress: from ``widget_account``'s annotations, or
    read in one statement for an account that came from elsewhere."""
    if not hasattr(account, "widget_available"):
        figures = _figures(scheme=scheme, at=at, by_customer=account.customer_id is not None)
        row = Account.objects.filter(pk=account.pk).annotate(**figures).values(*figures).first() or {}
        for name in figures:
            setattr(account, name, row.get(name))
    progress = getattr(account, "widget_progress", None)
    if scheme is not None and scheme.basis == TierBasis.POINTS:
        progress = Decimal(progress or 0)
    available, pending = getattr(account, "widget_available", None), getattr(account, "widget_pending", None)
    return available or 0, pending or 0, progress if progress is not None else ZERO


def widget_state(*, shop: Shop, account: Account | None, language: str = "",
                 snapshot: ProgramSnapshot | None = None, at: datetime | None = None) -> dict[str, Any]:
    """Everything the storefront widget shows, in one answer; merchant names (rewards, tiers) in
    ``language`` where the merchant gave one, and the designer's settings under ``widget``.

    The shop-wide part comes from ``loyalty.program_cache`` (``snapshot``: the caller's, read in
    the same request); the shopper's part takes 3 statements (2 with an account from
    ``widget_account``): balance and progress, the history page, the reward codes."""
    snapshot = snapshot or program_snapshot(shop=shop)
    at = at or timezone.now()
    program, scheme, tiers = snapshot.program, snapshot.scheme, snapshot.tiers

    def tier_name(tier: Tier) -> str:
        return name_in(tier.names, tier.name, language)

    state: dict[str, Any] = {
        "program": {"enabled": program.is_enabled, "points_per_currency_unit": str(program.points_per_currency_unit),
                    "currency": shop.currency},
        "widget": widget_config(widget=snapshot.widget, language=language),
        "ways_to_earn": ways_to_earn(shop=shop, program=program, rules=snapshot.rules),
        "tiers": [{"id": t.pk, "name": tier_name(t), "threshold": str(t.threshold), "perks": t.perks} for t in tiers],
        "tier_basis": scheme.basis if scheme else None,
        "logged_in": account is not None,
        "rewards": [
            {"id": r.pk, "name": r.name_in(language), "kind": r.kind, "points_cost": r.points_cost,
             "value": str(r.value), "tier_only": tier_name(r.tier_only) if r.tier_only else None,
             "tier_only_id": r.tier_only_id}
            for r in snapshot.rewards
        ],
    }
    if account is None:
        return state
    available, pending, progress = _account_figures(account=account, scheme=scheme, at=at)
    # ``account.tier`` is read only for a tier outside the active scheme (none after an activation).
    current = next((t for t in tiers if t.pk == account.tier_id), None) or account.tier
    next_tier = next((t for t in tiers if current is None or t.threshold > current.threshold), None)
    history = prepared_rows(shape="widget-history", values={"account": account.pk}, build=lambda marked: (
        LedgerEntry.objects.filter(account_id=marked["account"]).order_by("-occurred_at", "-pk")
        .values_list("points", "kind", "reason", "occurred_at", "available_at", "created_at")[:20]))
    codes = prepared_rows(shape="widget-codes", values={"account": account.pk, "at": at}, build=lambda marked: (
        Redemption.objects.filter(account_id=marked["account"], status=RedemptionStatus.ISSUED)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=marked["at"])).order_by("pk")
        .values_list("code", "reward__name", "reward__names", "expires_at")))
    state.update({
        "balance": {"available": available, "pending": pending},
        # Progress to the next tier in the scheme's basis: money in the shop's currency ("spend
        # $120 more for Gold") or points ("earn 300 more points for Gold").
        "tier": {"id": current.pk if current else None,
                 "name": tier_name(current) if current else None,
                 "perks": current.perks if current else {},
                 "basis": scheme.basis if scheme else None,
                 "currency": shop.currency,
                 "progress": str(progress),
                 "next": tier_name(next_tier) if next_tier else None,
                 "next_threshold": str(next_tier.threshold) if next_tier else None,
                 "remaining": str(max(next_tier.threshold - progress, Decimal("0"))) if next_tier else None},
        "referral": {"code": account.referral_code,
                     "link": adapter_for(shop.platform).referral_link(shop=shop, code=account.referral_code)},
        # The shopper's activity, newest first by when it happened (an order's points carry the
        # order's date, also when the backfill wrote them at install: ``recorded_at``).
        "history": [
            {"points": points, "kind": kind, "reason": reason, "at": occurred_at.isoformat(),
             "available_at": available_at.isoformat(), "recorded_at": created_at.isoformat()}
            for points, kind, reason, occurred_at, available_at, created_at in history
        ],
        "codes": [
            {"code": code, "reward": name_in(names, name, language),
             "expires_at": expires_at.isoformat() if expires_at else None}
            for code, name, names, expires_at in codes
        ],
    })
    for reward in state["rewards"]:
        tier_ok = reward["tier_only_id"] is None or (current is not None and current.pk == reward["tier_only_id"])
        reward["unlocked"] = available >= reward["points_cost"] and tier_ok
        reward["locked_reason"] = None if reward["unlocked"] else ("tier" if not tier_ok else "points")
    return state


def shopper_widget_state(*, shop: Shop, customer_platform_id: str, language: str
                         ) -> tuple[Account | None, dict[str, Any]]:
    """The widget's ``GET``: the logged-in shopper's account (``None``: logged out, or not opened
    yet) and the state, in 3 statements for a shopper and none for a guest (shop data cached)."""
    snapshot = program_snapshot(shop=shop)
    at = timezone.now()
    account = widget_account(shop=shop, customer_platform_id=customer_platform_id, scheme=snapshot.scheme, at=at)
    return account, widget_state(shop=shop, account=account, language=language, snapshot=snapshot, at=at)


def widget_preview_state(*, shop: Shop, language: str) -> dict[str, dict[str, Any]]:
    """The widget designer's preview: what a guest sees (the real state) and what a member would
    see, with a made-up balance, halfway to the second tier, and a sample referral link (in memory:
    a read writes nothing).  The designer's unsaved settings are applied in the page."""
    guest = widget_state(shop=shop, account=None, language=language)
    tiers = guest["tiers"]
    current, following = (tiers[0] if tiers else None), (tiers[1] if len(tiers) > 1 else None)
    goal = Decimal(following["threshold"]) if following else Decimal("0")
    progress = (goal / 2).quantize(Decimal("1")) if following else Decimal("0")
    cheapest = min((r["points_cost"] for r in guest["rewards"]), default=100)
    balance = max(cheapest + cheapest // 5, 120)
    now = timezone.now()
    member = {
        **guest, "logged_in": True, "member": True,
        "balance": {"available": balance, "pending": 40},
        "tier": {"id": current["id"] if current else None, "name": current["name"] if current else None,
                 "perks": current["perks"] if current else {}, "basis": guest["tier_basis"], "currency": shop.currency,
                 "progress": str(progress), "next": following["name"] if following else None,
                 "next_threshold": following["threshold"] if following else None,
                 "remaining": str(goal - progress) if following else None},
        "referral": {"code": "PREVIEW", "link": adapter_for(shop.platform).referral_link(shop=shop, code="PREVIEW")},
        "history": [{"points": balance, "kind": "earn", "reason": "", "at": (now - timedelta(days=3)).isoformat(),
                     "available_at": (now - timedelta(days=3)).isoformat(),
                     "recorded_at": (now - timedelta(days=3)).isoformat()}],
        "codes": [],
        "rewards": [],
    }
    for reward in guest["rewards"]:
        tier_ok = reward["tier_only_id"] is None or (current is not None and reward["tier_only_id"] == current["id"])
        unlocked = tier_ok and reward["points_cost"] <= balance
        member["rewards"].append({**reward, "unlocked": unlocked,
                                  "locked_reason": None if unlocked else ("tier" if not tier_ok else "points")})
    return {"guest": guest, "member": member}


def points_accounting(*, shop: Shop, start: date, end: date) -> dict[str, Any]:
    """Earned / redeemed / reversed / expired / adjusted per day (shop's time zone) of when it
    happened (``occurred_at``: points for a backfilled order fall on the order's day, not on
    install day), and the liability: outstanding points (spendable and pending) valued at the
    program's point value."""
    zone = ZoneInfo(shop.timezone or "UTC")
    since = datetime.combine(start, time.min, tzinfo=zone)
    until = datetime.combine(end + timedelta(days=1), time.min, tzinfo=zone)
    rows = (
        LedgerEntry.objects.filter(shop=shop, occurred_at__gte=since, occurred_at__lt=until)
        .annotate(day=TruncDate("occurred_at", tzinfo=zone))
        .values("day", "kind")
        .annotate(points=Sum("points"))
        .order_by("day", "kind")
    )
    days: dict[str, dict[str, int]] = {}
    for row in rows:
        entry = days.setdefault(row["day"].isoformat(), {k: 0 for k in ("earned", "redeemed", "reversed", "expired",
                                                                           "adjusted")})
        column = {"earn": "earned", "redeem": "redeemed", "reverse": "reversed", "expire": "expired"}.get(
            row["kind"], "adjusted")
        entry[column] += row["points"]
    program = program_get(shop=shop)
    outstanding = LedgerEntry.objects.filter(shop=shop).aggregate(points=Sum("points"))["points"] or 0
    return {
        "days": days,
        "outstanding_points": outstanding,
        "liability": money_str(Decimal(outstanding) * program.point_value),
        "currency": shop.currency,
    }


@dataclass(frozen=True)
class FavouriteCategory:
    name: str
    spend: Decimal
    product_platform_ids: tuple[str, ...]


def favourite_category(*, account: Account, limit: int = 100) -> FavouriteCategory | None:
    """The category the shopper spent most on (counted orders: a test or refunded one is no taste),
    with its products."""
    lines = OrderLine.objects.filter(counted_order_q(prefix="order__"), shop_id=account.shop_id, product__isnull=False)
    lines = lines.filter(order__customer_id=account.customer_id) if account.customer_id else lines.filter(
        order__email=account.email)
    best = (lines.annotate(category=Coalesce(NullIf("product__category", Value("")), "product__product_type"))
            .exclude(category="")
            .values("category")
            .annotate(spend=Sum(F("unit_price") * F("quantity") - F("total_discount")))
            .order_by("-spend", "category")
            .first())
    if best is None:
        return None
    products = Product.objects.filter(shop_id=account.shop_id).filter(
        Q(category=best["category"]) | Q(category="", product_type=best["category"])
    ).values_list("platform_id", flat=True)[:limit]
    return FavouriteCategory(name=best["category"], spend=best["spend"], product_platform_ids=tuple(products))


@dataclass(frozen=True)
class ReferralOffer:
    """What a friend who opens a referral link is offered: who invites them (first name only,
    never the email) and their first-order discount."""

    code: str
    referrer_first_name: str
    discount_percent: int
    own_link: bool  # the logged-in shopper opened their own link
    email_required: bool  # a guest, or a shopper whose email we do not know yet: the claim needs one


def referral_offer(*, shop: Shop, code: str, customer_platform_id: str = "") -> ReferralOffer | None:
    """The offer behind a referral code, or ``None`` for an unknown code or a paused program;
    ``customer_platform_id``: the logged-in shopper, to tell the referrer's own visit."""
    program = program_get(shop=shop)
    referrer = Account.objects.filter(shop=shop, referral_code=code.strip().upper()).select_related(
        "customer").first()
    if referrer is None or not program.is_enabled:
        return None
    first_name = (referrer.customer.first_name if referrer.customer else "").strip().split(" ")[0]
    known_email = bool(customer_platform_id) and Customer.objects.filter(
        shop=shop, platform_id=customer_platform_id).exclude(email="").exists()
    return ReferralOffer(code=referrer.referral_code, referrer_first_name=first_name,
                         discount_percent=program.referral_friend_discount_percent,
                         own_link=bool(customer_platform_id) and referrer.customer is not None
                         and referrer.customer.platform_id == customer_platform_id,
                         email_required=not known_email)


#: How long a friend's first-order code stays valid after the claim.
FRIEND_CODE_DAYS = 30


def friend_code_usable(*, shop: Shop, code: str) -> bool:
    """Whether a friend's first-order code still waits for its order (the widget stops showing a
    used, refused or expired one)."""
    return Referral.objects.filter(
        shop=shop, friend_code=code.strip().upper(), friend_order__isnull=True,
        status__in=[ReferralStatus.PENDING, ReferralStatus.REVIEW],
        created_at__gt=timezone.now() - timedelta(days=FRIEND_CODE_DAYS),
    ).exists()


def orders_earning_count(*, shop: Shop, since: datetime) -> int:
    """Orders that earned purchase points since ``since`` (written then; the merchant's backfill of
    history not counted): what the plan's monthly order limit counts."""
    return (LedgerEntry.objects.filter(shop=shop, kind=EntryKind.EARN, source=EntrySource.ORDER, created_at__gte=since)
            .exclude(actor=HISTORY_ACTOR).count())


# --- the merchant's customer pages -------------------------------------------------------------

def account_search(*, shop: Shop, query: str = "") -> QuerySet[Account]:
    """The shop's loyalty accounts matching ``query``, newest first, each with its spendable
    balance (``available``) summed in the same query.  Every word of the query must match the
    email, first or last name, or be the customer's platform id or the referral code: "dana
    levi", "dana@example.com", "7712345" all find Dana."""
    now = timezone.now()
    accounts = (Account.objects.filter(shop=shop).select_related("customer", "tier")
                .annotate(available=Coalesce(Sum("entries__points", filter=Q(entries__available_at__lte=now)),
                                             Value(0))))
    for word in query.split()[:8]:
        accounts = accounts.filter(
            Q(customer__email__icontains=word) | Q(customer__first_name__icontains=word)
            | Q(customer__last_name__icontains=word) | Q(customer__platform_id=word)
            | Q(customer__isnull=True, email__icontains=word) | Q(referral_code=word.upper())
        )
    return accounts.order_by("-created_at", "-pk")


def account_get(*, shop: Shop, account_id: int) -> Account | None:
    """One of this shop's accounts (``None`` for another shop's: the caller answers 404)."""
    return (Account.objects.filter(shop=shop, pk=account_id)
            .select_related("customer", "tier", "manual_tier").first())


def account_entries(*, account: Account) -> QuerySet[LedgerEntry]:
    """The account's ledger, newest first by when it happened, with who wrote each entry."""
    return (LedgerEntry.objects.filter(shop_id=account.shop_id, account=account).select_related("created_by")
            .order_by("-occurred_at", "-pk"))


def account_referrals(*, account: Account) -> QuerySet[Referral]:
    """Referrals the account made, and the one that brought the customer in."""
    brought_in = Q(friend_customer_id=account.customer_id) if account.customer_id else Q(pk__in=[])
    return (Referral.objects.filter(shop_id=account.shop_id).filter(Q(referrer=account) | brought_in)
            .select_related("referrer__customer").order_by("-created_at", "-pk"))


def accounts_by_id(*, shop: Shop, account_ids: list[int]) -> dict[int, Account]:
    """Accounts (with their customers) by id, in one query: to name the shoppers in a tier dry run."""
    return {account.pk: account
            for account in Account.objects.filter(shop=shop, pk__in=account_ids).select_related("customer", "tier")}
