"""Tiers: the active version of the tier rules and the earlier ones; a new version is saved
inactive, its dry run (who moves up, who moves down) is shown, and only then can it be activated.

One URL: ``?scheme=<id>`` shows a version's dry run with the Activate button; posts carry
``action`` = ``propose`` (save a new version) or ``activate``."""

import hashlib
from typing import Any, cast

from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from dashboard import formatting
from dashboard.auth import DashboardAccess, dashboard_view, form_action, saved_redirect
from dashboard.settings_pages.tiers_forms import (
    PERKS,
    SPARE_ROWS,
    BaseTierFormSet,
    TierActivateForm,
    TierFormSet,
    TierSchemeForm,
    other_languages,
    tier_initial,
)
from dashboard.views import render_page
from loyalty import selectors
from loyalty.models import Account, Tier, TierBasis, TierScheme, name_in
from loyalty.services import tiers
from retention_app.errors import ApplicationError

VIEW = "dashboard:settings_tiers"
#: The dry run names at most this many customers (the counts cover all).
DRY_RUN_ROWS = 200


def _scheme(access: DashboardAccess, scheme_id: Any) -> TierScheme:
    try:
        found = TierScheme.objects.filter(shop=access.shop, pk=int(scheme_id)).first()
    except (TypeError, ValueError):
        found = None
    if found is None:
        raise ApplicationError(_("This tier version does not exist."), status=404, code="not_found")
    return found


def dry_run_fingerprint(plan: tiers.DryRun) -> str:
    """What the merchant was shown, in 16 hex digits: the same moves give the same fingerprint."""
    moves = sorted((move.account_id, move.before or "", move.after or "") for move in plan.moves)
    return hashlib.sha256(repr(moves).encode()).hexdigest()[:16]


def _tier_label(tier: Tier) -> str:
    return name_in(tier.names, tier.name, get_language() or "")


def _threshold(scheme: TierScheme, tier: Tier) -> str:
    if scheme.basis == TierBasis.POINTS:
        return _("%(points)s points") % {"points": formatting.number(tier.threshold, 0)}
    return formatting.money(tier.threshold, scheme.shop.currency)


def _versions(access: DashboardAccess) -> list[dict[str, Any]]:
    schemes = TierScheme.objects.filter(shop=access.shop).select_related("shop").prefetch_related("tiers")
    members = {row["tier_id"]: row["count"] for row in Account.objects.filter(shop=access.shop, tier__isnull=False)
               .values("tier_id").annotate(count=Count("pk")).order_by()}
    return [{
        "scheme": scheme,
        "basis": scheme.get_basis_display(), "period": scheme.get_period_display(),
        "grace_days": formatting.number(scheme.grace_days, 0),
        "created": formatting.day(scheme.created_at.date()),
        "dry_run_url": access.url(VIEW, scheme=scheme.pk),
        "tiers": [{"name": _tier_label(tier), "threshold": _threshold(scheme, tier),
                   "multiplier": formatting.number(tier.earn_multiplier),
                   "entry_points": formatting.number(tier.entry_points, 0),
                   "perks": [str(label) for key, label in PERKS if (tier.perks or {}).get(key)],
                   "members": formatting.number(members.get(tier.pk, 0), 0)} for tier in scheme.tiers.all()],
    } for scheme in schemes.order_by("-version")]


def _dry_run(access: DashboardAccess, scheme: TierScheme) -> dict[str, Any]:
    plan = tiers.tier_scheme_dry_run(scheme=scheme)
    shown = plan.moves[:DRY_RUN_ROWS]
    accounts = selectors.accounts_by_id(shop=access.shop, account_ids=[move.account_id for move in shown])
    new_tiers = {tier.name: tier for tier in scheme.tiers.all()}
    rows = []
    for move in shown:
        account = accounts.get(move.account_id)
        customer = account.customer if account is not None else None
        before = account.tier if account is not None and account.tier and account.tier.name == move.before else None
        after = new_tiers.get(move.after or "")
        rows.append({
            "name": f"{customer.first_name} {customer.last_name}".strip() if customer else "",
            "email": customer.email if customer else (account.email if account else ""),
            "url": access.url("dashboard:settings_customer", move.account_id),
            "before": _tier_label(before) if before else move.before or _("No tier"),
            "after": _tier_label(after) if after else move.after or _("No tier"), "is_up": move.is_up,
        })
    return {"scheme": scheme, "rows": rows, "up": formatting.number(plan.up, 0),
            "down": formatting.number(plan.down, 0), "total": len(plan.moves),
            "hidden": formatting.number(max(len(plan.moves) - DRY_RUN_ROWS, 0), 0),
            "form": TierActivateForm(initial={"scheme_id": scheme.pk, "dry_run": dry_run_fingerprint(plan)})}


def _render(request: HttpRequest, access: DashboardAccess, *, scheme_form: TierSchemeForm, formset: Any,
            dry_run: dict[str, Any] | None = None, notice: str = "", status: int = 200) -> HttpResponse:
    response = render_page(
        request, access, view_name=VIEW, title=_("Tiers"), template="dashboard/settings/tiers.html",
        versions=_versions(access), scheme_form=scheme_form, formset=formset, dry_run=dry_run, notice=notice,
        languages=other_languages(), perk_keys=[key for key, _label in PERKS],
        action=form_action(request, access, VIEW),
    )
    response.status_code = status
    return response


def _new_version_forms(access: DashboardAccess) -> tuple[TierSchemeForm, Any]:
    active = TierScheme.objects.filter(shop=access.shop, is_active=True).first()
    rows = tier_initial(list(active.tiers.all())) if active else []
    scheme_form = TierSchemeForm(initial={"basis": active.basis, "period": active.period,
                                          "grace_days": active.grace_days} if active else None)
    formset = TierFormSet(prefix="tiers", initial=rows + [{} for _ in range(SPARE_ROWS)])
    return scheme_form, formset


@require_http_methods(["GET", "POST"])
@dashboard_view
def settings_tiers(request: HttpRequest, access: DashboardAccess) -> HttpResponse:
    if request.method == "POST":
        if request.POST.get("action") == "activate":
            return _activate(request, access)
        return _propose(request, access)
    scheme_form, formset = _new_version_forms(access)
    dry_run = _dry_run(access, _scheme(access, request.GET["scheme"])) if request.GET.get("scheme") else None
    return _render(request, access, scheme_form=scheme_form, formset=formset, dry_run=dry_run)


def _propose(request: HttpRequest, access: DashboardAccess) -> HttpResponse:
    scheme_form = TierSchemeForm(request.POST)
    formset = TierFormSet(request.POST, prefix="tiers")
    if scheme_form.is_valid() and formset.is_valid():
        try:
            scheme = tiers.tier_scheme_propose(shop=access.shop, basis=scheme_form.cleaned_data["basis"],
                                               period=scheme_form.cleaned_data["period"],
                                               grace_days=scheme_form.cleaned_data["grace_days"],
                                               tiers=cast(BaseTierFormSet, formset).specs())
        except ApplicationError as error:
            scheme_form.add_error(None, error.message)
        else:
            return saved_redirect(access, VIEW, scheme=scheme.pk)
    return _render(request, access, scheme_form=scheme_form, formset=formset, status=400)


def _activate(request: HttpRequest, access: DashboardAccess) -> HttpResponse:
    form = TierActivateForm(request.POST)
    if not form.is_valid():
        raise ApplicationError(_("Open the version's dry run, then activate it from there."), status=400)
    scheme = _scheme(access, form.cleaned_data["scheme_id"])
    scheme_form, formset = _new_version_forms(access)
    if scheme.is_active:
        return _render(request, access, scheme_form=scheme_form, formset=formset, status=409,
                       notice=_("This version is already active."))
    dry_run = _dry_run(access, scheme)
    if dry_run["form"].initial["dry_run"] != form.cleaned_data["dry_run"]:
        return _render(request, access, scheme_form=scheme_form, formset=formset, dry_run=dry_run, status=409,
                       notice=_("Customers' tiers changed since the dry run was shown: check the moves below "
                                "again, then activate."))
    tiers.tier_scheme_activate(scheme=scheme)
    return saved_redirect(access, VIEW)
