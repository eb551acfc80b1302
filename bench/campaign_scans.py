"""Campaign scans bench: the daily enrolment scans over one shop with 1,000,000 customers.

Set-up (the load is timed and reported on its own): a migrated PostgreSQL database with one
installed shop (Asia/Jerusalem) and the loyalty program on, then with ``COPY`` and ids assigned
here (deterministic for a ``--seed``):

* ``--customers`` customers: 45 % with a birthday (any day 1950-2006, so 29 February too),
  consent 55 % subscribed, 3 % without email, 0.5 % deleted, 0.2 % redacted, locales en/he/fa;
* 300 products, 60 of them consumables with a use cycle of 21-90 days;
* orders for 88 % of customers, the first one over the last three years: most buy once, a tail
  buys often; 40 % of buyers rebuy a favourite consumable about once per cycle; 94 % paid, a
  few refunded, pending or cancelled; 1-3 lines each.  ``first_order_at`` as the app sets it;
* loyalty accounts for 70 % of buyers, batch expiry after 365 days with a 14-day warning: one
  earn entry per paid order available in the last 405 days (14 pending days), redemptions
  (oldest points first), and what the daily expiry job would have written on earlier days
  (expiry entries; points-expiring events, dispatched);
* the flows switched on: birthday, anniversary, win-back (180 days), replenishment (learned
  medians, a merchant cycle for 5 products), holiday greetings (a merchant date: today),
  points-expiring notices.

Timed, each twice on the same database (the second run must enrol nobody):

* ``dates_scan`` birthday (today, and 1 March 2027, when 29 February birthdays are greeted),
  ``dates_scan`` anniversary, ``winback_scan``, ``replenishment_scan``, ``holiday_scan``;
* points expiring: ``loyalty.services.expiry.shop_expire`` (expiry entries and
  ``loyalty.points_expiring`` events), then ``commerce.events.dispatch_pending`` until the outbox
  is empty (the campaigns subscriber enrols one customer per event).

Checks (exit status 1 on any mismatch): each scan's trigger keys equal the keys computed by an
independent SQL query over the loaded rows (written here, not the app's ORM; medians with
``percentile_cont``, the points left per batch with window sums), every enrolment has its steps
scheduled once, and the second run enrols nobody.  For expiry: the expiry entries (keys and
points) and the warning events equal the SQL's, and one enrolment per new warning.

``.venv/bin/python bench/campaign_scans.py [--customers 1000000] [--only birthday,winback] [--max-seconds 900]``
"""

from __future__ import annotations

import argparse
import math
import os
import random
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

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

TARGET_CUSTOMERS = 1_000_000
CUSTOMER_BASE = 7_200_000_000_000
ORDER_BASE = 5_500_000_000_000
LINE_BASE = 13_700_000_000_000
PRODUCT_BASE = 8_900_000_000
PRODUCTS = 300
CONSUMABLES = 60
CYCLES = (21, 30, 30, 45, 60, 60, 90)
MERCHANT_CYCLES = 5  # consumables whose cycle the merchant sets (by platform id)
EXPIRY_DAYS = 365
WARNING_DAYS = 14
PENDING_DAYS = 14
INACTIVE_DAYS = 180
CHUNK = 25_000  # customers per COPY round
SCANS = ("birthday", "birthday-mar1", "anniversary", "winback", "replenishment", "expiry", "holiday")
TIMEZONE = "Asia/Jerusalem"
HOLIDAY = "Bench day"
HOLIDAY_HOUR = 10  # shop time: the greeting's enrolments are made for that moment
CONSUMABLE_NAMES = ("Shampoo", "Conditioner", "Hand soap", "Face serum", "Body lotion", "Toothpaste", "Coffee beans",
                    "Dog food", "Vitamin D", "Hair mask")
OTHER_NAMES = ("Wide comb", "Hair dryer", "Towel", "Mirror", "Tote bag", "Candle", "Mug", "Scarf", "Brush", "Gift box")


# --- the store -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Product:
    pk: int
    platform_id: str
    title: str
    price: Decimal
    cycle: int | None  # use cycle in days for consumables


def catalogue(rng: random.Random) -> list[Product]:
    products = []
    for n in range(PRODUCTS):
        consumable = n < CONSUMABLES
        name = (CONSUMABLE_NAMES if consumable else OTHER_NAMES)[n % 10]
        products.append(Product(n + 1, str(PRODUCT_BASE + n), f"{name} {n}", Decimal(rng.randrange(400, 8000)) / 100,
                                rng.choice(CYCLES) if consumable else None))
    return products


@dataclass
class Batch:
    entry_id: int
    points: int
    available_at: datetime
    left: int


@dataclass
class Counts:
    customers: int = 0
    orders: int = 0
    lines: int = 0
    accounts: int = 0
    entries: int = 0
    events: int = 0
    rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


class StoreGenerator:
    """Rows for the app's tables, customer by customer (deterministic for a seed)."""

    def __init__(self, *, shop_id: int, seed: int, now: datetime) -> None:
        self.shop_id = shop_id
        self.rng = random.Random(seed)
        self.now = now
        self.products = catalogue(self.rng)
        self.consumables = self.products[:CONSUMABLES]
        self.ids = {"order": 0, "line": 0, "account": 0, "entry": 0, "event": 0, "redeem": 0}

    def next_id(self, what: str) -> int:
        self.ids[what] += 1
        return self.ids[what]

    def moment(self, days_ago: float) -> datetime:
        return (self.now - timedelta(days=days_ago)).replace(microsecond=self.rng.randrange(1_000_000))

    def customer(self, n: int, out: Counts) -> None:
        rng = self.rng
        pk = n + 1
        born = date(1950, 1, 1) + timedelta(days=rng.randrange(20_819))  # to 2006-12-31
        redacted = rng.random() < 0.002
        phone = f"+9725{n:08d}" if rng.random() < 0.6 else ""
        row: dict[str, Any] = {
            "id": pk, "shop_id": self.shop_id, "platform_id": str(CUSTOMER_BASE + n),
            "platform_updated_at": self.now - timedelta(days=2),
            "platform_created_at": self.moment(rng.uniform(1, 1200)),
            "first_name": "" if redacted else f"Shopper{n}", "last_name": "" if redacted else "Bench",
            "email": "" if redacted or rng.random() < 0.03 else f"shopper{n}@example.com",
            "phone": phone, "birthday": born if rng.random() < 0.45 else None,
            "locale": rng.choice(("en", "en", "he", "he", "fa")),
            "email_consent": rng.choices(("subscribed", "not_subscribed", "unsubscribed"), (55, 38, 7))[0],
            "sms_consent": "subscribed" if phone and rng.random() < 0.25 else "not_subscribed",
            "account_state": "enabled", "first_order_at": None, "is_deleted": rng.random() < 0.005,
            "redacted_at": self.now - timedelta(days=30) if redacted else None,
        }
        out.rows["customer"].append(row)
        out.customers += 1
        if rng.random() < 0.88:
            orders = self.orders(pk, row, out)
            live = [o for o in orders if o["cancelled_at"] is None]
            row["first_order_at"] = min((o["processed_at"] for o in live), default=None)
            if orders and rng.random() < 0.7:
                self.account(pk, row, orders, out)

    def orders(self, customer_id: int, customer: dict[str, Any], out: Counts) -> list[dict[str, Any]]:
        rng = self.rng
        count = rng.choices((1, 2, 3, rng.randrange(4, 7), rng.randrange(7, 13)), (60, 18, 9, 8, 5))[0]
        favourite = rng.choice(self.consumables) if rng.random() < 0.4 else None
        at = self.moment(rng.uniform(1, 3 * 365))
        orders = []
        for _ in range(count):
            if at >= self.now:
                break
            orders.append(self.order(customer_id, customer, at, favourite, out))
            if favourite is not None and favourite.cycle:
                gap = favourite.cycle * rng.uniform(0.85, 1.15) * (2 if rng.random() < 0.15 else 1)
            else:
                gap = rng.uniform(15, 240)
            at = at + timedelta(days=gap, seconds=rng.randrange(-20_000, 20_000))
        return orders

    def order(self, customer_id: int, customer: dict[str, Any], at: datetime, favourite: Product | None,
              out: Counts) -> dict[str, Any]:
        rng = self.rng
        pk = self.next_id("order")
        picked = [favourite] if favourite else []
        picked += rng.sample(self.products, rng.choice((0, 1, 1, 2)) + (0 if picked else 1))
        subtotal = Decimal("0")
        for product in picked:
            quantity = rng.choice((1, 1, 1, 2))
            subtotal += product.price * quantity
            out.rows["line"].append({
                "id": self.next_id("line"), "shop_id": self.shop_id, "order_id": pk,
                "platform_id": str(LINE_BASE + self.ids["line"]), "product_id": product.pk,
                "product_platform_id": product.platform_id, "title": product.title, "sku": f"SKU-{product.pk}",
                "quantity": quantity, "currency": "USD", "unit_price": product.price, "total_discount": Decimal("0"),
            })
            out.lines += 1
        status = rng.choices(("paid", "partially_refunded", "refunded", "pending", "voided"), (94, 2, 1, 2, 1))[0]
        cancelled = at + timedelta(hours=1) if rng.random() < 0.01 else None
        tax = (subtotal * Decimal("0.17")).quantize(Decimal("0.01"))
        row = {
            "id": pk, "shop_id": self.shop_id, "platform_id": str(ORDER_BASE + pk), "platform_updated_at": at,
            "customer_id": customer_id, "customer_platform_id": customer["platform_id"], "name": f"#{1000 + pk}",
            "email": customer["email"], "locale": customer["locale"], "financial_status": status,
            "fulfillment_status": "fulfilled", "currency": "USD", "subtotal": subtotal,
            "total_discounts": Decimal("0"), "total_tax": tax, "total_shipping": Decimal("0"), "total": subtotal + tax,
            "total_refunded": subtotal + tax if status == "refunded" else Decimal("0"), "discount_codes": [],
            "is_test": rng.random() < 0.002, "processed_at": at, "cancelled_at": cancelled,
            "platform_created_at": at,
        }
        out.rows["order"].append(row)
        out.orders += 1
        return row

    def account(self, customer_id: int, customer: dict[str, Any], orders: list[dict[str, Any]], out: Counts) -> None:
        """The account and its ledger as the live path and earlier daily expiry runs left it: one
        batch per paid order, redemptions taking the oldest points first, batches expired (and
        warned about) by the runs of earlier days."""
        rng = self.rng
        pk = self.next_id("account")
        out.rows["account"].append({
            "id": pk, "shop_id": self.shop_id, "customer_id": customer_id, "email": customer["email"],
            "referral_code": f"B{pk:09d}", "created_at": orders[0]["processed_at"],
        })
        out.accounts += 1
        horizon = self.now - timedelta(days=EXPIRY_DAYS + 40)
        batches: list[Batch] = []
        for order in orders:
            available = order["processed_at"] + timedelta(days=PENDING_DAYS)
            if (order["cancelled_at"] is not None or order["is_test"] or order["financial_status"] not in (
                    "paid", "partially_refunded", "refunded") or available < horizon or order["subtotal"] < 1):
                continue
            points = math.floor(order["subtotal"])
            entry_id = self.entry(pk, "earn", "order", order["platform_id"], f"earn:order:{order['platform_id']}",
                                  points, available, f"order {order['name']}", out)
            batches.append(Batch(entry_id, points, available, points))
        # later events, in time order: a redemption, and each batch's expiry by an earlier day's run
        happenings: list[tuple[datetime, str, Batch | None]] = []
        if batches and rng.random() < 0.25:
            happenings.append((self.moment(rng.uniform(0.1, 120)), "redeem", None))
        for batch in batches:
            expires = batch.available_at + timedelta(days=EXPIRY_DAYS)
            runs_since = (self.now - expires) // timedelta(days=1)  # daily runs at now's time of day
            if runs_since >= 1:
                happenings.append((self.now - timedelta(days=runs_since), "expire", batch))
            warn_runs = (self.now - expires + timedelta(days=WARNING_DAYS)) // timedelta(days=1)
            if warn_runs >= 1 and runs_since < 1:  # warned by an earlier run, expires today or later
                self.warned(pk, batch, expires, self.now - timedelta(days=warn_runs), out)
        for moment, kind, expiring in sorted(happenings, key=lambda h: h[0]):
            if kind == "expire" and expiring is not None and expiring.left > 0:
                self.entry(pk, "expire", "expiry", str(expiring.entry_id), f"expire:batch:{expiring.entry_id}",
                           -expiring.left, moment, "points expired", out)
                expiring.left = 0
            elif kind == "redeem":
                spendable = sum(b.left for b in batches if b.available_at <= moment)
                if spendable >= 100:
                    owed = min(spendable, rng.choice((100, 150, 250)))
                    self.entry(pk, "redeem", "redemption", "", f"redeem:bench:{self.next_id('redeem')}", -owed,
                               moment, "reward", out)
                    for b in batches:  # oldest first
                        taken = min(b.left, owed)
                        b.left -= taken
                        owed -= taken

    def entry(self, account_id: int, kind: str, source: str, source_id: str, key: str, points: int,
              available_at: datetime, reason: str, out: Counts) -> int:
        pk = self.next_id("entry")
        out.rows["entry"].append({
            "id": pk, "shop_id": self.shop_id, "account_id": account_id, "kind": kind, "source": source,
            "source_id": source_id, "idempotency_key": key, "points": points, "available_at": available_at,
            "reason": reason, "created_at": available_at,
        })
        out.entries += 1
        return pk

    def warned(self, account_id: int, batch: Batch, expires: datetime, at: datetime, out: Counts) -> None:
        out.rows["event"].append({
            "id": self.next_id("event"), "shop_id": self.shop_id, "name": "loyalty.points_expiring",
            "key": f"expiring:batch:{batch.entry_id}", "occurred_at": at, "dispatched_at": at, "created_at": at,
            "payload": {"account_id": account_id, "points": batch.left, "expires_at": expires.isoformat()},
        })
        out.events += 1


# --- what is due, by independent SQL -----------------------------------------------------------

def _sql_keys(query: str, params: dict[str, Any]) -> set[str]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return {row[0] for row in cursor.fetchall()}


def _scalar(query: str, params: dict[str, Any]) -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return int(cursor.fetchone()[0])


ON_THE_DAY = """(to_char({column}, 'MM-DD') = %(mmdd)s OR (%(leap_rule)s AND to_char({column}, 'MM-DD') = '02-29'))"""


def expected_dates(kind: str, shop_id: int, day: date) -> set[str]:
    leap_rule = (day.month, day.day) == (3, 1) and not (day.year % 4 == 0 and (day.year % 100 or day.year % 400 == 0))
    params = {"shop": shop_id, "mmdd": day.strftime("%m-%d"), "leap_rule": leap_rule, "year": day.year,
              "prefix": f"{kind}:"}
    if kind == "birthday":
        where = ON_THE_DAY.format(column="birthday")
    else:  # the first order's date in UTC (the app compares it in UTC), in an earlier year
        where = ON_THE_DAY.format(column="first_order_at AT TIME ZONE 'UTC'") + (
            " AND extract(year FROM first_order_at AT TIME ZONE 'UTC') < %(year)s")
    return _sql_keys(f"SELECT %(prefix)s || id || ':' || %(year)s FROM commerce_customer "  # noqa: S608
                     f"WHERE shop_id = %(shop)s AND NOT is_deleted AND redacted_at IS NULL AND {where}", params)


def expected_winback(shop_id: int, now: datetime) -> set[str]:
    return _sql_keys("""
        SELECT 'winback:' || customer_id || ':' || to_char(max(processed_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD')
        FROM commerce_order
        WHERE shop_id = %(shop)s AND cancelled_at IS NULL AND customer_id IS NOT NULL
          AND financial_status IN ('paid', 'partially_refunded', 'refunded')
        GROUP BY customer_id
        HAVING max(processed_at) <= %(now)s - interval '1 second' * 86400 * %(days)s
           AND max(processed_at) > %(now)s - interval '1 second' * 86400 * (%(days)s + 30)
    """, {"shop": shop_id, "now": now, "days": INACTIVE_DAYS})


def expected_holiday(shop_id: int, day: date) -> set[str]:
    return _sql_keys("""
        SELECT %(prefix)s || id FROM commerce_customer
        WHERE shop_id = %(shop)s AND NOT is_deleted AND redacted_at IS NULL AND email_consent = 'subscribed'
          AND email <> ''
    """, {"shop": shop_id, "prefix": f"holiday:{HOLIDAY}:{day.year}:"})


REPLENISHMENT_SQL = """
    WITH purchases AS (
        SELECT l.product_id, o.customer_id, o.processed_at,
               o.processed_at - lag(o.processed_at) OVER (PARTITION BY l.product_id, o.customer_id
                                                          ORDER BY o.processed_at) AS gap
        FROM commerce_orderline l JOIN commerce_order o ON o.id = l.order_id
        WHERE l.shop_id = %(shop)s AND l.product_id IS NOT NULL AND o.customer_id IS NOT NULL
          AND o.cancelled_at IS NULL
    ), learned AS (
        SELECT product_id,
               round(percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM gap)::float8 / 86400))::int
                   AS days
        FROM purchases WHERE gap >= interval '1 day'
        GROUP BY product_id HAVING count(*) >= %(min_repurchases)s
    ), merchant AS (
        SELECT p.id AS product_id, m.days
        FROM commerce_product p JOIN unnest(%(merchant_ids)s::text[], %(merchant_days)s::int[]) AS m(pid, days)
             ON p.platform_id = m.pid
        WHERE p.shop_id = %(shop)s
    ), cycles AS (
        SELECT product_id, days FROM learned WHERE product_id NOT IN (SELECT product_id FROM merchant)
        UNION ALL SELECT product_id, days FROM merchant
    ), last_purchase AS (
        SELECT product_id, customer_id, max(processed_at) AS last FROM purchases
        WHERE product_id IN (SELECT product_id FROM cycles) GROUP BY product_id, customer_id
    )
    SELECT 'replenish:' || lp.customer_id || ':' || lp.product_id || ':'
           || to_char(lp.last AT TIME ZONE 'UTC', 'YYYY-MM-DD')
    FROM last_purchase lp JOIN cycles c USING (product_id)
    WHERE lp.last > %(now)s - interval '1 second' * 86400 * (c.days + 1)
      AND lp.last <= %(now)s - interval '1 second' * 86400 * c.days
"""


def expected_replenishment(shop_id: int, now: datetime, merchant: dict[str, int], min_repurchases: int) -> set[str]:
    return _sql_keys(REPLENISHMENT_SQL, {"shop": shop_id, "now": now, "min_repurchases": min_repurchases,
                                         "merchant_ids": list(merchant), "merchant_days": list(merchant.values())})


def expected_expiry(shop_id: int, now: datetime) -> tuple[dict[str, int], set[str]]:
    """(expiry entry key -> points, new warning keys): what is left of each batch after the
    spending, oldest first (the bench's ledger has no reversals), by window sums."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("""
            WITH e AS (
                SELECT id, account_id, points, available_at FROM loyalty_ledgerentry
                WHERE shop_id = %(shop)s AND available_at <= %(now)s
            ), spent AS (
                SELECT account_id, -sum(points) AS spent FROM e WHERE points < 0 GROUP BY account_id
            ), batches AS (
                SELECT e.id, e.account_id, e.points, e.available_at,
                       sum(e.points) OVER (PARTITION BY e.account_id ORDER BY e.available_at, e.id) AS upto
                FROM e WHERE e.points > 0
            )
            SELECT b.id, least(b.points, b.upto - coalesce(s.spent, 0)) AS points_left,
                   b.available_at <= %(now)s - interval '1 second' * 86400 * %(days)s AS expires
            FROM batches b LEFT JOIN spent s USING (account_id)
            WHERE b.upto - coalesce(s.spent, 0) > 0
              AND b.available_at <= %(now)s - interval '1 second' * 86400 * (%(days)s - %(warn)s)
              AND NOT EXISTS (SELECT 1 FROM commerce_domainevent d
                              WHERE d.shop_id = %(shop)s AND d.key = 'expiring:batch:' || b.id
                                AND b.available_at > %(now)s - interval '1 second' * 86400 * %(days)s)
        """, {"shop": shop_id, "now": now, "days": EXPIRY_DAYS, "warn": WARNING_DAYS})
        rows = cursor.fetchall()
    expire = {f"expire:batch:{pk}": -left for pk, left, expires in rows if expires}
    warn = {f"expiring:batch:{pk}" for pk, _, expires in rows if not expires}
    return expire, warn


# --- runs --------------------------------------------------------------------------------------

@dataclass
class Run:
    created: int = 0
    seconds: float = float("nan")
    queries: int = 0
    own_cpu: float = float("nan")
    pg_cpu: float = float("nan")
    error: str = ""


@dataclass
class ScanResult:
    name: str
    examined: int
    examined_what: str
    expected: int
    first: Run
    second: Run
    check: str
    passed: bool
    note: str = ""


class ScanBench(LoyaltyBench):
    def __init__(self, args: argparse.Namespace, services: svc.Services, work: Path) -> None:
        super().__init__(services, work, "scans")
        self.args = args
        self.results: list[ScanResult] = []
        self.load_rows: list[list[Any]] = []
        self.merchant_cycles: dict[str, int] = {}

    # load --------------------------------------------------------------------------------------

    def load(self, now: datetime) -> float:
        from commerce.models import Customer, DomainEvent, Order, OrderLine
        from commerce.models import Product as ProductModel
        from loyalty.models import Account, LedgerEntry

        started = time.perf_counter()
        generator = StoreGenerator(shop_id=self.shop_id, seed=self.args.seed, now=now)
        copy_into(ProductModel, ({"id": p.pk, "shop_id": self.shop_id, "platform_id": p.platform_id, "title": p.title,
                                  "status": "active", "product_type": "consumable" if p.cycle else "",
                                  "platform_updated_at": now} for p in generator.products))
        consumables = [p for p in generator.products if p.cycle]
        self.merchant_cycles = {p.platform_id: int(p.cycle or 30) for p in consumables[:MERCHANT_CYCLES]}
        tables = (("customer", Customer), ("order", Order), ("line", OrderLine), ("account", Account),
                  ("entry", LedgerEntry), ("event", DomainEvent))
        seconds = dict.fromkeys((name for name, _ in tables), 0.0)
        generating = 0.0
        totals = Counts()
        for start in range(0, self.args.customers, CHUNK):
            out = Counts(rows={name: [] for name, _ in tables})
            t0 = time.perf_counter()
            for n in range(start, min(start + CHUNK, self.args.customers)):
                generator.customer(n, out)
            generating += time.perf_counter() - t0
            for name, model in tables:
                t0 = time.perf_counter()
                copy_into(model, out.rows[name])
                seconds[name] += time.perf_counter() - t0
            for attribute in ("customers", "orders", "lines", "accounts", "entries", "events"):
                setattr(totals, attribute, getattr(totals, attribute) + getattr(out, attribute))
            if start // CHUNK % 4 == 3:
                print(f"#   {start + CHUNK:,} customers loaded ({time.perf_counter() - started:.0f}s)", flush=True)
        sequences_reset(Customer, Order, OrderLine, ProductModel, Account, LedgerEntry, DomainEvent)
        copied = time.perf_counter() - started
        t0 = time.perf_counter()
        self.vacuum_analyze()
        analyze = time.perf_counter() - t0
        counted = {"customer": totals.customers, "order": totals.orders, "line": totals.lines,
                   "account": totals.accounts, "entry": totals.entries, "event": totals.events}
        for name, model in tables:
            self.load_rows.append([model._meta.db_table, counted[name], seconds[name],
                                   counted[name] / seconds[name] if seconds[name] else float("nan")])
        self.load_rows.append(["(generating rows in Python)", "-", generating, "-"])
        self.load_rows.append(["VACUUM ANALYZE", "-", analyze, "-"])
        total = time.perf_counter() - started
        print(f"# loaded in {copied:.0f}s (+ VACUUM ANALYZE {analyze:.0f}s): {totals.customers:,} customers, "
              f"{totals.orders:,} orders, {totals.lines:,} lines, {totals.accounts:,} accounts, "
              f"{totals.entries:,} ledger entries, {totals.events:,} past warnings", flush=True)
        return total

    def configure(self, now: datetime) -> dict[str, Any]:
        """The shop's zone, batch expiry, and the flows switched on (what a merchant would do)."""
        from campaigns.models import Flow
        from campaigns.services.flows import flow_enable
        from commerce.models import Shop
        from loyalty.models import Program

        Shop.objects.filter(pk=self.shop_id).update(timezone=TIMEZONE)
        Program.objects.filter(shop_id=self.shop_id).update(expiry_mode="batch", expiry_days=EXPIRY_DAYS,
                                                            expiry_warning_days=WARNING_DAYS, pending_days=PENDING_DAYS)
        shop = self.shop()
        flows = {key: flow_enable(shop=shop, key=key) for key in (
            "birthday", "anniversary", "winback", "replenishment", "holiday_greetings", "loyalty_points_expiring")}
        today = now.astimezone(ZoneInfo(TIMEZONE)).date()
        settings = {
            "winback": {"inactive_days": INACTIVE_DAYS},
            "replenishment": {"cycles": self.merchant_cycles, "min_repurchases": 5},
            "holiday_greetings": {"calendars": [], "custom": [{"date": today.strftime("%m-%d"), "name": HOLIDAY,
                                                                 "hour": HOLIDAY_HOUR}]},
        }
        for key, value in settings.items():
            Flow.objects.filter(pk=flows[key].pk).update(settings=value)
            flows[key].refresh_from_db()
        return flows

    # scans -------------------------------------------------------------------------------------

    def timed(self, name: str, call: Callable[[], int]) -> Run:
        """``call`` on a fresh database connection, as a new worker would run it.  PostgreSQL keeps
        its foreign-key check plans per connection: one made while ``campaigns_enrolment`` was
        nearly empty (the first small scan) is a sequential scan, and reused for a large scan it
        makes every insert scan the table (the holiday scan at 100,000 customers: 56 s, not 6)."""
        from django.db import connection, connections

        connections.close_all()
        counter = QueryCounter()
        run = Run()
        pg0 = svc.tree_cpu_seconds(self.services.pg_pid)
        cpu0, t0 = svc.cpu_self(), time.perf_counter()
        try:
            with connection.execute_wrapper(counter), time_limit(self.args.max_seconds, name):
                run.created = call()
        except BenchTimeout as error:
            run.error = str(error)
        run.seconds, run.own_cpu = time.perf_counter() - t0, svc.cpu_self() - cpu0
        run.pg_cpu = svc.tree_cpu_seconds(self.services.pg_pid) - pg0 if self.services.pg_pid else float("nan")
        run.queries = sum(counter.counts.values())
        return run

    def enrolment_keys(self, flow: Any, at: datetime) -> tuple[set[str], int]:
        """Trigger keys enrolled at ``at``, and how many of those enrolments do not have exactly
        their flow's steps scheduled once."""
        from django.db.models import Count

        from campaigns.models import Enrolment

        steps = flow.steps.count()  # one version in the bench
        rows = Enrolment.objects.filter(flow=flow, enrolled_at=at).annotate(
            steps_scheduled=Count("scheduled"), distinct_steps=Count("scheduled__step", distinct=True))
        keys, wrong = set(), 0
        for key, scheduled, distinct in rows.values_list("trigger_key", "steps_scheduled", "distinct_steps").iterator():
            keys.add(key)
            wrong += scheduled != steps or distinct != steps
        return keys, wrong

    def scan(self, name: str, flow: Any, call: Callable[[], int], at: datetime, expected: set[str],
             examined: tuple[int, str]) -> None:
        print(f"# {name}: {len(expected):,} due by the SQL; scanning ...", flush=True)
        first = self.timed(name, call)
        second = self.timed(f"{name} (again)", call) if not first.error else Run(error="not run")
        got, wrong_steps = self.enrolment_keys(flow, at)
        missing, extra = len(expected - got), len(got - expected)
        passed = (not first.error and not second.error and first.created == len(expected) and not missing
                  and not extra and not wrong_steps and second.created == 0)
        check = f"{missing} missing / {extra} extra / {wrong_steps} badly scheduled; 2nd run {second.created}"
        self.results.append(ScanResult(name, *examined, len(expected), first, second, check, passed,
                                       first.error or second.error))
        print(f"#   {name}: {first.created:,} enrolled in {first.seconds:.1f}s ({first.queries:,} queries), again "
              f"{second.created} in {second.seconds:.1f}s; {'OK' if passed else 'MISMATCH'} ({check})", flush=True)

    def expiry(self, flow: Any, now: datetime) -> None:
        from campaigns.models import Enrolment
        from commerce import events
        from commerce.models import DomainEvent
        from loyalty.models import EntryKind, LedgerEntry
        from loyalty.services.expiry import shop_expire

        shop = self.shop()
        want_expired, want_warned = expected_expiry(self.shop_id, now)
        accounts = _scalar("SELECT count(*) FROM loyalty_account WHERE shop_id = %(shop)s", {"shop": self.shop_id})
        print(f"# points expiring: {len(want_warned):,} new warnings and {len(want_expired):,} expiries due by the "
              "SQL; running shop_expire ...", flush=True)
        entries_before = set(LedgerEntry.objects.filter(shop_id=self.shop_id, kind=EntryKind.EXPIRE)
                             .values_list("pk", flat=True))
        events_before = set(DomainEvent.objects.filter(shop_id=self.shop_id, name="loyalty.points_expiring")
                            .values_list("pk", flat=True))

        def dispatch_all() -> int:
            before = Enrolment.objects.filter(flow=flow).count()
            deadline = time.monotonic() + self.args.max_seconds
            while events.dispatch_pending(limit=500) and time.monotonic() < deadline:
                pass
            return Enrolment.objects.filter(flow=flow).count() - before

        runs: list[tuple[Run, Run, int]] = []
        for _ in range(2):
            expire = self.timed("shop_expire", lambda: shop_expire(shop=shop, at=now))
            new_events = DomainEvent.objects.filter(shop_id=self.shop_id, name="loyalty.points_expiring").exclude(
                pk__in=events_before).count() - sum(r[2] for r in runs)
            dispatch = self.timed("dispatch", dispatch_all) if not expire.error else Run(error="not run")
            runs.append((expire, dispatch, new_events))
        (expire1, dispatch1, events1), (expire2, dispatch2, events2) = runs
        got_expired = dict(LedgerEntry.objects.filter(shop_id=self.shop_id, kind=EntryKind.EXPIRE)
                           .exclude(pk__in=entries_before).values_list("idempotency_key", "points"))
        got_warned = set(DomainEvent.objects.filter(shop_id=self.shop_id, name="loyalty.points_expiring")
                         .exclude(pk__in=events_before).values_list("key", flat=True))
        enrolled = set(Enrolment.objects.filter(flow=flow).values_list("trigger_key", flat=True))
        wrong_expired = sum(1 for key, points in want_expired.items() if got_expired.get(key) != points)
        wrong_expired += len(set(got_expired) - set(want_expired))
        missing, extra = len(want_warned - got_warned), len(got_warned - want_warned)
        errors = expire1.error or dispatch1.error or expire2.error or dispatch2.error
        passed = (not errors and not wrong_expired and not missing and not extra and enrolled == want_warned
                  and dispatch1.created == len(want_warned) and events2 == 0 and dispatch2.created == 0
                  and expire2.created == 0 and expire1.created == -sum(want_expired.values()))
        check = (f"expiries {len(got_expired):,} ({wrong_expired} wrong); warnings {missing} missing / {extra} extra; "
                 f"2nd run: {events2} events, {dispatch2.created} enrolments")
        self.results.append(ScanResult("points expiring: shop_expire", accounts, "accounts", len(want_warned),
                                       Run(events1, expire1.seconds, expire1.queries, expire1.own_cpu, expire1.pg_cpu,
                                           expire1.error),
                                       Run(events2, expire2.seconds, expire2.queries, expire2.own_cpu, expire2.pg_cpu,
                                           expire2.error),
                                       check, passed, f"warning events written (and {len(got_expired):,} batches, "
                                                      f"{expire1.created:,} points expired)"))
        self.results.append(ScanResult("points expiring: dispatch -> enrol", events1, "events", len(want_warned),
                                       dispatch1, dispatch2, "enrolments = new warnings" if enrolled == want_warned
                                       else "enrolments != new warnings", passed, "outbox -> enrol_from_event"))
        print(f"#   points expiring: {events1:,} warnings and {len(got_expired):,} expiries in {expire1.seconds:.1f}s, "
              f"{dispatch1.created:,} enrolled in {dispatch1.seconds:.1f}s; {'OK' if passed else 'MISMATCH'} "
              f"({check})", flush=True)

    def run_scans(self, flows: dict[str, Any], now: datetime) -> None:
        from campaigns.services import engine, holidays

        only = set(self.args.only.split(",")) if self.args.only else set(SCANS)
        local = now.astimezone(ZoneInfo(TIMEZONE)).date()
        customers = _scalar("SELECT count(*) FROM commerce_customer WHERE shop_id = %(shop)s", {"shop": self.shop_id})
        everyone = (customers, "customers")
        if "birthday" in only:
            self.scan("birthday", flows["birthday"], lambda: engine.dates_scan(flow=flows["birthday"], now=now), now,
                      expected_dates("birthday", self.shop_id, local), everyone)
        if "birthday-mar1" in only:  # a year without 29 February
            march = datetime(2027, 3, 1, 10, 0, tzinfo=UTC)
            self.scan("birthday on 1 March 2027", flows["birthday"],
                      lambda: engine.dates_scan(flow=flows["birthday"], now=march), march,
                      expected_dates("birthday", self.shop_id, march.date()), everyone)
        if "anniversary" in only:
            self.scan("anniversary", flows["anniversary"],
                      lambda: engine.dates_scan(flow=flows["anniversary"], now=now), now,
                      expected_dates("anniversary", self.shop_id, local), everyone)
        if "winback" in only:
            buyers = _scalar("SELECT count(DISTINCT customer_id) FROM commerce_order WHERE shop_id = %(shop)s",
                             {"shop": self.shop_id})
            self.scan("win-back", flows["winback"], lambda: engine.winback_scan(flow=flows["winback"], now=now), now,
                      expected_winback(self.shop_id, now), (buyers, "buyers"))
        if "replenishment" in only:
            buyers = _scalar("SELECT count(DISTINCT o.customer_id) FROM commerce_orderline l JOIN commerce_order o "
                             "ON o.id = l.order_id WHERE l.shop_id = %(shop)s AND l.product_id <= %(consumables)s",
                             {"shop": self.shop_id, "consumables": CONSUMABLES})
            self.scan("replenishment", flows["replenishment"],
                      lambda: engine.replenishment_scan(flow=flows["replenishment"], now=now), now,
                      expected_replenishment(self.shop_id, now, self.merchant_cycles, 5),
                      (buyers, "consumable buyers"))
        if "expiry" in only:
            self.expiry(flows["loyalty_points_expiring"], now)
        if "holiday" in only:
            self.scan("holiday greetings", flows["holiday_greetings"],
                      lambda: holidays.holiday_scan(flow=flows["holiday_greetings"], now=now),
                      datetime.combine(local, clock(HOLIDAY_HOUR), ZoneInfo(TIMEZONE)),  # enrolled for its hour
                      expected_holiday(self.shop_id, local), everyone)


def report(bench: ScanBench, args: argparse.Namespace, started: datetime, load: str, load_seconds: float,
           now: datetime) -> str:
    lines = [
        f"Campaign scans bench, {started:%Y-%m-%d %H:%M} UTC, {os.cpu_count()} CPUs; one shop ({TIMEZONE}), "
        f"{args.customers:,} customers; scans at {now:%Y-%m-%d %H:%M} UTC; PostgreSQL {bench.services.pg_settings}; "
        f"load average before: {load}; app at {revision()}",
        "",
        f"Load (COPY, {CHUNK:,} customers per round, every index and constraint in place): {load_seconds:.0f}s",
        table(["table", "rows", "seconds", "rows/s"], bench.load_rows),
        "",
        "Scans (each run twice on the same data; 'due' is the bench's own SQL):",
    ]
    rows = []
    for r in bench.results:
        first, second = r.first, r.second
        rate = first.created / first.seconds if first.seconds and first.created else float("nan")
        rows.append([r.name, f"{r.examined:,} {r.examined_what}", r.expected, first.created, first.seconds, rate,
                     first.queries, first.own_cpu, first.pg_cpu, second.created, second.seconds, second.queries,
                     "OK" if r.passed else "MISMATCH", r.note])
    lines.append(table(["scan", "examined", "due (SQL)", "enrolled", "seconds", "enrolled/s", "queries",
                        "bench CPU s", "PG CPU s", "2nd run", "2nd s", "2nd queries", "check", "note"], rows))
    lines += ["", "Checks:"] + [f"  {r.name}: {'OK' if r.passed else 'MISMATCH'}: {r.check}" for r in bench.results]
    if args.customers < TARGET_CUSTOMERS:
        lines += ["", f"NOTE: measured at {args.customers:,} customers, not {TARGET_CUSTOMERS:,}."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=TARGET_CUSTOMERS,
                        help="customers in the shop (default 1,000,000: about 8 minutes here)")
    parser.add_argument("--only", help=f"comma-separated scans to run, of: {','.join(SCANS)}")
    parser.add_argument("--today", help="the scans' date (YYYY-MM-DD, default today); they run at 10:00 UTC")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--max-seconds", type=float, default=900.0,
                        help="time bound of each scan run and of each dispatch (default 900)")
    parser.add_argument("--pg-fast", action="store_true",
                        help="start PostgreSQL with CI's settings (fsync/synchronous_commit off)")
    args = parser.parse_args(argv)
    if args.customers < 1:
        parser.error("--customers must be positive")
    if args.only and set(args.only.split(",")) - set(SCANS):
        parser.error(f"--only takes {','.join(SCANS)}")
    day = date.fromisoformat(args.today) if args.today else datetime.now(UTC).date()
    now = datetime.combine(day, clock(10, 0), UTC)
    svc.install_sigterm_handler()
    load = " ".join(f"{v:.2f}" for v in os.getloadavg())
    print(f"# load average before the run: {load}", flush=True)
    started = datetime.now(UTC)
    with tempfile.TemporaryDirectory(prefix="comeback-bench-scans.") as tmp, \
            svc.services(durable=not args.pg_fast) as services:
        bench = ScanBench(args, services, Path(tmp))
        failed = ""
        load_seconds = float("nan")
        try:
            bench.setup(installed_days_ago=4 * 365)
            load_seconds = bench.load(now)
            flows = bench.configure(now)
            bench.run_scans(flows, now)
        except BenchTimeout as error:
            failed = str(error)
        finally:
            bench.cleanup()
        print()
        print(report(bench, args, started, load, load_seconds, now))
        if failed:
            print(f"\nFAILED: {failed}", file=sys.stderr)
    ok = not failed and bool(bench.results) and all(r.passed for r in bench.results)
    return 0 if ok else 1


if __name__ == "__main__":
    svc.run(main)
