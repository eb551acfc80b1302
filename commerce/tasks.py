"""Outbox dispatch.  Subscribers (loyalty, campaigns) register here as they arrive."""

from celery import shared_task

from commerce import events


@shared_task
def dispatch_pending_events() -> int:
    return events.dispatch_pending()
