"""Holiday greetings: the calendars, today's occasions and the daily scan that greets."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.utils import timezone

from campaigns.models import Flow
from campaigns.services.engine import Candidate, enrol_many
from commerce.models import Customer


def holiday_calendar(country: str, years: int | list[int], language: str) -> dict[date, str]:
    """The `holidays` library's calendar for a country ({} for a country or language it lacks)."""
    import holidays

    try:
        return dict(holidays.country_holidays(country, years=years, language=language))
    except (NotImplementedError, KeyError):
        return {}


def holidays_today(*, flow: Flow, day: date) -> list[str]:
    """Holiday names falling on ``day`` in the flow's calendars and the merchant's own dates."""
    names: list[str] = []
    for country in flow.settings.get("calendars", []):
        calendar = holiday_calendar(country, day.year, "en_US")
        names += [name.strip() for name in str(calendar.get(day, "")).split(";") if name.strip()]
    names += [str(item.get("name", "")) for item in flow.settings.get("custom", [])
              if item.get("date") == day.strftime("%m-%d") and item.get("name")]
    return list(dict.fromkeys(names))


def holiday_scan(*, flow: Flow, now: datetime | None = None) -> int:
    """Daily: on a holiday of the shop's calendar, greet every customer who may receive marketing
    (consent, caps and quiet hours still apply when the step runs)."""
    now = now or timezone.now()
    day = now.astimezone(ZoneInfo(flow.shop.timezone or "UTC")).date()
    names = holidays_today(flow=flow, day=day)
    if not names:
        return 0
    holiday = names[0]
    country = next((c for c in flow.settings.get("calendars", []) if holiday_name(c, day, "en_US")), "")
    context = {"holiday": holiday, "holiday_date": day.isoformat(), "holiday_country": country}
    customers = Customer.objects.filter(shop_id=flow.shop_id, is_deleted=False, redacted_at__isnull=True,
                                        email_consent="subscribed").exclude(email="")
    return enrol_many(flow=flow, at=now, candidates=(
        Candidate(pk, f"holiday:{holiday}:{day.year}:{pk}", context) for pk in customers.values_list("pk", flat=True)
    ))


def holiday_name(country: str, day: date, language: str) -> str:
    """The holiday's name in a language the library has for that calendar ("" when none)."""
    return str(holiday_calendar(country, day.year, language).get(day, "")).split(";")[0].strip()


