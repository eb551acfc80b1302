"""Outbox dispatch, failed-delivery retries, and pruning.  Thin wrappers around ``commerce.events``."""

from datetime import timedelta

from celery import shared_task
from django.conf import settings

from commerce import events


@shared_task
def dispatch_pending_events() -> int:
    """Pending events first, then the failed deliveries that are due (the beat runs it each minute)."""
    return events.dispatch_pending()


@shared_task
def prune_resolved_event_deliveries() -> int:
    """Failures resolved (by a retry or an operator) go after ``INBOX_RETENTION_DAYS``, as the inbox's do."""
    return events.event_deliveries_prune(older_than=timedelta(days=settings.INBOX_RETENTION_DAYS))
