"""HTTP entry points of the integrations: thin, each calls one service."""

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from commerce.models import Platform, Shop
from integrations import selectors, services, webhooks
from integrations.platforms import adapter_for
from integrations.shopify import oauth
from integrations.shopify.embedded import embedded_app_url
from retention_app.api import ShopScopedApi
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


@csrf_exempt
@require_POST
def shopify_webhook(request: HttpRequest) -> HttpResponse:
    try:
        inbound = adapter_for(Platform.SHOPIFY).inbound_webhook(body=request.body, headers=dict(request.headers))
    except webhooks.WebhookUnauthorized as error:
        return JsonResponse({"error": str(error)}, status=401)
    except webhooks.WebhookRejected as error:
        return JsonResponse({"error": str(error)}, status=400)
    result = webhooks.webhook_receive(inbound=inbound)
    return JsonResponse({"delivery": result.delivery.pk, "duplicate": result.duplicate})


class ShopStatusApi(ShopScopedApi):
    class OutputSerializer(serializers.Serializer):
        domain = serializers.CharField()
        name = serializers.CharField()
        status = serializers.CharField()
        currency = serializers.CharField()
        timezone = serializers.CharField()
        locale = serializers.CharField()
        reauthorization_required = serializers.BooleanField()
        customers = serializers.IntegerField()
        orders = serializers.IntegerField()
        sync = serializers.DictField(allow_null=True)

    def get(self, request: Request) -> Response:
        return Response(self.OutputSerializer(selectors.shop_status(shop=self.shop)).data)


class DataExportListApi(ShopScopedApi):
    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        request_id = serializers.CharField()
        customer_platform_id = serializers.CharField()
        created_at = serializers.DateTimeField()

    class InputSerializer(serializers.Serializer):
        customer = serializers.CharField(max_length=320, help_text="the customer's email or id in the store")

    def get(self, request: Request) -> Response:
        exports = selectors.data_export_list(shop=self.shop)
        return Response(self.OutputSerializer(exports, many=True).data)

    def post(self, request: Request) -> Response:
        """The merchant's own request for a customer's data (the platform's arrive as webhooks)."""
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        export = services.data_export_request(shop=self.shop, customer=data.validated_data["customer"])
        return Response(self.OutputSerializer(export).data, status=201)


class DataExportDetailApi(ShopScopedApi):
    def get(self, request: Request, export_id: int) -> Response:
        export = selectors.data_export_get(shop=self.shop, export_id=export_id)
        if export is None:
            raise ApplicationError("not found", status=404)
        return Response(export.data)
