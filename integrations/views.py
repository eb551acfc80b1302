"""HTTP entry points of the integrations: thin, each calls one service."""

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from integrations import selectors, services, webhooks
from integrations.platforms import adapter_for
from retention_app.api import ShopScopedApi
from retention_app.errors import ApplicationError


@csrf_exempt
@require_POST
def platform_webhook(request: HttpRequest, platform: str) -> HttpResponse:
    """``POST /webhooks/<platform>``: the platform's adapter verifies and describes the delivery,
    the inbox stores it once.  401 for a bad signature (nothing stored), 400 for a signed request
    we cannot keep, 200 for a genuine ping that carries nothing."""
    try:
        adapter = adapter_for(platform)
    except LookupError:
        return JsonResponse({"error": "unknown platform"}, status=404)
    try:
        inbound = adapter.inbound_webhook(body=request.body, headers=dict(request.headers))
    except webhooks.WebhookUnauthorized as error:
        return JsonResponse({"error": str(error)}, status=401)
    except webhooks.WebhookRejected as error:
        return JsonResponse({"error": str(error)}, status=400)
    except webhooks.WebhookAcknowledged as acknowledged:
        return JsonResponse({"acknowledged": str(acknowledged)})
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
