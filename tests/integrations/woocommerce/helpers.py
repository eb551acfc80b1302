"""WooCommerce payloads from the REST API documentation (fixtures/), and a WooCommerce shop."""

import copy
import json
from pathlib import Path
from typing import Any

from commerce.models import Shop
from integrations.models import WebhookDelivery
from tests.factories import ShopFactory

FIXTURES = Path(__file__).parent / "fixtures"


def payload(name: str) -> Any:
    """A fresh copy of a documented WooCommerce response (tests may change it)."""
    return copy.deepcopy(json.loads((FIXTURES / name).read_text()))


def woo_shop(**fields: Any) -> Shop:
    defaults: dict[str, Any] = dict(platform="woocommerce", domain="store.example", storefront_url="https://store.example",
                                    access_token="connected", access_token_expires_at=None, refresh_token="")
    return ShopFactory(**(defaults | fields))


def delivery(shop: Shop, topic: str, body: Any, delivery_id: str = "") -> WebhookDelivery:
    raw = json.dumps(body).encode()
    return WebhookDelivery.objects.create(
        platform="woocommerce", delivery_id=delivery_id or f"{topic}-{hash(raw)}-{WebhookDelivery.objects.count()}",
        shop=shop, shop_domain=shop.domain, topic=topic, body=raw)
