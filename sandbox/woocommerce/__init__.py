"""A local WooCommerce (+ WordPress) emulator for Comeback's demo, tests and benches.

See ``README.md`` next to this file.  No Django here: werkzeug and requests only.
"""

from sandbox.store.generator import StoreGenerator, StoreSpec

from .auth import oauth_signature
from .common import WC_VERSION, WP_VERSION, WPError
from .sandbox import SandboxError, WooCommerceSandbox
from .store import ApiKey, WooCoupon, WooCustomer, WooOrder, WooProduct, WooRefund, WooStore, WooWebhook
from .storefront import proxy_message, proxy_query
from .webhooks import Delivery, signature

__all__ = [
    "WC_VERSION",
    "WP_VERSION",
    "ApiKey",
    "Delivery",
    "SandboxError",
    "StoreGenerator",
    "StoreSpec",
    "WPError",
    "WooCommerceSandbox",
    "WooCoupon",
    "WooCustomer",
    "WooOrder",
    "WooProduct",
    "WooRefund",
    "WooStore",
    "WooWebhook",
    "oauth_signature",
    "proxy_message",
    "proxy_query",
    "signature",
]
