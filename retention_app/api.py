"""Shared API pieces: the shop-scoped base views, their principals and error handling.

Every merchant-facing API view derives from ``ShopScopedApi`` and every storefront (widget) view
from ``ShopperApi``: the shop comes from the verified request and never from a parameter, and
``self.shop`` is the only way views reach tenant data.  How a request is verified is platform
business: the authenticators live in ``integrations/`` and are listed in the settings
(``MERCHANT_API_AUTHENTICATION``, ``SHOPPER_API_AUTHENTICATION``).
"""

from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.utils.module_loading import import_string
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from commerce.models import Shop
from retention_app.client_ip import client_ip
from retention_app.errors import ApplicationError


class ShopPrincipal:
    """A merchant API request: the shop, and who acted (recorded on audited changes)."""

    is_authenticated = True

    def __init__(self, shop: Shop, actor: str = "") -> None:
        self.shop = shop
        self.actor = actor


class ShopperPrincipal:
    """A storefront request: the shop, the logged-in shopper's platform id ("" for none), and the
    shopper's address when the authenticator knows better than ``client_ip(request)`` (a platform
    proxy in between that says who connected to it)."""

    is_authenticated = True

    def __init__(self, shop: Shop, customer_platform_id: str, client_ip: str | None = None) -> None:
        self.shop = shop
        self.customer_platform_id = customer_platform_id
        self.client_ip = client_ip


def shopper_ip(request: Request) -> str | None:
    """The shopper's address: as the verified request's authenticator found it, else the client IP."""
    principal = request.user
    if isinstance(principal, ShopperPrincipal) and principal.client_ip:
        return principal.client_ip
    return client_ip(request)


def _limit_message(exc: Exception) -> str:
    if isinstance(exc, TooManyFieldsSent):
        return f"too many parameters (at most {settings.DATA_UPLOAD_MAX_NUMBER_FIELDS})"
    if isinstance(exc, TooManyFilesSent):
        return f"too many files (at most {settings.DATA_UPLOAD_MAX_NUMBER_FILES})"
    return f"the request body is too large (at most {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes)"


class BaseApi(APIView):
    """Turns the services' ``ApplicationError`` into a JSON error with its status."""

    authentication_setting = ""

    def get_authenticators(self) -> list[BaseAuthentication]:
        return [import_string(path)() for path in getattr(settings, self.authentication_setting)]

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        # DRF parses JSON from the stream, which skips Django's DATA_UPLOAD_MAX_MEMORY_SIZE check.
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        length = request.META.get("CONTENT_LENGTH") or "0"
        if limit is not None and (not length.isdigit() or int(length) > limit):
            raise RequestDataTooBig("the request body is too large")
        super().initial(request, *args, **kwargs)

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, (RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent)):
            # Django would answer these with its own 400 page (a traceback page under DEBUG): say
            # in JSON what was too big, like every other refusal of the API.
            return Response({"error": _limit_message(exc), "code": "too_large"}, status=400)
        if isinstance(exc, ApplicationError):
            response = Response({"error": exc.message, "code": exc.code, **exc.extra}, status=exc.status)
            if exc.status == 429 and exc.extra.get("retry_after"):
                response["Retry-After"] = str(exc.extra["retry_after"])
            return response
        if isinstance(exc, (exceptions.AuthenticationFailed, exceptions.NotAuthenticated)):
            response = super().handle_exception(exc)
            response.data = {"error": str(exc.detail), "code": "unauthorized"}
            return response
        if isinstance(exc, exceptions.ValidationError):
            response = super().handle_exception(exc)
            response.data = {"error": "invalid input", "code": "invalid", "fields": exc.detail}
            return response
        if isinstance(exc, exceptions.Throttled):  # DRF sets Retry-After; the widget reads the code
            response = super().handle_exception(exc)
            wait = max(1, int(getattr(exc, "wait", None) or 1))
            response.data = {"error": f"too many requests; try again in {wait} seconds", "code": "rate_limited",
                             "retry_after": wait}
            return response
        return super().handle_exception(exc)


class ShopperApi(BaseApi):
    """Base of the storefront (widget) API: shop and shopper come from the verified request."""

    authentication_setting = "SHOPPER_API_AUTHENTICATION"

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        if not isinstance(request.user, ShopperPrincipal):
            raise exceptions.NotAuthenticated("a signed storefront request is required")
        self.shop: Shop = request.user.shop
        self.customer_platform_id: str = request.user.customer_platform_id


class ShopScopedApi(BaseApi):
    """Base of the merchant API: the shop comes from the verified token."""

    authentication_setting = "MERCHANT_API_AUTHENTICATION"

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        if not isinstance(request.user, ShopPrincipal):
            raise exceptions.NotAuthenticated("a session token is required")
        self.shop: Shop = request.user.shop
        self.actor: str = request.user.actor
