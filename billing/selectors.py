"""Reads: a shop's plan, the current limit period and what was held back in it."""

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db.models import Count
from django.utils import timezone

from billing.models import LimitSkip, ShopPlan, SubscriptionStatus
from billing.plans import Plan, PlanCode, plan_by_code
from commerce.models import Shop


def shop_plan_get(*, shop: Shop) -> ShopPlan:
    """The shop's plan row, or an unsaved Free one (reads never write)."""
    return ShopPlan.objects.filter(shop=shop).first() or ShopPlan(shop=shop, plan=PlanCode.FREE)


def plan_for(*, shop: Shop) -> Plan:
    return plan_by_code(shop_plan_get(shop=shop).plan)


def _zone(shop: Shop) -> ZoneInfo:
    try:
        return ZoneInfo(shop.timezone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


@dataclass(frozen=True)
class LimitPeriod:
    """The calendar month, in the shop's time zone, that the Free plan's limits count in."""

    start: datetime
    end: datetime


def limit_period(*, shop: Shop, now: datetime | None = None) -> LimitPeriod:
    local = (now or timezone.now()).astimezone(_zone(shop))
    start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    end = start.replace(year=start.year + 1, month=1) if start.month == 12 else start.replace(month=start.month + 1)
    return LimitPeriod(start=start, end=end)


def limit_skips_count(*, shop: Shop, period: LimitPeriod) -> dict[str, int]:
    """How many orders / emails the limits held back in the period, by kind."""
    rows = (LimitSkip.objects.filter(shop=shop, period_start=period.start).values("kind")
            .annotate(count=Count("id")).order_by())
    return {row["kind"]: row["count"] for row in rows}


def subscription_is_paid(*, status: str) -> bool:
    return status == SubscriptionStatus.ACTIVE


def limit_skipped_keys(*, shop: Shop, kind: str, period: LimitPeriod) -> list[str]:
    """What the limit held back in the period (order platform ids, scheduled step ids), oldest first."""
    return list(LimitSkip.objects.filter(shop=shop, kind=kind, period_start=period.start).order_by("at", "id")
                .values_list("key", flat=True))
