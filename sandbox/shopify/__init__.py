"""A local Shopify emulator ("the sandbox") for Comeback's demo and tests.

See ``README.md`` next to this file.  No Django here: werkzeug, graphql-core and requests only.
"""

from sandbox.store.generator import StoreGenerator, StoreSpec

from .common import API_VERSION, DEFAULT_ANCHOR
from .sandbox import DEFAULT_SCOPES, ShopifySandbox
from .store import SandboxError, Shop
from .webhooks import Delivery, WebhookSender

__all__ = [
    "API_VERSION",
    "DEFAULT_ANCHOR",
    "DEFAULT_SCOPES",
    "Delivery",
    "SandboxError",
    "Shop",
    "ShopifySandbox",
    "StoreGenerator",
    "StoreSpec",
    "WebhookSender",
]
