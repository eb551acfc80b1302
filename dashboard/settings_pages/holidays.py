"""The holiday calendar: which calendars the shop greets on, which occasions of each are on, and
when each greeting goes out (days before or after the occasion, and the hour in the shop's time
zone); the year's greetings below.  Reads through ``holidays.calendar_overview`` (as the merchant
API's ``HolidayCalendarApi``) and saves through ``flows.flow_edit`` (the flow's settings).

Inputs: ``calendars`` (checkboxes IL / IR, and ``other_calendars``: country codes), and per
occasion ``occasions-<calendar>-<key>`` (on), ``...-offset_days`` and ``...-hour``."""

from datetime import date
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from campaigns import selectors as campaign_selectors
from campaigns.services import flows as flow_service
from campaigns.services import holidays
from dashboard import formatting
from dashboard.auth import DashboardAccess, dashboard_view, form_action, saved_redirect
from dashboard.periods import shop_today
from dashboard.views import render_page
from retention_app import locale_format
from retention_app.errors import ApplicationError

VIEW = "dashboard:settings_holidays"
FLOW_KEY = "holiday_greetings"
BUILT_IN = ("IL", "IR")


def _calendar_label(code: str) -> str:
    return {"IL": _("Jewish and Israeli holidays"), "IR": _("Persian and Iranian holidays")}.get(
        code, _("Public holidays of %(country)s") % {"country": code})


def _language() -> str:
    language = (translation.get_language() or "en").split("-")[0]
    return language if language in ("en", "he", "fa") else "en"


def _whole(value: str) -> int | str:
    """A typed whole number as int (the service checks its range), else the text (refused there)."""
    try:
        return int(value.strip())
    except (AttributeError, ValueError):
        return value


def _posted_settings(post: Any, shown: list[str], year: int) -> dict[str, Any]:
    calendars = [code for code in BUILT_IN if code in post.getlist("calendars")]
    calendars += [part.strip().upper() for part in post.get("other_calendars", "").replace(",", " ").split()
                  if part.strip()]
    occasions: dict[str, dict[str, dict[str, Any]]] = {}
    for calendar in shown:  # the calendars whose occasions were on the page
        chosen = {}
        for key in holidays.catalogue(calendar=calendar, around=year):
            name = f"occasions-{calendar}-{key}"
            if post.get(name):
                chosen[key] = {"offset_days": _whole(post.get(f"{name}-offset_days", "0")),
                               "hour": _whole(post.get(f"{name}-hour", str(holidays.DEFAULT_HOUR)))}
        occasions[calendar] = chosen
    custom = []
    for index in range(int(post.get("custom-count", "0") or 0) + 1):  # the shop's own dates, then the new one
        name = f"custom-{index}"
        if post.get(f"{name}-remove") or not (post.get(f"{name}-name", "").strip() or post.get(f"{name}-date", "")):
            continue
        item: dict[str, Any] = {"date": post.get(f"{name}-date", "").strip(),
                                "name": post.get(f"{name}-name", "").strip(),
                                "hour": _whole(post.get(f"{name}-hour", str(holidays.DEFAULT_HOUR)))}
        if post.get(f"{name}-subject", "").strip():
            item["subject"] = post[f"{name}-subject"].strip()
        custom.append(item)
    return {"calendars": calendars, "occasions": occasions, "custom": custom}


@require_http_methods(["GET", "POST"])
@dashboard_view
def settings_holidays(request: HttpRequest, access: DashboardAccess) -> HttpResponse:
    found = campaign_selectors.flow_list(shop=access.shop, key=FLOW_KEY)
    if not found:
        raise ApplicationError("the holiday flow is not set up for this shop", status=404, code="not_found")
    flow = found[0]
    today = shop_today(shop=access.shop)
    year_text = request.GET.get("year", "")
    year = int(year_text) if year_text.isdigit() and 2000 <= int(year_text) <= 2100 else today.year
    settings = dict(flow.settings)
    shown = [code for code in (holidays.calendar_code(value) for value in settings.get("calendars", [])) if code]
    error: ApplicationError | None = None
    posted: dict[str, Any] | None = None
    if request.method == "POST":
        action = request.POST.get("action", "save")
        if action in ("enable", "pause"):
            flow_service.flow_enable(shop=access.shop, key=FLOW_KEY, enabled=action == "enable")
            return saved_redirect(access, VIEW)
        posted = _posted_settings(request.POST, shown, year)
        try:
            flow_service.flow_edit(shop=access.shop, key=FLOW_KEY, settings=posted)
        except ApplicationError as refused:
            error = refused
        else:
            return saved_redirect(access, VIEW, year=str(year) if year != today.year else None)
    chosen_by_calendar = settings.get("occasions") or {}
    calendars = []
    for code in shown:
        overview = holidays.calendar_overview(calendar=code, year=year, language=_language(),
                                              chosen=chosen_by_calendar.get(code))
        rows = []
        for occasion in overview["occasions"]:
            name = f"occasions-{code}-{occasion['key']}"
            if posted is not None:  # show what was typed
                typed = posted["occasions"].get(code, {}).get(occasion["key"])
                occasion = {**occasion, "chosen": typed is not None, **(typed or {})}
            field = str((error.extra or {}).get("field", "")) if error is not None else ""
            rows.append({**occasion, "input": name,
                         "invalid": bool(field) and name.replace("-", ".") in field.replace("settings.", "")})
        calendars.append({"code": code, "label": _calendar_label(code), "occasions": rows, "plan": [
            {**item, "when": formatting.day(date.fromisoformat(item["date"]))} for item in overview["plan"]]})
    other = [code for code in shown if code not in BUILT_IN]
    own = posted["custom"] if posted is not None else list(settings.get("custom") or [])
    field = str((error.extra or {}).get("field", "")) if error is not None else ""
    custom = [{**item, "input": f"custom-{index}", "invalid": field.startswith(f"settings.custom[{index}]")}
              for index, item in enumerate(own)]
    response = render_page(
        request, access, view_name=VIEW, title=_("Holiday calendar"), template="dashboard/settings/holidays.html",
        flow=flow, calendars=calendars, year=year, error=error, action=form_action(request, access, VIEW),
        built_in=[{"code": code, "label": _calendar_label(code), "on": code in shown} for code in BUILT_IN],
        other_calendars=" ".join(other), custom=custom, new_custom=f"custom-{len(custom)}",
        hours=[(hour, locale_format.local_digits(f"{hour:02d}:00")) for hour in holidays.HOURS],
        max_offset=holidays.MAX_OFFSET_DAYS,
        zone=access.shop.timezone or "UTC", flow_url=access.url("dashboard:settings_flow", FLOW_KEY),
        previous_year_url=access.url(VIEW, year=str(year - 1)), next_year_url=access.url(VIEW, year=str(year + 1)))
    if error is not None:
        response.status_code = 400
    return response
