"""Webhook delivery the way Shopify does it: signed POSTs from background workers, with retries.

Each delivery (one topic to one address) keeps its ``X-Shopify-Webhook-Id`` across retries; every
delivery caused by the same store event shares ``X-Shopify-Event-Id``.  Failed attempts (non-2xx,
timeout, connection error) are retried ``retries`` times with exponential backoff
(``backoff × 2^(attempt-1)``).  Test controls: :meth:`WebhookSender.hold`/``release``,
``drop_next``, ``duplicate_next``, ``wait_idle``, ``set_secret`` and the delivery ``log``.
"""

from __future__ import annotations

import base64
import hashlib
import heapq
import hmac
import json
import random
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import requests

from .common import API_VERSION


@dataclass
class Delivery:
    """One webhook delivery and what happened to it.  ``state``: pending, held, delivered,
    failed (retries exhausted) or dropped (never sent, like a delivery Shopify lost)."""

    seq: int
    shop_domain: str
    topic: str
    uri: str
    body: bytes
    webhook_id: str
    event_id: str
    triggered_at: str
    api_version: str
    state: str = "pending"
    attempts: int = 0
    status_codes: list[int | str] = field(default_factory=list)
    duplicate_of: str | None = None  # webhook id of the delivery this one duplicates
    last_headers: dict[str, str] = field(default_factory=dict)
    delivered_at: float | None = None

    @property
    def payload(self) -> Any:
        return json.loads(self.body)


@dataclass
class _Rule:
    kind: str  # drop, duplicate
    remaining: int
    topic: str | None
    same_id: bool = False


class WebhookSender:
    def __init__(self, secret: str, *, backoff: float = 1.0, retries: int = 8,
                 timeout: float = 5.0, connect_timeout: float = 1.0, workers: int = 1,
                 api_version: str = API_VERSION, max_log: int = 50_000) -> None:
        self._secret = secret
        self.backoff = backoff
        self.retries = retries
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.api_version = api_version
        self._workers_wanted = max(1, workers)
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, Delivery]] = []
        self._held: list[Delivery] = []
        self._holding = False
        self._in_flight = 0
        self._seq = 0
        self._rules: list[_Rule] = []
        self._log: deque[Delivery] = deque(maxlen=max_log)
        self._threads: list[threading.Thread] = []
        self._stopping = False

    # --- lifecycle -----------------------------------------------------------------------------

    def start(self) -> None:
        with self._cond:
            if self._threads:
                return
            self._stopping = False
            for n in range(self._workers_wanted):
                thread = threading.Thread(target=self._work, name=f"webhooks-{n}", daemon=True)
                self._threads.append(thread)
                thread.start()

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        for thread in self._threads:
            thread.join(timeout=self.timeout + 2)
        self._threads.clear()

    # --- signing -----------------------------------------------------------------------------

    @property
    def secret(self) -> str:
        return self._secret

    def set_secret(self, secret: str) -> None:
        """Rotate the app secret: every attempt from now on is signed with ``secret``."""
        self._secret = secret

    def sign(self, body: bytes, secret: str | None = None) -> str:
        digest = hmac.new((secret or self._secret).encode(), body, hashlib.sha256).digest()
        return base64.b64encode(digest).decode()

    # --- enqueueing ----------------------------------------------------------------------------

    def enqueue(self, shop_domain: str, topic: str, uri: str, payload: Any,
                event_id: str | None = None, triggered_at: datetime | None = None) -> Delivery:
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        at = (triggered_at or datetime.now(UTC)).astimezone(UTC)
        with self._cond:
            delivery = Delivery(
                seq=self._next_seq(), shop_domain=shop_domain, topic=topic, uri=uri, body=body,
                webhook_id=str(uuid.uuid4()), event_id=event_id or str(uuid.uuid4()),
                triggered_at=at.isoformat(timespec="microseconds").replace("+00:00", "Z"),
                api_version=self.api_version,
            )
            self._log.append(delivery)
            rule = self._take_rule(topic)
            if rule is not None and rule.kind == "drop":
                delivery.state = "dropped"
                self._cond.notify_all()
                return delivery
            self._schedule(delivery)
            if rule is not None and rule.kind == "duplicate":
                twin = replace(delivery, seq=self._next_seq(), status_codes=[], last_headers={},
                               webhook_id=delivery.webhook_id if rule.same_id else str(
                                   uuid.uuid4()), duplicate_of=delivery.webhook_id)
                self._log.append(twin)
                self._schedule(twin)
            self._cond.notify_all()
            return delivery

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def _take_rule(self, topic: str) -> _Rule | None:
        for rule in self._rules:
            if rule.remaining > 0 and (rule.topic is None or rule.topic == topic):
                rule.remaining -= 1
                if rule.remaining == 0:
                    self._rules.remove(rule)
                return rule
        return None

    def _schedule(self, delivery: Delivery, due: float | None = None) -> None:
        if self._holding and delivery.attempts == 0:
            delivery.state = "held"
            self._held.append(delivery)
            return
        delivery.state = "pending"
        heapq.heappush(self._heap, (due or time.monotonic(), delivery.seq, delivery))

    # --- controls ------------------------------------------------------------------------------

    def hold(self) -> None:
        """Keep new deliveries back until :meth:`release`."""
        with self._cond:
            self._holding = True

    def release(self, order: str = "fifo") -> None:
        """Send the held deliveries now, in ``fifo``, ``reverse`` or ``shuffle`` order."""
        with self._cond:
            held, self._held = self._held, []
            self._holding = False
            if order == "reverse":
                held.reverse()
            elif order == "shuffle":
                random.shuffle(held)
            elif order != "fifo":
                raise ValueError("order must be fifo, reverse or shuffle")
            now = time.monotonic()
            for delivery in held:
                delivery.seq = self._next_seq()
                self._schedule(delivery, now)
            self._cond.notify_all()

    @property
    def held(self) -> list[Delivery]:
        with self._cond:
            return list(self._held)

    def drop_next(self, n: int = 1, topic: str | None = None) -> None:
        """Never deliver the next ``n`` deliveries (of ``topic``): a lost webhook."""
        with self._cond:
            self._rules.append(_Rule("drop", n, topic))

    def duplicate_next(self, n: int = 1, topic: str | None = None, *,
                       same_id: bool = False) -> None:
        """Deliver the next ``n`` deliveries (of ``topic``) twice.

        The copy has the same event id and body; with ``same_id`` it also keeps the webhook id
        (a redelivery), otherwise it gets a new one ("same change, another id").
        """
        with self._cond:
            self._rules.append(_Rule("duplicate", n, topic, same_id))

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until nothing is queued or in flight (held deliveries do not count)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._heap or self._in_flight:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.05))
            return True

    @property
    def log(self) -> list[Delivery]:
        """Every delivery so far (oldest first; the records keep updating while retried)."""
        with self._cond:
            return list(self._log)

    def deliveries(self, topic: str | None = None, shop: str | None = None,
                   state: str | None = None) -> list[Delivery]:
        return [d for d in self.log if (topic is None or d.topic == topic)
                and (shop is None or d.shop_domain == shop) and (state is None or d.state == state)]

    def clear_log(self) -> None:
        with self._cond:
            self._log.clear()

    def reset(self) -> None:
        """Forget rules, held deliveries and the log (between tests)."""
        with self._cond:
            self._rules.clear()
            self._held.clear()
            self._holding = False
            self._log.clear()

    # --- worker --------------------------------------------------------------------------------

    def _work(self) -> None:
        session = requests.Session()
        while True:
            with self._cond:
                delivery = None
                while delivery is None:
                    if self._stopping:
                        return
                    if self._heap:
                        due = self._heap[0][0]
                        wait = due - time.monotonic()
                        if wait <= 0:
                            delivery = heapq.heappop(self._heap)[2]
                            break
                        self._cond.wait(min(wait, 0.5))
                    else:
                        self._cond.wait(0.5)
                self._in_flight += 1
            try:
                self._attempt(session, delivery)
            finally:
                with self._cond:
                    self._in_flight -= 1
                    self._cond.notify_all()

    def _attempt(self, session: requests.Session, delivery: Delivery) -> None:
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "Shopify-Captain-Hook",
            "X-Shopify-Topic": delivery.topic,
            "X-Shopify-Hmac-Sha256": self.sign(delivery.body),
            "X-Shopify-Shop-Domain": delivery.shop_domain,
            "X-Shopify-Webhook-Id": delivery.webhook_id,
            "X-Shopify-Event-Id": delivery.event_id,
            "X-Shopify-Triggered-At": delivery.triggered_at,
            "X-Shopify-API-Version": delivery.api_version,
        }
        delivery.attempts += 1
        delivery.last_headers = headers
        outcome: int | str
        try:
            response = session.post(delivery.uri, data=delivery.body, headers=headers,
                                    timeout=(self.connect_timeout, self.timeout),
                                    allow_redirects=False)
            outcome = response.status_code
            response.close()
        except requests.Timeout:
            outcome = "timeout"
        except requests.RequestException as exc:
            outcome = f"error: {type(exc).__name__}"
        with self._cond:
            delivery.status_codes.append(outcome)
            if isinstance(outcome, int) and 200 <= outcome < 300:
                delivery.state = "delivered"
                delivery.delivered_at = time.time()
            elif delivery.attempts > self.retries or self._stopping:
                delivery.state = "failed"
            else:
                delay = self.backoff * 2 ** (delivery.attempts - 1)
                heapq.heappush(self._heap, (time.monotonic() + delay, delivery.seq, delivery))
