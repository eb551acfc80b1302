"""Dashboard background work: thin wrappers around services."""

from celery import shared_task

from commerce.models import Shop
from dashboard.onboarding import onboarding_launch


@shared_task
def onboarding_launch_run(shop_id: int) -> None:
    """The set-up guide's launch: the history backfill, applied once (a second run, or a second
    click's run, finds it launched and does nothing)."""
    shop = Shop.objects.filter(pk=shop_id).first()
    if shop is not None:
        onboarding_launch(shop=shop)
