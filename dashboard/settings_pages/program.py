"""Points and earning: the program (on/off, rate, rounding, when points are awarded, the return
window, expiry, refunds of spent points) and the earning rules (sign-up, birthday, review...).

Two forms on one page; a post says which with ``section`` = ``program`` or ``rules``.  Both call
the services the merchant API calls (``program_update``, ``rule_update``)."""

from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.urls import NoReverseMatch
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from dashboard import formatting
from dashboard.auth import DashboardAccess, dashboard_view, form_action, saved_redirect
from dashboard.settings_pages.program_forms import RULE_KINDS, ProgramForm, RuleForm
from dashboard.views import render_page
from loyalty.models import EarningRule, Program, Rounding
from loyalty.selectors import program_get
from loyalty.services.earning import points_for_amount
from loyalty.services.program import program_update, rule_update

VIEW = "dashboard:settings_program"
PREVIEW_AMOUNT = Decimal(100)


def _rule_forms(access: DashboardAccess, data: Any = None) -> list[RuleForm]:
    rules = {rule.kind: rule for rule in EarningRule.objects.filter(shop=access.shop, kind__in=RULE_KINDS)}
    return [RuleForm(data, rule=rules[kind]) for kind in RULE_KINDS if kind in rules]


def _program_form(access: DashboardAccess, data: Any = None) -> ProgramForm:
    return ProgramForm(data, instance=program_get(shop=access.shop), currency=access.shop.currency,
                       preview_url=access.url(VIEW, preview="rate"))


def _rate_preview(access: DashboardAccess, *, rate: Any, rounding: Any) -> str:
    try:
        value = Decimal(str(rate).strip())
    except (InvalidOperation, ValueError):
        value = Decimal(0)
    if not value.is_finite() or value <= 0 or rounding not in Rounding.values:
        return _("Enter a rate above 0 to see what an order earns.")
    points = points_for_amount(program=Program(points_per_currency_unit=value, rounding=rounding),
                               amount=PREVIEW_AMOUNT)
    return _("An order of %(amount)s earns %(points)s points.") % {
        "amount": formatting.money(PREVIEW_AMOUNT, access.shop.currency), "points": formatting.number(points)}


def _render(request: HttpRequest, access: DashboardAccess, *, program_form: ProgramForm,
            rule_forms: list[RuleForm], status: int = 200, rules_error: bool = False) -> HttpResponse:
    program = program_form.instance
    response = render_page(
        request, access, view_name=VIEW, title=_("Points and earning"), template="dashboard/settings/program.html",
        program_form=program_form, rule_forms=rule_forms, rules_error=rules_error,
        action=form_action(request, access, VIEW),
        rate_preview=_rate_preview(access, rate=program_form["points_per_currency_unit"].value(),
                                   rounding=program_form["rounding"].value()),
        program_enabled=program.is_enabled and program.pk is not None,
        referrals_url=_url_or_empty(access, "dashboard:settings_referrals"),
        rewards_url=_url_or_empty(access, "dashboard:settings_rewards"),
    )
    response.status_code = status
    return response


def _url_or_empty(access: DashboardAccess, name: str) -> str:
    try:
        return access.url(name)
    except NoReverseMatch:
        return ""


@require_http_methods(["GET", "POST"])
@dashboard_view
def settings_program(request: HttpRequest, access: DashboardAccess) -> HttpResponse:
    if request.method == "GET" and request.GET.get("preview") == "rate":
        return HttpResponse(_rate_preview(access, rate=request.GET.get("points_per_currency_unit", ""),
                                          rounding=request.GET.get("rounding", "")))
    if request.method == "POST" and _posts_rules(request):
        return _rules_save(request, access)
    if request.method == "POST":
        return _program_save(request, access)
    return _render(request, access, program_form=_program_form(access), rule_forms=_rule_forms(access))


def _posts_rules(request: HttpRequest) -> bool:
    """The rules form says so (``section``); a script that leaves it out is understood by its fields
    (``signup-points``...)."""
    section = request.POST.get("section")
    if section:
        return section == "rules"
    return any(key.split("-", 1)[0] in RULE_KINDS for key in request.POST if "-" in key)


def _program_save(request: HttpRequest, access: DashboardAccess) -> HttpResponse:
    form = _program_form(access, request.POST)
    if form.is_valid():
        try:
            program_update(shop=access.shop, changes={name: form.cleaned_data[name] for name in form.fields})
        except ValidationError as error:
            form.add_error(None, error)
        else:
            return saved_redirect(access, VIEW)
    return _render(request, access, program_form=form, rule_forms=_rule_forms(access), status=400)


def _rules_save(request: HttpRequest, access: DashboardAccess) -> HttpResponse:
    forms = _rule_forms(access, request.POST)
    valid = all([form.is_valid() for form in forms])  # every form validated, so each shows its errors
    if valid:
        with transaction.atomic():
            for form in forms:
                try:
                    rule_update(shop=access.shop, kind=form.kind, changes=form.changes())
                except ValidationError as error:
                    form.add_error(None, error)
                    valid = False
            if not valid:
                transaction.set_rollback(True)  # all the rules or none
    if valid:
        return saved_redirect(access, VIEW)
    return _render(request, access, program_form=_program_form(access), rule_forms=forms, status=400,
                   rules_error=True)
