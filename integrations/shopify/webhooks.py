"""Shopify webhooks: signature check, and what each topic does once it is out of the inbox."""

import base64
import binascii
import hashlib
import hmac
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from billing import services as billing_services
from commerce import services as commerce
from commerce.models import Platform, Shop, ShopStatus
from commerce.records import CustomerRecord, OrderRecord
from integrations import services as integration_services
from integrations.models import WebhookDelivery
from integrations.shopify import billing, normalise, privacy
from integrations.shopify.version import API_VERSION
from integrations.webhooks import (
    DeliveryIgnored,
    InboundWebhook,
    WebhookRejected,
    WebhookUnauthorized,
    header,
)


def _secrets() -> list[str]:
    """The app secret, and during a rotation the previous one too."""
    return [s for s in (settings.SHOPIFY_API_SECRET, settings.SHOPIFY_API_SECRET_PREVIOUS) if s]


def signature_valid(body: bytes, signature: str) -> bool:
    """Base64 HMAC-SHA256 of the raw body, compared in constant time.  A header that is not
    ASCII, not base64 or not 32 bytes long is simply invalid (a 401), never an error."""
    signature = signature.strip()
    if not signature or not signature.isascii():
        return False
    try:
        received = base64.b64decode(signature, validate=True)
    except (binascii.Error, ValueError):
        return False
    if len(received) != hashlib.sha256().digest_size:
        return False
    valid = False
    for secret in _secrets():
        valid |= hmac.compare_digest(hmac.new(secret.encode(), body, hashlib.sha256).digest(), received)
    return valid


logger = logging.getLogger(__name__)

_VERSIONS_NOTED: set[str] = set()


def _api_version_note(version: str) -> None:
    """Payloads come in the app's webhook API version (set in the app's configuration, not per
    subscription): say once per process when it is not the version the app pins."""
    if version and version != API_VERSION and version not in _VERSIONS_NOTED:
        _VERSIONS_NOTED.add(version)
        logger.warning("Shopify webhooks arrive in API version %s but the app speaks %s: set the app's "
                       "webhook API version to %s", version, API_VERSION, API_VERSION)


def inbound_from_request(*, body: bytes, headers: Mapping[str, str]) -> InboundWebhook:
    if not signature_valid(body, header(headers, "X-Shopify-Hmac-Sha256")):
        raise WebhookUnauthorized("invalid X-Shopify-Hmac-Sha256")
    topic = header(headers, "X-Shopify-Topic")
    delivery_id = header(headers, "X-Shopify-Webhook-Id")
    shop_domain = header(headers, "X-Shopify-Shop-Domain").lower()
    if not topic or not delivery_id or not shop_domain:
        raise WebhookRejected("X-Shopify-Topic, X-Shopify-Webhook-Id and X-Shopify-Shop-Domain are required")
    _headers_check(headers)
    kept = {k: v for k, v in headers.items()
            if (k.lower().startswith("x-shopify-") or k.lower() == "content-type") and _PRINTABLE.fullmatch(v)}
    _api_version_note(header(headers, "X-Shopify-API-Version"))
    return InboundWebhook(
        platform=Platform.SHOPIFY,
        delivery_id=delivery_id,
        event_id=header(headers, "X-Shopify-Event-Id"),
        shop_domain=shop_domain,
        topic=topic,
        api_version=header(headers, "X-Shopify-API-Version"),
        triggered_at=header(headers, "X-Shopify-Triggered-At"),
        headers=kept,
        body=body,
    )


_PRINTABLE = re.compile(r"[\x20-\x7e]{0,1000}")
# header -> (the form Shopify sends it in, what the error says); each fits its inbox column.
_HEADER_FORMS = {
    "X-Shopify-Topic": (re.compile(r"[a-z0-9_]+(?:/[a-z0-9_]+){1,3}"), "a topic such as orders/create"),
    "X-Shopify-Webhook-Id": (re.compile(r"[\x21-\x7e]{1,255}"), "an id of at most 255 printable characters"),
    "X-Shopify-Event-Id": (re.compile(r"[\x21-\x7e]{0,255}"), "an id of at most 255 printable characters"),
    "X-Shopify-Shop-Domain": (re.compile(r"[a-z0-9.\-]{1,255}"), "a shop domain"),
    "X-Shopify-API-Version": (re.compile(r"[A-Za-z0-9\-]{0,20}"), "a version such as 2026-10"),
}


def _headers_check(headers: Mapping[str, str]) -> None:
    """A signed delivery's headers must be what Shopify sends (the HMAC covers only the body): a
    control character, an overlong value or a date that is not one is a 400 that names the
    header, not a database error."""
    for name, (form, expected) in _HEADER_FORMS.items():
        value = header(headers, name)
        if name == "X-Shopify-Shop-Domain":
            value = value.lower()
        if not form.fullmatch(value):
            raise WebhookRejected(f"malformed {name}: expected {expected}")
    triggered_at = header(headers, "X-Shopify-Triggered-At")
    try:
        valid_time = not triggered_at or parse_datetime(triggered_at) is not None
    except ValueError:
        valid_time = False
    if not valid_time or len(triggered_at) > 64:
        raise WebhookRejected("malformed X-Shopify-Triggered-At: expected an ISO 8601 time")


# --- topic handlers --------------------------------------------------------------------------

def _orders(shop: Shop, payload: dict) -> str:
    record = normalise.order_from_rest(payload)
    customer = record.extra.get("customer")
    if customer and customer.get("id"):
        commerce.customers_upsert(shop=shop, records=[normalise.customer_from_rest(customer)], live=True)
    result = commerce.orders_upsert(shop=shop, records=[record], live=True)
    return f"order {record.platform_id}: +{result.created} ~{result.updated} stale {result.skipped_stale}"


def _refund(shop: Shop, payload: dict) -> str:
    record = normalise.refund_from_rest(payload, shop.currency)
    result = commerce.refund_record(shop=shop, record=record)
    return f"refund {record.platform_id}: +{result.created}"


def _customers(shop: Shop, payload: dict) -> str:
    record = normalise.customer_from_rest(payload)
    result = commerce.customers_upsert(shop=shop, records=[record], live=True)
    return f"customer {record.platform_id}: +{result.created} ~{result.updated} stale {result.skipped_stale}"


def _customer_deleted(shop: Shop, payload: dict) -> str:
    platform_id = normalise.legacy_id(payload.get("id") or payload.get("admin_graphql_api_id"))
    if not platform_id:
        raise normalise.PayloadError("customers/delete without id")
    commerce.customer_mark_deleted(shop=shop, platform_id=platform_id)
    return f"customer {platform_id} deleted"


def _products(shop: Shop, payload: dict) -> str:
    record = normalise.product_from_rest(payload)
    result = commerce.products_upsert(shop=shop, records=[record])
    return f"product {record.platform_id}: +{result.created} ~{result.updated} stale {result.skipped_stale}"


def shop_details_from_rest(payload: dict) -> dict[str, str]:
    """The shop details we keep, from a REST Shop payload (``shop/update``, ``app/uninstalled``)."""
    return {
        "name": str(payload.get("name") or ""),
        "email": str(payload.get("email") or ""),
        "currency": str(payload.get("currency") or ""),
        "timezone": str(payload.get("iana_timezone") or ""),  # "timezone" is a display string
        "locale": str(payload.get("primary_locale") or ""),
        # "domain" is the primary domain's host (the custom domain once the merchant has one):
        # referral and cart links go there.
        "storefront_url": f"https://{payload['domain']}" if isinstance(payload.get("domain"), str)
        and payload["domain"] else "",
    }


def _shop_updated(shop: Shop, payload: dict) -> str:
    updated_at = normalise._datetime(payload.get("updated_at"))
    changed = integration_services.shop_details_changed(
        shop=shop, details=shop_details_from_rest(payload), updated_at=updated_at)
    return f"shop details: {', '.join(changed) or 'unchanged'}"


def _uninstalled(shop: Shop, payload: dict) -> str:
    commerce.shop_uninstalled(shop=shop)
    billing_services.plan_end_on_uninstall(shop=shop, at=timezone.now())
    return "uninstalled"


def _subscription_updated(shop: Shop, payload: dict) -> str:
    state, updated_at = billing.subscription_from_webhook(payload)
    return billing_services.subscription_update_apply(shop=shop, state=state, updated_at=updated_at)


STORE_TOPICS: dict[str, Callable[[Shop, dict], str]] = {
    "orders/create": _orders,
    "orders/updated": _orders,
    "orders/paid": _orders,
    "orders/cancelled": _orders,
    "orders/fulfilled": _orders,
    "orders/partially_fulfilled": _orders,
    "refunds/create": _refund,
    "customers/create": _customers,
    "customers/update": _customers,
    "customers/delete": _customer_deleted,
    "products/create": _products,
    "products/update": _products,
    "app/uninstalled": _uninstalled,
    "shop/update": _shop_updated,
    "app_subscriptions/update": _subscription_updated,
}
ORDER_TOPICS = frozenset(topic for topic, handler in STORE_TOPICS.items() if handler is _orders)
PRIVACY_TOPICS: dict[str, Callable[[Shop, dict, WebhookDelivery], str]] = {
    "customers/data_request": privacy.customer_data_request,
    "customers/redact": privacy.customer_redact_request,
    "shop/redact": privacy.shop_redact_request,
}


def handle(delivery: WebhookDelivery, payload: Any) -> str:
    if not isinstance(payload, dict):
        raise normalise.PayloadError("payload is not a JSON object")
    shop = Shop.objects.filter(platform=Platform.SHOPIFY, domain=delivery.shop_domain).first()
    if shop is None:
        raise DeliveryIgnored(f"unknown shop {delivery.shop_domain}")
    if delivery.topic in PRIVACY_TOPICS:
        return PRIVACY_TOPICS[delivery.topic](shop, payload, delivery)
    handler = STORE_TOPICS.get(delivery.topic)
    if handler is None:
        raise DeliveryIgnored(f"topic {delivery.topic} is not handled")
    if shop.status != ShopStatus.INSTALLED:
        raise DeliveryIgnored(f"shop is {shop.status}")
    return handler(shop, payload)


def orders_handle(deliveries: Sequence[tuple[WebhookDelivery, Any]]) -> list[str]:
    """Several ``orders/*`` deliveries of one shop, in order, as ``_orders`` would apply them one by
    one, but with one ``customers_upsert`` and one ``orders_upsert`` per run of distinct orders
    (an order seen again starts a new run, so each of its states is applied, and its events
    emitted, in turn).  Raises on anything unexpected; the inbox then applies them one by one."""
    domains = {delivery.shop_domain for delivery, _ in deliveries}
    shop = Shop.objects.filter(platform=Platform.SHOPIFY, domain=domains.pop()).first() if len(domains) == 1 else None
    if shop is None or shop.status != ShopStatus.INSTALLED:
        raise DeliveryIgnored("not a group of one installed shop's orders")
    outcomes: list[str] = []
    run: list[OrderRecord] = []
    for delivery, payload in deliveries:
        if delivery.topic not in ORDER_TOPICS or not isinstance(payload, dict):
            raise normalise.PayloadError(f"delivery {delivery.pk} is not an order")
        record = normalise.order_from_rest(payload)
        if any(earlier.platform_id == record.platform_id for earlier in run):
            outcomes += _orders_run(shop, run)
            run = []
        run.append(record)
    return outcomes + _orders_run(shop, run)


def _orders_run(shop: Shop, records: list[OrderRecord]) -> list[str]:
    customers: dict[str, CustomerRecord] = {}
    for record in records:
        embedded = record.extra.get("customer")
        if embedded and embedded.get("id"):
            customer = normalise.customer_from_rest(embedded)
            kept = customers.get(customer.platform_id)
            # one by one, an older copy after a newer one would be skipped as stale: keep the newest
            if kept is None or _not_older(customer.updated_at, kept.updated_at):
                customers[customer.platform_id] = customer
    if customers:
        commerce.customers_upsert(shop=shop, records=list(customers.values()), live=True)
    result = commerce.orders_upsert(shop=shop, records=records, live=True)
    return [f"order {record.platform_id} (one of {len(records)}): +{result.created} ~{result.updated} "
            f"stale {result.skipped_stale}" for record in records]


def _not_older(candidate: Any, kept: Any) -> bool:
    return kept is None or (candidate is not None and candidate >= kept)
