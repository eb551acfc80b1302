"""Numbers, money and dates for the active language (Babel's CLDR data; Persian digits for fa)."""

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from babel.dates import format_date
from babel.numbers import format_currency, format_decimal, format_percent
from django.utils import translation

PERSIAN_DIGITS = str.maketrans("0123456789%", "۰۱۲۳۴۵۶۷۸۹٪")  # with the Persian percent sign
EMPTY = "—"


def _locale() -> str:
    return (translation.get_language() or "en").split("-")[0]


# CLDR's minus signs for he and fa start with a left-to-right mark (Babel leaves it out), which keeps
# "-16.67" from showing as "16.67-" in right-to-left text.
MINUS = {"he": "\u200e-", "fa": "\u200e\u2212"}


def _native(text: str, locale: str) -> str:
    if locale in MINUS and text.startswith("-"):
        text = MINUS[locale] + text[1:]
    return text.translate(PERSIAN_DIGITS) if locale == "fa" else text


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
    if not value:
        return EMPTY
    locale = _locale()
    when = date.fromisoformat(value) if isinstance(value, str) else value
    return _native(format_date(when, format="medium", locale=locale), locale)


def month(value: str | date | None) -> str:
    """A cohort month ("2026-03") as "Mar 2026" in the active language."""
    if not value:
        return EMPTY
    locale = _locale()
    when = date.fromisoformat(f"{value}-01") if isinstance(value, str) else value
    return _native(format_date(when, format="MMM y", locale=locale), locale)
