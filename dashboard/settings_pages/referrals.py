"""Referrals: what the friend and the referrer get, the fraud limits, and the review queue
(referrals a softer fraud rule held back: approve or reject, with a reason, by whom).

Posts carry ``action`` = ``settings`` or ``review``; field names are the merchant API's
(``referral_friend_discount_percent``...; ``referral_id``, ``approve``, ``reason``)."""

import re
from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from dashboard import formatting
from dashboard.auth import DashboardAccess, dashboard_view, form_action, saved_redirect
from dashboard.views import render_page
from loyalty.models import Referral, ReferralStatus
from loyalty.services.referrals import (
    ReferralSettings,
    referral_review,
    referral_settings_get,
    referral_settings_update,
)
from retention_app.errors import ApplicationError

VIEW = "dashboard:settings_referrals"
QUEUE_ROWS = 100
MAX_POINTS = 1_000_000


class ReferralSettingsForm(forms.Form):
    referral_friend_discount_percent = forms.IntegerField(
        label=gettext_lazy("Friend's discount on their first order (%)"), min_value=1, max_value=100,
        help_text=gettext_lazy("A single-use code for the friend, valid for 30 days."))
    referral_referrer_points = forms.IntegerField(
        label=gettext_lazy("Points for the referrer"), min_value=0, max_value=MAX_POINTS,
        help_text=gettext_lazy("Earned when the friend's first order is paid; 0 gives none."))
    referral_friend_points = forms.IntegerField(
        label=gettext_lazy("Points for the friend"), min_value=0, max_value=MAX_POINTS,
        help_text=gettext_lazy("On top of the discount, once their first order is paid; 0 gives none."))
    referral_monthly_cap = forms.IntegerField(
        label=gettext_lazy("Referrals per referrer per month"), min_value=0, max_value=1000,
        help_text=gettext_lazy("Referrals beyond this are rejected."))
    referral_ip_weekly_limit = forms.IntegerField(
        label=gettext_lazy("Referrals from one network address per week"), min_value=0, max_value=1000,
        help_text=gettext_lazy("Beyond this, referrals wait for your review."))


class ReferralReviewForm(forms.Form):
    referral_id = forms.IntegerField(widget=forms.HiddenInput)
    approve = forms.TypedChoiceField(choices=[("true", gettext_lazy("Approve")), ("false", gettext_lazy("Reject"))],
                                     coerce=lambda value: value == "true")
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=500, required=False,
                             widget=forms.Textarea(attrs={"rows": 2}),
                             help_text=gettext_lazy("Required to reject; kept with the decision."))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("approve") is False and not (data.get("reason") or "").strip():
            self.add_error("reason", _("Say why you reject this referral."))
        return data


#: The fraud rules' reasons (stored in English on the referral), as the merchant reads them.
REASONS = {
    "self-referral: same customer": gettext_lazy("Self-referral: the same customer"),
    "self-referral: same email": gettext_lazy("Self-referral: the same email"),
    "self-referral: same phone": gettext_lazy("Self-referral: the same phone number"),
    "same name as the referrer": gettext_lazy("The same name as the referrer"),
    "same shipping address as the referrer": gettext_lazy("The same shipping address as the referrer"),
    "friend is not a new customer": gettext_lazy("The friend is not a new customer"),
    "the friend's order was cancelled or refunded within the return window": gettext_lazy(
        "The friend's order was cancelled or refunded within the return window"),
}
CAP_REASON = re.compile(r"referrer reached the cap of (\d+) referrals this month")
IP_REASON = re.compile(r"more than (\d+) referrals from one IP this week")


def reason_label(reason: str) -> str:
    """A fraud rule's reason in the merchant's language (an unknown one as stored)."""
    if reason in REASONS:
        return str(REASONS[reason])
    if found := CAP_REASON.fullmatch(reason):
        return _("The referrer reached the cap of %(count)s referrals this month") % {
            "count": formatting.number(found.group(1), 0)}
    if found := IP_REASON.fullmatch(reason):
        return _("More than %(count)s referrals from one network address this week") % {
            "count": formatting.number(found.group(1), 0)}
    return reason


def _review_form(referral: Referral, data: Any = None) -> ReferralReviewForm:
    return ReferralReviewForm(data, initial={"referral_id": referral.pk}, auto_id=f"id_review_{referral.pk}_%s")


def _queue(access: DashboardAccess, bound: ReferralReviewForm | None) -> list[dict[str, Any]]:
    waiting = (Referral.objects.filter(shop=access.shop, status=ReferralStatus.REVIEW)
               .select_related("referrer__customer", "friend_order").order_by("created_at", "pk")[:QUEUE_ROWS])
    rows = []
    for referral in waiting:
        referrer = referral.referrer.customer
        form = bound if bound is not None and bound.data.get("referral_id") == str(referral.pk) else None
        rows.append({
            "referral": referral,
            "referrer": (f"{referrer.first_name} {referrer.last_name}".strip() or referrer.email) if referrer
            else referral.referrer.email,
            "referrer_url": access.url("dashboard:settings_customer", referral.referrer_id),
            "created": formatting.day(referral.created_at.date()),
            "order": referral.friend_order.name if referral.friend_order else "",
            "reasons": [reason_label(reason) for reason in referral.reasons],
            "form": form or _review_form(referral),
        })
    return rows


def _decided(access: DashboardAccess) -> list[dict[str, Any]]:
    recent = (Referral.objects.filter(shop=access.shop, reviewed_at__isnull=False)
              .select_related("referrer__customer").order_by("-reviewed_at", "-pk")[:20])
    return [{"referral": referral, "status": referral.get_status_display(),
             "reviewed": formatting.day(referral.reviewed_at.date()) if referral.reviewed_at else ""}
            for referral in recent]


def _render(request: HttpRequest, access: DashboardAccess, *, settings_form: ReferralSettingsForm,
            review_form: ReferralReviewForm | None = None, notice: str = "", status: int = 200) -> HttpResponse:
    response = render_page(
        request, access, view_name=VIEW, title=_("Referrals"), template="dashboard/settings/referrals.html",
        settings_form=settings_form, queue=_queue(access, review_form), decided=_decided(access), notice=notice,
        action=form_action(request, access, VIEW),
    )
    response.status_code = status
    return response


@require_http_methods(["GET", "POST"])
@dashboard_view
def settings_referrals(request: HttpRequest, access: DashboardAccess) -> HttpResponse:
    current = referral_settings_get(shop=access.shop)
    if request.method == "POST" and request.POST.get("action") == "review":
        return _review(request, access, current)
    if request.method == "POST":
        form = ReferralSettingsForm(request.POST)
        if form.is_valid():
            try:
                referral_settings_update(shop=access.shop, settings=ReferralSettings(**form.cleaned_data))
            except ApplicationError as error:
                form.add_error(None, error.message)
            else:
                return saved_redirect(access, VIEW)
        return _render(request, access, settings_form=form, status=400)
    return _render(request, access, settings_form=ReferralSettingsForm(initial=vars(current)))


def _review(request: HttpRequest, access: DashboardAccess, current: ReferralSettings) -> HttpResponse:
    form = ReferralReviewForm(request.POST, auto_id=f"id_review_{request.POST.get('referral_id', '')}_%s")
    settings_form = ReferralSettingsForm(initial=vars(current))
    if not form.is_valid():
        return _render(request, access, settings_form=settings_form, review_form=form, status=400)
    referral = Referral.objects.filter(shop=access.shop, pk=form.cleaned_data["referral_id"]).first()
    if referral is None:
        raise ApplicationError(_("This referral does not exist."), status=404, code="not_found")
    try:
        referral_review(referral=referral, approve=form.cleaned_data["approve"], reason=form.cleaned_data["reason"],
                        actor=access.actor)
    except ApplicationError:
        return _render(request, access, settings_form=settings_form, status=409,
                       notice=_("This referral was already decided."))
    return saved_redirect(access, VIEW)
