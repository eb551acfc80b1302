"""One date convention per language, local digits and bidi isolation: the one home for all of them.

The dashboard, the emails and anything else that shows a date to a person format it here, so a
language shows one calendar everywhere, the same as the widget (which uses the browser's ``Intl``):

- ``en``: Gregorian, CLDR English ("Dec 7, 2026", "Dec 7, 2026, 10:31 PM");
- ``he``: Gregorian with Hebrew month names ("7 בדצמ׳ 2026", "7 בדצמ׳ 2026, 22:31");
- ``fa``: the Solar Hijri (Persian) calendar with Persian month names and digits
  ("۱۶ آذر ۱۴۰۵", "۱۶ آذر ۱۴۰۵، ۲۲:۳۱"), as ``Intl.DateTimeFormat("fa-IR")`` shows it.

Gregorian dates come from Babel's CLDR data; Persian-calendar conversion from ``jdatetime``.
``parse_date`` reads back what a person types in the page's convention, and ISO ``YYYY-MM-DD`` always.
"""

import re
from datetime import date, datetime, time, tzinfo
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import jdatetime
from babel.dates import format_date as babel_format_date
from babel.dates import format_time as babel_format_time
from babel.dates import get_datetime_format, get_month_names, get_timezone_name
from django.utils import translation

DateStyle = Literal["short", "medium", "long"]

LANGUAGES = ("en", "he", "fa")
DEFAULT_LANGUAGE = "en"

PERSIAN_DIGITS = "۰۱۲۳۴۵۶۷۸۹"
ARABIC_INDIC_DIGITS = "٠١٢٣٤٥٦٧٨٩"
_TO_PERSIAN = str.maketrans("0123456789", PERSIAN_DIGITS)
_TO_LATIN = str.maketrans(PERSIAN_DIGITS + ARABIC_INDIC_DIGITS, "0123456789" * 2)

# Unicode bidi isolates (UAX #9): first-strong isolate ... pop directional isolate.
FSI, PDI = "\u2068", "\u2069"
_BIDI_CONTROLS = re.compile("[\u200e\u200f\u061c\u202a-\u202e\u2066-\u2069]")

PERSIAN_MONTHS = tuple(jdatetime.date.j_months_fa)  # فروردین ... اسفند
# Years below this in a Persian date a person types are Solar Hijri years (1405 is 2026-27).
_SOLAR_HIJRI_BEFORE = 1700


def language_code(language: str | None = None) -> str:
    """"fa-IR", "he_IL", "HE" -> "fa"/"he"; ``None`` -> the active language; unknown -> English."""
    code = (language or translation.get_language() or DEFAULT_LANGUAGE).replace("_", "-").split("-")[0].lower()
    return code if code in LANGUAGES else DEFAULT_LANGUAGE


def text_direction(language: str | None = None) -> str:
    """``rtl`` for Hebrew and Persian, ``ltr`` otherwise: the ``dir`` of text typed in that language."""
    return "rtl" if translation.get_language_info(language_code(language))["bidi"] else "ltr"


def local_digits(text: str, language: str | None = None) -> str:
    """Persian digits in Persian; Hebrew and English write Western digits."""
    text = str(text)
    return text.translate(_TO_PERSIAN) if language_code(language) == "fa" else text


def latin_digits(text: str) -> str:
    """Persian and Arabic-Indic digits as 0-9 (what a person typed, before it is parsed)."""
    return str(text).translate(_TO_LATIN)


def isolate(text: object) -> str:
    """``text`` in a first-strong isolate, so an order number or a code keeps its own order inside
    right-to-left text ("#9003" stays "#9003", not "9003#"); empty stays empty."""
    value = "" if text is None else str(text)
    return f"{FSI}{value}{PDI}" if value else ""


# --- formatting --------------------------------------------------------------------------------

def _as_date(value: date | datetime | str) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value)
    return date.fromisoformat(f"{text}-01" if len(text) == 7 else text[:10])


def _solar_hijri(value: date) -> jdatetime.date:
    return jdatetime.date.fromgregorian(date=value)


def format_date(value: date | datetime | str, *, language: str | None = None, style: DateStyle = "medium") -> str:
    """A day: ``medium`` "Dec 7, 2026" (the dashboard's and the widget's), ``long`` "December 7, 2026",
    ``short`` numeric "12/7/26" / "7.12.2026" / "۱۴۰۵/۹/۱۶".  A datetime is taken as it is (convert it
    to the zone it should be read in first)."""
    code = language_code(language)
    day = _as_date(value)
    if code == "fa":
        persian = _solar_hijri(day)
        if style == "short":
            return local_digits(f"{persian.year}/{persian.month}/{persian.day}", code)
        return local_digits(f"{persian.day} {PERSIAN_MONTHS[persian.month - 1]} {persian.year}", code)
    if style == "short" and code == "he":
        return f"{day.day}.{day.month}.{day.year}"
    return babel_format_date(day, format=style, locale=code)


def format_month(value: date | datetime | str, *, language: str | None = None) -> str:
    """A month ("2026-03" or a date): "Mar 2026", "מרץ 2026", "اسفند ۱۴۰۴".  In Persian, the Solar
    Hijri month in which the Gregorian month starts (calendar months do not line up)."""
    code = language_code(language)
    day = _as_date(value)
    if code == "fa":
        persian = _solar_hijri(day)
        return local_digits(f"{PERSIAN_MONTHS[persian.month - 1]} {persian.year}", code)
    return babel_format_date(day, format="MMM y", locale=code)


def _in_zone(value: datetime, zone: tzinfo | str | None) -> datetime:
    if zone is None:
        return value
    return value.astimezone(_zone(zone)) if value.tzinfo else value.replace(tzinfo=_zone(zone))


def _zone(zone: tzinfo | str) -> tzinfo:
    if isinstance(zone, str):
        try:
            return ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            return ZoneInfo("UTC")
    return zone


def format_time(value: datetime | time, *, language: str | None = None, zone: tzinfo | str | None = None) -> str:
    """Hours and minutes: "10:31 PM" in English, "22:31" in Hebrew, "۲۲:۳۱" in Persian."""
    code = language_code(language)
    if isinstance(value, datetime):
        value = _in_zone(value, zone)
    return local_digits(babel_format_time(value, format="short", locale=code), code)


def format_datetime(value: datetime, *, language: str | None = None, zone: tzinfo | str | None = None,
                    with_zone: bool = False) -> str:
    """"Dec 7, 2026, 10:31 PM", "7 בדצמ׳ 2026, 22:31", "۱۶ آذر ۱۴۰۵، ۲۲:۳۱", read in ``zone``
    (an IANA name or a tzinfo; an aware ``value`` is converted to it).  ``with_zone`` adds the zone's
    name in the language ("… 10:31 PM Israel Time"), for a time that matters to the minute."""
    code = language_code(language)
    when = _in_zone(value, zone)
    day = format_date(when, language=code)
    clock = format_time(when, language=code)
    text = f"{day}، {clock}" if code == "fa" else str(get_datetime_format("medium", locale=code)).format(clock, day)
    shown_zone = zone if zone is not None else when.tzinfo
    if with_zone and shown_zone is not None:
        text = f"{text} ({zone_name(shown_zone, language=code, at=when)})"
    return text


def zone_name(zone: tzinfo | str, *, language: str | None = None, at: datetime | None = None) -> str:
    """A time zone as people say it: "Israel Time", "שעון ישראל", "وقت اسرائیل"; UTC as "UTC"."""
    code = language_code(language)
    resolved = _zone(zone)
    key = getattr(resolved, "key", str(resolved))
    if key in ("UTC", "Etc/UTC", "Etc/GMT", "GMT"):
        return "UTC"
    moment = at.astimezone(resolved) if at is not None and at.tzinfo else resolved
    name = get_timezone_name(moment, width="long", locale=code, zone_variant="generic")
    return local_digits(name, code)


def zone_label(zone: tzinfo | str, *, language: str | None = None) -> str:
    """The zone's name with its IANA key in an isolate: "Israel Time (Asia/Jerusalem)"."""
    resolved = _zone(zone)
    key = getattr(resolved, "key", str(resolved))
    name = zone_name(resolved, language=language)
    return name if name == key else f"{name} ({isolate(key)})"


# --- parsing what a person typed -----------------------------------------------------------------

def _month_words(code: str) -> list[tuple[str, int, bool]]:
    """(word, month, solar_hijri) for every month name the language's people may type: its own
    Gregorian names (wide and abbreviated), English ones, and in Persian the Solar Hijri months."""
    words: list[tuple[str, int, bool]] = []
    for locale in dict.fromkeys((code, "en")):
        for width in ("wide", "abbreviated"):
            for context in ("format", "stand-alone"):
                for month, name in get_month_names(width, context, locale=locale).items():
                    words.append((_fold(name), int(month), False))
    if code == "fa":
        words += [(_fold(name), index + 1, True) for index, name in enumerate(PERSIAN_MONTHS)]
    return words


def _fold(word: str) -> str:
    word = _BIDI_CONTROLS.sub("", word).strip().rstrip(".׳'’").casefold()
    return word.replace("ي", "ی").replace("ك", "ک").replace("\u200c", "")


def _build(year: int, month: int, day: int, *, solar_hijri: bool) -> date:
    if solar_hijri:
        try:
            return jdatetime.date(year, month, day).togregorian()
        except (ValueError, TypeError) as error:
            raise ValueError(f"no such Persian date {year}/{month}/{day}") from error
    return date(year, month, day)


def _full_year(text: str) -> int:
    year = int(text)
    return 2000 + year if len(text) <= 2 else year


def parse_date(text: str, *, language: str | None = None) -> date:
    """A day typed in the language's convention (any digits): ISO "2026-12-07" always; English
    "Dec 7, 2026", "December 7 2026", "12/7/2026"; Hebrew "7 בדצמ׳ 2026", "7.12.2026"; Persian
    "۱۶ آذر ۱۴۰۵", "۱۴۰۵/۹/۱۶" (a year below 1700 is Solar Hijri).  ``ValueError`` if it is no day."""
    code = language_code(language)
    cleaned = _BIDI_CONTROLS.sub("", latin_digits(str(text))).strip()
    if not cleaned:
        raise ValueError("no date given")
    numeric = re.fullmatch(r"(\d{1,4})\s*[-/.]\s*(\d{1,2})\s*[-/.]\s*(\d{1,4})", cleaned)
    if numeric:
        first, second, third = numeric.groups()
        if len(first) == 4:  # year first: ISO, or Persian y/m/d
            year = int(first)
            return _build(year, int(second), int(third), solar_hijri=code == "fa" and year < _SOLAR_HIJRI_BEFORE)
        if len(third) not in (2, 4):
            raise ValueError(f"not a date: {text!r}")
        if code == "en":  # CLDR English: month/day/year
            return _build(_full_year(third), int(first), int(second), solar_hijri=False)
        year = _full_year(third)
        return _build(year, int(second), int(first), solar_hijri=code == "fa" and year < _SOLAR_HIJRI_BEFORE)
    return _parse_words(cleaned, code, original=str(text))


def _parse_words(cleaned: str, code: str, *, original: str) -> date:
    tokens = [token for token in re.split(r"[\s,،/.\-]+", cleaned) if token]
    numbers = [token for token in tokens if token.isdigit()]
    words = [token for token in tokens if not token.isdigit()]
    if len(numbers) != 2 or len(words) != 1:
        raise ValueError(f"not a date: {original!r}")
    word = _fold(words[0])
    names = _month_words(code)
    match = next(((month, solar) for name, month, solar in names if name == word), None)
    if match is None and code == "he" and word.startswith("ב"):  # "בדצמבר": "in December"
        match = next(((month, solar) for name, month, solar in names if name == word[1:]), None)
    if match is None:
        raise ValueError(f"no month in {original!r}")
    month, solar_hijri = match
    day_text, year_text = sorted(numbers, key=len)  # "7" and "2026", in either order
    if len(year_text) < 4 and len(day_text) == len(year_text):
        day_text, year_text = numbers  # "7 Dec 26": day first
    return _build(_full_year(year_text), month, int(day_text), solar_hijri=solar_hijri)
