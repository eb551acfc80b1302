"""The retention report: every metric for one shop and period, as the documented JSON
(``analytics/REPORT_FORMAT.md``), and as a text table."""

import json
from datetime import date
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from analytics.services.base import Period
from analytics.services.cohorts import cohort_retention
from analytics.services.options import ReportOptions, report_options
from analytics.services.programs import campaign_return, loyalty_return, nps
from analytics.services.retention import (
    active_customers,
    churn,
    customer_retention,
    loyal_base,
    purchase_frequency,
    repeat_purchase_rate,
)
from analytics.services.rollup_report import rollup_active_customers_on, rollup_report
from analytics.services.rollups import rollups_state
from analytics.services.value import average_order_value, customer_lifetime_value, profit_per_order
from commerce.models import Shop
from retention_app.money import money_str

REPORT_VERSION = 1
TYPICAL_RETENTION_LOW = 20
TYPICAL_RETENTION_HIGH = 35

DEFINITIONS = {
    "crr_percent": gettext_lazy(
        "Customer retention rate = (E − N) / S × 100. S: customers active the day before the period, E: customers "
        "active on its last day, N: customers whose first order is in the period. Active: an order in the "
        "%(activity_days)s days up to that day."),
    "repeat_purchase_rate_percent": gettext_lazy(
        "Share of the customers who ordered in the period that ordered more than once in it."),
    "purchase_frequency": gettext_lazy("Orders per customer who ordered in the period."),
    "average_order_value": gettext_lazy(
        "Net revenue (totals minus refunds, tax and shipping included) per order placed in the period."),
    "churn_rate_percent": gettext_lazy(
        "Share of the customers active the day before the period (S) without an order in the %(churn_days)s days "
        "up to its last day."),
    "revenue_lost": gettext_lazy(
        "What the churned customers spent in the 365 days up to their last order."),
    "profit_per_order": gettext_lazy(
        "(Sales before discounts − discounts − refunds − product cost − fulfilment cost) per order. Tax is left "
        "out; shipping charged is taken to pay the carrier."),
    "cohorts": gettext_lazy(
        "Customers by month of first order, and the share of them ordering in each later month."),
    "historic_clv": gettext_lazy("Mean net revenue per customer up to the period's end."),
    "predicted_clv": gettext_lazy(
        "Expected net revenue per customer in the next %(clv_horizon_weeks)s weeks (BG/NBD + Gamma-Gamma)."),
    "loyal_base": gettext_lazy(
        "Customers active at the period's end with at least %(loyal_min_orders)s orders."),
    "redemption_rate_percent": gettext_lazy("Points redeemed in the period per point earned in it."),
    "nps": gettext_lazy("Net Promoter Score: % promoters (9–10) − % detractors (0–6)."),
}


def industry_context(*, crr_percent: Decimal | None) -> dict[str, Any]:
    """Where the shop's CRR stands against the typical 20–35 % of e-commerce (bounds included in
    "within"); ``position`` is ``None`` when there is no CRR."""
    position = None
    if crr_percent is not None:
        position = ("below" if crr_percent < TYPICAL_RETENTION_LOW
                    else "above" if crr_percent > TYPICAL_RETENTION_HIGH else "within")
    return {"typical_low": TYPICAL_RETENTION_LOW, "typical_high": TYPICAL_RETENTION_HIGH, "position": position}


def retention_report(*, shop: Shop, start: date, end: date, options: ReportOptions | None = None) -> dict[str, Any]:
    """Every metric of the period ``start``..``end`` (local dates, both included) for one shop."""
    options = options or report_options(shop=shop)
    retention = customer_retention(shop=shop, start=start, end=end, activity_days=options.activity_days)
    repeat = repeat_purchase_rate(shop=shop, start=start, end=end)
    frequency = purchase_frequency(shop=shop, start=start, end=end)
    value = average_order_value(shop=shop, start=start, end=end)
    figures = {
        **retention,
        "repeat_purchase_rate_percent": repeat["repeat_purchase_rate_percent"],
        "period_customers": repeat["period_customers"],
        "repeat_customers": repeat["repeat_customers"],
        "purchase_frequency": frequency["purchase_frequency"],
        "customer_orders": frequency["customer_orders"],
        **value,
        "cohorts": cohort_retention(shop=shop, start=start, end=end),
        "clv": customer_lifetime_value(shop=shop, end=end, horizon_weeks=options.clv_horizon_weeks),
        "loyal_base": loyal_base(shop=shop, end=end, activity_days=options.activity_days,
                                 min_orders=options.loyal_min_orders),
    }
    return _report(shop=shop, start=start, end=end, options=options, figures=figures)


def retention_report_from_rollups(
    *, shop: Shop, start: date, end: date, options: ReportOptions | None = None
) -> dict[str, Any]:
    """``retention_report``'s document with every figure the rollups answer taken from them
    (``rollup_report``: customers, retention, orders, cohorts, CLV, loyal base) and the rest from
    the orders (revenue lost, profit, loyalty, campaigns, NPS).  Same numbers, as fresh as the
    last ``rollups_refresh``."""
    options = options or report_options(shop=shop)
    figures = rollup_report(shop=shop, start=start, end=end, options=options)
    return _report(shop=shop, start=start, end=end, options=options, figures=figures)


def retention_report_for_pages(*, shop: Shop, start: date, end: date) -> dict[str, Any]:
    """What the merchant's pages show: the report from the rollups once the shop's are built (the
    beat's ``rollups_refresh``; the same numbers, far faster), else from the orders."""
    if rollups_state(shop=shop) is not None:
        return retention_report_from_rollups(shop=shop, start=start, end=end)
    return retention_report(shop=shop, start=start, end=end)


def active_customers_on_days(*, shop: Shop, days: list[date], activity_days: int) -> list[int]:
    """Active customers on each of ``days``: one pass over the rollups once they are built, else
    ``active_customers`` day by day."""
    if rollups_state(shop=shop) is not None:
        return rollup_active_customers_on(shop=shop, days=days, activity_days=activity_days)
    return [active_customers(shop=shop, day=day, activity_days=activity_days) for day in days]


def _report(*, shop: Shop, start: date, end: date, options: ReportOptions, figures: dict[str, Any]) -> dict[str, Any]:
    """The document around the customer and order figures: churn's revenue lost, profit, the
    programs' sections, settings, definitions and warnings."""
    period = Period.of(shop=shop, start=start, end=end)
    churned = churn(shop=shop, start=start, end=end, activity_days=options.activity_days, churn_days=options.churn_days)
    profit = profit_per_order(shop=shop, start=start, end=end,
                              fulfilment_cost_per_order=options.fulfilment_cost_per_order)
    settings = {
        "activity_days": options.activity_days,
        "churn_days": options.churn_days,
        "fulfilment_cost_per_order": money_str(options.fulfilment_cost_per_order),
        "loyal_min_orders": options.loyal_min_orders,
        "clv_horizon_weeks": options.clv_horizon_weeks,
    }
    report: dict[str, Any] = {
        "version": REPORT_VERSION,
        "shop": shop.domain,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "currency": shop.currency,
        "timezone": str(period.zone),
        "settings": settings,
        "customers": figures["customers"],
        "crr_percent": figures["crr_percent"],
        "repeat_purchase_rate_percent": figures["repeat_purchase_rate_percent"],
        "period_customers": figures["period_customers"],
        "repeat_customers": figures["repeat_customers"],
        "purchase_frequency": figures["purchase_frequency"],
        "customer_orders": figures["customer_orders"],
        "orders": figures["orders"],
        "revenue": figures["revenue"],
        "average_order_value": figures["average_order_value"],
        "churn_rate_percent": churned["churn_rate_percent"],
        "churned_customers": churned["churned_customers"],
        "revenue_lost": churned["revenue_lost"],
        "profit_per_order": profit["profit_per_order"],
        "profit": profit["profit"],
        "cohorts": figures["cohorts"],
        "clv": figures["clv"],
        "nps": nps(shop=shop, start=start, end=end),
        "loyal_base": figures["loyal_base"],
        "loyalty": loyalty_return(shop=shop, start=start, end=end),
        "campaigns": campaign_return(shop=shop, start=start, end=end),
        "industry_context": industry_context(crr_percent=figures["crr_percent"]),
        "definitions": {key: str(text) % settings if "%(" in str(text) else str(text)
                        for key, text in DEFINITIONS.items()},
        "warnings": _warnings(period=period, options=options, value=figures, profit=profit),
    }
    return report


def _warnings(*, period: Period, options: ReportOptions, value: dict[str, Any], profit: dict[str, Any]) -> list[str]:
    warnings = []
    if period.days > options.activity_days:
        warnings.append(f"the period ({period.days} days) is longer than the activity window "
                        f"({options.activity_days} days): new customers of its start may be inactive by its end, "
                        f"so CRR undercounts")
    if value["orders_in_other_currency"]:
        warnings.append(f"{value['orders_in_other_currency']} orders are in a currency other than the shop's and "
                        f"are left out of every amount")
    if profit["profit"]["orders_without_cost"]:
        warnings.append(f"{profit['profit']['orders_without_cost']} orders have no known product cost: profit is "
                        f"overstated by it")
    return warnings


# --- output ----------------------------------------------------------------------------------------------------


def report_json(report: dict[str, Any], *, indent: int = 2) -> str:
    """The report as JSON, with ``Decimal`` values (percentages, ratios, NPS) written as JSON
    numbers exactly as quantised (``90.00``), which ``json.dumps`` cannot do."""
    return _encode(report, indent, 0) + "\n"


def _encode(value: Any, indent: int, depth: int) -> str:
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"not a finite number: {value}")
        return format(value, "f")
    if isinstance(value, dict):
        if not value:
            return "{}"
        inner, outer = "\n" + " " * (indent * (depth + 1)), "\n" + " " * (indent * depth)
        items = [f"{json.dumps(str(key), ensure_ascii=False)}: {_encode(item, indent, depth + 1)}"
                 for key, item in value.items()]
        return "{" + inner + ("," + inner).join(items) + outer + "}"
    if isinstance(value, (list, tuple)):
        if not value:
            return "[]"
        if all(not isinstance(item, (dict, list, tuple)) for item in value):
            return "[" + ", ".join(_encode(item, indent, depth + 1) for item in value) + "]"
        inner, outer = "\n" + " " * (indent * (depth + 1)), "\n" + " " * (indent * depth)
        return "[" + inner + ("," + inner).join(_encode(item, indent, depth + 1) for item in value) + outer + "]"
    return json.dumps(value, ensure_ascii=False, allow_nan=False)


# --- text output ------------------------------------------------------------------------------------------------

EMPTY = "—"


def _percent(value: Any) -> str:
    return EMPTY if value is None else f"{value} %"


def _money(value: Any, currency: str) -> str:
    return EMPTY if value is None else f"{value} {currency}"


def _plain(value: Any) -> str:
    return EMPTY if value is None else str(value)


def report_table(report: dict[str, Any]) -> str:
    """The report as aligned text for a terminal (``retention_report --format table``)."""
    currency = report["currency"]
    definitions = report["definitions"]
    customers = report["customers"]
    clv = report["clv"]
    loyal = report["loyal_base"]
    context = report["industry_context"]
    rows: list[tuple[str, str, str]] = [
        (_("Customer retention rate (CRR)"), _percent(report["crr_percent"]), definitions["crr_percent"]),
        ("  S / E / N", f"{customers['start']} / {customers['end']} / {customers['new']}", ""),
        (_("Typical retention"), f"{context['typical_low']}–{context['typical_high']} %",
         _("position: %(position)s") % {"position": context["position"] or EMPTY}),
        (_("Repeat purchase rate"), _percent(report["repeat_purchase_rate_percent"]),
         definitions["repeat_purchase_rate_percent"]),
        (_("Purchase frequency"), _plain(report["purchase_frequency"]), definitions["purchase_frequency"]),
        (_("Orders"), str(report["orders"]), ""),
        (_("Revenue"), _money(report["revenue"], currency), ""),
        (_("Average order value"), _money(report["average_order_value"], currency),
         definitions["average_order_value"]),
        (_("Churn rate"), _percent(report["churn_rate_percent"]), definitions["churn_rate_percent"]),
        (_("Churned customers"), str(report["churned_customers"]), ""),
        (_("Revenue lost"), _money(report["revenue_lost"], currency), definitions["revenue_lost"]),
        (_("Profit per order"), _money(report["profit_per_order"], currency), definitions["profit_per_order"]),
        (_("Historic CLV"), _money(clv["historic_mean"], currency), definitions["historic_clv"]),
        (_("Predicted CLV"), _money(clv["predicted_mean"], currency),
         definitions["predicted_clv"] if clv["model"] else clv["reason"] or ""),
        (_("Loyal base"), f"{loyal['customers']} ({_percent(loyal['share_percent'])})", definitions["loyal_base"]),
        (_("NPS"), _plain(report["nps"]["score"]) if report["nps"] else EMPTY, definitions["nps"]),
    ]
    loyalty = report["loyalty"]
    for key, label in (("members", _("Members")), ("non_members", _("Non-members"))):
        group = loyalty[key]
        rows.append((label, f"{group['customers']} / {_money(group['spend'], currency)}",
                     _("customers / spend; %(frequency)s orders each, %(aov)s per order") % {
                         "frequency": _plain(group["purchase_frequency"]),
                         "aov": _money(group["average_order_value"], currency)}))
    rows.append((_("Redemption rate"), _percent(loyalty["redemption_rate_percent"]),
                 definitions["redemption_rate_percent"]))
    rows.append((_("Points liability"), _money(loyalty["points_liability"], currency), ""))
    for flow in report["campaigns"]["flows"]:
        rows.append((_("Flow %(name)s") % {"name": flow["name"]}, _money(flow["revenue"], currency),
                     _("%(orders)s orders, discount cost %(discount)s") % {
                         "orders": flow["orders"], "discount": _money(flow["discount_cost"], currency)}))
    label_width = max(len(label) for label, _value, _definition in rows)
    value_width = max(len(value) for _label, value, _definition in rows)
    lines = [
        f"{report['shop']}  {report['start']} … {report['end']}  ({currency}, {report['timezone']})",
        "",
        *(f"{label:<{label_width}}  {value:>{value_width}}  {definition}".rstrip()
          for label, value, definition in rows),
        "",
        _("Cohorts (share ordering in month k after the first order, %)"),
        *_cohort_lines(report["cohorts"]),
    ]
    if report["warnings"]:
        lines += ["", *(f"! {warning}" for warning in report["warnings"])]
    return "\n".join(lines) + "\n"


def _cohort_lines(cohorts: list[dict[str, Any]]) -> list[str]:
    """The triangle; a month not over yet is marked ``*`` (its share is so far, not a drop)."""
    width = max((len(cohort["retention_percent"]) for cohort in cohorts), default=0)
    header = f"{'':<7} {'':>6} " + " ".join(f"{'m' + str(k):>6}" for k in range(width))
    lines = [header.rstrip()]
    for cohort in cohorts:
        # partial months are the latest: the mark ends a row, it never pushes a later column
        cells = " ".join(f"{_plain(value):>6}{'*' if partial else ''}"
                         for value, partial in zip(cohort["retention_percent"], cohort["retention_partial"],
                                                   strict=True))
        size = f"{cohort['size']:>6}{'*' if cohort['partial'] else ''}"
        lines.append(f"{cohort['month']:<7} {size} {cells}".rstrip())
    if any(cohort["partial"] or any(cohort["retention_partial"]) for cohort in cohorts):
        lines.append(_("* month not over yet: the figure so far, not a drop"))
    return lines
