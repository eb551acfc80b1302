"""The dashboard's menu: its sections and pages, in the order a merchant looks for them.

A page shows up once its URL exists (the settings pages arrive one by one); each entry is a URL
name under ``dashboard:`` and its label.
"""

from typing import Any

from django.urls import NoReverseMatch
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from dashboard.auth import DashboardAccess

SECTIONS: tuple[tuple[Promise, tuple[tuple[str, Promise], ...]], ...] = (
    (_("Get started"), (
        ("dashboard:home", _("Home")),
        ("dashboard:onboarding", _("Set-up guide")),
    )),
    (_("Reports"), (
        ("dashboard:overview", _("Retention overview")),
        ("dashboard:cohorts", _("Cohorts")),
        ("dashboard:segments", _("Segments")),
        ("dashboard:loyalty", _("Loyalty program")),
        ("dashboard:flows", _("Flows")),
        ("dashboard:surveys", _("Surveys and NPS")),
    )),
    (_("Loyalty"), (
        ("dashboard:settings_program", _("Points and earning")),
        ("dashboard:settings_rewards", _("Rewards")),
        ("dashboard:settings_tiers", _("Tiers")),
        ("dashboard:settings_referrals", _("Referrals")),
        ("dashboard:settings_badges", _("Badges and challenges")),
        ("dashboard:settings_customers", _("Customers")),
    )),
    (_("Messages"), (
        ("dashboard:settings_flows", _("Flow settings")),
        ("dashboard:settings_branding", _("Email branding")),
        ("dashboard:settings_holidays", _("Holiday calendar")),
        ("dashboard:settings_surveys", _("Survey settings")),
        ("dashboard:settings_segments", _("Segment builder")),
    )),
    (_("Store"), (
        ("dashboard:settings_widget", _("Widget")),
        ("dashboard:settings_data", _("Data and privacy")),
        ("dashboard:plan", _("Plan")),
    )),
)

#: Pages under another page (a flow's steps, one reward, one customer) light up their parent's entry.
PARENTS = {
    "dashboard:segment": "dashboard:segments",
    "dashboard:settings_reward": "dashboard:settings_rewards",
    "dashboard:settings_customer": "dashboard:settings_customers",
    "dashboard:settings_flow": "dashboard:settings_flows",
    "dashboard:settings_email": "dashboard:settings_flows",
}


def menu(access: DashboardAccess, *, current: str, params: dict[str, str]) -> list[dict[str, Any]]:
    """The sections with the pages that exist; the current page's section is open."""
    current = PARENTS.get(current, current)
    sections = []
    for label, pages in SECTIONS:
        items = []
        for name, page_label in pages:
            try:
                url = access.url(name, **(params if name in _PERIOD_PAGES else {}))
            except NoReverseMatch:
                continue
            items.append({"label": page_label, "url": url, "current": name == current})
        if items:
            sections.append({"label": label, "items": items, "open": any(item["current"] for item in items)})
    return sections


#: The report pages keep the chosen date range when the merchant moves between them.
_PERIOD_PAGES = {"dashboard:overview", "dashboard:cohorts", "dashboard:segments", "dashboard:loyalty",
                 "dashboard:flows", "dashboard:surveys"}
