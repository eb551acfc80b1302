"""Shopify app proxy: storefront ``/apps/comeback/*`` is forwarded to ``/proxy/*`` on the app,
signed with the app secret.  The shop and the logged-in customer come from the verified query.

A signature alone never expires, so the signed ``timestamp`` must be within
``SHOPIFY_PROXY_MAX_AGE_SECONDS`` of now (either way: clocks drift); a replayed request from
yesterday is refused even though its signature is genuine.
"""

import hashlib
import hmac
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from django.conf import settings

from integrations.shopify.domains import shop_domain_clean
from retention_app.errors import ApplicationError

#: The parameters Shopify's proxy sets itself, exactly once.  A second value can only come from
#: the shopper's own query (Shopify appends its value and signs both), so it is refused rather
#: than letting "the first one" pick the customer.
PROXY_PARAMS = ("shop", "logged_in_customer_id", "path_prefix", "timestamp", "signature")


def proxy_message(params: Mapping[str, Sequence[str]]) -> str:
    """Shopify's app-proxy message: every parameter but ``signature``, sorted by key, as
    ``key=value`` (repeated keys' values joined by ``,``), concatenated with no separator."""
    return "".join(
        f"{key}={','.join(values)}" for key, values in sorted(params.items()) if key != "signature"
    )


def proxy_signature(params: Mapping[str, Sequence[str]], secret: str) -> str:
    return hmac.new(secret.encode(), proxy_message(params).encode(), hashlib.sha256).hexdigest()


def hex_digest_equal(expected: str, received: str) -> bool:
    """Constant-time comparison of hex digests that is simply false (not a ``TypeError``) for a
    received value that is not ASCII."""
    if not received.isascii():
        return False
    return hmac.compare_digest(expected.encode(), received.encode())


@dataclass(frozen=True)
class ProxyRequest:
    shop_domain: str
    customer_platform_id: str  # "" when nobody is logged in


def _refuse(message: str) -> ApplicationError:
    return ApplicationError(message, status=401)


def proxy_verify(params: Mapping[str, Sequence[str]], *, now: float | None = None) -> ProxyRequest:
    """Verify the signature (current secret, or the previous one during a rotation), that each
    proxy parameter appears once, and that the signed timestamp is recent."""
    for key in PROXY_PARAMS:
        if len(params.get(key) or []) > 1:
            raise _refuse(f"the app proxy parameter {key} is repeated")
    received = (params.get("signature") or [""])[0]
    secrets = [s for s in (settings.SHOPIFY_API_SECRET, settings.SHOPIFY_API_SECRET_PREVIOUS) if s]
    valid = False
    for secret in secrets:
        valid |= bool(received) and hex_digest_equal(proxy_signature(params, secret), received)
    if not valid:
        raise _refuse("invalid app proxy signature")
    raw_timestamp = (params.get("timestamp") or [""])[0]
    if not (raw_timestamp.isascii() and raw_timestamp.isdigit() and len(raw_timestamp) <= 12):
        raise _refuse("the app proxy timestamp is missing or not a number")
    current = time.time() if now is None else now
    if abs(current - int(raw_timestamp)) > settings.SHOPIFY_PROXY_MAX_AGE_SECONDS:
        raise _refuse("the app proxy request is too old (or from the future)")
    try:
        shop_domain = shop_domain_clean((params.get("shop") or [""])[0])
    except ApplicationError as error:
        raise _refuse(error.message) from error
    return ProxyRequest(
        shop_domain=shop_domain,
        customer_platform_id=(params.get("logged_in_customer_id") or [""])[0],
    )
