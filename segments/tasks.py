"""Segment background work: thin wrappers around services."""

from celery import shared_task

from commerce.models import Shop, ShopStatus
from segments import services


@shared_task
def recompute_all_shops() -> int:
    """Daily: every installed shop's scores and memberships (time passing moves customers into
    at-risk and churned).  Returns the number of shops done."""
    done = 0
    for shop in Shop.objects.filter(status=ShopStatus.INSTALLED).order_by("pk"):
        services.shop_recompute(shop=shop)
        done += 1
    return done


@shared_task
def recompute_shop(shop_id: int) -> int:
    shop = Shop.objects.filter(pk=shop_id).first()
    return services.shop_recompute(shop=shop) if shop is not None else 0
