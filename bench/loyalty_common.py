"""Shared pieces of the loyalty benches (bench/loyalty_award.py, bench/loyalty_widget.py).

* ``LoyaltyBench``: the process's Django set-up against the bench PostgreSQL (the same production-like
  environment as bench/webhook_ack.py: ``DEBUG=0``, ``bench.benchsite`` settings, a real Redis
  broker with a bench-only Celery queue), a migrated template database with one installed shop and
  the loyalty program switched on (default rules, tiers, rewards, badges), clones of it, and the
  cleanup of all of that.
* ``copy_into``: bulk rows into an app table with PostgreSQL ``COPY`` (psycopg 3), filling every
  column the caller does not give with the model field's default, as ``Model.save`` would.
* ``QueryCounter``: counts the SQL statements Django sends, per named phase.
* ``time_limit``: a hard time bound (SIGALRM) around a call that has no loop of ours inside.
"""

from __future__ import annotations

import itertools
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench import services as svc  # noqa: E402

SHOP_DOMAIN = "bench-store.myshopify.com"


def revision() -> str:
    """The commit the app code comes from (``+`` when tracked files differ from it)."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True,
                              timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "diff", "--quiet", "HEAD"], cwd=REPO, capture_output=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return (head or "unknown") + ("+" if dirty.returncode == 1 else "")


class BenchTimeout(Exception):
    pass


@contextmanager
def time_limit(seconds: float, what: str) -> Iterator[None]:
    """Raise ``BenchTimeout`` in the main thread if the block runs longer than ``seconds``."""

    def expired(signum: int, frame: FrameType | None) -> None:
        raise BenchTimeout(f"{what} took longer than {seconds:.0f}s (raise the bound with --max-seconds)")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


class QueryCounter:
    """``connection.execute_wrapper`` that counts statements per phase (``counter.phase = "..."``)."""

    def __init__(self) -> None:
        self.phase = "other"
        self.counts: dict[str, int] = {}

    def __call__(self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        self.counts[self.phase] = self.counts.get(self.phase, 0) + 1
        return execute(sql, params, many, context)


def copy_into(model: Any, rows: Iterable[Mapping[str, Any]], *, columns: Iterable[str] | None = None) -> int:
    """COPY ``rows`` (dicts of field attnames -> Python values, primary key included) into
    ``model``'s table.  Columns missing from a row get the field's default (``auto_now`` and
    ``auto_now_add`` fields: now), exactly once per call; JSON values are sent as jsonb.
    ``columns`` names the attnames every row carries (default: the keys of the first row)."""
    from django.db import connection, transaction
    from django.db.models import JSONField
    from django.utils import timezone
    from psycopg import sql
    from psycopg.types.json import Jsonb

    iterator = iter(rows)
    first = next(iterator, None)
    if first is None:
        return 0
    given = list(columns) if columns is not None else list(first)
    fields = list(model._meta.concrete_fields)
    by_attname = {field.attname: field for field in fields}
    unknown = set(given) - set(by_attname)
    if unknown:
        raise ValueError(f"{model.__name__} has no fields {sorted(unknown)}")
    now = timezone.now()
    constants: dict[str, Any] = {}
    for field in fields:
        if field.attname in given:
            continue
        if field.primary_key:
            raise ValueError(f"{model.__name__}: give the primary key (ids are assigned by the bench)")
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            constants[field.attname] = now
        else:
            constants[field.attname] = field.get_default()
    order = [field.attname for field in fields]
    json_columns = {field.attname for field in fields if isinstance(field, JSONField)}
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(model._meta.db_table),
        sql.SQL(", ").join(sql.Identifier(by_attname[name].column) for name in order),
    )
    written = 0
    with transaction.atomic(), connection.cursor() as cursor:
        raw = cursor.cursor  # the psycopg 3 cursor under Django's wrapper
        with raw.copy(statement) as copy:
            for item in itertools.chain([first], iterator):
                values = []
                for name in order:
                    value = item[name] if name in item else constants[name]
                    if name in json_columns and value is not None:
                        value = Jsonb(value)
                    values.append(value)
                copy.write_row(values)
                written += 1
    return written


def sequences_reset(*models: Any) -> None:
    """After COPY with explicit ids: move each table's id sequence past its largest id."""
    from django.db import connection

    with connection.cursor() as cursor:
        for model in models:
            table = model._meta.db_table
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608 - table names are ours
                f"COALESCE((SELECT max(id) FROM \"{table}\"), 1))"
            )


class LoyaltyBench:
    """Django in this process, a template database and its clones; ``cleanup()`` drops them all."""

    def __init__(self, services: svc.Services, work: Path, label: str) -> None:
        self.services = services
        self.work = work
        self.tag = f"{label}_{os.getpid()}"
        self.template = f"comeback_bench_{self.tag}_tpl"
        self.databases: list[str] = []
        self.secret = secrets.token_hex(32)  # SHOPIFY_API_SECRET: signs app-proxy requests
        self.secret_key = secrets.token_urlsafe(50)
        self.queue = f"bench-{secrets.token_hex(4)}"
        self.shop_id = 0
        self.current = ""

    def app_env(self, database: str) -> dict[str, str]:
        return {
            "DJANGO_SETTINGS_MODULE": "bench.benchsite",
            "DEBUG": "0",
            "SECRET_KEY": self.secret_key,
            "ALLOWED_HOSTS": "127.0.0.1",
            "DATABASE_URL": svc.database_url_named(self.services.database_url, database),
            "CELERY_BROKER_URL": self.services.broker_url,
            "REDIS_URL": self.services.redis_url,
            "SHOPIFY_API_SECRET": self.secret,
            "BENCH_CELERY_QUEUE": self.queue,
            "VAR_DIR": str(self.work / "var"),
            "LOG_LEVEL": "WARNING",
        }

    def setup(self, *, installed_days_ago: int = 30) -> None:
        """Create and migrate the template; one installed shop with the program switched on."""
        svc.create_database(self.services.database_url, self.template)
        self.databases.append(self.template)
        os.environ.update(self.app_env(self.template))
        import django

        django.setup()
        from datetime import timedelta

        from django.core.management import call_command
        from django.utils import timezone

        from billing.models import ShopPlan, SubscriptionStatus
        from billing.plans import PlanCode
        from commerce.models import Platform, Shop, ShopStatus
        from commerce.shop_defaults import shop_defaults_create
        from loyalty.services.program import program_enable

        started = time.perf_counter()
        call_command("migrate", interactive=False, verbosity=0)
        shop = Shop.objects.create(
            platform=Platform.SHOPIFY, domain=SHOP_DOMAIN, name="Bench store", status=ShopStatus.INSTALLED,
            access_token="shpat_bench_token", scopes="read_orders,read_customers",
            installed_at=timezone.now() - timedelta(days=installed_days_ago),
        )
        shop_defaults_create(shop=shop)  # what an install creates: program, flow and survey presets, segments
        program_enable(shop=shop)
        # the paid plan: the benches measure the product without the Free plan's monthly limits
        ShopPlan.objects.create(shop=shop, plan=PlanCode.PAID, subscription_status=SubscriptionStatus.ACTIVE,
                                subscription_name="Comeback", status_at=timezone.now())
        self.shop_id = shop.pk
        self.current = self.template
        print(f"# template database {self.template} migrated in {time.perf_counter() - started:.1f}s; "
              "one installed shop on the paid plan, loyalty program on (defaults)", flush=True)

    def use(self, name: str) -> None:
        """Point Django's connection at database ``name`` (closing the current one)."""
        from django.db import connections

        connections.close_all()
        connections["default"].settings_dict["NAME"] = name
        self.current = name

    def clone(self, label: str, *, source: str | None = None) -> str:
        """A new database copied from ``source`` (default: the template); Django now uses it."""
        source = source or self.template
        self.use(self.template)
        from django.db import connections

        connections.close_all()  # nobody may be connected to the source of CREATE DATABASE ... TEMPLATE
        name = f"comeback_bench_{self.tag}_{label}"
        started = time.perf_counter()
        svc.create_database(self.services.database_url, name, template=source)
        self.databases.append(name)
        self.use(name)
        print(f"# database {name}: copy of {source} ({time.perf_counter() - started:.1f}s)", flush=True)
        return name

    def shop(self) -> Any:
        from commerce.models import Shop

        return Shop.objects.get(pk=self.shop_id)

    def vacuum_analyze(self) -> None:
        """What autovacuum would have done by now on a database that was filled over months."""
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")

    # the broker queue ----------------------------------------------------------------------------

    def _redis(self) -> Any:
        import redis

        return redis.Redis.from_url(self.services.broker_url)

    def queued(self) -> int:
        """Task messages waiting in this bench's Celery queue (nobody consumes them)."""
        client = self._redis()
        try:
            return sum(int(client.llen(key)) for key in client.keys(f"{self.queue}*"))
        finally:
            client.close()

    def queue_purge(self) -> None:
        client = self._redis()
        try:
            for pattern in (f"{self.queue}*", f"_kombu.binding*.{self.queue}"):
                for key in client.keys(pattern):
                    client.delete(key)
        finally:
            client.close()

    def cleanup(self) -> None:
        svc.shield_cleanup()
        if "django" in sys.modules:
            from django.db import connections

            connections.close_all()
        for name in reversed(self.databases):
            try:
                svc.drop_database(self.services.database_url, name)
            except Exception as error:  # the server may be gone already; keep cleaning the rest
                print(f"# could not drop {name}: {error}", file=sys.stderr)
        if self.services.redis_pid is None:  # an external broker: take our queue away
            try:
                self.queue_purge()
            except Exception as error:
                print(f"# could not purge queue {self.queue}: {error}", file=sys.stderr)
