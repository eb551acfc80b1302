"""Shopify app proxy: storefront ``/apps/comeback/*`` is forwarded to ``/proxy/*`` on the app,
signed with the app secret.  The shop and the logged-in customer come from the verified query."""

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from django.conf import settings

from integrations.shopify.domains import shop_domain_clean
from retention_app.errors import ApplicationError


def proxy_message(params: Mapping[str, Sequence[str]]) -> str:
    """Shopify's app-proxy message: every parameter but ``signature``, sorted by key, as
    ``key=value`` (repeated keys' values joined by ``,``), concatenated with no separator."""
    return "".join(
        f"{key}={','.join(values)}" for key, values in sorted(params.items()) if key != "signature"
    )


def proxy_signature(params: Mapping[str, Sequence[str]], secret: str) -> str:
    return hmac.new(secret.encode(), proxy_message(params).encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class ProxyRequest:
    shop_domain: str
    customer_platform_id: str  # "" when nobody is logged in


def proxy_verify(params: Mapping[str, Sequence[str]]) -> ProxyRequest:
    """Verify the signature (current secret, or the previous one during a rotation)."""
    received = (params.get("signature") or [""])[0]
    secrets = [s for s in (settings.SHOPIFY_API_SECRET, settings.SHOPIFY_API_SECRET_PREVIOUS) if s]
    valid = False
    for secret in secrets:
        valid |= bool(received) and hmac.compare_digest(proxy_signature(params, secret), received)
    if not valid:
        raise ApplicationError("invalid app proxy signature", status=401)
    return ProxyRequest(
        shop_domain=shop_domain_clean((params.get("shop") or [""])[0]),
        customer_platform_id=(params.get("logged_in_customer_id") or [""])[0],
    )
