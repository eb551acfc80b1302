"""The per-shop program and its defaults: created switched off at install, the merchant turns it on.

Reads use ``loyalty.selectors.program_get``, which never creates the program."""

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from commerce.models import Shop
from loyalty.models import (
    Badge,
    BadgeKind,
    EarningRule,
    ExpiryMode,
    Program,
    Reward,
    RewardKind,
    RuleKind,
    Tier,
    TierScheme,
)
from retention_app.errors import ApplicationError

DEFAULT_RULE_POINTS = {
    RuleKind.PURCHASE: 0,  # purchase points come from points_per_currency_unit
    RuleKind.SIGNUP: 50,
    RuleKind.BIRTHDAY: 100,
    RuleKind.REVIEW: 25,
    RuleKind.SURVEY: 20,
    RuleKind.REFERRAL_REFERRER: 200,
    RuleKind.REFERRAL_FRIEND: 100,
    RuleKind.SOCIAL_FOLLOW: 10,
    RuleKind.SOCIAL_SHARE: 10,
}
DEFAULT_TIERS = (
    ("Bronze", Decimal("0"), Decimal("1")),
    ("Silver", Decimal("500"), Decimal("1.25")),
    ("Gold", Decimal("1500"), Decimal("1.5")),
)
DEFAULT_REWARDS = (
    ("5 off your order", RewardKind.FIXED_AMOUNT, 100, Decimal("5")),
    ("10% off your order", RewardKind.PERCENTAGE, 250, Decimal("10")),
    ("Free shipping", RewardKind.FREE_SHIPPING, 150, Decimal("0")),
)


def program_defaults_create(*, shop: Shop) -> Program:
    """The shop's program, created with its default earning rules, tiers, rewards and badges when
    it has none (at install; idempotent, so a reinstall or a replay changes nothing)."""
    program = Program.objects.filter(shop=shop).first()
    if program is not None:
        return program
    try:
        with transaction.atomic():
            return _program_create(shop=shop)
    except IntegrityError:  # created concurrently
        return Program.objects.get(shop=shop)


def _program_create(*, shop: Shop) -> Program:
    program = Program.objects.create(shop=shop, is_enabled=False)
    EarningRule.objects.bulk_create(
        [EarningRule(shop=shop, kind=kind, points=points) for kind, points in DEFAULT_RULE_POINTS.items()]
    )
    scheme = TierScheme.objects.create(shop=shop, version=1, is_active=True)
    Tier.objects.bulk_create(
        [
            Tier(shop=shop, scheme=scheme, name=name, threshold=threshold, earn_multiplier=multiplier,
                 perks={"free_shipping": name == "Gold", "early_access": name != "Bronze"})
            for name, threshold, multiplier in DEFAULT_TIERS
        ]
    )
    Reward.objects.bulk_create(
        [
            Reward(shop=shop, name=name, kind=kind, points_cost=cost, value=value)
            for name, kind, cost, value in DEFAULT_REWARDS
        ]
    )
    Badge.objects.bulk_create(
        [
            Badge(shop=shop, kind=BadgeKind.MEMBER, name="Member"),
            Badge(shop=shop, kind=BadgeKind.PARTNER, name="Partner", points=50),
            Badge(shop=shop, kind=BadgeKind.FIRST_REVIEW, name="First review", points=10),
            Badge(shop=shop, kind=BadgeKind.ORDERS, name="5 orders", threshold=5, points=100),
        ]
    )
    return program


@transaction.atomic
def program_enable(*, shop: Shop, enabled: bool = True) -> Program:
    program = program_defaults_create(shop=shop)
    program.is_enabled = enabled
    program.save(update_fields=["is_enabled", "updated_at"])
    return program


def rule_for(*, shop: Shop, kind: str) -> EarningRule | None:
    return EarningRule.objects.filter(shop=shop, kind=kind, is_enabled=True).first()


# --- the merchant's settings (the merchant API and the dashboard's settings pages call these) ----

#: The program fields a merchant sets; everything else on ``Program`` is the app's.
PROGRAM_SETTINGS = (
    "is_enabled", "points_per_currency_unit", "rounding", "include_tax", "include_shipping", "award_on",
    "pending_days", "negative_policy", "expiry_mode", "expiry_months", "expiry_days", "expiry_warning_days",
    "point_value", "referral_friend_discount_percent", "referral_monthly_cap", "referral_ip_weekly_limit",
)
MAX_PENDING_DAYS = 365
MAX_EXPIRY_DAYS = 3650
MAX_EXPIRY_MONTHS = 120
MAX_RULE_POINTS = 1_000_000
MAX_MULTIPLIER = Decimal("100")


def program_validate(*, program: Program) -> None:
    """The rules a program's settings must follow, checked on the settings as they would be saved;
    raises ``ValidationError`` keyed by field (the API answers 400 with it, the page shows it next
    to the field)."""
    errors: dict[str, Any] = {}
    if program.points_per_currency_unit is None or Decimal(program.points_per_currency_unit) <= 0:
        errors["points_per_currency_unit"] = _(
            "Points per currency unit must be more than 0 (to stop points for orders, switch off the "
            "purchase rule).")
    if program.point_value is None or Decimal(program.point_value) < 0:
        errors["point_value"] = _("A point's value cannot be negative.")
    if program.pending_days > MAX_PENDING_DAYS:
        errors["pending_days"] = _("The return window is at most %(days)d days.") % {"days": MAX_PENDING_DAYS}
    if not 1 <= program.expiry_days <= MAX_EXPIRY_DAYS:
        errors["expiry_days"] = _("Points expire after 1 to %(days)d days.") % {"days": MAX_EXPIRY_DAYS}
    if not 1 <= program.expiry_months <= MAX_EXPIRY_MONTHS:
        errors["expiry_months"] = _("Inactivity is 1 to %(months)d months.") % {"months": MAX_EXPIRY_MONTHS}
    if program.expiry_mode == ExpiryMode.BATCH and "expiry_days" not in errors \
            and program.expiry_warning_days >= program.expiry_days:
        errors["expiry_warning_days"] = _("The warning must come before the points expire (fewer days than "
                                          "the expiry).")
    if program.referral_friend_discount_percent > 100:
        errors["referral_friend_discount_percent"] = _("A percentage is at most 100.")
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def program_update(*, shop: Shop, changes: Mapping[str, Any]) -> Program:
    """Change the merchant's program settings (only the fields given); nothing is saved when any
    setting breaks a rule.  Orders earn at the new settings from the next one on."""
    unknown = set(changes) - set(PROGRAM_SETTINGS)
    if unknown:
        raise ValidationError({name: _("This is not a program setting.") for name in sorted(unknown)})
    program = program_defaults_create(shop=shop)
    program = Program.objects.select_for_update().get(pk=program.pk)
    for name, value in changes.items():
        setattr(program, name, value)
    program_validate(program=program)
    program.save(update_fields=[*changes, "updated_at"])
    return program


def _multipliers_clean(raw: Any) -> dict[str, dict[str, str]]:
    """``{"products": {"<platform id>": "<factor>"}}``: each factor more than 0, at most 100."""
    if not isinstance(raw, dict) or set(raw) - {"products", "collections"}:
        raise ValidationError({"multipliers": _("Multipliers are {\"products\": {\"<id>\": \"<factor>\"}}.")})
    cleaned: dict[str, dict[str, str]] = {}
    for group, factors in raw.items():
        if not isinstance(factors, dict):
            raise ValidationError({"multipliers": _("Multipliers are {\"products\": {\"<id>\": \"<factor>\"}}.")})
        cleaned[group] = {}
        for platform_id, factor in factors.items():
            try:
                value = Decimal(str(factor))
            except ArithmeticError:
                value = Decimal("NaN")
            if not str(platform_id).strip() or len(str(platform_id)) > 64 or not value.is_finite() \
                    or not 0 < value <= MAX_MULTIPLIER:
                raise ValidationError({"multipliers": _(
                    "Each product needs its id and a factor more than 0 and at most %(most)s (%(id)s).")
                    % {"most": MAX_MULTIPLIER, "id": str(platform_id)[:64] or "?"}})
            cleaned[group][str(platform_id).strip()] = str(value.normalize())
    return cleaned


@transaction.atomic
def rule_update(*, shop: Shop, kind: str, changes: Mapping[str, Any]) -> EarningRule:
    """Switch an earning rule on or off, or change its points (or, for purchases, the product
    multipliers); the shop's own rule only."""
    program_defaults_create(shop=shop)
    rule = EarningRule.objects.select_for_update().filter(shop=shop, kind=kind).first()
    if rule is None:
        raise ApplicationError("not found", status=404)
    errors: dict[str, Any] = {}
    unknown = set(changes) - {"points", "is_enabled", "multipliers"}
    for name in sorted(unknown):
        errors[name] = _("This is not an earning rule setting.")
    if "points" in changes and not 0 <= int(changes["points"]) <= MAX_RULE_POINTS:
        errors["points"] = _("Points are 0 to %(most)d.") % {"most": MAX_RULE_POINTS}
    if "multipliers" in changes and changes["multipliers"] and kind != RuleKind.PURCHASE:
        errors["multipliers"] = _("Only the purchase rule has product multipliers.")
    if errors:
        raise ValidationError(errors)
    for name, value in changes.items():
        setattr(rule, name, _multipliers_clean(value) if name == "multipliers" else value)
    rule.save(update_fields=list(changes))
    return rule
