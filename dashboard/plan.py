"""The Plan page: the shop's plan, this month's usage against its limits, upgrade and cancel.

Upgrade sends the merchant to the platform's approval page at the top level (out of the admin's
iframe: the form targets ``_top``); the platform sends them back to ``plan_return``, where the plan
is read from the platform itself, never from the query string.
"""

import logging
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from billing.models import SubscriptionStatus
from billing.plans import free_plan, paid_plan
from commerce.models import Shop, ShopStatus
from dashboard import formatting
from dashboard.auth import DashboardAccess, dashboard_view, form_action
from dashboard.plan_usage import plan_usage
from dashboard.views import _page
from integrations import billing
from integrations.platforms import platform_registration
from retention_app.errors import ApplicationError

logger = logging.getLogger(__name__)


@require_GET
@dashboard_view
def plan(request: HttpRequest, access: DashboardAccess) -> HttpResponse:
    usage = plan_usage(shop=access.shop)
    registration = platform_registration(access.shop.platform)
    row = usage.row
    paid = paid_plan()
    status_note = ""
    if row.subscription_status == SubscriptionStatus.DECLINED:
        status_note = _("The subscription was declined, so the shop stays on the Free plan.")
    elif row.subscription_status == SubscriptionStatus.FROZEN:
        status_note = _("%(platform)s froze the subscription (the store's own bill is unpaid): the Free plan's "
                        "limits apply until it is active again.") % {"platform": registration.label}
    elif row.subscription_status in (SubscriptionStatus.CANCELLED, SubscriptionStatus.EXPIRED) and row.subscription_id:
        status_note = _("The subscription ended: the shop is on the Free plan.")
    elif row.subscription_status == SubscriptionStatus.PENDING:
        status_note = _("A subscription is waiting for approval in your store's admin.")
    return _page(
        request, access, view_name="dashboard:plan", title=_("Plan"), template="dashboard/plan.html",
        usage=usage, status_note=status_note, platform=registration.label, platform_billing=registration.billing,
        lines=[{"line": line, "used": formatting.number(line.used, 0),
                "limit": formatting.number(line.limit, 0) if line.limit is not None else None,
                "skipped": formatting.number(line.skipped, 0)} for line in usage.lines],
        free_orders=formatting.number(free_plan().orders_per_month, 0),
        free_emails=formatting.number(free_plan().emails_per_month, 0),
        trial=formatting.number(paid.trial_days, 0),
        price=formatting.money(paid.price, paid.currency), trial_days=paid.trial_days,
        free=free_plan(), paid=paid,
        period_end=formatting.day(usage.period.end.date()),
        renews=formatting.day(row.current_period_end.date()) if row.current_period_end else "",
        upgrade_url=form_action(request, access, "dashboard:plan_upgrade"),
        cancel_url=form_action(request, access, "dashboard:plan_cancel"),
    )


@require_POST
@dashboard_view
def plan_upgrade(request: HttpRequest, access: DashboardAccess) -> HttpResponse:
    """Create the subscription and send the merchant (top level) to the platform's approval page."""
    if not platform_registration(access.shop.platform).billing:
        raise ApplicationError(_("This store's platform has no app billing: contact Comeback support to "
                                 "change plans."), status=400, code="no_platform_billing")
    host = access.carried.get("host", "")
    query = {"shop": access.shop.domain, **({"host": host} if host else {})}
    return_url = f"{settings.APP_URL}{reverse('dashboard:plan_return')}?{urlencode(query)}"
    try:
        confirmation_url = billing.plan_upgrade_start(shop=access.shop, return_url=return_url)
    except Exception as error:  # the platform refused or is away: say so on the page, nothing changed
        logger.warning("%s: subscription not created (%s)", access.shop.domain, error)
        raise ApplicationError(_("%(platform)s could not start the subscription just now; please try again.")
                               % {"platform": platform_registration(access.shop.platform).label},
                               status=502, code="platform_unavailable") from error
    # A page, not a redirect: the browser checks a form's redirect against the page's form-action
    # policy (our own origin only), while this page's refresh and link go to the platform freely.
    platform = platform_registration(access.shop.platform).label
    return render(request, "dashboard/plan_redirect.html", {"confirmation_url": confirmation_url, "platform": platform})


@require_POST
@dashboard_view
def plan_cancel(request: HttpRequest, access: DashboardAccess) -> HttpResponse:
    """Back to Free: cancel the subscription at the platform (nothing else changes)."""
    if not platform_registration(access.shop.platform).billing:
        raise ApplicationError(_("This store's platform has no app billing: contact Comeback support to "
                                 "change plans."), status=400, code="no_platform_billing")
    try:
        billing.plan_cancel(shop=access.shop)
    except Exception as error:
        logger.warning("%s: subscription not cancelled (%s)", access.shop.domain, error)
        raise ApplicationError(_("%(platform)s could not cancel the subscription just now; please try again.")
                               % {"platform": platform_registration(access.shop.platform).label},
                               status=502, code="platform_unavailable") from error
    return HttpResponseRedirect(access.url("dashboard:plan"))


def _admin_url(shop: Shop | None, host: str) -> str:
    """Back into the embedded admin the merchant came from (``host`` names it; the app's home
    there), or '' when they came from the login dashboard or ``host`` is no Shopify admin."""
    if shop is None or not host:
        return ""
    admin = platform_registration(shop.platform).embedded_admin
    return import_string(admin).app_url(shop_domain=shop.domain, context=host) if admin else ""


@require_GET
def plan_return(request: HttpRequest) -> HttpResponse:
    """Where the platform sends the merchant after approving or declining.  ``shop`` and
    ``charge_id`` only say whom to ask: the plan comes from the platform's active subscriptions."""
    shop = Shop.objects.filter(domain=request.GET.get("shop", "")[:255], status=ShopStatus.INSTALLED).first()
    charge_id = request.GET.get("charge_id", "")
    if shop is not None:
        try:
            billing.plan_return_verify(shop=shop, charge_id=charge_id)
        except Exception as error:  # the reconciliation checks again later
            logger.warning("%s: plan not verified on return (%s)", shop.domain, error)
    admin_url = _admin_url(shop, request.GET.get("host", ""))
    return HttpResponseRedirect(admin_url or reverse("dashboard:plan"))
