"""The one place a dashboard request gets its shop; a merchant can never reach another shop.

Two ways in:

* Inside a platform's admin (Shopify's embedded app): the platform's ``EmbeddedAdmin`` (from its
  registration in ``integrations.platforms``) verifies the merchant and says what every link must
  carry and who may frame the page; the admin's language is used and kept in the session.
* A Django login (WooCommerce, which signs the merchant in from its WordPress plugin, standalone
  stores, the demo): the user sees the shops they are a ``ShopMembership`` member of, one at a time
  (the chosen one is kept in the session).
"""

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps
from typing import Any, Concatenate, ParamSpec
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.middleware.csrf import CsrfViewMiddleware
from django.shortcuts import render
from django.urls import reverse
from django.utils import translation
from django.utils.cache import add_never_cache_headers
from django.utils.module_loading import import_string
from django.views.decorators.csrf import csrf_exempt

from commerce.models import Shop
from dashboard.selectors import member_shops
from integrations.platforms import EmbeddedAdmin, platforms_registered
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
    admin: EmbeddedAdmin | None = None  # the platform admin the page is embedded in

    def url(self, name: str, *args: Any, **params: Any) -> str:
        """A dashboard URL that keeps the embedded parameters (so the bounce repeats on arrival)."""
        query = {**self.carried, **{key: value for key, value in params.items() if value not in (None, "")}}
        path = reverse(name, args=args)
        return f"{path}?{urlencode(query)}" if query else path


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
    # A link naming a shop (``?shop=<domain>``, e.g. the demo's) opens that shop, when the login is
    # one of its members, and it stays chosen; any other shop is refused (403).
    wanted = request.GET.get("shop", "")[:255]
    shop = _chosen_shop(request, shops, wanted=wanted)
    if wanted and request.session.get(SESSION_SHOP_KEY) != shop.pk:
        request.session[SESSION_SHOP_KEY] = shop.pk
    return DashboardAccess(shop=shop, embedded=False, actor=f"user:{request.user.pk}", shops=shops)


@functools.cache
def _embedded_admins() -> tuple[EmbeddedAdmin, ...]:
    return tuple(import_string(registration.embedded_admin)
                 for registration in platforms_registered() if registration.embedded_admin)


def embedded_admin(request: HttpRequest) -> EmbeddedAdmin | None:
    """The platform admin this request comes from inside, if any."""
    return next((admin for admin in _embedded_admins() if admin.recognises(request)), None)


def _embedded_access(request: HttpRequest, admin: EmbeddedAdmin) -> DashboardAccess | HttpResponse:
    session = admin.session(request)
    if isinstance(session, HttpResponse):
        return session
    return DashboardAccess(shop=session.shop, embedded=True, actor=session.actor, carried=session.carried,
                           admin=admin)


def shop_access(request: HttpRequest) -> DashboardAccess | HttpResponse:
    """The verified shop of this request, or the response that gets one (bounce or login)."""
    admin = embedded_admin(request)
    return _embedded_access(request, admin) if admin is not None else _login_access(request)


def session_proof(request: HttpRequest, access: DashboardAccess) -> dict[str, str]:
    """What a form or a preview frame inside the platform's admin carries to prove the merchant."""
    return access.admin.proof(request) if access.admin is not None else {}


def embedded_frame_ancestors(access: DashboardAccess) -> list[str]:
    """Who may frame this shop's pages: its platform admin when embedded, else nobody else."""
    return access.admin.frame_ancestors(access.shop.domain) if access.admin is not None else []


SESSION_LANGUAGE_KEY = "dashboard_admin_language"


def _admin_language(locale: str) -> str:
    """The dashboard language for the admin's ``locale`` (``he``, ``fa-IR``, ``en-US``…): one of
    ours, anything else English."""
    try:
        return translation.get_supported_language_variant(locale.replace("_", "-").split("-")[0].lower())
    except LookupError:
        return settings.LANGUAGE_CODE.split("-")[0]


def admin_language_activate(request: HttpRequest, admin: EmbeddedAdmin) -> None:
    """Inside the admin the language comes from the admin (Shopify's ``locale``; the links carry it
    too), kept in the session for a load that has none (cookies may not reach the iframe)."""
    locale = admin.language(request)
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
    admin = embedded_admin(request)
    return admin.frame_headers(response, None) if admin is not None else response


def _csrf_checked(request: HttpRequest) -> None:
    """Forms posted with a login session need the CSRF token; an embedded post is authorised by its
    session token (sent by the page, never by the browser on its own), so it needs none."""
    admin = embedded_admin(request)
    if request.method in ("GET", "HEAD", "OPTIONS", "TRACE") or (admin is not None and admin.proof(request)):
        return
    middleware = CsrfViewMiddleware(lambda _request: HttpResponse())
    refused = middleware.process_view(request, lambda _request: HttpResponse(), (), {})
    if refused is not None:
        raise ApplicationError("the form expired: reload the page and try again", status=403, code="forbidden")


def form_action(request: HttpRequest, access: DashboardAccess, name: str, *args: Any) -> str:
    """A form's action: the embedded parameters come along, and the page's proof of the merchant
    (Shopify's session token, which ``dashboard.js`` replaces with a fresh one before sending)."""
    return access.url(name, *args, **session_proof(request, access))


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
            admin = embedded_admin(request)
            if admin is not None:
                admin_language_activate(request, admin)  # the admin's language, for a refusal too
            access = shop_access(request)
            if isinstance(access, HttpResponse):
                return access
            _csrf_checked(request)
            response = view(request, access, *args, **kwargs)
        except ApplicationError as error:
            return error_page(request, error)
        if access.admin is not None:
            access.admin.frame_headers(response, access.shop.domain)
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
