"""Shop domains: the only hosts the app ever calls for a shop.

Only ``<name>.myshopify.com`` is accepted (``admin.shopify.com/store/<name>`` is normalised to
it, as the official libraries do); anything else is refused before any network call, so a forged
``shop`` parameter can never make the app talk to an arbitrary host (SSRF).  In development the
sandbox origin from ``SHOPIFY_SANDBOX_URL`` stands in for ``https://<shop>``.
"""

import re

from django.conf import settings
from shopify.utils.shop_url import sanitize_shop_domain

from retention_app.errors import ApplicationError

_SHOP_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9-]*\.myshopify\.com$")
_ADMIN_RE = re.compile(r"^(?:https?://)?admin\.shopify\.com/store/([a-zA-Z0-9][a-zA-Z0-9-]*)/?$")


def shop_domain_clean(raw: str | None) -> str:
    """Return the canonical ``<name>.myshopify.com`` or raise ``ApplicationError`` (400)."""
    value = (raw or "").strip()
    admin = _ADMIN_RE.match(value)
    if admin:
        value = f"{admin.group(1)}.myshopify.com"
    value = re.sub(r"^https?://", "", value).rstrip("/").lower()
    if not _SHOP_RE.match(value) or sanitize_shop_domain(value) != value:
        raise ApplicationError("shop must be a <name>.myshopify.com domain", status=400)
    return value


def shop_origin(domain: str) -> str:
    """Where the shop's admin lives: ``https://<shop>``, or the sandbox in development."""
    domain = shop_domain_clean(domain)
    if settings.SHOPIFY_SANDBOX_URL:
        return f"{settings.SHOPIFY_SANDBOX_URL}/shops/{domain}"
    return f"https://{domain}"
