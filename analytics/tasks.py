"""Analytics background work: thin wrappers around services."""

from celery import shared_task

from analytics.services.rollups import rollups_refresh
from commerce.models import Shop, ShopStatus


@shared_task
def rollups_refresh_all() -> int:
    """Every minute: bring each installed shop's rollups up to date (only what changed since the
    last run); returns the customers re-aggregated."""
    return sum(rollups_refresh(shop=shop).customers for shop in Shop.objects.filter(status=ShopStatus.INSTALLED))
