"""Celery tasks: thin, idempotent wrappers that reload by primary key and call one service."""

import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from commerce import events
from commerce.consent import consent_changes_unsynced
from commerce.models import Platform, Shop, ShopStatus
from integrations import billing, consent, inbox_waker, services, webhooks
from integrations import selectors as sync_selectors
from integrations.models import SyncKind, SyncRun, SyncStatus
from integrations.platforms import PlatformUnavailable, adapter_for

logger = logging.getLogger(__name__)


@shared_task(acks_late=True)
def process_webhook_delivery(delivery_pk: int) -> str:
    return webhooks.delivery_process(delivery_pk=delivery_pk)


@shared_task(acks_late=True)
def drain_inbox() -> int:
    """Process waiting inbox rows in batches; published by the web processes' waker after a
    commit, and by beat as a safety net.  Runs for at most ``INBOX_DRAIN_SECONDS``, then hands
    what is left to a fresh drain (so other tasks get a turn).  After each batch it dispatches
    the events that batch wrote: otherwise, under a backlog, the drains would keep both worker
    slots and the points would wait behind the whole inbox."""
    inbox_waker.wake_taken()
    result = webhooks.inbox_drain(batch_size=settings.INBOX_DRAIN_BATCH, seconds=settings.INBOX_DRAIN_SECONDS,
                                  after_batch=events.dispatch_pending)
    if result.more:
        drain_inbox.delay()
    return result.deliveries


@shared_task
def retry_due_deliveries() -> int:
    """The sweep: failed deliveries due for a retry and rows nobody picked up (their wake-up was
    lost); one drain takes them all."""
    due = webhooks.deliveries_due()
    if due:
        drain_inbox.delay()
    return len(due)


@shared_task
def prune_processed_deliveries() -> int:
    return webhooks.deliveries_prune(older_than=timedelta(days=settings.INBOX_RETENTION_DAYS))


@shared_task(acks_late=True, autoretry_for=(PlatformUnavailable,), retry_backoff=5, retry_backoff_max=600,
             max_retries=8)
def consent_write_back(change_pk: int) -> str:
    """A shopper's consent change set in the store (after the commit that recorded it)."""
    return consent.consent_write_back(change_id=change_pk)


@shared_task
def consent_write_back_due() -> int:
    """The sweep: changes older than a few minutes still not written (their own task was lost)."""
    due = consent_changes_unsynced(before=timezone.now() - timedelta(minutes=10))
    for pk in due:
        consent_write_back.delay(pk)
    return len(due)


@shared_task(acks_late=True)
def shop_after_install(shop_pk: int) -> str:
    shop = Shop.objects.filter(pk=shop_pk).first()
    if shop is None or not shop.is_installed:
        return "not installed"
    run = services.shop_after_install(shop=shop)
    run_history_sync.delay(run.pk)
    return f"sync {run.pk}"


@shared_task(acks_late=True)
def run_history_sync(run_pk: int) -> str:
    run = SyncRun.objects.select_related("shop").filter(pk=run_pk).first()
    if run is None or run.status == SyncStatus.COMPLETED:
        return "nothing to do"
    if not run.shop.is_installed:
        return "shop not installed"
    adapter_for(run.shop.platform).history_sync_run(run=run)
    return f"sync {run.pk} {run.status}"


@shared_task
def reconcile_shop(shop_pk: int) -> dict:
    shop = Shop.objects.filter(pk=shop_pk).first()
    if shop is None or not shop.is_installed:
        return {}
    if SyncRun.objects.filter(shop=shop, kind=SyncKind.HISTORY).exclude(status=SyncStatus.COMPLETED).exists():
        return {"skipped": "history sync not finished"}
    return adapter_for(shop.platform).reconcile(shop=shop)


@shared_task
def reconcile_all_shops() -> int:
    shops = list(
        Shop.objects.filter(status=ShopStatus.INSTALLED).exclude(platform=Platform.STANDALONE)
        .values_list("pk", flat=True)
    )
    for pk in shops:
        reconcile_shop.delay(pk)
        plan_sync_shop.delay(pk)
    return len(shops)


@shared_task
def plan_sync_shop(shop_pk: int) -> str:
    """The reconciliation of the shop's plan: what the platform's billing has active now (catches a
    lost ``app_subscriptions/update``)."""
    shop = Shop.objects.filter(pk=shop_pk).first()
    if shop is None or not shop.is_installed:
        return "shop not installed"
    try:
        row = billing.plan_sync(shop=shop)
    except Exception as error:  # the platform is away or refused: the next run tries again
        logger.warning("%s: plan not checked (%s)", shop.domain, error)
        return f"plan not checked: {error}"
    return f"plan {row.plan}"


@shared_task
def resume_stalled_history_syncs() -> int:
    """A worker died mid-sync, or the sync failed on something transient: pick it up again."""
    runs = sync_selectors.history_syncs_to_resume()
    for run in runs:
        run_history_sync.delay(run.pk)
    return len(runs)
