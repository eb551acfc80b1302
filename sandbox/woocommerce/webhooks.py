"""Webhook delivery as WooCommerce does it (``WC_Webhook::deliver``, ``deliver_ping``).

* A change queues ``(webhook, resource id)`` like Action Scheduler's
  ``woocommerce_deliver_webhook_async``; an identical delivery still waiting in the queue is not
  queued twice (WooCommerce's coalescing), and the body is built when the delivery runs, so it
  carries the resource as it is then (deleted resources: ``{"id": N}``).
* POST, ``Content-Type: application/json``, the body as ``wp_json_encode`` writes it (``\\/``),
  headers ``X-WC-Webhook-Source`` (home URL + ``/``), ``-Topic``, ``-Resource``, ``-Event``,
  ``-Signature`` (base64 HMAC-SHA256 of the raw body with the webhook's secret), ``-ID`` and
  ``-Delivery-ID`` (``wp_hash(id . time())``: two deliveries of one webhook in the same second
  share it, as on a real store), ``User-Agent: WooCommerce/x Hookshot (WordPress/y)``.
* Never retried.  2xx-302 is a success (failure count back to 0); anything else, a timeout or a
  refused connection is a failure; a failure when the count is already above 5 disables the
  webhook (the 7th consecutive failure), as ``failed_delivery`` does.
* The creation ping: POST form body ``webhook_id=N``, no signature, no topic headers.

Modes: ``async`` (a worker thread delivers as soon as it can; ``wait_idle``), ``manual`` (queued
until ``flush``) and ``sync`` (delivered inside the change, before it returns).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import requests

from .common import USER_AGENT, utc_now

if TYPE_CHECKING:
    from .store import WooStore, WooWebhook

log = logging.getLogger(__name__)
MAX_FAILURES = 5


def wp_json(data: Any) -> bytes:
    """``wp_json_encode``: ASCII with ``\\uXXXX`` escapes and escaped slashes."""
    return json.dumps(data, ensure_ascii=True, separators=(",", ":"), default=str).replace("/", "\\/").encode()


def signature(body: bytes, secret: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


@dataclass
class Delivery:
    """One POST the store made (or would have made, when ``dropped``)."""

    store: str
    webhook_id: int
    kind: str  # "delivery" or "ping"
    topic: str
    url: str
    headers: dict[str, str]
    body: bytes
    at: datetime
    delivery_id: str = ""
    resource_id: int | None = None
    status: int | None = None  # the answer's status; None: no answer (error, timeout, dropped)
    error: str | None = None
    dropped: bool = False

    @property
    def status_code(self) -> int | None:
        return self.status

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 303

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class _Job:
    store: WooStore
    webhook_id: int
    resource_id: int
    topic: str


@dataclass
class WebhookDeliverer:
    mode: str = "async"
    timeout: float = 5.0
    log: list[Delivery] = field(default_factory=list)
    _queue: deque[_Job] = field(default_factory=deque)
    _lock: threading.Condition = field(default_factory=lambda: threading.Condition(threading.RLock()))
    _drop: dict[str, int] = field(default_factory=dict)
    _busy: int = 0
    _stop: bool = False
    _thread: threading.Thread | None = None
    on_delivery: Callable[[Delivery], None] | None = None

    def __post_init__(self) -> None:
        if self.mode not in ("async", "manual", "sync"):
            raise ValueError(f"webhook mode must be async, manual or sync, not {self.mode!r}")

    # --- lifecycle --------------------------------------------------------------------------

    def start(self) -> None:
        if self.mode == "async" and self._thread is None:
            self._stop = False
            self._thread = threading.Thread(target=self._run, name="woocommerce-sandbox-webhooks", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        with self._lock:
            self._stop = True
            self._lock.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _run(self) -> None:
        while True:
            with self._lock:
                while not self._queue and not self._stop:
                    self._lock.wait(0.5)
                if self._stop:
                    return
                job = self._queue.popleft()
                self._busy += 1
            try:
                self._deliver(job)
            except Exception:  # noqa: BLE001 - keep delivering
                log.exception("webhook delivery failed")
            finally:
                with self._lock:
                    self._busy -= 1
                    self._lock.notify_all()

    # --- queueing ---------------------------------------------------------------------------

    def enqueue(self, store: WooStore, webhook: WooWebhook, resource_id: int) -> None:
        job = _Job(store, webhook.id, resource_id, webhook.topic)
        if self.mode == "sync":
            self._deliver(job)
            return
        with self._lock:
            if any(j.store is store and j.webhook_id == job.webhook_id and j.resource_id == resource_id
                   for j in self._queue):
                return  # Action Scheduler keeps one pending delivery per (webhook, argument)
            self._queue.append(job)
            self._lock.notify_all()

    def pending(self, store: str | None = None) -> int:
        with self._lock:
            return sum(1 for j in self._queue if store is None or j.store.name == store)

    def flush(self) -> int:
        """Deliver everything queued now (any mode); returns how many were delivered."""
        count = 0
        while True:
            with self._lock:
                if not self._queue:
                    break
                job = self._queue.popleft()
                self._busy += 1
            try:
                self._deliver(job)
                count += 1
            finally:
                with self._lock:
                    self._busy -= 1
                    self._lock.notify_all()
        return count

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Until the queue is empty and no delivery is in flight (``manual``: flushes)."""
        if self.mode == "manual":
            self.flush()
            return True
        deadline = time.monotonic() + timeout
        with self._lock:
            while self._queue or self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._lock.wait(min(left, 0.05))
        return True

    def drop_next(self, store: str, n: int = 1) -> None:
        """The next ``n`` deliveries of ``store`` are lost on the way (logged as ``dropped``; the
        store counts nothing: it never heard back, like a request lost after a 200)."""
        with self._lock:
            self._drop[store] = self._drop.get(store, 0) + n

    # --- delivering -------------------------------------------------------------------------

    def _deliver(self, job: _Job) -> None:
        store = job.store
        with store.lock:
            webhook = store.webhooks.get(job.webhook_id)
            if webhook is None or webhook.status != "active":
                return
            resource, event = webhook.resource, webhook.event
            payload = ({"id": job.resource_id} if event == "deleted"
                       else store.resource_json(resource, job.resource_id))
            body = wp_json(payload)
            delivery_id = hmac.new(store.salt.encode(), f"{webhook.id}{int(time.time())}".encode(),
                                   hashlib.md5).hexdigest()
            headers = {
                "Content-Type": "application/json",
                "User-Agent": USER_AGENT,
                "X-WC-Webhook-Source": store.url + "/",
                "X-WC-Webhook-Topic": webhook.topic,
                "X-WC-Webhook-Resource": resource,
                "X-WC-Webhook-Event": event,
                "X-WC-Webhook-Signature": signature(body, webhook.secret),
                "X-WC-Webhook-ID": str(webhook.id),
                "X-WC-Webhook-Delivery-ID": delivery_id,
            }
            url = webhook.delivery_url
        record = Delivery(store=store.name, webhook_id=webhook.id, kind="delivery", topic=webhook.topic,
                          url=url, headers=headers, body=body, at=utc_now(), delivery_id=delivery_id,
                          resource_id=job.resource_id)
        with self._lock:
            dropped = self._drop.get(store.name, 0) > 0
            if dropped:
                self._drop[store.name] -= 1
        if dropped:
            record.dropped = True
        else:
            self._post(record)
        with self._lock:
            self.log.append(record)
        if not dropped:
            with store.lock:
                current = store.webhooks.get(webhook.id)
                if current is not None:
                    if record.ok:
                        current.failure_count = 0
                    elif current.failure_count > MAX_FAILURES:
                        current.status = "disabled"
                    else:
                        current.failure_count += 1
        if self.on_delivery is not None:
            self.on_delivery(record)

    def ping(self, store: WooStore, webhook: WooWebhook) -> Delivery:
        """``deliver_ping``: ``webhook_id=N`` as a form body; a 200 clears ``pending_delivery``."""
        body = f"webhook_id={webhook.id}".encode()
        headers = {"User-Agent": USER_AGENT, "Content-Type": "application/x-www-form-urlencoded"}
        record = Delivery(store=store.name, webhook_id=webhook.id, kind="ping", topic=webhook.topic,
                          url=webhook.delivery_url, headers=headers, body=body, at=utc_now())
        self._post(record)
        with self._lock:
            self.log.append(record)
        if record.status == 200:
            with store.lock:
                webhook.pending_delivery = False
        return record

    def _post(self, record: Delivery) -> None:
        try:
            answer = requests.post(record.url, data=record.body, headers=record.headers,
                                   timeout=self.timeout, allow_redirects=False)
            record.status = answer.status_code
        except requests.RequestException as error:
            record.error = f"{type(error).__name__}: {error}"

    def deliveries(self, store: str | None = None, *, kind: str | None = "delivery") -> list[Delivery]:
        with self._lock:
            return [d for d in self.log if (store is None or d.store == store)
                    and (kind is None or d.kind == kind)]
