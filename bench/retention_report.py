"""Retention report bench: ``analytics`` on PostgreSQL beside the same metrics computed by DuckDB.

Set-up: a migrated PostgreSQL database with one installed shop (time zone ``--timezone``, USD,
loyalty program on), three campaign flows, and the history of ``bench/retention_data.py``
(default 200,000 customers, 1,000,000 orders over 2023-2025 with lines, refunds, loyalty accounts
and ledger, flow attributions), loaded with ``COPY`` (``bench.loyalty_common.copy_into``), then
the app's ``customers_first_order_refresh_all`` and ``VACUUM ANALYZE``; each step timed.

Measured on PostgreSQL, for the period ``--start``..``--end`` (default the year 2025), with the
shop's settings and ``--fulfilment-cost``: every metric function of ``analytics.services`` on its
own (time, statements), then, unless one of them alone exceeded ``--max-seconds``,
``retention_report()`` twice and ``manage.py retention_report`` in a new process (its JSON must
equal the function's).

Measured on DuckDB, in the same run: the bench's tables exported by PostgreSQL ``COPY ... TO``
CSV, read into an in-memory DuckDB, and every metric recomputed with this file's own SQL
(``COUNTED``, ``DUCK_SQL``, ``CLV_SUMMARY``), written from ``analytics/REPORT_FORMAT.md`` and the
functions' docstrings, not from their queries: local dates come from DuckDB's own time-zone
conversion, not from bounds computed in Python.

Checks (exit status 1 if one fails): every value DuckDB computes equals the report's (counts
exactly, money to the cent, percentages and ratios to 0.01); the command's JSON equals the
function's; the input of the CLV model (x, t_x, T, repeat value) is the same for every
customer; and no step timed out.  The model's fit itself has no SQL twin and is not compared.

``.venv/bin/python bench/retention_report.py [--orders 1000000] [--customers 200000] [--max-seconds 300]``
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench import retention_data as data  # noqa: E402
from bench import services as svc  # noqa: E402
from bench.loyalty_common import (  # noqa: E402
    SHOP_DOMAIN,
    BenchTimeout,
    LoyaltyBench,
    QueryCounter,
    copy_into,
    revision,
    sequences_reset,
    time_limit,
)
from bench.report import table  # noqa: E402

TABLES = (  # (model label, db table, columns exported to DuckDB)
    ("customer", "commerce_customer", ("id", "shop_id", "platform_id", "first_order_at", "platform_created_at",
                                       "is_deleted")),
    ("product", "commerce_product", ("id", "shop_id", "platform_id", "title")),
    ("variant", "commerce_variant", ("id", "shop_id", "product_id", "platform_id", "price", "unit_cost")),
    ("order", "commerce_order", ("id", "shop_id", "customer_id", "email", "financial_status", "currency", "subtotal",
                                 "total_discounts", "total_tax", "total_shipping", "total", "total_refunded",
                                 "is_test", "processed_at", "cancelled_at")),
    ("orderline", "commerce_orderline", ("id", "shop_id", "order_id", "product_id", "variant_id", "quantity",
                                         "unit_price", "total_discount")),
    ("refund", "commerce_refund", ("id", "shop_id", "order_id", "amount", "shipping_amount", "processed_at")),
    ("refundline", "commerce_refundline", ("id", "shop_id", "refund_id", "order_line_id", "quantity", "subtotal")),
    ("account", "loyalty_account", ("id", "shop_id", "customer_id", "created_at")),
    ("ledger", "loyalty_ledgerentry", ("id", "shop_id", "account_id", "kind", "points", "occurred_at")),
    ("flow", "campaigns_flow", ("id", "shop_id", "key", "name")),
    ("attribution", "campaigns_attribution", ("id", "shop_id", "order_id", "flow_id", "revenue", "discount")),
    ("imported_cost", "analytics_importedordercost", ("id", "shop_id", "order_id", "cost")),
)
DUCK_TYPES = {  # DuckDB column types for the CSV files (anything not named: BIGINT)
    "platform_id": "VARCHAR", "email": "VARCHAR", "financial_status": "VARCHAR", "currency": "VARCHAR",
    "title": "VARCHAR", "first_order_at": "TIMESTAMPTZ", "platform_created_at": "TIMESTAMPTZ",
    "processed_at": "TIMESTAMPTZ", "cancelled_at": "TIMESTAMPTZ", "is_test": "BOOLEAN", "is_deleted": "BOOLEAN",
    "quantity": "INTEGER", "created_at": "TIMESTAMPTZ", "kind": "VARCHAR", "key": "VARCHAR", "name": "VARCHAR",
    "points": "INTEGER", "occurred_at": "TIMESTAMPTZ",
}
MONEY = "DECIMAL(20,3)"
MONEY_COLUMNS = {"price", "unit_cost", "subtotal", "total_discounts", "total_tax", "total_shipping", "total",
                 "total_refunded", "unit_price", "total_discount", "amount", "shipping_amount", "revenue", "discount",
                 "cost"}


TIMED_OUT = object()  # what a timed-out step returns


@dataclass
class Step:
    """One timed thing: a load, a query, a call."""

    side: str
    name: str
    seconds: float
    queries: int | None = None
    rows: int | None = None
    pg_cpu: float = float("nan")
    note: str = ""


@dataclass
class Comparison:
    metric: str
    app: Any
    duck: Any
    kind: str  # count / money / percent / number
    ok: bool = False


@dataclass
class Results:
    steps: list[Step] = field(default_factory=list)
    comparisons: list[Comparison] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # each one fails the run
    notes: list[str] = field(default_factory=list)


class RetentionBench(LoyaltyBench):
    def __init__(self, args: argparse.Namespace, services: svc.Services, work: Path) -> None:
        super().__init__(services, work, "retention")
        self.args = args
        self.results = Results()
        self.work_mem_setting = "?"

    def step(self, side: str, name: str, run: Callable[[], Any], *, queries: bool = False, note: str = "",
             rows: int | None = None, fatal: bool = True) -> Any:
        """Time ``run()`` (bounded by --max-seconds); with ``queries``, count Django's statements.

        Past the bound: ``fatal`` steps raise ``BenchTimeout``; the others cancel what PostgreSQL
        is still running for us, record the step as timed out (a failure) and return ``TIMED_OUT``."""
        from django.db import connection

        counter = QueryCounter()
        pg_before = svc.tree_cpu_seconds(self.services.pg_pid) if side == "PostgreSQL" else 0.0
        started = time.perf_counter()
        try:
            with time_limit(self.args.max_seconds, f"{side}: {name}"):
                if queries:
                    with connection.execute_wrapper(counter):
                        value = run()
                else:
                    value = run()
        except (BenchTimeout, subprocess.TimeoutExpired):
            if fatal:
                raise
            self.cancel_queries()
            self.results.steps.append(Step(side, name, time.perf_counter() - started, None, rows, float("nan"),
                                           "TIMED OUT"))
            self.results.problems.append(f"{side}: {name} did not finish within {self.args.max_seconds:.0f}s "
                                         "(--max-seconds)")
            print(f"#   {side}: {name}: TIMED OUT after {time.perf_counter() - started:.0f}s", flush=True)
            return TIMED_OUT
        seconds = time.perf_counter() - started
        pg_cpu = (svc.tree_cpu_seconds(self.services.pg_pid) - pg_before
                  if side == "PostgreSQL" and self.services.pg_pid else float("nan"))
        self.results.steps.append(Step(side, name, seconds, sum(counter.counts.values()) if queries else None,
                                       rows, pg_cpu, note))
        print(f"#   {side}: {name}: {seconds:.2f}s", flush=True)
        return value

    def cancel_queries(self) -> None:
        """Cancel every statement still running in our database (a timed-out step's), then reconnect."""
        import psycopg
        from django.db import connections

        with psycopg.connect(svc.database_url_named(self.services.database_url, "postgres"),
                             autocommit=True) as admin:
            admin.execute("SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE datname = %s "
                          "AND pid <> pg_backend_pid() AND state <> 'idle'", [self.current])
        connections.close_all()

    # --- load --------------------------------------------------------------------------------

    def load(self, history: data.History) -> None:
        from analytics.models import ImportedOrderCost
        from campaigns.models import Attribution
        from commerce.models import Customer, Order, OrderLine, Product, Refund, RefundLine, Variant
        from commerce.services import customers_first_order_refresh_all
        from loyalty.models import Account, LedgerEntry

        def rows(columns: tuple[str, ...], tuples: list[tuple[Any, ...]]) -> Any:
            return (dict(zip(columns, row, strict=True)) for row in tuples)

        for model, columns, tuples in (
            (Customer, data.CUSTOMER_COLUMNS, history.customers), (Product, data.PRODUCT_COLUMNS, history.products),
            (Variant, data.VARIANT_COLUMNS, history.variants), (Order, data.ORDER_COLUMNS, history.orders),
            (OrderLine, data.LINE_COLUMNS, history.lines), (Refund, data.REFUND_COLUMNS, history.refunds),
            (RefundLine, data.REFUND_LINE_COLUMNS, history.refund_lines),
            (Account, data.ACCOUNT_COLUMNS, history.accounts), (LedgerEntry, data.LEDGER_COLUMNS, history.ledger),
            (Attribution, data.ATTRIBUTION_COLUMNS, history.attributions),
            (ImportedOrderCost, data.IMPORTED_COST_COLUMNS, history.imported_costs),
        ):
            self.step("PostgreSQL", f"COPY {model._meta.db_table}",
                      lambda m=model, c=columns, t=tuples: copy_into(m, rows(c, t), columns=c),  # type: ignore[misc]
                      rows=len(tuples), note="load")
        sequences_reset(Customer, Product, Variant, Order, OrderLine, Refund, RefundLine, Account, LedgerEntry,
                        Attribution, ImportedOrderCost)
        shop = self.shop()
        self.step("PostgreSQL", "customers_first_order_refresh_all", lambda: customers_first_order_refresh_all(
            shop=shop), queries=True, rows=len(history.customers), note="load: the app's first-order dates")
        self.step("PostgreSQL", "orders updated an hour ago", self.orders_age, note="load: a history synced "
                  "earlier, so the rollups' refresh on a quiet minute finds nothing new")
        self.step("PostgreSQL", "VACUUM ANALYZE", self.vacuum_analyze, note="load")

    def orders_age(self) -> None:
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("UPDATE commerce_order SET updated_at = now() - interval '1 hour' WHERE shop_id = %s",
                           [self.shop_id])

    def work_mem(self) -> None:
        """``--work-mem``: set for every later session on the bench database (the command's too)."""
        from django.db import connection, connections

        if self.args.work_mem:
            with connection.cursor() as cursor:
                cursor.execute(f"ALTER DATABASE \"{self.current}\" SET work_mem = '{self.args.work_mem}'")
            connections.close_all()
        with connection.cursor() as cursor:
            cursor.execute("SHOW work_mem")
            self.work_mem_setting = cursor.fetchone()[0]

    def flows(self) -> tuple[int, ...]:
        """The campaign flows orders are attributed to (made through the ORM: three rows)."""
        from campaigns.models import Flow

        return tuple(Flow.objects.get_or_create(shop_id=self.shop_id, key=key, defaults={
            "name": name, "trigger": "order.paid", "is_enabled": True})[0].pk for key, name in data.FLOWS)

    # --- export to DuckDB --------------------------------------------------------------------

    def export(self) -> dict[str, Path]:
        """Each table's rows of the shop, as CSV written by PostgreSQL's COPY TO (timestamps in UTC)."""
        from django.db import connection
        from psycopg import sql

        files: dict[str, Path] = {}
        with connection.cursor() as cursor:
            raw = cursor.cursor
            raw.execute("SET TIME ZONE 'UTC'")
            for label, db_table, columns in TABLES:
                path = self.work / f"{label}.csv"
                statement = sql.SQL("COPY (SELECT {} FROM {} WHERE shop_id = {} ORDER BY id) TO STDOUT "
                                    "(FORMAT csv, HEADER)").format(
                    sql.SQL(", ").join(map(sql.Identifier, columns)), sql.Identifier(db_table),
                    sql.Literal(self.shop_id))

                def write(statement: Any = statement, path: Path = path) -> None:
                    with path.open("wb") as out, raw.copy(statement) as copy:
                        for block in copy:
                            out.write(block)

                self.step("export", f"COPY {db_table} TO csv", write, note="")
                self.results.steps[-1].rows = path.stat().st_size  # bytes
                files[label] = path
        return files


# --- DuckDB: the same metrics, written from the definitions (analytics/REPORT_FORMAT.md, docstrings) ---------

COUNTED = """
CREATE OR REPLACE TABLE counted AS
SELECT id, customer_id, currency, total, total_refunded, total_tax, total_shipping, total_discounts, processed_at,
       CAST(timezone($tz, processed_at) AS DATE) AS day          -- the shop's local date
FROM orders
WHERE financial_status IN ('paid', 'partially_refunded')          -- fully refunded: not a purchase
  AND cancelled_at IS NULL AND NOT is_test AND processed_at IS NOT NULL
  AND NOT (total > 0 AND total_refunded >= total)                 -- refunded in full, whatever the status
"""

DUCK_SQL: dict[str, str] = {  # metric -> one query; its column names are paths in the report's JSON
    # S: active on the day before the period; E: active on its last day; N: first counted order in the period
    "customer_retention": """
WITH firsts AS (SELECT customer_id, min(day) AS first_day FROM counted WHERE customer_id IS NOT NULL GROUP BY 1),
s AS (SELECT count(DISTINCT customer_id) AS n FROM counted
      WHERE customer_id IS NOT NULL AND day BETWEEN $start - $activity AND $start - 1),
e AS (SELECT count(DISTINCT customer_id) AS n FROM counted
      WHERE customer_id IS NOT NULL AND day BETWEEN $end - $activity + 1 AND $end),
new AS (SELECT count(*) AS n FROM firsts WHERE first_day BETWEEN $start AND $end)
SELECT s.n AS "customers.start", e.n AS "customers.end", new.n AS "customers.new",
       round(100.0 * (e.n - new.n) / nullif(s.n, 0), 2) AS crr_percent
FROM s, e, new
""",
    "repeat_purchase_rate": """
WITH per AS (SELECT customer_id, count(*) AS orders FROM counted
             WHERE customer_id IS NOT NULL AND day BETWEEN $start AND $end GROUP BY 1)
SELECT count(*) AS period_customers, count(*) FILTER (WHERE orders > 1) AS repeat_customers,
       round(100.0 * count(*) FILTER (WHERE orders > 1) / nullif(count(*), 0), 2) AS repeat_purchase_rate_percent
FROM per
""",
    "purchase_frequency": """
SELECT count(*) AS customer_orders,
       round(count(*) / nullif(count(DISTINCT customer_id), 0), 2) AS purchase_frequency
FROM counted WHERE customer_id IS NOT NULL AND day BETWEEN $start AND $end
""",
    # counted orders placed in the period, guests included, net of refunds
    "average_order_value": """
SELECT count(*) AS orders, coalesce(sum(total - total_refunded), 0) AS revenue,
       sum(total - total_refunded) / nullif(count(*), 0) AS average_order_value
FROM counted WHERE day BETWEEN $start AND $end AND currency = $currency
""",
    # churned: in S, and no counted order in the churn_days days ending on the period's last day;
    # revenue lost: their net revenue (shop money) in the 365 days up to their last order (included)
    "churn": """
WITH s AS (SELECT DISTINCT customer_id FROM counted
           WHERE customer_id IS NOT NULL AND day BETWEEN $start - $activity AND $start - 1),
recent AS (SELECT DISTINCT customer_id FROM counted
           WHERE customer_id IS NOT NULL AND day BETWEEN $end - $churn + 1 AND $end),
churned AS (SELECT customer_id FROM s ANTI JOIN recent USING (customer_id)),
last AS (SELECT c.customer_id, max(c.processed_at) AS last_at FROM counted c SEMI JOIN churned USING (customer_id)
         WHERE c.day <= $end GROUP BY 1),
lost AS (SELECT sum(c.total - c.total_refunded) AS revenue FROM counted c JOIN last USING (customer_id)
         WHERE c.currency = $currency AND c.day <= $end AND c.processed_at > last.last_at - INTERVAL 365 DAY)
SELECT (SELECT count(*) FROM churned) AS churned_customers,
       round(100.0 * (SELECT count(*) FROM churned) / nullif((SELECT count(*) FROM s), 0), 2) AS churn_rate_percent,
       coalesce((SELECT revenue FROM lost), 0) AS revenue_lost
""",
    # (gross sales - discounts - refunds - product cost - fulfilment) / orders, where gross sales =
    # total - tax - shipping + discounts, refunds = refunded - refunded shipping, product cost =
    # the imported cost if the order has one, else quantity x variant cost of its lines (no line,
    # or a line without a cost: "without cost")
    "profit_per_order": """
WITH o AS (SELECT * FROM counted WHERE day BETWEEN $start AND $end AND currency = $currency),
line_costs AS (
    SELECT l.order_id, sum(l.quantity * v.unit_cost) AS cost, bool_or(v.id IS NULL OR v.unit_cost IS NULL) AS unknown
    FROM orderline l SEMI JOIN o ON o.id = l.order_id LEFT JOIN variant v ON v.id = l.variant_id
    GROUP BY 1),
refunded_shipping AS (SELECT coalesce(sum(r.shipping_amount), 0) AS amount
                      FROM refund r SEMI JOIN o ON o.id = r.order_id),
t AS (SELECT count(*) AS orders,
             coalesce(sum(o.total - o.total_tax - o.total_shipping + o.total_discounts), 0) AS gross,
             coalesce(sum(o.total_discounts), 0) AS discounts, coalesce(sum(o.total_refunded), 0) AS refunded,
             coalesce(sum(coalesce(ic.cost, lc.cost)), 0) AS product_cost,
             count(*) FILTER (WHERE ic.id IS NULL AND (lc.order_id IS NULL OR lc.unknown)) AS without_cost
      FROM o LEFT JOIN imported_cost ic ON ic.order_id = o.id
             LEFT JOIN line_costs lc ON lc.order_id = o.id AND ic.id IS NULL),
p AS (SELECT t.*, t.refunded - rs.amount AS refunds, $fulfilment * t.orders AS fulfilment,
             t.gross - t.discounts - (t.refunded - rs.amount) - t.product_cost - $fulfilment * t.orders AS profit
      FROM t, refunded_shipping rs)
SELECT orders AS "profit.orders", gross AS "profit.gross_sales", discounts AS "profit.discounts",
       refunds AS "profit.refunds", product_cost AS "profit.product_cost", fulfilment AS "profit.fulfilment_cost",
       profit AS "profit.profit", profit / nullif(orders, 0) AS profit_per_order,
       without_cost AS "profit.orders_without_cost"
FROM p
""",
    # customers whose first counted order ever is in the period, by its local month; share of each
    # cohort with a counted order in each later month of the period (month 0 = 100)
    "cohort_retention": """
WITH firsts AS (SELECT customer_id, min(day) AS first_day FROM counted WHERE customer_id IS NOT NULL GROUP BY 1
                HAVING min(day) BETWEEN $start AND $end),
activity AS (SELECT DISTINCT f.customer_id, date_trunc('month', f.first_day) AS cohort,
                    date_diff('month', date_trunc('month', f.first_day), date_trunc('month', c.day)) AS k
             FROM firsts f JOIN counted c USING (customer_id) WHERE c.day BETWEEN $start AND $end),
cells AS (SELECT cohort, k, count(*) AS n FROM activity GROUP BY 1, 2)
SELECT strftime(cohort, '%Y-%m') AS month, k, n,
       round(100.0 * n / max(n) FILTER (WHERE k = 0) OVER (PARTITION BY cohort), 2) AS share
FROM cells ORDER BY cohort, k
""",
    "historic_clv": """
SELECT sum(total - total_refunded) / nullif(count(DISTINCT customer_id), 0) AS "clv.historic_mean"
FROM counted WHERE customer_id IS NOT NULL AND currency = $currency AND day <= $end
""",
    # active on the end day with at least min_orders counted orders up to it
    "loyal_base": """
WITH active AS (SELECT DISTINCT customer_id FROM counted
                WHERE customer_id IS NOT NULL AND day BETWEEN $end - $activity + 1 AND $end),
loyal AS (SELECT customer_id FROM counted c SEMI JOIN active USING (customer_id) WHERE c.day <= $end
          GROUP BY 1 HAVING count(*) >= $min_orders)
SELECT $min_orders AS "loyal_base.min_orders", (SELECT count(*) FROM loyal) AS "loyal_base.customers",
       round(100.0 * (SELECT count(*) FROM loyal) / nullif((SELECT count(*) FROM active), 0), 2)
           AS "loyal_base.share_percent"
""",
    # members: the period's customers with an account opened by the period's end (local date)
    "loyalty_return": """
WITH o AS (SELECT c.customer_id, c.total - c.total_refunded AS net,
                  EXISTS (SELECT 1 FROM account a WHERE a.customer_id = c.customer_id
                          AND CAST(timezone($tz, a.created_at) AS DATE) <= $end) AS member
           FROM counted c WHERE c.customer_id IS NOT NULL AND c.currency = $currency AND c.day BETWEEN $start AND $end),
g AS (SELECT count(DISTINCT customer_id) FILTER (WHERE member) AS mc, count(*) FILTER (WHERE member) AS mo,
             coalesce(sum(net) FILTER (WHERE member), 0) AS ms,
             count(DISTINCT customer_id) FILTER (WHERE NOT member) AS nc, count(*) FILTER (WHERE NOT member) AS no,
             coalesce(sum(net) FILTER (WHERE NOT member), 0) AS ns FROM o),
points AS (SELECT coalesce(sum(points) FILTER (WHERE kind = 'earn' AND local BETWEEN $start AND $end), 0)
                      AS earned,
                  -coalesce(sum(points) FILTER (WHERE kind = 'redeem' AND local BETWEEN $start AND $end), 0)
                      AS redeemed,
                  coalesce(sum(points), 0) AS outstanding
           FROM (SELECT *, CAST(timezone($tz, occurred_at) AS DATE) AS local FROM ledger))
SELECT mc AS "loyalty.members.customers", mo AS "loyalty.members.orders", ms AS "loyalty.members.spend",
       round(mo / nullif(mc, 0), 2) AS "loyalty.members.purchase_frequency",
       ms / nullif(mo, 0) AS "loyalty.members.average_order_value",
       ms / nullif(mc, 0) AS "loyalty.members.spend_per_customer",
       nc AS "loyalty.non_members.customers", no AS "loyalty.non_members.orders", ns AS "loyalty.non_members.spend",
       round(no / nullif(nc, 0), 2) AS "loyalty.non_members.purchase_frequency",
       ns / nullif(no, 0) AS "loyalty.non_members.average_order_value",
       ns / nullif(nc, 0) AS "loyalty.non_members.spend_per_customer",
       earned AS "loyalty.points.earned", redeemed AS "loyalty.points.redeemed",
       outstanding AS "loyalty.points.outstanding",
       round(100.0 * redeemed / nullif(earned, 0), 2) AS "loyalty.redemption_rate_percent",
       outstanding * $point_value AS "loyalty.points_liability"
FROM g, points
""",
    # orders of the period credited to a flow: their net revenue now, the discount they used
    "campaign_return": """
WITH o AS (SELECT id, total - total_refunded AS net FROM counted
           WHERE day BETWEEN $start AND $end AND currency = $currency),
per_flow AS (SELECT f.key, f.name, count(*) AS orders, sum(o.net) AS revenue, sum(a.discount) AS discount
             FROM attribution a JOIN o ON o.id = a.order_id JOIN flow f ON f.id = a.flow_id GROUP BY 1, 2)
SELECT key, name, orders, revenue, discount,
       (SELECT coalesce(sum(revenue), 0) FROM per_flow) AS total_revenue,
       (SELECT coalesce(sum(discount), 0) FROM per_flow) AS total_discount,
       round(100.0 * (SELECT sum(revenue) FROM per_flow) / nullif((SELECT sum(net) FROM o), 0), 2) AS share
FROM per_flow ORDER BY key
""",
}

# BG/NBD input per customer (purchase days: local days with counted orders, values added)
CLV_SUMMARY = """
WITH days AS (SELECT customer_id, day, sum(total - total_refunded) AS value FROM counted
              WHERE customer_id IS NOT NULL AND currency = $currency AND day <= $end GROUP BY 1, 2),
per AS (SELECT customer_id, count(*) - 1 AS frequency, min(day) AS first_day, max(day) AS last_day,
               sum(value) - arg_min(value, day) AS repeat_value
        FROM days GROUP BY 1)
SELECT customer_id, frequency, (last_day - first_day) AS recency_days, ($end - first_day) AS age_days, repeat_value
FROM per ORDER BY customer_id
"""
CLV_TOTALS = """
SELECT count(*) AS "clv.customers", count(*) FILTER (WHERE frequency > 0) AS "clv.repeat_customers",
       sum(frequency) AS "summary.frequency", sum(recency_days) AS "summary.recency_days",
       sum(age_days) AS "summary.age_days", sum(repeat_value) AS "summary.repeat_value"
FROM clv_summary
"""


def duck_table(label: str) -> str:
    return "orders" if label == "order" else label


class Duck:
    """An in-memory DuckDB holding the CSV exports; each metric is one query."""

    def __init__(self, bench: RetentionBench) -> None:
        import duckdb

        self.bench = bench
        self.con = duckdb.connect(":memory:", config={"threads": os.cpu_count() or 1})
        self.con.execute("SET TimeZone = 'UTC'")

    def load(self, files: dict[str, Path]) -> None:
        for label, _db_table, columns in TABLES:
            types = ", ".join(f"'{c}': '{MONEY if c in MONEY_COLUMNS else DUCK_TYPES.get(c, 'BIGINT')}'"
                              for c in columns)
            name = duck_table(label)

            def run(name: str = name, types: str = types, path: Path = files[label]) -> None:
                self.con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM "  # noqa: S608 - our names
                                 f"read_csv(?, header = true, columns = {{{types}}})", [str(path)])

            self.bench.step("DuckDB", f"load {name}", run, note="read_csv")

    def rows(self, sql_text: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        used = {k: v for k, v in params.items() if f"${k}" in sql_text}
        cursor = self.con.execute(sql_text, used)
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def metric(self, name: str, sql_text: str, params: dict[str, Any]) -> dict[str, Any]:
        """The query's result as report paths -> values (the multi-row ones assembled like the report)."""
        rows = self.rows(sql_text, params)
        if name == "cohort_retention":
            return cohorts_assemble(rows, params["start"], params["end"])
        if name == "campaign_return":
            return campaigns_assemble(rows)
        return rows[0]


def month_starts(start: date, end: date) -> list[date]:
    months, month = [], start.replace(day=1)
    while month <= end:
        months.append(month)
        month = (month + timedelta(days=32)).replace(day=1)
    return months


def cohorts_assemble(rows: list[dict[str, Any]], start: date, end: date) -> dict[str, Any]:
    cells = {(row["month"], row["k"]): row for row in rows}
    out: dict[str, Any] = {}
    months = month_starts(start, end)
    for index, month in enumerate(months):
        label = month.strftime("%Y-%m")
        size = cells[(label, 0)]["n"] if (label, 0) in cells else 0
        out[f"cohorts[{index}].month"] = label
        out[f"cohorts[{index}].size"] = size
        for k in range(len(months) - index):
            share = cells[(label, k)]["share"] if (label, k) in cells else 0.0
            out[f"cohorts[{index}].retention_percent[{k}]"] = share if size else None
    return out


def campaigns_assemble(rows: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for index, row in enumerate(rows):
        for key, name in (("key", "flow"), ("name", "name"), ("orders", "orders"), ("revenue", "revenue"),
                          ("discount", "discount_cost")):
            out[f"campaigns.flows[{index}].{name}"] = row[key]
    first = rows[0] if rows else {"total_revenue": 0, "total_discount": 0, "share": 0.0}
    out["campaigns.revenue"] = first["total_revenue"]
    out["campaigns.discount_cost"] = first["total_discount"]
    out["campaigns.share_of_revenue_percent"] = first["share"]
    return out

# --- the app side ------------------------------------------------------------------------------

# (module in analytics.services, function): what the report is made of, each timed on its own
APP_METRICS = (
    ("retention", "customer_retention"), ("retention", "new_customers"), ("retention", "repeat_purchase_rate"),
    ("retention", "purchase_frequency"), ("retention", "churn"), ("retention", "loyal_base"),
    ("value", "average_order_value"), ("value", "profit_per_order"), ("value", "historic_clv"),
    ("value", "predicted_clv"), ("cohorts", "cohort_retention"), ("programs", "loyalty_return"),
    ("programs", "campaign_return"), ("programs", "nps"),
)


# where each function's result sits in the report (used only when the report itself timed out)
SECTIONS = {"customer_retention": "", "repeat_purchase_rate": "", "purchase_frequency": "", "average_order_value": "",
            "churn": "", "profit_per_order": "", "cohort_retention": "cohorts", "historic_clv": "clv",
            "predicted_clv": "clv", "loyal_base": "loyal_base", "loyalty_return": "loyalty",
            "campaign_return": "campaigns"}


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}}`` -> ``{"a.b": 1}``; lists by index."""
    out: dict[str, Any] = {}
    if isinstance(value, dict):
        for key, item in value.items():
            out.update(flatten(item, f"{prefix}.{key}" if prefix else str(key)))
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            out.update(flatten(item, f"{prefix}[{index}]"))
    else:
        out[prefix] = value
    return out


def kind_of(key: str, value: Any) -> str:
    leaf = key.rsplit(".", 1)[-1]
    if leaf.endswith("_percent") or leaf in ("share", "rate"):
        return "percent"
    if isinstance(value, bool) or value is None:
        return "exact"
    if isinstance(value, int):
        return "count"
    if isinstance(value, str):
        try:
            Decimal(value)
        except ArithmeticError:
            return "exact"
        return "money"
    return "number"


def agrees(kind: str, app: Any, duck: Any) -> bool:
    if app is None or duck is None:
        return app is None and duck is None
    if kind in ("count", "exact"):
        return bool(app == duck) if kind == "exact" else int(app) == int(duck)
    tolerance = Decimal("0.005") if kind == "money" else Decimal("0.01")
    return abs(Decimal(str(app)) - Decimal(str(duck))) <= tolerance

def app_kwargs(function: Callable[..., Any], values: dict[str, Any]) -> dict[str, Any]:
    """The keyword arguments ``function`` takes, from ``values`` (its own defaults otherwise)."""
    import inspect

    names = inspect.signature(function).parameters
    return {name: values[name] for name in names if name in values}


class Run:
    """One full run: the app's report and metric functions, then DuckDB's, then the comparison."""

    def __init__(self, bench: RetentionBench, args: argparse.Namespace) -> None:
        self.bench = bench
        self.args = args
        self.report: dict[str, Any] | None = None
        self.app: dict[str, Any] = {}  # metric function -> its result
        self.command_json: Any = None
        self.duck: dict[str, Any] = {}
        self.app_summary: Any = None
        self.duck_summary: list[tuple[Any, ...]] = []

    def options(self) -> Any:
        from analytics.services import report_options

        return report_options(shop=self.bench.shop(), fulfilment_cost_per_order=self.args.fulfilment_cost)

    def app_side(self) -> None:
        """Each metric function on its own, then (unless one of them timed out) the whole report
        twice and the management command."""
        import importlib

        from analytics.services import clv_customer_summary, retention_report

        shop, options = self.bench.shop(), self.options()
        values = {"shop": shop, "start": self.args.start, "end": self.args.end, "day": self.args.end,
                  "activity_days": options.activity_days, "churn_days": options.churn_days,
                  "min_orders": options.loyal_min_orders, "horizon_weeks": options.clv_horizon_weeks,
                  "fulfilment_cost_per_order": options.fulfilment_cost_per_order}
        for module_name, name in APP_METRICS:
            try:
                function = getattr(importlib.import_module(f"analytics.services.{module_name}"), name)
            except (ImportError, AttributeError):
                self.bench.results.notes.append(f"analytics.services.{module_name}.{name} is gone: not timed")
                continue
            kwargs = app_kwargs(function, values)
            call: Callable[[], Any] = partial(function, **kwargs)
            self.app[name] = self.bench.step("PostgreSQL", f"{module_name}.{name}", call, queries=True,
                                             note="one metric function", fatal=False)
        self.app_summary = self.bench.step(
            "PostgreSQL", "value.clv_customer_summary",
            lambda: clv_customer_summary(shop=shop, end=self.args.end), queries=True,
            note="the CLV model's input (part of predicted_clv)", fatal=False)
        slow = [name for name, result in self.app.items() if result is TIMED_OUT]
        if slow:
            self.bench.results.problems.append(
                f"retention_report() and the command were not run: {', '.join(slow)} alone exceeded the bound")
            return
        for attempt in (1, 2):
            report = self.bench.step(
                "PostgreSQL", f"retention_report(), call {attempt}",
                lambda: retention_report(shop=shop, start=self.args.start, end=self.args.end, options=options),
                queries=True, note="the Python function", fatal=False)
            if report is TIMED_OUT:
                return
            self.report = report
        self.command()
        self.rollups()

    def rollups(self) -> None:
        """The dashboard's path: the rollups built, refreshed with nothing new, and read; every
        figure they give must equal the report's, and the report assembled on them must equal it."""
        from analytics.services import report_json, retention_report_from_rollups, rollups_refresh
        from analytics.services.rollup_report import rollup_report

        shop, options = self.bench.shop(), self.options()
        period = {"shop": shop, "start": self.args.start, "end": self.args.end, "options": options}
        self.bench.step("PostgreSQL", "rollups_refresh (first: full build)", lambda: rollups_refresh(shop=shop),
                        queries=True, note="the rollups' first build (then the beat task each minute)")
        self.bench.step("PostgreSQL", "rollups_refresh (nothing new)", lambda: rollups_refresh(shop=shop),
                        queries=True, note="the beat task on a quiet minute")
        for attempt in (1, 2):
            figures = self.bench.step("PostgreSQL", f"rollup_report(predicted=False), call {attempt}",
                                      lambda: rollup_report(**period, predicted=False), queries=True,
                                      note="a dashboard page's figures, no CLV fit")
        fitted = self.bench.step("PostgreSQL", "rollup_report() with the CLV fit",
                                 lambda: rollup_report(**period), queries=True, note="the fit on the rollup's summary")
        on_rollups = self.bench.step("PostgreSQL", "retention_report_from_rollups()",
                                     lambda: retention_report_from_rollups(**period), queries=True,
                                     note="the whole report, rollup figures + the rest from the orders")
        if self.report is None or TIMED_OUT in (figures, fitted, on_rollups):
            return
        report = flatten(self.report)
        for name, value in {**flatten(figures), **flatten(fitted)}.items():
            if name == "orders_in_other_currency":
                continue  # not a key of the report (its warning says it)
            if name not in report or report[name] != value:
                self.bench.results.problems.append(f"rollups: {name} = {value!r}, the report says "
                                                   f"{report.get(name)!r}")
        checked = len(flatten(figures)) + len(flatten(fitted))
        if report_json(on_rollups) != report_json(self.report):
            self.bench.results.problems.append("retention_report_from_rollups() differs from retention_report()")
        self.bench.results.notes.append(f"rollups: {checked} figures compared with the report, and the report on the "
                                        "rollups with the report as JSON")

    def command(self) -> None:
        """``manage.py retention_report`` end to end, in its own process, its JSON on stdout."""
        command = [sys.executable, "manage.py", "retention_report", "--shop", SHOP_DOMAIN,
                   "--start", self.args.start.isoformat(), "--end", self.args.end.isoformat(),
                   "--fulfilment-cost", str(self.args.fulfilment_cost)]
        env = {**os.environ, **self.bench.app_env(self.bench.current)}

        def run() -> subprocess.CompletedProcess[str]:
            return subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True,
                                  timeout=self.args.max_seconds)

        done = self.bench.step("PostgreSQL", "manage.py retention_report", run,
                               note="a new process: Django start-up, report, JSON on stdout", fatal=False)
        if done is TIMED_OUT:
            return
        if done.returncode != 0:
            self.bench.results.problems.append(f"manage.py retention_report exited {done.returncode}: "
                                               f"{done.stderr.strip()[-2000:]}")
            return
        try:
            self.command_json = json.loads(done.stdout)
        except ValueError as error:
            self.bench.results.problems.append(f"manage.py retention_report printed no JSON: {error}")

    def duck_side(self, duck: Duck) -> None:
        from loyalty.selectors import program_get

        shop, options = self.bench.shop(), self.options()
        params = {"tz": shop.timezone or "UTC", "start": self.args.start, "end": self.args.end,
                  "activity": options.activity_days, "churn": options.churn_days,
                  "min_orders": options.loyal_min_orders,
                  "currency": shop.currency, "fulfilment": Decimal(options.fulfilment_cost_per_order),
                  "point_value": program_get(shop=shop).point_value}
        self.bench.step("DuckDB", "counted orders (a table)",
                        lambda: duck.con.execute(COUNTED, {"tz": params["tz"]}), note="shared by the queries below")
        for name, sql_text in DUCK_SQL.items():
            query: Callable[[], dict[str, Any]] = partial(duck.metric, name, sql_text, params)
            self.duck.update(self.bench.step("DuckDB", name, query))

        def summary() -> list[tuple[Any, ...]]:
            used = {k: v for k, v in params.items() if f"${k}" in CLV_SUMMARY}
            duck.con.execute(f"CREATE OR REPLACE TABLE clv_summary AS {CLV_SUMMARY}", used)
            return duck.con.execute("SELECT * FROM clv_summary ORDER BY customer_id").fetchall()

        self.duck_summary = self.bench.step("DuckDB", "predicted_clv's input (per customer)", summary)
        self.duck.update(duck.metric("clv", CLV_TOTALS, params))
        crr = self.duck.get("crr_percent")
        self.duck["industry_context.position"] = (None if crr is None else "below" if crr < 20
                                                  else "above" if crr > 35 else "within")

    def compare(self) -> None:
        from analytics.services import report_json

        results = self.bench.results
        if self.report is not None:
            report = flatten(self.report)
        else:  # no report (a function timed out): the functions' own results, placed as the report places them
            report = {}
            for name, result in self.app.items():
                if result is not TIMED_OUT and name in SECTIONS:
                    report.update(flatten(result, SECTIONS[name]))
            results.notes.append("compared with the metric functions' results (no report)")
        for key, duck_value in self.duck.items():
            if key.startswith("summary."):
                continue
            if key not in report and self.report is None:
                continue  # its function timed out (already a failure)
            if key not in report:
                results.problems.append(f"the report has no {key!r} (DuckDB computed {duck_value!r})")
                results.comparisons.append(Comparison(key, "(missing)", duck_value, "exact", False))
                continue
            kind = kind_of(key, report[key])
            results.comparisons.append(Comparison(key, report[key], duck_value, kind,
                                                  agrees(kind, report[key], duck_value)))
        if self.command_json is not None and self.report is not None:
            same = json.loads(report_json(self.report)) == self.command_json
            results.comparisons.append(Comparison("manage.py retention_report JSON = retention_report()",
                                                  "-", "-", "exact", same))
            if not same:
                mine, theirs = flatten(json.loads(report_json(self.report))), flatten(self.command_json)
                differ = sorted(k for k in mine.keys() | theirs.keys() if mine.get(k) != theirs.get(k))
                results.problems.append(f"the command's JSON differs from the function's at {differ[:10]}")
        if self.app_summary is not None and self.app_summary is not TIMED_OUT:
            self.compare_summary()

    def compare_summary(self) -> None:
        """predicted_clv's input, customer by customer: (x, t_x and T in days, repeat value)."""
        summary = self.app_summary
        app_rows = {int(cid): (float(f), float(r) * 7, float(t) * 7, float(m) * float(f))
                    for cid, f, r, t, m in zip(summary.customer_ids, summary.frequency, summary.recency, summary.T,
                                               summary.monetary, strict=True)}
        duck_rows = {int(cid): (float(f), float(r), float(t), float(v or 0))
                     for cid, f, r, t, v in self.duck_summary}
        differ = sorted(cid for cid in duck_rows.keys() | app_rows.keys()
                        if cid not in app_rows or cid not in duck_rows
                        or any(abs(a - b) > 0.005 for a, b in zip(app_rows[cid], duck_rows[cid], strict=True)))
        self.bench.results.comparisons.append(Comparison(
            "clv: customers whose model input (x, t_x, T, value) differs", 0, len(differ), "count", not differ))
        if differ:
            self.bench.results.problems.append(
                "predicted_clv's input differs, e.g. " + "; ".join(
                    f"customer {c}: app {app_rows.get(c)} DuckDB {duck_rows.get(c)}" for c in differ[:5]))


# --- output ------------------------------------------------------------------------------------

PAIRS = (  # (app function step, DuckDB step)
    ("retention.customer_retention", "customer_retention"), ("retention.new_customers", None),
    ("retention.repeat_purchase_rate", "repeat_purchase_rate"), ("retention.purchase_frequency", "purchase_frequency"),
    ("retention.churn", "churn"), ("retention.loyal_base", "loyal_base"),
    ("value.average_order_value", "average_order_value"), ("value.profit_per_order", "profit_per_order"),
    ("value.historic_clv", "historic_clv"), ("value.clv_customer_summary", "predicted_clv's input (per customer)"),
    ("value.predicted_clv", None), ("cohorts.cohort_retention", "cohort_retention"),
    ("programs.loyalty_return", "loyalty_return"), ("programs.campaign_return", "campaign_return"),
    ("programs.nps", None),
)
NOTES = {"retention.new_customers": "N alone (inside customer_retention)",
         "value.predicted_clv": "the summary, then BG/NBD and Gamma-Gamma fits (numpy/scipy)",
         "value.clv_customer_summary": "DuckDB: the same per-customer table",
         "programs.nps": "no survey answers generated: null"}
HEADLINE = ("customers.start", "customers.end", "customers.new", "crr_percent", "repeat_purchase_rate_percent",
            "purchase_frequency", "orders", "revenue", "average_order_value", "churned_customers",
            "churn_rate_percent", "revenue_lost", "profit_per_order", "profit.product_cost",
            "profit.orders_without_cost", "clv.historic_mean", "clv.customers", "loyal_base.customers",
            "loyalty.members.spend_per_customer", "loyalty.non_members.spend_per_customer",
            "campaigns.share_of_revenue_percent", "cohorts[0].size", "cohorts[0].retention_percent[1]",
            "cohorts[0].retention_percent[11]")


def output(run: Run, args: argparse.Namespace, shape: dict[str, Any], started: datetime, load: str) -> str:
    import duckdb

    results = run.bench.results
    steps = {(step.side, step.name): step for step in results.steps}

    def seconds(side: str, name: str | None) -> float | str:
        step = steps.get((side, name)) if name else None
        return "-" if step is None else "TIMED OUT" if step.note == "TIMED OUT" else step.seconds

    lines = [
        f"Retention report bench, {started:%Y-%m-%d %H:%M} UTC, {os.cpu_count()} CPUs; one shop ({args.timezone}, "
        f"USD): {shape.get('customers', 0):,} customers, {shape.get('orders', 0):,} orders "
        f"{args.history_start}..{args.history_end} (seed {args.seed}); report {args.start}..{args.end}, fulfilment "
        f"cost {args.fulfilment_cost}/order; PostgreSQL {run.bench.services.pg_settings}, work_mem "
        f"{run.bench.work_mem_setting}; DuckDB {duckdb.__version__} "
        f"in memory, {os.cpu_count()} threads; load average before: {load}; app at {revision()}",
        "", "Data: " + ", ".join(f"{v:,} {k}" for k, v in shape.items() if k not in ("customers", "orders")),
        "", "Load into PostgreSQL (bench.loyalty_common.copy_into, then the app's first-order dates, then VACUUM "
        "ANALYZE):",
    ]
    rows: list[list[Any]] = []
    for step in results.steps:
        if step.note.startswith("load"):
            rate = step.rows / step.seconds if step.rows and step.seconds else float("nan")
            rows.append([step.name, step.rows if step.rows is not None else "-", step.seconds, rate, step.pg_cpu,
                         step.queries if step.queries is not None else "-"])
    rows.append(["total", "-", sum(s.seconds for s in results.steps if s.note.startswith("load")), float("nan"),
                 float("nan"), "-"])
    lines.append(table(["step", "rows", "seconds", "rows/s", "PG CPU s", "statements"], rows))
    export = [s for s in results.steps if s.side == "export"]
    duck_load = [s for s in results.steps if s.side == "DuckDB" and s.name.startswith("load ")]
    counted = seconds("DuckDB", "counted orders (a table)")
    lines += ["", f"Into DuckDB: PostgreSQL COPY ... TO csv {sum(s.seconds for s in export):.2f}s "
              f"({sum(s.rows or 0 for s in export) / 1e6:.0f} MB, {len(export)} tables), read_csv into DuckDB "
              f"tables {sum(s.seconds for s in duck_load):.2f}s",
              "", "The report: PostgreSQL (Django ORM, the app's code) and DuckDB (this bench's SQL), same rows:"]
    rows = []
    for name in ("retention_report(), call 1", "retention_report(), call 2", "manage.py retention_report",
                 "rollups_refresh (first: full build)", "rollups_refresh (nothing new)",
                 "rollup_report(predicted=False), call 1", "rollup_report(predicted=False), call 2",
                 "rollup_report() with the CLV fit", "retention_report_from_rollups()"):
        whole = steps.get(("PostgreSQL", name))
        if whole:
            rows.append([name, seconds("PostgreSQL", name), whole.queries if whole.queries is not None else "-",
                         whole.pg_cpu, "-", whole.note])
    rows.append(["(DuckDB) counted orders as a table", "-", "-", float("nan"), counted, "used by every query below"])
    app_sum = duck_sum = 0.0
    for app_name, duck_name in PAIRS:
        metric = steps.get(("PostgreSQL", app_name))
        if metric is None:
            continue
        app_seconds, duck_seconds = seconds("PostgreSQL", app_name), seconds("DuckDB", duck_name)
        app_sum += app_seconds if isinstance(app_seconds, float) else 0.0
        duck_sum += duck_seconds if isinstance(duck_seconds, float) else 0.0
        rows.append([app_name, app_seconds, metric.queries if metric.queries is not None else "-", metric.pg_cpu,
                     duck_seconds, NOTES.get(app_name, "")])
    duck_sum += counted if isinstance(counted, float) else 0.0
    rows.append(["sum of the functions / of the queries", app_sum, "-", float("nan"), duck_sum,
                 "timed-out functions left out" if any(s.note == "TIMED OUT" for s in results.steps) else ""])
    lines.append(table(["what", "PostgreSQL s", "queries", "PG CPU s", "DuckDB s", "note"], rows))
    checked = results.comparisons
    wrong = [c for c in checked if not c.ok]
    by_key = {c.metric: c for c in checked}
    lines += ["", "Headline figures, PostgreSQL / DuckDB:",
              table(["metric", "PostgreSQL", "DuckDB", "result"],
                    [[key, _show(by_key[key].app), _show(by_key[key].duck), "OK" if by_key[key].ok else "DIFFERENT"]
                     for key in HEADLINE if key in by_key])]
    verdict = "all agree" if checked and not wrong else f"{len(wrong)} DIFFER" if checked else "nothing compared"
    lines += ["", f"Checked {len(checked):,} values (every value DuckDB computes, against the report; counts exact, "
              f"money to the cent, percentages and ratios to 0.01), the command's JSON against the function's, and "
              f"predicted_clv's input customer by customer: {verdict}"]
    if wrong:
        lines.append(table(["value", "PostgreSQL", "DuckDB", "kind"],
                           [[c.metric, _show(c.app), _show(c.duck), c.kind] for c in wrong]))
    if run.report is not None:
        clv = run.report.get("clv", {})
        lines += ["", f"Predicted CLV (app only; its input is checked above): mean {clv.get('predicted_mean')} over "
                  f"{clv.get('horizon_weeks')} weeks; {clv.get('reason') or clv.get('model')}",
                  f"Report warnings: {run.report.get('warnings')}"]
    if results.problems:
        lines += ["", "Problems (each fails the run):", *(f"  - {problem}" for problem in results.problems)]
    if results.notes:
        lines += ["", "Notes:", *(f"  - {note}" for note in results.notes)]
    return "\n".join(lines)


def _show(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4f}".rstrip("0").rstrip(".")
    return str(value)


def work_mem_value(text: str) -> str:
    if not re.fullmatch(r"\d+(kB|MB|GB)?", text):
        raise argparse.ArgumentTypeError(f"not a PostgreSQL memory size: {text!r} (e.g. 32MB)")
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=1_000_000, help="orders (default 1,000,000)")
    parser.add_argument("--customers", type=int, default=200_000, help="customers (default 200,000)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--history-start", type=date.fromisoformat, default=date(2023, 1, 1))
    parser.add_argument("--history-end", type=date.fromisoformat, default=date(2025, 12, 31))
    parser.add_argument("--start", type=date.fromisoformat, default=date(2025, 1, 1), help="report period start")
    parser.add_argument("--end", type=date.fromisoformat, default=date(2025, 12, 31), help="report period end")
    parser.add_argument("--timezone", default="America/New_York", help="the shop's time zone")
    parser.add_argument("--fulfilment-cost", type=Decimal, default=Decimal("1.75"),
                        help="fulfilment cost per order given to the report (default 1.75)")
    parser.add_argument("--max-seconds", type=float, default=300.0,
                        help="time bound of every timed step (default 300); a metric past it is a failure")
    parser.add_argument("--pg-fast", action="store_true", help="PostgreSQL with CI's non-durable settings")
    parser.add_argument("--work-mem", type=work_mem_value,
                        help="PostgreSQL work_mem for the bench database (ALTER DATABASE ... SET), e.g. 32MB; "
                        "default: the server's (4MB unless DATABASE_URL's server says otherwise)")
    args = parser.parse_args(argv)
    svc.install_sigterm_handler()
    load = " ".join(f"{v:.2f}" for v in os.getloadavg())
    print(f"# load average before the run: {load}", flush=True)
    started = datetime.now(UTC)
    shape: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="comeback-bench-retention.") as tmp, \
            svc.services(durable=not args.pg_fast) as services:
        bench = RetentionBench(args, services, Path(tmp))
        run = Run(bench, args)
        failed = ""
        try:
            bench.setup(installed_days_ago=1200)
            from commerce.models import Shop

            Shop.objects.filter(pk=bench.shop_id).update(timezone=args.timezone)
            bench.work_mem()
            t0 = time.perf_counter()
            history = data.generate(shop_id=bench.shop_id, flow_ids=bench.flows(), customers=args.customers,
                                    orders=args.orders, seed=args.seed, start=args.history_start,
                                    end=args.history_end)
            shape = {**history.shape, "lines": len(history.lines), "refunds": len(history.refunds),
                     "ledger entries": len(history.ledger), "attributed orders": len(history.attributions),
                     "imported order costs": len(history.imported_costs)}
            print(f"# generated in {time.perf_counter() - t0:.1f}s: {shape}", flush=True)
            bench.load(history)
            del history
            run.app_side()
            duck = Duck(bench)
            duck.load(bench.export())
            run.duck_side(duck)
            run.compare()
        except BenchTimeout as error:
            failed = str(error)
        finally:
            bench.cleanup()
        print()
        print(output(run, args, shape, started, load))
        if failed:
            print(f"\nFAILED: {failed}", file=sys.stderr)
    results = bench.results
    ok = not failed and bool(results.comparisons) and all(c.ok for c in results.comparisons) and not results.problems
    return 0 if ok else 1


if __name__ == "__main__":
    svc.run(main)
