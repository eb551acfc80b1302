"""The set-up guide (``dashboard:onboarding``, one step per ``?step=``) and the home page's
checklist (``dashboard:home``).

Each step's form calls one service of ``dashboard.onboarding``, which calls the services the
settings pages and the merchant API call.  Saving a step goes on to the next; the launch shows the
backfill's dry run and applies it once.  The app's URL (``index``) lands a new shop on the guide,
a shop part-way through on the home page's checklist, and a shop that is set up on the overview.
"""

from functools import partial
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from campaigns.services.flows import flow_preview
from dashboard import formatting
from dashboard.auth import DashboardAccess, dashboard_view, form_action, saved_redirect
from dashboard.labels import translated
from dashboard.models import OnboardingStep
from dashboard.onboarding import (
    DEFAULT_REWARDS,
    STEPS,
    SUGGESTED_FLOWS,
    OnboardingState,
    holiday_choice,
    onboarding_flows,
    onboarding_flows_save,
    onboarding_holidays_save,
    onboarding_launch_preview,
    onboarding_launch_request,
    onboarding_program_save,
    onboarding_rewards_save,
    onboarding_state,
    onboarding_tiers_save,
    onboarding_widget_save,
    preview_customer,
    reward_presets_chosen,
    tier_preset_current,
)
from dashboard.settings_pages.onboarding_forms import (
    FlowsStepForm,
    HolidaysStepForm,
    LaunchForm,
    ProgramStepForm,
    RewardsStepForm,
    TiersStepForm,
    WidgetStepForm,
)
from dashboard.tasks import onboarding_launch_run
from dashboard.views import overview_page, render_page
from integrations.platforms import adapter_for
from loyalty.models import Reward
from loyalty.selectors import program_get, widget_settings_get
from loyalty.services.earning import BackfillPlan
from retention_app.errors import ApplicationError

VIEW = "dashboard:onboarding"
HOME = "dashboard:home"
#: What each step asks, in a sentence (the checklist and the step's page say it).
STEP_SUMMARIES = {
    OnboardingStep.PROGRAM: gettext_lazy("Switch the program on and choose how many points an order earns."),
    OnboardingStep.REWARDS: gettext_lazy("Pick the rewards shoppers can trade their points for."),
    OnboardingStep.TIERS: gettext_lazy("Reward your best customers with tiers, or go without."),
    OnboardingStep.FLOWS: gettext_lazy("Choose the automatic emails: thank-yous, birthdays, win-backs and more."),
    OnboardingStep.HOLIDAYS: gettext_lazy("Greet your customers on the holidays they celebrate."),
    OnboardingStep.WIDGET: gettext_lazy("Give the rewards widget your store's colour and corner."),
    OnboardingStep.LAUNCH: gettext_lazy("Award points for past orders and go live."),
}


def _step_form(access: DashboardAccess, step: str, data: Any = None) -> forms.Form:
    """The step's form, filled with the shop's current choices (or the posted ``data``); it
    carries its step in a hidden field."""
    form = _form_for(access, step, data)
    form.fields["step"] = forms.CharField(widget=forms.HiddenInput, initial=step, required=False)
    return form


def _form_for(access: DashboardAccess, step: str, data: Any) -> forms.Form:
    shop = access.shop
    currency = shop.currency or "USD"
    state = onboarding_state(shop=shop)
    if step == OnboardingStep.PROGRAM:
        program = program_get(shop=shop)
        return ProgramStepForm(data, currency=currency, initial={
            # A shop that has not been through this step is offered the program switched on.
            "is_enabled": program.is_enabled or step not in state.steps_done,
            "points_per_currency_unit": program.points_per_currency_unit.normalize()})
    if step == OnboardingStep.REWARDS:
        chosen = reward_presets_chosen(shop=shop) if step in state.steps_done else list(DEFAULT_REWARDS)
        return RewardsStepForm(data, currency=currency,
                               points_per_currency_unit=program_get(shop=shop).points_per_currency_unit,
                               initial={"rewards": chosen})
    if step == OnboardingStep.TIERS:
        current = tier_preset_current(shop=shop)
        return TiersStepForm(data, currency=currency, current=current, initial={"tiers": current})
    if step == OnboardingStep.FLOWS:
        flows = onboarding_flows(shop=shop)
        on = [flow.key for flow in flows if flow.is_enabled]
        return FlowsStepForm(data, flows=flows, initial={
            "flows": on if step in state.steps_done else sorted({*on, *SUGGESTED_FLOWS})})
    if step == OnboardingStep.HOLIDAYS:
        choice = holiday_choice(shop=shop)
        return HolidaysStepForm(data, initial={
            "enabled": choice.enabled,
            "calendars": choice.calendars, "occasions": choice.occasions})
    if step == OnboardingStep.WIDGET:
        widget = widget_settings_get(shop=shop)
        return WidgetStepForm(data, initial={"accent_color": widget.accent_color,
                                             "launcher_position": widget.launcher_position})
    return LaunchForm(data)


def _save(access: DashboardAccess, step: str, form: forms.Form) -> None:
    shop, data = access.shop, form.cleaned_data
    if step == OnboardingStep.PROGRAM:
        onboarding_program_save(shop=shop, is_enabled=data["is_enabled"],
                                points_per_currency_unit=data["points_per_currency_unit"])
    elif step == OnboardingStep.REWARDS:
        onboarding_rewards_save(shop=shop, rewards=data["rewards"])
    elif step == OnboardingStep.TIERS:
        onboarding_tiers_save(shop=shop, tiers=data["tiers"])
    elif step == OnboardingStep.FLOWS:
        onboarding_flows_save(shop=shop, flows=data["flows"])
    elif step == OnboardingStep.HOLIDAYS:
        onboarding_holidays_save(shop=shop, enabled=data["enabled"], calendars=data["calendars"],
                                 occasions=data["occasions"])
    elif step == OnboardingStep.WIDGET:
        onboarding_widget_save(shop=shop, accent_color=data["accent_color"],
                               launcher_position=data["launcher_position"])
    elif onboarding_launch_request(shop=shop):
        transaction.on_commit(partial(onboarding_launch_run.delay, shop.pk))


def _refused(form: forms.Form, error: ValidationError | ApplicationError) -> None:
    """A service's refusal, shown next to its field (or above the form)."""
    if isinstance(error, ApplicationError):
        field = error.extra.get("field")
        form.add_error(field if field in form.fields else None, error.message)
        return
    for field, messages in error.message_dict.items():
        for message in messages:
            form.add_error(field if field in form.fields else None, message)


def _figures(plan: BackfillPlan) -> dict[str, str]:
    return {"orders": formatting.number(plan.orders, 0), "customers": formatting.number(plan.customers, 0),
            "points": formatting.number(plan.points, 0)}


def _steps(access: DashboardAccess, state: OnboardingState, current: str = "") -> list[dict[str, Any]]:
    return [{"key": key, "label": OnboardingStep(key).label, "summary": STEP_SUMMARIES[OnboardingStep(key)],
             "number": formatting.number(position, 0), "done": key in state.steps_done, "current": key == current,
             "url": access.url(VIEW, step=key)}
            for position, key in enumerate(STEPS, start=1)]


def onboarding_page(request: HttpRequest, access: DashboardAccess, *, step: str = "", form: forms.Form | None = None,
                    status: int = 200) -> HttpResponse:
    """The guide at ``step`` (the first not done when none is asked for); the app's index shows it
    too, for a shop that has just installed."""
    state = onboarding_state(shop=access.shop)
    step = step or state.next_step
    form = form or _step_form(access, step)
    position = STEPS.index(step)
    context: dict[str, Any] = {}
    if step == OnboardingStep.FLOWS:
        customer = preview_customer(shop=access.shop)
        context["preview_for"] = (customer.first_name or customer.email) if customer else ""
        context["flow_choices"] = [
            {"widget": choice, "preview_url": access.url(VIEW, step=step, preview=choice.data["value"])
             if customer else ""} for choice in form["flows"]]
    if step == OnboardingStep.WIDGET:
        context["widget_setup_url"] = adapter_for(access.shop.platform).widget_setup_url(shop=access.shop)
    if step == OnboardingStep.LAUNCH:
        program = program_get(shop=access.shop)
        context.update(
            launched=state.launch is not None, launching=state.launching,
            status_url=access.url(VIEW, step=step, status="1"),
            # launched: what it awarded (nothing to say when it awarded nothing); else the dry run
            launch=(_figures(state.launch) if state.launch.orders else None) if state.launch
            else _figures(onboarding_launch_preview(shop=access.shop)),
            program_enabled=program.is_enabled, program_ready=OnboardingStep.PROGRAM in state.steps_done,
            rate=formatting.number(program.points_per_currency_unit.normalize()),
            unit=formatting.money(1, access.shop.currency or "USD"),
            rewards=[reward.name_in(request.LANGUAGE_CODE) for reward in
                     Reward.objects.filter(shop=access.shop, is_active=True).order_by("points_cost")])
    response = render_page(
        request, access, view_name=VIEW, title=_("Set up Comeback"), template="dashboard/settings/onboarding.html",
        steps=_steps(access, state, step), step=step, step_label=OnboardingStep(step).label,
        step_summary=STEP_SUMMARIES[OnboardingStep(step)],
        step_number=formatting.number(position + 1, 0), step_count=formatting.number(len(STEPS), 0),
        back_url=access.url(VIEW, step=STEPS[position - 1]) if position else "",
        form=form, action=form_action(request, access, VIEW), home_url=access.url(HOME), **context)
    response.status_code = status
    return response


def _flow_preview(request: HttpRequest, access: DashboardAccess, key: str) -> HttpResponse:
    """One flow's first message as the store's latest customer would get it (htmx partial)."""
    flows = {flow.key: flow for flow in onboarding_flows(shop=access.shop)}
    customer = preview_customer(shop=access.shop)
    if key not in flows or customer is None:
        raise ApplicationError("no such flow to preview", status=404, code="not_found")
    steps = flow_preview(shop=access.shop, key=key, customer=customer)
    message = next((item for item in steps if item["subject"] or item["text"]), None)
    return render(request, "dashboard/settings/_onboarding_preview.html", {
        "flow": translated(flows[key].name), "message": message, "customer": customer.first_name or customer.email})


def _launch_status(request: HttpRequest, access: DashboardAccess) -> HttpResponse:
    """While the launch runs: the panel htmx polls, which shows the result once it is done."""
    state = onboarding_state(shop=access.shop)
    return render(request, "dashboard/settings/_onboarding_launch_status.html", {
        "launched": state.launch is not None, "launching": state.launching,
        "launch": _figures(state.launch) if state.launch and state.launch.orders else None,
        "status_url": access.url(VIEW, step=OnboardingStep.LAUNCH, status="1"), "home_url": access.url(HOME)})


@require_http_methods(["GET", "POST"])
@dashboard_view
def onboarding(request: HttpRequest, access: DashboardAccess) -> HttpResponse:
    step = request.POST.get("step", "") if request.method == "POST" else request.GET.get("step", "")
    if step and step not in STEPS:
        raise ApplicationError("no such step", status=404, code="not_found")
    if request.method == "GET" and "preview" in request.GET:
        return _flow_preview(request, access, request.GET["preview"])
    if request.method == "GET" and step == OnboardingStep.LAUNCH and request.GET.get("status"):
        return _launch_status(request, access)
    if request.method == "GET":
        return onboarding_page(request, access, step=step)
    step = step or OnboardingStep.PROGRAM
    form = _step_form(access, step, request.POST)
    if form.is_valid():
        try:
            _save(access, step, form)
        except (ValidationError, ApplicationError) as error:
            _refused(form, error)
        else:
            if step == OnboardingStep.LAUNCH:
                # launched already (the job ran at once) -> home; else the step says it is under way
                launched = onboarding_state(shop=access.shop).launch is not None
                return saved_redirect(access, HOME) if launched else saved_redirect(access, VIEW, step=step)
            return saved_redirect(access, VIEW, step=STEPS[STEPS.index(step) + 1])
    return onboarding_page(request, access, step=step, form=form, status=400)


def home_page(request: HttpRequest, access: DashboardAccess) -> HttpResponse:
    state = onboarding_state(shop=access.shop)
    done = sum(1 for key in STEPS if key in state.steps_done)
    return render_page(
        request, access, view_name=HOME, title=_("Home"), template="dashboard/settings/home.html",
        steps=_steps(access, state), complete=state.complete,
        launch=_figures(state.launch) if state.launch and state.launch.orders else None,
        next_url=access.url(VIEW, step=state.next_step),
        progress=_("%(done)s of %(count)s steps done") % {"done": formatting.number(done, 0),
                                                          "count": formatting.number(len(STEPS), 0)},
        done_count=done, step_count=len(STEPS), overview_url=access.url("dashboard:overview"))


@require_GET
@dashboard_view
def home(request: HttpRequest, access: DashboardAccess) -> HttpResponse:
    return home_page(request, access)


@require_GET
@dashboard_view
def index(request: HttpRequest, access: DashboardAccess) -> HttpResponse:
    """The app's URL.  Shopify opens it inside the admin with a one-minute session token, so the
    page is shown right here (no redirect carrying the token, no bounce): the set-up guide for a
    shop that has done nothing yet, the checklist while steps are left, else the overview.  A
    login is sent on to the same page."""
    state = onboarding_state(shop=access.shop)
    if access.embedded:
        if state.complete:
            return overview_page(request, access)
        return home_page(request, access) if state.started else onboarding_page(request, access)
    name = "dashboard:overview" if state.complete else HOME if state.started else VIEW
    return HttpResponseRedirect(access.url(name))
