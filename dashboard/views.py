"""The merchant dashboard's pages: thin views that call the sources and lay out tables and charts."""

import math
import re
from datetime import timedelta
from decimal import Decimal
from typing import Any

from axes.helpers import get_cool_off
from django.conf import settings
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import translation
from django.utils.cache import add_never_cache_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from analytics.services.base import shop_zone
from campaigns.models import Reason
from dashboard import formatting, sources
from dashboard.auth import (
    DashboardAccess,
    dashboard_view,
    error_page,
    shop_choose,
)
from dashboard.labels import translated
from dashboard.navigation import menu
from dashboard.periods import PRESETS, Period, period_from
from dashboard.plan_usage import plan_notice
from dashboard.tables import Cell, Column, Table, csv_filename, csv_response
from retention_app.errors import ApplicationError

ASSET_VERSION = "7"  # the settings pages: dashboard.css, dashboard.js, nav.js, charts.js
SEGMENT_PAGE_SIZE = 50
# Said of a month that is not over yet (the current one), in the cohort charts' tooltips.
PARTIAL_NOTE = gettext_lazy("month not over yet: the figure so far")

# --- the page frame ----------------------------------------------------------------------------

def _page(request: HttpRequest, access: DashboardAccess, *, view_name: str, title: str, template: str,
          period: Period | None = None, tables: list[Table] | None = None, charts: list[dict[str, Any]] | None = None,
          args: tuple[Any, ...] = (), **context: Any) -> HttpResponse:
    """Render a page, or one of its tables as CSV when asked for ``?format=csv&table=<name>``."""
    tables = tables or []
    range_params = {"start": period.start.isoformat(), "end": period.end.isoformat()} if period else {}
    extra = {key: request.GET[key] for key in ("page",) if request.GET.get(key)}
    for table in tables:
        table.csv_url = access.url(view_name, *args, **range_params, **extra, format="csv", table=table.name)
    if request.GET.get("format") == "csv":
        wanted = next((table for table in tables if table.name == request.GET.get("table")), None)
        if wanted is None:
            raise ApplicationError("no such table on this page", status=404, code="not_found")
        parts = [access.shop.domain, wanted.name]
        if period:
            parts.append(f"{period.start.isoformat()}_{period.end.isoformat()}")
        return csv_response(wanted, filename=csv_filename("comeback", *parts))
    return render(request, template, {
        "access": access,
        "page_title": title,
        "nav": menu(access, current=view_name, params=range_params),
        "saved": request.method == "GET" and request.GET.get("saved") == "1",
        "period": period,
        "period_label": _period_label(period) if period else "",
        "presets": [{"label": label, "url": access.url(view_name, *args, range=key),
                     "current": period is not None and period.preset == key} for key, label in PRESETS.items()]
        if period else [],
        "language_links": [
            {"code": code, "name": translation.get_language_info(code)["name_local"],
             "url": access.url(view_name, *args, **range_params, **extra, locale=code)}
            for code, _name in settings.LANGUAGES
        ] if access.embedded else [],
        "tables": {table.name: table for table in tables},
        "charts": charts or [],
        "plan_notice": plan_notice(shop=access.shop) if view_name != "dashboard:plan" else None,
        "history_importing": sources.history_importing(shop=access.shop),
        "plan_notice_url": access.url("dashboard:plan"),
        "embedded_head": access.admin.head() if access.admin is not None else None,
        "asset_version": ASSET_VERSION,
        **context,
    })


#: The frame every dashboard page is drawn in (the settings pages use it too).
render_page = _page


def _period_label(period: Period) -> str:
    return _("%(start)s – %(end)s") % {"start": formatting.day(period.start), "end": formatting.day(period.end)}


def _chart(chart_id: str, kind: str, title: str, labels: list[str], series: list[dict[str, Any]], *,
           unit: str = "int", currency: str = "", stacked: bool = False, horizontal: bool = False) -> dict[str, Any]:
    """What ``charts.js`` draws; values travel as strings (Decimal) and become numbers only there.  A
    series may flag points ``partial`` (a month not over yet): drawn lighter / dashed, said so in the tooltip."""
    return {"id": chart_id, "kind": kind, "title": title, "labels": labels, "unit": unit, "currency": currency,
            "stacked": stacked, "horizontal": horizontal, "partial_note": str(PARTIAL_NOTE),
            "series": [{"label": str(item["label"]), "data": [_chart_value(value) for value in item["data"]],
                        **({"floating": True} if item.get("floating") else {}),
                        **({"partial": [bool(flag) for flag in item["partial"]]} if any(item.get("partial") or [])
                           else {})}
                       for item in series]}


def _chart_value(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, (list, tuple)):  # a floating bar: [from, to]
        return [_chart_value(part) for part in value]
    return str(value)


# --- pages -------------------------------------------------------------------------------------

@require_GET
@dashboard_view
def overview(request: HttpRequest, access: DashboardAccess) -> HttpResponse:
    return overview_page(request, access)


def overview_page(request: HttpRequest, access: DashboardAccess) -> HttpResponse:
    period = period_from(request.GET, shop=access.shop)
    report = sources.retention_report(shop=access.shop, period=period)
    options = report["settings"]
    activity_days = int(options["activity_days"])
    active = sources.active_customers_by_month(shop=access.shop, period=period, activity_days=activity_days)
    currency = str(report.get("currency") or access.shop.currency)
    customers = report.get("customers") or {}
    clv = report.get("clv") or {}
    context = report["industry_context"]
    loyal = report.get("loyal_base") or {}
    kpis = [
        {"id": "crr", "label": _("Customer retention rate (CRR)"),
         "value": formatting.percent(report.get("crr_percent")),
         "formula": "CRR = (E − N) / S × 100",
         "definition": _("active = an order in the %(days)s days ending that day")
         % {"days": formatting.number(activity_days, 0)},
         "details": [(_("S, active the day before the range"), formatting.number(customers.get("start"), 0)),
                     (_("E, active on its last day"), formatting.number(customers.get("end"), 0)),
                     (_("N, first order in the range"), formatting.number(customers.get("new"), 0))]},
        {"id": "repeat", "label": _("Repeat purchase rate"),
         "value": formatting.percent(report.get("repeat_purchase_rate_percent")),
         "definition": _("Share of the range's customers who ordered more than once in it."),
         "details": [(_("Customers who ordered"), formatting.number(report.get("period_customers"), 0)),
                     (_("Of them, more than once"), formatting.number(report.get("repeat_customers"), 0))]},
        {"id": "churn", "label": _("Churn rate"), "value": formatting.percent(report.get("churn_rate_percent")),
         "definition": _("Share of S without an order in the %(days)s days up to the range's end.")
         % {"days": formatting.number(options["churn_days"], 0)},
         "details": [(_("Churned customers"), formatting.number(report.get("churned_customers"), 0)),
                     (_("Revenue lost with them"), formatting.money(report.get("revenue_lost"), currency))]},
        {"id": "frequency", "label": _("Purchase frequency"),
         "value": formatting.number(report.get("purchase_frequency"), 2),
         "definition": _("Orders per customer who ordered in the range.")},
        {"id": "aov", "label": _("Average order value"),
         "value": formatting.money(report.get("average_order_value"), currency),
         "definition": _("Net revenue per order (after refunds; tax and shipping included)."),
         "details": [(_("Orders"), formatting.number(report.get("orders"), 0)),
                     (_("Revenue"), formatting.money(report.get("revenue"), currency))]},
        {"id": "profit", "label": _("Profit per order"), "value": formatting.money(report.get("profit_per_order"),
                                                                                     currency),
         "definition": _("After discounts, refunds, product cost and fulfilment cost; tax left out.")},
        {"id": "clv", "label": _("Customer lifetime value"),
         "value": formatting.money(clv.get("historic_mean"), currency),
         "definition": _("Historic: mean net revenue per customer up to the range's end."),
         "details": [(_("Predicted, next %(weeks)s weeks") % {"weeks": formatting.number(clv.get("horizon_weeks"), 0)},
                      formatting.money(clv.get("predicted_mean"), currency))],
         "model": _clv_model(clv)},
        {"id": "loyal", "label": _("Loyal base"), "value": formatting.number(loyal.get("customers"), 0),
         "definition": _("Customers active at the range's end with at least %(orders)s orders.")
         % {"orders": formatting.number(loyal.get("min_orders"), 0)},
         "details": [(_("Share of the active customers"), formatting.percent(loyal.get("share_percent")))]},
    ]
    nps = report.get("nps")
    if nps:
        kpis.append({"id": "nps", "label": _("Net Promoter Score"), "value": formatting.number(nps.get("score")),
                     "definition": _("% promoters (9–10) − % detractors (0–6)."),
                     "details": [(_("Responses"), formatting.number(nps.get("responses"), 0))]})
    position = str(context.get("position") or "")
    statements = {
        "below": _("Your retention rate of %(crr)s is below the typical %(low)s–%(high)s of online shops."),
        "within": _("Your retention rate of %(crr)s is within the typical %(low)s–%(high)s of online shops."),
        "above": _("Your retention rate of %(crr)s is above the typical %(low)s–%(high)s of online shops."),
    }
    low, high = context["typical_low"], context["typical_high"]
    industry = {"class": position, "text": statements.get(position, _(
        "Online shops typically keep %(low)s–%(high)s of their customers; there is no retention rate for this range "
        "yet.")) % {"crr": formatting.percent(report.get("crr_percent")), "low": formatting.percent(low, 0),
                    "high": formatting.percent(high, 0)}}
    metrics = Table(name="metrics", caption=_("Retention metrics for the range"), currency=currency,
                    columns=[Column(_("Metric")), Column(_("Value")), Column(_("Unit"))],
                    rows=_metric_rows(report, currency))
    active_table = Table(name="active", caption=_("Active customers at each month's end"),
                         columns=[Column(_("Day"), "day"), Column(_("Active customers"), "int")],
                         rows=[[day, count] for day, count in active])
    charts = [
        _chart("active", "line", _("Active customers"), [formatting.day(day) for day, _count in active],
               [{"label": _("Active customers"), "data": [count for _day, count in active]}]),
        _chart("customers", "bar", _("Customers behind the retention rate"),
               [_("Active before (S)"), _("New in range (N)"), _("Active at end (E)")],
               [{"label": _("Customers"),
                 "data": [customers.get("start"), customers.get("new"), customers.get("end")]}]),
        _chart("industry", "bar", _("Retention against the industry"), [_("Typical range"), _("Your shop")],
               [{"label": _("Retention rate"), "floating": True,
                 "data": [[low, high], [0, report.get("crr_percent") or 0]]}], unit="percent", horizontal=True),
    ]
    return _page(request, access, view_name="dashboard:overview", title=_("Retention overview"),
                 template="dashboard/overview.html", period=period, tables=[metrics, active_table], charts=charts,
                 kpis=kpis, industry=industry, warnings=report.get("warnings") or [])


def _clv_model(clv: dict[str, Any]) -> dict[str, Any]:
    """How far to trust the predicted CLV: the fitted model and its data, or why there is none."""
    model = clv.get("model")
    base = {"customers": formatting.number(clv.get("customers"), 0),
            "repeat_customers": formatting.number(clv.get("repeat_customers"), 0)}
    if not model:
        return {**base, "fitted": False, "reason": clv.get("reason") or ""}
    alive = clv.get("probability_alive") or {}
    return {
        **base, "fitted": True, "name": model.get("name", ""), "time_unit": model.get("time_unit", ""),
        "params": [(name, formatting.number(value, 3)) for name, value in (model.get("params") or {}).items()],
        "log_likelihood": formatting.number(model.get("log_likelihood"), 1),
        "selection": _clv_selection(clv.get("model_selection") or {}),
        "note": model.get("note") or "",
        "alive": formatting.percent(Decimal(str(alive["mean"])) * 100, 1) if alive.get("mean") is not None else "",
    }


def _clv_selection(selection: dict[str, Any]) -> list[tuple[str, str]]:
    """How each model was chosen: the likelihood ratio against the threshold (the numbers the report
    gives, so the label cannot change between page views of the same data)."""
    names = {"bg_nbd": _("BG/NBD"), "constant_dropout": _("constant-dropout limit"),
             "gamma_gamma": _("Gamma-Gamma"), "constant_spend": _("constant-spend limit")}
    lines = []
    for part, label in (("purchases", _("Purchases model")), ("spend", _("Spend model"))):
        choice = selection.get(part)
        if not choice:
            continue
        lines.append((str(label), _("%(model)s (likelihood ratio %(ratio)s, threshold %(threshold)s)") % {
            "model": names.get(choice["chosen"], choice["chosen"]),
            "ratio": formatting.number(choice["likelihood_ratio"], 3),
            "threshold": formatting.number(choice["critical_value"], 3)}))
    return lines


def _metric_rows(report: dict[str, Any], currency: str) -> list[list[Any]]:
    """Every figure of the overview: the value formatted on the page, raw in the CSV."""
    customers = report.get("customers") or {}
    clv = report.get("clv") or {}
    loyal = report.get("loyal_base") or {}
    nps = report.get("nps") or {}
    rows = [
        (_("Customer retention rate (CRR)"), report.get("crr_percent"), "percent", "%"),
        (_("Active customers the day before the range (S)"), customers.get("start"), "int", _("customers")),
        (_("Active customers at the end of the range (E)"), customers.get("end"), "int", _("customers")),
        (_("New customers in the range (N)"), customers.get("new"), "int", _("customers")),
        (_("Repeat purchase rate"), report.get("repeat_purchase_rate_percent"), "percent", "%"),
        (_("Churn rate"), report.get("churn_rate_percent"), "percent", "%"),
        (_("Revenue lost with churned customers"), report.get("revenue_lost"), "money", currency),
        (_("Purchase frequency"), report.get("purchase_frequency"), "decimal", _("orders per customer")),
        (_("Average order value"), report.get("average_order_value"), "money", currency),
        (_("Profit per order"), report.get("profit_per_order"), "money", currency),
        (_("Historic customer lifetime value"), clv.get("historic_mean"), "money", currency),
        (_("Predicted customer lifetime value"), clv.get("predicted_mean"), "money", currency),
        (_("Loyal base"), loyal.get("customers"), "int", _("customers")),
        (_("Net Promoter Score"), nps.get("score"), "decimal", ""),
    ]
    return [[label, Cell(value, kind), unit] for label, value, kind, unit in rows]


@require_GET
@dashboard_view
def cohorts(request: HttpRequest, access: DashboardAccess) -> HttpResponse:
    period = period_from(request.GET, shop=access.shop)
    report = sources.retention_report(shop=access.shop, period=period)
    rows = report.get("cohorts") or []
    width = max((len(row.get("retention_percent") or []) for row in rows), default=0)
    columns = [Column(_("Cohort"), "month"), Column(_("Customers"), "int")]
    columns += [Column(_("Month %(number)s") % {"number": formatting.number(offset, 0)}, "percent")
                for offset in range(width)]
    table = Table(name="cohorts", caption=_("Customers by month of first order, and the share ordering again in "
                                            "each later month"), columns=columns,
                  rows=[[row.get("month"), row.get("size"), *_padded(row.get("retention_percent") or [], width)]
                        for row in rows])
    heat = [{"month": formatting.month(row.get("month")), "size": formatting.number(row.get("size"), 0),
             "partial": bool(row.get("partial")),
             "cells": [_heat_cell(value, partial=bool(partial))
                       for value, partial in zip(_padded(row.get("retention_percent") or [], width),
                                                 _padded(row.get("retention_partial") or [], width), strict=True)]}
            for row in rows]
    # the latest cohorts followed for at least two months after the first: more lines are unreadable
    followed = [row for row in rows if len(row.get("retention_percent") or []) >= 3][-6:]
    later = max((len(row["retention_percent"]) for row in followed), default=1)
    charts = [
        _chart("cohort-sizes", "bar", _("New customers per month"),
               [formatting.month(row.get("month")) for row in rows],
               [{"label": _("Customers"), "data": [row.get("size") for row in rows],
                 "partial": [row.get("partial") for row in rows]}]),
        _chart("cohort-curves", "line", _("Retention by months since the first order"),
               [formatting.number(offset, 0) for offset in range(1, later)],
               [{"label": formatting.month(row.get("month")), "data": row["retention_percent"][1:],
                 "partial": (row.get("retention_partial") or [])[1:]}
                for row in followed],
               unit="percent"),
    ]
    return _page(request, access, view_name="dashboard:cohorts", title=_("Cohorts"), template="dashboard/cohorts.html",
                 period=period, tables=[table], charts=charts if rows else [], heat=heat,
                 offsets=[formatting.number(offset, 0) for offset in range(width)], curves=bool(followed),
                 partial=any(row.get("partial") or any(row.get("retention_partial") or []) for row in rows))


def _padded(values: list[Any], width: int) -> list[Any]:
    return list(values) + [None] * (width - len(values))


HEAT_LEVELS = 12  # the cohort heat map's colour steps beyond the lightest (data-heat 0 ... 12 in dashboard.css)


def _heat_cell(value: Any, *, partial: bool = False) -> dict[str, Any]:
    """A cohort cell: its text and a colour level whose depth follows the share (blank when not yet
    due); a month not over yet is hatched (``partial``): its share is so far, not a drop.  A level
    for the stylesheet, not a style attribute: the Content-Security-Policy allows no inline styles."""
    if value is None:
        return {"text": "", "level": None, "class": "empty", "partial": False}
    share = max(Decimal("0"), min(Decimal("100"), Decimal(str(value))))
    # 0 % -> light; 100 % -> deep teal.  Steeper at the low end, where most repeat shares are.
    strength = min(Decimal("1"), (share / Decimal("40")) ** Decimal("0.7")) if share else Decimal("0")
    level = int((strength * HEAT_LEVELS).to_integral_value())
    return {"text": formatting.percent(value, 1), "level": level,
            "class": ("dark" if level >= 9 else "light") + (" partial" if partial else ""), "partial": partial}


@require_GET
@dashboard_view
def segments(request: HttpRequest, access: DashboardAccess) -> HttpResponse:
    counts = sources.segment_counts(shop=access.shop)
    kinds = {"predefined": _("Predefined"), "merchant": _("Your own")}
    table = Table(name="segments", caption=_("Segments and the number of customers in each"),
                  columns=[Column(_("Segment")), Column(_("Kind")), Column(_("Customers"), "int")],
                  rows=[[row["name"], kinds.get(str(row["kind"]), row["kind"]), row["count"]]
                        for row in counts],
                  links=[access.url("dashboard:segment", row["key"]) for row in counts])
    chart = _chart("segments", "bar", _("Customers per segment"), [row[0] for row in table.rows],
                   [{"label": _("Customers"), "data": [row["count"] for row in counts]}], horizontal=True)
    return _page(request, access, view_name="dashboard:segments", title=_("Segments"),
                 template="dashboard/segments.html", tables=[table], charts=[chart] if counts else [])


@require_GET
@dashboard_view
def segment(request: HttpRequest, access: DashboardAccess, key: str) -> HttpResponse:
    asked = _page_number(request.GET.get("page", "1"))
    result = sources.segment_customers(shop=access.shop, key=key, page=asked, page_size=SEGMENT_PAGE_SIZE)
    last = max(1, -(-int(result["count"]) // SEGMENT_PAGE_SIZE))
    page = min(asked, last)
    if page != asked:  # past the end (a stale link, a hand-typed 10^30): the last page, with a note
        result = sources.segment_customers(shop=access.shop, key=key, page=page, page_size=SEGMENT_PAGE_SIZE)
    customers = result["customers"]
    if request.GET.get("format") == "csv":  # the download is the whole segment, not one page
        customers = sources.segment_all_customers(shop=access.shop, key=key)
    name = str(result["name"])
    table = Table(name="customers", caption=_("Customers in the segment %(segment)s") % {"segment": name},
                  currency=access.shop.currency,
                  columns=[Column(_("Customer")), Column(_("Email")), Column(_("Orders"), "int"),
                           Column(_("Total spent"), "money"), Column(_("First order"), "day"),
                           Column(_("Last order"), "day"), Column("R", "int"), Column("F", "int"), Column("M", "int")],
                  rows=[[row["name"] or row["email"] or row["platform_id"], row["email"], row["orders_count"],
                         row["total_spent"], _local_day(row["first_order_at"], access),
                         _local_day(row["last_order_at"], access), row["r"], row["f"], row["m"]]
                        for row in customers])
    total = int(result["count"])
    pages = max(1, -(-total // SEGMENT_PAGE_SIZE))
    pager = {"page": formatting.number(page, 0), "pages": formatting.number(pages, 0),
             "note": _("There is no page %(asked)s; this is the last page.") % {"asked": formatting.number(asked, 0)}
             if page != asked else "",
             "previous": access.url("dashboard:segment", key, page=page - 1) if page > 1 else "",
             "next": access.url("dashboard:segment", key, page=page + 1) if page < pages else ""}
    return _page(request, access, view_name="dashboard:segment", args=(key,), title=name,
                 template="dashboard/segment.html", tables=[table], pager=pager,
                 total=formatting.number(total, 0), back=access.url("dashboard:segments"))


def _page_number(text: str) -> int:
    """A ``?page=`` as 1..MAX_PAGE: not a number is page 1, anything beyond (30 digits) is MAX_PAGE."""
    text = text.strip()
    if not re.fullmatch(r"-?[0-9]+", text):
        return 1
    if len(text) > len(str(sources.MAX_PAGE)):
        return 1 if text.startswith("-") else sources.MAX_PAGE
    return min(max(int(text), 1), sources.MAX_PAGE)


def _local_day(value: Any, access: DashboardAccess) -> Any:
    """An instant as the shop's local date."""
    if value is None or not hasattr(value, "astimezone"):
        return value
    return value.astimezone(shop_zone(access.shop)).date()


@require_GET
@dashboard_view
def loyalty(request: HttpRequest, access: DashboardAccess) -> HttpResponse:
    period = period_from(request.GET, shop=access.shop)
    report = sources.retention_report(shop=access.shop, period=period)
    accounting = sources.points_accounting(shop=access.shop, period=period)
    currency = str(report.get("currency") or access.shop.currency)
    section = report.get("loyalty") or {}
    groups = [(section.get("members") or {}, _("Members")), (section.get("non_members") or {}, _("Non-members"))]
    comparison = Table(
        name="members", caption=_("Members against non-members among the range's customers"), currency=currency,
        columns=[Column(_("Group")), Column(_("Customers"), "int"), Column(_("Orders"), "int"),
                 Column(_("Spend"), "money"), Column(_("Orders per customer"), "decimal"),
                 Column(_("Average order value"), "money"), Column(_("Spend per customer"), "money")],
        rows=[[label, group.get("customers"), group.get("orders"), group.get("spend"), group.get("purchase_frequency"),
               group.get("average_order_value"), group.get("spend_per_customer")] for group, label in groups],
    )
    days = accounting.get("days") or {}
    kinds = [("earned", _("Earned")), ("redeemed", _("Redeemed")), ("reversed", _("Reversed")),
             ("expired", _("Expired")), ("adjusted", _("Adjusted"))]
    ordered = sorted(days)
    points = Table(name="points", caption=_("Points per day"),
                   columns=[Column(_("Day"), "day"), *[Column(label, "int") for _key, label in kinds]],
                   rows=[[day, *[days[day].get(key, 0) for key, _label in kinds]] for day in ordered])
    charts = [
        _chart("members", "bar", _("Members against non-members"),
               [_("Average order value"), _("Spend per customer")],
               [{"label": label, "data": [group.get("average_order_value"), group.get("spend_per_customer")]}
                for group, label in groups], unit="money", currency=currency),
        _chart("points", "bar", _("Points earned and redeemed per day"), [formatting.day(day) for day in ordered],
               [{"label": _("Earned"), "data": [days[day].get("earned", 0) for day in ordered]},
                {"label": _("Redeemed"), "data": [-days[day].get("redeemed", 0) for day in ordered]}]),
    ]
    totals = section.get("points") or {}
    summary = {
        "enabled": section.get("program_enabled"),
        "redemption_rate": formatting.percent(section.get("redemption_rate_percent")),
        "earned": formatting.number(totals.get("earned"), 0),
        "redeemed": formatting.number(totals.get("redeemed"), 0),
        "liability": formatting.money(section.get("points_liability"), currency),
        "outstanding": formatting.number(totals.get("outstanding"), 0),
    }
    return _page(request, access, view_name="dashboard:loyalty", title=_("Loyalty program"),
                 template="dashboard/loyalty.html", period=period, tables=[comparison, points], charts=charts,
                 summary=summary)


def _reasons(row: dict[str, Any]) -> str:
    """"Frequency cap (deferred): 2; Its day had passed: 1": nothing a flow did not send goes unexplained."""
    def label(code: str) -> str:
        return str(Reason(code).label) if code in Reason.values else _("Other")

    parts = [f"{label(code)} ({_('deferred')}): {count}" for code, count in sorted(row["deferred_reasons"].items())]
    parts += [f"{label(code)}: {count}" for code, count in sorted(row["skipped_reasons"].items())]
    return "; ".join(parts)


@require_GET
@dashboard_view
def flows(request: HttpRequest, access: DashboardAccess) -> HttpResponse:
    period = period_from(request.GET, shop=access.shop)
    stats = sources.flow_stats(shop=access.shop)
    report = sources.retention_report(shop=access.shop, period=period)
    section = report.get("campaigns") or {}
    currency = str(report.get("currency") or access.shop.currency)
    messages = Table(
        name="flows", caption=_("Messages and results of each flow since it started"), currency=currency,
        columns=[Column(_("Flow")), Column(_("On")), Column(_("Sent"), "int"), Column(_("Delivered"), "int"),
                 Column(_("Opened"), "int"), Column(_("Clicked"), "int"), Column(_("Orders"), "int"),
                 Column(_("Revenue"), "money"), Column(_("Discount cost"), "money"), Column(_("Skipped"), "int"),
                 Column(_("Deferred"), "int"), Column(_("Why skipped or deferred"))],
        rows=[[translated(row["name"]), _("yes") if row["enabled"] else _("no"), row["sent"], row["delivered"],
               row["opened"], row["clicked"], row["orders"], row["revenue"], row["discount_cost"], row["skipped"],
               row["deferred"], _reasons(row)] for row in stats],
    )
    credited = section.get("flows") or []
    in_range = Table(
        name="credited", caption=_("Orders of the range credited to each flow"), currency=currency,
        columns=[Column(_("Flow")), Column(_("Orders"), "int"), Column(_("Revenue"), "money"),
                 Column(_("Discount cost"), "money")],
        rows=[[translated(str(row.get("name") or row.get("flow"))), row.get("orders"), row.get("revenue"),
               row.get("discount_cost")] for row in credited],
    )
    chart = _chart("flow-revenue", "bar", _("Revenue and discount cost per flow in the range"),
                   [row[0] for row in in_range.rows],
                   [{"label": _("Revenue"), "data": [row.get("revenue") for row in credited]},
                    {"label": _("Discount cost"), "data": [row.get("discount_cost") for row in credited]}],
                   unit="money", currency=currency, horizontal=True)
    summary = {"revenue": formatting.money(section.get("revenue"), currency),
               "discount_cost": formatting.money(section.get("discount_cost"), currency),
               "share": formatting.percent(section.get("share_of_revenue_percent"))}
    return _page(request, access, view_name="dashboard:flows", title=_("Flows"), template="dashboard/flows.html",
                 period=period, tables=[in_range, messages], charts=[chart] if credited else [], summary=summary)


@require_GET
@dashboard_view
def surveys(request: HttpRequest, access: DashboardAccess) -> HttpResponse:
    period = period_from(request.GET, shop=access.shop)
    summary, months = sources.nps(shop=access.shop, period=period)
    table = Table(name="nps", caption=_("Net Promoter Score by month"),
                  columns=[Column(_("Month"), "month"), Column(_("NPS"), "decimal"), Column(_("Responses"), "int"),
                           Column(_("Promoters"), "int"), Column(_("Passives"), "int"),
                           Column(_("Detractors"), "int")],
                  rows=[[row.get("month"), row.get("score"), row.get("responses"), row.get("promoters"),
                         row.get("passives"), row.get("detractors")] for row in months])
    chart = _chart("nps", "line", _("NPS over time"), [formatting.month(row.get("month")) for row in months],
                   [{"label": _("NPS"), "data": [row.get("score") for row in months]}], unit="decimal")
    survey_blocks = [_survey_block(survey, results, access) for survey, results in sources.surveys(shop=access.shop)]
    card = {
        "score": formatting.number(summary.get("score")),
        "responses": formatting.number(summary.get("responses"), 0),
        "promoters": formatting.number(summary.get("promoters"), 0),
        "passives": formatting.number(summary.get("passives"), 0),
        "detractors": formatting.number(summary.get("detractors"), 0),
    }
    return _page(request, access, view_name="dashboard:surveys", title=_("Surveys and NPS"),
                 template="dashboard/surveys.html", period=period,
                 tables=[table, *[block["table"] for block in survey_blocks]], charts=[chart] if months else [],
                 nps=card, surveys=survey_blocks)


def _in_language(texts: Any) -> str:
    """A survey's own text (stored per language) in the active language, English otherwise."""
    if not isinstance(texts, dict):
        return str(texts or "")
    language = (translation.get_language() or "en").split("-")[0]
    return str(texts.get(language) or texts.get("en") or next(iter(texts.values()), ""))


def _survey_block(survey: Any, results: dict[str, Any], access: DashboardAccess) -> dict[str, Any]:
    kinds = {"score": _("Score 0–10"), "yes_no": _("Yes or no"), "choice": _("Choice"), "text": _("Free text"),
             "date": _("Date")}
    rows: list[list[Any]] = []
    texts: list[str] = []
    choices = {question.key: question.choices for question in survey.questions.all()}
    for question in results.get("questions", []):
        kind = question.get("kind")
        summary = ""
        if kind == "score" and question.get("nps"):
            score = question["nps"].get("score")
            summary = _("NPS %(score)s") % {"score": formatting.number(score, 0)} if score is not None else ""
        elif kind == "yes_no":
            summary = _("yes %(yes)s · no %(no)s") % {"yes": formatting.number(question.get("yes", 0), 0),
                                                      "no": formatting.number(question.get("no", 0), 0)}
        elif kind == "choice":
            labels = {choice["value"]: _in_language(choice.get("label"))
                      for choice in choices.get(question.get("key"), [])}
            summary = " · ".join(f"{labels.get(value) or value} {formatting.number(count, 0)}"
                                 for value, count in (question.get("counts") or {}).items())
        elif kind == "text":
            texts.extend(item["text"] for item in (question.get("texts") or [])[:5])
        rows.append([_in_language(question.get("text")), kinds.get(str(kind), kind), question.get("answered"),
                     question.get("average"), summary])
    table = Table(name=f"survey-{survey.key}", caption=_in_language(survey.title),
                  columns=[Column(_("Question")), Column(_("Kind")), Column(_("Answers"), "int"),
                           Column(_("Average score"), "decimal"), Column(_("Result"))], rows=rows)
    return {"table": table, "active": survey.is_active, "responses": formatting.number(results.get("responses"), 0),
            "texts": texts}


# --- sign-in and the shop switcher -------------------------------------------------------------

@require_POST
def shops(request: HttpRequest) -> HttpResponse:
    """The shop switcher (logged-in members only)."""
    if not request.user.is_authenticated:
        return HttpResponseRedirect(f"{settings.LOGIN_URL}?next={reverse('dashboard:overview')}")
    try:
        shop_choose(request, int(request.POST.get("shop", "0")))
    except (ApplicationError, ValueError) as error:
        return error_page(request, error if isinstance(error, ApplicationError)
                          else ApplicationError("choose a shop", status=400))
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = reverse("dashboard:overview")
    return HttpResponseRedirect(target)


class LoginView(auth_views.LoginView):
    template_name = "dashboard/login.html"
    redirect_authenticated_user = True


def login_locked_out(request: HttpRequest, original_response: HttpResponse | None = None,
                     credentials: dict | None = None) -> HttpResponse:
    """django-axes' answer to a locked-out username + IP, on the dashboard's login and the admin's
    (``AXES_LOCKOUT_CALLABLE``): a 429 page saying how long to wait, with ``Retry-After``.  A try
    during the lockout restarts the wait, so the full cool-off is what is left."""
    cool_off = get_cool_off(request) or timedelta(0)
    seconds = max(1, int(cool_off.total_seconds()))
    response = render(request, "dashboard/locked_out.html", {"minutes": math.ceil(seconds / 60)}, status=429)
    response["Retry-After"] = str(seconds)
    add_never_cache_headers(response)
    return response


class LogoutView(auth_views.LogoutView):
    next_page = "dashboard:login"
