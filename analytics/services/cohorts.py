"""Cohort retention: customers by the month of their first order, and the share of each cohort
ordering again in each later month (the triangle behind the heat map).

A month that is not over -- the current one, or one the period's end cuts -- is **partial**: its
shares (and a cohort's size, for the cohort month) can still grow, so they are flagged instead of
reading as a drop."""

from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from django.db import connection
from django.db.models import Min
from django.utils import timezone

from analytics.services.base import Period, customer_orders, in_range, local_midnight, percent
from commerce.models import Shop

_COHORT_SQL = """
WITH firsts (customer_id, first_at) AS ({firsts}),
period_orders (customer_id, processed_at) AS ({orders}),
activity AS (
    SELECT DISTINCT o.customer_id,
           {cohort_month} AS cohort_index,
           {order_month} AS month_index
    FROM period_orders o
    JOIN firsts f ON f.customer_id = o.customer_id
)
SELECT cohort_index, month_index, COUNT(*) AS customers
FROM activity
GROUP BY cohort_index, month_index
"""


def _month_index(column: str, month_starts: list[datetime]) -> tuple[str, list[Any]]:
    """``CASE`` giving the index of the (local) month a timestamp falls in: the month starts are
    parameters computed in the shop's time zone, so the SQL is plain and portable (no time-zone
    or date functions, which differ between SQLite, PostgreSQL and DuckDB)."""
    branches, params = [], []
    for index in range(len(month_starts) - 1, 0, -1):
        branches.append(f"WHEN {column} >= %s THEN {index}")
        params.append(connection.ops.adapt_datetimefield_value(month_starts[index]))
    if not branches:
        return "0", []
    return f"CASE {' '.join(branches)} ELSE 0 END", params


def _month_last_day(month: date) -> date:
    return (month + timedelta(days=32)).replace(day=1) - timedelta(days=1)


def cohort_retention(*, shop: Shop, start: date, end: date, today: date | None = None) -> list[dict[str, Any]]:
    """One entry per calendar month the period touches (oldest first): the customers whose first
    counted order ever falls in that month (and in the period), and ``retention_percent[k]``, the
    share of them with a counted order in the k-th month after it (k = 0 is the cohort month, 100
    by definition), up to the period's end.  A month without new customers has ``size`` 0 and
    ``None`` shares.

    ``retention_partial[k]`` is True when that month is not over on the period's last day (or
    ``today``, the shop's local date, when the period runs past it): its share is so far, not
    final.  ``partial`` says the same of the cohort month itself (its ``size`` can still grow)."""
    period = Period.of(shop=shop, start=start, end=end)
    months = period.months()
    observed = min(period.end, today or timezone.localdate(timezone=period.zone))
    partial = [_month_last_day(month) > observed for month in months]
    starts = [local_midnight(month, period.zone) for month in months]
    base = customer_orders(shop=shop)
    firsts = (
        base.filter(processed_at__lt=period.until).values("customer_id")
        .annotate(first_at=Min("processed_at")).filter(first_at__gte=period.since).order_by()
    )
    orders = in_range(base, period.since, period.until).values("customer_id", "processed_at").order_by()
    firsts_sql, firsts_params = firsts.query.sql_with_params()
    orders_sql, orders_params = orders.query.sql_with_params()
    cohort_month, cohort_params = _month_index("f.first_at", starts)
    order_month, order_params = _month_index("o.processed_at", starts)
    sql = _COHORT_SQL.format(firsts=firsts_sql, orders=orders_sql, cohort_month=cohort_month,
                             order_month=order_month)
    with connection.cursor() as cursor:
        cursor.execute(sql, [*firsts_params, *orders_params, *cohort_params, *order_params])
        counts = {(int(cohort), int(month)): customers for cohort, month, customers in cursor.fetchall()}
    return cohort_rows(months=months, partial=partial, counts=counts)


def cohort_rows(*, months: Sequence[date], partial: Sequence[bool], counts: Mapping[tuple[int, int], int]
                ) -> list[dict[str, Any]]:
    """The report's cohort rows from ``counts[(cohort index, month index)]`` = customers of that
    cohort active in that month (one home for the orders' query and the rollups' query)."""
    cohorts = []
    for index, month in enumerate(months):
        size = counts.get((index, index), 0)
        cohorts.append({
            "month": month.strftime("%Y-%m"),
            "size": size,
            "partial": partial[index],
            "retention_percent": [percent(counts.get((index, later), 0), size) for later in range(index, len(months))],
            "retention_partial": list(partial[index:]),
        })
    return cohorts
