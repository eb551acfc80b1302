"""Shopify's Billing API (GraphQL Admin): create a recurring app subscription the merchant approves
in the admin, read the installation's active subscriptions, cancel; and the webhook payload."""

from datetime import datetime
from typing import Any

from django.utils.dateparse import parse_datetime

from billing.plans import Plan
from billing.services import SubscriptionState
from commerce.models import Shop
from integrations.shopify import sync
from integrations.shopify.client import ShopifyError
from integrations.shopify.normalise import PayloadError

APP_SUBSCRIPTION_CREATE = """
mutation AppSubscriptionCreate($name: String!, $lineItems: [AppSubscriptionLineItemInput!]!,
    $returnUrl: URL!, $test: Boolean, $trialDays: Int) {
  appSubscriptionCreate(name: $name, lineItems: $lineItems, returnUrl: $returnUrl, test: $test,
      trialDays: $trialDays) {
    appSubscription { id name status test }
    confirmationUrl
    userErrors { field message }
  }
}
"""

ACTIVE_SUBSCRIPTIONS = """
query ActiveSubscriptions {
  currentAppInstallation {
    activeSubscriptions { id name status test trialDays currentPeriodEnd createdAt }
  }
}
"""

APP_SUBSCRIPTION_CANCEL = """
mutation AppSubscriptionCancel($id: ID!) {
  appSubscriptionCancel(id: $id) {
    appSubscription { id name status test }
    userErrors { field message }
  }
}
"""


def _when(value: Any) -> datetime | None:
    return parse_datetime(str(value)) if value else None


def _state(node: dict[str, Any]) -> SubscriptionState:
    return SubscriptionState(platform_id=str(node.get("id") or ""), name=str(node.get("name") or ""),
                             status=str(node.get("status") or ""), test=bool(node.get("test")),
                             current_period_end=_when(node.get("currentPeriodEnd")))


def _errors(result: dict[str, Any], what: str) -> None:
    errors = result.get("userErrors") or []
    if errors:
        raise ShopifyError(f"{what}: " + "; ".join(str(error.get("message", "")) for error in errors))


def subscription_create(*, shop: Shop, plan: Plan, return_url: str, test: bool) -> tuple[SubscriptionState, str]:
    """``appSubscriptionCreate`` for the plan (a flat price every 30 days, the plan's trial):
    the PENDING subscription and the ``confirmationUrl`` the merchant approves it at."""
    variables = {
        "name": plan.name,
        "returnUrl": return_url,
        "test": test,
        "trialDays": plan.trial_days,
        "lineItems": [{"plan": {"appRecurringPricingDetails": {
            "price": {"amount": str(plan.price), "currencyCode": plan.currency},
            "interval": "EVERY_30_DAYS"}}}],
    }
    client = sync.client_for(shop, interactive=True)
    result = client.execute(APP_SUBSCRIPTION_CREATE, variables)["appSubscriptionCreate"]
    _errors(result, "appSubscriptionCreate")
    if not result.get("confirmationUrl") or not result.get("appSubscription"):
        raise ShopifyError("appSubscriptionCreate returned no confirmation URL")
    return _state(result["appSubscription"]), str(result["confirmationUrl"])


def subscriptions_active(*, shop: Shop) -> list[SubscriptionState]:
    data = sync.client_for(shop, interactive=True).execute(ACTIVE_SUBSCRIPTIONS)
    installation = data.get("currentAppInstallation") or {}
    return [_state(node) for node in installation.get("activeSubscriptions") or []]


def subscription_cancel(*, shop: Shop, platform_id: str) -> SubscriptionState:
    result = sync.client_for(shop, interactive=True).execute(
        APP_SUBSCRIPTION_CANCEL, {"id": platform_id})["appSubscriptionCancel"]
    _errors(result, "appSubscriptionCancel")
    return _state(result.get("appSubscription") or {"id": platform_id, "status": "CANCELLED"})


def subscription_from_webhook(payload: dict[str, Any]) -> tuple[SubscriptionState, datetime]:
    """The ``app_subscriptions/update`` body: ``{"app_subscription": {admin_graphql_api_id, name,
    status, admin_graphql_api_shop_id, created_at, updated_at, currency, capped_amount}}``."""
    body = payload.get("app_subscription")
    if not isinstance(body, dict):
        raise PayloadError("no app_subscription in the payload")
    platform_id = str(body.get("admin_graphql_api_id") or "")
    status = str(body.get("status") or "").upper()
    if not platform_id.startswith("gid://shopify/AppSubscription/") or not status:
        raise PayloadError("app_subscription without its id or status")
    updated_at = _when(body.get("updated_at")) or _when(body.get("created_at"))
    if updated_at is None:
        raise PayloadError("app_subscription without updated_at")
    return SubscriptionState(platform_id=platform_id, name=str(body.get("name") or ""), status=status), updated_at
