"""Badges and challenges: the list of each, a form to create one or change one (``?badge=<id>`` /
``?challenge=<id>``), and a switch to turn one off or on again.

Posts carry ``kind_of`` = ``badge`` or ``challenge``, an optional ``id`` (editing), and ``action``
= ``save`` or ``toggle``.  A challenge's dates are days in the shop's time zone: it runs from the
first day's start to the last day's end."""

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from commerce.models import Shop
from dashboard import formatting
from dashboard.auth import DashboardAccess, dashboard_view, form_action, saved_redirect
from dashboard.settings_pages.tiers_forms import plain_decimal
from dashboard.views import render_page
from loyalty.models import (
    AccountBadge,
    Badge,
    BadgeKind,
    Challenge,
    ChallengeCompletion,
    ChallengeGoal,
    Tier,
    TierScheme,
)
from loyalty.services import badges as service
from retention_app.errors import ApplicationError

VIEW = "dashboard:settings_badges"


class DateInput(forms.DateInput):
    input_type = "date"


class BadgeForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("Awarded for"), choices=BadgeKind.choices)
    name = forms.CharField(label=gettext_lazy("Name"), max_length=100)
    threshold = forms.IntegerField(label=gettext_lazy("Number of orders"), min_value=1, initial=1, required=False,
                                   help_text=gettext_lazy("For “Placed a number of orders”."))
    tier_name = forms.ChoiceField(label=gettext_lazy("Tier"), required=False,
                                  help_text=gettext_lazy("For “Reached a tier”."))
    points = forms.IntegerField(label=gettext_lazy("Points awarded with the badge"), min_value=0,
                                max_value=service.MAX_POINTS, initial=0)
    is_active = forms.BooleanField(label=gettext_lazy("Active (customers can earn it)"), required=False, initial=True)

    def __init__(self, *args: Any, shop: Shop, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        scheme = TierScheme.objects.filter(shop=shop, is_active=True).first()
        names = list(Tier.objects.filter(scheme=scheme).values_list("name", flat=True)) if scheme else []
        self.fields["tier_name"].choices = [("", "—")] + [(name, name) for name in names]  # type: ignore[attr-defined]


class ChallengeForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=200)
    goal = forms.ChoiceField(label=gettext_lazy("Goal"), choices=ChallengeGoal.choices)
    target = forms.DecimalField(label=gettext_lazy("Target"), max_digits=20, decimal_places=3, min_value=0,
                                help_text=gettext_lazy("Orders, reviews, or the amount to spend."))
    starts_at = forms.DateField(label=gettext_lazy("First day"), widget=DateInput)
    ends_at = forms.DateField(label=gettext_lazy("Last day"), widget=DateInput)
    points = forms.IntegerField(label=gettext_lazy("Points for completing it"), min_value=0,
                                max_value=service.MAX_POINTS, initial=0)
    is_active = forms.BooleanField(label=gettext_lazy("Active"), required=False, initial=True)


def _zone(shop: Shop) -> ZoneInfo:
    return ZoneInfo(shop.timezone or "UTC")


def _start(day: date, shop: Shop) -> datetime:
    return datetime.combine(day, time.min, tzinfo=_zone(shop))


def _end(day: date, shop: Shop) -> datetime:
    return datetime.combine(day + timedelta(days=1), time.min, tzinfo=_zone(shop)) - timedelta(microseconds=1)


def _get(model: Any, access: DashboardAccess, raw: Any) -> Any:
    try:
        found = model.objects.filter(shop=access.shop, pk=int(raw)).first()
    except (TypeError, ValueError):
        found = None
    if found is None:
        raise ApplicationError(_("Not found."), status=404, code="not_found")
    return found


def _badge_rows(access: DashboardAccess) -> list[dict[str, Any]]:
    holders = dict(AccountBadge.objects.filter(shop=access.shop).values("badge_id").annotate(count=Count("pk"))
                   .order_by().values_list("badge_id", "count"))
    rows = []
    for badge in Badge.objects.filter(shop=access.shop).order_by("-is_active", "name"):
        condition = badge.get_kind_display()
        if badge.kind == BadgeKind.ORDERS:
            condition = _("%(count)s orders") % {"count": formatting.number(badge.threshold, 0)}
        elif badge.kind == BadgeKind.TIER:
            condition = _("Reached %(tier)s") % {"tier": badge.tier_name}
        rows.append({"item": badge, "condition": condition, "points": formatting.number(badge.points, 0),
                     "holders": formatting.number(holders.get(badge.pk, 0), 0),
                     "edit_url": access.url(VIEW, badge=badge.pk)})
    return rows


def _challenge_rows(access: DashboardAccess) -> list[dict[str, Any]]:
    done = dict(ChallengeCompletion.objects.filter(shop=access.shop).values("challenge_id")
                .annotate(count=Count("pk")).order_by().values_list("challenge_id", "count"))
    zone = _zone(access.shop)
    rows = []
    for challenge in Challenge.objects.filter(shop=access.shop).order_by("-is_active", "-starts_at"):
        target = formatting.money(challenge.target, access.shop.currency) if challenge.goal == ChallengeGoal.SPEND \
            else formatting.number(challenge.target, 0)
        rows.append({"item": challenge, "goal": challenge.get_goal_display(), "target": target,
                     "dates": _("%(start)s – %(end)s") % {
                         "start": formatting.day(challenge.starts_at.astimezone(zone).date()),
                         "end": formatting.day(challenge.ends_at.astimezone(zone).date())},
                     "points": formatting.number(challenge.points, 0),
                     "completed": formatting.number(done.get(challenge.pk, 0), 0),
                     "edit_url": access.url(VIEW, challenge=challenge.pk)})
    return rows


def _badge_form(access: DashboardAccess, badge: Badge | None, data: Any = None) -> BadgeForm:
    initial = ({"kind": badge.kind, "name": badge.name, "threshold": badge.threshold, "tier_name": badge.tier_name,
                "points": badge.points, "is_active": badge.is_active} if badge else None)
    form = BadgeForm(data, initial=initial, shop=access.shop, prefix="badge")
    if badge is None:
        del form.fields["is_active"]  # a new badge starts active
    return form


def _challenge_form(access: DashboardAccess, challenge: Challenge | None, data: Any = None) -> ChallengeForm:
    zone = _zone(access.shop)
    initial = ({"name": challenge.name, "goal": challenge.goal, "target": plain_decimal(challenge.target),
                "starts_at": challenge.starts_at.astimezone(zone).date(),
                "ends_at": challenge.ends_at.astimezone(zone).date(), "points": challenge.points,
                "is_active": challenge.is_active} if challenge else None)
    form = ChallengeForm(data, initial=initial, prefix="challenge")
    if challenge is None:
        del form.fields["is_active"]  # a new challenge starts active
    return form


def _render(request: HttpRequest, access: DashboardAccess, *, badge: Badge | None, badge_form: BadgeForm,
            challenge: Challenge | None, challenge_form: ChallengeForm, status: int = 200) -> HttpResponse:
    response = render_page(
        request, access, view_name=VIEW, title=_("Badges and challenges"),
        template="dashboard/settings/badges.html",
        badges=_badge_rows(access), challenges=_challenge_rows(access),
        badge=badge, badge_form=badge_form, challenge=challenge, challenge_form=challenge_form,
        badge_action=form_action(request, access, VIEW), challenge_action=form_action(request, access, VIEW),
        new_badge_url=access.url(VIEW), zone=access.shop.timezone or "UTC",
    )
    response.status_code = status
    return response


@require_http_methods(["GET", "POST"])
@dashboard_view
def settings_badges(request: HttpRequest, access: DashboardAccess) -> HttpResponse:
    if request.method == "POST":
        if request.POST.get("kind_of") == "challenge":
            return _challenge_post(request, access)
        return _badge_post(request, access)
    badge = _get(Badge, access, request.GET["badge"]) if request.GET.get("badge") else None
    challenge = _get(Challenge, access, request.GET["challenge"]) if request.GET.get("challenge") else None
    return _render(request, access, badge=badge, badge_form=_badge_form(access, badge), challenge=challenge,
                   challenge_form=_challenge_form(access, challenge))


def _badge_post(request: HttpRequest, access: DashboardAccess) -> HttpResponse:
    badge = _get(Badge, access, request.POST["id"]) if request.POST.get("id") else None
    if request.POST.get("action") == "toggle" and badge is not None:
        service.badge_activate(badge=badge, active=not badge.is_active)
        return saved_redirect(access, VIEW)
    form = _badge_form(access, badge, request.POST)
    if form.is_valid():
        data = form.cleaned_data
        values = {"kind": data["kind"], "name": data["name"], "threshold": data.get("threshold") or 1,
                  "tier_name": data.get("tier_name") or "", "points": data["points"]}
        try:
            if badge is None:
                service.badge_create(shop=access.shop, **values)
            else:
                service.badge_update(badge=badge, is_active=data.get("is_active", True), **values)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            return saved_redirect(access, VIEW)
    return _render(request, access, badge=badge, badge_form=form, challenge=None,
                   challenge_form=_challenge_form(access, None), status=400)


def _challenge_post(request: HttpRequest, access: DashboardAccess) -> HttpResponse:
    challenge = _get(Challenge, access, request.POST["id"]) if request.POST.get("id") else None
    if request.POST.get("action") == "toggle" and challenge is not None:
        service.challenge_activate(challenge=challenge, active=not challenge.is_active)
        return saved_redirect(access, VIEW)
    form = _challenge_form(access, challenge, request.POST)
    if form.is_valid():
        data = form.cleaned_data
        values = {"name": data["name"], "goal": data["goal"], "target": data["target"],
                  "starts_at": _start(data["starts_at"], access.shop), "ends_at": _end(data["ends_at"], access.shop),
                  "points": data["points"]}
        try:
            if challenge is None:
                service.challenge_create(shop=access.shop, **values)
            else:
                service.challenge_update(challenge=challenge, is_active=data.get("is_active", True), **values)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            return saved_redirect(access, VIEW)
    return _render(request, access, badge=None, badge_form=_badge_form(access, None), challenge=challenge,
                   challenge_form=form, status=400)
