"""Customers: search the shop's loyalty members (email, name, platform id, referral code), and one
member's page: balance, tier, ledger history, badges, referrals, and a manual points adjustment
with a required reason (written to the ledger with who made it)."""

import uuid
from typing import Any

from django import forms
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from dashboard import formatting
from dashboard.auth import DashboardAccess, dashboard_view, form_action, saved_redirect
from dashboard.views import render_page
from loyalty import selectors
from loyalty.models import Account, AccountBadge, ManualTierMode, Tier, name_in
from loyalty.services.earning import points_adjust
from loyalty.services.ledger import account_balance
from loyalty.services.tiers import tier_set_manual
from retention_app.errors import ApplicationError

LIST_VIEW = "dashboard:settings_customers"
VIEW = "dashboard:settings_customer"
PAGE_SIZE = 25
HISTORY_PAGE_SIZE = 50
#: The largest single adjustment (a typo guard: 1000000 instead of 100).
MAX_ADJUSTMENT = 1_000_000


class AdjustForm(forms.Form):
    points = forms.IntegerField(label=gettext_lazy("Points"), min_value=-MAX_ADJUSTMENT, max_value=MAX_ADJUSTMENT,
                                help_text=gettext_lazy("Positive to add, negative (e.g. -50) to take away."))
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=500,
                             help_text=gettext_lazy("Shown in the customer's history; required."))
    request_id = forms.CharField(max_length=100, widget=forms.HiddenInput, required=False)

    def clean_points(self) -> int:
        points = self.cleaned_data["points"]
        if points == 0:
            raise forms.ValidationError(_("Enter a number of points other than 0."))
        return points

    def clean_reason(self) -> str:
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError(_("Say why you adjust the points."))
        return reason


class ManualTierForm(forms.Form):
    """Pin a customer's tier: at least a tier (``floor``: they can still rise), or exactly one
    (``fixed``), or back to the computed tier (no mode)."""

    manual_tier_mode = forms.ChoiceField(label=gettext_lazy("Tier"), required=False, choices=[
        ("", gettext_lazy("Computed from the rules")), (ManualTierMode.FLOOR, gettext_lazy("At least this tier")),
        (ManualTierMode.FIXED, gettext_lazy("Exactly this tier"))])
    manual_tier = forms.ChoiceField(label=gettext_lazy("Pinned tier"), required=False)

    def __init__(self, *args: Any, tiers: list[Tier], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.tiers = {str(tier.pk): tier for tier in tiers}
        self.fields["manual_tier"].choices = [("", "—")] + [  # type: ignore[attr-defined]
            (key, name_in(tier.names, tier.name, get_language() or "")) for key, tier in self.tiers.items()]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("manual_tier_mode") and not data.get("manual_tier"):
            self.add_error("manual_tier", _("Choose the tier to pin."))
        return data

    @property
    def tier(self) -> Tier | None:
        return self.tiers.get(self.cleaned_data.get("manual_tier") or "") if self.cleaned_data.get(
            "manual_tier_mode") else None


def _name(account: Account) -> str:
    customer = account.customer
    if customer is None:
        return ""
    return f"{customer.first_name} {customer.last_name}".strip()


def _email(account: Account) -> str:
    return account.customer.email if account.customer else account.email


def _tier_name(account: Account) -> str:
    tier = account.tier
    return name_in(tier.names, tier.name, get_language() or "") if tier else ""


def _page_number(request: HttpRequest) -> int:
    try:
        return max(int(request.GET.get("page", "1")), 1)
    except ValueError:
        return 1


@require_GET
@dashboard_view
def settings_customers(request: HttpRequest, access: DashboardAccess) -> HttpResponse:
    query = request.GET.get("q", "").strip()[:200]
    page = Paginator(selectors.account_search(shop=access.shop, query=query), PAGE_SIZE).get_page(
        _page_number(request))
    rows = [{"name": _name(account) or _email(account), "email": _email(account),
             "platform_id": account.customer.platform_id if account.customer else "",
             "tier": _tier_name(account) or "—", "points": formatting.number(account.available, 0),  # type: ignore[attr-defined]
             "joined": formatting.day(account.created_at.date()),
             "url": access.url(VIEW, account.pk)} for account in page.object_list]
    return render_page(
        request, access, view_name=LIST_VIEW, title=_("Customers"), template="dashboard/settings/customers.html",
        query=query, rows=rows, page=page, search_url=access.url(LIST_VIEW),
        page_label=_("Page %(number)s of %(pages)s") % {"number": formatting.number(page.number, 0),
                                                         "pages": formatting.number(page.paginator.num_pages, 0)},
        previous_url=access.url(LIST_VIEW, q=query, page=page.previous_page_number()) if page.has_previous() else "",
        next_url=access.url(LIST_VIEW, q=query, page=page.next_page_number()) if page.has_next() else "",
        total=formatting.number(page.paginator.count, 0), carried=access.carried,
    )


def _account(access: DashboardAccess, account_id: int) -> Account:
    account = selectors.account_get(shop=access.shop, account_id=account_id)
    if account is None:
        raise ApplicationError(_("This customer does not exist."), status=404, code="not_found")
    return account


def _tier_form(access: DashboardAccess, account: Account, data: Any = None) -> ManualTierForm:
    initial = {"manual_tier_mode": account.manual_tier_mode,
               "manual_tier": str(account.manual_tier_id) if account.manual_tier_id else ""}
    return ManualTierForm(data, initial=initial, tiers=selectors.active_tiers(shop=access.shop),
                          auto_id="id_tier_%s")


def _render(request: HttpRequest, access: DashboardAccess, account: Account, form: AdjustForm,
            status: int = 200, tier_form: ManualTierForm | None = None) -> HttpResponse:
    balance = account_balance(account=account)
    now = timezone.now()
    history = Paginator(selectors.account_entries(account=account), HISTORY_PAGE_SIZE).get_page(_page_number(request))
    entries = [{"entry": entry, "kind": entry.get_kind_display(), "points": formatting.number(entry.points, 0),
                "positive": entry.points > 0, "date": formatting.day(entry.occurred_at.date()),
                "pending": entry.available_at > now,
                "by": entry.created_by.get_username() if entry.created_by else entry.actor}
               for entry in history.object_list]
    referrals = [{"referral": referral, "status": referral.get_status_display(),
                  "made": referral.referrer_id == account.pk,
                  "date": formatting.day(referral.created_at.date())}
                 for referral in selectors.account_referrals(account=account)[:50]]
    badges = [{"name": owned.badge.name, "date": formatting.day(owned.awarded_at.date())}
              for owned in AccountBadge.objects.filter(shop=access.shop, account=account).select_related("badge")
              .order_by("awarded_at")]
    response = render_page(
        request, access, view_name=VIEW, title=_name(account) or _email(account) or _("Customer"),
        template="dashboard/settings/customer.html", args=(account.pk,),
        account=account, email=_email(account), tier=_tier_name(account),
        tier_since=formatting.day(account.tier_since.date()) if account.tier and account.tier_since else "",
        available=formatting.number(balance.available, 0), pending=formatting.number(balance.pending, 0),
        has_pending=balance.pending != 0, entries=entries, history=history,
        previous_url=access.url(VIEW, account.pk, page=history.previous_page_number())
        if history.has_previous() else "",
        next_url=access.url(VIEW, account.pk, page=history.next_page_number()) if history.has_next() else "",
        referrals=referrals, badges=badges, form=form, action=form_action(request, access, VIEW, account.pk),
        tier_form=tier_form or _tier_form(access, account),
        back_url=access.url(LIST_VIEW),
    )
    response.status_code = status
    return response


@require_http_methods(["GET", "POST"])
@dashboard_view
def settings_customer(request: HttpRequest, access: DashboardAccess, account_id: int) -> HttpResponse:
    account = _account(access, account_id)
    if request.method == "GET":
        return _render(request, access, account, AdjustForm(initial={"request_id": uuid.uuid4().hex}))
    if request.POST.get("action") == "tier":
        return _pin_tier(request, access, account)
    form = AdjustForm(request.POST)
    if form.is_valid():
        user = request.user if not access.embedded and request.user.is_authenticated else None
        try:
            points_adjust(account=account, points=form.cleaned_data["points"], reason=form.cleaned_data["reason"],
                          created_by=user, actor=access.actor, key=form.cleaned_data["request_id"] or None)
        except ValueError as error:
            form.add_error(None, str(error))
        else:
            return saved_redirect(access, VIEW, account.pk)
    return _render(request, access, account, form, status=400)


def _pin_tier(request: HttpRequest, access: DashboardAccess, account: Account) -> HttpResponse:
    tier_form = _tier_form(access, account, request.POST)
    if tier_form.is_valid():
        tier_set_manual(account=account, tier=tier_form.tier, mode=tier_form.cleaned_data["manual_tier_mode"])
        return saved_redirect(access, VIEW, account.pk)
    return _render(request, access, account, AdjustForm(initial={"request_id": uuid.uuid4().hex}), status=400,
                   tier_form=tier_form)
