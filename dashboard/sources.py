"""Where the dashboard's figures come from: other apps' selectors and the analytics report.

The dashboard never computes a metric; it calls these and formats what they return.  The report
is cached briefly per shop and range, since several pages read it.
"""

from datetime import date, timedelta
from typing import Any

from django.core.cache import cache
from django.utils import translation

from analytics import services as analytics
from campaigns.services import attribution
from commerce.models import Shop
from dashboard.periods import Period
from integrations import selectors as integration_selectors
from integrations.models import SyncStatus
from loyalty import selectors as loyalty_selectors
from segments import selectors as segment_selectors
from surveys import selectors as survey_selectors

REPORT_CACHE_SECONDS = 120


def _cached(name: str, shop: Shop, period: Period, build: Any) -> Any:
    # the report carries texts in the active language, hence the language in the key
    key = (f"dashboard:{name}:{shop.pk}:{shop.created_at.timestamp()}:{period.start}:{period.end}:"
           f"{translation.get_language()}")
    value = cache.get(key)
    if value is None:
        value = build()
        cache.set(key, value, REPORT_CACHE_SECONDS)
    return value


def retention_report(*, shop: Shop, period: Period) -> dict[str, Any]:
    """``analytics.services.retention_report``: every metric of the range (REPORT_FORMAT.md); once
    the shop's rollups are built (the beat task), the same document with the customer and order
    figures read from them (``retention_report_from_rollups``)."""
    return _cached("report", shop, period,
                   lambda: analytics.retention_report_for_pages(shop=shop, start=period.start, end=period.end))


def month_ends(period: Period) -> list[date]:
    """The last day of each month the range touches (the range's end for its last month)."""
    days, month = [], period.start.replace(day=1)
    while month <= period.end:
        following = (month + timedelta(days=32)).replace(day=1)
        days.append(min(following - timedelta(days=1), period.end))
        month = following
    return days


def active_customers_by_month(*, shop: Shop, period: Period, activity_days: int) -> list[tuple[date, int]]:
    """Active customers (``analytics.services.active_customers``) at each month's end of the range
    (from the rollups once they are built)."""
    days = month_ends(period)
    return _cached("active", shop, period, lambda: list(zip(
        days, analytics.active_customers_on_days(shop=shop, days=days, activity_days=activity_days), strict=True)))


def flow_stats(*, shop: Shop) -> list[dict[str, Any]]:
    """What the flows API shows: every flow (the presets are made at install) and its results."""
    return attribution.flow_stats(shop=shop)


def points_accounting(*, shop: Shop, period: Period) -> dict[str, Any]:
    return loyalty_selectors.points_accounting(shop=shop, start=period.start, end=period.end)


def segment_counts(*, shop: Shop) -> list[dict[str, Any]]:
    return segment_selectors.segment_counts(shop=shop)


MAX_PAGE = segment_selectors.MAX_PAGE


def segment_customers(*, shop: Shop, key: str, page: int, page_size: int) -> dict[str, Any]:
    """One page of a segment's customers (404 for a segment the shop does not have)."""
    return segment_selectors.segment_customers(shop=shop, key=key, page=page, page_size=page_size)


def segment_all_customers(*, shop: Shop, key: str, limit: int = 100_000) -> list[dict[str, Any]]:
    """Every customer of a segment, page by page (for the CSV download)."""
    rows: list[dict[str, Any]] = []
    page = 1
    while len(rows) < limit:
        batch = segment_selectors.segment_customers(shop=shop, key=key, page=page,
                                                    page_size=segment_selectors.MAX_PAGE_SIZE)["customers"]
        rows.extend(batch)
        if len(batch) < segment_selectors.MAX_PAGE_SIZE:
            break
        page += 1
    return rows[:limit]


def nps(*, shop: Shop, period: Period) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    return (survey_selectors.nps_summary(shop=shop, start=period.start, end=period.end),
            survey_selectors.nps_by_month(shop=shop, start=period.start, end=period.end))


def surveys(*, shop: Shop) -> list[tuple[Any, dict[str, Any]]]:
    """What the surveys API shows: every survey (the presets are made at install) and its results."""
    return [(survey, survey_selectors.survey_results(survey=survey))
            for survey in survey_selectors.survey_list(shop=shop)]


def history_importing(*, shop: Shop) -> bool:
    """Whether the store's history is still being imported: until it is in, every figure is
    partial (an overview right after install would read as 100 % churn)."""
    run = integration_selectors.sync_latest(shop=shop)
    return run is not None and run.status in (SyncStatus.PENDING, SyncStatus.RUNNING)
