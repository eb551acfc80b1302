"""The merchant's badges and challenges: create, change, switch off.

Awarding lives in ``loyalty.services.actions`` (``badges_review``, ``challenges_review``); a
switched-off badge or challenge awards nothing more, and whoever already holds it keeps it.
Refusals are ``ValidationError``s keyed by the field at fault, so a form shows each next to
its field.
"""

from datetime import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from commerce.models import Shop
from loyalty.models import Badge, BadgeKind, Challenge, ChallengeGoal, Tier, TierScheme

#: The largest reward a badge or challenge may carry (a typo guard, not a business limit).
MAX_POINTS = 1_000_000


def _tier_names(*, shop: Shop) -> set[str]:
    """Names a tier badge may name: the tiers of the active version."""
    scheme = TierScheme.objects.filter(shop=shop, is_active=True).first()
    return set(Tier.objects.filter(scheme=scheme).values_list("name", flat=True)) if scheme else set()


def _badge_check(*, shop: Shop, kind: str, name: str, threshold: int, tier_name: str, points: int,
                 badge_id: int | None) -> None:
    errors: dict[str, str] = {}
    if kind not in BadgeKind.values:
        errors["kind"] = _("Unknown badge kind.")
    if not name.strip():
        errors["name"] = _("A badge needs a name.")
    elif Badge.objects.filter(shop=shop, name__iexact=name.strip()).exclude(pk=badge_id or 0).exists():
        errors["name"] = _("Another badge has this name.")
    if kind == BadgeKind.ORDERS and threshold < 1:
        errors["threshold"] = _("The number of orders is at least 1.")
    if kind == BadgeKind.TIER and tier_name not in _tier_names(shop=shop):
        errors["tier_name"] = _("Choose one of the active tiers.")
    if not 0 <= points <= MAX_POINTS:
        errors["points"] = _("Points are between 0 and %(most)s.") % {"most": MAX_POINTS}
    if errors:
        raise ValidationError(errors)


def badge_create(*, shop: Shop, kind: str, name: str, threshold: int = 1, tier_name: str = "",
                 points: int = 0) -> Badge:
    _badge_check(shop=shop, kind=kind, name=name, threshold=threshold, tier_name=tier_name, points=points,
                 badge_id=None)
    return Badge.objects.create(shop=shop, kind=kind, name=name.strip(), threshold=max(threshold, 1),
                                tier_name=tier_name if kind == BadgeKind.TIER else "", points=points)


@transaction.atomic
def badge_update(*, badge: Badge, kind: str, name: str, threshold: int, tier_name: str, points: int,
                 is_active: bool) -> Badge:
    _badge_check(shop=badge.shop, kind=kind, name=name, threshold=threshold, tier_name=tier_name, points=points,
                 badge_id=badge.pk)
    badge.kind, badge.name, badge.threshold, badge.points, badge.is_active = (
        kind, name.strip(), max(threshold, 1), points, is_active)
    badge.tier_name = tier_name if kind == BadgeKind.TIER else ""
    badge.save()
    return badge


def badge_activate(*, badge: Badge, active: bool) -> Badge:
    Badge.objects.filter(pk=badge.pk).update(is_active=active)
    badge.is_active = active
    return badge


def _challenge_check(*, goal: str, name: str, target: Decimal, starts_at: datetime, ends_at: datetime,
                     points: int) -> None:
    errors: dict[str, str] = {}
    if goal not in ChallengeGoal.values:
        errors["goal"] = _("Unknown goal.")
    if not name.strip():
        errors["name"] = _("A challenge needs a name.")
    if target <= 0:
        errors["target"] = _("The target is more than 0.")
    elif goal in (ChallengeGoal.ORDERS, ChallengeGoal.REVIEWS) and target != target.to_integral_value():
        errors["target"] = _("A number of orders or reviews is a whole number.")
    if ends_at <= starts_at:
        errors["ends_at"] = _("The challenge ends after it starts.")
    if not 0 <= points <= MAX_POINTS:
        errors["points"] = _("Points are between 0 and %(most)s.") % {"most": MAX_POINTS}
    if errors:
        raise ValidationError(errors)


def challenge_create(*, shop: Shop, name: str, goal: str, target: Decimal, starts_at: datetime, ends_at: datetime,
                     points: int) -> Challenge:
    _challenge_check(goal=goal, name=name, target=target, starts_at=starts_at, ends_at=ends_at, points=points)
    return Challenge.objects.create(shop=shop, name=name.strip(), goal=goal, target=target, starts_at=starts_at,
                                    ends_at=ends_at, points=points)


@transaction.atomic
def challenge_update(*, challenge: Challenge, name: str, goal: str, target: Decimal, starts_at: datetime,
                     ends_at: datetime, points: int, is_active: bool) -> Challenge:
    _challenge_check(goal=goal, name=name, target=target, starts_at=starts_at, ends_at=ends_at, points=points)
    challenge.name, challenge.goal, challenge.target = name.strip(), goal, target
    challenge.starts_at, challenge.ends_at = starts_at, ends_at
    challenge.points, challenge.is_active = points, is_active
    challenge.save()
    return challenge


def challenge_activate(*, challenge: Challenge, active: bool) -> Challenge:
    Challenge.objects.filter(pk=challenge.pk).update(is_active=active)
    challenge.is_active = active
    return challenge
