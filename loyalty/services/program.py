"""The per-shop program and its defaults: created switched off at install, the merchant turns it on.

Reads use ``loyalty.selectors.program_get``, which never creates the program."""

from decimal import Decimal

from django.db import IntegrityError, transaction

from commerce.models import Shop
from loyalty.models import Badge, BadgeKind, EarningRule, Program, Reward, RewardKind, RuleKind, Tier, TierScheme

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
