"""The one place a dashboard request gets its shop; a merchant can never reach another shop.

Two ways in:

* Embedded in the Shopify admin: Shopify loads the page with ``?shop=…&host=…&id_token=<session
  token>&locale=…`` (or a fetch sends ``Authorization: Bearer <token>``).  The token is verified by
  the integration's session-token code and alone names the shop; a shop that has not installed the
  app yet (or uninstalled it) is installed right there by token exchange (Shopify's managed
  install).  A page asked for without a token (every link between dashboard pages, which carry
  only ``shop``/``host``/``locale``) gets Shopify's "bounce" page: App Bridge fetches a fresh token
  and reloads the page with it.  A top-level visit with ``shop`` (outside the admin's frame) goes
  into the admin when the shop is installed, else to the OAuth install.
  The admin's language (``locale``) is used and kept in the session.
* A Django login (WooCommerce and standalone stores, the demo): the user sees the shops they are a
  ``ShopMembership`` member of, one at a time (the chosen one is kept in the session).
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps
from typing import Any, Concatenate, ParamSpec
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.middleware.csrf import CsrfViewMiddleware
from django.shortcuts import render
from django.urls import reverse
from django.utils import translation
from django.utils.cache import add_never_cache_headers
from django.views.decorators.csrf import csrf_exempt

from commerce.models import Platform, Shop
from dashboard.selectors import member_shops
from integrations.shopify.domains import shop_domain_clean
from integrations.shopify.embedded import admin_host_handle, embedded_app_url
from integrations.shopify.oauth import session_token_shop, session_token_verify
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


def session_token(request: HttpRequest) -> str:
    """The embedded admin's session token: ``?id_token=`` on a load, ``Authorization: Bearer`` on a fetch."""
    token = request.GET.get("id_token", "")
    if token:
        return token
    authorization = request.headers.get("Authorization", "")
    return authorization[7:].strip() if authorization[:7].lower() == "bearer " else ""


def _is_embedded(request: HttpRequest) -> bool:
    return bool(request.GET.get("host") or request.GET.get("embedded") == "1" or session_token(request))


def _top_level(request: HttpRequest) -> bool:
    """A document loaded in the browser's own window, not in the admin's iframe (Fetch Metadata)."""
    return request.headers.get("Sec-Fetch-Dest", "") == "document"


def _without_token(request: HttpRequest) -> HttpResponse:
    """No session token yet: inside the admin's frame App Bridge gets one (bounce page); at the top
    level an installed shop is sent into its admin, any other shop to the OAuth install."""
    domain = shop_domain_clean(request.GET.get("shop", ""))
    if not _top_level(request):
        return bounce_redirect(request)
    if Shop.objects.filter(platform=Platform.SHOPIFY, domain=domain, status="installed").exists():
        return HttpResponseRedirect(embedded_app_url(shop_domain=domain, host=request.GET.get("host") or None))
    return HttpResponseRedirect(f"{reverse('shopify-install')}?{urlencode({'shop': domain})}")


def _embedded_access(request: HttpRequest) -> DashboardAccess | HttpResponse:
    claimed = request.GET.get("shop", "")
    host = request.GET.get("host", "")
    if host:
        admin_host_handle(host)  # as Shopify's libraries: an embedded load's host is a Shopify admin
    token = session_token(request)
    if not token:
        return _without_token(request)
    verified = session_token_verify(f"Bearer {token}")
    if claimed and shop_domain_clean(claimed) != verified.domain:
        raise ApplicationError("the session token is for another shop", status=401, code="unauthorized")
    shop, user_id = session_token_shop(f"Bearer {token}")
    carried = {"shop": shop.domain}
    for name in ("host", "locale"):
        if request.GET.get(name):
            carried[name] = request.GET[name]
    return DashboardAccess(shop=shop, embedded=True, actor=f"shopify-user:{user_id}", carried=carried)


def _member_shops(request: HttpRequest) -> tuple[Shop, ...]:
    shops = tuple(member_shops(user=request.user))
    if not shops:
        raise ApplicationError("this login is not a member of any shop", status=403, code="forbidden")
    return shops


def member_shop(request: HttpRequest, *, wanted: str = "") -> Shop:
    """A logged-in member's shop: the one named by domain (``wanted``), else the one chosen in the
    dashboard (session), else their first.  Never a shop they are not a member of."""
    return _chosen_shop(request, _member_shops(request), wanted=wanted)


def _chosen_shop(request: HttpRequest, shops: tuple[Shop, ...], *, wanted: str = "") -> Shop:
    if wanted:
        named = next((shop for shop in shops if shop.domain == wanted.strip().lower()), None)
        if named is None:
            raise ApplicationError("not a member of that shop", status=403, code="forbidden")
        return named
    chosen = request.session.get(SESSION_SHOP_KEY)
    return next((candidate for candidate in shops if candidate.pk == chosen), shops[0])


def _login_access(request: HttpRequest) -> DashboardAccess | HttpResponse:
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path(), settings.LOGIN_URL)
    shops = _member_shops(request)
    shop = _chosen_shop(request, shops)
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
    if request.GET.get("locale"):
        query["locale"] = request.GET["locale"]
    return HttpResponseRedirect(f"{reverse('dashboard:bounce')}?{urlencode(query)}")


#: Where the Shopify admin lives, and where App Bridge (the script embedded pages load) comes from.
SHOPIFY_ADMIN_ORIGIN = "https://admin.shopify.com"
APP_BRIDGE_ORIGIN = "https://cdn.shopify.com"
APP_BRIDGE_PATH = "/shopifycloud/app-bridge.js"


def app_bridge_url() -> str:
    """App Bridge from Shopify's CDN; in development the sandbox's stand-in (its emulated admin
    answers ``shopify.idToken()``), as the sandbox's origin stands in for the shop's."""
    return f"{_app_bridge_origin()}{APP_BRIDGE_PATH}"


def _app_bridge_origin() -> str:
    return f"{settings.SHOPIFY_SANDBOX_URL}/cdn" if settings.SHOPIFY_SANDBOX_URL else APP_BRIDGE_ORIGIN


def _sandbox_origin() -> list[str]:
    """The sandbox's emulated admin frames the app in development (its origin, no path)."""
    if not settings.SHOPIFY_SANDBOX_URL:
        return []
    parts = urlsplit(settings.SHOPIFY_SANDBOX_URL)
    return [f"{parts.scheme}://{parts.netloc}"]


def _frameable_by(response: HttpResponse, *origins: str) -> None:
    """Replace the policy's ``frame-ancestors 'none'`` (settings) for this response, and drop
    X-Frame-Options, which would forbid the frame whatever the policy says; App Bridge may load."""
    bridge = [APP_BRIDGE_ORIGIN, *_sandbox_origin()]
    response._csp_replace = {"frame-ancestors": list(dict.fromkeys([*origins, *_sandbox_origin()]))}  # type: ignore[attr-defined]  # read by CSPMiddleware
    response._csp_update = {"script-src": bridge, "connect-src": bridge}  # type: ignore[attr-defined]
    response.xframe_options_exempt = True  # type: ignore[attr-defined]
    add_never_cache_headers(response)


def embedded_frame_ancestors(shop_domain: str) -> list[str]:
    """Who may frame this shop's embedded pages (Shopify's iframe protection): the shop's domain,
    the admin's, and in development the sandbox's emulated admin."""
    return [f"https://{shop_domain}", SHOPIFY_ADMIN_ORIGIN, *_sandbox_origin()]


def embedded_headers(response: HttpResponse, shop_domain: str) -> HttpResponse:
    """Only this shop's admin may frame the page; tokens are short-lived, so no cache."""
    _frameable_by(response, *embedded_frame_ancestors(shop_domain))
    return response


def embedded_error_headers(response: HttpResponse) -> HttpResponse:
    """An error inside the admin's frame, before any shop is verified: the Shopify admin may show it
    (no shop's own domain: none is known)."""
    _frameable_by(response, SHOPIFY_ADMIN_ORIGIN)
    return response


SESSION_LANGUAGE_KEY = "dashboard_admin_language"


def _admin_language(locale: str) -> str:
    """The dashboard language for the admin's ``locale`` (``he``, ``fa-IR``, ``en-US``…): one of
    ours, anything else English."""
    try:
        return translation.get_supported_language_variant(locale.replace("_", "-").split("-")[0].lower())
    except LookupError:
        return settings.LANGUAGE_CODE.split("-")[0]


def admin_language_activate(request: HttpRequest) -> None:
    """Inside the admin the language comes from Shopify's ``locale`` (the links carry it too), kept
    in the session for a load that has none (cookies may not reach the iframe: the links matter)."""
    locale = request.GET.get("locale", "")[:32]
    if locale:
        language = _admin_language(locale)
        if request.session.get(SESSION_LANGUAGE_KEY) != language:
            request.session[SESSION_LANGUAGE_KEY] = language
    else:
        language = request.session.get(SESSION_LANGUAGE_KEY, "")
        if language not in dict(settings.LANGUAGES):
            return
    translation.activate(language)
    request.LANGUAGE_CODE = language


def error_page(request: HttpRequest, error: ApplicationError) -> HttpResponse:
    response = render(request, "dashboard/error.html", {"message": error.message, "status": error.status},
                      status=error.status)
    return embedded_error_headers(response) if _is_embedded(request) else response


def _csrf_checked(request: HttpRequest) -> None:
    """Forms posted with a login session need the CSRF token; an embedded post is authorised by its
    session token (sent by the page, never by the browser on its own), so it needs none."""
    if request.method in ("GET", "HEAD", "OPTIONS", "TRACE") or session_token(request):
        return
    middleware = CsrfViewMiddleware(lambda _request: HttpResponse())
    refused = middleware.process_view(request, lambda _request: HttpResponse(), (), {})
    if refused is not None:
        raise ApplicationError("the form expired: reload the page and try again", status=403, code="forbidden")


def form_action(request: HttpRequest, access: DashboardAccess, name: str, *args: Any) -> str:
    """A form's action: the embedded parameters come along, and the page's session token (which
    ``dashboard.js`` replaces with a fresh one from App Bridge before sending)."""
    token = request.GET.get("id_token", "")
    return access.url(name, *args, **({"id_token": token} if access.embedded and token else {}))


def saved_redirect(access: DashboardAccess, name: str, *args: Any, **params: Any) -> HttpResponse:
    """After a successful save: back to the page (a GET: reloading does not post twice), which
    says "Saved." (``?saved=1``)."""
    return HttpResponseRedirect(access.url(name, *args, saved="1", **params))


def dashboard_view(
    view: Callable[Concatenate[HttpRequest, DashboardAccess, P], HttpResponse],
) -> Callable[Concatenate[HttpRequest, P], HttpResponse]:
    """Resolve the shop before the view runs; the view receives it as ``access``.  A post is
    checked here: CSRF for a login session, the session token (verified as any) when embedded."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: P.args, **kwargs: P.kwargs) -> HttpResponse:
        try:
            if _is_embedded(request):
                admin_language_activate(request)  # the admin's language, for a refusal too
            access = shop_access(request)
            if isinstance(access, HttpResponse):
                return access
            _csrf_checked(request)
            response = view(request, access, *args, **kwargs)
        except ApplicationError as error:
            return error_page(request, error)
        if access.embedded:
            embedded_headers(response, access.shop.domain)
        else:
            add_never_cache_headers(response)
        return response

    return csrf_exempt(wrapper)  # checked above, after the shop: an embedded post carries no cookie


def shop_choose(request: HttpRequest, shop_id: int) -> Shop:
    """A logged-in member switches shop; only shops they are a member of can be chosen."""
    shop = member_shops(user=request.user).filter(pk=shop_id).first()
    if shop is None:
        raise ApplicationError("not a member of that shop", status=403, code="forbidden")
    request.session[SESSION_SHOP_KEY] = shop.pk
    return shop


def bounce_allowed(*, shop: str, reload: str) -> str:
    """The shop domain when the bounce may go back to ``reload`` (our own dashboard only).  The
    shop need not be installed yet: the token the bounce brings back installs it."""
    domain = shop_domain_clean(shop)
    if not reload.startswith(f"{settings.APP_URL}/dashboard/"):
        raise ApplicationError("the page to reload is not a dashboard page", status=400)
    return domain
