"""The Shopify implementation of ``integrations.platforms.PlatformAdapter``."""

import logging
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote, urlencode

from billing.plans import Plan
from billing.services import SubscriptionState
from commerce.models import Platform, Shop
from integrations.models import SyncRun, WebhookDelivery
from integrations.platforms import (
    ConsentUpdate,
    DiscountCode,
    DiscountCodeTaken,
    DiscountKind,
    DiscountSpec,
    PlatformUnavailable,
)
from integrations.shopify import billing, normalise, queries, sync, tokens
from integrations.shopify import webhooks as shopify_webhooks
from integrations.shopify.client import ShopifyError, ShopifyTransientError
from integrations.shopify.theme_extension import app_embed_editor_url
from integrations.webhooks import InboundWebhook

logger = logging.getLogger(__name__)


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _context(spec: DiscountSpec) -> dict[str, Any]:
    """Who may use the code: ``context`` (since 2025-10; ``customerSelection`` is deprecated)."""
    if spec.customer_platform_ids:
        return {"customers": {"add": [f"gid://shopify/Customer/{c}" for c in spec.customer_platform_ids]}}
    return {"all": "ALL"}


def _items(spec: DiscountSpec) -> dict[str, Any]:
    if spec.collection_platform_ids:
        return {"collections": {"add": [f"gid://shopify/Collection/{c}" for c in spec.collection_platform_ids]}}
    if spec.product_platform_ids:
        return {"products": {"productsToAdd": [f"gid://shopify/Product/{p}" for p in spec.product_platform_ids]}}
    if spec.product_variant_platform_ids:
        return {"products": {"productVariantsToAdd": [
            f"gid://shopify/ProductVariant/{v}" for v in spec.product_variant_platform_ids]}}
    return {"all": True}


def _minimum(spec: DiscountSpec) -> dict[str, Any] | None:
    if spec.minimum_subtotal is None:
        return None
    return {"subtotal": {"greaterThanOrEqualToSubtotal": str(spec.minimum_subtotal)}}


def discount_mutation(spec: DiscountSpec) -> tuple[str, str, dict[str, Any]]:
    """(mutation, root field, variables) for a spec, following the Admin API's input types."""
    common: dict[str, Any] = {
        "title": spec.title,
        "code": spec.code,
        "startsAt": _iso(spec.starts_at),
        "endsAt": _iso(spec.ends_at),
        "usageLimit": spec.usage_limit,
        "appliesOncePerCustomer": True,
        "context": _context(spec),
    }
    minimum = _minimum(spec)
    if minimum:
        common["minimumRequirement"] = minimum
    if spec.kind == DiscountKind.FREE_SHIPPING:
        payload = {**common, "destination": {"all": True}}
        return queries.DISCOUNT_CODE_FREE_SHIPPING_CREATE, "discountCodeFreeShippingCreate", {
            "freeShippingCodeDiscount": payload}
    if spec.kind == DiscountKind.FREE_PRODUCT:
        # Buy-X-get-Y has no minimumRequirement: the minimum is what the customer must buy.
        common.pop("minimumRequirement", None)
        buys = {"amount": str(spec.minimum_subtotal)} if spec.minimum_subtotal else {"quantity": "1"}
        payload = {
            **common,
            "customerBuys": {"value": buys, "items": {"all": True}},
            "customerGets": {"value": {"discountOnQuantity": {"quantity": "1", "effect": {"percentage": 1.0}}},
                             "items": _items(spec)},
        }
        return queries.DISCOUNT_CODE_BXGY_CREATE, "discountCodeBxgyCreate", {"bxgyCodeDiscount": payload}
    if spec.kind == DiscountKind.PERCENTAGE:
        value: dict[str, Any] = {"percentage": float(spec.value / 100)}
    else:
        value = {"discountAmount": {"amount": str(spec.value), "appliesOnEachItem": False}}
    payload = {**common, "customerGets": {"value": value, "items": _items(spec)}}
    return queries.DISCOUNT_CODE_BASIC_CREATE, "discountCodeBasicCreate", {"basicCodeDiscount": payload}


def consent_mutation(update: ConsentUpdate) -> tuple[str, str, dict[str, Any]]:
    """(mutation, root field, variables) for ``customerEmailMarketingConsentUpdate`` or
    ``customerSmsMarketingConsentUpdate``: SUBSCRIBED (single opt-in) or UNSUBSCRIBED, dated."""
    consent = {"marketingState": "SUBSCRIBED" if update.subscribed else "UNSUBSCRIBED",
               "marketingOptInLevel": "SINGLE_OPT_IN", "consentUpdatedAt": update.at.isoformat()}
    customer = f"gid://shopify/Customer/{update.customer_platform_id}"
    if update.channel == "sms":
        return (queries.CUSTOMER_SMS_MARKETING_CONSENT_UPDATE, "customerSmsMarketingConsentUpdate",
                {"input": {"customerId": customer, "smsMarketingConsent": consent}})
    return (queries.CUSTOMER_EMAIL_MARKETING_CONSENT_UPDATE, "customerEmailMarketingConsentUpdate",
            {"input": {"customerId": customer, "emailMarketingConsent": consent}})


class ShopifyAdapter:
    platform: str = Platform.SHOPIFY

    def inbound_webhook(self, *, body: bytes, headers: Mapping[str, str]) -> InboundWebhook:
        return shopify_webhooks.inbound_from_request(body=body, headers=headers)

    def webhook_handle(self, delivery: WebhookDelivery, payload: Any) -> str:
        return shopify_webhooks.handle(delivery, payload)

    def webhook_group(self, delivery: WebhookDelivery) -> str | None:
        return "orders" if delivery.topic in shopify_webhooks.ORDER_TOPICS else None

    def webhook_handle_group(self, deliveries: Sequence[tuple[WebhookDelivery, Any]]) -> list[str]:
        return shopify_webhooks.orders_handle(deliveries)

    def shop_details(self, *, shop: Shop) -> dict[str, str]:
        return sync.shop_details_fetch(shop=shop)

    def webhooks_register(self, *, shop: Shop) -> list[str]:
        return sync.webhooks_register(shop=shop)

    def history_sync_start(self, *, shop: Shop) -> SyncRun:
        return sync.history_sync_start(shop=shop)

    def history_sync_run(self, *, run: SyncRun) -> SyncRun:
        return sync.history_sync_run(run=run)

    def reconcile(self, *, shop: Shop) -> dict[str, int]:
        """The periodic reconciliation also moves a shop still on a legacy non-expiring token to an
        expiring one (token exchange of that token), so shops whose merchants do not open the app
        before Shopify's cutoff keep working; an unreachable Shopify leaves it for the next run."""
        if shop.access_token and shop.access_token_expires_at is None and shop.reauthorization_required_at is None:
            try:
                tokens.shop_token_migrate(shop=shop)
            except ShopifyError as error:
                logger.warning("%s: legacy token not moved yet (%s)", shop.domain, error)
        return sync.reconcile(shop=shop)

    def discount_code_create(self, *, shop: Shop, spec: DiscountSpec) -> DiscountCode:
        mutation, root, variables = discount_mutation(spec)
        result = sync.client_for(shop, interactive=True).execute(mutation, variables)[root]
        errors = result.get("userErrors") or []
        if any(error.get("code") == "TAKEN" for error in errors):
            raise DiscountCodeTaken(spec.code)
        if errors or not result.get("codeDiscountNode"):
            raise ShopifyError("; ".join(error.get("message", "") for error in errors) or "no discount created")
        return DiscountCode(code=spec.code, platform_id=normalise.legacy_id(result["codeDiscountNode"]["id"]))

    def customer_consent_update(self, *, shop: Shop, update: ConsentUpdate) -> None:
        mutation, root, variables = consent_mutation(update)
        try:
            # few tries here: the write-back task retries with backoff when the store is away
            result = sync.client_for(shop, interactive=True).execute(mutation, variables)[root]
        except ShopifyTransientError as error:
            raise PlatformUnavailable(str(error)) from error
        errors = result.get("userErrors") or []
        if errors or not result.get("customer"):
            raise ShopifyError("; ".join(error.get("message", "") for error in errors) or "consent not updated")

    def cart_link(self, *, shop: Shop, variant_platform_ids: Sequence[str]) -> str:
        """A cart permalink (``/cart/<variant id>:<quantity>,...``): the mirror keeps no product handles."""
        return f"{self.storefront_url(shop=shop)}/cart/" + ",".join(
            f"{variant_id}:1" for variant_id in variant_platform_ids)

    def storefront_url(self, *, shop: Shop) -> str:
        """The primary domain the merchant chose (``shop.primaryDomain.url``, saved with the shop's
        details; the sandbox answers with its own storefront origin), else ``https://<shop>.myshopify.com``."""
        return (shop.storefront_url or f"https://{shop.domain}").rstrip("/")

    def product_url(self, *, shop: Shop, handle: str) -> str:
        return f"{self.storefront_url(shop=shop)}/products/{quote(handle)}"

    def referral_link(self, *, shop: Shop, code: str) -> str:
        return f"{self.storefront_url(shop=shop)}/?{urlencode({'ref': code})}"

    def widget_setup_url(self, *, shop: Shop) -> str | None:
        return app_embed_editor_url(shop_domain=shop.domain)

    def discount_apply_link(self, *, shop: Shop, code: str) -> str | None:
        """Shopify's shareable discount link: ``/discount/<code>`` keeps the code in a cookie that
        checkout applies, then redirects (here to the home page)."""
        return f"{self.storefront_url(shop=shop)}/discount/{quote(code, safe='')}?redirect=%2F"

    def subscription_create(
        self, *, shop: Shop, plan: Plan, return_url: str, test: bool
    ) -> tuple[SubscriptionState, str]:
        return billing.subscription_create(shop=shop, plan=plan, return_url=return_url, test=test)

    def subscription_status(self, *, shop: Shop) -> list[SubscriptionState]:
        return billing.subscriptions_active(shop=shop)

    def subscription_cancel(self, *, shop: Shop, platform_id: str) -> SubscriptionState:
        return billing.subscription_cancel(shop=shop, platform_id=platform_id)
