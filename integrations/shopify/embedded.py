"""The embedded admin's addresses: the ``host`` parameter and the app's page inside the admin.

Shopify loads an embedded app with ``host`` = base64 (padding dropped) of the admin the merchant
is in: ``admin.shopify.com/store/<handle>`` (or, for older admins, ``<shop>.myshopify.com/admin``).
After an install the app sends the merchant back into the admin, at
``https://admin.shopify.com/store/<handle>/apps/<api key>`` (what ``getEmbeddedAppUrl`` of
Shopify's JS library builds from ``host``).  A ``host`` that decodes to anything else is refused
(as Shopify's ``sanitizeHost`` does): it must never become a redirect to an arbitrary site.
"""

import base64
import binascii
import re
from urllib.parse import quote

from django.conf import settings

from integrations.shopify.domains import shop_domain_clean, shop_origin
from retention_app.errors import ApplicationError

ADMIN_ORIGIN = "https://admin.shopify.com"
_UNIFIED_ADMIN = re.compile(r"^admin\.shopify\.com/store/([a-zA-Z0-9][a-zA-Z0-9-]*)/?$")
_LEGACY_ADMIN = re.compile(r"^([a-zA-Z0-9][a-zA-Z0-9-]*)\.myshopify\.com/admin/?$")
_BASE64 = re.compile(r"^[A-Za-z0-9+/_-]+={0,2}$")
MAX_HOST_LENGTH = 512


def admin_host_decode(host: str | None) -> str:
    """The admin ``host`` names, decoded (``admin.shopify.com/store/<handle>``); 400 otherwise."""
    value = (host or "").strip()
    if not value or len(value) > MAX_HOST_LENGTH or not _BASE64.match(value):
        raise ApplicationError("host must be the Shopify admin's base64 host parameter", status=400)
    try:
        decoded = base64.b64decode(value + "=" * (-len(value) % 4), altchars=b"-_", validate=True).decode("ascii")
    except (binascii.Error, ValueError, UnicodeDecodeError) as error:
        raise ApplicationError("host must be the Shopify admin's base64 host parameter", status=400) from error
    if not (_UNIFIED_ADMIN.match(decoded) or _LEGACY_ADMIN.match(decoded)):
        raise ApplicationError("host is not a Shopify admin", status=400)
    return decoded.rstrip("/")


def admin_host_handle(host: str | None) -> str:
    """The store handle a valid ``host`` names (the admin the merchant is in); 400 otherwise.

    Like Shopify's ``sanitizeHost``, the host must decode to a Shopify admin; which shop it is
    does not matter for access (the session token alone names the shop)."""
    decoded = admin_host_decode(host)
    match = _UNIFIED_ADMIN.match(decoded) or _LEGACY_ADMIN.match(decoded)
    assert match is not None  # admin_host_decode checked it
    return match.group(1).lower()


def embedded_app_url(*, shop_domain: str, host: str | None = None) -> str:
    """Where the merchant sees the app inside their Shopify admin (``getEmbeddedAppUrl``).

    ``host`` (when given, it must decode to a Shopify admin) names the admin; without it the
    shop's handle does.  In development the sandbox's emulated admin stands in for Shopify's.
    """
    domain = shop_domain_clean(shop_domain)
    handle = admin_host_handle(host) if host else domain.split(".", 1)[0]
    api_key = quote(settings.SHOPIFY_API_KEY, safe="")
    if settings.SHOPIFY_SANDBOX_URL:
        return f"{shop_origin(domain)}/admin/apps/{api_key}"
    return f"{ADMIN_ORIGIN}/store/{handle}/apps/{api_key}"
