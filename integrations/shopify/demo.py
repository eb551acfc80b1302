"""What the whole-house demo (``manage.py demo``) needs from the Shopify package.

The command lives outside ``integrations/`` and may not import a platform package: it finds this
module through the registry (``retention_app.management.commands.demo.platform_demo``).
"""

from pathlib import Path

from integrations.shopify.app_config import APP_TOML
from integrations.shopify.embedded import embedded_app_url


def app_config_path() -> Path:
    """``shopify.app.toml``, which the sandbox deploys (scopes, callback, app proxy, webhooks)."""
    return APP_TOML


def admin_app_url(*, shop_domain: str) -> str:
    """The app's page inside the shop's (sandbox) Shopify admin: where a merchant opens it."""
    return embedded_app_url(shop_domain=shop_domain)
