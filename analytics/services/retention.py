"""Customer retention: activity, CRR, churn and the revenue it costs, repeat purchases, the loyal base.

A customer is *active* on day D when they have a counted order (``base.customer_orders``) in the
``activity_days`` local days ending on D (D included).  Each function is one or two SQL
aggregations and returns the fragment of the report it fills.
"""

from datetime import date, timedelta
from typing import Any

from django.db.models import Count, DateTimeField, Exists, ExpressionWrapper, F, Min, OuterRef, Q, Subquery, Sum

from analytics.models import DEFAULT_ACTIVITY_DAYS, DEFAULT_CHURN_DAYS, DEFAULT_LOYAL_MIN_ORDERS
from analytics.services.base import (
    NET_VALUE,
    Period,
    customer_orders,
    in_range,
    money,
    money_orders,
    percent,
    ratio,
)
from commerce.models import Customer, Shop

# Revenue lost with a churned customer: what they spent in this many days up to their last order.
TRAILING_DAYS = 365


def active_customers(*, shop: Shop, day: date, activity_days: int = DEFAULT_ACTIVITY_DAYS) -> int:
    """Customers with a counted order in the ``activity_days`` days ending on ``day``."""
    since, until = Period.of(shop=shop, start=day, end=day).window(day=day, days=activity_days)
    return in_range(customer_orders(shop=shop), since, until).aggregate(
        n=Count("customer_id", distinct=True))["n"]


def new_customers(*, shop: Shop, start: date, end: date) -> int:
    """Customers whose first counted order ever falls in the period."""
    period = Period.of(shop=shop, start=start, end=end)
    return (
        customer_orders(shop=shop).filter(processed_at__lt=period.until)
        .values("customer_id").annotate(first_at=Min("processed_at")).filter(first_at__gte=period.since)
        .count()
    )


def customer_retention(
    *, shop: Shop, start: date, end: date, activity_days: int = DEFAULT_ACTIVITY_DAYS
) -> dict[str, Any]:
    """Customer retention rate ``CRR = (E − N) / S × 100``.

    S: customers active on the day before the period starts; E: customers active on its last
    day; N: customers whose first order falls in the period.  ``crr_percent`` is ``None`` when S
    is 0.  With a period longer than the activity window, new customers of its first part may be
    inactive again by its end and E − N undercounts the retained ones (the report warns).
    """
    period = Period.of(shop=shop, start=start, end=end)
    at_start = active_customers(shop=shop, day=period.start - timedelta(days=1), activity_days=activity_days)
    at_end = active_customers(shop=shop, day=period.end, activity_days=activity_days)
    new = new_customers(shop=shop, start=start, end=end)
    return {
        "customers": {"start": at_start, "end": at_end, "new": new},
        "crr_percent": percent(at_end - new, at_start),
    }


def repeat_purchase_rate(*, shop: Shop, start: date, end: date) -> dict[str, Any]:
    """Share of the period's customers (a counted order in the period) with more than one
    counted order in the period: the same customers and orders as ``purchase_frequency``."""
    period = Period.of(shop=shop, start=start, end=end)
    per_customer = (
        in_range(customer_orders(shop=shop), period.since, period.until)
        .values("customer_id").annotate(orders=Count("pk"))
    )
    counts = per_customer.aggregate(customers=Count("customer_id"),
                                    repeat=Count("customer_id", filter=Q(orders__gte=2)))
    return {
        "period_customers": counts["customers"],
        "repeat_customers": counts["repeat"],
        "repeat_purchase_rate_percent": percent(counts["repeat"], counts["customers"]),
    }


def purchase_frequency(*, shop: Shop, start: date, end: date) -> dict[str, Any]:
    """Counted orders per customer who ordered in the period (two decimals; ``None`` if none did)."""
    period = Period.of(shop=shop, start=start, end=end)
    counts = in_range(customer_orders(shop=shop), period.since, period.until).aggregate(
        orders=Count("pk"), customers=Count("customer_id", distinct=True))
    return {
        "customer_orders": counts["orders"],
        "period_customers": counts["customers"],
        "purchase_frequency": ratio(counts["orders"], counts["customers"]),
    }


def churn(
    *,
    shop: Shop,
    start: date,
    end: date,
    activity_days: int = DEFAULT_ACTIVITY_DAYS,
    churn_days: int = DEFAULT_CHURN_DAYS,
) -> dict[str, Any]:
    """Churn: the customers active on the day before the period (CRR's S) who have no counted
    order in the ``churn_days`` days ending on the period's last day, as a share of S.

    With ``churn_days == activity_days`` (the default) this is exactly the part of S that is no
    longer active at the end, so ``churn_rate_percent`` = 100 − (share of S still active); CRR
    can be higher than that complement because E − N also counts customers who came back after
    a lapse.  ``revenue_lost``: what the churned customers spent (net, shop money) in the 365
    days up to and including their last counted order: the trailing-year revenue that left.
    """
    period = Period.of(shop=shop, start=start, end=end)
    base = customer_orders(shop=shop)
    at_start = in_range(base, *period.window(day=period.start - timedelta(days=1), days=activity_days))
    recent = in_range(base, *period.window(day=period.end, days=churn_days))
    start_customers = Customer.objects.filter(shop=shop, pk__in=at_start.values("customer_id"))
    # NOT EXISTS, not NOT IN: PostgreSQL can only hash a NOT IN subquery that fits in work_mem,
    # and otherwise rescans it per customer (minutes at 1M orders; bench/retention_report.py).
    churned = start_customers.filter(~Exists(recent.filter(customer_id=OuterRef("pk"))))
    start_count, churned_count = start_customers.count(), churned.count()
    last_order_at = (
        base.filter(customer_id=OuterRef("customer_id"), processed_at__lt=period.until)
        .order_by("-processed_at").values("processed_at")[:1]
    )
    lost = (
        money_orders(shop=shop, customers_only=True)
        .filter(customer_id__in=churned.values("pk"), processed_at__lt=period.until)
        .alias(last_at=Subquery(last_order_at))
        .filter(processed_at__gt=ExpressionWrapper(F("last_at") - timedelta(days=TRAILING_DAYS),
                                                   output_field=DateTimeField()))
        .aggregate(revenue=Sum(NET_VALUE))["revenue"]
    )
    return {
        "customers_start": start_count,
        "churned_customers": churned_count,
        "churn_rate_percent": percent(churned_count, start_count),
        "revenue_lost": money(lost),
    }


def loyal_base(
    *,
    shop: Shop,
    end: date,
    activity_days: int = DEFAULT_ACTIVITY_DAYS,
    min_orders: int = DEFAULT_LOYAL_MIN_ORDERS,
) -> dict[str, Any]:
    """The loyal base: customers active on ``end`` with at least ``min_orders`` counted orders up
    to that day.  Orders, not loyalty membership: it works for shops without a program and for
    imported history (members are compared in the loyalty section)."""
    period = Period.of(shop=shop, start=end, end=end)
    since, until = period.window(day=end, days=activity_days)
    base = customer_orders(shop=shop)
    active = in_range(base, since, until).values("customer_id")
    loyal = (
        base.filter(processed_at__lt=until, customer_id__in=active)
        .values("customer_id").annotate(orders=Count("pk")).filter(orders__gte=min_orders).count()
    )
    active_count = active_customers(shop=shop, day=end, activity_days=activity_days)
    return {
        "min_orders": min_orders,
        "customers": loyal,
        "share_percent": percent(loyal, active_count),
    }
