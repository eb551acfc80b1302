"""The merchant API for a Django login (WooCommerce stores, the demo, a script in a browser session).

The embedded Shopify admin authenticates with a session token (``integrations``); everywhere else a
merchant is a Django user with a ``ShopMembership``.  The API then acts for the shop the dashboard
has chosen for them (the shop switcher), or for the member shop named in ``X-Comeback-Shop``
(its domain): the UI and scripts speak to one API.  Unsafe methods need the CSRF token, as any
cookie-authenticated request does.
"""

from rest_framework import exceptions
from rest_framework.authentication import SessionAuthentication
from rest_framework.request import Request

from dashboard.auth import member_shop
from retention_app.api import ShopPrincipal
from retention_app.errors import ApplicationError


class MemberSessionAuthentication(SessionAuthentication):
    def authenticate(self, request: Request) -> tuple[ShopPrincipal, None] | None:
        user = getattr(request._request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        self.enforce_csrf(request)
        try:
            shop = member_shop(request._request, wanted=request.headers.get("X-Comeback-Shop", ""))
        except ApplicationError as error:
            raise exceptions.PermissionDenied(error.message) from error
        return ShopPrincipal(shop, actor=f"user:{user.pk}"), None
