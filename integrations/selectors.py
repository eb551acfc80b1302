"""Reads for the integration views and the admin, scoped to one shop."""

from datetime import timedelta
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from commerce.models import Customer, Order, Shop
from integrations.models import DataRequestExport, DeliveryStatus, SyncKind, SyncRun, SyncStatus, WebhookDelivery

STALLED_AFTER = timedelta(minutes=10)
FAILED_RETRY_AFTER = timedelta(minutes=5)
MAX_RESUMES = 5


def sync_latest(*, shop: Shop) -> SyncRun | None:
    return SyncRun.objects.filter(shop=shop, kind=SyncKind.HISTORY).order_by("-pk").first()


def reconcile_latest(*, shop: Shop) -> SyncRun | None:
    """The shop's newest reconciliation pass (the periodic catch-up of what webhooks missed)."""
    return SyncRun.objects.filter(shop=shop, kind=SyncKind.RECONCILE).order_by("-pk").first()


def webhook_latest(*, shop: Shop) -> WebhookDelivery | None:
    """The newest webhook delivery received for the shop (by its domain: the inbox's index)."""
    return (WebhookDelivery.objects.filter(platform=shop.platform, shop_domain=shop.domain)
            .order_by("-received_at", "-pk").only("topic", "status", "received_at", "processed_at").first())


def webhook_failures(*, shop: Shop, since: timedelta = timedelta(days=1)) -> dict[str, int]:
    """The shop's deliveries of the last day that failed: ``{"retrying": n, "dead": n}``."""
    recent = WebhookDelivery.objects.filter(platform=shop.platform, shop_domain=shop.domain,
                                            received_at__gte=timezone.now() - since)
    return {"retrying": recent.filter(status=DeliveryStatus.FAILED).count(),
            "dead": recent.filter(status=DeliveryStatus.DEAD).count()}


def sync_summary(run: SyncRun | None) -> dict[str, Any] | None:
    if run is None:
        return None
    return {
        "status": run.status,
        "resource": run.resource,
        "progress": run.progress,
        "error": run.error,
        "started_at": run.started_at.isoformat(),
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
    }


def shop_status(*, shop: Shop) -> dict[str, Any]:
    return {
        "domain": shop.domain,
        "name": shop.name,
        "status": shop.status,
        "currency": shop.currency,
        "timezone": shop.timezone,
        "locale": shop.locale,
        # the platform refused our token: the merchant must reopen the app from the store's admin
        "reauthorization_required": shop.reauthorization_required,
        "customers": Customer.objects.filter(shop=shop).count(),
        "orders": Order.objects.filter(shop=shop).count(),
        "sync": sync_summary(sync_latest(shop=shop)),
    }


def data_export_list(*, shop: Shop) -> QuerySet[DataRequestExport]:
    return DataRequestExport.objects.filter(shop=shop).order_by("-created_at")


def data_export_get(*, shop: Shop, export_id: int) -> DataRequestExport | None:
    return DataRequestExport.objects.filter(shop=shop, pk=export_id).first()


def history_syncs_to_resume() -> list[SyncRun]:
    """Running syncs whose heartbeat stopped, and failed ones still worth another try."""
    now = timezone.now()
    runs = SyncRun.objects.filter(kind=SyncKind.HISTORY, shop__status="installed", resumes__lt=MAX_RESUMES).filter(
        Q(status=SyncStatus.RUNNING, heartbeat_at__lt=now - STALLED_AFTER)
        | Q(status=SyncStatus.FAILED, heartbeat_at__lt=now - FAILED_RETRY_AFTER)
    )
    return list(runs)
