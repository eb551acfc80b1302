"""How requests from a WooCommerce store prove who they are.

The WordPress plugin signs everything it sends us with the shop's ``plugin_secret`` (handed to
it once, by the connect flow's claim): the storefront widget's calls it forwards to ``/proxy/*``,
the "Comeback" admin menu's link and the privacy tools' requests.  One scheme for all three,
Shopify's app-proxy message: every query parameter but ``signature``, sorted by key, as
``key=value`` (a repeated key's values joined by ``,``), concatenated with no separator; the
signature is its hex HMAC-SHA256.  A signed ``timestamp`` bounds how long a captured URL works.
"""

import hashlib
import hmac
import time
from collections.abc import Mapping, Sequence

from django.conf import settings
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from commerce.models import Platform, Shop, ShopStatus
from integrations.woocommerce.models import WooConnection
from retention_app.api import ShopperPrincipal
from retention_app.client_ip import client_ip
from retention_app.errors import ApplicationError

Params = Mapping[str, Sequence[str]]

#: What the plugin adds to a forwarded shopper request, each exactly once: a second value could
#: only come from the shopper's own query string.
PROXY_PARAMS = ("platform", "shop", "logged_in_customer_id", "timestamp", "signature")


def signed_message(params: Params) -> str:
    return "".join(f"{key}={','.join(values)}" for key, values in sorted(params.items()) if key != "signature")


def params_sign(params: Params, secret: str) -> str:
    """The hex signature of ``params`` (the plugin's side, for tests and the sandbox)."""
    return hmac.new(secret.encode(), signed_message(params).encode(), hashlib.sha256).hexdigest()


def _refuse(message: str) -> ApplicationError:
    return ApplicationError(message, status=401, code="unauthorized")


def signed_params_verify(
    params: Params, secret: str, max_age: float, *, once: Sequence[str] = ("timestamp", "signature"),
    now: float | None = None,
) -> None:
    """Check a signed query: each of ``once`` appears at most once, the signature is right
    (constant-time), and the signed timestamp is within ``max_age`` seconds of now, either way.
    Raises ``ApplicationError`` (401) otherwise."""
    for key in once:
        if len(params.get(key) or []) > 1:
            raise _refuse(f"the parameter {key} is repeated")
    received = (params.get("signature") or [""])[0]
    expected = params_sign(params, secret) if secret else ""
    if not (secret and received and received.isascii()
            and hmac.compare_digest(expected.encode(), received.lower().encode())):
        raise _refuse("invalid signature")
    raw_timestamp = (params.get("timestamp") or [""])[0]
    if not (raw_timestamp.isascii() and raw_timestamp.isdigit() and len(raw_timestamp) <= 12):
        raise _refuse("the timestamp is missing or not a number")
    current = time.time() if now is None else now
    if abs(current - int(raw_timestamp)) > max_age:
        raise _refuse("the request is too old (or from the future)")


def connected_shop(domain: str) -> tuple[Shop, WooConnection] | None:
    """The installed WooCommerce shop of that domain and its connection (None: not connected)."""
    connection = (
        WooConnection.objects.select_related("shop")
        .filter(shop__platform=Platform.WOOCOMMERCE, shop__domain=(domain or "").strip().lower(),
                shop__status=ShopStatus.INSTALLED)
        .first()
    )
    if connection is None or connection.shop is None or not connection.shop.is_installed:
        return None
    return connection.shop, connection


def plugin_request_verify(params: Params, *, max_age: float, once: Sequence[str] = ("shop", "timestamp",
                                                                                      "signature")) -> Shop:
    """The shop a request signed by the plugin comes from (``?shop=`` names it, its secret proves
    it); an unknown shop is refused like a bad signature (nothing says which shops exist)."""
    if len(params.get("shop") or []) > 1:
        raise _refuse("the parameter shop is repeated")
    found = connected_shop((params.get("shop") or [""])[0])
    if found is None:
        raise _refuse("invalid signature")
    shop, connection = found
    signed_params_verify(params, connection.plugin_secret, max_age, once=once)
    return shop


class PluginProxyAuthentication(BaseAuthentication):
    """The storefront widget's requests, forwarded by the plugin's ``/wp-json/comeback/v1/*``
    routes: the shop from the verified query, the logged-in shopper (WordPress user id, empty for
    a guest) as the plugin saw them."""

    def authenticate(self, request: Request) -> tuple[ShopperPrincipal, None]:
        params = dict(request.query_params.lists())
        try:
            shop = plugin_request_verify(params, max_age=settings.STOREFRONT_PROXY_MAX_AGE_SECONDS,
                                         once=PROXY_PARAMS)
        except ApplicationError as error:
            raise exceptions.AuthenticationFailed(error.message) from error
        customer = (params.get("logged_in_customer_id") or [""])[0].strip()
        customer = "" if customer == "0" else customer  # WordPress's "nobody"
        if customer and not (customer.isascii() and customer.isdigit()):
            raise exceptions.AuthenticationFailed("logged_in_customer_id is not a WordPress user id")
        # The plugin connects to us from the WordPress server and sends the shopper's address in
        # X-Forwarded-For; the signature shows the request came that way, so that entry is believed.
        return ShopperPrincipal(shop, customer, client_ip(request, signed_hops=1)), None

    def authenticate_header(self, request: Request) -> str:
        return 'Signature realm="woocommerce-plugin"'
