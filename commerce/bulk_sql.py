"""Helpers for the set-based bulk paths on PostgreSQL (``import_orders``, the history ingest):
rows are COPYed into a temporary staging table, then written with ``INSERT ... SELECT ... ON
CONFLICT``.  Django fills model defaults in Python, not in the database, so an ``INSERT ...
SELECT`` must name every column: ``insert_columns`` gives the columns the statement does not
set itself, with their model defaults as typed parameters."""

from collections.abc import Iterable
from typing import Any

from django.db import connection, models
from django.db.models import Min

from commerce.models import Shop
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
