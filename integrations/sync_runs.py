"""What every platform's history sync shares: saving a run's progress (with its heartbeat), the
reconciliation's high-water mark, and fresh planner statistics after a load."""

from datetime import datetime
from typing import Any

from django.db import connection
from django.utils import timezone

from commerce.models import Customer, Order, OrderLine, Product, Refund, Shop, Variant
from integrations.models import SyncCursor, SyncRun


def run_save(run: SyncRun, **changes: Any) -> None:
    """Apply ``changes`` to the run and save it; the heartbeat says the run is alive (a stalled
    run, with an old heartbeat, is resumed by the beat job)."""
    for name, value in changes.items():
        setattr(run, name, value)
    run.heartbeat_at = timezone.now()
    run.save()


def mark_advance(*, shop: Shop, resource: str, mark: datetime) -> None:
    """Move the reconciliation's high-water mark forward (never back)."""
    cursor, created = SyncCursor.objects.get_or_create(shop=shop, resource=resource,
                                                       defaults={"updated_at_mark": mark})
    if not created and mark > cursor.updated_at_mark:
        cursor.updated_at_mark = mark
        cursor.save(update_fields=["updated_at_mark"])


def statistics_refresh() -> None:
    """After a history load, give PostgreSQL's planner fresh statistics instead of waiting for
    autovacuum: plans made on empty-table estimates can be badly wrong."""
    if connection.vendor != "postgresql":
        return
    tables = [model._meta.db_table for model in (Customer, Product, Variant, Order, OrderLine, Refund)]
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE " + ", ".join(connection.ops.quote_name(table) for table in tables))
