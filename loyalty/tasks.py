"""Loyalty background work: thin wrappers around services."""

from celery import shared_task

from commerce.models import Shop
from loyalty.models import Account, Program
from loyalty.services import actions, expiry, tiers


@shared_task
def tiers_review_all() -> int:
    """Daily: apply downgrades whose period and grace are over (upgrades happen at once)."""
    reviewed = 0
    for shop in Shop.objects.filter(pk__in=Program.objects.filter(is_enabled=True).values("shop_id")):
        for account_id in tiers.accounts_due_for_review(shop=shop):
            tiers.tier_evaluate(account=Account.objects.get(pk=account_id))
            reviewed += 1
    return reviewed


@shared_task
def points_expire_all() -> int:
    """Daily: expire points (and warn ahead) in every shop with an expiry mode."""
    return sum(expiry.shop_expire(shop=shop)
               for shop in Shop.objects.filter(pk__in=Program.objects.filter(is_enabled=True).values("shop_id")))


@shared_task
def birthdays_award_all() -> int:
    """Daily: birthday points, in each shop's own time zone."""
    return sum(actions.birthdays_award(shop=shop)
               for shop in Shop.objects.filter(pk__in=Program.objects.filter(is_enabled=True).values("shop_id")))
