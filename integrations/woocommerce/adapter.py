"""The WooCommerce implementation of ``integrations.platforms.PlatformAdapter``."""

import logging
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote, urlencode

from django.utils.translation import gettext as _

from billing.plans import Plan
from billing.services import SubscriptionState
from commerce.models import Platform, Shop
from integrations.models import SyncRun, WebhookDelivery
from integrations.platforms import ConsentUpdate, DiscountCode, DiscountSpec
from integrations.webhooks import InboundWebhook
from integrations.woocommerce import consent, coupons, handlers, sync
from integrations.woocommerce import webhooks as woo_webhooks
from integrations.woocommerce.client import WooError
from integrations.woocommerce.connection import credentials_for
from retention_app.errors import ApplicationError

logger = logging.getLogger(__name__)


class WooCommerceAdapter:
    platform: str = Platform.WOOCOMMERCE

    def inbound_webhook(self, *, body: bytes, headers: Mapping[str, str]) -> InboundWebhook:
        return woo_webhooks.inbound_webhook(body=body, headers=headers)

    def webhook_handle(self, delivery: WebhookDelivery, payload: Any) -> str:
        return handlers.webhook_handle(delivery, payload)

    def webhook_group(self, delivery: WebhookDelivery) -> str | None:
        return None  # one at a time (a deleted order is fetched back from the store)

    def webhook_handle_group(self, deliveries: Sequence[tuple[WebhookDelivery, Any]]) -> list[str]:
        raise NotImplementedError("WooCommerce deliveries are applied one at a time")

    def shop_details(self, *, shop: Shop) -> dict[str, str]:
        details = sync.shop_details(credentials=credentials_for(shop=shop), client=sync.client_for(shop))
        # The store's own address stays the storefront (a WordPress in a sub-folder keeps its path).
        details.pop("storefront_url", None)
        return details

    def webhooks_register(self, *, shop: Shop) -> list[str]:
        return woo_webhooks.webhooks_register(shop=shop)

    def history_sync_start(self, *, shop: Shop) -> SyncRun:
        return sync.history_sync_start(shop=shop)

    def history_sync_run(self, *, run: SyncRun) -> SyncRun:
        return sync.history_sync_run(run=run)

    def reconcile(self, *, shop: Shop) -> dict[str, int]:
        """What changed since the high-water mark, and the webhooks put right: WooCommerce never
        retries a delivery and disables a webhook after repeated failures."""
        try:
            woo_webhooks.webhooks_register(shop=shop)
        except WooError as error:  # a refused webhook must not hold up the data: the next run tries again
            logger.warning("%s: webhooks not checked (%s)", shop.domain, error)
        return sync.reconcile(shop=shop)

    def discount_code_create(self, *, shop: Shop, spec: DiscountSpec) -> DiscountCode:
        return coupons.discount_code_create(shop=shop, spec=spec)

    def customer_consent_update(self, *, shop: Shop, update: ConsentUpdate) -> None:
        consent.customer_consent_update(shop=shop, update=update)

    def cart_link(self, *, shop: Shop, variant_platform_ids: Sequence[str]) -> str:
        """WooCommerce's ``?add-to-cart=<product or variation id>`` takes one item; several are
        joined with commas (the plugin adds each)."""
        return f"{self.storefront_url(shop=shop)}/?{urlencode({'add-to-cart': ','.join(variant_platform_ids)})}"

    def storefront_url(self, *, shop: Shop) -> str:
        return (shop.storefront_url or f"https://{shop.domain}").rstrip("/")

    def product_url(self, *, shop: Shop, handle: str) -> str:
        """WooCommerce's default product permalink, ``/product/<slug>/``."""
        return f"{self.storefront_url(shop=shop)}/product/{quote(handle, safe='')}/"

    def referral_link(self, *, shop: Shop, code: str) -> str:
        return f"{self.storefront_url(shop=shop)}/?{urlencode({'ref': code})}"

    def widget_setup_url(self, *, shop: Shop) -> str | None:
        """The plugin's settings page in wp-admin, where the merchant connects it."""
        return f"{self.storefront_url(shop=shop)}/wp-admin/admin.php?page=comeback-settings"

    def discount_apply_link(self, *, shop: Shop, code: str) -> str | None:
        """The plugin applies ``?comeback_coupon=<code>`` to the cart and opens the cart."""
        return f"{self.storefront_url(shop=shop)}/?{urlencode({'comeback_coupon': code})}"

    def subscription_create(
        self, *, shop: Shop, plan: Plan, return_url: str, test: bool
    ) -> tuple[SubscriptionState, str]:
        raise ApplicationError(
            _("WooCommerce has no app billing: the plan of a WooCommerce store is arranged with Comeback directly."),
            status=409, code="billing_unavailable")

    def subscription_status(self, *, shop: Shop) -> list[SubscriptionState]:
        return []

    def subscription_cancel(self, *, shop: Shop, platform_id: str) -> SubscriptionState:
        raise ApplicationError(_("WooCommerce has no app billing: there is no subscription to cancel."),
                               status=409, code="billing_unavailable")
