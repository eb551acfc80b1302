"""The date range a page shows: presets or explicit dates, in the shop's time zone, inclusive."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from analytics.services.base import shop_zone
from commerce.models import Shop
from retention_app.bounds import MAX_YEAR, MIN_YEAR
from retention_app.errors import ApplicationError
from retention_app.locale_format import format_date, parse_date

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
    """``range=30d|90d|365d|ytd`` or ``start``/``end``: ISO YYYY-MM-DD (the links), or typed in the page
    language's convention (the picker: "Dec 7, 2026", "7.12.2026", "۱۶ آذر ۱۴۰۵", "۱۴۰۵/۹/۱۶");
    the last 365 days by default."""
    today = shop_today(shop=shop)
    start_text, end_text = params.get("start", "").strip(), params.get("end", "").strip()
    if start_text or end_text:
        try:
            start = parse_date(start_text)
            end = parse_date(end_text) if end_text else today
        except ValueError as error:
            raise ApplicationError(gettext("Dates must look like %(example)s or %(iso)s.")
                                   % {"example": format_date(today), "iso": today.isoformat()},
                                   status=400, code="invalid") from error
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
