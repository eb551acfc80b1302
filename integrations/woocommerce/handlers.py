"""What each WooCommerce webhook topic does once the delivery is out of the inbox.

Every topic goes through the same normaliser and ``commerce`` upserts as the history sync and the
reconciliation (``sync.page_records`` / ``sync.records_upsert``), so a webhook, a reconciliation
and a sync that see the same version of an object change it once, and an older version (a late
or out-of-order delivery) changes nothing.

Deletions (the body of a ``*.deleted`` delivery is only ``{"id": N}``):

- ``order.deleted``: the order was moved to the bin (or deleted for good).  It is kept, cancelled
  and no longer counted, like a cancelled order (its points reverse through ``order.cancelled``).
  A trashed order is read back from the store (status ``trash``); one deleted for good is
  cancelled from the stored copy.  ``order.restored`` brings the order back as it now stands; the
  points reversed by the deletion are not awarded again (Shopify has no un-cancel either).
- ``customer.deleted``: the WordPress user was deleted; their orders stay (WooCommerce keeps them
  too, as guest orders) and the customer is flagged deleted, as for Shopify.
- ``product.deleted``: a trashed product is read back and stored as archived; one deleted for good
  keeps its row for the order lines that name it.
- ``coupon.*``: ignored: a coupon's use reaches us as the order's ``coupon_lines``.
"""

from typing import Any

from django.utils import timezone

from commerce import services as commerce
from commerce.models import FinancialStatus, Order, Platform, Shop, ShopStatus
from commerce.records import OrderRecord
from integrations.models import WebhookDelivery
from integrations.webhooks import DeliveryIgnored
from integrations.woocommerce import normalise, sync
from integrations.woocommerce.client import WooClient, WooNotFound

RESOURCES = {"order": "orders", "customer": "customers", "product": "products"}


def _shop(delivery: WebhookDelivery) -> Shop:
    shop = None
    if delivery.shop_id:
        shop = Shop.objects.filter(pk=delivery.shop_id, platform=Platform.WOOCOMMERCE).first()
    if shop is None:
        shop = Shop.objects.filter(platform=Platform.WOOCOMMERCE, domain=delivery.shop_domain).first()
    if shop is None:
        raise DeliveryIgnored(f"unknown shop {delivery.shop_domain}")
    if shop.status != ShopStatus.INSTALLED:
        raise DeliveryIgnored(f"shop is {shop.status}")
    return shop


def _summary(noun: str, platform_id: str, result: commerce.UpsertResult) -> str:
    return f"{noun} {platform_id}: +{result.created} ~{result.updated} stale {result.skipped_stale}"


def _upsert(shop: Shop, resource: str, payload: dict[str, Any], client: WooClient | None) -> str:
    """A full resource (created / updated / restored) through the sync's own path.  The client is
    made only when the payload needs more from the store (new refunds, variations)."""
    lazy = _LazyClient(shop, client)
    records = sync.page_records(shop=shop, client=lazy, resource=resource, items=[payload])  # type: ignore[arg-type]
    result = sync.records_upsert(shop=shop, resource=resource, records=records, live=True)
    return _summary(resource.rstrip("s"), normalise._required_id(payload), result)


class _LazyClient:
    """Stands in for a ``WooClient`` and builds the real one on first use (most deliveries carry
    everything they need and make no call to the store)."""

    def __init__(self, shop: Shop, client: WooClient | None) -> None:
        self.shop = shop
        self.client = client

    def __getattr__(self, name: str) -> Any:
        if self.client is None:
            self.client = sync.client_for(self.shop)
        return getattr(self.client, name)


def _order_deleted(shop: Shop, platform_id: str, client: WooClient | None) -> str:
    lazy = _LazyClient(shop, client)
    try:
        payload = lazy.get(f"orders/{platform_id}")
    except WooNotFound:
        payload = None
    if isinstance(payload, dict) and payload.get("id"):
        return "deleted: " + _upsert(shop, "orders", payload, lazy.client)
    order = Order.objects.filter(shop=shop, platform_id=platform_id).first()
    if order is None:
        return f"order {platform_id} deleted (never seen)"
    now = timezone.now()
    record = OrderRecord(
        platform_id=order.platform_id, updated_at=max(now, order.platform_updated_at or now),
        currency=order.currency, name=order.name, email=order.email, phone=order.phone, locale=order.locale,
        customer_platform_id=order.customer_platform_id, financial_status=FinancialStatus.VOIDED,
        fulfillment_status=order.fulfillment_status, subtotal=order.subtotal,
        total_discounts=order.total_discounts, total_tax=order.total_tax, total_shipping=order.total_shipping,
        total=order.total, total_refunded=order.total_refunded, discount_codes=tuple(order.discount_codes),
        is_test=order.is_test, created_at=order.platform_created_at, processed_at=order.processed_at,
        cancelled_at=order.cancelled_at or now, cancel_reason=order.cancel_reason or "deleted",
        shipping_address_key=order.shipping_address_key, refunds=None,
    )
    result = commerce.orders_upsert(shop=shop, records=[record], live=True)
    return "deleted for good: " + _summary("order", platform_id, result)


def _product_deleted(shop: Shop, platform_id: str, client: WooClient | None) -> str:
    lazy = _LazyClient(shop, client)
    try:
        payload = lazy.get(f"products/{platform_id}")
    except WooNotFound:
        return f"product {platform_id} deleted for good (kept for its order lines)"
    return "deleted: " + _upsert(shop, "products", payload, lazy.client)


def _variation(shop: Shop, payload: dict[str, Any], client: WooClient | None) -> str:
    """A variation's own delivery (``type`` "variation"): its product is read again with every
    variation, so the variant lands under the right product."""
    parent_id = normalise.woo_id(payload.get("parent_id"))
    if not parent_id:
        raise normalise.PayloadError("variation without parent_id")
    lazy = _LazyClient(shop, client)
    return _upsert(shop, "products", lazy.get(f"products/{parent_id}"), lazy.client)


def webhook_handle(delivery: WebhookDelivery, payload: Any, *, client: WooClient | None = None) -> str:
    """Apply one stored delivery (topic ``<resource>.<event>``) to the store mirror."""
    resource_name, _, event = delivery.topic.partition(".")
    if resource_name == "coupon":
        raise DeliveryIgnored("coupons are read from the orders' coupon_lines")
    resource = RESOURCES.get(resource_name)
    if resource is None or event not in ("created", "updated", "deleted", "restored"):
        raise DeliveryIgnored(f"topic {delivery.topic} is not handled")
    if not isinstance(payload, dict):
        raise normalise.PayloadError("payload is not a JSON object")
    shop = _shop(delivery)
    platform_id = normalise._required_id(payload)
    if event == "deleted":
        if resource == "orders":
            return _order_deleted(shop, platform_id, client)
        if resource == "products":
            return _product_deleted(shop, platform_id, client)
        commerce.customer_mark_deleted(shop=shop, platform_id=platform_id)
        return f"customer {platform_id} deleted"
    if resource == "products" and payload.get("type") == "variation":
        return _variation(shop, payload, client)
    return _upsert(shop, resource, payload, client)
