"""Shopify's own pages: the install (OAuth) and its callback.  Mounted at ``/shopify/``."""

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils import translation
from django.views.decorators.http import require_GET

from commerce.models import Platform, Shop
from integrations import selectors
from integrations.shopify import admin_session, oauth
from integrations.shopify.embedded import embedded_app_url
from retention_app.errors import ApplicationError


def _error_page(request: HttpRequest, error: ApplicationError) -> HttpResponse:
    return render(request, "integrations/error.html", {"message": error.message}, status=error.status)


@require_GET
def shopify_install(request: HttpRequest) -> HttpResponse:
    try:
        return HttpResponseRedirect(oauth.install_url(shop_domain=request.GET.get("shop", "")))
    except ApplicationError as error:
        return _error_page(request, error)


@require_GET
def shopify_callback(request: HttpRequest) -> HttpResponse:
    """After the install, back into the Shopify admin where the app opens embedded (the admin
    named by the callback's ``host``, checked to be a Shopify admin), not a page of its own."""
    try:
        shop = oauth.callback_complete(params=request.GET.dict())
    except ApplicationError as error:
        return _error_page(request, error)
    try:
        return HttpResponseRedirect(embedded_app_url(shop_domain=shop.domain, host=request.GET.get("host") or None))
    except ApplicationError:  # a host that is no Shopify admin (the hmac covers it: unlikely)
        return HttpResponseRedirect(embedded_app_url(shop_domain=shop.domain))


@require_GET
def shopify_installed(request: HttpRequest) -> HttpResponse:
    shop = Shop.objects.filter(platform=Platform.SHOPIFY, domain=request.GET.get("shop", "")).first()
    if shop is None:
        return _error_page(request, ApplicationError("unknown shop", status=404))
    return render(request, "integrations/installed.html", {"shop": shop, "sync": selectors.sync_latest(shop=shop)})


@require_GET
def bounce(request: HttpRequest) -> HttpResponse:
    """Shopify's session-token bounce: App Bridge reloads ``shopify-reload`` with a fresh ``id_token``."""
    try:
        domain = admin_session.bounce_allowed(shop=request.GET.get("shop", ""),
                                              reload=request.GET.get("shopify-reload", ""))
    except ApplicationError as error:
        return admin_session.EMBEDDED_ADMIN.frame_headers(_error_page(request, error), None)
    locale = admin_session.EMBEDDED_ADMIN.language(request)
    if locale:
        with translation.override(locale.replace("_", "-").split("-")[0].lower()):
            response = render(request, "integrations/bounce.html", {"head": admin_session.EMBEDDED_ADMIN.head()})
    else:
        response = render(request, "integrations/bounce.html", {"head": admin_session.EMBEDDED_ADMIN.head()})
    return admin_session.EMBEDDED_ADMIN.frame_headers(response, domain)
