"""Loyalty award bench: points awarded for paid orders on the live path, and by the backfill.

Set-up (not timed): a migrated PostgreSQL database with one installed shop, the loyalty program
switched on with its defaults (1 point per unit of merchandise after discounts, rounded down;
Bronze/Silver/Gold tiers on lifetime spend at 0/500/1500 with earn multipliers 1/1.25/1.5; a
"5 orders" badge worth 100 points), ``--customers`` customers (default: a quarter of the orders,
so every size has the shape of 100,000 orders over 25,000 customers), and ``--orders`` paid
orders generated in memory (deterministic for a ``--seed``; 1-4 lines, some discounted, 3 % guest
checkouts, 0.5 % test orders, 0.5 % fully discounted).

Measured, each on its own copy of that database, for each ``--batch-sizes`` value B:

* **live, B orders per call**: ``commerce.services.orders_upsert(records=<B orders>, live=True)``
  (what the ``orders/*`` webhook handler calls, B=1; B=100 is a reconciliation-sized batch),
  which commits the orders and their ``order.paid`` events to the outbox and publishes the
  dispatch task to Redis on commit (once per transaction); then
  ``commerce.events.dispatch_pending()`` until the outbox is empty: rounds of up to 500 events,
  one transaction each, in which the B ``order.paid`` events reach the loyalty batch subscriber
  as one run (earn, guest/customer account, tier evaluation, badges, challenges, referral check),
  and the events those write go out in the next round.  Ingest and
  dispatch are timed separately: "loyalty" is the dispatch part alone.
* **backfill**: on a copy of the first live database with every loyalty account (and so every
  ledger entry) removed, ``loyalty.services.earning.backfill(shop, apply=False)`` (the dry run),
  then ``backfill(shop, apply=True)``.

Checks (exit status 1 if one fails): exactly one ``earn:order:<id>`` entry per eligible order
(paid, not a test, earning > 0) and none for the others; each entry's points equal the points
computed here from the generated lines, independently of the app (merchandise after discounts ×
1, × the tier multiplier the account held when the order was dispatched, rounded down; the
tier is simulated from the orders' totals in dispatch order, test orders left out of spend and of
the badge's order count as the app's counted orders leave them); the whole ledger's sum equals
those points plus the badge points; accounts and tiers as simulated.  Backfill: the dry run and the
real run agree, and the ledger equals the points without tier multipliers (a backfill does not
evaluate tiers).

``.venv/bin/python bench/loyalty_award.py [--orders 8000] [--batch-sizes 1,100] [--max-seconds 900]``
"""

from __future__ import annotations

import argparse
import functools
import math
import os
import random
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench import services as svc  # noqa: E402
from bench.loyalty_common import (  # noqa: E402
    BenchTimeout,
    LoyaltyBench,
    QueryCounter,
    copy_into,
    revision,
    sequences_reset,
    time_limit,
)
from bench.report import table  # noqa: E402

TARGET_ORDERS = 100_000
CUSTOMER_BASE = 7_100_000_000_000
ORDER_BASE = 5_400_000_000_000
LINE_BASE = 13_600_000_000_000
PRODUCT_BASE = 8_800_000_000
GUEST_SHARE = 0.03
TEST_SHARE = 0.005
FREE_SHARE = 0.005
CENT = Decimal("0.01")


# --- the orders ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Planned:
    """One generated order and what the bench knows about it without asking the app."""

    record: Any  # commerce.records.OrderRecord
    owner: str  # "c:<customer platform id>" or "g:<guest email>"
    merchandise: Decimal  # sum over lines of unit price × quantity - line discount
    total: Decimal
    is_test: bool


def customer_email(index: int) -> str:
    return f"shopper{index}@example.com"


def generate(*, orders: int, customers: int, seed: int, now: datetime) -> list[Planned]:
    """Paid orders over the last two days, in the order they arrive.  Customers are picked with a
    long tail (a few order often, most once or twice), so tiers and the 5-order badge are reached."""
    from commerce.records import OrderLineRecord, OrderRecord

    rng = random.Random(seed)
    guests = max(1, customers // 12)
    start = now - timedelta(days=2)
    step = timedelta(days=1) / max(orders, 1)
    planned = []
    for i in range(orders):
        at = start + step * i
        if rng.random() < GUEST_SHARE:
            guest = rng.randrange(guests)
            customer_pid, email, owner = "", f"guest{guest}@example.net", f"g:guest{guest}@example.net"
        else:
            index = min(customers - 1, int(customers * rng.random() ** 1.5))
            customer_pid, email = str(CUSTOMER_BASE + index), customer_email(index)
            owner = f"c:{customer_pid}"
        is_test = rng.random() < TEST_SHARE
        free = rng.random() < FREE_SHARE
        percent = rng.choice((0, 0, 0, 0, 10, 15, 20))
        lines = []
        for j in range(rng.choice((1, 1, 1, 2, 2, 3, 4))):
            quantity = rng.choice((1, 1, 1, 2, 3))
            price = Decimal(rng.randrange(399, 8999)) / 100
            gross = price * quantity
            discount = gross if free else (gross * percent / 100).quantize(CENT, rounding=ROUND_HALF_UP)
            lines.append(OrderLineRecord(
                platform_id=str(LINE_BASE + i * 8 + j), title=f"Merino item {j}", sku=f"SKU-{j:03d}",
                quantity=quantity, unit_price=price, total_discount=discount,
                product_platform_id=str(PRODUCT_BASE + rng.randrange(300)),
            ))
        merchandise = sum((line.unit_price * line.quantity - line.total_discount for line in lines), Decimal("0"))
        tax = (merchandise * Decimal("0.08")).quantize(CENT, rounding=ROUND_HALF_UP)
        shipping = Decimal("0") if merchandise >= 75 else Decimal("7.95")
        total = merchandise + tax + shipping
        platform_id = str(ORDER_BASE + i)
        record = OrderRecord(
            platform_id=platform_id, updated_at=at + timedelta(seconds=1), currency="USD", name=f"#{1001 + i}",
            email=email, customer_platform_id=customer_pid, financial_status="paid",
            subtotal=merchandise, total_discounts=sum((line.total_discount for line in lines), Decimal("0")),
            total_tax=tax, total_shipping=shipping, total=total, is_test=is_test, created_at=at, processed_at=at,
            discount_codes=("SPRING15",) if percent == 15 else (), lines=tuple(lines), refunds=(),
        )
        planned.append(Planned(record, owner, merchandise, total, is_test))
    return planned


# --- what the ledger must hold, computed without the app ------------------------------------

@dataclass(frozen=True)
class TierRule:
    name: str
    threshold: Decimal
    multiplier: Decimal


@dataclass
class Expected:
    earns: dict[str, int] = field(default_factory=dict)  # order platform id -> points
    badge_entries: int = 0
    badge_points: int = 0
    accounts: int = 0
    tiers: Counter[str] = field(default_factory=Counter)
    multiplied: Counter[str] = field(default_factory=Counter)  # orders earned at each tier's multiplier

    @property
    def order_points(self) -> int:
        return sum(self.earns.values())


def expected_live(planned: list[Planned], batch: int, tiers: list[TierRule], badges: list[tuple[int, int]]
                  ) -> Expected:
    """Replay the live path's rules in its order: a batch is ingested (the orders count for spend
    and order counts at once), then its events are dispatched one by one; each order earns at the
    multiplier of the tier its account holds at that moment, then the account's tier is raised to
    what its spend so far reaches (no refunds here, so never lowered) and order badges are given.
    A test order earns nothing and counts for neither spend nor the badges (the app's counted
    orders exclude it), but its shopper's account is opened and placed like any other.

    ``badges``: (orders threshold, points) of the active "orders" badges."""
    out = Expected()
    spend: dict[str, Decimal] = {}
    count: Counter[str] = Counter()
    tier_of: dict[str, TierRule | None] = {}
    awarded: set[tuple[str, int]] = set()
    for start in range(0, len(planned), batch):
        chunk = planned[start:start + batch]
        for order in chunk:
            spend.setdefault(order.owner, Decimal("0"))
            if not order.is_test:
                spend[order.owner] += order.total
                count[order.owner] += 1
        for order in chunk:
            current = tier_of.get(order.owner)
            if not order.is_test:
                multiplier = current.multiplier if current else Decimal("1")
                points = math.floor(order.merchandise * multiplier)
                if points > 0:
                    out.earns[order.record.platform_id] = points
                    out.multiplied[current.name if current else "(none yet)"] += 1
            reached = [t for t in tiers if t.threshold <= spend[order.owner]]
            target = max(reached, key=lambda t: t.threshold) if reached else None
            if target is not None and (current is None or target.threshold > current.threshold):
                tier_of[order.owner] = target
            for number, (threshold, points) in enumerate(badges):
                if count[order.owner] >= threshold and (order.owner, number) not in awarded:
                    awarded.add((order.owner, number))
                    if points:
                        out.badge_entries += 1
                        out.badge_points += points
    out.accounts = len(tier_of)
    out.tiers = Counter(t.name if t else "(none)" for t in tier_of.values())
    return out


def expected_backfill(planned: list[Planned]) -> tuple[dict[str, int], int]:
    """Order points without any tier multiplier (a backfill opens accounts but does not place
    them in tiers), and the number of distinct owners of earning orders."""
    earns = {}
    owners = set()
    for order in planned:
        points = math.floor(order.merchandise)
        if not order.is_test and points > 0:
            earns[order.record.platform_id] = points
            owners.add(order.owner)
    return earns, len(owners)


# --- runs ------------------------------------------------------------------------------------

@dataclass
class Timing:
    name: str
    orders: int
    seconds: float
    queries: int
    own_cpu: float
    pg_cpu: float
    tasks: int = 0
    note: str = ""


@dataclass
class Check:
    name: str
    values: list[Any]
    passed: bool


class AwardBench(LoyaltyBench):
    def __init__(self, args: argparse.Namespace, services: svc.Services, work: Path) -> None:
        super().__init__(services, work, "award")
        self.args = args
        self.timings: list[Timing] = []
        self.checks: list[Check] = []
        self.tenths: dict[str, list[float]] = {}
        self.processed: dict[str, int] = {}
        self.live_databases: list[str] = []
        self.event_counts: dict[str, Counter[str]] = {}

    def customers_create(self, customers: int, now: datetime) -> None:
        from commerce.models import Customer

        started = time.perf_counter()
        rows = (
            {"id": n + 1, "shop_id": self.shop_id, "platform_id": str(CUSTOMER_BASE + n),
             "platform_updated_at": now - timedelta(days=400), "platform_created_at": now - timedelta(days=400),
             "first_name": f"Shopper{n}", "last_name": "Bench", "email": customer_email(n),
             "account_state": "enabled", "email_consent": "subscribed"}
            for n in range(customers)
        )
        copy_into(Customer, rows)
        sequences_reset(Customer)
        self.vacuum_analyze()
        print(f"# {customers:,} customers copied in {time.perf_counter() - started:.1f}s", flush=True)

    def rules(self) -> tuple[list[TierRule], list[tuple[int, int]]]:
        """The program as configured (read once, to replay its rules); refuse non-default earning."""
        from loyalty.models import Badge, BadgeKind, Rounding, Tier
        from loyalty.selectors import program_get

        shop = self.shop()
        program = program_get(shop=shop)
        if (program.points_per_currency_unit != 1 or program.rounding != Rounding.DOWN or program.include_tax
                or program.include_shipping or program.award_on != "paid" or not program.is_enabled):
            raise SystemExit("the bench expects the default program: 1 point per unit, rounded down, on payment")
        tiers = [TierRule(t.name, t.threshold, t.earn_multiplier)
                 for t in Tier.objects.filter(shop=shop, scheme__is_active=True)]
        if any(t.entry_points for t in Tier.objects.filter(shop=shop)):
            raise SystemExit("the bench expects tiers without entry points")
        badges = [(b.threshold, b.points) for b in Badge.objects.filter(shop=shop, kind=BadgeKind.ORDERS,
                                                                        is_active=True).order_by("pk")]
        return tiers, badges

    @staticmethod
    def timed(subscriber: Any, counter: QueryCounter, inside: dict[str, list[float]]) -> Any:
        """Wrap a registered subscriber: time spent and statements sent inside it, per app.  A batch
        subscriber (``events.subscribe_batch``) stays one, so the bench measures the batched path."""
        from commerce import events

        batch = isinstance(subscriber, events.BatchSubscriber)
        target = subscriber.function if batch else subscriber
        app = target.__module__.split(".")[0]

        @functools.wraps(target)
        def wrapper(received: Any) -> None:
            outer = counter.phase
            counter.phase = f"dispatch:{app}"
            cpu0, t0 = svc.cpu_self(), time.perf_counter()
            try:
                target(received)
            finally:
                spent = inside.setdefault(app, [0.0, 0.0])
                spent[0] += time.perf_counter() - t0
                spent[1] += svc.cpu_self() - cpu0
                counter.phase = outer

        return events.BatchSubscriber(wrapper) if batch else wrapper

    def live(self, planned: list[Planned], batch: int, deadline: float) -> tuple[str, int]:
        """Deliver the orders B at a time and dispatch the outbox after each call; return the
        database and how many orders were processed before the deadline."""
        from commerce import events
        from commerce.models import DomainEvent

        name = f"live b={batch}"
        database = self.clone(f"live_b{batch}")
        self.live_databases.append(database)
        counter = QueryCounter()
        inside: dict[str, list[float]] = {}  # subscriber's app -> [seconds, CPU seconds] spent inside it
        registry = events._SUBSCRIBERS  # bench-side timing wrappers, restored below; app code untouched
        originals = {event_name: list(subscribers) for event_name, subscribers in registry.items()}
        for subscribers in registry.values():
            subscribers[:] = [self.timed(subscriber, counter, inside) for subscriber in subscribers]
        pg_before = svc.tree_cpu_seconds(self.services.pg_pid)
        try:
            run = self.deliver(planned, batch, deadline, counter, name)
        finally:
            for event_name, subscribers in originals.items():
                registry[event_name][:] = subscribers
        pg_cpu = svc.tree_cpu_seconds(self.services.pg_pid) - pg_before if self.services.pg_pid else float("nan")
        pending = DomainEvent.objects.filter(dispatched_at__isnull=True).count()
        if pending:
            raise RuntimeError(f"{pending} events left undispatched")
        by_name = Counter(DomainEvent.objects.values_list("name", flat=True))
        done = run["done"]
        ingest_s, dispatch_s = run["ingest_s"], run["dispatch_s"]
        share = ingest_s / (ingest_s + dispatch_s) if ingest_s + dispatch_s else 0.0
        q = counter.counts
        self.timings.append(Timing(f"{name}: ingest (orders_upsert)", done, ingest_s, q.get("ingest", 0),
                                   run["ingest_cpu"], pg_cpu * share,
                                   note="orders, lines, outbox, commit, publish"))
        self.timings.append(Timing(f"{name}: dispatch_pending, all of it", done, dispatch_s,
                                   sum(v for k, v in q.items() if k.startswith("dispatch")), run["dispatch_cpu"],
                                   pg_cpu * (1 - share),
                                   note=f"{sum(by_name.values()):,} events, see below"))
        self.event_counts[name] = by_name
        for app, (seconds, cpu) in sorted(inside.items(), key=lambda item: item[0] != "loyalty"):
            what = ("earn, account, tiers, badges, challenges, referral; their events"
                    if app == "loyalty" else "another app subscribed to order.paid")
            self.timings.append(Timing(f"  of which {app} subscribers", done, seconds, q.get(f"dispatch:{app}", 0),
                                       cpu, float("nan"), note=what))
        spent_inside = sum(v[0] for v in inside.values())
        self.timings.append(Timing("  of which outbox bookkeeping", done, dispatch_s - spent_inside,
                                   q.get("dispatch", 0), run["dispatch_cpu"] - sum(v[1] for v in inside.values()),
                                   float("nan"), note="claim, lock, mark per round, commit, publish"))
        self.timings.append(Timing(f"{name}: ingest + events + loyalty", done, ingest_s + dispatch_s,
                                   q.get("ingest", 0) + sum(v for k, v in q.items() if k.startswith("dispatch")),
                                   run["ingest_cpu"] + run["dispatch_cpu"], pg_cpu, tasks=run["tasks"],
                                   note="both (PG CPU split by their time)"))
        self.tenths[name] = run["marks"]
        self.processed[name] = done
        return database, done

    def deliver(self, planned: list[Planned], batch: int, deadline: float, counter: QueryCounter,
                name: str) -> dict[str, Any]:
        from django.db import connection

        from commerce import events, services

        shop = self.shop()
        run: dict[str, Any] = {"done": 0, "ingest_s": 0.0, "dispatch_s": 0.0, "ingest_cpu": 0.0,
                               "dispatch_cpu": 0.0, "tasks": 0, "marks": []}
        tenth = max(1, len(planned) // 10)
        mark_done, mark_timed = 0, 0.0
        self.queue_purge()
        with connection.execute_wrapper(counter):
            for start in range(0, len(planned), batch):
                if time.monotonic() > deadline:
                    print(f"#   {name}: time bound reached after {run['done']:,} orders", flush=True)
                    break
                chunk = [order.record for order in planned[start:start + batch]]
                counter.phase = "ingest"
                cpu0, t0 = svc.cpu_self(), time.perf_counter()
                services.orders_upsert(shop=shop, records=chunk, live=True)
                cpu1, t1 = svc.cpu_self(), time.perf_counter()
                counter.phase = "dispatch"
                for _ in range(50):  # each round dispatches what the previous one emitted
                    if not events.dispatch_pending():
                        break
                else:
                    raise RuntimeError("the outbox did not drain after 50 rounds")
                cpu2, t2 = svc.cpu_self(), time.perf_counter()
                counter.phase = "other"
                run["ingest_s"] += t1 - t0
                run["dispatch_s"] += t2 - t1
                run["ingest_cpu"] += cpu1 - cpu0
                run["dispatch_cpu"] += cpu2 - cpu1
                before = run["done"]
                run["done"] += len(chunk)
                done = run["done"]
                if done // tenth != before // tenth or done == len(planned):
                    timed = run["ingest_s"] + run["dispatch_s"]
                    run["marks"].append((done - mark_done) / (timed - mark_timed) if timed > mark_timed
                                        else float("nan"))
                    mark_done, mark_timed = done, timed
                    run["tasks"] += self.queued()  # count, then empty (untimed): 100k orders leave ~300k
                    self.queue_purge()
                    print(f"#   {name}: {done:,} orders, {done / timed:,.0f}/s so far", flush=True)
        run["tasks"] += self.queued()
        self.queue_purge()
        return run

    def live_check(self, name: str, planned: list[Planned], batch: int) -> None:
        from django.db.models import Count, Sum

        from loyalty.models import Account, EntryKind, EntrySource, LedgerEntry

        tiers, badges = self.rules()
        want = expected_live(planned, batch, tiers, badges)
        shop_entries = LedgerEntry.objects.filter(shop_id=self.shop_id)
        earned = dict(shop_entries.filter(kind=EntryKind.EARN, source=EntrySource.ORDER)
                      .values_list("source_id", "points"))
        keys = shop_entries.filter(kind=EntryKind.EARN, source=EntrySource.ORDER).aggregate(
            n=Count("id"), distinct=Count("idempotency_key", distinct=True))
        wrong_points = sum(1 for pid, points in want.earns.items() if earned.get(pid) not in (None, points))
        missing = len(set(want.earns) - set(earned))
        extra = len(set(earned) - set(want.earns))
        badge_rows = shop_entries.filter(source=EntrySource.RULE, source_id__startswith="badge:").aggregate(
            n=Count("id"), points=Sum("points"))
        ledger_sum = shop_entries.aggregate(points=Sum("points"))["points"] or 0
        other = shop_entries.exclude(source=EntrySource.ORDER).exclude(source_id__startswith="badge:").count()
        accounts = Account.objects.filter(shop_id=self.shop_id)
        tiers_now = Counter(name or "(none)" for name in accounts.values_list("tier__name", flat=True))
        order_points = sum(earned.values())
        passed = (keys["n"] == len(want.earns) == keys["distinct"] and missing == 0 and extra == 0
                  and wrong_points == 0 and order_points == want.order_points
                  and (badge_rows["n"] or 0) == want.badge_entries and (badge_rows["points"] or 0) == want.badge_points
                  and ledger_sum == want.order_points + want.badge_points and other == 0
                  and accounts.count() == want.accounts and tiers_now == want.tiers)
        tier_order = [t.name for t in sorted(tiers, key=lambda t: t.threshold)]

        def tier_split(counts: Counter[str]) -> str:
            return "/".join(f"{counts.get(n, 0):,}" for n in tier_order)

        self.checks.append(Check(name, [
            len(planned), len(want.earns), keys["n"], keys["distinct"], f"{missing}/{extra}/{wrong_points}",
            f"{order_points:,} ({want.order_points:,})",
            f"{badge_rows['n'] or 0:,} ({want.badge_entries:,})",
            f"{ledger_sum:,} ({want.order_points + want.badge_points:,})",
            f"{accounts.count():,} ({want.accounts:,})", f"{tier_split(tiers_now)} ({tier_split(want.tiers)})",
        ], passed))
        multiplied = ", ".join(f"{n} {c:,}" for n, c in sorted(want.multiplied.items()))
        print(f"#   {name}: check {'OK' if passed else 'MISMATCH'}; orders earning at the multiplier of: {multiplied}",
              flush=True)

    def backfill(self, planned: list[Planned], source: str) -> None:
        from django.db import connection
        from django.db.models import Count, Sum

        from commerce.models import DomainEvent
        from loyalty.models import EntryKind, EntrySource, LedgerEntry
        from loyalty.services.earning import backfill

        self.use(source)  # first on the live database, where every order has earned already
        counter = QueryCounter()
        cpu0, t0 = svc.cpu_self(), time.perf_counter()
        with connection.execute_wrapper(counter), time_limit(self.args.max_seconds, "backfill"):
            nothing = backfill(shop=self.shop(), apply=False)
        self.timings.append(Timing("backfill(apply=False), all earned already", len(planned),
                                   time.perf_counter() - t0, sum(counter.counts.values()), svc.cpu_self() - cpu0,
                                   float("nan"), note="a re-run after the live path: nothing to do"))
        print(f"#   backfill dry run on the live database: {nothing}", flush=True)
        self.clone("backfill", source=source)
        with connection.cursor() as cursor:  # every account goes, and with it the ledger, badges ...
            cursor.execute("TRUNCATE loyalty_account CASCADE")
        shop = self.shop()
        events_before = DomainEvent.objects.count()
        plans = []
        for apply in (False, True):
            counter = QueryCounter()
            pg_before = svc.tree_cpu_seconds(self.services.pg_pid)
            cpu0, t0 = svc.cpu_self(), time.perf_counter()
            with connection.execute_wrapper(counter), time_limit(self.args.max_seconds, "backfill"):
                plan = backfill(shop=shop, apply=apply)
            seconds, own = time.perf_counter() - t0, svc.cpu_self() - cpu0
            pg = svc.tree_cpu_seconds(self.services.pg_pid) - pg_before if self.services.pg_pid else float("nan")
            plans.append(plan)
            label = "backfill(apply=True)" if apply else "backfill(apply=False) (dry run)"
            note = "entries in bulk, a commit per 500 orders" if apply else "reads and computes only"
            self.timings.append(Timing(label, len(planned), seconds, sum(counter.counts.values()), own, pg,
                                       note=note))
            print(f"#   {label}: {seconds:.1f}s, {plan}", flush=True)
        want, owners = expected_backfill(planned)
        entries = LedgerEntry.objects.filter(shop_id=self.shop_id)
        earned = dict(entries.filter(kind=EntryKind.EARN, source=EntrySource.ORDER).values_list("source_id", "points"))
        keys = entries.aggregate(n=Count("id"), distinct=Count("idempotency_key", distinct=True),
                                 points=Sum("points"))
        wrong = sum(1 for pid, points in want.items() if earned.get(pid) != points) + len(set(earned) - set(want))
        dry, real = plans
        quiet = DomainEvent.objects.count() == events_before
        passed = (nothing.orders == 0 and nothing.points == 0
                  and dry == real and real.orders == len(want) and real.points == sum(want.values())
                  and real.customers == owners and keys["n"] == keys["distinct"] == len(want) and wrong == 0
                  and (keys["points"] or 0) == sum(want.values()) and quiet)
        self.checks.append(Check("backfill", [
            len(planned), len(want), keys["n"], keys["distinct"], f"{wrong} wrong",
            f"{keys['points'] or 0:,} ({sum(want.values()):,})", "-",
            f"{keys['points'] or 0:,} ({sum(want.values()):,})",
            f"plan: {real.customers:,} ({owners:,})",
            f"dry run {'=' if dry == real else '!='} apply; {'no' if quiet else 'SOME'} events; re-run: "
            f"{nothing.orders} orders",
        ], passed))
        print(f"#   backfill: check {'OK' if passed else 'MISMATCH'}", flush=True)


def report(bench: AwardBench, args: argparse.Namespace, customers: int, started: datetime, load: str) -> str:
    orders = args.orders
    head = [
        f"Loyalty award bench, {started:%Y-%m-%d %H:%M} UTC, {os.cpu_count()} CPUs; {orders:,} paid orders "
        f"({GUEST_SHARE:.0%} guest, {TEST_SHARE:.1%} test, {FREE_SHARE:.1%} fully discounted) over {customers:,} "
        f"customers; PostgreSQL {bench.services.pg_settings}; load average before: {load}; app at {revision()}",
    ]
    rows = []
    for t in bench.timings:
        rate = t.orders / t.seconds if t.seconds else float("nan")
        at_target = TARGET_ORDERS / rate if rate else float("nan")
        per = max(t.orders, 1)
        rows.append([t.name, t.orders, t.seconds, rate, t.queries / per, 1000 * t.own_cpu / per,
                     1000 * t.pg_cpu / per, t.tasks or "-", f"{at_target / 60:.1f} min", t.note])
    lines = head + ["", table(["run", "orders", "seconds", "orders/s", "queries/order", "bench CPU ms/order",
                               "PG CPU ms/order", "tasks published", "100k at this rate", "what it includes"], rows)]
    if bench.tenths:
        lines += ["", "Live throughput (ingest + loyalty) by tenth of the run, orders/s (does it degrade as the "
                  "tables grow?):"]
        for name, marks in bench.tenths.items():
            lines.append(f"  {name}: " + " ".join(f"{m:,.0f}" for m in marks))
    for name, counts in bench.event_counts.items():
        lines.append(f"  {name}: events dispatched: " + ", ".join(f"{n} {c:,}" for n, c in counts.most_common()))
    if orders < TARGET_ORDERS:
        lines += ["", f"NOTE: measured at {orders:,} orders, not {TARGET_ORDERS:,}: the '100k at this rate' column "
                  f"extrapolates linearly (see the tenths above for whether the rate holds as the tables grow)."]
    lines += ["", "Checks (expected values, computed by the bench from the generated orders, in brackets):", table(
        ["run", "orders", "eligible", "earn entries", "distinct keys", "missing/extra/wrong pts",
         "order points", "badge entries", "ledger sum", "accounts", "tiers Bronze/Silver/Gold", "result"],
        [[c.name, *c.values, "OK" if c.passed else "MISMATCH"] for c in bench.checks])]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=8_000,
                        help="paid orders (default 8000, about 8 minutes here with both batch sizes; 100000 takes "
                        "about 45 minutes per batch size, see bench/README.md)")
    parser.add_argument("--customers", type=int, default=0, help="customers (default: orders / 4)")
    parser.add_argument("--batch-sizes", default="1,100",
                        help="orders per orders_upsert call, comma-separated (default 1,100: webhook, then batches)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-backfill", action="store_true", help="skip the backfill runs")
    parser.add_argument("--max-seconds", type=float, default=900.0,
                        help="time bound of each live run (it stops early and checks what it did) and of each "
                        "backfill call (default 900)")
    parser.add_argument("--pg-fast", action="store_true",
                        help="start PostgreSQL with CI's settings (fsync/synchronous_commit off)")
    args = parser.parse_args(argv)
    batches = [int(b) for b in args.batch_sizes.split(",") if b.strip()]
    if not batches or min(batches) < 1 or args.orders < 1:
        parser.error("--batch-sizes and --orders must be positive")
    customers = args.customers or max(1, args.orders // 4)
    svc.install_sigterm_handler()
    load = " ".join(f"{v:.2f}" for v in os.getloadavg())
    print(f"# load average before the run: {load}", flush=True)
    started = datetime.now(UTC)
    with tempfile.TemporaryDirectory(prefix="comeback-bench-award.") as tmp, \
            svc.services(durable=not args.pg_fast) as services:
        bench = AwardBench(args, services, Path(tmp))
        failed = ""
        try:
            bench.setup()
            from django.utils import timezone

            now = timezone.now()
            bench.customers_create(customers, now)
            t0 = time.perf_counter()
            planned = generate(orders=args.orders, customers=customers, seed=args.seed, now=now)
            print(f"# {len(planned):,} orders generated in {time.perf_counter() - t0:.1f}s", flush=True)
            bench.use(bench.template)
            bench.rules()  # refuse a non-default program before anything is measured
            for batch in batches:
                database, done = bench.live(planned, batch, time.monotonic() + args.max_seconds)
                bench.live_check(f"live b={batch}", planned[:done], batch)
            if not args.no_backfill:
                done = bench.processed[f"live b={batches[0]}"]
                bench.backfill(planned[:done], bench.live_databases[0])
        except BenchTimeout as error:
            failed = str(error)
        finally:
            bench.cleanup()
        print()
        print(report(bench, args, customers, started, load))
        if failed:
            print(f"\nFAILED: {failed}", file=sys.stderr)
    ok = not failed and all(c.passed for c in bench.checks) and bool(bench.checks)
    return 0 if ok else 1


if __name__ == "__main__":
    svc.run(main)
