"""Campaign background work: the scheduler and the daily scans."""

from celery import shared_task

from campaigns.services import engine

# Beat starts the scheduler every minute; a run stops taking new batches after this long.
SCHEDULER_RUN_SECONDS = 50


@shared_task
def run_due_steps() -> int:
    return engine.run_due_for(seconds=SCHEDULER_RUN_SECONDS)


@shared_task
def daily_scans() -> int:
    return engine.daily_scans()
