"""Outbox dispatch, failed-delivery retries, and pruning.  Thin wrappers around ``commerce.events``."""

from datetime import timedelta

from celery import shared_task
from django.conf import settings

from commerce import events


@shared_task
def dispatch_pending_events(retries: bool = True) -> int:
    """Pending events, then (the beat, each minute) the failed deliveries that are due.  The
    dispatch scheduled after each commit passes ``retries=False``: it costs what it did before."""
    done = events.dispatch_pending()
    if retries:
        done += events.event_deliveries_retry_due()
    return done


@shared_task
def prune_resolved_event_deliveries() -> int:
    """Failures resolved (by a retry or an operator) go after ``INBOX_RETENTION_DAYS``, as the inbox's do."""
    return events.event_deliveries_prune(older_than=timedelta(days=settings.INBOX_RETENTION_DAYS))
