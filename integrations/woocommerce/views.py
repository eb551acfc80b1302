"""WooCommerce's own pages and endpoints, mounted at ``/woocommerce/``: the connect flow, and
what the WordPress plugin calls (claim, admin link, privacy tools).  Thin: each calls one service."""

import hashlib
import json
from typing import Any

from django.conf import settings
from django.contrib.auth import login
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from commerce.models import Shop
from integrations.woocommerce import connection, privacy
from integrations.woocommerce.auth import plugin_request_verify
from retention_app.errors import ApplicationError

#: The dashboard keeps the shop a logged-in member looks at under this session key.
DASHBOARD_SHOP_SESSION_KEY = "dashboard_shop_id"
LOGIN_BACKEND = "django.contrib.auth.backends.ModelBackend"


def _error_page(request: HttpRequest, error: ApplicationError) -> HttpResponse:
    return render(request, "integrations/error.html", {"message": error.message}, status=error.status)


def _json_error(error: ApplicationError) -> JsonResponse:
    return JsonResponse({"error": error.message, "code": error.code}, status=error.status)


def _session_key(request: HttpRequest) -> str:
    if not request.session.session_key:
        request.session.save()
    return request.session.session_key or ""


def _dashboard_login(request: HttpRequest, *, user: Any, shop: Shop) -> HttpResponse:
    login(request, user, backend=LOGIN_BACKEND)
    request.session[DASHBOARD_SHOP_SESSION_KEY] = shop.pk
    return HttpResponseRedirect("/dashboard/")


@require_GET
@never_cache
def woocommerce_connect(request: HttpRequest) -> HttpResponse:
    """With ``store_url``: off to the store's wc-auth page.  Without: the form that asks for it."""
    store_url = request.GET.get("store_url", "")
    if not store_url:
        return render(request, "woocommerce/connect.html", {"store_url": ""})
    try:
        started = connection.connect_start(store_url=store_url, return_url=request.GET.get("return_url", ""),
                                           session_key=_session_key(request), user=request.user)
    except ApplicationError as error:
        if error.code == "invalid_store_url":
            return render(request, "woocommerce/connect.html", {"store_url": store_url[:255], "error": error.message},
                          status=error.status)
        return _error_page(request, error)
    return HttpResponseRedirect(started.authorize_url)


@csrf_exempt
@require_POST
def woocommerce_callback(request: HttpRequest) -> HttpResponse:
    """WooCommerce's key POST: exactly 200 keeps the key; anything else makes WooCommerce delete it."""
    try:
        connection.connect_callback(body=request.body)
    except ApplicationError as error:
        return _json_error(error)
    return JsonResponse({"connected": True}, status=200)


@require_GET
@never_cache
def woocommerce_connected(request: HttpRequest) -> HttpResponse:
    state = request.GET.get("state") or request.GET.get("user_id") or ""
    try:
        result = connection.connect_return(state=state, success=request.GET.get("success", ""),
                                           session_key=request.session.session_key or "")
    except ApplicationError as error:
        if error.code == "state_used" and request.user.is_authenticated:  # a reload after landing
            return HttpResponseRedirect("/dashboard/")
        return _error_page(request, error)
    if result.redirect_url:
        return HttpResponseRedirect(result.redirect_url)
    return _dashboard_login(request, user=result.owner, shop=result.shop)


def _json_body(request: HttpRequest) -> dict[str, Any]:
    try:
        payload = json.loads(request.body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as error:  # RecursionError: nested thousands deep
        raise ApplicationError("the body must be a JSON object", status=400, code="invalid_payload") from error
    if not isinstance(payload, dict):
        raise ApplicationError("the body must be a JSON object", status=400, code="invalid_payload")
    return payload


@csrf_exempt
@require_POST
def plugin_claim(request: HttpRequest) -> HttpResponse:
    """The plugin's server trades the single-use code for the shop's plugin secret."""
    try:
        payload = _json_body(request)
        claim = connection.plugin_claim(code=payload.get("code"), store_url=payload.get("store_url"))  # type: ignore[arg-type]
    except ApplicationError as error:
        return _json_error(error)
    response = JsonResponse({
        "shop": claim.shop_domain,
        "secret": claim.secret,
        "app_url": settings.APP_URL,
        "widget_script": f"{settings.APP_URL}/storefront/comeback-widget.js",
        "widget_style": f"{settings.APP_URL}/storefront/comeback-widget.css",
    })
    response["Cache-Control"] = "no-store"
    return response


@require_GET
@never_cache
def plugin_admin(request: HttpRequest) -> HttpResponse:
    """The plugin's "Comeback" menu: a signed link (60 seconds, single use) that logs the store's
    administrator into the shop's dashboard; no second password."""
    params = dict(request.GET.lists())
    try:
        shop = plugin_request_verify(params, max_age=settings.WOOCOMMERCE_ADMIN_LINK_MAX_AGE_SECONDS,
                                     once=("shop", "user", "email", "timestamp", "signature"))
        wordpress_user = (params.get("user") or [""])[0]
        if not (wordpress_user.isascii() and wordpress_user.isdigit() and wordpress_user != "0"):
            raise ApplicationError("user must be a WordPress user id", status=400, code="invalid_user")
        signature = (params.get("signature") or [""])[0].lower()
        used_for = settings.WOOCOMMERCE_ADMIN_LINK_MAX_AGE_SECONDS * 2 + 10
        if not cache.add(f"woocommerce-admin-link:{hashlib.sha256(signature.encode()).hexdigest()}", 1, used_for):
            raise ApplicationError("this link was used already: open Comeback from WordPress again", status=401,
                                   code="unauthorized")
        user = connection.admin_user_for(shop=shop, wordpress_user_id=wordpress_user,
                                         email=(params.get("email") or [""])[0])
    except ApplicationError as error:
        return _error_page(request, error)
    return _dashboard_login(request, user=user, shop=shop)


@csrf_exempt
@require_POST
def plugin_disconnect(request: HttpRequest) -> HttpResponse:
    """The plugin's "Disconnect" (signed like the privacy requests); ``{"erase": true}`` when the
    merchant also wants the store's data deleted."""
    try:
        shop = _privacy_shop(request)
        erase = _json_body(request).get("erase") is True
        erased = connection.shop_disconnect(shop=shop, erase=erase)
    except ApplicationError as error:
        return _json_error(error)
    return JsonResponse({"disconnected": True, "erased": erased})


def _email(request: HttpRequest) -> str:
    email = _json_body(request).get("email")
    return email if isinstance(email, str) else ""


def _privacy_shop(request: HttpRequest) -> Shop:
    """A privacy request signed by the plugin: the query, plus the body's sha256 as ``body_sha256``."""
    params = dict(request.GET.lists())
    received = params.get("body_sha256") or []
    actual = hashlib.sha256(request.body).hexdigest()
    if len(received) > 1 or (received and received[0].lower() != actual):
        raise ApplicationError("body_sha256 does not match the body", status=401, code="unauthorized")
    params["body_sha256"] = [received[0] if received else actual]
    return plugin_request_verify(params, max_age=settings.STOREFRONT_PROXY_MAX_AGE_SECONDS)


@csrf_exempt
@require_POST
def privacy_export(request: HttpRequest) -> HttpResponse:
    try:
        shop = _privacy_shop(request)
        data = privacy.privacy_export(shop=shop, email=_email(request))
    except ApplicationError as error:
        return _json_error(error)
    return JsonResponse(data)


@csrf_exempt
@require_POST
def privacy_erase(request: HttpRequest) -> HttpResponse:
    try:
        shop = _privacy_shop(request)
        data = privacy.privacy_erase(shop=shop, email=_email(request))
    except ApplicationError as error:
        return _json_error(error)
    return JsonResponse(data)
