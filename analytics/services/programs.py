"""What the retention programs return: loyalty members against non-members, points, campaign
flows, and the customers' NPS."""

from datetime import date
from decimal import Decimal
from typing import Any

from django.db.models import Count, Exists, ExpressionWrapper, F, OuterRef, Q, Sum

from analytics.services.base import MONEY, NET_VALUE, Period, in_range, money, money_orders, money_per, percent, ratio
from campaigns.models import Attribution
from commerce.models import Shop
from loyalty.models import Account, Program
from loyalty.selectors import points_accounting
from retention_app.money import ZERO
from surveys import selectors as survey_selectors


def _group(customers: int, orders: int, spend: Decimal | None) -> dict[str, Any]:
    return {
        "customers": customers,
        "orders": orders,
        "spend": money(spend),
        "purchase_frequency": ratio(orders, customers),
        "average_order_value": money_per(spend, orders),
        "spend_per_customer": money_per(spend, customers),
    }


def loyalty_return(*, shop: Shop, start: date, end: date) -> dict[str, Any]:
    """Members against non-members among the period's customers, and the points in the period.

    A member is a customer with a loyalty account opened before the period's end; spend is net
    revenue (shop money) of their counted orders in the period.  ``redemption_rate_percent`` is
    the points redeemed in the period over the points earned in it (``loyalty.selectors.
    points_accounting``, whose liability values the outstanding points at the program's point
    value)."""
    period = Period.of(shop=shop, start=start, end=end)
    orders = in_range(money_orders(shop=shop, customers_only=True), period.since, period.until).alias(
        is_member=Exists(Account.objects.filter(shop=shop, customer_id=OuterRef("customer_id"),
                                                created_at__lt=period.until)))
    member, other = Q(is_member=True), Q(is_member=False)
    totals = orders.aggregate(
        member_customers=Count("customer_id", distinct=True, filter=member),
        member_orders=Count("pk", filter=member),
        member_spend=Sum(NET_VALUE, filter=member),
        other_customers=Count("customer_id", distinct=True, filter=other),
        other_orders=Count("pk", filter=other),
        other_spend=Sum(NET_VALUE, filter=other),
    )
    program = Program.objects.filter(shop=shop).first()
    earned = redeemed = outstanding = 0
    liability = money(ZERO)
    # A shop that never had a program has no points (and no point value to price them at).
    if program is not None:
        points = points_accounting(shop=shop, start=start, end=end)
        earned = sum(day["earned"] for day in points["days"].values())
        redeemed = -sum(day["redeemed"] for day in points["days"].values())
        outstanding, liability = points["outstanding_points"], points["liability"]
    return {
        "program_enabled": bool(program and program.is_enabled),
        "members": _group(totals["member_customers"], totals["member_orders"], totals["member_spend"]),
        "non_members": _group(totals["other_customers"], totals["other_orders"], totals["other_spend"]),
        "points": {"earned": earned, "redeemed": redeemed, "outstanding": outstanding},
        "redemption_rate_percent": percent(redeemed, earned),
        "points_liability": liability,
    }


def campaign_return(*, shop: Shop, start: date, end: date) -> dict[str, Any]:
    """Per flow (``campaigns.models.Attribution``): the counted orders of the period credited to
    it, their net revenue now (later refunds and cancellations included, unlike the snapshot on
    the attribution) and the discount they used; and the flows' share of the period's revenue."""
    period = Period.of(shop=shop, start=start, end=end)
    orders = in_range(money_orders(shop=shop), period.since, period.until)
    order_value = ExpressionWrapper(F("order__total") - F("order__total_refunded"), output_field=MONEY)
    rows = list(
        Attribution.objects.filter(shop=shop, order__in=orders.values("pk"))
        .values("flow__key", "flow__name")
        .annotate(orders=Count("pk"), revenue=Sum(order_value), discount=Sum("discount"))
        .order_by("flow__key")
    )
    revenue = sum((row["revenue"] or ZERO for row in rows), ZERO)
    period_revenue = orders.aggregate(revenue=Sum(NET_VALUE))["revenue"] or ZERO
    return {
        "flows": [
            {"flow": row["flow__key"], "name": row["flow__name"], "orders": row["orders"],
             "revenue": money(row["revenue"]), "discount_cost": money(row["discount"])}
            for row in rows
        ],
        "revenue": money(revenue),
        "discount_cost": money(sum((row["discount"] or ZERO for row in rows), ZERO)),
        "share_of_revenue_percent": percent(revenue, period_revenue),
    }


def nps(*, shop: Shop, start: date, end: date) -> dict[str, Any] | None:
    """The NPS of the period and its months (``surveys.selectors``); ``None`` without responses."""
    summary = survey_selectors.nps_summary(shop=shop, start=start, end=end)
    if not summary["responses"]:
        return None
    months = survey_selectors.nps_by_month(shop=shop, start=start, end=end)
    return {**summary, "by_month": [{**row, "month": row["month"].strftime("%Y-%m")} for row in months]}
