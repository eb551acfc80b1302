"""The one place a dashboard request gets its shop; a merchant can never reach another shop.

Two ways in:

* Embedded in the Shopify admin: Shopify loads the page with ``?shop=…&host=…&id_token=<session
  token>`` (or a fetch sends ``Authorization: Bearer <token>``).  The token is verified by the
  integration's session-token code and alone names the shop.  A page asked for without a token
  (every link between dashboard pages, which carry only ``shop``/``host``) gets Shopify's "bounce"
  page: App Bridge fetches a fresh token and reloads the page with it.
* A Django login (WooCommerce and standalone stores, the demo): the user sees the shops they are a
  ``ShopMembership`` member of, one at a time (the chosen one is kept in the session).
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps
from typing import Any, Concatenate, ParamSpec
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import translation
from django.utils.cache import add_never_cache_headers

from commerce.models import Platform, Shop
from dashboard.selectors import member_shops
from integrations.shopify.domains import shop_domain_clean
from integrations.shopify.oauth import session_token_shop
from retention_app.errors import ApplicationError

SESSION_SHOP_KEY = "dashboard_shop_id"

P = ParamSpec("P")


@dataclass(frozen=True)
class DashboardAccess:
    """Who is looking at which shop, and what every dashboard link must carry."""

    shop: Shop
    embedded: bool
    actor: str
    carried: dict[str, str] = field(default_factory=dict)
    shops: tuple[Shop, ...] = ()

    def url(self, name: str, *args: Any, **params: Any) -> str:
        """A dashboard URL that keeps the embedded parameters (so the bounce repeats on arrival)."""
        query = {**self.carried, **{key: value for key, value in params.items() if value not in (None, "")}}
        path = reverse(name, args=args)
        return f"{path}?{urlencode(query)}" if query else path


def _bearer(request: HttpRequest) -> str:
    token = request.GET.get("id_token", "")
    if token:
        return token
    authorization = request.headers.get("Authorization", "")
    return authorization[7:].strip() if authorization[:7].lower() == "bearer " else ""


def _is_embedded(request: HttpRequest) -> bool:
    return bool(request.GET.get("host") or _bearer(request))


def _embedded_access(request: HttpRequest) -> DashboardAccess | HttpResponse:
    token = _bearer(request)
    if not token:
        return bounce_redirect(request)
    shop, user_id = session_token_shop(f"Bearer {token}")
    claimed = request.GET.get("shop", "")
    if claimed and shop_domain_clean(claimed) != shop.domain:
        raise ApplicationError("the session token is for another shop", status=401, code="unauthorized")
    carried = {"shop": shop.domain}
    for name in ("host", "locale"):
        if request.GET.get(name):
            carried[name] = request.GET[name]
    return DashboardAccess(shop=shop, embedded=True, actor=f"shopify-user:{user_id}", carried=carried)


def _login_access(request: HttpRequest) -> DashboardAccess | HttpResponse:
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path(), settings.LOGIN_URL)
    shops = tuple(member_shops(user=request.user))
    if not shops:
        raise ApplicationError("this login is not a member of any shop", status=403, code="forbidden")
    chosen = request.session.get(SESSION_SHOP_KEY)
    shop = next((candidate for candidate in shops if candidate.pk == chosen), shops[0])
    return DashboardAccess(shop=shop, embedded=False, actor=f"user:{request.user.pk}", shops=shops)


def shop_access(request: HttpRequest) -> DashboardAccess | HttpResponse:
    """The verified shop of this request, or the response that gets one (bounce or login)."""
    return _embedded_access(request) if _is_embedded(request) else _login_access(request)


def bounce_redirect(request: HttpRequest) -> HttpResponse:
    """Send a token-less embedded request to the bounce page, which comes back with a token."""
    shop = shop_domain_clean(request.GET.get("shop", ""))
    params = request.GET.copy()
    params.pop("id_token", None)
    reload = f"{settings.APP_URL}{request.path}?{params.urlencode()}"
    query = {"shop": shop, "host": request.GET.get("host", ""), "shopify-reload": reload}
    return HttpResponseRedirect(f"{reverse('dashboard:bounce')}?{urlencode(query)}")


#: Where the Shopify admin lives, and where App Bridge (the script embedded pages load) comes from.
SHOPIFY_ADMIN_ORIGIN = "https://admin.shopify.com"
APP_BRIDGE_ORIGIN = "https://cdn.shopify.com"


def _frameable_by(response: HttpResponse, *origins: str) -> None:
    """Replace the policy's ``frame-ancestors 'none'`` (settings) for this response, and drop
    X-Frame-Options, which would forbid the frame whatever the policy says; App Bridge may load."""
    response._csp_replace = {"frame-ancestors": list(origins)}  # type: ignore[attr-defined]  # read by CSPMiddleware
    response._csp_update = {"script-src": [APP_BRIDGE_ORIGIN], "connect-src": [APP_BRIDGE_ORIGIN]}  # type: ignore[attr-defined]
    response.xframe_options_exempt = True  # type: ignore[attr-defined]
    add_never_cache_headers(response)


def embedded_headers(response: HttpResponse, shop_domain: str) -> HttpResponse:
    """Only this shop's admin may frame the page (Shopify's iframe protection: the shop's domain
    and the admin's); tokens are short-lived, so no cache."""
    _frameable_by(response, f"https://{shop_domain}", SHOPIFY_ADMIN_ORIGIN)
    return response


def embedded_error_headers(response: HttpResponse) -> HttpResponse:
    """An error inside the admin's frame, before any shop is verified: the Shopify admin may show it
    (no shop's own domain: none is known)."""
    _frameable_by(response, SHOPIFY_ADMIN_ORIGIN)
    return response


def _activate_embedded_language(request: HttpRequest) -> None:
    """Inside the admin the language comes from Shopify's ``locale`` (no cookies in the iframe)."""
    locale = request.GET.get("locale", "")
    if not locale:
        return
    try:
        language = translation.get_supported_language_variant(locale.split("-")[0].lower())
    except LookupError:
        return
    translation.activate(language)
    request.LANGUAGE_CODE = language


def error_page(request: HttpRequest, error: ApplicationError) -> HttpResponse:
    response = render(request, "dashboard/error.html", {"message": error.message, "status": error.status},
                      status=error.status)
    return embedded_error_headers(response) if _is_embedded(request) else response


def dashboard_view(
    view: Callable[Concatenate[HttpRequest, DashboardAccess, P], HttpResponse],
) -> Callable[Concatenate[HttpRequest, P], HttpResponse]:
    """Resolve the shop before the view runs; the view receives it as ``access``."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: P.args, **kwargs: P.kwargs) -> HttpResponse:
        try:
            access = shop_access(request)
            if isinstance(access, HttpResponse):
                return access
            if access.embedded:
                _activate_embedded_language(request)
            response = view(request, access, *args, **kwargs)
        except ApplicationError as error:
            return error_page(request, error)
        if access.embedded:
            embedded_headers(response, access.shop.domain)
        else:
            add_never_cache_headers(response)
        return response

    return wrapper


def shop_choose(request: HttpRequest, shop_id: int) -> Shop:
    """A logged-in member switches shop; only shops they are a member of can be chosen."""
    shop = member_shops(user=request.user).filter(pk=shop_id).first()
    if shop is None:
        raise ApplicationError("not a member of that shop", status=403, code="forbidden")
    request.session[SESSION_SHOP_KEY] = shop.pk
    return shop


def bounce_allowed(*, shop: str, reload: str) -> str:
    """The shop domain when the bounce may go back to ``reload`` (our own dashboard only)."""
    domain = shop_domain_clean(shop)
    if not reload.startswith(f"{settings.APP_URL}/dashboard/"):
        raise ApplicationError("the page to reload is not a dashboard page", status=400)
    if not Shop.objects.filter(platform=Platform.SHOPIFY, domain=domain).exists():
        raise ApplicationError("the shop has not installed the app", status=401, code="unauthorized")
    return domain
