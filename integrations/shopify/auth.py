"""How Shopify requests prove who they are, as DRF authenticators.

The embedded admin sends a session token (a merchant's staff user in a shop); the storefront
reaches the widget API through the app proxy, signed with the app secret.  The rest of the app
only sees the principals from ``retention_app.api`` (settings list these classes).
"""

from django.conf import settings
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from commerce.models import Platform, Shop
from integrations.shopify.app_proxy import proxy_verify
from integrations.shopify.oauth import session_token_shop
from retention_app.api import ShopperPrincipal, ShopPrincipal
from retention_app.client_ip import client_ip
from retention_app.errors import ApplicationError


class SessionTokenAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[ShopPrincipal, None] | None:
        authorization = request.headers.get("Authorization", "")
        if not authorization:
            return None
        try:
            shop, user_id = session_token_shop(authorization)
        except ApplicationError as error:
            raise exceptions.AuthenticationFailed(error.message) from error
        return ShopPrincipal(shop, actor=f"shopify-user:{user_id}"), None

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="shopify-session-token"'


class AppProxyAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[ShopperPrincipal, None]:
        try:
            verified = proxy_verify(dict(request.query_params.lists()))
        except ApplicationError as error:
            raise exceptions.AuthenticationFailed(error.message) from error
        shop = Shop.objects.filter(platform=Platform.SHOPIFY, domain=verified.shop_domain, status="installed").first()
        if shop is None:
            raise exceptions.AuthenticationFailed("the shop has not installed the app")
        # Shopify's proxy connects to us (through our own proxies) and appends the address that
        # connected to it; the signature shows the request came that way, so that entry is believed.
        hops = 1 if settings.SHOPIFY_APP_PROXY_FORWARDED_FOR else 0
        return ShopperPrincipal(shop, verified.customer_platform_id, client_ip(request, signed_hops=hops)), None

    def authenticate_header(self, request: Request) -> str:
        return 'Signature realm="shopify-app-proxy"'
