"""Template filters over ``retention_app.locale_format`` (``{% load locale_format %}`` in any template,
registered in settings' TEMPLATES libraries): the active language's date convention, digits and bidi.

    {{ day|local_date }}                 Dec 7, 2026 / 7 בדצמ׳ 2026 / ۱۶ آذر ۱۴۰۵
    {{ ends|local_datetime:shop.timezone }}  Dec 7, 2026, 10:31 PM (Israel Time)
    {{ "2026-03"|local_month }}          Mar 2026
    {{ order.name|isolate }}             #9003 kept left-to-right inside Hebrew/Persian text
    {{ count|local_digits }}             ۱۲ in Persian
    {{ shop.timezone|local_zone }}       Israel Time (Asia/Jerusalem)
"""

from datetime import date, datetime
from typing import Any

from django import template
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe

from retention_app import locale_format

register = template.Library()


@register.filter
def local_date(value: date | datetime | str | None, style: str = "medium") -> str:
    if not value:
        return ""
    chosen: locale_format.DateStyle = "short" if style == "short" else "long" if style == "long" else "medium"
    return locale_format.format_date(value, style=chosen)


@register.filter
def local_month(value: date | str | None) -> str:
    return locale_format.format_month(value) if value else ""


@register.filter
def local_datetime(value: datetime | None, zone: Any = None) -> str:
    """In ``zone`` (an IANA name or tzinfo) with the zone's name; without one, as the value is."""
    if not value:
        return ""
    return locale_format.format_datetime(value, zone=zone or None, with_zone=bool(zone))


@register.filter
def local_zone(value: Any) -> str:
    """An IANA zone as "Israel Time (Asia/Jerusalem)" in the active language."""
    return locale_format.zone_label(str(value)) if value else ""


@register.filter
def local_digits(value: Any) -> str:
    return locale_format.local_digits("" if value is None else str(value))


@register.filter(is_safe=True)
def isolate(value: Any) -> SafeString:
    return mark_safe(locale_format.isolate(conditional_escape("" if value is None else value)))  # noqa: S308
