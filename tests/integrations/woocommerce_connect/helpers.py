"""Helpers for the WooCommerce connection tests: a connected shop as the connect flow leaves it,
and the plugin's signature written out independently of the code under test."""

import hashlib
import hmac
import time
from urllib.parse import urlencode

from commerce.models import Shop
from integrations.woocommerce.models import ConnectionStatus, WooConnection
from tests.factories import ShopFactory

PLUGIN_SECRET = "a" * 64


def connected_shop(domain: str = "shop.example", *, plugin_secret: str = PLUGIN_SECRET) -> Shop:
    shop = ShopFactory(platform="woocommerce", domain=domain, storefront_url=f"https://{domain}",
                       access_token="ck_" + "1" * 40, access_token_expires_at=None, refresh_token="")
    WooConnection.objects.create(
        shop=shop, store_url=f"https://{domain}", domain=domain, state=f"state-{domain}",
        expires_at=shop.installed_at, status=ConnectionStatus.CONNECTED, consumer_key="ck_" + "1" * 40,
        consumer_secret="cs_" + "2" * 40, plugin_secret=plugin_secret, key_permissions="read_write",
    )
    return shop


def plugin_signature(pairs: list[tuple[str, str]], secret: str = PLUGIN_SECRET) -> str:
    """As the plugin signs: every parameter but ``signature`` sorted by key, ``key=value`` (a
    repeated key's values joined by ``,``), concatenated; hex HMAC-SHA256."""
    grouped: dict[str, list[str]] = {}
    for key, value in pairs:
        grouped.setdefault(key, []).append(value)
    message = "".join(f"{key}={','.join(values)}" for key, values in sorted(grouped.items()) if key != "signature")
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def signed_query(pairs: list[tuple[str, str]], secret: str = PLUGIN_SECRET) -> str:
    return urlencode([*pairs, ("signature", plugin_signature(pairs, secret))])


def now() -> str:
    return str(int(time.time()))
