"""Numbers, money and dates for the active language (Babel's CLDR data; Persian digits for fa)."""

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from babel.numbers import format_currency, format_decimal, format_percent
from django.utils import translation

from retention_app import locale_format

PERCENT_SIGN = {"fa": "٪"}  # the Persian percent sign
EMPTY = "—"


def _locale() -> str:
    return (translation.get_language() or "en").split("-")[0]


# CLDR's minus signs for he and fa start with a left-to-right mark (Babel leaves it out), which keeps
# "-16.67" from showing as "16.67-" in right-to-left text.
MINUS = {"he": "\u200e-", "fa": "\u200e\u2212"}


def _native(text: str, locale: str) -> str:
    if locale in MINUS and text.startswith("-"):
        text = MINUS[locale] + text[1:]
    return locale_format.local_digits(text, locale).replace("%", PERCENT_SIGN.get(locale, "%"))


def _decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return value if isinstance(value, Decimal) else Decimal(str(value))
    except InvalidOperation:
        return None


def number(value: Any, places: int | None = None) -> str:
    amount = _decimal(value)
    if amount is None:
        return EMPTY
    locale = _locale()
    pattern = None if places is None else "#,##0" + ("." + "0" * places if places else "")
    return _native(format_decimal(amount, format=pattern, locale=locale, numbering_system="default"), locale)


def money(value: Any, currency: str) -> str:
    amount = _decimal(value)
    if amount is None:
        return EMPTY
    locale = _locale()
    return _native(format_currency(amount, currency, locale=locale, numbering_system="default"), locale)


def percent(value: Any, places: int = 2) -> str:
    """``value`` is already a percentage (23.45 means 23.45 %), as the analytics report gives it."""
    amount = _decimal(value)
    if amount is None:
        return EMPTY
    locale = _locale()
    pattern = "#,##0" + ("." + "0" * places if places else "") + "%"
    return _native(format_percent(amount / 100, format=pattern, locale=locale, numbering_system="default"), locale)


def day(value: date | str | None) -> str:
    """The language's one date convention (``retention_app.locale_format``): the Persian calendar in fa."""
    if not value:
        return EMPTY
    return locale_format.format_date(value, language=_locale())


def month(value: str | date | None) -> str:
    """A cohort month ("2026-03") as "Mar 2026"; in Persian, the Solar Hijri month it starts in."""
    if not value:
        return EMPTY
    return locale_format.format_month(value, language=_locale())
