"""Rewards: the list (with a form for a new one) and one reward's page (change it, switch it off
or on).  A reward is never deleted: its redemptions point at it.

Field names are the merchant API's (``points_cost``, ``value``...; ``names_<language>`` for the
``names`` object); both call ``loyalty.services.rewards``."""

from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from dashboard import formatting
from dashboard.auth import DashboardAccess, dashboard_view, form_action, saved_redirect
from dashboard.settings_pages.program_forms import RewardForm
from dashboard.views import render_page
from loyalty.models import Reward, RewardKind
from loyalty.services.rewards import reward_active_set, reward_create, reward_update
from retention_app.errors import ApplicationError

LIST_VIEW = "dashboard:settings_rewards"
DETAIL_VIEW = "dashboard:settings_reward"


def _value(reward: Reward, currency: str) -> str:
    if reward.kind == RewardKind.PERCENTAGE:
        return formatting.percent(reward.value, places=0)
    if reward.kind == RewardKind.FIXED_AMOUNT:
        return formatting.money(reward.value, currency)
    return "—"


def _rows(access: DashboardAccess) -> list[dict[str, Any]]:
    rewards = Reward.objects.filter(shop=access.shop).select_related("tier_only").order_by("-is_active",
                                                                                          "points_cost", "pk")
    return [{"reward": reward, "kind": reward.get_kind_display(), "cost": formatting.number(reward.points_cost),
             "value": _value(reward, access.shop.currency), "url": access.url(DETAIL_VIEW, reward.pk),
             "names": [reward.names[code] for code in sorted(reward.names or {})]}
            for reward in rewards]


@require_http_methods(["GET", "POST"])
@dashboard_view
def settings_rewards(request: HttpRequest, access: DashboardAccess) -> HttpResponse:
    form = RewardForm(request.POST if request.method == "POST" else None, shop=access.shop, creating=True,
                      instance=Reward(shop=access.shop), initial={"code_valid_days": 30})
    if request.method == "POST" and form.is_valid():
        try:
            reward = reward_create(shop=access.shop, data=form.data_for_service())
        except ValidationError as error:
            form.add_error(None, error)
        else:
            return saved_redirect(access, DETAIL_VIEW, reward.pk)
    response = render_page(
        request, access, view_name=LIST_VIEW, title=_("Rewards"), template="dashboard/settings/rewards.html",
        form=form, rows=_rows(access), action=form_action(request, access, LIST_VIEW))
    if request.method == "POST":
        response.status_code = 400
    return response


@require_http_methods(["GET", "POST"])
@dashboard_view
def settings_reward(request: HttpRequest, access: DashboardAccess, reward_id: int) -> HttpResponse:
    reward = Reward.objects.filter(shop=access.shop, pk=reward_id).first()
    if reward is None:
        raise ApplicationError(_("This reward does not exist."), status=404, code="not_found")
    if request.method == "POST" and request.POST.get("action") in ("disable", "enable"):
        reward_active_set(reward=reward, active=request.POST["action"] == "enable")
        return saved_redirect(access, DETAIL_VIEW, reward.pk)
    form = RewardForm(request.POST if request.method == "POST" else None, shop=access.shop, instance=reward)
    if request.method == "POST" and form.is_valid():
        try:
            reward_update(reward=reward, changes=form.data_for_service())
        except ValidationError as error:
            form.add_error(None, error)
        else:
            return saved_redirect(access, DETAIL_VIEW, reward.pk)
    response = render_page(
        request, access, view_name=DETAIL_VIEW, title=_("Reward: %(name)s") % {"name": reward.name},
        template="dashboard/settings/reward.html", args=(reward.pk,), form=form, reward=reward,
        action=form_action(request, access, DETAIL_VIEW, reward.pk), list_url=access.url(LIST_VIEW))
    if request.method == "POST":
        response.status_code = 400
    return response
