"""Campaign send bench: how many messages per second the scheduler (``engine.run_due``) sends.

Set-up (untimed): a migrated PostgreSQL database with one installed shop (Asia/Jerusalem), the
Shopify sandbox (``python -m sandbox.shopify``) in its own process on 127.0.0.1 with
the shop installed (its token stored on the shop), and, with ``COPY``: customers with email and
SMS marketing consent (en/he/fa), two orders each with two lines (the sender reads the shopper's
language and history from them), and for each run below N enrolments with one scheduled step,
due five minutes ago, each for another customer (so no frequency cap or duplicate rule
interferes).  The scheduler's clock is 12:00 in the shop's zone (no quiet hours).

Email goes to Django's file backend (``filebased.EmailBackend``: every message built, rendered in
both parts, serialised and written to a file under the bench's work directory; the bench's
subclass adds the tracking id as an ``X-Comeback-Message`` header so the check can read it back);
SMS to the app's sandbox provider (one JSON line per message in a file under the bench's ``VAR_DIR``).

Timed, ``run_due(now=..., limit=500)`` called until nothing is due:

* ``email``: a plain marketing email (the ``birthday`` copy, no code): consent, duplicate,
  cap and quiet-hour checks, render, send, ``Message`` row;
* ``sms``: the same with an SMS step (the ``winback`` SMS template, sandbox provider);
* ``email + code``: the win-back email with its 15 % code, created through the platform adapter
  in the Shopify sandbox over HTTP (``discountCodeBasicCreate``, the sandbox's default rate limit:
  a 2,000-point bucket refilled at 100 points/s, as Shopify's standard plan);
* ``email, 2 schedulers``: N more due email steps run by two scheduler processes at once.

Checks (exit status 1 if one fails): every scheduled step is done with exactly one ``Message``;
the messages written by the mail backend (by tracking id) or by the SMS provider are
exactly one per step; every code exists in the sandbox store; with two schedulers, no step was
sent twice (each process reports the tracking ids it sent) and both took part.

``.venv/bin/python bench/campaign_send.py [--steps 20000] [--code-steps 500] [--max-seconds 900]
[--mail-backend file|locmem]``
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from decimal import Decimal
from pathlib import Path
from typing import Any

import requests

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench import services as svc  # noqa: E402
from bench.loyalty_common import (  # noqa: E402
    SHOP_DOMAIN,
    BenchTimeout,
    LoyaltyBench,
    QueryCounter,
    copy_into,
    revision,
    sequences_reset,
)
from bench.report import table  # noqa: E402

CUSTOMER_BASE = 7_300_000_000_000
ORDER_BASE = 5_600_000_000_000
PRODUCT_BASE = 8_950_000_000
PRODUCTS = 50
LIMIT = 500  # run_due's batch (the app's default)
MAIL_BACKENDS = {"file": "bench.campaign_send.TrackedFileBackend",
                 "locmem": "django.core.mail.backends.locmem.EmailBackend"}
OUTBOX_ENV = "BENCH_MAIL_OUTBOX"
TRACKING_HEADER = "X-Comeback-Message"
TRACKED = re.compile(rf"^{TRACKING_HEADER}: (\w+)\r?$", re.MULTILINE)


def _file_backend() -> type:
    from django.core.mail.backends.filebased import EmailBackend

    class TrackedFileBackend(EmailBackend):
        """Django's file backend writing into ``$BENCH_MAIL_OUTBOX``, with the message's tracking id
        (the metadata a provider would get) as a header, for the bench's check."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs.setdefault("file_path", os.environ[OUTBOX_ENV])
            super().__init__(*args, **kwargs)

        def write_message(self, message: Any) -> None:
            metadata = getattr(message, "metadata", None) or {}
            if metadata.get("comeback_message"):
                message.extra_headers[TRACKING_HEADER] = metadata["comeback_message"]
            super().write_message(message)

    return TrackedFileBackend


def __getattr__(name: str) -> Any:  # the backend class is built once Django is set up
    if name == "TrackedFileBackend":
        return _file_backend()
    raise AttributeError(name)


@dataclass
class Tally:
    """What one scheduler process did."""

    outcomes: Counter[str] = field(default_factory=Counter)
    sent_ids: list[str] = field(default_factory=list)  # tracking ids handed to the mail backend
    seconds: float = 0.0
    cpu: float = 0.0
    queries: int = 0
    batches: int = 0
    error: str = ""


def drain(now: datetime, deadline: float, counter: QueryCounter | None = None) -> Tally:
    """``run_due`` until nothing is due at ``now`` (or the deadline); the locmem outbox is
    emptied after each batch, its messages' tracking ids kept."""
    from django.core import mail
    from django.db import connection

    from campaigns.services import engine

    tally = Tally()
    cpu0, t0 = svc.cpu_self(), time.perf_counter()
    try:
        with connection.execute_wrapper(counter or QueryCounter()):
            while time.monotonic() < deadline:
                outcomes = engine.run_due(now=now, limit=LIMIT)
                tally.batches += 1
                tally.outcomes.update(o.status for o in outcomes)
                outbox = getattr(mail, "outbox", [])
                tally.sent_ids += [m.metadata["comeback_message"] for m in outbox]
                outbox.clear()
                if not outcomes:
                    break
    except Exception as error:  # reported and checked: a scheduler must not crash
        tally.error = f"{type(error).__name__}: {error}"[:300]
    tally.seconds, tally.cpu = time.perf_counter() - t0, svc.cpu_self() - cpu0
    if counter is not None:
        tally.queries = sum(counter.counts.values())
    return tally


def _scheduler_child(now: datetime, deadline: float, results: Any) -> None:
    from django.db import connections

    connections.close_all()  # a fresh connection of its own (the parent's was closed before the fork)
    results.put(drain(now, deadline, QueryCounter()))


@dataclass
class Row:
    name: str
    steps: int
    sent: int
    seconds: float
    rate: float
    queries: float
    cpu_ms: float
    pg_ms: float
    outcomes: str
    note: str = ""


@dataclass
class Check:
    name: str
    detail: str
    passed: bool


class Sandbox:
    """The Shopify sandbox as its own process (the CLI), so its CPU is not the scheduler's."""

    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.process: subprocess.Popen[str] | None = None
        self.base_url = ""

    def start(self) -> str:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "sandbox.shopify", "--port", str(svc.free_port()), "--shop",
             SHOP_DOMAIN, "--customers", "5", "--orders", "5", "--api-key", "bench", "--api-secret", self.secret],
            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        assert self.process.stdout is not None
        self.base_url = self.process.stdout.readline().strip()
        if not self.base_url.startswith("http"):
            raise RuntimeError("the Shopify sandbox did not start")
        return self.base_url

    def control(self, path: str, payload: dict | None = None) -> Any:
        url = f"{self.base_url}/_sandbox/shops/{SHOP_DOMAIN}{path}"
        response = requests.post(url, json=payload or {}, timeout=30) if payload is not None else requests.get(
            url, timeout=30)
        response.raise_for_status()
        return response.json()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class SendBench(LoyaltyBench):
    def __init__(self, args: argparse.Namespace, services: svc.Services, work: Path) -> None:
        super().__init__(services, work, "send")
        self.args = args
        self.rows: list[Row] = []
        self.checks: list[Check] = []
        self.next_customer = 0
        self.ids = {"enrolment": 0, "step": 0}

    def app_env(self, database: str) -> dict[str, str]:
        self.outbox.mkdir(parents=True, exist_ok=True)
        return {**super().app_env(database), "EMAIL_BACKEND": MAIL_BACKENDS[self.args.mail_backend],
                "SMS_PROVIDER": "sandbox", OUTBOX_ENV: str(self.outbox)}

    @property
    def outbox(self) -> Path:
        return self.work / "outbox"

    def outbox_ids(self) -> list[str]:
        """The tracking ids in the files the file backend wrote since the last call (read, then removed)."""
        ids: list[str] = []
        for path in sorted(self.outbox.glob("*.log")):
            ids += TRACKED.findall(path.read_text(encoding="utf-8", errors="replace"))
            path.unlink()
        return ids

    def load(self, sandbox: Sandbox, now: datetime) -> dict[str, list[int]]:
        """Customers for each run (the code run's exist in the sandbox store too), two orders each."""
        from commerce.models import Customer, Order, OrderLine, Product, Shop

        started = time.perf_counter()
        rng = random.Random(self.args.seed)
        runs = {"email": self.args.steps, "sms": self.args.steps, "code": self.args.code_steps,
                "concurrent": self.args.steps}
        store_ids = [str(sandbox.control("/customers", {"email": f"code{n}@example.com"})["id"])
                     for n in range(runs["code"])]
        copy_into(Product, ({"id": n + 1, "shop_id": self.shop_id, "platform_id": str(PRODUCT_BASE + n),
                             "title": f"Product {n}", "status": "active"} for n in range(PRODUCTS)))
        customers: list[dict[str, Any]] = []
        orders: list[dict[str, Any]] = []
        lines: list[dict[str, Any]] = []
        by_run: dict[str, list[int]] = {}
        for run, count in runs.items():
            by_run[run] = []
            for k in range(count):
                n = len(customers)
                pk = n + 1
                locale = rng.choice(("en", "en", "he", "fa"))
                customers.append({
                    "id": pk, "shop_id": self.shop_id,
                    "platform_id": store_ids[k] if run == "code" else str(CUSTOMER_BASE + n),
                    "platform_updated_at": now - timedelta(days=3), "first_name": f"Shopper{n}", "last_name": "Bench",
                    "email": f"shopper{n}@example.com", "phone": f"+9725{n:08d}", "locale": locale,
                    "email_consent": "subscribed", "sms_consent": "subscribed", "account_state": "enabled",
                    "first_order_at": now - timedelta(days=400),
                    "birthday": date(1990, 1, 1) + timedelta(days=n % 3650),
                })
                by_run[run].append(pk)
                for j in range(2):
                    order_pk = len(orders) + 1
                    at = now - timedelta(days=400 - 150 * j, minutes=n % 1440)
                    orders.append({
                        "id": order_pk, "shop_id": self.shop_id, "platform_id": str(ORDER_BASE + order_pk),
                        "platform_updated_at": at, "customer_id": pk, "name": f"#{1000 + order_pk}",
                        "email": f"shopper{n}@example.com", "locale": locale, "financial_status": "paid",
                        "currency": "USD", "subtotal": Decimal("64.00"), "total": Decimal("74.88"),
                        "processed_at": at, "platform_created_at": at,
                    })
                    for line in range(2):
                        product = rng.randrange(PRODUCTS) + 1
                        lines.append({"id": len(lines) + 1, "shop_id": self.shop_id, "order_id": order_pk,
                                      "platform_id": f"{order_pk}-{line}", "product_id": product,
                                      "title": f"Product {product - 1}", "quantity": 1, "currency": "USD",
                                      "unit_price": Decimal("32.00")})
        copy_into(Customer, customers)
        copy_into(Order, orders)
        copy_into(OrderLine, lines)
        sequences_reset(Customer, Order, OrderLine, Product)
        Shop.objects.filter(pk=self.shop_id).update(timezone="Asia/Jerusalem")
        shop = Shop.objects.get(pk=self.shop_id)
        shop.access_token = sandbox.control("/token", {})["access_token"]
        shop.save(update_fields=["access_token"])
        self.vacuum_analyze()
        print(f"# {len(customers):,} customers, {len(orders):,} orders, {len(lines):,} lines copied; "
              f"{runs['code']} customers created in the sandbox store ({time.perf_counter() - started:.1f}s)",
              flush=True)
        return by_run

    def flow(self, key: str, action: str, template: str, config: dict, conditions: dict | None = None) -> Any:
        from campaigns.models import Flow, FlowStep

        flow = Flow.objects.create(shop_id=self.shop_id, key=key, name=f"Bench {key}", trigger="manual",
                                   is_enabled=True)
        FlowStep.objects.create(flow=flow, position=0, action=action, template=template, is_marketing=True,
                                config=config, conditions=conditions or {})
        return flow

    def due(self, flow: Any, customers: list[int], now: datetime) -> None:
        """One enrolment per customer with the flow's step due five minutes ago (COPY)."""
        from campaigns.models import Enrolment, ScheduledStep

        step = flow.steps.get()
        at = now - timedelta(minutes=5)
        first = self.ids["enrolment"] + 1
        copy_into(Enrolment, ({"id": first + k, "shop_id": self.shop_id, "flow_id": flow.pk, "customer_id": pk,
                               "trigger_key": f"bench:{flow.key}:{pk}", "context": {}, "enrolled_at": at,
                               "status": "active"} for k, pk in enumerate(customers)))
        copy_into(ScheduledStep, ({"id": self.ids["step"] + 1 + k, "shop_id": self.shop_id, "enrolment_id": first + k,
                                   "step_id": step.pk, "due_at": at, "first_due_at": at, "priority": 3,
                                   "status": "pending"}
                                  for k in range(len(customers))))
        self.ids["enrolment"] += len(customers)
        self.ids["step"] += len(customers)
        sequences_reset(Enrolment, ScheduledStep)
        self.vacuum_analyze()

    def result(self, name: str, flow: Any, steps: int, tallies: list[Tally], seconds: float, pg: float,
               note: str = "") -> None:
        outcomes: Counter[str] = Counter()
        for tally in tallies:
            outcomes.update(tally.outcomes)
        sent = outcomes["sent"]
        queries = sum(t.queries for t in tallies)
        cpu = sum(t.cpu for t in tallies)
        self.rows.append(Row(name, steps, sent, seconds, sent / seconds if seconds else float("nan"),
                             queries / max(sent, 1), 1000 * cpu / max(sent, 1), 1000 * pg / max(sent, 1),
                             ", ".join(f"{k} {v:,}" for k, v in sorted(outcomes.items())), note))
        print(f"#   {name}: {sent:,} sent in {seconds:.1f}s ({sent / seconds if seconds else 0:.0f}/s); "
              f"{dict(outcomes)}", flush=True)

    def check_steps(self, name: str, flow: Any, steps: int, sent_ids: list[str] | None, extra: str = "",
                    extra_ok: bool = True) -> None:
        """Every step done, one Message each, and (email) one hand-over to the backend per Message."""
        from django.db.models import Count

        from campaigns.models import Message, ScheduledStep

        scheduled = ScheduledStep.objects.filter(step__flow=flow)
        states = Counter(scheduled.values_list("status", flat=True))
        messages = Message.objects.filter(flow=flow)
        counts = dict(messages.values("scheduled_step_id").annotate(n=Count("pk"))
                      .values_list("scheduled_step_id", "n"))
        per_step = Counter(counts.get(pk, 0) for pk in scheduled.values_list("pk", flat=True))
        tracking = set(messages.filter(status="sent").values_list("tracking_id", flat=True))
        passed = states == Counter({"done": steps}) and per_step == Counter({1: steps}) and extra_ok
        detail = f"steps {dict(states)}; messages per step {dict(per_step)}"
        if sent_ids is not None:
            doubled = len(sent_ids) - len(set(sent_ids))
            passed = passed and doubled == 0 and set(sent_ids) == tracking and len(sent_ids) == steps
            detail += f"; given to the mail backend {len(sent_ids):,} ({doubled} twice, " \
                      f"{len(set(sent_ids) ^ tracking)} not matching a Message)"
        detail += extra
        self.checks.append(Check(name, detail, passed))
        print(f"#   {name}: check {'OK' if passed else 'MISMATCH'}: {detail}", flush=True)

    def single(self, name: str, flow: Any, customers: list[int], now: datetime, note: str = "",
               later: int = 0) -> list[str]:
        """One scheduler; ``later`` more passes at +16 min each for steps deferred by a failed send."""
        self.due(flow, customers, now)
        print(f"# {name}: {len(customers):,} steps due; running the scheduler ...", flush=True)
        deadline = time.monotonic() + self.args.max_seconds
        pg0 = svc.tree_cpu_seconds(self.services.pg_pid)
        t0 = time.perf_counter()
        tallies = [drain(now, deadline, QueryCounter())]
        for k in range(later):
            if not tallies[-1].outcomes.get("deferred"):
                break
            tallies.append(drain(now + timedelta(minutes=16 * (k + 1)), deadline, QueryCounter()))
        seconds = time.perf_counter() - t0
        pg = svc.tree_cpu_seconds(self.services.pg_pid) - pg0 if self.services.pg_pid else float("nan")
        errors = [t.error for t in tallies if t.error]
        if time.monotonic() >= deadline:
            errors.append("deadline")
        self.result(name, flow, len(customers), tallies, seconds, pg, note + (f" ERROR {errors}" if errors else ""))
        sent_ids = [i for t in tallies for i in t.sent_ids] + self.outbox_ids()
        return sent_ids if not errors else []

    def concurrent(self, flow: Any, customers: list[int], now: datetime) -> None:
        from django.db import connections

        self.due(flow, customers, now)
        name = "email, 2 schedulers"
        print(f"# {name}: {len(customers):,} steps due; two scheduler processes ...", flush=True)
        deadline = time.monotonic() + self.args.max_seconds
        connections.close_all()
        context = multiprocessing.get_context("fork")
        results = context.Queue()
        pg0 = svc.tree_cpu_seconds(self.services.pg_pid)
        t0 = time.perf_counter()
        workers = [context.Process(target=_scheduler_child, args=(now, deadline, results)) for _ in range(2)]
        for worker in workers:
            worker.start()
        tallies = []
        for _ in workers:
            try:
                tallies.append(results.get(timeout=max(1.0, deadline - time.monotonic() + 60)))
            except Exception:  # a child died without reporting
                tallies.append(Tally(error="no report"))
        for worker in workers:
            worker.join(timeout=30)
        seconds = time.perf_counter() - t0
        pg = svc.tree_cpu_seconds(self.services.pg_pid) - pg0 if self.services.pg_pid else float("nan")
        shares = "/".join(f"{t.outcomes.get('sent', 0):,}" for t in tallies)
        errors = [t.error for t in tallies if t.error]
        self.result(name, flow, len(customers), tallies, seconds, pg,
                    f"sent per process {shares}" + (f" ERROR {errors}" if errors else ""))
        both = all(t.outcomes.get("sent", 0) > 0 for t in tallies)
        self.check_steps(name, flow, len(customers), [i for t in tallies for i in t.sent_ids] + self.outbox_ids(),
                         extra=f"; sent per process {shares}; errors {errors or 'none'}", extra_ok=both and not errors)

    def sms_lines(self) -> list[dict[str, Any]]:
        directory = self.work / "var" / "sms"
        return [json.loads(line) for path in sorted(directory.glob("*.jsonl"))
                for line in path.read_text().splitlines()]


def report(bench: SendBench, args: argparse.Namespace, started: datetime, load: str, now: datetime) -> str:
    lines = [
        f"Campaign send bench, {started:%Y-%m-%d %H:%M} UTC, {os.cpu_count()} CPUs; engine.run_due(limit={LIMIT}) "
        f"at {now:%Y-%m-%d %H:%M} UTC (12:00 in the shop's zone); email: Django {args.mail_backend} backend; "
        f"SMS: sandbox provider (a file); codes: Shopify sandbox over HTTP; PostgreSQL {bench.services.pg_settings}; "
        f"load average before: {load}; app at {revision()}",
        "",
        table(["run", "due steps", "sent", "seconds", "messages/s", "queries/msg", "scheduler CPU ms/msg",
               "PG CPU ms/msg", "outcomes", "note"],
              [[r.name, r.steps, r.sent, r.seconds, r.rate, r.queries, r.cpu_ms, r.pg_ms, r.outcomes, r.note]
               for r in bench.rows]),
        "",
        "Checks:",
    ]
    lines += [f"  {c.name}: {'OK' if c.passed else 'MISMATCH'}: {c.detail}" for c in bench.checks]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=20_000,
                        help="due steps for the email, SMS and two-scheduler runs (default 20000)")
    parser.add_argument("--code-steps", type=int, default=500,
                        help="due steps whose email creates a discount code in the sandbox store (default 500)")
    parser.add_argument("--only", help="comma-separated runs: email,sms,code,concurrent (default all)")
    parser.add_argument("--today", help="the scheduler's date (YYYY-MM-DD, default today); it runs at 10:00 UTC")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--max-seconds", type=float, default=900.0, help="time bound of each run (default 900)")
    parser.add_argument("--mail-backend", choices=sorted(MAIL_BACKENDS), default="file",
                        help="where email goes: Django's file backend (default) or locmem (kept in memory)")
    parser.add_argument("--pg-fast", action="store_true",
                        help="start PostgreSQL with CI's settings (fsync/synchronous_commit off)")
    args = parser.parse_args(argv)
    if args.steps < 1 or args.code_steps < 1:
        parser.error("--steps and --code-steps must be positive")
    only = set((args.only or "email,sms,code,concurrent").split(","))
    day = date.fromisoformat(args.today) if args.today else datetime.now(UTC).date()
    now = datetime.combine(day, clock(10, 0), UTC)
    svc.install_sigterm_handler()
    load = " ".join(f"{v:.2f}" for v in os.getloadavg())
    print(f"# load average before the run: {load}", flush=True)
    started = datetime.now(UTC)
    with tempfile.TemporaryDirectory(prefix="comeback-bench-send.") as tmp, \
            svc.services(durable=not args.pg_fast) as services:
        bench = SendBench(args, services, Path(tmp))
        sandbox = Sandbox(bench.secret)
        failed = ""
        try:
            sandbox.start()
            os.environ["SHOPIFY_SANDBOX_URL"] = sandbox.base_url  # read by the settings at set-up
            bench.setup()
            customers = bench.load(sandbox, now)
            if "email" in only:
                flow = bench.flow("bench_email", "send_email", "birthday", {})
                sent = bench.single("email", flow, customers["email"], now, "plain marketing email, no code")
                bench.check_steps("email", flow, args.steps, sent)
            if "sms" in only:
                flow = bench.flow("bench_sms", "send_sms", "winback", {})
                bench.single("sms", flow, customers["sms"], now, "sandbox SMS provider")
                texts = bench.sms_lines()
                numbers = Counter(text["to"] for text in texts)
                bench.check_steps("sms", flow, args.steps, None,
                                  extra=f"; SMS written {len(texts):,} to {len(numbers):,} numbers",
                                  extra_ok=len(texts) == args.steps and max(numbers.values(), default=0) == 1)
            if "code" in only:
                flow = bench.flow("bench_code", "send_email", "winback", {"discount_percent": 15, "discount_hours": 72},
                                  {"no_order_since_enrolment": True})
                sent = bench.single("email + code", flow, customers["code"], now,
                                    "discountCodeBasicCreate in the sandbox over HTTP", later=5)
                from campaigns.models import Message

                codes = set(Message.objects.filter(flow=flow, status="sent").values_list("discount_code", flat=True))
                in_store = {c["code"] for c in sandbox.control("/discount_codes")}
                bench.check_steps("email + code", flow, args.code_steps, sent,
                                  extra=f"; codes {len(codes):,} distinct, {len(codes - in_store)} not in the store",
                                  extra_ok=len(codes) == args.code_steps and codes <= in_store)
            if "concurrent" in only:
                flow = bench.flow("bench_concurrent", "send_email", "birthday", {})
                bench.concurrent(flow, customers["concurrent"], now)
        except (BenchTimeout, RuntimeError, requests.RequestException) as error:
            failed = str(error)
        finally:
            sandbox.stop()
            bench.cleanup()
        print()
        print(report(bench, args, started, load, now))
        if failed:
            print(f"\nFAILED: {failed}", file=sys.stderr)
    ok = not failed and bool(bench.checks) and all(c.passed for c in bench.checks)
    return 0 if ok else 1


if __name__ == "__main__":
    svc.run(main)
