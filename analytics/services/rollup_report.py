"""The report's figures from the rollups (``CustomerDay``, ``ShopDay``) instead of the orders: the
same definitions and the same numbers as ``retention_report`` (tests/analytics/test_rollups.py
compares them), in milliseconds rather than seconds, for the dashboard's pages.

Every figure here counts local days, which is what the rollups keep.  Not here (they need the
orders themselves): ``revenue_lost`` (a trailing year measured in instants), profit (order lines
and today's product costs), the loyalty and campaign sections and NPS.
"""

from datetime import date, timedelta
from typing import Any

from django.db import connection
from django.db.models import Count, F, Min, Q, QuerySet, Sum
from django.utils import timezone

from analytics.models import CustomerDay, ShopDay
from analytics.services.base import money, money_per, percent, ratio, shop_zone
from analytics.services.cohorts import _month_last_day, cohort_rows
from analytics.services.options import ReportOptions, report_options
from analytics.services.value import clv_summary_of_days, predicted_clv
from commerce.models import Shop


def _days(shop: Shop, first: date, last: date) -> QuerySet[CustomerDay]:
    return CustomerDay.objects.filter(shop=shop, day__gte=first, day__lte=last)


def _window(shop: Shop, day: date, days: int) -> QuerySet[CustomerDay]:
    """Rows of the ``days`` local days ending on ``day``."""
    return _days(shop, day - timedelta(days=days - 1), day)


def rollup_active_customers(*, shop: Shop, day: date, activity_days: int) -> int:
    return _window(shop, day, activity_days).values("customer_id").distinct().count()


def rollup_active_customers_on(*, shop: Shop, days: list[date], activity_days: int) -> list[int]:
    """Active customers on each of ``days``, in one pass over the rollup."""
    if not days:
        return []
    windows = {f"day_{index}": Count("customer_id", distinct=True, filter=Q(
        day__gte=day - timedelta(days=activity_days - 1), day__lte=day)) for index, day in enumerate(days)}
    counts = _days(shop, min(days) - timedelta(days=activity_days - 1), max(days)).aggregate(**windows)
    return [counts[f"day_{index}"] for index in range(len(days))]


def _cohorts(shop: Shop, start: date, end: date, today: date) -> list[dict[str, Any]]:
    """``cohorts.cohort_retention`` from the rollup: months compared as local dates."""
    months, first = [], start.replace(day=1)
    while first <= end:
        months.append(first)
        first = (first + timedelta(days=32)).replace(day=1)
    observed = min(end, today)
    partial = [_month_last_day(month) > observed for month in months]

    def month_index(column: str) -> tuple[str, list[Any]]:
        if len(months) < 2:
            return "0", []
        branches = " ".join(f"WHEN {column} >= %s THEN {index}" for index in range(len(months) - 1, 0, -1))
        return f"CASE {branches} ELSE 0 END", [connection.ops.adapt_datefield_value(month)
                                                for month in reversed(months[1:])]

    firsts = (CustomerDay.objects.filter(shop=shop, day__lte=end).values("customer_id")
              .annotate(first_day=Min("day")).filter(first_day__gte=start).order_by())
    activity = _days(shop, start, end).values("customer_id", "day").order_by()
    firsts_sql, firsts_params = firsts.query.sql_with_params()
    activity_sql, activity_params = activity.query.sql_with_params()
    cohort_month, cohort_params = month_index("f.first_day")
    order_month, order_params = month_index("a.day")
    sql = (f"WITH firsts (customer_id, first_day) AS ({firsts_sql}), "
           f"activity (customer_id, day) AS ({activity_sql}), "
           f"months AS (SELECT DISTINCT a.customer_id, {cohort_month} AS cohort_index, {order_month} AS month_index "
           f"FROM activity a JOIN firsts f ON f.customer_id = a.customer_id) "
           f"SELECT cohort_index, month_index, COUNT(*) FROM months GROUP BY cohort_index, month_index")
    with connection.cursor() as cursor:
        cursor.execute(sql, [*firsts_params, *activity_params, *cohort_params, *order_params])
        counts = {(int(cohort), int(month)): customers for cohort, month, customers in cursor.fetchall()}
    return cohort_rows(months=months, partial=partial, counts=counts)


def rollup_report(*, shop: Shop, start: date, end: date, today: date | None = None,
                  options: ReportOptions | None = None, predicted: bool = True) -> dict[str, Any]:
    """The report's keys the rollups can answer (see the module docstring), for the local days
    ``start``..``end``; ``today`` is the shop's local date (marks the months not over yet).
    ``predicted=False`` leaves out the CLV model fit (a second or two at 200,000 customers)."""
    options = options or report_options(shop=shop)
    today = today or timezone.localdate(timezone=shop_zone(shop))
    activity, churn_days = options.activity_days, options.churn_days
    # one pass over the customers' days up to the period's end: every customer count at once
    before = start - timedelta(days=1)
    per_customer = CustomerDay.objects.filter(shop=shop, day__lte=end).values("customer_id").annotate(
        first_day=Min("day"),
        at_start=Count("pk", filter=Q(day__gte=before - timedelta(days=activity - 1), day__lte=before)),
        at_end=Count("pk", filter=Q(day__gte=end - timedelta(days=activity - 1))),
        recent=Count("pk", filter=Q(day__gte=end - timedelta(days=churn_days - 1))),
        in_period=Sum("orders", filter=Q(day__gte=start)),
        to_end=Sum("orders"),
    )
    counts = per_customer.aggregate(
        start=Count("customer_id", filter=Q(at_start__gt=0)),
        end=Count("customer_id", filter=Q(at_end__gt=0)),
        new=Count("customer_id", filter=Q(first_day__gte=start)),
        churned=Count("customer_id", filter=Q(at_start__gt=0, recent=0)),
        period_customers=Count("customer_id", filter=Q(in_period__gt=0)),
        repeat=Count("customer_id", filter=Q(in_period__gte=2)),
        customer_orders=Sum("in_period"),
        loyal=Count("customer_id", filter=Q(at_end__gt=0, to_end__gte=options.loyal_min_orders)),
    )
    at_start, at_end, new, churned, loyal = (counts[key] for key in ("start", "end", "new", "churned", "loyal"))
    period = {"customers": counts["period_customers"], "repeat": counts["repeat"]}
    customer_orders = counts["customer_orders"] or 0
    shop_days = ShopDay.objects.filter(shop=shop, day__gte=start, day__lte=end).aggregate(
        orders=Sum("orders"), revenue=Sum("revenue"), other=Sum("other_currency_orders"))
    orders = shop_days["orders"] or 0
    historic = CustomerDay.objects.filter(shop=shop, day__lte=end, money_orders__gt=0).aggregate(
        revenue=Sum("revenue"), customers=Count("customer_id", distinct=True))
    clv: dict[str, Any] = {"historic_mean": money_per(historic["revenue"], historic["customers"])}
    if predicted:
        days = (CustomerDay.objects.filter(shop=shop, day__lte=end, money_orders__gt=0)
                .annotate(purchase_day=F("day"), day_value=F("revenue"))
                .values("customer_id", "purchase_day", "day_value").order_by())
        summary = clv_summary_of_days(days=days, end=end)
        clv.update(predicted_clv(shop=shop, end=end, horizon_weeks=options.clv_horizon_weeks, summary=summary))
    return {
        "customers": {"start": at_start, "end": at_end, "new": new},
        "crr_percent": percent(at_end - new, at_start),
        "repeat_purchase_rate_percent": percent(period["repeat"], period["customers"]),
        "period_customers": period["customers"],
        "repeat_customers": period["repeat"],
        "purchase_frequency": ratio(customer_orders, period["customers"]),
        "customer_orders": customer_orders,
        "orders": orders,
        "revenue": money(shop_days["revenue"]),
        "average_order_value": money_per(shop_days["revenue"], orders),
        "orders_in_other_currency": shop_days["other"] or 0,
        "churned_customers": churned,
        "churn_rate_percent": percent(churned, at_start),
        "cohorts": _cohorts(shop, start, end, today),
        "clv": clv,
        "loyal_base": {"min_orders": options.loyal_min_orders, "customers": loyal,
                       "share_percent": percent(loyal, at_end)},
    }
