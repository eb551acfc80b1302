"""Our admin inside the Shopify admin (an embedded app): who the merchant is, and who may frame us.

Shopify loads the page with ``?shop=…&host=…&id_token=<session token>&locale=…`` (or a fetch sends
``Authorization: Bearer <token>``).  The token is verified here and alone names the shop; a shop
that has not installed the app yet (or uninstalled it) is installed right there by token exchange
(Shopify's managed install).  A page asked for without a token (every link between dashboard
pages, which carry only ``shop``/``host``/``locale``) gets Shopify's "bounce" page: App Bridge
fetches a fresh token and reloads the page with it.  A top-level visit with ``shop`` (outside the
admin's frame) goes into the admin when the shop is installed, else to the OAuth install.

The dashboard sees only :class:`integrations.platforms.EmbeddedAdmin`; this is Shopify's.
"""

from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.cache import add_never_cache_headers

from commerce.models import Platform, Shop
from integrations.platforms import EmbeddedSession
from integrations.shopify.domains import shop_domain_clean
from integrations.shopify.embedded import admin_host_handle, embedded_app_url
from integrations.shopify.oauth import session_token_shop, session_token_verify
from retention_app.errors import ApplicationError

#: Where the Shopify admin lives, and where App Bridge (the script embedded pages load) comes from.
SHOPIFY_ADMIN_ORIGIN = "https://admin.shopify.com"
APP_BRIDGE_ORIGIN = "https://cdn.shopify.com"
APP_BRIDGE_PATH = "/shopifycloud/app-bridge.js"


def session_token(request: HttpRequest) -> str:
    """The embedded admin's session token: ``?id_token=`` on a load, ``Authorization: Bearer`` on a fetch."""
    token = request.GET.get("id_token", "")
    if token:
        return token
    authorization = request.headers.get("Authorization", "")
    return authorization[7:].strip() if authorization[:7].lower() == "bearer " else ""


def app_bridge_url() -> str:
    """App Bridge from Shopify's CDN; in development the sandbox's stand-in (its emulated admin
    answers ``shopify.idToken()``), as the sandbox's origin stands in for the shop's."""
    origin = f"{settings.SHOPIFY_SANDBOX_URL}/cdn" if settings.SHOPIFY_SANDBOX_URL else APP_BRIDGE_ORIGIN
    return f"{origin}{APP_BRIDGE_PATH}"


def _sandbox_origin() -> list[str]:
    """The sandbox's emulated admin frames the app in development (its origin, no path)."""
    if not settings.SHOPIFY_SANDBOX_URL:
        return []
    parts = urlsplit(settings.SHOPIFY_SANDBOX_URL)
    return [f"{parts.scheme}://{parts.netloc}"]


def _top_level(request: HttpRequest) -> bool:
    """A document loaded in the browser's own window, not in the admin's iframe (Fetch Metadata)."""
    return request.headers.get("Sec-Fetch-Dest", "") == "document"


def bounce_redirect(request: HttpRequest) -> HttpResponse:
    """Send a token-less embedded request to the bounce page, which comes back with a token."""
    shop = shop_domain_clean(request.GET.get("shop", ""))
    params = request.GET.copy()
    params.pop("id_token", None)
    reload = f"{settings.APP_URL}{request.path}?{params.urlencode()}"
    query = {"shop": shop, "host": request.GET.get("host", ""), "shopify-reload": reload}
    if request.GET.get("locale"):
        query["locale"] = request.GET["locale"]
    return HttpResponseRedirect(f"{reverse('shopify-bounce')}?{urlencode(query)}")


def bounce_allowed(*, shop: str, reload: str) -> str:
    """The shop domain when the bounce may go back to ``reload`` (our own dashboard only).  The
    shop need not be installed yet: the token the bounce brings back installs it."""
    domain = shop_domain_clean(shop)
    if not reload.startswith(f"{settings.APP_URL}/dashboard/"):
        raise ApplicationError("the page to reload is not a dashboard page", status=400)
    return domain


def _without_token(request: HttpRequest) -> HttpResponse:
    """No session token yet: inside the admin's frame App Bridge gets one (bounce page); at the top
    level an installed shop is sent into its admin, any other shop to the OAuth install."""
    domain = shop_domain_clean(request.GET.get("shop", ""))
    if not _top_level(request):
        return bounce_redirect(request)
    if Shop.objects.filter(platform=Platform.SHOPIFY, domain=domain, status="installed").exists():
        return HttpResponseRedirect(embedded_app_url(shop_domain=domain, host=request.GET.get("host") or None))
    return HttpResponseRedirect(f"{reverse('shopify-install')}?{urlencode({'shop': domain})}")


def _frameable_by(response: HttpResponse, *origins: str) -> HttpResponse:
    """Replace the policy's ``frame-ancestors 'none'`` (settings) for this response, and drop
    X-Frame-Options, which would forbid the frame whatever the policy says; App Bridge may load."""
    bridge = [APP_BRIDGE_ORIGIN, *_sandbox_origin()]
    response._csp_replace = {"frame-ancestors": list(dict.fromkeys([*origins, *_sandbox_origin()]))}  # type: ignore[attr-defined]  # read by CSPMiddleware
    response._csp_update = {"script-src": bridge, "connect-src": bridge}  # type: ignore[attr-defined]
    response.xframe_options_exempt = True  # type: ignore[attr-defined]
    add_never_cache_headers(response)
    return response


class ShopifyEmbeddedAdmin:
    """``integrations.platforms.EmbeddedAdmin`` for the Shopify admin."""

    def recognises(self, request: HttpRequest) -> bool:
        return bool(request.GET.get("host") or request.GET.get("embedded") == "1" or session_token(request))

    def session(self, request: HttpRequest) -> EmbeddedSession | HttpResponse:
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
        return EmbeddedSession(shop=shop, actor=f"shopify-user:{user_id}", carried=carried)

    def proof(self, request: HttpRequest) -> dict[str, str]:
        """What a form or a preview frame carries to prove the merchant (the page's session token,
        which ``dashboard.js`` replaces with a fresh one from App Bridge before sending)."""
        token = session_token(request)
        return {"id_token": token} if token else {}

    def language(self, request: HttpRequest) -> str:
        return request.GET.get("locale", "")[:32]

    def frame_ancestors(self, shop_domain: str | None) -> list[str]:
        """Who may frame this shop's pages (Shopify's iframe protection): the shop's domain, the
        admin's, and in development the sandbox's emulated admin.  No shop yet (an error before
        one is verified): the admin's alone."""
        own = [f"https://{shop_domain}"] if shop_domain else []
        return [*own, SHOPIFY_ADMIN_ORIGIN, *_sandbox_origin()]

    def frame_headers(self, response: HttpResponse, shop_domain: str | None) -> HttpResponse:
        """Only this shop's admin may frame the page; tokens are short-lived, so no cache."""
        return _frameable_by(response, *self.frame_ancestors(shop_domain))

    def head(self) -> dict[str, str]:
        """What an embedded page's ``<head>`` loads: App Bridge and the app's key for it."""
        return {"meta_name": "shopify-api-key", "meta_content": settings.SHOPIFY_API_KEY,
                "script": app_bridge_url()}

    def app_url(self, *, shop_domain: str, context: str) -> str:
        """Back into the admin the merchant came from (``context`` is Shopify's ``host``), or ''
        when it names no Shopify admin."""
        if not context:
            return ""
        try:
            return embedded_app_url(shop_domain=shop_domain, host=context)
        except ApplicationError:
            return ""


EMBEDDED_ADMIN = ShopifyEmbeddedAdmin()
