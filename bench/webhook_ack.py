"""Webhook ack bench: how fast does ``POST /webhooks/shopify`` answer, against a bare Django view?

Starts PostgreSQL and Redis (or uses ``DATABASE_URL``/``CELERY_BROKER_URL``), migrates a fresh
database, creates one installed shop, and serves the app with gunicorn (gthread) the way
production would (DEBUG off, PostgreSQL, a real Redis broker; no Celery worker: the drainers'
wake-up messages just wait in the queue).  Then, for each concurrency, a separate load-client process
(bench/loadgen.py) sends a warm-up and a fixed number of requests to, in turn:

* ``bare``      ``POST /bench/bare``: same body and headers, a view that answers 200 (no DB);
* ``verify``    ``POST /bench/verify``: the webhook's HMAC check and header parsing, then 200;
* ``inbox``     ``POST /webhooks/shopify``: the real ack path (HMAC, one INSERT, wake the drainers),
                every request with its own ``X-Shopify-Webhook-Id``;
* ``duplicate`` ``POST /webhooks/shopify`` with one id repeated (a redelivery storm).

Afterwards the inbox is checked: exactly one row per unique id sent (nothing lost, nothing
twice); the drainers' wake-ups (``drain_inbox`` messages, at most one per web process per
``INBOX_WAKE_INTERVAL_SECONDS``) counted per request: at least one, far fewer than the rows, none
for duplicates.

``--broker-outage N`` (off by default) then restarts the server with its broker URL pointing at a
dead port, then at a socket that accepts but never answers, sends N new deliveries to each, and
checks they were all acknowledged, stored as ``received`` and listed by the sweep
(``webhooks.deliveries_due()``) once older than its grace period.

``.venv/bin/python bench/webhook_ack.py [--requests 5000] [--concurrency 16,64] [--broker-outage 200]``
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench import services as svc  # noqa: E402
from bench.report import table  # noqa: E402

SHOP_DOMAIN = "bench-store.myshopify.com"
WAKE_INTERVAL_SECONDS = 0.05  # the server's INBOX_WAKE_INTERVAL_SECONDS (the default)
WAKE_SETTLE_SECONDS = 0.5  # after a load run, before the queue is counted


# --- the request body: a realistic orders/create payload (REST shape, ~7 KB) -------------------

def _money_set(amount: str, currency: str = "USD") -> dict[str, Any]:
    return {
        "shop_money": {"amount": amount, "currency_code": currency},
        "presentment_money": {"amount": amount, "currency_code": currency},
    }


def _address(first: str, last: str) -> dict[str, Any]:
    return {
        "first_name": first, "last_name": last, "name": f"{first} {last}", "company": None,
        "address1": "2259 Park Ct", "address2": "Apartment 5", "city": "Drayton Valley",
        "province": "Alberta", "province_code": "AB", "country": "Canada", "country_code": "CA",
        "zip": "T0E 0M0", "phone": "(780) 555-0142", "latitude": 53.2211, "longitude": -114.9768,
    }


def order_payload(order_id: int = 5_401_234_567_890, lines: int = 3) -> dict[str, Any]:
    """An orders/create body shaped like Shopify's REST webhook (2025-10), deterministic."""
    items = []
    for n in range(lines):
        price = f"{19.99 + 10 * n:.2f}"
        items.append({
            "id": 13_600_000_000_000 + n, "admin_graphql_api_id": f"gid://shopify/LineItem/{13_600_000_000_000 + n}",
            "attributed_staffs": [], "current_quantity": 1 + n % 2, "fulfillable_quantity": 1 + n % 2,
            "fulfillment_service": "manual", "fulfillment_status": None, "gift_card": False, "grams": 250,
            "name": f"Merino Crew Sock - Charcoal / {['S', 'M', 'L', 'XL'][n % 4]}", "price": price,
            "price_set": _money_set(price), "product_exists": True, "product_id": 8_800_000_000 + n,
            "properties": [], "quantity": 1 + n % 2, "requires_shipping": True, "sku": f"SOCK-CH-{n:03d}",
            "taxable": True, "title": "Merino Crew Sock", "total_discount": "0.00",
            "total_discount_set": _money_set("0.00"), "variant_id": 44_000_000_000 + n,
            "variant_inventory_management": "shopify", "variant_title": f"Charcoal / {['S', 'M', 'L', 'XL'][n % 4]}",
            "vendor": "Northwind Knits", "tax_lines": [
                {"channel_liable": False, "price": "1.00", "price_set": _money_set("1.00"), "rate": 0.05,
                 "title": "GST"},
            ],
            "duties": [], "discount_allocations": [
                {"amount": "2.00", "amount_set": _money_set("2.00"), "discount_application_index": 0},
            ],
        })
    return {
        "id": order_id, "admin_graphql_api_id": f"gid://shopify/Order/{order_id}", "app_id": 580111,
        "browser_ip": "203.0.113.17", "buyer_accepts_marketing": True, "cancel_reason": None,
        "cancelled_at": None, "cart_token": "Z2NwLXVzLWVhc3QxOjAxSjNRV0Y", "checkout_id": 35_000_000_000,
        "checkout_token": "9f3c0b8e2d9a4c71a8b5e0f6d1c2b3a4",
        "client_details": {"accept_language": "en-CA", "browser_height": None, "browser_ip": "203.0.113.17",
                           "browser_width": None, "session_hash": None,
                           "user_agent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15"},
        "closed_at": None, "confirmation_number": "X7QK2M9PA", "confirmed": True,
        "contact_email": "jane.doe@example.com", "created_at": "2026-01-10T10:15:00-05:00", "currency": "USD",
        "current_subtotal_price": "139.92", "current_subtotal_price_set": _money_set("139.92"),
        "current_total_discounts": "8.00", "current_total_discounts_set": _money_set("8.00"),
        "current_total_price": "151.92", "current_total_price_set": _money_set("151.92"),
        "current_total_tax": "4.00", "current_total_tax_set": _money_set("4.00"), "customer_locale": "en-CA",
        "discount_applications": [{"target_type": "line_item", "type": "discount_code", "value": "8.0",
                                   "value_type": "fixed_amount", "allocation_method": "across",
                                   "target_selection": "all", "code": "WELCOME8"}],
        "discount_codes": [{"code": "WELCOME8", "amount": "8.00", "type": "fixed_amount"}],
        "email": "jane.doe@example.com", "estimated_taxes": False, "financial_status": "paid",
        "fulfillment_status": None, "landing_site": "/products/merino-crew-sock?utm_source=newsletter",
        "name": "#1842", "note": None, "note_attributes": [], "number": 842, "order_number": 1842,
        "order_status_url": f"https://{SHOP_DOMAIN}/70000000000/orders/9f3c0b8e2d9a4c71/authenticate?key=abc",
        "payment_gateway_names": ["shopify_payments"], "phone": None, "presentment_currency": "USD",
        "processed_at": "2026-01-10T10:15:00-05:00", "referring_site": "https://www.google.com/",
        "source_name": "web", "subtotal_price": "139.92", "subtotal_price_set": _money_set("139.92"),
        "tags": "", "tax_lines": [{"price": "4.00", "rate": 0.05, "title": "GST", "price_set": _money_set("4.00"),
                                   "channel_liable": False}],
        "taxes_included": False, "test": False, "token": "b1946ac92492d2347c6235b4d2611184",
        "total_discounts": "8.00", "total_discounts_set": _money_set("8.00"), "total_line_items_price": "147.92",
        "total_line_items_price_set": _money_set("147.92"), "total_outstanding": "0.00", "total_price": "151.92",
        "total_price_set": _money_set("151.92"), "total_shipping_price_set": _money_set("12.00"),
        "total_tax": "4.00", "total_tax_set": _money_set("4.00"), "total_tip_received": "0.00",
        "total_weight": 1500, "updated_at": "2026-01-10T10:15:02-05:00", "user_id": None,
        "billing_address": _address("Jane", "Doe"),
        "customer": {
            "id": 7_100_000_000_001, "email": "jane.doe@example.com", "created_at": "2025-03-02T09:00:00-05:00",
            "updated_at": "2026-01-10T10:15:01-05:00", "first_name": "Jane", "last_name": "Doe", "state": "enabled",
            "note": None, "verified_email": True, "multipass_identifier": None, "tax_exempt": False, "phone": None,
            "email_marketing_consent": {"state": "subscribed", "opt_in_level": "single_opt_in",
                                        "consent_updated_at": "2025-03-02T09:00:00-05:00"},
            "sms_marketing_consent": None, "tags": "newsletter", "currency": "USD", "tax_exemptions": [],
            "admin_graphql_api_id": "gid://shopify/Customer/7100000000001",
            "default_address": {**_address("Jane", "Doe"), "id": 9_100_000_000_001,
                                "customer_id": 7_100_000_000_001, "default": True},
        },
        "discount_applications_count": 1, "fulfillments": [], "line_items": items, "payment_terms": None,
        "refunds": [], "shipping_address": _address("Jane", "Doe"),
        "shipping_lines": [{"id": 4_400_000_000_001, "carrier_identifier": None, "code": "Standard",
                            "discounted_price": "12.00", "discounted_price_set": _money_set("12.00"),
                            "is_removed": False, "phone": None, "price": "12.00", "price_set": _money_set("12.00"),
                            "requested_fulfillment_service_id": None, "source": "shopify", "title": "Standard",
                            "tax_lines": [], "discount_allocations": []}],
    }


# --- the run -------------------------------------------------------------------------------------

@dataclass
class Scenario:
    name: str
    path: str
    id_mode: str = "unique"


SCENARIOS = (
    Scenario("bare", "/bench/bare"),
    Scenario("verify", "/bench/verify"),
    Scenario("inbox", "/webhooks/shopify"),
    Scenario("duplicate", "/webhooks/shopify", id_mode="same"),
)


@dataclass
class Outcome:
    scenario: str
    concurrency: int
    mode: str
    result: dict[str, Any]
    server_cpu: float
    pg_cpu: float
    redis_cpu: float
    checks: dict[str, Any] = field(default_factory=dict)


class Bench:
    def __init__(self, args: argparse.Namespace, services: svc.Services, work: Path) -> None:
        self.args = args
        self.services = services
        self.work = work
        self.secret = secrets.token_hex(32)
        self.secret_key = secrets.token_urlsafe(50)  # one for the server and this process: it keys Fernet
        self.queue = f"bench-{secrets.token_hex(4)}"
        self.run_tag = secrets.token_hex(4)
        self.port = svc.free_port()
        self.body_file = work / "orders-create.json"
        self.body_file.write_bytes(json.dumps(order_payload()).encode())
        self.db_name = f"comeback_bench_ack_{os.getpid()}"
        self.db_url = ""
        self.server: subprocess.Popen[bytes] | None = None
        self.phase_number = 0
        self.server_broker_url = ""  # set: the server publishes there instead (the broker-outage check)

    # setup --------------------------------------------------------------------------------------

    def app_env(self) -> dict[str, str]:
        return {
            "DJANGO_SETTINGS_MODULE": "bench.benchsite",
            "DEBUG": "0",
            "SECRET_KEY": self.secret_key,
            "ALLOWED_HOSTS": "127.0.0.1",
            "DATABASE_URL": self.db_url,
            "CELERY_BROKER_URL": self.server_broker_url or self.services.broker_url,
            "REDIS_URL": self.services.redis_url,
            "SHOPIFY_API_SECRET": self.secret,
            "BENCH_CELERY_QUEUE": self.queue,
            "VAR_DIR": str(self.work / "var"),
        }

    def prepare_database(self) -> None:
        self.db_url = svc.create_database(self.services.database_url, self.db_name)
        os.environ.update(self.app_env())  # this process always talks to the real broker
        import django

        django.setup()
        from django.core.management import call_command
        from django.utils import timezone

        from commerce.models import Platform, Shop, ShopStatus

        started = time.perf_counter()
        call_command("migrate", interactive=False, verbosity=0)
        Shop.objects.create(
            platform=Platform.SHOPIFY, domain=SHOP_DOMAIN, name="Bench store", status=ShopStatus.INSTALLED,
            access_token="shpat_bench_token", scopes="read_orders", installed_at=timezone.now(),
        )
        print(f"# fresh database {self.db_name} migrated in {time.perf_counter() - started:.1f}s; one installed shop")

    def start_server(self) -> None:
        self.server = svc.start_gunicorn(
            port=self.port, env={**os.environ, **self.app_env()}, workers=self.args.workers,
            threads=self.args.threads, worker_class=self.args.worker_class, log_file=self.work / "gunicorn.log",
            ready=self.bench_urls_answer, timeout=180,  # a busy shared machine starts slowly
        )

    def bench_urls_answer(self) -> bool:
        """The server is up and the bench URLconf is in place."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
        try:
            conn.request("POST", "/bench/bare", body=b"{}", headers={"Content-Type": "application/json"})
            return conn.getresponse().status == 200
        finally:
            conn.close()

    def stop_server(self) -> None:
        svc.stop_process(self.server)

    # load ---------------------------------------------------------------------------------------

    def prefix(self) -> str:
        """A fresh UUID-shaped id prefix per load run: ``<run tag>-<phase>-4000-8000-``."""
        self.phase_number += 1
        return f"{self.run_tag}-{self.phase_number:04x}-4000-8000-"

    def load(self, scenario: Scenario, concurrency: int, requests: int, same_id: str, mode: str) -> dict[str, Any]:
        prefix = self.prefix()
        command = [
            sys.executable, str(REPO / "bench" / "loadgen.py"), "--port", str(self.port),
            "--path", scenario.path, "--body", str(self.body_file), "--secret", self.secret,
            "--shop-domain", SHOP_DOMAIN, "--requests", str(requests), "--concurrency", str(concurrency),
            "--prefix", prefix, "--id-mode", scenario.id_mode, "--max-seconds", str(self.args.max_seconds),
        ]
        if same_id:
            command += ["--same-id", same_id]
        if mode == "close":
            command.append("--close")
        return svc.run_load_client(
            command, server=self.server, port=self.port, peek_spread=mode == "keepalive", peek_after=0.3,
            timeout=self.args.max_seconds + 60,
        )

    def queued(self) -> int:
        import redis

        client = redis.Redis.from_url(self.services.broker_url)
        try:
            return sum(int(client.llen(key)) for key in client.keys(f"{self.queue}*"))
        finally:
            client.close()

    def wake_mark_clear(self) -> None:
        """Do what a drain does as it starts: take the queued wake-up's mark (``inbox:wake-pending``
        in the shared cache), so the next commits must publish a wake-up of their own.  No worker
        runs here, so without this the mark from the warm-up would hold every wake-up back."""
        import redis

        client = redis.Redis.from_url(self.services.redis_url)
        try:
            for key in client.keys("*inbox:wake-pending"):
                client.delete(key)
        finally:
            client.close()

    def rows(self, prefix: str = "", delivery_id: str = "") -> tuple[int, int]:
        """(rows, distinct ids) in the inbox with that id prefix, or with exactly that id."""
        from django.db.models import Count

        from integrations.models import WebhookDelivery

        rows = WebhookDelivery.objects.all()
        rows = rows.filter(delivery_id=delivery_id) if delivery_id else rows.filter(delivery_id__startswith=prefix)
        counted = rows.aggregate(n=Count("id"), ids=Count("delivery_id", distinct=True))
        return int(counted["n"]), int(counted["ids"])

    def cpu(self) -> tuple[float, float, float]:
        return (
            svc.tree_cpu_seconds(self.server.pid if self.server else None),
            svc.tree_cpu_seconds(self.services.pg_pid),
            svc.tree_cpu_seconds(self.services.redis_pid),
        )

    def scenario(self, scenario: Scenario, concurrency: int, mode: str) -> Outcome:
        self.phase_number += 1
        same_id = f"{self.run_tag}-{self.phase_number:04x}-4000-8000-{0:012x}" if scenario.id_mode == "same" else ""
        warm = self.load(scenario, concurrency, self.args.warmup, same_id, mode)
        webhook = scenario.path == "/webhooks/shopify"
        if webhook:
            time.sleep(WAKE_SETTLE_SECONDS)  # the warm-up's last wake-ups are published
            self.wake_mark_clear()
        queued_before = self.queued()
        rows_before = self.rows(delivery_id=same_id) if same_id else (0, 0)
        cpu_before = self.cpu()
        started = time.monotonic()
        result = self.load(scenario, concurrency, self.args.requests, same_id, mode)
        wall = time.monotonic() - started
        cpu_after = self.cpu()
        server_cpu, pg_cpu, redis_cpu = (after - before for after, before in zip(cpu_after, cpu_before, strict=True))
        outcome = Outcome(scenario.name, concurrency, mode, result, server_cpu, pg_cpu, redis_cpu)
        if webhook:
            time.sleep(WAKE_SETTLE_SECONDS)  # the last commits' wake-ups are published
            enqueued = self.queued() - queued_before
            if same_id:
                stored, distinct = self.rows(delivery_id=same_id)
                expected_rows, expected_tasks, expected_dups = 1, 0, result["ok"]
                outcome.checks = {"rows": stored, "before": rows_before[0], "distinct": distinct}
            else:
                stored, distinct = self.rows(prefix=result["prefix"])
                # at least one (wake-ups coalesce: one waits in the queue at a time, and no drainer
                # runs here to take it), at most one per web process per interval
                expected_tasks = min(self.args.requests, int(self.args.workers * (wall / WAKE_INTERVAL_SECONDS + 1)))
                expected_rows, expected_dups = self.args.requests, 0
                warm_rows, _ = self.rows(prefix=warm["prefix"])
                outcome.checks = {"rows": stored, "distinct": distinct, "warm_rows": warm_rows,
                                  "warm_ok": warm["ok"]}
            outcome.checks.update({
                "sent": result["requests"], "ok": result["ok"], "duplicates": result["duplicates"],
                "enqueued": enqueued, "expected_rows": expected_rows, "expected_tasks": expected_tasks,
                "expected_dups": expected_dups,
            })
            wakes_ok = enqueued == 0 if same_id else 1 <= enqueued <= expected_tasks
            passed = (stored == expected_rows and distinct == expected_rows and wakes_ok
                      and result["duplicates"] == expected_dups and result["errors"] == 0
                      and result["ok"] == self.args.requests)
            if not same_id:
                passed = passed and outcome.checks["warm_rows"] == warm["ok"]
            outcome.checks["passed"] = passed
        print(f"#   {scenario.name:<9} {mode:<9} c={concurrency:<3} {result['rps']:8.0f} req/s"
              f"  p50 {result['p50_ms']:6.1f} ms  p99 {result['p99_ms']:6.1f} ms  errors {result['errors']}",
              flush=True)
        return outcome

    # broker outage --------------------------------------------------------------------------------

    def broker_outage(self, kind: str, requests: int, concurrency: int) -> dict[str, Any]:
        """Serve with the broker unreachable, send ``requests`` new deliveries, check the inbox.

        ``refused``: nothing listens on the broker's port (Redis down: connect fails at once).
        ``hung``: a socket that accepts connections (the kernel's backlog) but never answers
        (Redis stuck, or a network that swallows packets: every publish waits for a timeout).
        Then the rows are backdated past the sweep's grace period and ``deliveries_due()`` (what
        the beat job ``retry_due_deliveries`` enqueues) must list every one of them."""
        from datetime import timedelta

        from django.utils import timezone

        from integrations import webhooks
        from integrations.models import DeliveryStatus, WebhookDelivery

        fake: socket.socket | None = None
        port = svc.free_port()
        if kind == "hung":
            fake = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            fake.bind(("127.0.0.1", port))
            fake.listen(1024)
        self.stop_server()
        self.server_broker_url = f"redis://127.0.0.1:{port}/1"
        queued_before = self.queued()
        try:
            self.start_server()
            result = self.load(Scenario("inbox", "/webhooks/shopify"), concurrency, requests, "", "keepalive")
        finally:
            self.stop_server()
            self.server_broker_url = ""
            if fake is not None:
                fake.close()
        rows = WebhookDelivery.objects.filter(delivery_id__startswith=result["prefix"])
        stored = rows.count()
        waiting = rows.filter(status=DeliveryStatus.RECEIVED).count()
        rows.update(received_at=timezone.now() - timedelta(days=365))  # older than anything else here
        started = time.perf_counter()
        due = set(webhooks.deliveries_due())
        sweep_ms = 1000 * (time.perf_counter() - started)
        picked = rows.filter(pk__in=due).count()
        inbox = WebhookDelivery.objects.count()
        rows.update(status=DeliveryStatus.PROCESSED)  # out of the way of a later outage run
        enqueued = self.queued() - queued_before
        passed = (result["ok"] == requests and result["errors"] == 0 and stored == requests
                  and waiting == requests and picked == min(requests, 500) and enqueued == 0)
        print(f"#   broker {kind:<7} c={concurrency:<3} {result['rps']:8.0f} req/s  p50 {result['p50_ms']:6.1f} ms"
              f"  max {result['max_ms']:7.1f} ms  errors {result['errors']}  stored {stored}  swept {picked}",
              flush=True)
        return {"kind": kind, "concurrency": concurrency, "result": result, "stored": stored,
                "waiting": waiting, "picked": picked, "enqueued": enqueued, "sweep_ms": sweep_ms, "inbox": inbox,
                "passed": passed}


def report(bench: Bench, outcomes: list[Outcome], outages: list[dict[str, Any]] | None = None) -> str:
    args = bench.args
    head = [
        f"Webhook ack bench, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} CPUs; gunicorn "
        f"{args.workers}x{args.threads} {args.worker_class}; "
        f"{args.requests:,} requests per row after {args.warmup:,} warm-up; "
        f"body {bench.body_file.stat().st_size:,} bytes; PostgreSQL {bench.services.pg_settings}",
    ]
    rows = []
    for o in outcomes:
        r = o.result
        n = max(r["ok"], 1)
        rows.append([
            o.scenario, o.mode, o.concurrency, r["ok"], r["errors"], r["rps"], r["p50_ms"], r["p95_ms"], r["p99_ms"],
            r["max_ms"], 1000 * o.server_cpu / n, 1000 * o.pg_cpu / n, 1000 * o.redis_cpu / n,
            1000 * r["client_cpu_s"] / n, "/".join(map(str, r["spread"])) or "-",
        ])
    lines = head + ["", table(
        ["endpoint", "conns", "conc", "ok", "errors", "req/s", "p50 ms", "p95 ms", "p99 ms", "max ms",
         "app CPU ms/req", "PG CPU ms/req", "redis CPU ms/req", "client CPU ms/req", "conns/worker"], rows)]
    checks = []
    for o in outcomes:
        c = o.checks
        if not c:
            continue
        wakes = "0" if c["expected_dups"] else f"1..{c['expected_tasks']}"
        checks.append([
            o.scenario, o.mode, o.concurrency, c["sent"], c["ok"], c["duplicates"], c["rows"], c["distinct"],
            c["enqueued"], f"{c['enqueued'] / max(c['ok'], 1):.3f}",
            f"rows={c['expected_rows']} wake-ups={wakes} dup={c['expected_dups']}",
            "OK" if c["passed"] else "MISMATCH",
        ])
    if checks:
        lines += ["", "Inbox check (measured requests only; duplicate: rows/wake-ups for the one repeated id):", table(
            ["endpoint", "conns", "conc", "sent", "200", "said dup", "rows", "distinct ids", "wake-ups queued",
             "wake-ups/req", "expected", "result"], checks)]
    if outages:
        outage_rows = []
        for down in outages:
            r = down["result"]
            outage_rows.append([
                down["kind"], down["concurrency"], r["requests"], r["ok"], r["errors"], r["rps"], r["p50_ms"],
                r["p99_ms"], r["max_ms"], down["stored"], down["waiting"], down["enqueued"],
                f"{down['picked']} ({down['sweep_ms']:.0f} ms, {down['inbox']:,} rows)",
                "OK" if down["passed"] else "MISMATCH",
            ])
        lines += ["", "Broker outage (the server's broker URL points at a dead port / a socket that never answers; "
                  "new ids; afterwards the rows are backdated and deliveries_due() is called):", table(
            ["broker", "conc", "sent", "200", "errors", "req/s", "p50 ms", "p99 ms", "max ms", "rows",
             "still received", "tasks queued", "listed by deliveries_due()", "result"], outage_rows)]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=5000, help="measured requests per row (default 5000)")
    parser.add_argument("--warmup", type=int, default=500, help="warm-up requests before each row (default 500)")
    parser.add_argument("--concurrency", default="16,64", help="comma-separated connection counts (default 16,64)")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--worker-class", default="gthread", help="gunicorn worker class (default gthread)")
    parser.add_argument("--connections", default="keepalive,close",
                        help="client connection modes, comma-separated: keepalive (persistent connections) and/or "
                        "close (a new connection per request, as separate Shopify deliveries); default both")
    parser.add_argument("--scenarios", default=",".join(s.name for s in SCENARIOS),
                        help="comma-separated subset of: " + ", ".join(s.name for s in SCENARIOS))
    parser.add_argument("--pg-fast", action="store_true",
                        help="start PostgreSQL with CI's settings (fsync/synchronous_commit off)")
    parser.add_argument("--max-seconds", type=float, default=240.0, help="time bound of each load run")
    parser.add_argument("--broker-outage", type=int, default=0, metavar="N",
                        help="after the rows above, send N new deliveries (at most 500) with the server's broker "
                        "refused, then hung, and check they are stored and listed by the sweep (default: skip)")
    args = parser.parse_args(argv)
    levels = [int(c) for c in args.concurrency.split(",") if c.strip()]
    modes = [m.strip() for m in args.connections.split(",") if m.strip()]
    if not modes or set(modes) - {"keepalive", "close"}:
        parser.error("--connections: keepalive and/or close")
    wanted = {s.strip() for s in args.scenarios.split(",") if s.strip()}
    chosen = [s for s in SCENARIOS if s.name in wanted]
    if not chosen or wanted - {s.name for s in SCENARIOS}:
        parser.error(f"--scenarios: choose from {', '.join(s.name for s in SCENARIOS)}")
    svc.install_sigterm_handler()
    print(f"# load average before the run: {' '.join(f'{v:.2f}' for v in os.getloadavg())}", flush=True)
    if not 0 <= args.broker_outage <= 500:
        parser.error("--broker-outage: at most 500 (the sweep lists 500 rows at a time)")
    outcomes: list[Outcome] = []
    outages: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="comeback-bench-ack.") as tmp, \
            svc.services(durable=not args.pg_fast) as services:
        bench = Bench(args, services, Path(tmp))
        try:
            bench.prepare_database()
            bench.start_server()
            for mode in modes:
                for concurrency in levels:
                    for scenario in chosen:
                        outcomes.append(bench.scenario(scenario, concurrency, mode))
            if args.broker_outage:
                for kind in ("refused", "hung"):
                    outages.append(bench.broker_outage(kind, args.broker_outage, min(levels)))
        finally:
            svc.shield_cleanup()
            bench.stop_server()
            log = Path(tmp) / "gunicorn.log"
            if log.exists() and log.stat().st_size:
                print("# gunicorn log (tail):\n" + "\n".join(log.read_text().splitlines()[-20:]))
            if "django" in sys.modules:
                from django.db import connections

                connections.close_all()
            if bench.db_url:
                svc.drop_database(services.database_url, bench.db_name)
            if services.redis_pid is None:  # an external broker: take our queue away
                import redis

                client = redis.Redis.from_url(services.broker_url)
                for pattern in (f"{bench.queue}*", f"_kombu.binding*.{bench.queue}"):
                    for key in client.keys(pattern):
                        client.delete(key)
                client.close()
        print()
        print(report(bench, outcomes, outages))
    ok = all(o.checks.get("passed", True) for o in outcomes) and all(o["passed"] for o in outages)
    return 0 if ok else 1


if __name__ == "__main__":
    svc.run(main)
