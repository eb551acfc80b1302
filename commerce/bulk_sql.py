"""Helpers for the set-based bulk paths on PostgreSQL (``import_orders``, the history ingest):
rows are COPYed into a temporary staging table, then written with ``INSERT ... SELECT ... ON
CONFLICT``.  Django fills model defaults in Python, not in the database, so an ``INSERT ...
SELECT`` must name every column: ``insert_columns`` gives the columns the statement does not
set itself, with their model defaults as typed parameters."""

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from django.db import connection, models
from django.db.backends.utils import CursorWrapper
from django.db.models import Min
from django.utils import timezone
from psycopg.types.json import Jsonb

from commerce import services
from commerce.models import Customer, Order, Shop
from commerce.records import OrderRecord
from commerce.selectors import orders_counted


def is_supported() -> bool:
    """COPY and ``INSERT ... ON CONFLICT ... RETURNING`` as used here: PostgreSQL only."""
    return connection.vendor == "postgresql"


def insert_columns(model: type[models.Model], *, given: Iterable[str]) -> tuple[list[str], list[str], list[Any]]:
    """For an ``INSERT INTO <model> (given..., rest...) SELECT <given exprs>, <rest exprs>``: the
    names of the columns not in ``given`` (model field or column names), one typed placeholder
    each (``%s::<type>``, so PostgreSQL never has to guess) and the model defaults for them."""
    named = set(given)
    columns, placeholders, params = [], [], []
    for model_field in model._meta.concrete_fields:
        if model_field.primary_key or model_field.name in named or model_field.column in named:
            continue
        columns.append(connection.ops.quote_name(str(model_field.column)))
        placeholders.append(f"%s::{model_field.db_type(connection)}")
        params.append(model_field.get_db_prep_save(model_field.get_default(), connection))
    return columns, placeholders, params


def statistics_refresh(models_: Iterable[type[models.Model]]) -> None:
    """``ANALYZE`` these tables: a bulk load outgrows the planner's statistics long before
    autovacuum catches up, and a plan made for an empty table (a scan per joined row) turns the
    load quadratic."""
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE " + ", ".join(connection.ops.quote_name(model._meta.db_table) for model in models_))


class StatisticsKeeper:
    """Refreshes the statistics of the tables a bulk load fills each time the rows loaded have
    doubled: a logarithmic number of ``ANALYZE`` (a handful over a million rows)."""

    def __init__(self, models_: Sequence[type[models.Model]], *, rows: int = 0, first: int = 1000) -> None:
        self.models = models_
        self.rows = rows
        self.next_at = max(first, rows)

    def loaded(self, rows: int) -> None:
        self.rows += rows
        if self.rows >= self.next_at:
            statistics_refresh(self.models)
            self.next_at = self.rows * 2


def customers_first_order_refresh(*, shop: Shop) -> int:
    """``commerce.customers_first_order_refresh_all`` in one statement: every customer's first
    counted order date (``selectors.orders_counted``, the one rule), NULL without one; only rows
    whose date changes are written.  Returns the number of customers changed."""
    firsts = (orders_counted(shop=shop).filter(customer__isnull=False).order_by().values("customer_id")
              .annotate(first=Min("processed_at")).values_list("customer_id", "first"))
    firsts_sql, firsts_params = firsts.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(
            f"""UPDATE commerce_customer AS customer SET first_order_at = wanted.first
                FROM (SELECT c.id, f.first FROM commerce_customer c
                      LEFT JOIN ({firsts_sql}) AS f (customer_id, first) ON f.customer_id = c.id
                      WHERE c.shop_id = %s) AS wanted
                WHERE customer.id = wanted.id AND customer.shop_id = %s
                  AND customer.first_order_at IS DISTINCT FROM wanted.first""",
            [*firsts_params, shop.pk, shop.pk],
        )
        return cursor.rowcount


# --- orders from a platform's history (the bulk sync) ------------------------------------------

ORDER_COLUMNS = (
    "platform_id", "customer_platform_id", "name", "email", "phone", "locale", "financial_status",
    "fulfillment_status", "currency", "subtotal", "total_discounts", "total_tax", "total_shipping", "total",
    "total_refunded", "discount_codes", "is_test", "processed_at", "cancelled_at", "cancel_reason",
    "shipping_address_key", "platform_updated_at", "platform_created_at",
)
LINE_COLUMNS = ("order_pid", "platform_id", "product_platform_id", "variant_platform_id", "title", "sku", "quantity",
                "unit_price", "total_discount")
REFUND_COLUMNS = ("order_pid", "platform_id", "currency", "amount", "shipping_amount", "note", "processed_at")
REFUND_LINE_COLUMNS = ("refund_pid", "line_platform_id", "quantity", "subtotal")


def _stage_tables(cursor: CursorWrapper) -> None:
    """The staging tables (this connection's own; emptied at the start of each batch)."""
    text = "''::varchar(64)"
    cursor.execute(
        f"CREATE TEMPORARY TABLE IF NOT EXISTS load_order AS SELECT {', '.join(ORDER_COLUMNS)} FROM commerce_order "
        f"WITH NO DATA;"
        f"CREATE TEMPORARY TABLE IF NOT EXISTS load_line AS SELECT {text} AS {', '.join(LINE_COLUMNS)} "
        f"FROM commerce_orderline WITH NO DATA;"
        f"CREATE TEMPORARY TABLE IF NOT EXISTS load_refund AS SELECT {text} AS {', '.join(REFUND_COLUMNS)} "
        f"FROM commerce_refund WITH NO DATA;"
        f"CREATE TEMPORARY TABLE IF NOT EXISTS load_refund_line AS SELECT {text} AS "
        f"{', '.join(REFUND_LINE_COLUMNS)} FROM commerce_refundline WITH NO DATA;"
        "CREATE TEMPORARY TABLE IF NOT EXISTS load_written (id bigint, platform_id varchar(64), currency varchar(3));"
        "CREATE TEMPORARY TABLE IF NOT EXISTS load_new_refund (id bigint, platform_id varchar(64), "
        "currency varchar(3));"
        "TRUNCATE load_order, load_line, load_refund, load_refund_line, load_written, load_new_refund")


def _copy(cursor: CursorWrapper, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def _newest(records: Sequence[OrderRecord]) -> list[OrderRecord]:
    """The same order twice in one batch: its newest version (as ``commerce.orders_upsert``)."""
    latest: dict[str, OrderRecord] = {}
    for record in records:
        current = latest.get(record.platform_id)
        if current is None or _not_older(record.updated_at, current.updated_at):
            latest[record.platform_id] = record
    return list(latest.values())


def _not_older(incoming: datetime | None, stored: datetime | None) -> bool:
    if incoming is None:
        return stored is None
    return stored is None or incoming >= stored


def orders_history_load(*, shop: Shop, records: Sequence[OrderRecord]) -> int:
    """``commerce.orders_upsert(live=False, refresh_first_orders=False)`` for history in a fixed
    number of statements: the records are COPYed into staging tables, then customer stubs,
    orders (a stored version newer than the record's wins), their lines, and the refunds not
    seen before with their lines are each one ``INSERT ... SELECT ... ON CONFLICT``.  History has
    no events; a record that is news (changed or refunded since the install) goes through
    ``orders_upsert``, which emits them.  Returns the number of orders written."""
    installed = shop.installed_at

    def is_news(record: OrderRecord) -> bool:
        if installed is None:
            return False
        return bool((record.updated_at and record.updated_at >= installed) or any(
            refund.processed_at and refund.processed_at >= installed for refund in record.refunds or ()))

    news = [record for record in records if is_news(record)]
    if news:
        services.orders_upsert(shop=shop, records=news, live=False, refresh_first_orders=False)
    history = _newest([record for record in records if not is_news(record)])
    if not history:
        return len(news)
    now = timezone.now()
    with connection.cursor() as cursor:
        _stage_tables(cursor)
        _copy(cursor, "load_order", ORDER_COLUMNS, (
            (r.platform_id, r.customer_platform_id, r.name, r.email.strip().lower(), r.phone, r.locale,
             r.financial_status, r.fulfillment_status, r.currency, r.subtotal, r.total_discounts, r.total_tax,
             r.total_shipping, r.total, r.total_refunded, Jsonb(list(r.discount_codes)), r.is_test,
             r.processed_at or r.created_at, r.cancelled_at, r.cancel_reason, r.shipping_address_key, r.updated_at,
             r.created_at) for r in history))
        _copy(cursor, "load_line", LINE_COLUMNS, (
            (r.platform_id, line.platform_id, line.product_platform_id, line.variant_platform_id, line.title,
             line.sku, line.quantity, line.unit_price, line.total_discount) for r in history for line in r.lines))
        refunds = {refund.platform_id: refund for r in history for refund in r.refunds or ()}
        _copy(cursor, "load_refund", REFUND_COLUMNS, (
            (refund.order_platform_id, refund.platform_id, refund.currency, refund.amount, refund.shipping_amount,
             refund.note, refund.processed_at) for refund in refunds.values()))
        _copy(cursor, "load_refund_line", REFUND_LINE_COLUMNS, (
            (refund.platform_id, line.line_platform_id, line.quantity, line.subtotal)
            for refund in refunds.values() for line in refund.lines))
        cursor.execute("ANALYZE load_order, load_line, load_refund, load_refund_line")
        # customer stubs for the customers the orders name (the customers' own sync fills them in)
        columns, placeholders, params = insert_columns(Customer, given=("shop_id", "platform_id", "created_at",
                                                                        "updated_at"))
        cursor.execute(
            f"INSERT INTO commerce_customer (shop_id, platform_id, created_at, updated_at, {', '.join(columns)}) "
            f"SELECT DISTINCT ON (customer_platform_id) %s, customer_platform_id, %s::timestamptz, %s::timestamptz, "
            f"{', '.join(placeholders)} FROM load_order WHERE customer_platform_id <> '' "
            f"ORDER BY customer_platform_id ON CONFLICT (shop_id, platform_id) DO NOTHING",
            [shop.pk, now, now, *params])
        # orders: inserted, or updated unless the stored version is newer
        columns, placeholders, params = insert_columns(Order, given=("shop_id", "customer_id", "created_at",
                                                                     "updated_at", *ORDER_COLUMNS))
        order_set = ", ".join(f"{name} = EXCLUDED.{name}" for name in (*ORDER_COLUMNS[1:], "customer_id", "updated_at"))
        cursor.execute(
            f"""WITH written AS (
                  INSERT INTO commerce_order (shop_id, customer_id, created_at, updated_at, {', '.join(ORDER_COLUMNS)}
                                              {''.join(', ' + column for column in columns)})
                  SELECT %s, c.id, %s::timestamptz, %s::timestamptz, {', '.join('o.' + c for c in ORDER_COLUMNS)}
                         {''.join(', ' + placeholder for placeholder in placeholders)}
                  FROM load_order o
                  LEFT JOIN commerce_customer c ON c.shop_id = %s AND c.platform_id = o.customer_platform_id
                                                   AND o.customer_platform_id <> ''
                  ON CONFLICT (shop_id, platform_id) DO UPDATE SET {order_set}
                  WHERE commerce_order.platform_updated_at IS NULL
                     OR EXCLUDED.platform_updated_at >= commerce_order.platform_updated_at
                  RETURNING id, platform_id, currency)
                INSERT INTO load_written SELECT * FROM written""",
            [shop.pk, now, now, *params, shop.pk])
        written = cursor.rowcount
        # the written orders' lines, linked to the products and variants already known
        line_set = ", ".join(f"{name} = EXCLUDED.{name}" for name in (
            "order_id", "product_id", "variant_id", "product_platform_id", "variant_platform_id", "title", "sku",
            "quantity", "currency", "unit_price", "total_discount", "updated_at"))
        cursor.execute(
            f"""INSERT INTO commerce_orderline (shop_id, order_id, platform_id, product_id, variant_id,
                    product_platform_id, variant_platform_id, title, sku, quantity, currency, unit_price,
                    total_discount, created_at, updated_at)
                SELECT %s, w.id, l.platform_id, p.id, v.id, l.product_platform_id, l.variant_platform_id, l.title,
                       l.sku, l.quantity, w.currency, l.unit_price, l.total_discount, %s, %s
                FROM load_line l JOIN load_written w ON w.platform_id = l.order_pid
                LEFT JOIN commerce_product p ON p.shop_id = %s AND p.platform_id = l.product_platform_id
                LEFT JOIN commerce_variant v ON v.shop_id = %s AND v.platform_id = l.variant_platform_id
                ON CONFLICT (shop_id, platform_id) DO UPDATE SET {line_set}""",
            [shop.pk, now, now, shop.pk, shop.pk])
        # refunds are immutable: the ones not seen before, then their lines
        cursor.execute(
            """WITH fresh AS (
                 INSERT INTO commerce_refund (shop_id, order_id, platform_id, currency, amount, shipping_amount, note,
                                              processed_at, created_at, updated_at)
                 SELECT %s, w.id, r.platform_id, COALESCE(NULLIF(r.currency, ''), w.currency), r.amount,
                        r.shipping_amount, r.note, r.processed_at, %s, %s
                 FROM load_refund r JOIN load_written w ON w.platform_id = r.order_pid
                 ON CONFLICT (shop_id, platform_id) DO NOTHING
                 RETURNING id, platform_id, currency)
               INSERT INTO load_new_refund SELECT * FROM fresh""",
            [shop.pk, now, now])
        cursor.execute(
            """INSERT INTO commerce_refundline (shop_id, refund_id, order_line_id, line_platform_id, quantity, currency,
                                                subtotal, created_at, updated_at)
               SELECT %s, n.id, l.id, rl.line_platform_id, rl.quantity, n.currency, rl.subtotal, %s, %s
               FROM load_refund_line rl JOIN load_new_refund n ON n.platform_id = rl.refund_pid
               LEFT JOIN commerce_orderline l ON l.shop_id = %s AND l.platform_id = rl.line_platform_id
               ON CONFLICT DO NOTHING""",
            [shop.pk, now, now, shop.pk])
    return len(news) + written
