"""The date range a page shows: presets or explicit dates, in the shop's time zone, inclusive."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from analytics.services.base import shop_zone
from commerce.models import Shop
from retention_app.bounds import MAX_YEAR, MIN_YEAR
from retention_app.errors import ApplicationError

PRESETS = {"30d": _("Last 30 days"), "90d": _("Last 90 days"), "365d": _("Last 365 days"), "ytd": _("Year to date")}
DEFAULT_PRESET = "365d"
MAX_DAYS = 3 * 366


@dataclass(frozen=True)
class Period:
    start: date
    end: date
    preset: str  # "" for explicit dates

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def shop_today(*, shop: Shop) -> date:
    return timezone.now().astimezone(shop_zone(shop)).date()


def _preset(key: str, today: date) -> Period:
    if key == "ytd":
        return Period(start=today.replace(month=1, day=1), end=today, preset=key)
    return Period(start=today - timedelta(days=int(key.removesuffix("d")) - 1), end=today, preset=key)


def period_from(params: Mapping[str, str], *, shop: Shop) -> Period:
    """``range=30d|90d|365d|ytd`` or ``start``/``end`` (YYYY-MM-DD); the last 365 days by default."""
    today = shop_today(shop=shop)
    start_text, end_text = params.get("start", ""), params.get("end", "")
    if start_text or end_text:
        try:
            start = date.fromisoformat(start_text)
            end = date.fromisoformat(end_text) if end_text else today
        except ValueError as error:
            raise ApplicationError("dates must be YYYY-MM-DD", status=400, code="invalid") from error
        if not (MIN_YEAR <= start.year <= MAX_YEAR and MIN_YEAR <= end.year <= MAX_YEAR):
            raise ApplicationError(f"dates must be between the years {MIN_YEAR} and {MAX_YEAR}", status=400,
                                   code="invalid")
        if end < start:
            raise ApplicationError("the start must not be after the end", status=400, code="invalid")
        if (end - start).days >= MAX_DAYS:
            raise ApplicationError("the range can be at most three years", status=400, code="invalid")
        return Period(start=start, end=end, preset="")
    key = params.get("range", DEFAULT_PRESET)
    return _preset(key if key in PRESETS else DEFAULT_PRESET, today)
