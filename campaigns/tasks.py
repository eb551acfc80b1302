"""Campaign background work: the scheduler and the daily scans."""

from celery import shared_task

from campaigns.models import Flow
from campaigns.services import engine


@shared_task
def run_due_steps() -> int:
    return len(engine.run_due())


@shared_task
def daily_scans() -> int:
    flows = Flow.objects.filter(trigger="schedule:daily", is_enabled=True).select_related("shop")
    return sum(engine.daily_scan(flow=flow) for flow in flows)
