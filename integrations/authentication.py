"""Who is calling, for the API: each registered platform's authenticator, chosen for the request.

The merchant API tries each platform's own proof (Shopify's session token, ...) and then the
Django login every platform shares; the shopper API (``/proxy/*``) asks the platform the request
names with ``?platform=`` (Shopify's app proxy, which cannot add one, is the default).
"""

from typing import Any

from django.utils.module_loading import import_string
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from commerce.models import Platform
from integrations.platforms import platform_registration, platforms_registered

#: The platform a shopper request belongs to when it does not say (Shopify's app proxy signs
#: every parameter it forwards, so it cannot carry one of ours).
DEFAULT_SHOPPER_PLATFORM = Platform.SHOPIFY


class PlatformMerchantAuthentication(BaseAuthentication):
    """Each platform's merchant authenticator in turn; the first that recognises the request wins."""

    def _authenticators(self) -> list[BaseAuthentication]:
        return [import_string(registration.merchant_authentication)()
                for registration in platforms_registered() if registration.merchant_authentication]

    def authenticate(self, request: Request) -> Any:
        for authenticator in self._authenticators():
            result = authenticator.authenticate(request)
            if result is not None:
                return result
        return None

    def authenticate_header(self, request: Request) -> str | None:
        for authenticator in self._authenticators():
            header = authenticator.authenticate_header(request)
            if header:
                return header
        return None


class PlatformShopperAuthentication(BaseAuthentication):
    """The authenticator of the platform the request names (``?platform=``)."""

    def _authenticator(self, request: Request) -> BaseAuthentication:
        platform = request.query_params.get("platform") or DEFAULT_SHOPPER_PLATFORM
        try:
            path = platform_registration(platform).shopper_authentication
        except LookupError as error:
            raise exceptions.AuthenticationFailed("unknown platform") from error
        if not path:
            raise exceptions.AuthenticationFailed("this platform has no storefront widget")
        return import_string(path)()

    def authenticate(self, request: Request) -> Any:
        return self._authenticator(request).authenticate(request)

    def authenticate_header(self, request: Request) -> str | None:
        try:
            return self._authenticator(request).authenticate_header(request)
        except exceptions.AuthenticationFailed:
            return 'Signature realm="comeback-storefront"'
