"""Wakes the inbox drainers after a webhook's commit, without a broker publish per webhook.

The ack view only sets a ``threading.Event`` (after its row is committed).  A daemon thread, one
per web process and started on first use, waits for it, clears it, publishes ONE ``drain_inbox``
message and sleeps ``INBOX_WAKE_INTERVAL_SECONDS`` before it looks again.  So a web process
publishes at most 1 / interval messages a second whatever the load, and never on the request
thread.  No wake-up is lost: the event is cleared *before* the publish, so a commit that sets it
after the clear is followed by another publish.  A publish that fails (broker down) is logged;
the beat's ``drain_inbox`` (every ``INBOX_DRAIN_EVERY_SECONDS``) then picks the rows up.
"""

import logging
import os
import threading
import time
from collections.abc import Callable

from celery import current_app
from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger(__name__)

DRAIN_TASK = "integrations.tasks.drain_inbox"
# Set (shared cache, Redis) while a wake-up waits in the queue; the drain clears it when it starts.
# Without it, a backlog fills the queue with wake-ups (every web process publishing 1 / interval a
# second) and the beat's and the outbox's tasks wait behind them.
WAKE_PENDING_KEY = "inbox:wake-pending"


def _cache_is_shared() -> bool:
    return "redis" in str(settings.CACHES["default"]["BACKEND"]).lower()


def drain_publish() -> bool:
    """One ``drain_inbox`` message (``send_task``: never run in this thread), unless one already
    waits in the queue (the shared cache says so; a drain clears the mark as it starts, so a row
    committed after that start gets a wake-up of its own).  A wake-up that waited longer than
    ``INBOX_WAKE_EXPIRES_SECONDS`` is dropped by the worker, and the mark expires with it.  In
    eager mode there is no broker to wake (rows are processed at once)."""
    if current_app.conf.task_always_eager:
        return False
    if _cache_is_shared():
        try:
            if not cache.add(WAKE_PENDING_KEY, 1, timeout=settings.INBOX_WAKE_EXPIRES_SECONDS):
                return False
        except Exception as error:  # noqa: BLE001 - cache away: publish anyway, as without the mark
            logger.debug("wake-up mark not set (%s)", error)
    try:
        current_app.send_task(DRAIN_TASK, expires=settings.INBOX_WAKE_EXPIRES_SECONDS)
    except Exception:
        wake_taken()  # nothing was queued: the next wake-up must not be held back by the mark
        raise
    return True


def wake_taken() -> None:
    """A drain starts: later commits need a wake-up of their own."""
    if _cache_is_shared():
        try:
            cache.delete(WAKE_PENDING_KEY)
        except Exception as error:  # noqa: BLE001 - the mark expires by itself
            logger.debug("wake-up mark not cleared (%s)", error)


class Waker:
    """Coalesces any number of ``wake()`` calls into at most one ``publish()`` per interval
    (``publish`` says whether it sent a message)."""

    def __init__(self, publish: Callable[[], bool], interval: Callable[[], float]) -> None:
        self._publish = publish
        self._interval = interval
        self._failures_logged_at = 0.0
        self.publishes = 0  # in this process, for tests and benches
        self.reset()

    def reset(self) -> None:
        """Forget the thread (threads do not survive a fork: gunicorn or Celery may fork a process
        that has one); the next ``wake()`` starts a new one."""
        self._lock = threading.Lock()
        self._event = threading.Event()
        self._thread: threading.Thread | None = None

    def wake(self) -> None:
        thread = self._thread
        if thread is None or not thread.is_alive():
            with self._lock:
                if self._thread is None or not self._thread.is_alive():
                    self._thread = threading.Thread(target=self._run, args=(self._event,), name="inbox-waker",
                                                    daemon=True)
                    self._thread.start()
        self._event.set()

    def _run(self, event: threading.Event) -> None:
        while True:
            event.wait()
            event.clear()
            try:
                if self._publish():
                    self.publishes += 1
            except Exception as error:  # broker away: the beat's drain is the safety net
                now = time.monotonic()
                if now - self._failures_logged_at > 60:  # once a minute, not once per wake-up
                    self._failures_logged_at = now
                    logger.warning("could not wake the inbox drainers (%s); the beat's drain will", error)
            time.sleep(self._interval())


_waker = Waker(drain_publish, lambda: settings.INBOX_WAKE_INTERVAL_SECONDS)
os.register_at_fork(after_in_child=_waker.reset)


def wake() -> None:
    """Called after a commit that left deliveries waiting in the inbox."""
    _waker.wake()


def publishes() -> int:
    """How many wake-ups this process has published."""
    return _waker.publishes
