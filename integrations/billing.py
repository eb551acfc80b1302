"""The plan upgrade, verification and cancel, through the shop's platform billing (platform-neutral:
``billing`` keeps the state, the adapter talks to the platform)."""

from django.conf import settings
from django.utils import timezone

from billing import services as billing_services
from billing.models import ShopPlan
from billing.plans import PlanCode, paid_plan
from billing.selectors import shop_plan_get
from commerce.models import Shop
from integrations.platforms import adapter_for, platform_registration
from retention_app.errors import ApplicationError


def plan_upgrade_start(*, shop: Shop, return_url: str) -> str:
    """Create the paid plan's subscription at the platform; the URL the merchant approves it at
    (the platform then sends them to ``return_url``).  Test charges unless production turned them
    off (``BILLING_TEST``)."""
    plan = paid_plan()
    state, confirmation_url = adapter_for(shop.platform).subscription_create(
        shop=shop, plan=plan, return_url=return_url, test=settings.BILLING_TEST)
    billing_services.subscription_pending_record(shop=shop, platform_id=state.platform_id, name=plan.name,
                                                 test=bool(state.test), at=timezone.now().replace(microsecond=0))
    return confirmation_url


def plan_sync(*, shop: Shop) -> ShopPlan:
    """Ask the platform what is active now and store it: after the approval page (never trusting
    the query string) and in the periodic reconciliation."""
    if not platform_registration(shop.platform).billing:  # arranged by an operator: nothing to ask
        return shop_plan_get(shop=shop)
    # the platform dates its changes to the second: a change in this same second still wins
    asked_at = timezone.now().replace(microsecond=0)
    active = adapter_for(shop.platform).subscription_status(shop=shop)
    return billing_services.subscriptions_verified_apply(shop=shop, active=active, at=asked_at)


def plan_cancel(*, shop: Shop) -> ShopPlan:
    """The merchant goes back to Free: cancel the active subscription at the platform, then store
    what the platform reports."""
    row = shop_plan_get(shop=shop)
    if row.plan == PlanCode.PAID and row.subscription_id:
        adapter_for(shop.platform).subscription_cancel(shop=shop, platform_id=row.subscription_id)
    return plan_sync(shop=shop)


def plan_return_verify(*, shop: Shop, charge_id: str) -> ShopPlan | None:
    """The merchant is back from the approval page with ``charge_id``: ask the platform (never
    the URL) what is active, but only when it is the charge we sent them to -- anything else is
    not worth a call.  ``None`` when nothing was asked."""
    row = shop_plan_get(shop=shop)
    if not charge_id.isdigit() or row.subscription_id.rsplit("/", 1)[-1] != charge_id:
        return None
    return plan_sync(shop=shop)


def plan_arrange(*, shop: Shop, paid: bool, actor: str) -> ShopPlan:
    """An operator changes the plan of a shop whose platform has no app billing (WooCommerce);
    a platform that bills (Shopify) keeps its own subscription as the only source of truth."""
    if platform_registration(shop.platform).billing:
        raise ApplicationError(f"{shop.domain}: the plan follows the platform's own billing", status=400)
    return billing_services.plan_arranged_set(shop=shop, paid=paid, actor=actor,
                                              at=timezone.now().replace(microsecond=0))
