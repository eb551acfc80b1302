"""Loyalty widget bench: ``GET /proxy/loyalty`` latency with 100,000 customers in the shop.

Set-up (not timed): a migrated PostgreSQL database with one installed shop and the loyalty
program switched on (default tiers Bronze/Silver/Gold, default rewards, plus ``--tier-only-rewards``
rewards reserved for Silver and Gold), then, bulk-loaded with ``COPY`` (bench/loyalty_common.py
``copy_into``): ``--customers`` customers, each with a loyalty account in the tier its spend
reaches, 2-8 paid orders over the last two years, and a ledger of 3-10 entries (signup points,
one ``earn:order:<id>`` entry per order, pending for 14 days after the order, and for some a
redemption with its code, issued or used).  Ids are assigned here and the sequences moved past
them; idempotency keys are unique per shop; then ``VACUUM ANALYZE``.

Then gunicorn serves the app as bench/webhook_ack.py does (``bench.benchsite`` settings,
``DEBUG=0``, PostgreSQL, ``--workers 4 --threads 4`` gthread) and a separate load process
(bench/loyalty_loadgen.py; keep-alive connections, then a new connection per request) sends
``GET /proxy/loyalty?<query>``, each query signed like Shopify's app proxy with the server's ``SHOPIFY_API_SECRET``:

* ``logged in``: ``logged_in_customer_id`` of a random customer (a new one for every request);
* ``logged out``: ``logged_in_customer_id=`` empty (the program, tiers and rewards only).

Every variant gets ``--warmup`` requests, then ``--requests`` measured ones, at each
``--concurrency``.  Before the load, the statements one request sends are counted in-process
(``CaptureQueriesContext``), repeated statement shapes are listed (N+1 suspects) and every SELECT
is EXPLAINed, listing sequential scans of large tables (missing-index suspects).

Checks (exit status 1 if one fails): no request failed; every logged-in answer had a balance and
every logged-out one none; for ``--verify`` random customers the balance (spendable and pending),
tier and history length the API returns equal what the bench loaded; no account was opened or
ledger row written by the reads.

``.venv/bin/python bench/loyalty_widget.py [--customers 100000] [--requests 3000] [--concurrency 8,32]``
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import http.client
import json
import math
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench import services as svc  # noqa: E402
from bench.loyalty_common import SHOP_DOMAIN, LoyaltyBench, copy_into, revision, sequences_reset  # noqa: E402
from bench.report import table  # noqa: E402

CUSTOMER_BASE = 7_100_000_000_000
ORDER_BASE = 5_400_000_000_000
CENT = Decimal("0.01")
REFERRAL_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
PENDING_DAYS = 14  # the default program's return window


def code_of(number: int, width: int) -> str:
    """``number`` in base 32 over the app's code alphabet: unique, fixed width."""
    out = []
    for _ in range(width):
        number, digit = divmod(number, 32)
        out.append(REFERRAL_ALPHABET[digit])
    return "".join(reversed(out))


def signed_query(secret: str, customer_platform_id: str, timestamp: int) -> str:
    """The query Shopify's app proxy appends: its parameters, then ``signature`` = hex
    HMAC-SHA256 of ``key=value`` pairs sorted by key and joined with no separator."""
    params = {"shop": SHOP_DOMAIN, "logged_in_customer_id": customer_platform_id,
              "path_prefix": "/apps/comeback", "timestamp": str(timestamp)}
    message = "".join(f"{key}={value}" for key, value in sorted(params.items()))
    params["signature"] = hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()
    return urlencode(params)


@dataclass
class Shopper:
    """What the bench loaded for one customer, to check the API's answer against."""

    entries: list[tuple[int, datetime]] = field(default_factory=list)  # (points, available_at)
    tier: str = ""

    def balance(self, at: datetime) -> tuple[int, int]:
        available = sum(points for points, when in self.entries if when <= at)
        pending = sum(points for points, when in self.entries if when > at)
        return available, pending


@dataclass
class Outcome:
    variant: str
    concurrency: int
    mode: str
    result: dict[str, Any]
    server_cpu: float
    pg_cpu: float


class WidgetBench(LoyaltyBench):
    def __init__(self, args: argparse.Namespace, services: svc.Services, work: Path) -> None:
        super().__init__(services, work, "widget")
        self.args = args
        self.port = svc.free_port()
        self.server: subprocess.Popen[bytes] | None = None
        self.shoppers: dict[int, Shopper] = {}  # customer index -> what was loaded (a sample is kept)
        self.loaded: dict[str, int] = {}
        self.query_report: list[str] = []
        self.problems: list[str] = []
        self.checks: list[tuple[str, str, bool]] = []

    # data ---------------------------------------------------------------------------------------

    def populate(self) -> None:
        from django.db import connection
        from django.utils import timezone

        from commerce.models import Customer, Order
        from loyalty.models import Account, LedgerEntry, Redemption, Reward, RewardKind, Tier

        shop = self.shop()
        tiers = sorted(Tier.objects.filter(shop=shop, scheme__is_active=True), key=lambda t: t.threshold)
        by_name = {t.name: t for t in tiers}
        extra = [("Silver: free socks", RewardKind.FREE_PRODUCT, 300, "Silver"),
                 ("Gold: 25 off", RewardKind.FIXED_AMOUNT, 500, "Gold"),
                 ("Gold: early access gift", RewardKind.FIXED_AMOUNT, 400, "Gold"),
                 ("Silver: 15% off", RewardKind.PERCENTAGE, 350, "Silver")]
        for name, kind, cost, tier_name in extra[:self.args.tier_only_rewards]:
            Reward.objects.create(shop=shop, name=name, kind=kind, points_cost=cost, value=Decimal("10"),
                                  tier_only=by_name.get(tier_name))
        rewards = list(Reward.objects.filter(shop=shop, is_active=True, tier_only__isnull=True)
                       .order_by("points_cost").values_list("pk", "points_cost"))
        rng = random.Random(self.args.seed)
        now = timezone.now()
        count = self.args.customers
        keep = set(rng.sample(range(count), min(count, max(self.args.verify, 0) * 3)))
        sample_every = max(1, count // 2000)  # also keep every n-th, for the load's own spot checks
        customers: list[dict[str, Any]] = []
        accounts: list[dict[str, Any]] = []
        orders: list[dict[str, Any]] = []
        entries: list[dict[str, Any]] = []
        redemptions: list[dict[str, Any]] = []
        order_id = entry_id = redemption_id = 0
        per_account: Counter[int] = Counter()
        self.loaded = dict.fromkeys(("customers", "accounts", "orders", "ledger entries", "redemptions"), 0)
        built = copied = 0.0
        started = time.perf_counter()

        def flush() -> None:  # COPY what was built so far, parents first; keeps memory small
            nonlocal copied
            began = time.perf_counter()
            for key, model, rows in (("customers", Customer, customers), ("accounts", Account, accounts),
                                     ("orders", Order, orders), ("redemptions", Redemption, redemptions),
                                     ("ledger entries", LedgerEntry, entries)):
                self.loaded[key] += copy_into(model, rows)
                rows.clear()
            copied += time.perf_counter() - began

        for index in range(count):
            pk = index + 1
            joined = now - timedelta(days=rng.uniform(30, 760))
            email = f"shopper{index}@example.com"
            customers.append({"id": pk, "shop_id": shop.pk, "platform_id": str(CUSTOMER_BASE + index),
                              "platform_updated_at": joined, "platform_created_at": joined,
                              "first_name": f"Shopper{index}", "last_name": "Bench", "email": email,
                              "account_state": "enabled", "email_consent": "subscribed", "first_order_at": None})
            ledger: list[tuple[int, datetime, dict[str, Any]]] = []
            ledger.append((50, joined, {"kind": "earn", "source": "rule", "source_id": "signup",
                                        "idempotency_key": f"rule:signup:{pk}", "reason": "joined the program"}))
            spend = Decimal("0")
            times = sorted(joined + timedelta(days=rng.uniform(0, (now - joined).days - 0.5))
                           for _ in range(rng.choice((2, 3, 3, 4, 4, 5, 5, 6, 7, 8))))
            customers[-1]["first_order_at"] = times[0]
            for at in times:
                order_id += 1
                subtotal = Decimal(rng.randrange(1500, 25000)) / 100
                tax = (subtotal * Decimal("0.08")).quantize(CENT, rounding=ROUND_HALF_UP)
                shipping = Decimal("0") if subtotal >= 75 else Decimal("7.95")
                total = subtotal + tax + shipping
                spend += total
                platform_id = str(ORDER_BASE + order_id)
                orders.append({"id": order_id, "shop_id": shop.pk, "platform_id": platform_id,
                               "platform_updated_at": at, "platform_created_at": at, "customer_id": pk,
                               "customer_platform_id": str(CUSTOMER_BASE + index), "name": f"#{1000 + order_id}",
                               "email": email, "financial_status": "paid", "fulfillment_status": "fulfilled",
                               "currency": "USD", "subtotal": subtotal, "total_tax": tax, "total_shipping": shipping,
                               "total": total, "processed_at": at, "created_at": at, "updated_at": at})
                ledger.append((math.floor(subtotal), at + timedelta(days=PENDING_DAYS),
                               {"kind": "earn", "source": "order", "source_id": platform_id,
                                "idempotency_key": f"earn:order:{platform_id}", "reason": f"order #{1000 + order_id}",
                                "created_at": at}))
            spendable = sum(points for points, when, _ in ledger if when <= now)
            affordable = [(reward, cost) for reward, cost in rewards if cost <= spendable]
            if affordable and rng.random() < 0.4:
                reward, cost = affordable[-1]
                redemption_id += 1
                at = max(when for _, when, _ in ledger if when <= now) + timedelta(hours=rng.uniform(1, 48))
                at = min(at, now - timedelta(minutes=5))
                issued = rng.random() < 0.5
                redemptions.append({"id": redemption_id, "shop_id": shop.pk, "account_id": pk, "reward_id": reward,
                                    "points": cost, "code": "CB-" + code_of(redemption_id, 10),
                                    "platform_discount_id": f"gid://shopify/DiscountCodeNode/{redemption_id}",
                                    "status": "issued" if issued else "used",
                                    "expires_at": at + timedelta(days=30), "used_at": None if issued else at,
                                    "created_at": at})
                ledger.append((-cost, at, {"kind": "redeem", "source": "redemption", "source_id": str(redemption_id),
                                           "idempotency_key": f"redeem:{redemption_id}", "reason": "reward",
                                           "created_at": at}))
            reached = [t for t in tiers if t.threshold <= spend]
            tier = max(reached, key=lambda t: t.threshold) if reached else None
            accounts.append({"id": pk, "shop_id": shop.pk, "customer_id": pk, "email": email,
                             "tier_id": tier.pk if tier else None, "tier_since": times[-1],
                             "referral_code": code_of(pk, 8), "created_at": joined, "updated_at": times[-1]})
            for points, available_at, row in ledger:
                entry_id += 1
                entries.append({"id": entry_id, "shop_id": shop.pk, "account_id": pk, "points": points,
                                "available_at": available_at, "created_at": row.pop("created_at", available_at), **row})
            per_account[pk] = len(ledger)
            if index in keep or index % sample_every == 0:
                self.shoppers[index] = Shopper([(p, when) for p, when, _ in ledger], tier.name if tier else "")
            if len(customers) >= 10_000 or index == count - 1:
                flush()
        built = time.perf_counter() - started - copied
        sequences_reset(Customer, Account, Order, LedgerEntry, Redemption)
        started = time.perf_counter()
        self.vacuum_analyze()
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
            size = cursor.fetchone()
        spread = Counter(per_account.values())
        print(f"# loaded {', '.join(f'{n:,} {k}' for k, n in self.loaded.items())}: rows built in {built:.1f}s, "
              f"COPY {copied:.1f}s, VACUUM ANALYZE {time.perf_counter() - started:.1f}s; database "
              f"{size[0] if size else '?'}", flush=True)
        print("# ledger entries per account: " + ", ".join(f"{k}: {v:,}" for k, v in sorted(spread.items())),
              flush=True)

    # the server ---------------------------------------------------------------------------------

    def start_server(self) -> None:
        self.server = svc.start_gunicorn(
            port=self.port, env={**os.environ, **self.app_env(self.current)}, workers=self.args.workers,
            threads=self.args.threads, worker_class="gthread", log_file=self.work / "gunicorn.log",
            ready=lambda: self.get(self.target(None))[0] == 200, timeout=300,  # a signed logged-out request
        )

    def stop_server(self) -> None:
        svc.stop_process(self.server)

    def get(self, target: str) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            conn.request("GET", target)
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

    def target(self, index: int | None) -> str:
        customer = "" if index is None else str(CUSTOMER_BASE + index)
        return f"/proxy/loyalty?{signed_query(self.secret, customer, int(time.time()))}"

    # checks -------------------------------------------------------------------------------------

    def verify_answers(self) -> None:
        """Spot-check the API's answers against what was loaded."""
        rng = random.Random(self.args.seed + 1)
        sample = rng.sample(sorted(self.shoppers), min(self.args.verify, len(self.shoppers)))
        wrong: list[str] = []
        for index in sample:
            status, body = self.get(self.target(index))
            at = datetime.now(UTC)
            expected = self.shoppers[index]
            if status != 200:
                wrong.append(f"customer {index}: HTTP {status}")
                continue
            state = json.loads(body)
            available, pending = expected.balance(at)
            got = (state["balance"]["available"], state["balance"]["pending"], state["tier"]["name"] or "",
                   len(state["history"]))
            want = (available, pending, expected.tier, min(20, len(expected.entries)))
            if got != want:
                wrong.append(f"customer {index}: got {got}, loaded {want}")
        status, body = self.get(self.target(None))
        out = json.loads(body) if status == 200 else {}
        logged_out_ok = status == 200 and out.get("logged_in") is False and "balance" not in out
        self.checks.append((f"{len(sample)} random shoppers: balance, pending, tier, history length",
                            "all as loaded" if not wrong else "; ".join(wrong[:3]), not wrong))
        self.checks.append(("logged out: program without a balance", f"HTTP {status}", logged_out_ok))

    def count_queries(self) -> None:
        """Statements per request, in-process, through the full middleware stack."""
        from django.db import connection
        from django.test import Client
        from django.test.utils import CaptureQueriesContext

        client = Client(HTTP_HOST="127.0.0.1")
        index = next(iter(sorted(self.shoppers)))
        for label, customer in (("logged in", index), ("logged out", None)):
            client.get(self.target(customer))  # first request of the process: caches, connection
            with CaptureQueriesContext(connection) as captured:
                response = client.get(self.target(customer))
            if response.status_code != 200:
                raise RuntimeError(f"in-process {label} request: HTTP {response.status_code}")
            statements = [q["sql"] for q in captured.captured_queries]
            shapes = Counter(self.shape(sql) for sql in statements)
            repeated = {shape: n for shape, n in shapes.items() if n > 1}
            self.query_report.append(f"{label}: {len(statements)} statements per request")
            for number, sql in enumerate(statements, 1):
                self.query_report.append(f"  {number:2d}. {self.brief(sql)}")
            for shape, n in repeated.items():
                self.problems.append(f"{label}: the same statement shape {n} times in one request: "
                                     f"{self.brief(shape)}")
            self.explain(label, statements)

    @staticmethod
    def shape(sql: str) -> str:
        sql = re.sub(r"'(?:[^']|'')*'", "?", sql)
        sql = re.sub(r"\b\d+(?:\.\d+)?\b", "?", sql)
        return re.sub(r"\(\?(?:, \?)*\)", "(?...)", sql)

    @staticmethod
    def brief(sql: str) -> str:
        """``SELECT <table> WHERE ...`` in a line: the columns list dropped."""
        sql = re.sub(r"^SELECT .*? FROM ", "SELECT ... FROM ", sql, count=1, flags=re.S)
        return sql if len(sql) <= 200 else sql[:197] + "..."

    def explain(self, label: str, statements: list[str]) -> None:
        from django.db import connection

        big = {"commerce_customer", "commerce_order", "loyalty_account", "loyalty_ledgerentry", "loyalty_redemption"}
        with connection.cursor() as cursor:
            for sql in statements:
                if not sql.lstrip().upper().startswith("SELECT"):
                    continue
                cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}")
                row = cursor.fetchone()
                plan = row[0] if row else []
                plan = json.loads(plan) if isinstance(plan, str) else plan
                for node in self.nodes(plan[0]["Plan"]):
                    if node.get("Node Type") == "Seq Scan" and node.get("Relation Name") in big:
                        self.problems.append(
                            f"{label}: sequential scan of {node['Relation Name']} ({node.get('Actual Rows', '?')} "
                            f"rows out, {node.get('Rows Removed by Filter', 0)} filtered) in: {self.brief(sql)}")

    def nodes(self, plan: dict[str, Any]) -> list[dict[str, Any]]:
        out = [plan]
        for child in plan.get("Plans", []):
            out += self.nodes(child)
        return out

    def counts(self) -> dict[str, int]:
        from loyalty.models import Account, LedgerEntry, Redemption

        return {"accounts": Account.objects.count(), "ledger entries": LedgerEntry.objects.count(),
                "redemptions": Redemption.objects.count()}

    # load ---------------------------------------------------------------------------------------

    def urls(self, variant: str, total: int) -> Path:
        """Signed targets for one run: a random customer each (logged in), or nobody."""
        rng = random.Random(f"{self.args.seed}-{variant}-{total}-{time.time()}")
        path = self.work / f"urls-{variant.replace(' ', '-')}-{secrets_token()}.txt"
        stamp = int(time.time())
        lines = []
        for _ in range(total):
            index = None if variant == "logged out" else rng.randrange(self.args.customers)
            customer = "" if index is None else str(CUSTOMER_BASE + index)
            lines.append(f"/proxy/loyalty?{signed_query(self.secret, customer, stamp)}")
        path.write_text("\n".join(lines) + "\n")
        return path

    def load(self, urls: Path, start: int, count: int, concurrency: int, expect: str, mode: str
             ) -> dict[str, Any]:
        command = [sys.executable, str(REPO / "bench" / "loyalty_loadgen.py"), "--port", str(self.port),
                   "--urls", str(urls), "--start", str(start), "--count", str(count),
                   "--concurrency", str(concurrency), "--expect", expect,
                   "--max-seconds", str(self.args.max_seconds)]
        if mode == "close":
            command.append("--close")
        return svc.run_load_client(
            command, server=self.server, port=self.port, peek_spread=mode == "keepalive", peek_after=0.5,
            timeout=self.args.max_seconds + 60,
        )

    def run(self, variant: str, concurrency: int, mode: str) -> Outcome:
        expect = "logged_out" if variant == "logged out" else "logged_in"
        urls = self.urls(variant, self.args.warmup + self.args.requests)
        self.load(urls, 0, self.args.warmup, concurrency, expect, mode)
        before = (svc.tree_cpu_seconds(self.server.pid if self.server else None),
                  svc.tree_cpu_seconds(self.services.pg_pid))
        result = self.load(urls, self.args.warmup, self.args.requests, concurrency, expect, mode)
        after = (svc.tree_cpu_seconds(self.server.pid if self.server else None),
                 svc.tree_cpu_seconds(self.services.pg_pid))
        print(f"#   {variant:<10} {mode:<9} c={concurrency:<3} {result['rps']:7.0f} req/s  "
              f"p50 {result['p50_ms']:6.1f} ms  p99 {result['p99_ms']:6.1f} ms  errors {result['errors']}  "
              f"unexpected {result['unexpected']}", flush=True)
        return Outcome(variant, concurrency, mode, result, after[0] - before[0], after[1] - before[1])


def secrets_token() -> str:
    return os.urandom(4).hex()


def report(bench: WidgetBench, args: argparse.Namespace, outcomes: list[Outcome], started: datetime,
           load: str) -> str:
    head = [
        f"Loyalty widget bench, {started:%Y-%m-%d %H:%M} UTC, {os.cpu_count()} CPUs; GET /proxy/loyalty; "
        f"{args.customers:,} customers with accounts ({', '.join(f'{n:,} {k}' for k, n in bench.loaded.items())}); "
        f"gunicorn {args.workers}x{args.threads} gthread; {args.requests:,} requests per row after {args.warmup:,} "
        f"warm-up; PostgreSQL {bench.services.pg_settings}; load average before: {load}; app at {revision()}",
    ]
    rows = []
    for o in outcomes:
        r = o.result
        n = max(r["ok"], 1)
        rows.append([o.variant, o.mode, o.concurrency, r["ok"], r["errors"] + r["unexpected"], r["rps"],
                     r["p50_ms"], r["p95_ms"], r["p99_ms"], r["max_ms"], 1000 * o.server_cpu / n,
                     1000 * o.pg_cpu / n, 1000 * r["client_cpu_s"] / n, round(r["mean_bytes"]),
                     "/".join(map(str, r["spread"])) or "-"])
    out = head + ["", table(["variant", "conns", "conc", "ok", "errors", "req/s", "p50 ms", "p95 ms", "p99 ms",
                             "max ms", "app CPU ms/req", "PG CPU ms/req", "client CPU ms/req", "bytes/resp",
                             "conns/worker"], rows)]
    out += ["", "Statements per request (in-process, CaptureQueriesContext, one request after a first one):",
            *bench.query_report]
    out += ["", "Suspects (repeated statement shapes in one request; sequential scans of large tables):"]
    out += [f"  - {p}" for p in bench.problems] or ["  none"]
    out += ["", "Checks:", table(["check", "found", "result"],
                                 [[name, found, "OK" if ok else "FAILED"] for name, found, ok in bench.checks])]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=3000, help="measured requests per row (default 3000)")
    parser.add_argument("--warmup", type=int, default=300, help="warm-up requests before each row (default 300)")
    parser.add_argument("--concurrency", default="8,32", help="comma-separated connection counts (default 8,32)")
    parser.add_argument("--variants", default="logged in,logged out", help="logged in and/or logged out")
    parser.add_argument("--connections", default="keepalive,close",
                        help="client connection modes: keepalive (persistent) and/or close (one per request)")
    parser.add_argument("--tier-only-rewards", type=int, default=2, choices=range(5),
                        help="rewards reserved for a tier, besides the 3 default ones (default 2)")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--verify", type=int, default=200, help="shoppers whose answer is checked (default 200)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--max-seconds", type=float, default=240.0, help="time bound of each load run")
    parser.add_argument("--pg-fast", action="store_true",
                        help="start PostgreSQL with CI's settings (fsync/synchronous_commit off)")
    args = parser.parse_args(argv)
    levels = [int(c) for c in args.concurrency.split(",") if c.strip()]
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    modes = [m.strip() for m in args.connections.split(",") if m.strip()]
    if not modes or set(modes) - {"keepalive", "close"}:
        parser.error("--connections: keepalive and/or close")
    if not levels or not variants or set(variants) - {"logged in", "logged out"} or args.customers < 1:
        parser.error("--concurrency: numbers; --variants: 'logged in' and/or 'logged out'; --customers > 0")
    svc.install_sigterm_handler()
    load = " ".join(f"{v:.2f}" for v in os.getloadavg())
    print(f"# load average before the run: {load}", flush=True)
    started = datetime.now(UTC)
    outcomes: list[Outcome] = []
    with tempfile.TemporaryDirectory(prefix="comeback-bench-widget.") as tmp, \
            svc.services(durable=not args.pg_fast) as services:
        bench = WidgetBench(args, services, Path(tmp))
        try:
            bench.setup()
            bench.populate()
            before = bench.counts()
            bench.count_queries()
            bench.start_server()
            bench.verify_answers()
            for mode in modes:
                for concurrency in levels:
                    for variant in variants:
                        outcomes.append(bench.run(variant, concurrency, mode))
            after = bench.counts()
            bench.checks.append(("reads wrote nothing (accounts, ledger, redemptions)",
                                 ", ".join(f"{k} {v:,}" for k, v in after.items()), after == before))
            bad = sum(o.result["errors"] + o.result["unexpected"] for o in outcomes)
            sent = sum(o.result["requests"] for o in outcomes)
            bench.checks.append(("every measured request answered 200 with the expected shape",
                                 f"{bad:,} of {sent:,} not", bad == 0 and sent == len(outcomes) * args.requests))
        finally:
            bench.stop_server()
            log = Path(tmp) / "gunicorn.log"
            if log.exists() and log.stat().st_size:
                print("# gunicorn log (tail):\n" + "\n".join(log.read_text().splitlines()[-20:]))
            bench.cleanup()
        print()
        print(report(bench, args, outcomes, started, load))
    ok = bool(bench.checks) and all(passed for _, _, passed in bench.checks)
    return 0 if ok else 1


if __name__ == "__main__":
    svc.run(main)
