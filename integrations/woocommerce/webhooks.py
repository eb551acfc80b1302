"""WooCommerce webhooks: verifying a delivery, and keeping the store's subscriptions alive.

A delivery carries ``X-WC-Webhook-Source`` (the store's home URL with a trailing slash),
``X-WC-Webhook-ID`` (which of our webhooks), ``X-WC-Webhook-Topic`` (``order.updated``),
``X-WC-Webhook-Delivery-ID`` and ``X-WC-Webhook-Signature``: base64 HMAC-SHA256 of the raw body
with that webhook's own secret.  On creation WooCommerce first POSTs an unsigned ping (form body
``webhook_id=N``) that must get a 200; it carries nothing, so nothing is stored.

WooCommerce never retries a delivery and disables a webhook after more than 5 failures in a row:
``webhooks_register`` (at connect and at every reconciliation) creates what is missing, re-enables
what WooCommerce disabled and recreates what was deleted; the reconciliation fetches what changed
meanwhile.
"""

import base64
import binascii
import hashlib
import hmac
import logging
import re
import secrets
from collections.abc import Mapping

from django.conf import settings
from django.utils import timezone

from commerce.models import Platform, Shop
from integrations.webhooks import InboundWebhook, WebhookAcknowledged, WebhookRejected, WebhookUnauthorized, header
from integrations.woocommerce.client import WooClient, WooNotFound
from integrations.woocommerce.connection import store_address
from integrations.woocommerce.models import WebhookStatus, WooWebhook
from integrations.woocommerce.sync import client_for
from retention_app.errors import ApplicationError

logger = logging.getLogger(__name__)

#: Every topic we subscribe to (WooCommerce has no ``customer.restored``).
TOPICS = (
    "order.created", "order.updated", "order.deleted", "order.restored",
    "customer.created", "customer.updated", "customer.deleted",
    "product.created", "product.updated", "product.deleted", "product.restored",
    "coupon.created", "coupon.updated", "coupon.deleted", "coupon.restored",
)
WEBHOOK_NAME = "Comeback"
API_VERSION = "wp_api_v3"

_PING = re.compile(rb"webhook_id=\d{1,20}")
_TOPIC = re.compile(r"[a-z_]{1,32}\.[a-z_]{1,32}")
_ID = re.compile(r"\d{1,20}")
_DELIVERY_ID = re.compile(r"[\x21-\x7e]{1,128}")
_PRINTABLE = re.compile(r"[\x20-\x7e]{0,1000}")


def delivery_url() -> str:
    return f"{settings.APP_URL}/webhooks/woocommerce"


def signature_valid(body: bytes, signature: str, secret: str) -> bool:
    """Base64 HMAC-SHA256 of the raw body, in constant time; anything malformed is simply invalid."""
    signature = (signature or "").strip()
    if not signature or not signature.isascii() or not secret:
        return False
    try:
        received = base64.b64decode(signature, validate=True)
    except (binascii.Error, ValueError):
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return len(received) == len(expected) and hmac.compare_digest(expected, received)


def inbound_webhook(*, body: bytes, headers: Mapping[str, str]) -> InboundWebhook:
    """Verify one POST to ``/webhooks/woocommerce`` and describe it for the inbox.

    The ping (no signature, ``webhook_id=N``) is acknowledged and not stored.  A delivery whose
    store or webhook we do not know, or whose signature is wrong, is a 401 and nothing is stored.
    """
    signature = header(headers, "X-WC-Webhook-Signature")
    if not signature and _PING.fullmatch(body.strip()):
        raise WebhookAcknowledged("ping")
    source, webhook_id = header(headers, "X-WC-Webhook-Source"), header(headers, "X-WC-Webhook-ID").strip()
    try:
        domain = store_address(source).domain if source else ""
    except ApplicationError:
        domain = ""
    webhook = _signing_webhook(domain=domain, webhook_id=webhook_id, body=body, signature=signature)
    if webhook is None:
        raise WebhookUnauthorized("invalid X-WC-Webhook-Signature")
    domain = webhook.shop.domain
    topic = header(headers, "X-WC-Webhook-Topic").strip()
    delivery_id = header(headers, "X-WC-Webhook-Delivery-ID").strip()
    if not _TOPIC.fullmatch(topic):
        raise WebhookRejected("malformed X-WC-Webhook-Topic: expected a topic such as order.updated")
    if topic != webhook.topic:
        # The signature covers the body only: a genuine order.updated body replayed as
        # order.deleted must not delete the order.  Each of our webhooks has one topic.
        raise WebhookUnauthorized(f"X-WC-Webhook-Topic {topic} is not the topic of webhook {webhook_id}")
    if not _DELIVERY_ID.fullmatch(delivery_id):
        raise WebhookRejected("malformed X-WC-Webhook-Delivery-ID")
    kept = {key: value for key, value in headers.items()
            if (key.lower().startswith("x-wc-webhook-") or key.lower() in ("content-type", "user-agent"))
            and _PRINTABLE.fullmatch(value)}
    return InboundWebhook(
        platform=Platform.WOOCOMMERCE,
        delivery_id=inbox_delivery_id(domain=domain, webhook_id=webhook_id, delivery_id=delivery_id, body=body),
        event_id="",
        shop_domain=domain,
        topic=topic,
        api_version=API_VERSION,
        triggered_at="",
        headers=kept,
        body=body,
    )


def _domain_variants(domain: str) -> list[str]:
    """The store as WordPress names it (``home_url``) may differ from the address the merchant
    connected by a ``www.``: both are looked at."""
    host, _, rest = domain.partition("/")
    bare = host.removeprefix("www.")
    return list(dict.fromkeys([domain, f"{bare}/{rest}".rstrip("/"), f"www.{bare}/{rest}".rstrip("/")]))


def _signing_webhook(*, domain: str, webhook_id: str, body: bytes, signature: str) -> WooWebhook | None:
    """Our webhook in that store whose secret signed the body, or None."""
    if not domain or not _ID.fullmatch(webhook_id):
        return None
    candidates = (WooWebhook.objects.select_related("shop")
                  .filter(shop__platform=Platform.WOOCOMMERCE, shop__domain__in=_domain_variants(domain),
                          platform_id=webhook_id))
    return next((webhook for webhook in candidates if signature_valid(body, signature, webhook.secret)), None)


def inbox_delivery_id(*, domain: str, webhook_id: str, delivery_id: str, body: bytes) -> str:
    """The inbox's key for a delivery.  WooCommerce's delivery id is ``wp_hash(webhook id + the
    current second)``: two different orders updated in the same second share it.  So the key is
    the store, the webhook, WooCommerce's id and the body's digest: a repeated delivery (same
    body) is one row, two events in one second are two (fits the inbox's 255 characters)."""
    digest = hashlib.sha256(body).hexdigest()[:32]
    return f"{hashlib.sha256(domain.encode()).hexdigest()[:16]}:{webhook_id}:{delivery_id[:128]}:{digest}"


# --- keeping the subscriptions ----------------------------------------------------------------

def _create(client: WooClient, *, shop: Shop, topic: str) -> WooWebhook:
    secret = secrets.token_hex(32)  # no &, <, >, quotes: WooCommerce decodes HTML entities in it
    created = client.post("webhooks", {
        "name": f"{WEBHOOK_NAME} {topic}", "topic": topic, "status": WebhookStatus.ACTIVE,
        "delivery_url": delivery_url(), "secret": secret, "api_version": API_VERSION,
    })
    webhook, _ = WooWebhook.objects.update_or_create(
        shop=shop, topic=topic,
        defaults={"platform_id": str(created["id"]), "secret": secret,
                  "status": str(created.get("status") or WebhookStatus.ACTIVE), "last_checked_at": timezone.now()},
    )
    return webhook


def webhooks_register(*, shop: Shop) -> list[str]:
    """One active webhook per topic in the store, each with its own secret, delivered to our inbox.

    Idempotent: a webhook that is there and active is left alone; one WooCommerce disabled (or a
    merchant paused) is switched back on; one that was deleted, or points elsewhere, is made
    again.  Returns the topics subscribed."""
    client = client_for(shop)
    known = {webhook.topic: webhook for webhook in WooWebhook.objects.filter(shop=shop)}
    in_store: dict[str, dict] = {}
    for page in client.pages("webhooks"):
        for item in page.items:
            if isinstance(item, dict) and item.get("id") is not None:
                in_store[str(item["id"])] = item
    now = timezone.now()
    for topic in TOPICS:
        webhook = known.get(topic)
        found = in_store.get(webhook.platform_id) if webhook else None
        if webhook is None or found is None or found.get("topic") != topic \
                or (found.get("delivery_url") or "").rstrip("/") != delivery_url():
            if webhook is not None and found is not None:
                _delete_quietly(client, webhook.platform_id)
            _create(client, shop=shop, topic=topic)
            continue
        status = str(found.get("status") or "")
        if status != WebhookStatus.ACTIVE:
            updated = client.put(f"webhooks/{webhook.platform_id}", {"status": WebhookStatus.ACTIVE})
            status = str(updated.get("status") or WebhookStatus.ACTIVE)
            logger.info("%s: webhook %s (%s) was %s, switched on again", shop.domain, webhook.platform_id, topic,
                        found.get("status"))
        WooWebhook.objects.filter(pk=webhook.pk).update(status=status, last_checked_at=now, updated_at=now)
    # Ours, in the store, for topics we no longer handle (or duplicates): removed.
    ours = {webhook.platform_id for webhook in WooWebhook.objects.filter(shop=shop)}
    for platform_id, item in in_store.items():
        if platform_id not in ours and (item.get("delivery_url") or "").rstrip("/") == delivery_url():
            _delete_quietly(client, platform_id)
    return list(TOPICS)


def webhooks_delete(*, shop: Shop) -> int:
    """Remove our webhooks from the store (the merchant disconnects); returns how many."""
    rows = list(WooWebhook.objects.filter(shop=shop))
    client = client_for(shop)
    for webhook in rows:
        _delete_quietly(client, webhook.platform_id)
    WooWebhook.objects.filter(pk__in=[webhook.pk for webhook in rows]).delete()
    return len(rows)


def _delete_quietly(client: WooClient, platform_id: str) -> None:
    try:
        client._request("DELETE", f"webhooks/{platform_id}", params={"force": "true"})
    except WooNotFound:
        pass
