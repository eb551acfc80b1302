"""The whole pipeline under load: signed Shopify webhooks in, loyalty points out, with an oracle.

Set-up (not timed): PostgreSQL (production durability) and Redis from bench/services.py; a migrated
database with one installed Shopify shop on the paid plan with the loyalty program switched on
(bench/loyalty_common.py), its tiers' earn multipliers set to 1 so that an order's points do not
depend on which order the two workers happen to finish first (tiers, badges and challenges are
still evaluated); ``--orders`` paid orders from the shared store generator (``sandbox/store``,
seeded; every 200th one marked a test order, which earns nothing) with their refunds, rendered
as Shopify's REST webhook bodies (``sandbox/shopify/rest.py``).  The app runs as in production:
gunicorn (``DEBUG=0``, bench/benchsite.py settings, gthread), ``celery -A retention_app worker
--concurrency 2`` and ``celery -A retention_app beat``.

Measured:

1. **Ack**: a short burst (bench/loadgen.py, warm-up first) to the bare view ``/bench/bare``,
   then to ``/webhooks/shopify`` (before the workers start; those inbox rows are deleted after).
2. **Replay**: every order as ``orders/create`` and ``orders/paid`` (two events, each its own
   ``X-Shopify-Webhook-Id`` and ``X-Shopify-Event-Id``), each refund as ``refunds/create`` 2-5 s
   after its order; ``--duplicates`` (20 %) of the deliveries resent with the same webhook id
   within 2 s, and ``--reorder`` (10 %) moved up to 20 places later (so ``orders/paid`` may come
   before ``orders/create``).  Sent at ``--rate`` deliveries/s by bench/pipeline_send.py (its
   own process, keep-alive connections, real headers: HMAC, webhook id, event id, topic, shop
   domain, API version, triggered-at).  A poller (its own connection) reads new
   ``earn:order:<id>`` ledger entries every 0.2 s, and each second the inbox depth (deliveries
   not yet processed, ignored or dead), the outbox depth (events not dispatched, plus failed
   deliveries waiting for a retry), the Celery queue and the load average.
3. **Processing**: orders/s from the first delivery sent to the last earning order's points seen
   by the poller; order->points latency from an order's first 200 to its earn entry being visible
   (p50/p95/p99, ±0.2 s poll); transactions and rows written per order (``pg_stat_database``,
   the poller's own transactions taken off) and CPU per order of each process tree.

Then the oracle: the ledger's ``earn:order:*`` and ``reverse:refund:*`` entries must equal the
bench's own computation from the generated orders (``expected_ledger``): lost = expected entries
missing, doubled = an entry written twice or with twice its points; wrong points and unexpected
entries are listed too.  Exit status 1 if any of those is non-zero, or a delivery was never
acknowledged, or the backlog did not drain within ``--drain-seconds``.  The last line is::

    pipeline: ack <n> req/s (<p>% of bare), processed <n> orders/s, order->points p95 <s> s, lost <n>, doubled <n>

``.venv/bin/python bench/pipeline.py [--orders 5000] [--rate 200] [--drain-seconds 600]``
"""

from __future__ import annotations

import argparse
import base64
import dataclasses
import hashlib
import hmac
import json
import math
import os
import pickle
import random
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench import procs  # noqa: E402
from bench import services as svc  # noqa: E402
from bench.loyalty_common import SHOP_DOMAIN, LoyaltyBench, revision  # noqa: E402
from bench.report import table  # noqa: E402

ZERO = Decimal("0")
EARN_PREFIX = "earn:order:"
REVERSE_PREFIX = "reverse:refund:"
CHECKED_PREFIXES = (EARN_PREFIX, REVERSE_PREFIX, "reverse:cancel:")


# --- the oracle: what the ledger must hold, computed without the app -----------------------

@dataclass(frozen=True)
class RefundFacts:
    platform_id: str
    lines_subtotal: Decimal | None  # the refund's line subtotals summed; None: a refund naming no lines
    amount: Decimal  # what was paid back, shipping and tax included
    shipping: Decimal


@dataclass(frozen=True)
class OrderFacts:
    """A paid order as the bench generated it; ``owner`` is empty when no account can hold its
    points (a guest checkout without an email)."""

    platform_id: str
    owner: str
    subtotal: Decimal  # merchandise after discounts: what the default program's points are of
    merchandise: Decimal  # sum over lines of unit price x quantity - line discount
    total: Decimal
    shipping: Decimal
    is_test: bool = False
    refunds: tuple[RefundFacts, ...] = ()


def expected_ledger(orders: Iterable[OrderFacts], *, points_per_unit: Decimal) -> dict[str, int]:
    """Ledger key -> points for the default program without tier multipliers: a paid order earns
    floor(subtotal x points per unit) (a test order, an order no account can hold, and one earning
    0 get no entry); each refund, in the order they came, takes back floor(earned x refunded
    merchandise / merchandise) -- multiplied before dividing --, never more than the order still
    holds (a refund naming no lines counts by its amount less shipping against the order's total
    less shipping).  Reversals are negative.  Tier multipliers are left out on purpose: with
    them an order's points would depend on the order in which concurrent workers finish."""
    out: dict[str, int] = {}
    for order in orders:
        if order.is_test or not order.owner:
            continue
        earned = math.floor(order.subtotal * points_per_unit)
        if earned <= 0:
            continue
        out[f"{EARN_PREFIX}{order.platform_id}"] = earned
        taken = 0
        for refund in order.refunds:
            if refund.lines_subtotal is not None:
                refunded, base = refund.lines_subtotal, order.merchandise
            else:
                refunded, base = refund.amount - refund.shipping, order.total - order.shipping
            if refunded <= 0 or base <= 0:
                continue
            points = min(math.floor(earned * min(refunded, base) / base), earned - taken)
            if points <= 0:
                continue
            out[f"{REVERSE_PREFIX}{refund.platform_id}"] = -points
            taken += points
    return out


@dataclass
class Verdict:
    expected: int  # entries expected
    found: int  # expected entries present with the right points
    lost: int  # expected entries missing
    doubled: int  # an entry written more than once, or with twice its points
    wrong: int  # present with other points
    extra: int  # entries under the checked prefixes that should not exist
    expected_points: int
    ledger_points: int
    samples: dict[str, list[str]] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return self.lost == 0 and self.doubled == 0 and self.wrong == 0 and self.extra == 0 \
            and self.expected_points == self.ledger_points


def ledger_compare(expected: Mapping[str, int], entries: Iterable[tuple[str, int]]) -> Verdict:
    """Compare the ledger's ``(idempotency key, points)`` entries under ``CHECKED_PREFIXES`` with
    ``expected_ledger``'s answer; entries under other keys (badges, rules) are not looked at."""
    seen: dict[str, list[int]] = {}
    for key, points in entries:
        if key.startswith(CHECKED_PREFIXES):
            seen.setdefault(key, []).append(points)
    samples: dict[str, list[str]] = {"lost": [], "doubled": [], "wrong": [], "extra": []}

    def note(kind: str, key: str) -> None:
        if len(samples[kind]) < 5:
            samples[kind].append(key)

    lost = doubled = wrong = extra = found = 0
    for key, want in expected.items():
        got = seen.get(key)
        if got is None:
            lost += 1
            note("lost", key)
        elif len(got) > 1 or (got[0] == 2 * want and want != 0):
            doubled += 1
            note("doubled", key)
        elif got[0] != want:
            wrong += 1
            note("wrong", key)
        else:
            found += 1
    for key, got in seen.items():
        if key not in expected:
            extra += 1
            note("extra", key)
            if len(got) > 1:
                doubled += 1
    return Verdict(expected=len(expected), found=found, lost=lost, doubled=doubled, wrong=wrong, extra=extra,
                   expected_points=sum(expected.values()),
                   ledger_points=sum(sum(points) for points in seen.values()), samples=samples)


# --- the orders and the delivery stream -----------------------------------------------------

@dataclass
class Delivery:
    topic: str
    order_id: str
    webhook_id: str
    event_id: str
    triggered_at: str
    body: bytes
    position: float  # where it goes in the stream (sorted by this)
    resend: bool = False  # a duplicate: the same webhook id sent again


def _facts(order: Any) -> OrderFacts:
    owner = f"c:{order.customer_id}" if order.customer_id else (f"g:{order.email.lower()}" if order.email else "")
    merchandise = sum((li.price * li.quantity - li.total_discount for li in order.line_items), ZERO)
    refunds = tuple(
        RefundFacts(platform_id=str(r.id),
                    lines_subtotal=sum((x.subtotal for x in r.line_items), ZERO) if r.line_items else None,
                    amount=r.total, shipping=r.shipping)
        for r in order.refunds
    )
    return OrderFacts(platform_id=str(order.id), owner=owner, subtotal=order.subtotal, merchandise=merchandise,
                      total=order.total_price, shipping=order.shipping, is_test=order.test, refunds=refunds)


def _iso_z(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def plan(*, orders: int, seed: int, rate: float, duplicates: float, reorder: float, test_every: int = 200
         ) -> tuple[list[OrderFacts], list[Delivery]]:
    """``orders`` paid, not cancelled orders from the store generator, and their deliveries in the
    order they are sent."""
    from sandbox.shopify import rest
    from sandbox.store import StoreGenerator, StoreSpec

    generator = StoreGenerator(StoreSpec(seed=seed, customers=max(50, orders // 4), orders=int(orders * 1.1) + 50))
    rng = random.Random(f"pipeline:{seed}")
    facts: list[OrderFacts] = []
    deliveries: list[Delivery] = []

    def new_id() -> str:
        return str(uuid.UUID(int=rng.getrandbits(128), version=4))

    for order, customer in generator.iter_orders_with_customers():
        if len(facts) >= orders:
            break
        if order.payment != "paid" or order.cancelled_at is not None:
            continue
        if test_every and (len(facts) + 1) % test_every == 0:
            order.test = True
        facts.append(_facts(order))
        # the order as it was when paid: not fulfilled, nothing refunded yet
        at_payment = dataclasses.replace(order, refunds=[], fulfillment="UNFULFILLED", fulfilled_at=None,
                                         closed_at=None, updated_at=order.created_at)
        body = json.dumps(rest.order_json(at_payment, customer, None, SHOP_DOMAIN), separators=(",", ":")).encode()
        base = 2.0 * (len(facts) - 1)
        for offset, topic in ((0.0, "orders/create"), (0.5, "orders/paid")):
            deliveries.append(Delivery(topic, str(order.id), new_id(), new_id(), _iso_z(order.created_at), body,
                                       base + offset))
        lag = base + 1
        for refund in order.refunds:  # each 2-5 s of sending after the order
            lag += rng.uniform(2 * rate, 5 * rate)
            refund_body = json.dumps(rest.refund_json(refund, order, None), separators=(",", ":")).encode()
            deliveries.append(Delivery("refunds/create", str(order.id), new_id(), new_id(),
                                       _iso_z(refund.created_at), refund_body, lag))
    if len(facts) < orders:
        raise SystemExit(f"the generator gave only {len(facts)} paid orders")
    originals = list(deliveries)
    for delivery in originals:
        if rng.random() < reorder:
            delivery.position += rng.uniform(1, 20)
    for delivery in originals:
        if rng.random() < duplicates:
            deliveries.append(dataclasses.replace(delivery, position=delivery.position + rng.uniform(1, 2 * rate),
                                                  resend=True))
    deliveries.sort(key=lambda d: d.position)
    return facts, deliveries


def http_request(delivery: Delivery, *, port: int, secret: str, api_version: str) -> bytes:
    signature = base64.b64encode(hmac.new(secret.encode(), delivery.body, hashlib.sha256).digest()).decode()
    head = (
        "POST /webhooks/shopify HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{port}\r\n"
        "User-Agent: Shopify-Captain-Hook\r\n"
        "Accept: */*\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(delivery.body)}\r\n"
        f"X-Shopify-Topic: {delivery.topic}\r\n"
        f"X-Shopify-Hmac-Sha256: {signature}\r\n"
        f"X-Shopify-Shop-Domain: {SHOP_DOMAIN}\r\n"
        f"X-Shopify-API-Version: {api_version}\r\n"
        f"X-Shopify-Webhook-Id: {delivery.webhook_id}\r\n"
        f"X-Shopify-Event-Id: {delivery.event_id}\r\n"
        f"X-Shopify-Triggered-At: {delivery.triggered_at}\r\n\r\n"
    )
    return head.encode() + delivery.body


# --- watching the database while it runs -------------------------------------------------------

@dataclass
class Sample:
    t: float  # seconds since the replay started
    received: int  # inbox rows
    inbox: int  # inbox rows not yet processed, ignored or dead
    outbox: int  # events not dispatched + failed deliveries waiting for a retry
    queued: int  # task messages in the Celery queue(s)
    earned: int  # earn:order entries seen
    load: float


class Watcher(threading.Thread):
    """Polls the ledger for new earn entries (every ``interval`` s) and samples the depths each
    second, over its own autocommit connection; counts its own transactions."""

    def __init__(self, *, db_url: str, shop_id: int, tables: dict[str, str], done_statuses: Sequence[str],
                 queue_depth: Any, started: float, interval: float = 0.2) -> None:
        super().__init__(name="pipeline-watcher", daemon=True)
        self.db_url = db_url
        self.shop_id = shop_id
        self.tables = tables
        self.done_statuses = list(done_statuses)
        self.queue_depth = queue_depth
        self.started = started
        self.interval = interval
        self.seen: dict[str, float] = {}  # earn key -> time.time() when first seen
        self.samples: list[Sample] = []
        self.transactions = 0
        self.stopping = threading.Event()
        self.failure = ""
        self.max_id = 0

    def run(self) -> None:
        import psycopg

        try:
            with psycopg.connect(self.db_url, autocommit=True) as conn:
                next_sample = 0.0
                while not self.stopping.is_set():
                    self.poll(conn)
                    now = time.monotonic()
                    if now >= next_sample:
                        self.sample(conn)
                        next_sample = now + 1.0
                    self.stopping.wait(self.interval)
                self.poll(conn)
                self.sample(conn)
        except Exception as error:  # reported by the bench; it must not hang the run
            self.failure = f"{type(error).__name__}: {error}"

    def poll(self, conn: Any) -> None:
        # Ids are taken at INSERT, rows become visible at COMMIT: look back 1,000 ids so that a
        # row committed after a higher id was seen is still found (the final read finds the rest).
        rows = conn.execute(
            f"SELECT id, idempotency_key FROM {self.tables['ledger']} WHERE shop_id = %s AND id > %s",  # noqa: S608
            (self.shop_id, max(0, self.max_id - 1000)),
        ).fetchall()
        self.transactions += 1
        now = time.time()
        for pk, key in rows:
            self.max_id = max(self.max_id, pk)
            if key.startswith(EARN_PREFIX) and key not in self.seen:
                self.seen[key] = now

    def sample(self, conn: Any) -> None:
        inbox = conn.execute(
            f"SELECT count(*), count(*) FILTER (WHERE NOT (status = ANY(%s))) FROM {self.tables['inbox']}",  # noqa: S608
            (self.done_statuses,),
        ).fetchone()
        outbox = conn.execute(
            f"SELECT (SELECT count(*) FROM {self.tables['outbox']} WHERE dispatched_at IS NULL)"  # noqa: S608
            f" + (SELECT count(*) FROM {self.tables['deliveries']} WHERE state = 'retrying')",
        ).fetchone()
        self.transactions += 2
        self.samples.append(Sample(
            t=time.monotonic() - self.started, received=inbox[0], inbox=inbox[1], outbox=outbox[0],
            queued=self.queue_depth(), earned=len(self.seen), load=os.getloadavg()[0],
        ))

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=30)


# --- the bench -------------------------------------------------------------------------------

PG_COUNTERS = ("xact_commit", "xact_rollback", "tup_inserted", "tup_updated", "tup_deleted", "tup_returned",
               "tup_fetched")


@dataclass
class Burst:
    name: str
    result: dict[str, Any]


class PipelineBench(LoyaltyBench):
    def __init__(self, args: argparse.Namespace, services: svc.Services, work: Path) -> None:
        super().__init__(services, work, "pipeline")
        self.args = args
        self.port = svc.free_port()
        self.gunicorn: subprocess.Popen[bytes] | None = None
        self.worker: subprocess.Popen[bytes] | None = None
        self.beat: subprocess.Popen[bytes] | None = None
        self.node = f"pipeline{os.getpid()}@{socket.gethostname()}"
        self.bursts: list[Burst] = []
        self.checks: list[tuple[str, str, bool]] = []
        self.notes: list[str] = []

    # set-up -------------------------------------------------------------------------------------

    def env(self) -> dict[str, str]:
        return {**os.environ, **self.app_env(self.template), "PYTHONPATH": str(REPO)}

    def program_prepare(self) -> Decimal:
        """Tiers without earn multipliers (see the module docstring); refuse any other non-default
        earning rule the oracle does not model.  Returns the points per currency unit."""
        from loyalty.models import AwardOn, Rounding, Tier
        from loyalty.selectors import program_get
        from loyalty.services.program import rule_for

        shop = self.shop()
        for tier in Tier.objects.filter(shop=shop):
            tier.earn_multiplier = Decimal("1")
            tier.save()  # one by one: whatever listens to a tier's save hears it
        program = program_get(shop=shop)
        rule = rule_for(shop=shop, kind="purchase")
        if (program.rounding != Rounding.DOWN or program.include_tax or program.include_shipping
                or program.award_on != AwardOn.PAID or not program.is_enabled or rule is None
                or (rule.multipliers or {}).get("products")):
            raise SystemExit("the bench expects the default program: rounded down, merchandise only, on payment")
        if self.services.redis_pid is not None:  # our own Redis: no cached program from before the change
            from django.core.cache import cache

            cache.clear()
        return Decimal(program.points_per_currency_unit)

    def queues(self) -> list[str]:
        """The bench queue, and any queue the app routes tasks to, for the worker's ``-Q``."""
        from django.conf import settings

        names = {str(getattr(settings, "CELERY_TASK_DEFAULT_QUEUE", "celery"))}
        routes = getattr(settings, "CELERY_TASK_ROUTES", None) or {}
        if isinstance(routes, Mapping):
            for route in routes.values():
                if isinstance(route, Mapping) and route.get("queue"):
                    names.add(str(route["queue"]))
        for queue in getattr(settings, "CELERY_TASK_QUEUES", None) or ():
            names.add(str(getattr(queue, "name", queue)))
        return sorted(names)

    def queue_depth(self) -> int:
        client = self._redis()
        try:
            return sum(int(client.llen(key)) for name in self.queues() for key in client.keys(f"{name}*")
                       if client.type(key) == b"list")
        finally:
            client.close()

    def start_gunicorn(self) -> None:
        self.gunicorn = svc.start_gunicorn(
            port=self.port, env=self.env(), workers=self.args.gunicorn_workers, threads=self.args.gunicorn_threads,
            worker_class="gthread", log_file=self.work / "gunicorn.log", ready=self.bare_answers, timeout=180,
        )

    def bare_answers(self) -> bool:
        import http.client

        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
        try:
            conn.request("POST", "/bench/bare", body=b"{}", headers={"Content-Type": "application/json"})
            return conn.getresponse().status == 200
        finally:
            conn.close()

    def start_celery(self) -> None:
        celery = str(Path(sys.executable).parent / "celery")
        queues = ",".join(self.queues())
        self.worker = procs.start_group(
            [celery, "-A", "retention_app", "worker", "--concurrency", str(self.args.concurrency), "-Q", queues,
             "-n", self.node, "--loglevel", "WARNING", "--without-gossip", "--without-mingle"],
            env=self.env(), log_file=self.work / "worker.log", cwd=REPO,
        )
        self.beat = procs.start_group(
            [celery, "-A", "retention_app", "beat", "--loglevel", "WARNING",
             "--schedule", str(self.work / "beat-schedule"), "--pidfile", str(self.work / "beat.pid")],
            env=self.env(), log_file=self.work / "beat.log", cwd=REPO,
        )
        from retention_app.celery import app

        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            for process, name in ((self.worker, "worker"), (self.beat, "beat")):
                if process.poll() is not None:
                    raise RuntimeError(f"celery {name} exited with {process.returncode}:\n"
                                       + procs.log_tail(self.work / f"{name}.log"))
            if app.control.ping(destination=[self.node], timeout=1.0):
                print(f"# celery worker {self.node}: --concurrency {self.args.concurrency}, queues {queues}; "
                      "celery beat", flush=True)
                return
        raise RuntimeError("the celery worker did not answer a ping within 180s:\n"
                           + procs.log_tail(self.work / "worker.log"))

    def stop_all(self) -> None:
        procs.stop_group(self.beat)
        procs.stop_group(self.worker, timeout=30)
        svc.stop_process(self.gunicorn)
        for name in ("gunicorn", "worker", "beat"):
            tail = procs.log_tail(self.work / f"{name}.log", 15)
            if tail.strip():
                print(f"# {name} log (tail):\n{tail}")

    # the ack bursts ------------------------------------------------------------------------------

    def burst(self, name: str, path: str, body_file: Path, phase: int) -> dict[str, Any]:
        tag = secrets.token_hex(4)
        results = []
        for step, requests in ((0, self.args.ack_warmup), (1, self.args.ack_requests)):
            command = [
                sys.executable, str(REPO / "bench" / "loadgen.py"), "--port", str(self.port), "--path", path,
                "--body", str(body_file), "--secret", self.secret, "--shop-domain", SHOP_DOMAIN,
                "--requests", str(requests), "--concurrency", str(self.args.ack_concurrency),
                "--prefix", f"{tag}-{phase * 2 + step:04x}-4000-8000-", "--max-seconds", "120",
            ]
            results.append(svc.run_load_client(command, server=None, port=self.port, peek_spread=False,
                                               peek_after=0.3, timeout=180))
        result = results[1]
        result["warm_ok"] = results[0]["ok"]
        print(f"#   ack burst {name:<6} c={self.args.ack_concurrency}: {result['rps']:7.0f} req/s  p50 "
              f"{result['p50_ms']:6.1f} ms  p99 {result['p99_ms']:6.1f} ms  errors {result['errors']}", flush=True)
        self.bursts.append(Burst(name, result))
        return result

    def ack_bursts(self, body: bytes) -> None:
        from integrations.models import WebhookDelivery

        body_file = self.work / "orders-create.json"
        body_file.write_bytes(body)
        self.burst("bare", "/bench/bare", body_file, 1)
        inbox = self.burst("inbox", "/webhooks/shopify", body_file, 2)
        stored = WebhookDelivery.objects.count()
        sent = inbox["ok"] + inbox["warm_ok"]
        self.checks.append(("ack burst: one inbox row per delivery", f"{stored:,} rows for {sent:,} 200s",
                            stored == sent and inbox["errors"] == 0))
        # the burst's deliveries never reach a worker: out of the inbox and the queue before they start
        WebhookDelivery.objects.all().delete()
        self.queue_purge()

    # measurements -------------------------------------------------------------------------------

    def pg_counters(self) -> dict[str, int]:
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {', '.join(PG_COUNTERS)} FROM pg_stat_database WHERE datname = current_database()")
            row = cursor.fetchone()
        return dict(zip(PG_COUNTERS, (int(v) for v in row), strict=True))

    def table_writes(self) -> dict[str, int]:
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("SELECT relname, n_tup_ins + n_tup_upd + n_tup_del FROM pg_stat_user_tables")
            return {name: int(n) for name, n in cursor.fetchall()}

    def cpu(self) -> dict[str, float]:
        return {
            "gunicorn": svc.tree_cpu_seconds(self.gunicorn.pid if self.gunicorn else None),
            "celery worker": svc.tree_cpu_seconds(self.worker.pid if self.worker else None),
            "celery beat": svc.tree_cpu_seconds(self.beat.pid if self.beat else None),
            "PostgreSQL": svc.tree_cpu_seconds(self.services.pg_pid) if self.services.pg_pid else float("nan"),
            "Redis": svc.tree_cpu_seconds(self.services.redis_pid) if self.services.redis_pid else float("nan"),
            "bench (poller)": svc.cpu_self(),
        }

    def tables(self) -> dict[str, str]:
        from commerce.models import DomainEvent, EventDelivery
        from integrations.models import WebhookDelivery
        from loyalty.models import LedgerEntry

        return {"ledger": LedgerEntry._meta.db_table, "inbox": WebhookDelivery._meta.db_table,
                "outbox": DomainEvent._meta.db_table, "deliveries": EventDelivery._meta.db_table}

    def ledger_entries(self) -> list[tuple[str, int]]:
        from loyalty.models import LedgerEntry

        return list(LedgerEntry.objects.filter(shop_id=self.shop_id).values_list("idempotency_key", "points"))


@dataclass
class Run:
    facts: list[OrderFacts]
    deliveries: list[Delivery]
    expected: dict[str, int]
    sender: dict[str, Any] = field(default_factory=dict)
    samples: list[Sample] = field(default_factory=list)
    seen: dict[str, float] = field(default_factory=dict)
    first_sent: float = 0.0  # time.time() of the replay's start
    drained_after: float = float("nan")  # seconds from the start until the backlog was gone
    drained: bool = False
    cpu: dict[str, float] = field(default_factory=dict)
    pg: dict[str, int] = field(default_factory=dict)
    writes: dict[str, int] = field(default_factory=dict)
    watcher_xacts: int = 0
    verdict: Verdict | None = None
    latencies: list[float] = field(default_factory=list)
    late_seen: int = 0
    processed_rate: float = float("nan")
    inbox_dead: int = 0
    leftover: Counter[str] = field(default_factory=Counter)
    event_failures: Counter[str] = field(default_factory=Counter)  # outbox deliveries by state
    worker_tracebacks: int = 0


def replay(bench: PipelineBench, run: Run, api_version: str) -> None:
    args = bench.args
    requests = [http_request(d, port=bench.port, secret=bench.secret, api_version=api_version)
                for d in run.deliveries]
    stream_file = bench.work / "stream.pickle"
    stream_file.write_bytes(pickle.dumps(requests))
    out_file = bench.work / "sender.json"
    schedule = len(requests) / (args.rate or 50.0)  # an unscheduled run is taken as 50/s for this
    send_bound = max(args.send_seconds, schedule * 3 + 60)
    print(f"# replay: {len(requests):,} deliveries at {args.rate or 'full speed'}/s (~{schedule:.0f}s of sending), "
          f"then up to {args.drain_seconds:.0f}s for the backlog to drain", flush=True)
    from integrations.models import DeliveryStatus

    done = [DeliveryStatus.PROCESSED, DeliveryStatus.IGNORED, DeliveryStatus.DEAD]
    time.sleep(11)  # pg_stat_database: backends flush their counters within 10 s of going idle
    pg_before, writes_before, cpu_before = bench.pg_counters(), bench.table_writes(), bench.cpu()
    started = time.monotonic()
    run.first_sent = time.time()
    watcher = Watcher(db_url=svc.database_url_named(bench.services.database_url, bench.template),
                      shop_id=bench.shop_id, tables=bench.tables(), done_statuses=[str(s) for s in done],
                      queue_depth=bench.queue_depth, started=started)
    watcher.start()
    sender = subprocess.Popen(
        [sys.executable, str(REPO / "bench" / "pipeline_send.py"), "--requests", str(stream_file),
         "--port", str(bench.port), "--rate", str(args.rate), "--concurrency", str(args.send_concurrency),
         "--max-seconds", str(send_bound), "--out", str(out_file)],
        stdin=subprocess.DEVNULL,
    )
    earning = {key for key in run.expected if key.startswith(EARN_PREFIX)}
    try:
        sending_until = time.monotonic() + send_bound + 60
        last_report = time.monotonic()
        while sender.poll() is None and time.monotonic() < sending_until:
            time.sleep(0.5)
            if time.monotonic() - last_report > 15 and watcher.samples:
                last_report = time.monotonic()
                now = watcher.samples[-1]
                print(f"#   sending, t={now.t:5.0f}s: inbox rows {now.received:,}, depth {now.inbox:,}, outbox "
                      f"{now.outbox:,}, earned {now.earned:,}/{len(earning):,}, load {now.load:.2f}", flush=True)
        if sender.poll() is None:
            bench.notes.append("the sender overran its time bound")
        sent_after = time.monotonic() - started
        print(f"#   sent in {sent_after:.0f}s; earned so far {len(watcher.seen):,} of {len(earning):,}", flush=True)
        deadline = time.monotonic() + args.drain_seconds
        quiet_since = None
        last_report = 0.0
        while time.monotonic() < deadline and not watcher.failure:
            time.sleep(0.5)
            last = watcher.samples[-1] if watcher.samples else None
            if last is None:
                continue
            empty = last.inbox == 0 and last.outbox == 0
            if empty and earning <= watcher.seen.keys():
                run.drained, run.drained_after = True, last.t
                break
            if empty:  # nothing left to do, yet entries are missing: give retries a minute, then stop
                quiet_since = quiet_since or time.monotonic()
                if time.monotonic() - quiet_since > 90:
                    run.drained, run.drained_after = True, last.t
                    break
            else:
                quiet_since = None
            if time.monotonic() - last_report > 15:
                last_report = time.monotonic()
                print(f"#   t={last.t:5.0f}s inbox {last.inbox:,} outbox {last.outbox:,} queued {last.queued:,} "
                      f"earned {last.earned:,}/{len(earning):,} load {last.load:.2f}", flush=True)
    finally:
        if sender.poll() is None:
            sender.kill()
            sender.wait()
        run.cpu = {name: after - cpu_before[name] for name, after in bench.cpu().items()}
        watcher.stop()
    if watcher.failure:
        bench.notes.append(f"the poller failed: {watcher.failure}")
    run.samples, run.seen, run.watcher_xacts = watcher.samples, dict(watcher.seen), watcher.transactions
    if out_file.exists():
        run.sender = json.loads(out_file.read_text())
    time.sleep(11)  # the counters again (the workers are idle by now)
    pg_after, writes_after = bench.pg_counters(), bench.table_writes()
    run.pg = {name: pg_after[name] - pg_before[name] for name in PG_COUNTERS}
    run.writes = {name: n - writes_before.get(name, 0) for name, n in writes_after.items()
                  if n - writes_before.get(name, 0)}
    from integrations.models import WebhookDelivery

    run.inbox_dead = WebhookDelivery.objects.filter(status=DeliveryStatus.DEAD).count()
    run.leftover = Counter(WebhookDelivery.objects.exclude(status__in=done).values_list("status", flat=True))
    from commerce.models import EventDelivery

    run.event_failures = Counter(EventDelivery.objects.values_list("state", flat=True))
    log = bench.work / "worker.log"
    run.worker_tracebacks = log.read_text(errors="replace").count("Traceback") if log.exists() else 0


def evaluate(bench: PipelineBench, run: Run) -> None:
    entries = bench.ledger_entries()
    run.verdict = ledger_compare(run.expected, entries)
    first_ack: dict[str, float] = {}
    acked = run.sender.get("acked_at") or [0.0] * len(run.deliveries)
    for delivery, at in zip(run.deliveries, acked, strict=True):
        if at and delivery.topic != "refunds/create":
            key = f"{EARN_PREFIX}{delivery.order_id}"
            first_ack[key] = min(first_ack.get(key, at), at)
    end = time.time()
    present = {key for key, _ in entries}
    latencies = []
    last_seen = 0.0
    for key in run.expected:
        if not key.startswith(EARN_PREFIX) or key not in present:
            continue
        seen = run.seen.get(key)
        if seen is None:  # committed below the poller's look-back: known only from the final read
            run.late_seen += 1
            seen = end
        last_seen = max(last_seen, seen)
        if key in first_ack:
            latencies.append(max(0.0, seen - first_ack[key]))
    run.latencies = sorted(latencies)
    if last_seen > run.first_sent and latencies:
        run.processed_rate = len(latencies) / (last_seen - run.first_sent)


def percentile(values: Sequence[float], fraction: float) -> float:
    if not values:
        return float("nan")
    return values[min(len(values) - 1, max(0, round(fraction * len(values)) - 1))]


def report(bench: PipelineBench, run: Run, started: datetime, load: str) -> tuple[str, bool]:
    args = bench.args
    orders = len(run.facts)
    refunds = sum(len(f.refunds) for f in run.facts)
    topics = Counter(d.topic for d in run.deliveries)
    resent = sum(1 for d in run.deliveries if d.resend)
    earning = sum(1 for k in run.expected if k.startswith(EARN_PREFIX))
    lines = [
        f"Pipeline bench, {started:%Y-%m-%d %H:%M} UTC, {os.cpu_count()} CPUs, app at {revision()}; PostgreSQL "
        f"{bench.services.pg_settings}; gunicorn {args.gunicorn_workers}x{args.gunicorn_threads} gthread, celery "
        f"worker --concurrency {args.concurrency} + beat; load average before: {load}",
        f"{orders:,} paid orders (seed {args.seed}; {sum(f.is_test for f in run.facts)} test orders), {earning:,} "
        f"earning points, {refunds:,} refunds; {len(run.deliveries):,} deliveries: "
        + ", ".join(f"{topic} {n:,}" for topic, n in sorted(topics.items()))
        + f" (of them {resent:,} resent with the same webhook id); sent at "
        + (f"{args.rate:.0f}/s" if args.rate else "full speed (no schedule)"),
    ]
    bare = next((b.result for b in bench.bursts if b.name == "bare"), None)
    inbox = next((b.result for b in bench.bursts if b.name == "inbox"), None)
    rows = [[b.name, b.result["ok"], b.result["errors"], b.result["rps"], b.result["p50_ms"], b.result["p95_ms"],
             b.result["p99_ms"], b.result["max_ms"]] for b in bench.bursts]
    lines += ["", f"Ack bursts before the replay ({args.ack_requests:,} requests after {args.ack_warmup:,} warm-up, "
              f"{args.ack_concurrency} keep-alive connections, one orders/create body of "
              f"{len(run.deliveries[0].body):,} bytes):",
              table(["endpoint", "200", "errors", "req/s", "p50 ms", "p95 ms", "p99 ms", "max ms"], rows)]
    s = run.sender
    if s:
        lines += ["", f"Replay sender: {s['ok']:,} of {s['requests']:,} acknowledged in {s['seconds']:.1f}s "
                  f"({s['rps']:.0f}/s); ack p50 {s['p50_ms']:.1f} ms, p95 {s['p95_ms']:.1f} ms, p99 "
                  f"{s['p99_ms']:.1f} ms, max {s['max_ms']:.0f} ms; said duplicate {s['duplicates']:,}; retried "
                  f"{s['retried']:,}; errors {s['errors'] or 'none'}; at most {s['behind_s']:.2f}s behind schedule"]
    lat = run.latencies
    lines += ["", f"Processing: {len(lat):,} earning orders' points seen; {run.processed_rate:,.1f} orders/s from the "
              f"first delivery to the last order's points; backlog "
              + (f"drained after {run.drained_after:.0f}s" if run.drained else "NOT drained")
              + f"; order->points p50 {percentile(lat, 0.5):.2f} s, p95 {percentile(lat, 0.95):.2f} s, "
              f"p99 {percentile(lat, 0.99):.2f} s, max {lat[-1] if lat else float('nan'):.2f} s "
              f"(first 200 of the order's orders/create or orders/paid -> earn entry visible; poll 0.2 s"
              + (f"; {run.late_seen} found only by the final read" if run.late_seen else "") + ")"]
    per = max(orders, 1)
    xacts = run.pg.get("xact_commit", 0) + run.pg.get("xact_rollback", 0) - run.watcher_xacts
    written = run.pg.get("tup_inserted", 0) + run.pg.get("tup_updated", 0) + run.pg.get("tup_deleted", 0)
    lines += ["", f"Database, per paid order (pg_stat_database over the replay and drain, the poller's "
              f"{run.watcher_xacts:,} transactions taken off): {xacts / per:.1f} transactions "
              f"({run.pg.get('xact_rollback', 0):,} rolled back in all), {written / per:.1f} rows written "
              f"({run.pg.get('tup_inserted', 0) / per:.1f} inserted, {run.pg.get('tup_updated', 0) / per:.1f} "
              f"updated, {run.pg.get('tup_deleted', 0) / per:.1f} deleted)"]
    top = sorted(run.writes.items(), key=lambda item: -item[1])[:10]
    if top:
        lines.append("  rows written per order by table: " + ", ".join(f"{name} {n / per:.2f}" for name, n in top))
    total_cpu = sum(v for v in run.cpu.values() if not math.isnan(v)) + s.get("cpu_s", 0.0)
    cpu_rows = [[name, seconds, 1000 * seconds / per] for name, seconds in run.cpu.items()]
    cpu_rows.append(["sender", s.get("cpu_s", float("nan")), 1000 * s.get("cpu_s", float("nan")) / per])
    cpu_rows.append(["all", total_cpu, 1000 * total_cpu / per])
    lines += ["", "CPU over the replay and drain, per process tree:",
              table(["process", "CPU s", "CPU ms/order"], cpu_rows)]
    samples = run.samples
    if samples:
        step = max(1, math.ceil(len(samples) / 40))
        picked = samples[::step] + ([samples[-1]] if (len(samples) - 1) % step else [])
        lines += ["", f"Depth over time (every {step} s; inbox: not yet processed; outbox: not dispatched + "
                  "failed deliveries waiting; queued: Celery messages):",
                  table(["t s", "inbox rows", "inbox depth", "outbox depth", "queued", "orders earned", "load 1m"],
                        [[round(x.t), x.received, x.inbox, x.outbox, x.queued, x.earned, x.load] for x in picked])]
    v = run.verdict
    ok = True
    if v is not None:
        lines += ["", "Oracle (earn:order:* and reverse:refund:* entries against the bench's computation):",
                  table(["expected entries", "right", "lost", "doubled", "wrong points", "unexpected",
                         "points (expected)", "result"],
                        [[v.expected, v.found, v.lost, v.doubled, v.wrong, v.extra,
                          f"{v.ledger_points:,} ({v.expected_points:,})", "OK" if v.passed else "MISMATCH"]])]
        for kind, keys in v.samples.items():
            if keys:
                lines.append(f"  {kind}: {', '.join(keys)}")
        ok = v.passed
    for name, value, passed in bench.checks:
        lines.append(f"check: {name}: {value}: {'OK' if passed else 'FAILED'}")
        ok = ok and passed
    unacked = (s.get("requests", 0) - s.get("ok", 0)) if s else len(run.deliveries)
    if unacked:
        lines.append(f"check: every delivery acknowledged: {unacked:,} never got a 200: FAILED")
        ok = False
    if run.inbox_dead or run.leftover:
        lines.append(f"check: inbox: {run.inbox_dead} dead, left over {dict(run.leftover) or 'none'}: FAILED")
        ok = False
    if run.event_failures:
        stuck = run.event_failures.get("retrying", 0) + run.event_failures.get("dead", 0)
        lines.append(f"check: outbox subscribers that raised, by state now: {dict(run.event_failures)}: "
                     + ("FAILED" if stuck else "OK (all succeeded on a retry)"))
        ok = ok and not stuck
    if run.worker_tracebacks:
        lines.append(f"note: {run.worker_tracebacks} tracebacks in the worker's log (tail printed above)")
    if not run.drained:
        lines.append(f"check: backlog drained within {args.drain_seconds:.0f}s: FAILED")
        ok = False
    for note in bench.notes:
        lines.append(f"NOTE: {note}")
        ok = False
    ack_rps = inbox["rps"] if inbox else float("nan")
    share = 100 * ack_rps / bare["rps"] if bare and bare["rps"] else float("nan")
    lines += ["", f"pipeline: ack {ack_rps:.0f} req/s ({share:.0f}% of bare), processed {run.processed_rate:.0f} "
              f"orders/s, order->points p95 {percentile(lat, 0.95):.2f} s, lost {v.lost if v else 'n/a'}, "
              f"doubled {v.doubled if v else 'n/a'}"]
    return "\n".join(lines), ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=5000, help="paid orders replayed (default 5000)")
    parser.add_argument("--rate", type=float, default=200.0,
                        help="deliveries sent per second (default 200; 0: as fast as the server acknowledges)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--duplicates", type=float, default=0.2, help="share of deliveries resent (default 0.2)")
    parser.add_argument("--reorder", type=float, default=0.1, help="share of deliveries moved later (default 0.1)")
    parser.add_argument("--drain-seconds", type=float, default=600.0,
                        help="bound on the wait for the backlog after the last delivery (default 600)")
    parser.add_argument("--send-seconds", type=float, default=900.0,
                        help="bound on the sending (at least 3x the schedule; default 900): on a busy machine the "
                        "ack path may not keep up with --rate")
    parser.add_argument("--concurrency", type=int, default=2, help="celery worker processes (default 2)")
    parser.add_argument("--gunicorn-workers", type=int, default=4)
    parser.add_argument("--gunicorn-threads", type=int, default=4)
    parser.add_argument("--send-concurrency", type=int, default=32, help="sender connections (default 32)")
    parser.add_argument("--ack-requests", type=int, default=2000, help="measured requests per ack burst (default 2000)")
    parser.add_argument("--ack-warmup", type=int, default=200)
    parser.add_argument("--ack-concurrency", type=int, default=64)
    parser.add_argument("--pg-fast", action="store_true",
                        help="start PostgreSQL with CI's settings (fsync/synchronous_commit off)")
    args = parser.parse_args(argv)
    if args.orders < 1 or args.rate < 0:
        parser.error("--orders must be positive, --rate positive or 0")
    svc.install_sigterm_handler()
    load = " ".join(f"{v:.2f}" for v in os.getloadavg())
    print(f"# load average before the run: {load}", flush=True)
    started = datetime.now(UTC)
    text, ok = "", False
    with tempfile.TemporaryDirectory(prefix="comeback-bench-pipeline.") as tmp, \
            svc.services(durable=not args.pg_fast) as services:
        bench = PipelineBench(args, services, Path(tmp))
        try:
            bench.setup()
            points_per_unit = bench.program_prepare()
            t0 = time.perf_counter()
            facts, deliveries = plan(orders=args.orders, seed=args.seed, rate=args.rate or 200.0,
                                     duplicates=args.duplicates, reorder=args.reorder)
            run = Run(facts=facts, deliveries=deliveries,
                      expected=expected_ledger(facts, points_per_unit=points_per_unit))
            print(f"# {len(facts):,} orders, {len(deliveries):,} deliveries planned in {time.perf_counter() - t0:.1f}s",
                  flush=True)
            from integrations.shopify.version import API_VERSION

            bench.start_gunicorn()
            bench.ack_bursts(deliveries[0].body)
            bench.start_celery()
            replay(bench, run, API_VERSION)
            evaluate(bench, run)
            text, ok = report(bench, run, started, load)
        finally:
            svc.shield_cleanup()
            bench.stop_all()
            bench.cleanup()
        print(f"# load average after the run: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
        print()
        print(text)
    return 0 if ok else 1


if __name__ == "__main__":
    svc.run(main)
