"""Reads for the integration views and the admin, scoped to one shop."""

from typing import Any

from django.db.models import QuerySet

from commerce.models import Customer, Order, Shop
from integrations.models import DataRequestExport, SyncKind, SyncRun


def sync_latest(*, shop: Shop) -> SyncRun | None:
    return SyncRun.objects.filter(shop=shop, kind=SyncKind.HISTORY).order_by("-pk").first()


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
        "customers": Customer.objects.filter(shop=shop).count(),
        "orders": Order.objects.filter(shop=shop).count(),
        "sync": sync_summary(sync_latest(shop=shop)),
    }


def data_export_list(*, shop: Shop) -> QuerySet[DataRequestExport]:
    return DataRequestExport.objects.filter(shop=shop).order_by("-created_at")


def data_export_get(*, shop: Shop, export_id: int) -> DataRequestExport | None:
    return DataRequestExport.objects.filter(shop=shop, pk=export_id).first()
