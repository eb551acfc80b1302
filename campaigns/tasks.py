"""Campaign background work: the scheduler and the daily scans."""

from celery import shared_task

from campaigns.models import Flow
from campaigns.services import engine


@shared_task
def run_due_steps() -> int:
    return len(engine.run_due())


@shared_task
def daily_scans() -> int:
    enrolled = 0
    for flow in Flow.objects.filter(trigger="schedule:daily", is_enabled=True).select_related("shop"):
        if flow.key == "winback":
            enrolled += engine.winback_scan(flow=flow)
        elif flow.key == "holiday_greetings":
            enrolled += engine.holiday_scan(flow=flow)
        elif flow.key == "replenishment":
            enrolled += engine.replenishment_scan(flow=flow)
        else:
            enrolled += engine.dates_scan(flow=flow)
    return enrolled
