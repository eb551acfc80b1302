"""The merchant's rewards: create, change, switch off.  The merchant API and the dashboard's
settings pages both call these, so a reward follows the same rules wherever it is edited.

A reward is never deleted (its redemptions point at it): switching it off hides it from the
widget and stops new redemptions; codes already issued keep working until they expire."""

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from commerce.models import Shop
from loyalty.models import Reward, RewardKind, Tier

#: The reward fields a merchant sets.
REWARD_SETTINGS = (
    "name", "names", "kind", "points_cost", "value", "minimum_subtotal", "collection_platform_id",
    "variant_platform_id", "code_valid_days", "tier_only", "personalised", "is_active",
)
MAX_CODE_VALID_DAYS = 365
MAX_NAME_LENGTH = 200


def reward_languages() -> tuple[str, ...]:
    """The languages a reward can be named in besides its default ``name`` (English)."""
    default = settings.LANGUAGE_CODE.split("-")[0]
    return tuple(code for code, _name in settings.LANGUAGES if code != default)


def _names_clean(raw: Any) -> dict[str, str]:
    if raw in (None, ""):
        return {}
    if not isinstance(raw, dict):
        raise ValidationError({"names": _("Names are given per language: {\"he\": \"…\", \"fa\": \"…\"}.")})
    languages = reward_languages()
    cleaned: dict[str, str] = {}
    for language, name in raw.items():
        if language not in languages:
            raise ValidationError({"names": _("Names can be given in: %(languages)s.")
                                   % {"languages": ", ".join(languages)}})
        if not isinstance(name, str) or len(name.strip()) > MAX_NAME_LENGTH:
            raise ValidationError({"names": _("A name is text of at most %(most)d characters.")
                                   % {"most": MAX_NAME_LENGTH}})
        if name.strip():
            cleaned[language] = name.strip()
    return cleaned


def reward_validate(*, reward: Reward) -> None:
    """The rules a reward follows, checked on the reward as it would be saved; raises
    ``ValidationError`` keyed by field."""
    errors: dict[str, Any] = {}
    if not (reward.name or "").strip():
        errors["name"] = _("A reward needs a name.")
    if reward.points_cost is None or reward.points_cost < 1:
        errors["points_cost"] = _("A reward costs at least 1 point.")
    value = Decimal(reward.value if reward.value is not None else 0)
    if reward.kind == RewardKind.PERCENTAGE and not 0 < value <= 100:
        errors["value"] = _("A percentage is more than 0 and at most 100.")
    if reward.kind == RewardKind.FIXED_AMOUNT and value <= 0:
        errors["value"] = _("An amount off must be more than 0.")
    if reward.kind in (RewardKind.FREE_SHIPPING, RewardKind.FREE_PRODUCT) and value < 0:
        errors["value"] = _("The value cannot be negative.")
    if reward.kind == RewardKind.FREE_PRODUCT and not (reward.variant_platform_id or "").strip():
        errors["variant_platform_id"] = _("A free product needs the product variant's id.")
    if reward.minimum_subtotal is not None and reward.minimum_subtotal < 0:
        errors["minimum_subtotal"] = _("The minimum order cannot be negative.")
    if not 1 <= reward.code_valid_days <= MAX_CODE_VALID_DAYS:
        errors["code_valid_days"] = _("A code is valid for 1 to %(most)d days.") % {"most": MAX_CODE_VALID_DAYS}
    if reward.tier_only_id is not None and not Tier.objects.filter(pk=reward.tier_only_id,
                                                                    shop_id=reward.shop_id).exists():
        errors["tier_only"] = _("Unknown tier.")
    if errors:
        raise ValidationError(errors)


def _apply(reward: Reward, data: Mapping[str, Any]) -> list[str]:
    unknown = set(data) - set(REWARD_SETTINGS)
    if unknown:
        raise ValidationError({name: _("This is not a reward setting.") for name in sorted(unknown)})
    for name, value in data.items():
        if name == "names":
            value = _names_clean(value)
        elif name == "name":
            value = (value or "").strip()
        elif name in ("collection_platform_id", "variant_platform_id"):
            value = (value or "").strip()
        elif name == "tier_only" and value is not None and not isinstance(value, Tier):
            value = Tier.objects.filter(pk=value, shop_id=reward.shop_id).first() or Tier(pk=value)
        setattr(reward, name, value)
    return list(data)


@transaction.atomic
def reward_create(*, shop: Shop, data: Mapping[str, Any]) -> Reward:
    reward = Reward(shop=shop)
    _apply(reward, data)
    reward_validate(reward=reward)
    reward.save()
    return reward


@transaction.atomic
def reward_update(*, reward: Reward, changes: Mapping[str, Any]) -> Reward:
    """Change the given fields of a reward; nothing is saved when any breaks a rule.  Codes
    already issued keep the terms they were made with."""
    reward = Reward.objects.select_for_update().get(pk=reward.pk, shop_id=reward.shop_id)
    fields = _apply(reward, changes)
    reward_validate(reward=reward)
    if fields:
        reward.save(update_fields=fields)
    return reward


def reward_active_set(*, reward: Reward, active: bool) -> Reward:
    """Switch a reward off (gone from the widget, no new redemptions) or back on."""
    return reward_update(reward=reward, changes={"is_active": active})
