"""History ingest bench: ``integrations.shopify.sync.ingest_file`` against a raw PostgreSQL COPY.

1. A Shopify bulk-operation JSONL of ``--orders`` orders (``queries.BULK_ORDERS`` format: one
   line per order with its refunds inline, one line per line item with ``__parentId``) comes from
   the sandbox generator CLI, ``python -m sandbox.shopify.generate``, or, while that
   does not exist, from bench/bulkgen.py (same format).  ``--jsonl FILE`` reuses a file.
2. The file is served over HTTP on 127.0.0.1 (``http.server`` in a thread), as Shopify serves
   a bulk result from a URL.
3. Every run starts from a fresh database (a clone of a migrated template holding one installed
   shop) and reads the file from that URL, streaming:

   * ``parse only``: HTTP + ``json.loads`` per line + grouping children under their order
     (``sync.jsonl_lines`` + ``sync.parents_with_children``) + flattening into rows; no
     database.  The floor under both paths below.
   * ``ingest_file b=N``: the app's path, ``sync.ingest_file(run=..., url=..., batch_size=N)``:
     the same reading and grouping, then ``normalise.order_from_graphql`` and
     ``commerce.orders_upsert`` per batch of N orders (one transaction each; customer stubs,
     lines, refunds and refund lines, progress saved on the run), then customers' first-order
     dates once at the end (``--sql-top N`` lists the statements that took longest).
   * ``COPY app tables``: the same reading and grouping, the same rows flattened by hand (ids
     assigned here, amounts and dates passed as text for PostgreSQL to parse) and written with
     psycopg 3 ``cursor.copy()`` into the app's own tables (all their indexes, unique
     constraints and foreign keys), one transaction per ``--copy-chunk`` orders, then one
     set-based UPDATE for customers' first-order dates.  Insert-only: no upsert, no staleness
     check, no product/variant lookup (none exist in a fresh database anyway).  Model columns
     this flattening does not know (added to the app later) get the model field's default.
   * ``COPY plain tables``: the same, into plain tables of the same columns without any index or
     constraint: the cost of the indexes and constraints is the difference.

   After each run the rows are counted against the file, and totals are compared across runs.

``.venv/bin/python bench/history_ingest.py [--orders 100000] [--batch-sizes 500,2000] [--seed 1]``
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench import services as svc  # noqa: E402
from bench.report import table  # noqa: E402

SHOP_DOMAIN = "bench-store.myshopify.com"
SANDBOX_GENERATOR = "sandbox.shopify.generate"
TABLES = ("commerce_customer", "commerce_order", "commerce_orderline", "commerce_refund", "commerce_refundline")


# --- the file and its server -------------------------------------------------------------------

class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        return


@dataclass
class FileServer:
    directory: Path
    server: ThreadingHTTPServer | None = None
    thread: threading.Thread | None = None

    def __enter__(self) -> FileServer:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), partial(QuietHandler, directory=str(self.directory)))
        self.thread = threading.Thread(target=self.server.serve_forever, name="jsonl-server", daemon=True)
        self.thread.start()
        return self

    def url(self, name: str) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/{name}"

    def __exit__(self, *exc: object) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
        if self.thread is not None:
            self.thread.join(timeout=10)


def generate(out: Path, *, orders: int, seed: int) -> str:
    """Write the JSONL; return which generator made it."""
    started = time.perf_counter()
    if importlib.util.find_spec(SANDBOX_GENERATOR) is not None:
        command = [sys.executable, "-m", SANDBOX_GENERATOR, "--orders", str(orders), "--seed", str(seed),
                   "--out", str(out)]
        subprocess.run(command, cwd=REPO, check=True, timeout=1800)
        which = f"python -m {SANDBOX_GENERATOR} --orders {orders} --seed {seed}"
    else:
        from bench import bulkgen

        bulkgen.write(out, orders=orders, seed=seed)
        which = f"bench/bulkgen.py --orders {orders} --seed {seed} (the sandbox generator CLI was not there)"
    print(f"# generated {out.stat().st_size / 1e6:,.1f} MB in {time.perf_counter() - started:.1f}s: {which}",
          flush=True)
    return which


# --- flattening (the COPY path's own normaliser) -------------------------------------------------

_FULFILLMENT = {"fulfilled": "fulfilled", "partial": "partially_fulfilled", "partially_fulfilled":
                "partially_fulfilled", "restocked": "restocked", "unfulfilled": "unfulfilled", "": "unfulfilled",
                "none": "unfulfilled"}
_FINANCIAL = {"pending", "authorized", "partially_paid", "paid", "partially_refunded", "refunded", "voided",
              "expired"}


def _id(value: Any) -> str:
    text = str(value or "")
    return text.rsplit("/", 1)[-1] if text.startswith("gid://") else text


def _amount(money: Any) -> str:
    return str(((money or {}).get("shopMoney") or {}).get("amount") or "0")


def _currency(money: Any, default: str) -> str:
    return str(((money or {}).get("shopMoney") or {}).get("currencyCode") or default)


def _nodes(connection: Any) -> list[dict[str, Any]]:
    if not connection:
        return []
    if isinstance(connection, list):
        return connection
    if "nodes" in connection:
        return list(connection["nodes"])
    return [edge["node"] for edge in connection.get("edges", [])]


@dataclass
class Rows:
    """Rows of one chunk, ready for COPY, with ids assigned here (the tables start empty)."""

    customers: list[tuple[Any, ...]] = field(default_factory=list)
    orders: list[tuple[Any, ...]] = field(default_factory=list)
    lines: list[tuple[Any, ...]] = field(default_factory=list)
    refunds: list[tuple[Any, ...]] = field(default_factory=list)
    refund_lines: list[tuple[Any, ...]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.orders)


CUSTOMER_COLUMNS = ("id", "shop_id", "created_at", "updated_at", "platform_id", "platform_updated_at", "first_name",
                    "last_name", "email", "phone", "birthday", "locale", "tags", "email_consent", "sms_consent",
                    "first_order_at", "platform_created_at", "is_deleted", "redacted_at")
ORDER_COLUMNS = ("id", "shop_id", "created_at", "updated_at", "platform_id", "platform_updated_at", "customer_id",
                 "customer_platform_id", "name", "email", "phone", "locale", "financial_status",
                 "fulfillment_status", "currency", "subtotal", "total_discounts", "total_tax", "total_shipping",
                 "total", "total_refunded", "discount_codes", "is_test", "processed_at", "cancelled_at",
                 "cancel_reason", "platform_created_at")
LINE_COLUMNS = ("id", "shop_id", "created_at", "updated_at", "order_id", "platform_id", "product_id", "variant_id",
                "product_platform_id", "variant_platform_id", "title", "sku", "quantity", "currency", "unit_price",
                "total_discount")
REFUND_COLUMNS = ("id", "shop_id", "created_at", "updated_at", "order_id", "platform_id", "currency", "amount",
                  "shipping_amount", "note", "processed_at")
REFUND_LINE_COLUMNS = ("id", "shop_id", "created_at", "updated_at", "refund_id", "order_line_id",
                       "line_platform_id", "quantity", "currency", "subtotal")


class Flattener:
    """Order nodes (children attached) -> rows for the five tables, the way orders_upsert maps them."""

    def __init__(self, shop_id: int) -> None:
        self.shop_id = shop_id
        self.now = datetime.now(UTC).isoformat()
        self.customers: dict[str, int] = {}
        self.next_id = {"order": 0, "line": 0, "refund": 0, "refund_line": 0}

    def _next(self, kind: str) -> int:
        self.next_id[kind] += 1
        return self.next_id[kind]

    def add(self, node: dict[str, Any], rows: Rows) -> None:
        shop, now = self.shop_id, self.now
        order_pid = _id(node["id"])
        currency = node.get("currencyCode") or _currency(node.get("totalPriceSet"), "")
        customer_pid = _id((node.get("customer") or {}).get("id"))
        customer_id = None
        if customer_pid:
            customer_id = self.customers.get(customer_pid)
            if customer_id is None:
                customer_id = self.customers[customer_pid] = len(self.customers) + 1
                rows.customers.append((customer_id, shop, now, now, customer_pid, None, "", "", "", "", None, "",
                                       "[]", "not_subscribed", "not_subscribed", None, None, False, None))
        order_id = self._next("order")
        financial = str(node.get("displayFinancialStatus") or "").lower()
        rows.orders.append((
            order_id, shop, now, now, order_pid, node.get("updatedAt"), customer_id, customer_pid,
            node.get("name") or "", (node.get("email") or "").strip().lower(), node.get("phone") or "",
            node.get("customerLocale") or "", financial if financial in _FINANCIAL else "unknown",
            _FULFILLMENT.get(str(node.get("displayFulfillmentStatus") or "").lower(), "other"), currency,
            _amount(node.get("subtotalPriceSet")), _amount(node.get("totalDiscountsSet")),
            _amount(node.get("totalTaxSet")), _amount(node.get("totalShippingPriceSet")),
            _amount(node.get("totalPriceSet")), _amount(node.get("totalRefundedSet")),
            json.dumps([str(c) for c in node.get("discountCodes") or ()]), bool(node.get("test")),
            node.get("processedAt") or node.get("createdAt"), node.get("cancelledAt"),
            str(node.get("cancelReason") or "").lower(), node.get("createdAt"),
        ))
        line_ids: dict[str, int] = {}
        for line in _nodes(node.get("lineItems")):
            line_id = line_ids[_id(line["id"])] = self._next("line")
            rows.lines.append((
                line_id, shop, now, now, order_id, _id(line["id"]), None, None,
                _id((line.get("product") or {}).get("id")), _id((line.get("variant") or {}).get("id")),
                line.get("title") or "", line.get("sku") or "", int(line.get("quantity") or 0), currency,
                _amount(line.get("originalUnitPriceSet")), _amount(line.get("totalDiscountSet")),
            ))
        for refund in node.get("refunds") or ():
            refund_id = self._next("refund")
            refund_currency = _currency(refund.get("totalRefundedSet"), currency)
            shipping = sum((Decimal(_amount(s.get("subtotalAmountSet"))) for s in
                            _nodes(refund.get("refundShippingLines"))), Decimal(0))
            rows.refunds.append((refund_id, shop, now, now, order_id, _id(refund["id"]), refund_currency,
                                 _amount(refund.get("totalRefundedSet")), str(shipping), refund.get("note") or "",
                                 refund.get("createdAt")))
            for item in _nodes(refund.get("refundLineItems")):
                line_pid = _id((item.get("lineItem") or {}).get("id"))
                rows.refund_lines.append((self._next("refund_line"), shop, now, now, refund_id,
                                          line_ids.get(line_pid), line_pid, int(item.get("quantity") or 0),
                                          refund_currency, _amount(item.get("subtotalSet"))))


def order_nodes(url: str) -> Iterator[dict[str, Any]]:
    """The app's own streaming reader and grouping: HTTP, json.loads per line, children attached."""
    from integrations.shopify import sync

    for _, node in sync.parents_with_children(sync.jsonl_lines(url)):
        yield node


# --- runs ---------------------------------------------------------------------------------------

@dataclass
class Result:
    name: str
    seconds: float
    orders: int
    lines: int
    sql_seconds: float = float("nan")
    queries: int = 0
    pg_cpu: float = float("nan")
    own_cpu: float = float("nan")
    counts: dict[str, int] = field(default_factory=dict)
    totals: tuple[str, ...] = ()
    note: str = ""


@dataclass
class Expected:
    orders: int = 0
    lines: int = 0
    refunds: int = 0
    refund_lines: int = 0
    customers: int = 0

    def as_counts(self) -> dict[str, int]:
        return {"commerce_customer": self.customers, "commerce_order": self.orders,
                "commerce_orderline": self.lines, "commerce_refund": self.refunds,
                "commerce_refundline": self.refund_lines}


class Bench:
    def __init__(self, args: argparse.Namespace, services: svc.Services, work: Path) -> None:
        self.args = args
        self.services = services
        self.work = work
        self.tag = f"{os.getpid()}"
        self.template = f"comeback_bench_hist_tpl_{self.tag}"
        self.databases: list[str] = []
        self.shop_id = 0
        self.secret_key = secrets.token_urlsafe(50)

    def setup_django(self) -> None:
        url = svc.create_database(self.services.database_url, self.template)
        self.databases.append(self.template)
        os.environ.update({
            "DJANGO_SETTINGS_MODULE": "retention_app.settings.base", "DEBUG": "0", "SECRET_KEY": self.secret_key,
            "ALLOWED_HOSTS": "127.0.0.1", "DATABASE_URL": url, "CELERY_BROKER_URL": self.services.broker_url,
            "REDIS_URL": self.services.redis_url, "VAR_DIR": str(self.work / "var"), "LOG_LEVEL": "WARNING",
        })
        import django

        django.setup()
        from django.core.management import call_command
        from django.utils import timezone

        from commerce.models import Platform, Shop, ShopStatus

        call_command("migrate", interactive=False, verbosity=0)
        shop = Shop.objects.create(
            platform=Platform.SHOPIFY, domain=SHOP_DOMAIN, name="Bench store", status=ShopStatus.INSTALLED,
            access_token="shpat_bench_token", scopes="read_orders", installed_at=timezone.now(),
        )
        self.shop_id = shop.pk
        self.use(self.template)

    def use(self, name: str) -> None:
        """Point Django's connection at database ``name`` (closing the current one)."""
        from django.db import connections

        connections.close_all()
        connections["default"].settings_dict["NAME"] = name

    def fresh(self, label: str) -> str:
        """A new database cloned from the template (nobody may be connected to it); Django now uses it."""
        self.use(self.template)  # closes Django's connection; the template is not opened again
        name = f"comeback_bench_hist_{label}_{self.tag}"
        svc.create_database(self.services.database_url, name, template=self.template)
        self.databases.append(name)
        self.use(name)
        return name

    def url_of(self, name: str) -> str:
        return svc.database_url_named(self.services.database_url, name)

    def measure(self, run: Callable[[], None]) -> tuple[float, float, float]:
        pg_before, cpu_before = svc.tree_cpu_seconds(self.services.pg_pid), svc.cpu_self()
        started = time.perf_counter()
        run()
        seconds = time.perf_counter() - started
        pg = svc.tree_cpu_seconds(self.services.pg_pid) - pg_before if self.services.pg_pid else float("nan")
        return seconds, pg, svc.cpu_self() - cpu_before

    # the runs ---------------------------------------------------------------------------------

    def parse_only(self, url: str) -> tuple[Result, Expected]:
        expected = Expected()
        flattener = Flattener(self.shop_id)

        def run() -> None:
            rows = Rows()
            for node in order_nodes(url):
                flattener.add(node, rows)
                if len(rows) >= 5000:
                    self._tally(expected, rows)
                    rows = Rows()
            self._tally(expected, rows)

        seconds, _, own = self.measure(run)
        return Result("parse only (no DB)", seconds, expected.orders, expected.lines, own_cpu=own,
                      note="HTTP + json.loads + grouping + flattening"), expected

    @staticmethod
    def _tally(expected: Expected, rows: Rows) -> None:
        expected.orders += len(rows.orders)
        expected.lines += len(rows.lines)
        expected.refunds += len(rows.refunds)
        expected.refund_lines += len(rows.refund_lines)
        expected.customers += len(rows.customers)

    def ingest(self, url: str, batch_size: int) -> Result:
        from django.db import connection

        from integrations.models import SyncKind, SyncRun, SyncStatus
        from integrations.shopify import sync

        self.fresh(f"orm{batch_size}")
        run = SyncRun.objects.create(
            shop_id=self.shop_id, kind=SyncKind.HISTORY, status=SyncStatus.RUNNING, resource="orders",
            progress={"orders": {"objects": 0, "done": False}},
        )
        run = SyncRun.objects.select_related("shop").get(pk=run.pk)
        sql = {"seconds": 0.0, "queries": 0}
        shapes: dict[str, list[float]] = {}  # statement (first words) -> [seconds, count, worst]
        objects = 0

        def timed(execute: Callable[..., Any], sql_text: str, params: Any, many: bool, context: Any) -> Any:
            started = time.perf_counter()
            try:
                return execute(sql_text, params, many, context)
            finally:
                took = time.perf_counter() - started
                sql["seconds"] += took
                sql["queries"] += 1
                if self.args.sql_top:
                    shape = shapes.setdefault(" ".join(sql_text.split())[:110], [0.0, 0, 0.0])
                    shape[0] += took
                    shape[1] += 1
                    shape[2] = max(shape[2], took)

        def go() -> None:
            nonlocal objects
            with connection.execute_wrapper(timed):
                objects = sync.ingest_file(run=run, url=url, batch_size=batch_size)

        if self.args.profile:  # slower under the profiler: the timings of this run are not comparable
            import cProfile
            import pstats

            profiler = cProfile.Profile()
            seconds, pg, own = self.measure(partial(profiler.runcall, go))
            print(f"# cProfile of ingest_file b={batch_size} (top 30 by own time):")
            pstats.Stats(profiler, stream=sys.stdout).sort_stats("tottime").print_stats(30)
            pstats.Stats(profiler, stream=sys.stdout).sort_stats("cumulative").print_stats(40)
        else:
            seconds, pg, own = self.measure(go)
        if self.args.sql_top:
            top = sorted(shapes.items(), key=lambda item: -item[1][0])[: self.args.sql_top]
            print(f"# ingest_file b={batch_size}: statements by total time (SQL wait, client side included):")
            for text, (total, count, worst) in top:
                print(f"#   {total:7.2f}s {int(count):6,}x  worst {1000 * worst:8.1f} ms  {text}")
        counts, totals = self.verify()
        return Result(f"ingest_file b={batch_size}", seconds, objects, counts["commerce_orderline"],
                      sql_seconds=sql["seconds"], queries=int(sql["queries"]), pg_cpu=pg, own_cpu=own,
                      counts=counts, totals=totals, note="normalise + orders_upsert per batch")

    def copy(self, url: str, *, plain: bool) -> Result:
        import psycopg
        from psycopg import sql

        label = "plain" if plain else "copy"
        name = self.fresh(label)
        self.use(self.template)  # Django stays off this database; psycopg does the work
        chunk_size = self.args.copy_chunk
        flattener = Flattener(self.shop_id)
        targets = {table: (f"bench_{table}" if plain else table) for table in TABLES}
        with psycopg.connect(self.url_of(name), autocommit=True) as conn:
            if plain:
                for table, target in targets.items():
                    conn.execute(sql.SQL("CREATE TABLE {} AS SELECT * FROM {} WITH NO DATA").format(
                        sql.Identifier(target), sql.Identifier(table)))
        columns = {
            "commerce_customer": CUSTOMER_COLUMNS, "commerce_order": ORDER_COLUMNS,
            "commerce_orderline": LINE_COLUMNS, "commerce_refund": REFUND_COLUMNS,
            "commerce_refundline": REFUND_LINE_COLUMNS,
        }
        extras = self.model_defaults(columns)
        queries = 0

        def write(conn: psycopg.Connection[Any], rows: Rows) -> None:
            nonlocal queries
            batches = {"commerce_customer": rows.customers, "commerce_order": rows.orders,
                       "commerce_orderline": rows.lines, "commerce_refund": rows.refunds,
                       "commerce_refundline": rows.refund_lines}
            with conn.transaction(), conn.cursor() as cursor:
                for table in TABLES:
                    if not batches[table]:
                        continue
                    names, extra = [*columns[table], *extras[table]], tuple(extras[table].values())
                    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
                        sql.Identifier(targets[table]), sql.SQL(", ").join(map(sql.Identifier, names)))
                    with cursor.copy(statement) as copy:
                        for row in batches[table]:
                            copy.write_row(row + extra)
                    queries += 1

        from commerce.selectors import COUNTED_ORDER_STATUSES

        def go() -> None:
            nonlocal queries
            with psycopg.connect(self.url_of(name)) as conn:
                rows = Rows()
                for node in order_nodes(url):
                    flattener.add(node, rows)
                    if len(rows) >= chunk_size:
                        write(conn, rows)
                        rows = Rows()
                write(conn, rows)
                with conn.transaction():
                    # The app's counted-order rule (commerce.selectors.counted_order_q), written out:
                    # paid-like, not cancelled, not a test, dated, not refunded in full.
                    conn.execute(sql.SQL(
                        "UPDATE {c} SET first_order_at = f.first FROM (SELECT customer_id, min(processed_at) AS first"
                        " FROM {o} WHERE financial_status = ANY(%s) AND cancelled_at IS NULL AND NOT is_test"
                        " AND processed_at IS NOT NULL AND NOT (total > 0 AND total_refunded >= total)"
                        " AND customer_id IS NOT NULL GROUP BY customer_id) f"
                        " WHERE {c}.id = f.customer_id"
                    ).format(c=sql.Identifier(targets["commerce_customer"]),
                             o=sql.Identifier(targets["commerce_order"])),
                        [[status.value for status in COUNTED_ORDER_STATUSES]])
                    queries += 1
                    if not plain:
                        for table in TABLES:
                            conn.execute(sql.SQL(
                                "SELECT setval(pg_get_serial_sequence({t}, 'id'), coalesce(max(id), 1)) FROM {i}"
                            ).format(t=sql.Literal(table), i=sql.Identifier(table)))
                            queries += 1

        seconds, pg, own = self.measure(go)
        counts, totals = self.verify(database=name, prefix="bench_" if plain else "")
        title = "COPY plain tables" if plain else "COPY app tables"
        note = (f"same columns, no index/constraint; {chunk_size:,} orders per transaction" if plain
                else f"all indexes/constraints/FKs; {chunk_size:,} orders per transaction")
        return Result(title, seconds, counts["commerce_order"], counts["commerce_orderline"], queries=queries,
                      pg_cpu=pg, own_cpu=own, counts=counts, totals=totals, note=note)

    @staticmethod
    def model_defaults(columns: dict[str, tuple[str, ...]]) -> dict[str, dict[str, Any]]:
        """Per table, the model's columns the flattener does not fill, with the model's default.

        So a field the app adds later (say a NOT NULL ``CharField(blank=True)``) does not break
        the COPY; stubs get the same value ``bulk_create`` would give them."""
        from django.apps import apps

        models = {str(model._meta.db_table): model for model in apps.get_models()}
        extras: dict[str, dict[str, Any]] = {}
        for name, known in columns.items():
            extras[name] = {}
            for model_field in models[name]._meta.concrete_fields:
                if model_field.column in known:
                    continue
                value = model_field.get_default()
                extras[name][str(model_field.column)] = json.dumps(value) if isinstance(value, dict | list) else value
        return extras

    def verify(self, database: str | None = None, prefix: str = "") -> tuple[dict[str, int], tuple[str, ...]]:
        """Row counts per table and a few totals (to compare the runs with each other)."""
        import psycopg
        from django.db import connection

        name = database or str(connection.settings_dict["NAME"])
        with psycopg.connect(self.url_of(name)) as conn:
            counts = {}
            for table in TABLES:
                row = conn.execute(f'SELECT count(*) FROM "{prefix}{table}"').fetchone()
                counts[table] = int(row[0]) if row else -1
            totals = conn.execute(
                f'SELECT (SELECT sum(total) FROM "{prefix}commerce_order"),'
                f' (SELECT sum(quantity) FROM "{prefix}commerce_orderline"),'
                f' (SELECT sum(amount) FROM "{prefix}commerce_refund"),'
                f' (SELECT count(*) FROM "{prefix}commerce_refundline" WHERE order_line_id IS NOT NULL),'
                f' (SELECT count(*) FROM "{prefix}commerce_customer" WHERE first_order_at IS NOT NULL)'
            ).fetchone()
        return counts, tuple(str(v) for v in totals or ())

    def cleanup(self) -> None:
        if "django" in sys.modules:
            from django.db import connections

            connections.close_all()
        for name in reversed(self.databases):
            svc.drop_database(self.services.database_url, name)


def report(args: argparse.Namespace, bench: Bench, source: str, size: int, results: list[Result],
           expected: Expected) -> str:
    head = [
        f"History ingest bench, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} CPUs; "
        f"{expected.orders:,} orders / {expected.lines:,} line items / {expected.refunds:,} refunds / "
        f"{expected.customers:,} customers; JSONL {size / 1e6:,.1f} MB over HTTP on 127.0.0.1; "
        f"PostgreSQL {bench.services.pg_settings}",
        f"file: {source}",
    ]
    rows = []
    for r in results:
        rows.append([r.name, r.seconds, r.orders / r.seconds, r.lines / r.seconds, r.sql_seconds,
                     r.queries if r.queries else "-", r.own_cpu, r.pg_cpu, r.note])
    out = head + ["", table(["run", "seconds", "orders/s", "lines/s", "SQL wait s", "statements", "bench CPU s",
                             "PG CPU s", "what it includes"], rows)]
    want = expected.as_counts()
    checks = []
    reference = next((r.totals for r in results if r.totals), ())
    for r in results:
        if not r.counts:
            continue
        ok = r.counts == want
        same = r.totals == reference
        checks.append([r.name, *(f"{r.counts[t]:,}" for t in TABLES), "/".join(r.totals),
                       "OK" if ok and same else ("COUNTS DIFFER" if not ok else "TOTALS DIFFER")])
    out += ["", "Counts after each run (expected from the file: "
            + ", ".join(f"{t.removeprefix('commerce_')} {want[t]:,}" for t in TABLES) + "):",
            table(["run", "customers", "orders", "lines", "refunds", "refund lines",
                   "sum(total)/sum(qty)/sum(refunds)/linked refund lines/first orders", "result"], checks)]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--batch-sizes", default="", help="ingest_file batch sizes, comma-separated "
                        "(default: the app's SYNC_BATCH_SIZE, then 2000)")
    parser.add_argument("--copy-chunk", type=int, default=5000, help="orders per COPY transaction (default 5000)")
    parser.add_argument("--jsonl", default="", help="use this bulk JSONL instead of generating one")
    parser.add_argument("--no-plain", action="store_true", help="skip the COPY into plain tables")
    parser.add_argument("--sql-top", type=int, default=0, metavar="N",
                        help="after each ingest_file run, print the N statements that took the most time")
    parser.add_argument("--profile", action="store_true",
                        help="run ingest_file under cProfile and print where its time goes (slows it down)")
    parser.add_argument("--pg-fast", action="store_true",
                        help="start PostgreSQL with CI's settings (fsync/synchronous_commit off)")
    args = parser.parse_args(argv)
    svc.install_sigterm_handler()
    print(f"# load average before the run: {' '.join(f'{v:.2f}' for v in os.getloadavg())}", flush=True)
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="comeback-bench-hist.") as tmp, \
            svc.services(durable=not args.pg_fast) as services:
        work = Path(tmp)
        bench = Bench(args, services, work)
        try:
            if args.jsonl:
                source_path = Path(args.jsonl).resolve()
                (work / "orders.jsonl").symlink_to(source_path)
                source = f"{source_path} (given)"
            else:
                source = generate(work / "orders.jsonl", orders=args.orders, seed=args.seed)
            size = (work / "orders.jsonl").stat().st_size
            bench.setup_django()
            from django.conf import settings

            sizes = [int(b) for b in args.batch_sizes.split(",") if b.strip()]
            sizes = sizes or list(dict.fromkeys([int(settings.SYNC_BATCH_SIZE), 2000]))
            with FileServer(work) as files:
                url = files.url("orders.jsonl")
                parsed, expected = bench.parse_only(url)
                results.append(parsed)
                print(f"#   {parsed.name}: {parsed.seconds:.1f}s", flush=True)
                for batch_size in sizes:
                    results.append(bench.ingest(url, batch_size))
                    print(f"#   {results[-1].name}: {results[-1].seconds:.1f}s", flush=True)
                results.append(bench.copy(url, plain=False))
                print(f"#   {results[-1].name}: {results[-1].seconds:.1f}s", flush=True)
                if not args.no_plain:
                    results.append(bench.copy(url, plain=True))
                    print(f"#   {results[-1].name}: {results[-1].seconds:.1f}s", flush=True)
        finally:
            svc.shield_cleanup()
            bench.cleanup()
        print()
        print(report(args, bench, source, size, results, expected))
    ok = all(r.counts == expected.as_counts() for r in results if r.counts)
    reference = next((r.totals for r in results if r.totals), ())
    ok = ok and all(r.totals == reference for r in results if r.totals)
    return 0 if ok else 1


if __name__ == "__main__":
    svc.run(main)
