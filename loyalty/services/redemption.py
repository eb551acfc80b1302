"""Redeeming points for a reward: a real, single-use discount code in the store.

1. In one short transaction: lock the account row, check the balance, write the redemption and
   its ledger entry.  Concurrent redemptions queue on the lock, so they can never overdraw.
2. Outside the transaction: ask the platform adapter to create the code.
3. If the platform refuses or is unreachable, give the points back (a compensating entry keyed
   on the redemption) and tell the shopper plainly.
"""

import logging
import secrets
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from commerce.models import Order
from integrations.platforms import DiscountCodeTaken, DiscountSpec, adapter_for
from loyalty.lock_objects import account_lock
from loyalty.models import Account, EntryKind, EntrySource, Redemption, RedemptionStatus, Reward
from loyalty.selectors import program_get
from loyalty.services.ledger import account_balance, entry_write
from retention_app.errors import ApplicationError

logger = logging.getLogger(__name__)

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def _code() -> str:
    return "CB-" + "".join(secrets.choice(CODE_ALPHABET) for _ in range(10))


def _spec(redemption: Redemption, account: Account, products: tuple[str, ...] = ()) -> DiscountSpec:
    reward = redemption.reward
    return DiscountSpec(
        code=redemption.code,
        title=f"Comeback reward: {reward.name}",
        kind=reward.kind,
        value=reward.value,
        minimum_subtotal=reward.minimum_subtotal,
        starts_at=redemption.created_at,
        ends_at=redemption.expires_at,
        usage_limit=1,
        customer_platform_ids=(account.customer.platform_id,) if account.customer else (),
        collection_platform_ids=(reward.collection_platform_id,) if reward.collection_platform_id else (),
        product_platform_ids=products,
        product_variant_platform_ids=(reward.variant_platform_id,) if reward.variant_platform_id else (),
    )


def _reserve(*, account: Account, reward: Reward) -> Redemption:
    with transaction.atomic():
        locked = account_lock(account_id=account.pk)
        program = program_get(shop=locked.shop)
        if not program.is_enabled:
            raise ApplicationError("the loyalty program is not active", status=409, code="program_inactive")
        if not reward.is_active or reward.shop_id != locked.shop_id:
            raise ApplicationError("this reward is not available", status=404, code="reward_unavailable")
        if reward.tier_only_id and locked.tier_id != reward.tier_only_id:
            raise ApplicationError("this reward is for another tier", status=403, code="tier_required")
        available = account_balance(account=locked).available
        if available < reward.points_cost:
            raise ApplicationError("not enough points", status=409, code="not_enough_points",
                                   extra={"available": available, "needed": reward.points_cost})
        now = timezone.now()
        redemption = Redemption.objects.create(
            shop_id=locked.shop_id, account=locked, reward=reward, points=reward.points_cost, code=_code(),
            expires_at=now + timedelta(days=reward.code_valid_days),
        )
        entry_write(account=locked, kind=EntryKind.REDEEM, source=EntrySource.REDEMPTION,
                    source_id=str(redemption.pk), key=f"redeem:{redemption.pk}", points=-reward.points_cost,
                    available_at=now, reason=reward.name)
        return redemption


def _compensate(*, redemption: Redemption, error: str) -> None:
    with transaction.atomic():
        account = account_lock(account_id=redemption.account_id)
        # The shopper sees this reason in their history: keep the technical error on the redemption.
        entry_write(account=account, kind=EntryKind.ADJUST, source=EntrySource.REDEMPTION,
                    source_id=str(redemption.pk), key=f"redeem-returned:{redemption.pk}", points=redemption.points,
                    reason="points returned: the discount code could not be created", announce=False)
        Redemption.objects.filter(pk=redemption.pk).update(status=RedemptionStatus.FAILED, error=error[:500])


def _personal_scope(account: Account, reward: Reward) -> tuple[str, tuple[str, ...]]:
    if not reward.personalised:
        return "", ()
    from loyalty.selectors import favourite_category

    favourite = favourite_category(account=account)
    if favourite is None or not favourite.product_platform_ids:
        return "", ()  # no history yet: the reward applies to the whole order
    return favourite.name, favourite.product_platform_ids


def reward_redeem(*, account: Account, reward: Reward) -> Redemption:
    scope, products = _personal_scope(account, reward)
    redemption = _reserve(account=account, reward=reward)
    if scope:
        redemption.scope = scope
        redemption.save(update_fields=["scope"])
    for _attempt in range(3):
        try:
            created = adapter_for(account.shop.platform).discount_code_create(
                shop=account.shop, spec=_spec(redemption, account, products)
            )
            break
        except DiscountCodeTaken:
            # Vanishingly rare with 10 random characters; pick another code and try again.
            redemption.code = _code()
            redemption.save(update_fields=["code"])
        except Exception as error:  # network, platform refusal, uninstalled shop...
            logger.warning("redemption %s: discount code creation failed: %s", redemption.pk, error)
            _compensate(redemption=redemption, error=f"{type(error).__name__}: {error}")
            raise ApplicationError(
                "We could not create your discount code right now; your points were returned.", status=502,
                code="platform_failed",
            ) from error
    else:
        _compensate(redemption=redemption, error="no free discount code")
        raise ApplicationError("We could not create your discount code; your points were returned.", status=502,
                               code="platform_failed")
    redemption.platform_discount_id = created.platform_id
    redemption.status = RedemptionStatus.ISSUED
    redemption.save(update_fields=["platform_discount_id", "status"])
    return redemption


def redemptions_mark_used(*, order: Order) -> int:
    """An order that used a reward code marks the redemption used."""
    codes = [code.upper() for code in order.discount_codes or ()]
    if not codes:
        return 0
    return Redemption.objects.filter(
        shop_id=order.shop_id, code__in=codes, status=RedemptionStatus.ISSUED
    ).update(status=RedemptionStatus.USED, order=order, used_at=order.processed_at or timezone.now())
