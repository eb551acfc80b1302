"""``import_orders`` bench: rows/s of ``analytics.services.importer.orders_import`` on PostgreSQL.

1. A CSV of ``--rows`` rows per size (``--sizes 200000,1000000``) is written here, seeded:
   customers repeat (one customer per 5 rows on average; 1 row in 20 a guest keyed by email), 200
   product names, a cost on half the rows, a refund on 1 row in 12, times in several formats
   (date only, local, with offset).  Every 25,000th row is bad (a date that is no date) and every
   50,000th repeats an earlier row exactly: both must be reported and the rest imported.
2. Each size runs on a fresh database (a clone of a migrated template): the first import (the
   timed figure: rows/s), then the same file again (idempotent: every row ``unchanged``, nothing
   written), then the checks: orders, customers, lines, products, refunds and costs counted, and
   sum(total), sum(total_refunded), sum(refund amounts), sum(cost) and the customers with a first
   order date compared with what the bench computed from the file itself.
3. ``--sizes`` with several values shows whether the time grows linearly with the rows.

``.venv/bin/python bench/import_orders.py [--sizes 200000,1000000] [--batch-size 2000] [--pg-fast]``
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench import services as svc  # noqa: E402
from bench.report import table  # noqa: E402

DOMAIN = "old-store.example"
HEADER = "order_id,customer_id,email,processed_at,total,currency,cost,refunded,product\n"
BAD_EVERY = 25_000
REPEAT_EVERY = 50_000


@dataclass
class Expected:
    rows: int = 0
    bad: int = 0
    repeats: int = 0
    orders: int = 0
    customers: int = 0
    lines: int = 0
    products: int = 0
    refunds: int = 0
    costs: int = 0
    total: Decimal = Decimal(0)
    refunded: Decimal = Decimal(0)
    cost: Decimal = Decimal(0)

    def as_row(self) -> tuple:
        return (self.orders, self.customers, self.lines, self.products, self.refunds, self.costs,
                self.total, self.refunded, self.refunded, self.cost, self.customers)


def write_csv(path: Path, *, rows: int, seed: int) -> Expected:
    """The file, and what importing it must give (computed here, not read back from the app)."""
    rng = random.Random(seed)
    expected = Expected()
    customers: set[str] = set()
    products: set[str] = set()
    start = datetime(2024, 1, 1, tzinfo=UTC)
    previous = ""
    with path.open("w", encoding="utf-8", newline="") as file:
        file.write(HEADER)
        for number in range(1, rows + 1):
            expected.rows += 1
            if number % REPEAT_EVERY == 0 and previous:
                file.write(previous)
                expected.repeats += 1
                continue
            if number % BAD_EVERY == 0:
                file.write(f"B{number},C1,a@example.com,not-a-date,10,EUR,,,\n")
                expected.bad += 1
                continue
            customer = rng.randrange(max(1, rows // 5))
            guest = customer % 20 == 0
            customer_id = "" if guest else f"C{customer}"
            email = f"shopper{customer}@example.com"
            moment = start + timedelta(seconds=rng.randrange(2 * 365 * 86400))
            kind = number % 3
            when = (moment.strftime("%Y-%m-%dT%H:%M:%SZ") if kind == 0 else
                    moment.strftime("%Y-%m-%dT%H:%M:%S+00:00") if kind == 1 else moment.strftime("%Y-%m-%d %H:%M:%S"))
            if kind == 2:  # local time in the shop's zone (UTC here): the same instant
                pass
            total = Decimal(rng.randrange(100, 50_000)) / 100
            cost = Decimal(rng.randrange(0, int(total * 50) + 1)) / 100 if number % 2 else None
            refunded = (total / 2).quantize(Decimal("0.01")) if number % 12 == 0 else None
            product = f"Product {rng.randrange(200)}" if number % 10 else ""
            previous = (f"{number},{customer_id},{email},{when},{total},EUR,{'' if cost is None else cost},"
                        f"{'' if refunded is None else refunded},{product}\n")
            file.write(previous)
            expected.orders += 1
            customers.add(customer_id or f"email:{email}")
            expected.total += total
            if product:
                expected.lines += 1
                products.add(product)
            if cost is not None:
                expected.costs += 1
                expected.cost += cost
            if refunded:
                expected.refunds += 1
                expected.refunded += refunded
    expected.customers = len(customers)
    expected.products = len(products)
    return expected


def stored(shop_id: int) -> tuple:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT (SELECT count(*) FROM commerce_order WHERE shop_id = %(s)s),
                      (SELECT count(*) FROM commerce_customer WHERE shop_id = %(s)s),
                      (SELECT count(*) FROM commerce_orderline WHERE shop_id = %(s)s),
                      (SELECT count(*) FROM commerce_product WHERE shop_id = %(s)s),
                      (SELECT count(*) FROM commerce_refund WHERE shop_id = %(s)s),
                      (SELECT count(*) FROM analytics_importedordercost WHERE shop_id = %(s)s),
                      (SELECT coalesce(sum(total), 0) FROM commerce_order WHERE shop_id = %(s)s),
                      (SELECT coalesce(sum(total_refunded), 0) FROM commerce_order WHERE shop_id = %(s)s),
                      (SELECT coalesce(sum(amount), 0) FROM commerce_refund WHERE shop_id = %(s)s),
                      (SELECT coalesce(sum(cost), 0) FROM analytics_importedordercost WHERE shop_id = %(s)s),
                      (SELECT count(*) FROM commerce_customer WHERE shop_id = %(s)s AND first_order_at IS NOT NULL)""",
            {"s": shop_id})
        return tuple(cursor.fetchone())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="200000,1000000", help="rows per file, comma-separated")
    parser.add_argument("--batch-size", type=int, default=0, help="rows per transaction (default: the app's)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--pg-fast", action="store_true", help="PostgreSQL with CI's settings (fsync off)")
    args = parser.parse_args(argv)
    sizes = [int(size) for size in args.sizes.split(",") if size.strip()]
    svc.install_sigterm_handler()
    load = " ".join(f"{v:.2f}" for v in os.getloadavg())
    print(f"# load average before the run: {load}", flush=True)
    results, ok = [], True
    tag = str(os.getpid())
    template = f"comeback_bench_import_tpl_{tag}"
    databases = [template]
    with tempfile.TemporaryDirectory(prefix="comeback-bench-import.") as tmp, \
            svc.services(durable=not args.pg_fast) as services:
        try:
            url = svc.create_database(services.database_url, template)
            os.environ.update({
                "DJANGO_SETTINGS_MODULE": "retention_app.settings.base", "DEBUG": "0",
                "SECRET_KEY": secrets.token_urlsafe(50), "ALLOWED_HOSTS": "127.0.0.1", "DATABASE_URL": url,
                "CELERY_BROKER_URL": services.broker_url, "REDIS_URL": services.redis_url,
                "VAR_DIR": str(Path(tmp) / "var"), "LOG_LEVEL": "WARNING",
            })
            import django

            django.setup()
            from django.core.management import call_command
            from django.db import connections

            from analytics.services import importer

            call_command("migrate", interactive=False, verbosity=0)
            batch_size = args.batch_size or importer.STAGED_BATCH_SIZE
            for size in sizes:
                path = Path(tmp) / f"orders-{size}.csv"
                began = time.perf_counter()
                expected = write_csv(path, rows=size, seed=args.seed)
                print(f"#   {size:,} rows written in {time.perf_counter() - began:.1f}s "
                      f"({path.stat().st_size / 1e6:.1f} MB)", flush=True)
                connections.close_all()
                connections["default"].settings_dict["NAME"] = template
                name = f"comeback_bench_import_{size}_{tag}"
                svc.create_database(services.database_url, name, template=template)
                databases.append(name)
                connections["default"].settings_dict["NAME"] = name
                timings = []
                for attempt in ("first", "again"):
                    load_now = os.getloadavg()[0]
                    began = time.perf_counter()
                    with path.open(encoding="utf-8", newline="") as file:
                        result = importer.orders_import(domain=DOMAIN, file=file, batch_size=batch_size)
                    seconds = time.perf_counter() - began
                    timings.append(seconds)
                    assert result.shop is not None
                    good = expected.rows - expected.bad - expected.repeats
                    counts_ok = (result.error_count == expected.bad and result.duplicates == expected.repeats
                                 and result.rows == expected.rows)
                    if attempt == "first":
                        counts_ok = counts_ok and result.created == good and result.unchanged == 0
                    else:
                        counts_ok = counts_ok and result.unchanged == good and result.created == result.updated == 0
                    got = stored(result.shop.pk)
                    check = "OK" if counts_ok and got == expected.as_row() else "FAILED"
                    ok = ok and check == "OK"
                    results.append([f"{size:,}", attempt, f"{seconds:.1f}", f"{size / seconds:,.0f}",
                                    f"{load_now:.2f}", f"{result.created:,}", f"{result.unchanged:,}",
                                    f"{result.error_count}/{result.duplicates}", check])
                    print(f"#   {size:,} {attempt}: {seconds:.1f}s, {size / seconds:,.0f} rows/s, {check}", flush=True)
                    if check != "OK":
                        print(f"#     expected {expected.as_row()}\n#     stored   {got}\n#     result {result}"[:2000])
                path.unlink()
        finally:
            svc.shield_cleanup()
            if "django" in sys.modules:
                from django.db import connections as django_connections

                django_connections.close_all()
            for name in databases:
                svc.drop_database(services.database_url, name)
        print()
        print(f"import_orders bench, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} CPUs, "
              f"PostgreSQL {services.pg_settings or '(given server)'}; batch {batch_size} rows; "
              f"load average before: {load}")
        print(table(["rows", "import", "seconds", "rows/s", "load", "created", "unchanged", "bad/repeated",
                     "checks"], results))
    return 0 if ok else 1


if __name__ == "__main__":
    svc.run(main)
