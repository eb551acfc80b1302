"""Holiday greetings: which occasions a shop greets on (``holiday_catalogue``), when each greeting
goes out, the daily scan that enrols the shop's customers, and the words of the message.

The flow's settings (``holiday_greetings``; validated by ``settings_valid`` on every edit):
- ``calendars``: ["IL", "IR", "<ISO country>", ...]; each calendar greets on its default set;
- ``occasions``: {"<calendar>": {"<occasion key>": {"offset_days": -1, "hour": 10}, ...}}: for a
  calendar listed here, exactly these occasions (an empty object per occasion keeps its default
  day and hour); a calendar not listed uses its default set;
- ``custom``: the merchant's own dates, [{"date": "MM-DD", "name": "...", "hour": 10}].

Dedupe: the enrolment key holds the occasion keys and the occasion's year
(``holiday:<key>[+<key>]:<year>:<customer>``), so an occasion greets once a year whatever the
template, and two occasions within a month both go out.  Occasions whose greetings fall on the
same day go out as one message ("Nowruz and Eid al-Fitr").  Nothing is sent on a day of mourning
or remembrance, nor on an occasion that coincides with one.
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import holidays as holidays_library
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext

from campaigns.models import Channel, Enrolment, Flow, StepAction
from campaigns.services.email import NothingToSend
from campaigns.services.engine import QUIET_END, QUIET_START, Candidate, enrol_many, steps_for_new_enrolment
from campaigns.services.holiday_catalogue import (
    ALIASES,
    AND,
    CATALOGUES,
    DEFAULT_HOUR,
    GENERIC_SUBJECTS,
    MOURNING_WORDS,
    Occasion,
)
from commerce.models import Customer
from retention_app.errors import ApplicationError

MAX_OFFSET_DAYS = 14
# Greeting hours the engine will not hold back for quiet hours (shop time).
HOURS = range(QUIET_END.hour, QUIET_START.hour)
MOURNING = re.compile(r"\b(" + "|".join(re.escape(word) for word in MOURNING_WORDS) + r")\b", re.IGNORECASE)
SUFFIX = re.compile(r"\s*\(([^()]*)\)\s*$")  # the library's "(estimated)", "(observed)"
LIBRARY_LANGUAGE = {"en": ("en_US", "en_GB"), "he": ("he",), "fa": ("fa_IR", "fa_AF", "fa")}


@dataclass(frozen=True)
class Greeting:
    """One occasion of one year in a calendar: the occasion's first day, and when it is greeted."""

    calendar: str  # "" for the merchant's own dates
    key: str
    day: date
    year_key: str  # "2026"; "2026.2" for a lunar occasion's second time in one Gregorian year
    send_date: date
    hour: int
    name: str = ""  # the merchant's own dates: their name; otherwise from the catalogue or library
    subject: str = ""  # the merchant's own subject, if any


# --- calendars -----------------------------------------------------------------------------------

def calendar_code(value: Any) -> str:
    """"IL", "IR" or a country the `holidays` library knows (any case, alpha-3 too), as its
    alpha-2 code; "" when there is none."""
    if not isinstance(value, str) or not value.strip():
        return ""
    return _code(ALIASES.get(value.strip().upper(), value.strip().upper()))


@lru_cache(maxsize=512)
def _code(code: str) -> str:
    try:
        return str(holidays_library.country_holidays(code).country)
    except NotImplementedError:
        return ""


@lru_cache(maxsize=256)
def _library(calendar: str, year: int, language: str = "") -> tuple[tuple[date, tuple[str, ...]], ...]:
    """The library's days of one year: (day, names) with ``(estimated)`` taken off the names.  An
    ``(observed)`` substitute day is left out when the holiday itself is listed that year (the
    greeting belongs to the day itself); when only the observed day is (Israel moves Yom
    HaZikaron and Independence Day), that day is the holiday."""
    catalogue_entry = CATALOGUES.get(calendar)
    kwargs: dict[str, Any] = {"years": year}
    if catalogue_entry:
        kwargs["categories"] = catalogue_entry.categories
    supported = holidays_library.country_holidays(calendar).supported_languages
    wanted = LIBRARY_LANGUAGE.get(language or "en", ())
    chosen = next((code for code in wanted if code in supported), "")
    if language and not chosen:
        return ()
    if chosen:
        kwargs["language"] = chosen
    listed: list[tuple[date, list[tuple[str, bool]]]] = []
    for day, names in sorted(holidays_library.country_holidays(calendar, **kwargs).items()):
        parsed = []
        for name in str(names).split(";"):
            name, observed = name.strip(), False
            suffix = SUFFIX.search(name)
            if suffix and ("estimated" in suffix.group(1).lower() or "observed" in suffix.group(1).lower()):
                observed = "observed" in suffix.group(1).lower()
                name = name[:suffix.start()].strip()
            if name:
                parsed.append((name, observed))
        listed.append((day, parsed))
    actual = {name for _, parsed in listed for name, observed in parsed if not observed}
    days = []
    for day, parsed in listed:
        kept = tuple(name for name, observed in parsed if not observed or name not in actual)
        if kept:
            days.append((day, kept))
    return tuple(days)


def _days(calendar: str, years: Iterable[int]) -> dict[date, tuple[str, ...]]:
    return {day: names for year in years for day, names in _library(calendar, year)}


def _generic_key(name: str) -> str:
    return slugify(name, allow_unicode=True).replace("-", "_")


def catalogue(*, calendar: str, around: int | None = None) -> dict[str, Occasion]:
    """Every occasion a calendar may greet on, by key.  Other countries: the library's public
    holidays without days of mourning or remembrance (names of the years around ``around``)."""
    if calendar in CATALOGUES:
        return {occasion.key: occasion for occasion in CATALOGUES[calendar].occasions}
    year = around or timezone.now().year
    found: dict[str, Occasion] = {}
    for names in _days(calendar, range(year - 1, year + 3)).values():
        for name in names:
            if not MOURNING.search(name):
                found.setdefault(_generic_key(name), Occasion(key=_generic_key(name), library_names=(name,),
                                                              names={"en": name}, subjects={}))
    return found


def default_set(*, calendar: str) -> dict[str, dict[str, int]]:
    """The occasions greeted unless the merchant chose otherwise, with their day and hour."""
    return {key: {"offset_days": occasion.offset_days, "hour": occasion.hour}
            for key, occasion in catalogue(calendar=calendar).items() if occasion.default}


def _first_days(days: dict[date, tuple[str, ...]], names: tuple[str, ...], year: int) -> list[date]:
    """The first day of each run of days named ``names`` that starts in ``year``."""
    wanted = set(names)
    return [day for day, day_names in sorted(days.items())
            if day.year == year and wanted & set(day_names)
            and not wanted & set(days.get(day - timedelta(days=1), ()))]


def _no_send(names: tuple[str, ...], calendar: str) -> bool:
    catalogue_entry = CATALOGUES.get(calendar)
    blocked = set(catalogue_entry.no_send_names) if catalogue_entry else set()
    return any(MOURNING.search(name) or name in blocked for name in names)


def greetings(*, calendar: str, year: int, chosen: dict[str, dict] | None = None) -> list[Greeting]:
    """The greetings of the occasions of ``year`` (by the occasion's date) in a calendar: the
    merchant's ``chosen`` occasions or the default set.  An occasion that falls on a day of
    mourning, or whose greeting would, is left out."""
    known = catalogue(calendar=calendar, around=year)
    chosen = default_set(calendar=calendar) if chosen is None else chosen
    days = _days(calendar, (year - 1, year, year + 1))
    found = []
    for key, timing in chosen.items():
        occasion = known.get(key)
        if occasion is None:
            continue
        if occasion.derived_from:
            anchor, after = occasion.derived_from
            firsts = [day + timedelta(days=after) for day in _first_days(days, (anchor,), year)]
        else:
            firsts = _first_days(days, occasion.library_names, year)
        offset = int(timing.get("offset_days", occasion.offset_days))
        for position, day in enumerate(firsts):
            send_date = day + timedelta(days=offset)
            if _no_send(days.get(day, ()), "") or _no_send(days.get(send_date, ()), calendar):
                continue
            found.append(Greeting(calendar=calendar, key=key, day=day, send_date=send_date,
                                  year_key=str(year) if position == 0 else f"{year}.{position + 1}",
                                  hour=int(timing.get("hour", occasion.hour))))
    order = list(known)  # the catalogue's order on a shared day: Nowruz before Eid al-Fitr
    return sorted(found, key=lambda greeting: (greeting.send_date, greeting.hour, order.index(greeting.key)))


# --- words -----------------------------------------------------------------------------------------

def occasion_name(*, calendar: str, key: str, day: date, language: str) -> str:
    """The occasion's name in the language: the catalogue's, else the library's in that language
    when that day has only this holiday (names on a shared day are not in the same order in
    every language), else the English name."""
    occasion = catalogue(calendar=calendar, around=day.year).get(key)
    if occasion is None:
        return key
    if language in occasion.names:
        return occasion.names[language]
    english = dict(_library(calendar, day.year)).get(day, ())
    local = dict(_library(calendar, day.year, language)).get(day, ())
    if len(english) == 1 and len(local) == 1:
        return SUFFIX.sub("", local[0]).strip() or occasion.names["en"]
    return occasion.names["en"]


def occasion_subject(*, calendar: str, key: str, day: date, language: str) -> str:
    occasion = catalogue(calendar=calendar, around=day.year).get(key)
    if occasion is not None and language in occasion.subjects:
        return occasion.subjects[language]
    name = occasion_name(calendar=calendar, key=key, day=day, language=language)
    return GENERIC_SUBJECTS.get(language, GENERIC_SUBJECTS["en"]).format(name=name)


def _joined(parts: list[str], language: str) -> str:
    if len(parts) < 2:
        return "".join(parts)
    separator = "، " if language == "fa" else ", "
    return separator.join(parts[:-1]) + AND.get(language, AND["en"]) + parts[-1]


def plan(*, calendar: str, year: int, language: str = "en", chosen: dict[str, dict] | None = None
         ) -> list[dict[str, str]]:
    """The greetings of a calendar's year, for the merchant and for scripts: send date, key,
    name and subject in the language, by date."""
    calendar = calendar_code(calendar)
    if not calendar:
        raise ApplicationError("unknown calendar: IL, IR or a country code the holidays library knows",
                               code="invalid", extra={"field": "calendar"})
    return [{"date": greeting.send_date.isoformat(), "key": greeting.key,
             "name": occasion_name(calendar=calendar, key=greeting.key, day=greeting.day, language=language),
             "subject": occasion_subject(calendar=calendar, key=greeting.key, day=greeting.day, language=language)}
            for greeting in greetings(calendar=calendar, year=year, chosen=chosen)]


def calendar_overview(*, calendar: str, year: int, language: str, chosen: dict[str, dict] | None = None
                      ) -> dict[str, Any]:
    """What the merchant chooses from: every occasion of the calendar (name and subject in the
    language, whether it is in the default set and in ``chosen``, its day offset and hour), and
    the greetings of ``year`` that ``chosen`` (else the default set) sends."""
    code = calendar_code(calendar)
    if not code:
        raise _invalid("unknown calendar: IL, IR or a country code the holidays library knows", "calendar")
    if language not in GENERIC_SUBJECTS:
        raise _invalid(f"unknown language: one of {', '.join(GENERIC_SUBJECTS)}", "language")
    picked = default_set(calendar=code) if chosen is None else chosen
    occasions = []
    for key, occasion in catalogue(calendar=code, around=year).items():
        name = occasion.names.get(language, occasion.names["en"])
        timing = {"offset_days": occasion.offset_days, "hour": occasion.hour, **picked.get(key, {})}
        occasions.append({"key": key, "name": name, "subject": occasion.subjects.get(language)
                          or GENERIC_SUBJECTS[language].format(name=name), "default": occasion.default,
                          "chosen": key in picked, **timing})
    return {"calendar": code, "year": year, "language": language, "occasions": occasions,
            "plan": plan(calendar=code, year=year, language=language, chosen=chosen)}


def greeting_values(*, values: dict, language: str) -> dict[str, str]:
    """What the holiday email and SMS say, in the shopper's language, from the enrolment's
    context: ``holiday`` (the occasions' names) and ``holiday_subject`` (the greeting).  Raises
    ``NothingToSend`` (the engine skips the step) for an enrolment of the old calendar naming a
    day of mourning."""
    occasions = values.get("holiday_occasions") or []
    names, subjects = [], []
    for item in occasions:
        if item.get("calendar"):
            day = date.fromisoformat(item["date"])
            names.append(occasion_name(calendar=item["calendar"], key=item["key"], day=day, language=language))
            subjects.append(occasion_subject(calendar=item["calendar"], key=item["key"], day=day,
                                             language=language))
        else:
            names.append(item.get("name", ""))
            subjects.append(item.get("subject") or GENERIC_SUBJECTS.get(language, GENERIC_SUBJECTS["en"]).format(
                name=item.get("name", "")))
    if not occasions:  # an enrolment made before occasions (or a preview with none): the name it carries
        names = [str(values.get("holiday") or gettext("the holidays"))]
        if MOURNING.search(names[0]):  # scheduled by the old calendar, which greeted days of mourning
            raise NothingToSend(f"{names[0]} is not a day for greetings")
        subjects = [GENERIC_SUBJECTS.get(language, GENERIC_SUBJECTS["en"]).format(name=names[0])]
    return {"holiday": _joined(names, language), "holiday_subject": " ".join(subjects)}


# --- the flow: settings, the daily scan, the preview -----------------------------------------------

def _invalid(message: str, field: str) -> ApplicationError:
    return ApplicationError(message, code="invalid", extra={"field": field})


def settings_valid(*, settings: dict) -> dict:
    """The holiday flow's settings, normalised (calendar codes), or a clear error naming the field."""
    calendars = settings.get("calendars", [])
    if not isinstance(calendars, list):
        raise _invalid("calendars must be a list of calendar codes", "settings.calendars")
    codes = []
    for position, value in enumerate(calendars):
        code = calendar_code(value)
        if not code:
            raise _invalid(f"unknown calendar {value!r} (IL, IR or a country code the holidays library knows)",
                           f"settings.calendars[{position}]")
        codes.append(code)
    occasions = settings.get("occasions", {})
    if not isinstance(occasions, dict):
        raise _invalid("occasions must be an object: calendar -> occasion key -> {offset_days, hour}",
                       "settings.occasions")
    chosen: dict[str, dict[str, dict[str, int]]] = {}
    for calendar_value, picked in occasions.items():
        where = f"settings.occasions.{calendar_value}"
        code = calendar_code(calendar_value)
        if not code:
            raise _invalid(f"unknown calendar {calendar_value!r}", where)
        if not isinstance(picked, dict):
            raise _invalid(f"occasions of {code} must be an object: occasion key -> {{offset_days, hour}}", where)
        known = catalogue(calendar=code)
        chosen[code] = {}
        for key, timing in picked.items():
            if key not in known:
                raise _invalid(f"unknown occasion {key!r} for {code} (known: {', '.join(sorted(known))})",
                               f"{where}.{key}")
            chosen[code][key] = _timing_valid(timing, f"{where}.{key}")
    custom = settings.get("custom", [])
    if not isinstance(custom, list):
        raise _invalid("custom must be a list of {date: MM-DD, name}", "settings.custom")
    dates = [_custom_valid(item, f"settings.custom[{position}]") for position, item in enumerate(custom)]
    return {**settings, "calendars": list(dict.fromkeys(codes)), "occasions": chosen, "custom": dates}


def _timing_valid(timing: Any, where: str) -> dict[str, int]:
    if not isinstance(timing, dict) or set(timing) - {"offset_days", "hour"}:
        raise _invalid("an occasion takes {} or {offset_days, hour}", where)
    offset, hour = timing.get("offset_days", 0), timing.get("hour", DEFAULT_HOUR)
    if not isinstance(offset, int) or isinstance(offset, bool) or abs(offset) > MAX_OFFSET_DAYS:
        raise _invalid(f"offset_days must be a whole number from -{MAX_OFFSET_DAYS} to {MAX_OFFSET_DAYS}",
                       f"{where}.offset_days")
    if not isinstance(hour, int) or isinstance(hour, bool) or hour not in HOURS:
        raise _invalid(f"hour must be from {HOURS.start} to {HOURS.stop - 1} (outside quiet hours)", f"{where}.hour")
    return {name: value for name, value in timing.items()}


def _custom_valid(item: Any, where: str) -> dict:
    if not isinstance(item, dict) or set(item) - {"date", "name", "hour", "subject"}:
        raise _invalid("a date of your own takes date (MM-DD), name, and optionally hour and subject", where)
    name, subject = item.get("name"), item.get("subject", "")
    if not isinstance(name, str) or not name.strip() or len(name) > 100:
        raise _invalid("a date of your own needs a name (up to 100 characters)", f"{where}.name")
    if not isinstance(subject, str) or len(subject) > 200:
        raise _invalid("subject must be text (up to 200 characters)", f"{where}.subject")
    try:
        datetime.strptime(f"2024-{item.get('date')}", "%Y-%m-%d")
    except (TypeError, ValueError):
        raise _invalid("date must be MM-DD, e.g. 06-10", f"{where}.date") from None
    _timing_valid({"hour": item.get("hour", DEFAULT_HOUR)}, where)
    return item


def flow_greetings(*, flow: Flow, send_date: date) -> list[Greeting]:
    """The greetings the flow sends on one day (shop time): its calendars' chosen occasions and
    the merchant's own dates."""
    chosen_by_calendar = flow.settings.get("occasions") or {}
    found = []
    for calendar in flow.settings.get("calendars", []):
        code = calendar_code(calendar)
        if not code:
            continue
        for year in (send_date.year - 1, send_date.year, send_date.year + 1):
            found += [greeting for greeting in greetings(calendar=code, year=year, chosen=chosen_by_calendar.get(code))
                      if greeting.send_date == send_date]
    for item in flow.settings.get("custom", []):
        if item.get("date") == send_date.strftime("%m-%d") and item.get("name"):
            found.append(Greeting(calendar="", key=str(item["name"]), day=send_date, year_key=str(send_date.year),
                                  send_date=send_date, hour=int(item.get("hour", DEFAULT_HOUR)),
                                  name=str(item["name"]), subject=str(item.get("subject", ""))))
    unique = {(greeting.calendar, greeting.key): greeting for greeting in found}
    return sorted(unique.values(), key=lambda greeting: greeting.hour)  # stable: calendars, then own dates


def _context(found: list[Greeting]) -> dict:
    occasions = []
    for greeting in found:
        item = {"calendar": greeting.calendar, "key": greeting.key, "date": greeting.day.isoformat()}
        if not greeting.calendar:
            item.update({"name": greeting.name, "subject": greeting.subject})
        occasions.append(item)
    english = greeting_values(values={"holiday_occasions": occasions}, language="en")
    # ``holiday_date``: the day the greeting is for (its send date: the eve of a Jewish holiday);
    # the engine skips a date-bound message held past the end of that day.
    return {"holiday": english["holiday"], "holiday_date": found[0].send_date.isoformat(),
            "holiday_occasions": occasions}


def holiday_scan(*, flow: Flow, now: datetime | None = None) -> int:
    """Daily: enrol every customer who may receive the flow's messages for the greetings due
    today and tomorrow (shop time), each at its send hour; the daily job runs every 24 hours at
    any time of day, so tomorrow's are enrolled ahead and go out on time.  Consent, caps and
    quiet hours still apply when the step runs.  One greeting a day per shopper: a day's
    occasions go out together, and a shopper already greeted that day (before the merchant
    changed the day's occasions) is not greeted again."""
    now = now or timezone.now()
    zone = ZoneInfo(flow.shop.timezone or "UTC")
    today = now.astimezone(zone).date()
    enrolled = 0
    for send_date in (today, today + timedelta(days=1)):
        found = flow_greetings(flow=flow, send_date=send_date)
        if not found:
            continue
        start = datetime.combine(send_date, time(0), zone)
        at = datetime.combine(send_date, time(min(greeting.hour for greeting in found)), zone)
        keys = "+".join(greeting.key for greeting in found)
        year = min(greeting.year_key for greeting in found)
        context = _context(found)
        greeted = Enrolment.objects.filter(flow=flow, enrolled_at__gte=start, enrolled_at__lt=start + timedelta(days=1))
        enrolled += enrol_many(flow=flow, at=at, candidates=(
            Candidate(pk, f"holiday:{keys}:{year}:{pk}", context)
            for pk in _reachable(flow).exclude(pk__in=greeted.values("customer_id")).values_list("pk", flat=True)))
    return enrolled


def _reachable(flow: Flow) -> QuerySet[Customer]:
    """Customers the flow's steps could reach: subscribed on the steps' channel, with an address."""
    customers = Customer.objects.filter(shop_id=flow.shop_id, is_deleted=False, redacted_at__isnull=True)
    channels = {Channel.SMS if step.action == StepAction.SEND_SMS else Channel.EMAIL
                for step in steps_for_new_enrolment(flow)}
    reachable = customers.none()
    if Channel.EMAIL in channels:
        reachable |= customers.filter(email_consent="subscribed").exclude(email="")
    if Channel.SMS in channels:
        reachable |= customers.filter(sms_consent="subscribed").exclude(phone="")
    return reachable


def next_greeting(*, flow: Flow, day: date) -> dict:
    """The enrolment context of the flow's next greeting from ``day`` on (the merchant's preview)."""
    for ahead in range(0, 367):
        found = flow_greetings(flow=flow, send_date=day + timedelta(days=ahead))
        if found:
            return _context(found)
    return {}
