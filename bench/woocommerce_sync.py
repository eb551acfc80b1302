"""WooCommerce history sync bench: the app's sync through the official ``woocommerce`` client over
HTTP, against the WooCommerce sandbox in its own process.

1. ``python -m sandbox.woocommerce`` serves one store seeded from the shared generator
   (``--customers`` / ``--orders`` / ``--products``, ``--seed``, a fixed data anchor) on 127.0.0.1;
   its REST API v3 checks OAuth 1.0a signatures over plain http as WooCommerce does.  A REST key
   comes from the sandbox's control API (what wc-auth would have posted).
2. A fresh PostgreSQL database is migrated and holds one connected WooCommerce shop with that key.
3. ``adapter_for("woocommerce").history_sync_start`` / ``history_sync_run``: customers, products
   (variable ones with their ``/variations``), orders with lines, coupon lines and refunds (their
   lines from ``/orders/<id>/refunds``), ``per_page=100`` pages, one set-based upsert per page.
   Timed per resource, with the HTTP requests by endpoint (and the time spent waiting on them) and
   the SQL statements Django sent, per page.
4. Checks: the run completed; customers, products, variants, orders, order lines, refunds, refund
   lines and the orders' total equal the store's own (the same seeded store rebuilt in this
   process, and the REST API's ``X-WP-Total``).

``.venv/bin/python bench/woocommerce_sync.py [--customers 5000] [--orders 20000] [--seed 1]``
Exit status 1 when a check fails.
"""

from __future__ import annotations

import argparse
import os
import secrets
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench import services as svc  # noqa: E402
from bench.loyalty_common import QueryCounter, revision, time_limit  # noqa: E402
from bench.report import table  # noqa: E402

STORE = "bench"
ANCHOR = "2026-12-01T12:00:00+00:00"  # the data anchor: the same store in both processes
PHASES = ("customers", "products", "orders")  # the sync's list endpoints, in its order


class HttpMeter:
    """Counts the client's HTTP requests by endpoint and the wall time spent in them (the sync
    fetches refunds from a few threads at once, so the times overlap there)."""

    def __init__(self, counter: QueryCounter) -> None:
        self.counter = counter
        #: when the first page of each list endpoint was asked for: the sync's phases
        self.phase_started: dict[str, float] = {}
        self.lock = threading.Lock()
        self.requests: Counter[str] = Counter()
        self.seconds: dict[str, float] = {}
        self.statuses: Counter[int] = Counter()
        self._original: Any = None

    @staticmethod
    def endpoint(url: str) -> str:
        path = url.split("/wp-json/wc/v3/", 1)[-1].split("?", 1)[0].strip("/")
        parts = path.split("/")
        if len(parts) >= 3 and parts[0] == "orders" and parts[2] == "refunds":
            return "orders/<id>/refunds"
        if len(parts) >= 3 and parts[0] == "products" and parts[2] == "variations":
            return "products/<id>/variations"
        return parts[0] + ("/<id>" if len(parts) > 1 else "")

    def __enter__(self) -> HttpMeter:
        from requests.adapters import HTTPAdapter

        meter = self
        original = self._original = HTTPAdapter.send

        def send(adapter: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            name = meter.endpoint(request.url)
            if name in PHASES and threading.current_thread() is threading.main_thread():
                meter.phase_started.setdefault(name, started)
                meter.counter.phase = name  # the SQL that follows belongs to this resource
            response = original(adapter, request, *args, **kwargs)
            with meter.lock:
                meter.requests[name] += 1
                meter.seconds[name] = meter.seconds.get(name, 0.0) + time.perf_counter() - started
                meter.statuses[response.status_code] += 1
            return response

        HTTPAdapter.send = send  # type: ignore[method-assign,assignment]
        return self

    def __exit__(self, *exc: object) -> None:
        from requests.adapters import HTTPAdapter

        HTTPAdapter.send = self._original  # type: ignore[method-assign]


def start_sandbox(args: argparse.Namespace, port: int) -> tuple[subprocess.Popen[str], str]:
    command = [sys.executable, "-m", "sandbox.woocommerce", "--host", "127.0.0.1", "--port", str(port),
               "--store", STORE, "--seed", str(args.seed), "--customers", str(args.customers),
               "--orders", str(args.orders), "--products", str(args.products), "--now", ANCHOR,
               "--webhook-mode", "manual"]
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    deadline = time.monotonic() + args.max_seconds
    line = ""
    while not line and time.monotonic() < deadline and process.poll() is None:
        line = process.stdout.readline().strip()
    if not line.startswith("http://"):
        svc.stop_process(process)  # type: ignore[arg-type]
        raise SystemExit(f"the WooCommerce sandbox did not start: {line!r}")
    return process, line


def store_truth(args: argparse.Namespace) -> dict[str, Any]:
    """The same seeded store, rebuilt here: what the sync must arrive at."""
    from sandbox.store import StoreSpec
    from sandbox.woocommerce.store import WooStore

    spec = StoreSpec(seed=args.seed, customers=args.customers, orders=args.orders, products=args.products,
                     now=datetime.fromisoformat(ANCHOR))
    store = WooStore(STORE, spec, url_of=lambda name: f"http://127.0.0.1/stores/{name}", sink=lambda *a: None)
    orders = [o for o in store.orders.values() if o.status not in ("trash", "checkout-draft")]
    return {
        "customers": len(store.customers),
        "products": len(store.products),
        "variants": sum(len(p.variations) or 1 for p in store.products.values()),
        "orders": len(orders),
        "order lines": sum(len(o.lines) for o in orders),
        "refunds": sum(len(o.refunds) for o in orders),
        "refund lines": sum(len(r.lines) for o in orders for r in o.refunds),
        "orders total": sum((o.total for o in orders), Decimal("0")),
    }


def mirror_counts(shop: Any) -> dict[str, Any]:
    from django.db.models import Sum

    from commerce.models import Customer, Order, OrderLine, Product, Refund, RefundLine, Variant

    return {
        "customers": Customer.objects.filter(shop=shop).count(),
        "products": Product.objects.filter(shop=shop).count(),
        "variants": Variant.objects.filter(shop=shop).count(),
        "orders": Order.objects.filter(shop=shop).count(),
        "order lines": OrderLine.objects.filter(shop=shop).count(),
        "refunds": Refund.objects.filter(shop=shop).count(),
        "refund lines": RefundLine.objects.filter(refund__shop=shop).count(),
        "orders total": Order.objects.filter(shop=shop).aggregate(t=Sum("total"))["t"] or Decimal("0"),
    }


def connected_shop(base_url: str) -> Any:
    """One WooCommerce shop connected with a fresh REST key of the sandbox store, as the wc-auth
    callback leaves it (the connection model through Django's app registry: nothing outside
    ``integrations/`` imports a platform package)."""
    import requests
    from django.apps import apps
    from django.utils import timezone

    from commerce import services as commerce
    from commerce.models import Platform

    woo_connection = apps.get_model("woocommerce_platform", "WooConnection")

    key = requests.post(f"{base_url}/_sandbox/stores/{STORE}/api_keys", json={"description": "bench"},
                        timeout=30).json()
    store = requests.get(f"{base_url}/_sandbox/stores/{STORE}", timeout=30).json()
    shop = commerce.shop_installed(platform=Platform.WOOCOMMERCE, domain=store["domain"],
                                   access_token=key["consumer_key"], scopes="read_write",
                                   details={"storefront_url": store["url"], "name": "Bench store",
                                            "currency": store["currency"]})
    woo_connection.objects.create(
        shop=shop, store_url=store["url"], domain=store["domain"], state=secrets.token_urlsafe(32),
        expires_at=timezone.now() + timedelta(minutes=10), status="connected",
        consumer_key=key["consumer_key"], consumer_secret=key["consumer_secret"], key_id=str(key["key_id"]),
        key_permissions=key["key_permissions"], connected_at=timezone.now())
    return shop


def run(args: argparse.Namespace) -> int:
    svc.install_sigterm_handler()
    work = Path(os.environ.get("TMPDIR", "/tmp"))
    database = f"comeback_bench_woosync_{os.getpid()}"
    sandbox: subprocess.Popen[str] | None = None
    with svc.services(durable=not args.pg_fast) as services:
        server = services.database_url
        try:
            svc.create_database(server, database)
            os.environ.update({
                "DJANGO_SETTINGS_MODULE": "bench.benchsite", "DEBUG": "0", "SECRET_KEY": secrets.token_urlsafe(50),
                "ALLOWED_HOSTS": "127.0.0.1", "DATABASE_URL": svc.database_url_named(server, database),
                # tasks the sync schedules (scores after the history) wait in a queue nobody reads
                "CELERY_BROKER_URL": services.broker_url, "REDIS_URL": services.redis_url,
                "BENCH_CELERY_QUEUE": f"bench-{secrets.token_hex(4)}",
                "WOOCOMMERCE_ALLOW_LOCAL_STORES": "1", "VAR_DIR": str(work / f"comeback-bench-var-{os.getpid()}"),
                "LOG_LEVEL": "WARNING",
            })
            import django

            django.setup()
            from django.core.management import call_command
            from django.db import connection

            from integrations.platforms import adapter_for

            started = time.perf_counter()
            sandbox, base_url = start_sandbox(args, svc.free_port())
            print(f"# sandbox up in {time.perf_counter() - started:.1f}s at {base_url} "
                  f"({args.customers:,} customers, {args.orders:,} orders, {args.products} products, seed {args.seed})",
                  flush=True)
            started = time.perf_counter()
            call_command("migrate", interactive=False, verbosity=0)
            print(f"# database migrated in {time.perf_counter() - started:.1f}s", flush=True)
            shop = connected_shop(base_url)
            started = time.perf_counter()
            truth = store_truth(args)
            print(f"# the store's truth rebuilt in {time.perf_counter() - started:.1f}s", flush=True)

            adapter = adapter_for("woocommerce")
            load_before = Path("/proc/loadavg").read_text().split(" ")[0]
            counter = QueryCounter()
            counter.phase = "start"
            with HttpMeter(counter) as meter, connection.execute_wrapper(counter), \
                    time_limit(args.max_seconds, "the history sync"):
                store_cpu, app_cpu = svc.tree_cpu_seconds(sandbox.pid), svc.cpu_self()
                began = time.perf_counter()
                run_row = adapter.history_sync_start(shop=shop)
                run_row = adapter.history_sync_run(run=run_row)
                ended = time.perf_counter()
                store_cpu = svc.tree_cpu_seconds(sandbox.pid) - store_cpu
                app_cpu = svc.cpu_self() - app_cpu
            wall = ended - began
            statements = sum(counter.counts.values())
            run_row.refresh_from_db()
            mirror = mirror_counts(shop)
        finally:
            svc.shield_cleanup()
            if sandbox is not None:
                sandbox.terminate()
                try:
                    sandbox.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    sandbox.kill()
            try:
                from django.db import connections

                connections.close_all()
            except Exception:  # noqa: BLE001 - Django may not be set up
                pass
            svc.drop_database(server, database)

    # --- report ----------------------------------------------------------------------------
    bounds = [meter.phase_started.get(name) for name in PHASES] + [ended]
    per_resource: dict[str, dict[str, float]] = {}
    for index, name in enumerate(PHASES):
        start, stop = bounds[index], next((b for b in bounds[index + 1:] if b is not None), ended)
        per_resource[name] = {"pages": meter.requests.get(name, 0),
                              "seconds": (stop - start) if start is not None else 0.0,
                              "statements": counter.counts.get(name, 0)}
    progress = run_row.progress
    rows = []
    for resource in ("customers", "products", "orders"):
        entry = per_resource[resource]
        objects = int((progress.get(resource) or {}).get("objects") or 0)
        pages = int(entry["pages"])
        rows.append([resource, f"{objects:,}", pages, f"{entry['seconds']:.1f}",
                     f"{objects / entry['seconds']:,.0f}" if entry["seconds"] else "-",
                     f"{entry['statements'] / pages:.1f}" if pages else "-"])
    print()
    print(f"WooCommerce history sync bench, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, commit {revision()}, "
          f"{os.cpu_count()} CPUs; PostgreSQL {services.pg_settings}; store {args.customers:,} customers / "
          f"{args.orders:,} orders / {args.products} products (seed {args.seed})")
    print()
    print(table(["resource", "objects", "pages", "seconds", "objects/s", "SQL statements/page"], rows))
    print()
    orders_seconds = per_resource["orders"]["seconds"]
    pages_total = int(sum(entry["pages"] for entry in per_resource.values()))
    print(f"whole sync: {wall:.1f}s wall, {truth['orders'] / wall:,.0f} orders/s overall"
          + (f", {truth['orders'] / orders_seconds:,.0f} orders/s in the orders phase" if orders_seconds else "")
          + f"; {statements:,} SQL statements ({statements / max(1, pages_total):.1f} per page over "
            f"{pages_total} pages)")
    print(f"CPU during the sync: the app (this process: client, normalising, Django) {app_cpu:.1f}s, the store "
          f"(the sandbox process: REST, OAuth checks, JSON) {store_cpu:.1f}s; load average before: {load_before}")
    print()
    print(table(["HTTP endpoint", "requests", "seconds waiting", "ms/request"],
                [[name, f"{n:,}", f"{meter.seconds[name]:.1f}", f"{1000 * meter.seconds[name] / n:.0f}"]
                 for name, n in meter.requests.most_common()]))
    print(f"HTTP statuses: {dict(sorted(meter.statuses.items()))}")
    print()
    checks = [[name, str(truth[name]), str(mirror[name]), "ok" if truth[name] == mirror[name] else "DIFFERS"]
              for name in truth]
    listed = {r: (progress.get(r) or {}).get("total") for r in ("customers", "products", "orders")}
    for name, total in listed.items():
        checks.append([f"{name} (X-WP-Total)", str(total), str(mirror[name]),
                       "ok" if total == mirror[name] else "DIFFERS"])
    checks.append(["sync run status", "completed", run_row.status,
                   "ok" if run_row.status == "completed" else "DIFFERS"])
    print(table(["check", "store", "mirror", ""], checks))
    failed = [row[0] for row in checks if row[3] != "ok"]
    if failed:
        print(f"\nFAILED: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=5000)
    parser.add_argument("--orders", type=int, default=20000)
    parser.add_argument("--products", type=int, default=70)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--max-seconds", type=float, default=3600, help="bound on the sandbox start and the sync")
    parser.add_argument("--pg-fast", action="store_true", help="PostgreSQL with CI's non-durable settings")
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    os.chdir(REPO)
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        sys.exit(130)
