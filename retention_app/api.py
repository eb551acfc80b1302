"""Shared API pieces: the shop-scoped base view and error handling.

Every merchant-facing API view derives from ``ShopScopedApi``: the shop comes from the verified
request (a Shopify session token today; other platforms add their own authenticator) and never
from a parameter, and ``self.shop`` is the only way views reach tenant data.
"""

from typing import Any

from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from commerce.models import Shop
from retention_app.errors import ApplicationError


class ShopPrincipal:
    """The authenticated party of a merchant API request: a shop (and its staff user id)."""

    is_authenticated = True

    def __init__(self, shop: Shop, user_id: str = "") -> None:
        self.shop = shop
        self.user_id = user_id


class ShopifySessionTokenAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[ShopPrincipal, None] | None:
        from integrations.shopify.oauth import session_token_shop

        authorization = request.headers.get("Authorization", "")
        if not authorization:
            return None
        try:
            shop, user_id = session_token_shop(authorization)
        except ApplicationError as error:
            raise exceptions.AuthenticationFailed(error.message) from error
        return ShopPrincipal(shop, user_id), None

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="shopify-session-token"'


class ShopperPrincipal:
    """A storefront request: the shop, and the logged-in shopper's platform id ("" for none)."""

    is_authenticated = True

    def __init__(self, shop: Shop, customer_platform_id: str) -> None:
        self.shop = shop
        self.customer_platform_id = customer_platform_id


class ShopifyAppProxyAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[ShopperPrincipal, None]:
        from commerce.models import Platform
        from integrations.shopify.app_proxy import proxy_verify

        try:
            verified = proxy_verify(dict(request.query_params.lists()))
        except ApplicationError as error:
            raise exceptions.AuthenticationFailed(error.message) from error
        shop = Shop.objects.filter(platform=Platform.SHOPIFY, domain=verified.shop_domain, status="installed").first()
        if shop is None:
            raise exceptions.AuthenticationFailed("the shop has not installed the app")
        return ShopperPrincipal(shop, verified.customer_platform_id), None

    def authenticate_header(self, request: Request) -> str:
        return 'Signature realm="shopify-app-proxy"'


class BaseApi(APIView):
    """Turns the services' ``ApplicationError`` into a JSON error with its status."""

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, ApplicationError):
            return Response({"error": exc.message, "code": exc.code, **exc.extra}, status=exc.status)
        if isinstance(exc, (exceptions.AuthenticationFailed, exceptions.NotAuthenticated)):
            response = super().handle_exception(exc)
            response.data = {"error": str(exc.detail), "code": "unauthorized"}
            return response
        if isinstance(exc, exceptions.ValidationError):
            response = super().handle_exception(exc)
            response.data = {"error": "invalid input", "code": "invalid", "fields": exc.detail}
            return response
        return super().handle_exception(exc)


class ShopperApi(BaseApi):
    """Base of the storefront (widget) API: shop and shopper come from the verified proxy request."""

    authentication_classes = [ShopifyAppProxyAuthentication]

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        if not isinstance(request.user, ShopperPrincipal):
            raise exceptions.NotAuthenticated("a signed storefront request is required")
        self.shop: Shop = request.user.shop
        self.customer_platform_id: str = request.user.customer_platform_id



class ShopScopedApi(BaseApi):
    authentication_classes = [ShopifySessionTokenAuthentication]

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        if not isinstance(request.user, ShopPrincipal):
            raise exceptions.NotAuthenticated("a session token is required")
        self.shop: Shop = request.user.shop
        self.actor: str = f"shopify-user:{request.user.user_id}"
