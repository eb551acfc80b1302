"""What orders and customers are worth: average order value, profit per order, historic and
predicted customer lifetime value (BG/NBD + Gamma-Gamma, ``analytics.clv``)."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import numpy as np
from django.db import connection
from django.db.models import Count, Exists, ExpressionWrapper, F, OuterRef, Q, QuerySet, Sum
from django.db.models.functions import TruncDate
from numpy.typing import NDArray

from analytics import clv
from analytics.models import ImportedOrderCost
from analytics.services.base import (
    MONEY,
    NET_VALUE,
    Period,
    counted_orders,
    in_range,
    money,
    money_orders,
    money_per,
)
from commerce.models import Order, OrderLine, Refund, Shop
from retention_app.money import ZERO

# Below these the BG/NBD and Gamma-Gamma estimates are too noisy to show (the fit may still converge).
CLV_MIN_CUSTOMERS = 100
CLV_MIN_REPEAT_CUSTOMERS = 30
CLV_MODEL_NAME = "BG/NBD + Gamma-Gamma"
CLV_TIME_UNIT = "weeks"
DAYS_PER_WEEK = 7.0


def average_order_value(*, shop: Shop, start: date, end: date) -> dict[str, Any]:
    """Net revenue (totals minus refunds, tax and shipping included) per counted order placed in
    the period, guest orders included."""
    period = Period.of(shop=shop, start=start, end=end)
    orders = in_range(money_orders(shop=shop), period.since, period.until)
    totals = orders.aggregate(orders=Count("pk"), revenue=Sum(NET_VALUE))
    other = in_range(counted_orders(shop=shop), period.since, period.until).exclude(currency=shop.currency).count()
    return {
        "orders": totals["orders"],
        "revenue": money(totals["revenue"]),
        "average_order_value": money_per(totals["revenue"], totals["orders"]),
        "orders_in_other_currency": other,
    }


def _product_cost(*, shop: Shop, orders: QuerySet[Order]) -> tuple[Decimal, int]:
    """Product cost of ``orders`` and how many of them have no known cost.

    An imported order's cost is its ``ImportedOrderCost``; otherwise each line costs quantity ×
    its variant's ``unit_cost``.  An order without lines, or with a line whose cost is unknown,
    counts as without cost (its profit is overstated by that cost)."""
    imported = ImportedOrderCost.objects.filter(shop=shop, order_id=OuterRef("pk"))
    imported_cost = ImportedOrderCost.objects.filter(shop=shop, order__in=orders.values("pk")).aggregate(
        cost=Sum("cost"))["cost"] or ZERO
    lines = OrderLine.objects.filter(shop=shop, order__in=orders.filter(~Exists(imported)).values("pk"))
    line_cost = lines.aggregate(cost=Sum(ExpressionWrapper(F("quantity") * F("variant__unit_cost"),
                                                           output_field=MONEY)))["cost"] or ZERO
    line_of_order = OrderLine.objects.filter(shop=shop, order_id=OuterRef("pk"))
    without_cost = orders.filter(~Exists(imported)).filter(
        ~Exists(line_of_order) | Exists(line_of_order.filter(Q(variant__isnull=True)
                                                             | Q(variant__unit_cost__isnull=True)))
    ).count()
    return imported_cost + line_cost, without_cost


def profit_per_order(
    *, shop: Shop, start: date, end: date, fulfilment_cost_per_order: Decimal = ZERO
) -> dict[str, Any]:
    """Profit per counted order placed in the period (guest orders included):

    ``(gross sales − discounts − refunds − product cost − shipping cost − fulfilment cost) / orders``

    - gross sales = total − tax − shipping charged + discounts: what the goods were priced at;
      tax is the state's money, not the shop's.
    - shipping: what the customer paid for shipping is taken to pass through to the carrier, so
      it is left out of the sales and the shipping cost is taken to equal it (we do not see the
      carriers' invoices).  A shop that pays for shipping itself (free shipping) adds its average
      cost to ``fulfilment_cost_per_order``.
    - refunds: ``Order.total_refunded`` minus refunded shipping, at the order's date.  Refunded
      tax, when the platform includes it, is subtracted too (a small understatement).
    - product cost: see ``_product_cost``; returned goods are not credited back (we do not know
      whether they were restocked).
    """
    period = Period.of(shop=shop, start=start, end=end)
    orders = in_range(money_orders(shop=shop), period.since, period.until)
    totals = orders.aggregate(orders=Count("pk"), total=Sum("total"), tax=Sum("total_tax"),
                              shipping=Sum("total_shipping"), discounts=Sum("total_discounts"),
                              refunded=Sum("total_refunded"))
    count = totals["orders"]
    refunded_shipping = Refund.objects.filter(shop=shop, order__in=orders.values("pk")).aggregate(
        shipping=Sum("shipping_amount"))["shipping"] or ZERO
    product_cost, without_cost = _product_cost(shop=shop, orders=orders)
    discounts = totals["discounts"] or ZERO
    gross_sales = (totals["total"] or ZERO) - (totals["tax"] or ZERO) - (totals["shipping"] or ZERO) + discounts
    refunds = (totals["refunded"] or ZERO) - refunded_shipping
    fulfilment = Decimal(fulfilment_cost_per_order) * count
    profit = gross_sales - discounts - refunds - product_cost - fulfilment
    return {
        "profit_per_order": money_per(profit, count),
        "profit": {
            "orders": count,
            "gross_sales": money(gross_sales),
            "discounts": money(discounts),
            "refunds": money(refunds),
            "product_cost": money(product_cost),
            "fulfilment_cost": money(fulfilment),
            "profit": money(profit),
            "orders_without_cost": without_cost,
        },
    }


def historic_clv(*, shop: Shop, end: date) -> dict[str, Any]:
    """Mean net revenue per customer to date: everything customers spent up to ``end``, over the
    customers with a counted order by then."""
    period = Period.of(shop=shop, start=end, end=end)
    totals = money_orders(shop=shop, customers_only=True).filter(processed_at__lt=period.until).aggregate(
        revenue=Sum(NET_VALUE), customers=Count("customer_id", distinct=True))
    return {"customers": totals["customers"], "historic_mean": money_per(totals["revenue"], totals["customers"])}


@dataclass(frozen=True)
class CustomerSummary:
    """Per customer, as of a day: the (x, t_x, T, m) of Fader, Hardie & Lee, in weeks."""

    customer_ids: NDArray[np.int64]
    frequency: NDArray[np.float64]  # repeat purchase days: distinct local purchase days after the first
    recency: NDArray[np.float64]  # weeks from the first to the last purchase day
    T: NDArray[np.float64]  # weeks from the first purchase day to the day of the summary
    monetary: NDArray[np.float64]  # mean net value of the repeat purchase days (0 without any)


_SUMMARY_SQL = """
WITH days (customer_id, purchase_day, day_value) AS ({days}),
ranked AS (
    SELECT customer_id, purchase_day, day_value,
           MIN(purchase_day) OVER (PARTITION BY customer_id) AS first_day
    FROM days
)
SELECT customer_id,
       COUNT(*) - 1 AS frequency,
       MIN(purchase_day) AS first_day,
       MAX(purchase_day) AS last_day,
       SUM(CASE WHEN purchase_day > first_day THEN day_value ELSE 0 END) AS repeat_value
FROM ranked
GROUP BY customer_id
ORDER BY customer_id
"""


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def clv_customer_summary(*, shop: Shop, end: date) -> CustomerSummary:
    """The models' input, summarised in SQL: counted orders (shop money) up to ``end`` grouped
    into local purchase days (several orders on one day are one purchase, their values added),
    then one row per customer."""
    period = Period.of(shop=shop, start=end, end=end)
    days = (
        money_orders(shop=shop, customers_only=True).filter(processed_at__lt=period.until)
        .annotate(purchase_day=TruncDate("processed_at", tzinfo=period.zone))
        .values("customer_id", "purchase_day").annotate(day_value=Sum(NET_VALUE)).order_by()
    )
    return clv_summary_of_days(days=days, end=end)


def clv_summary_of_days(*, days: QuerySet[Any], end: date) -> CustomerSummary:
    """The summary of a query of (customer_id, purchase_day, day_value) rows, one per customer and
    purchase day (from the orders, or from the ``CustomerDay`` rollup)."""
    days_sql, params = days.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(_SUMMARY_SQL.format(days=days_sql), params)
        rows = cursor.fetchall()
    ids = np.array([row[0] for row in rows], dtype=np.int64)
    frequency = np.array([row[1] for row in rows], dtype=np.float64)
    first = [_as_date(row[2]) for row in rows]
    recency = np.array([(_as_date(row[3]) - day).days for row, day in zip(rows, first, strict=True)],
                       dtype=np.float64) / DAYS_PER_WEEK
    age = np.array([(end - day).days for day in first], dtype=np.float64) / DAYS_PER_WEEK
    repeat_value = np.array([float(row[4] or 0) for row in rows], dtype=np.float64)
    monetary = np.divide(repeat_value, frequency, out=np.zeros_like(repeat_value), where=frequency > 0)
    return CustomerSummary(customer_ids=ids, frequency=frequency, recency=recency, T=age, monetary=monetary)


def _number(value: Any, places: int = 6) -> float:
    return round(float(value), places)


def _selection(test: clv.LikelihoodRatioTest, *, full: str, limit: str) -> dict[str, Any]:
    """The report's account of one model choice: which model, and the numbers that decided it."""
    return {"chosen": limit if test.limit_chosen else full,
            "full_log_likelihood": test.full_log_likelihood,
            "limit_log_likelihood": test.limit_log_likelihood,
            "likelihood_ratio": test.statistic,
            "critical_value": test.critical_value}


def predicted_clv(*, shop: Shop, end: date, horizon_weeks: int = 52,
                  summary: CustomerSummary | None = None) -> dict[str, Any]:
    """Predicted CLV over the next ``horizon_weeks`` and P(alive), from BG/NBD + Gamma-Gamma fitted
    on every customer's history up to ``end`` (undiscounted expected net revenue per customer).

    No number is made up: with too few customers or repeat customers, a fit that fails or does
    not converge, or a spend model without a finite mean (q ≤ 1), ``model`` is ``None`` and
    ``reason`` says why.  ``summary``: the model's input when the caller has it (the rollups')."""
    if summary is None:
        summary = clv_customer_summary(shop=shop, end=end)
    customers = int(summary.frequency.size)
    # The spend model is fitted on repeat customers whose repeat purchases are worth something
    # (a customer whose repeat orders were all free has no spend to model).
    repeat = (summary.frequency > 0) & (summary.monetary > 0)
    result: dict[str, Any] = {
        "customers": customers,
        "repeat_customers": int((summary.frequency > 0).sum()),
        "spend_model_customers": int(repeat.sum()),
        "horizon_weeks": horizon_weeks,
        "predicted_mean": None,
        "probability_alive": None,
        "model": None,
        "model_selection": None,
        "reason": None,
    }
    if customers < CLV_MIN_CUSTOMERS:
        result["reason"] = f"too few customers to fit the model ({customers}, at least {CLV_MIN_CUSTOMERS} needed)"
        return result
    if result["spend_model_customers"] < CLV_MIN_REPEAT_CUSTOMERS:
        result["reason"] = (f"too few repeat customers to fit the model ({result['spend_model_customers']}, "
                            f"at least {CLV_MIN_REPEAT_CUSTOMERS} needed)")
        return result
    try:
        purchase_choice = clv.choose_purchase_model(summary.frequency, summary.recency, summary.T)
        spend_choice = clv.choose_spend_model(summary.frequency[repeat], summary.monetary[repeat])
    except (ValueError, ArithmeticError, np.linalg.LinAlgError) as error:
        result["reason"] = f"the model could not be fitted: {error}"
        return result
    result["model_selection"] = {
        "purchases": _selection(purchase_choice.test, full="bg_nbd", limit="constant_dropout"),
        "spend": _selection(spend_choice.test, full="gamma_gamma", limit="constant_spend"),
    }
    purchases, spend = purchase_choice.model, spend_choice.model
    notes = []
    if purchase_choice.test.limit_chosen:
        notes.append("dropout hardly differs between customers (likelihood ratio "
                     f"{purchase_choice.test.statistic:.3f} <= {purchase_choice.test.critical_value}): the model is "
                     "BG/NBD's limit a, b -> infinity, one dropout probability for everyone")
    if spend_choice.test.limit_chosen:
        notes.append("mean spend hardly differs between customers (likelihood ratio "
                     f"{spend_choice.test.statistic:.3f} <= {spend_choice.test.critical_value}): the model is "
                     "Gamma-Gamma's limit q, v -> infinity, every customer's expected purchase value is the mean "
                     "repeat purchase value")
    if not purchases.converged:
        result["reason"] = "the BG/NBD fit did not converge"
        return result
    if not spend.converged:
        result["reason"] = "the Gamma-Gamma fit did not converge"
        return result
    if isinstance(spend, clv.GammaGammaFit) and spend.q <= 1:
        result["reason"] = "the Gamma-Gamma fit has q <= 1: mean spend per purchase is not finite"
        return result
    alive = clv.probability_alive(purchases, summary.frequency, summary.recency, summary.T)
    values = clv.predicted_clv(purchases, spend, summary.frequency, summary.recency, summary.T,
                               summary.monetary, horizon_weeks)
    if not (np.all(np.isfinite(alive)) and np.all(np.isfinite(values))):
        result["reason"] = "the model gave non-finite predictions"
        return result
    if isinstance(purchases, clv.ConstantDropoutFit):
        dropout: dict[str, Any] = {"a": None, "b": None, "dropout_probability": _number(purchases.p)}
    else:
        dropout = {"a": _number(purchases.a), "b": _number(purchases.b)}
    if isinstance(spend, clv.ConstantSpendFit):
        spend_params: dict[str, Any] = {"p": _number(spend.p), "q": None, "v": None, "nu": _number(spend.nu)}
    else:
        spend_params = {"p": _number(spend.p), "q": _number(spend.q), "v": _number(spend.v)}
    limits = [name for name, used in (("constant-dropout", isinstance(purchases, clv.ConstantDropoutFit)),
                                      ("constant-spend", isinstance(spend, clv.ConstantSpendFit))) if used]
    result.update({
        "predicted_mean": money(Decimal(str(float(np.mean(values))))),
        "probability_alive": {"mean": _number(np.mean(alive), 4), "below_50_percent": int((alive < 0.5).sum())},
        "model": {
            "name": CLV_MODEL_NAME + (f" ({', '.join(limits)} limit)" if limits else ""),
            "time_unit": CLV_TIME_UNIT,
            "params": {"r": _number(purchases.r), "alpha": _number(purchases.alpha), **dropout, **spend_params},
            "log_likelihood": _number(purchases.log_likelihood, clv.LOG_LIKELIHOOD_DECIMALS),
            "gamma_gamma_log_likelihood": _number(spend.log_likelihood, clv.LOG_LIKELIHOOD_DECIMALS),
            "note": "; ".join(notes) or None,
        },
    })
    return result


def customer_lifetime_value(*, shop: Shop, end: date, horizon_weeks: int = 52) -> dict[str, Any]:
    """The report's ``clv`` section: historic mean, and the model's prediction (or why there is none)."""
    return {"historic_mean": historic_clv(shop=shop, end=end)["historic_mean"],
            **predicted_clv(shop=shop, end=end, horizon_weeks=horizon_weeks)}
