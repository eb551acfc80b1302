"""The merchant's campaign API (embedded admin, session token)."""

from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from campaigns import selectors
from campaigns.services import attribution, flows
from retention_app.api import ShopperApi, ShopScopedApi
from retention_app.errors import ApplicationError


class FlowListApi(ShopScopedApi):
    """Every flow with what it returned: sent, skipped, orders, revenue, discount cost."""

    def get(self, request: Request) -> Response:
        flows.flows_for(shop=self.shop)
        return Response(attribution.flow_stats(shop=self.shop))


class FlowEnableApi(ShopScopedApi):
    class InputSerializer(serializers.Serializer):
        enabled = serializers.BooleanField()

    def post(self, request: Request, key: str) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        flow = flows.flow_enable(shop=self.shop, key=key, enabled=data.validated_data["enabled"])
        return Response({"flow": flow.key, "enabled": flow.is_enabled})


class ProxyUpsellApi(ShopperApi):
    """The thank-you page asks, through the app proxy, what to offer the shopper who just paid."""

    def get(self, request: Request) -> Response:
        order = selectors.shopper_order(shop=self.shop, platform_id=request.query_params.get("order", ""),
                                        customer_platform_id=self.customer_platform_id)
        if order is None:
            raise ApplicationError("order not found", status=404, code="not_found")
        return Response({"order": order.platform_id, "offers": [
            {"product_platform_id": v.product.platform_id, "variant_platform_id": v.platform_id,
             "title": v.product.title, "price": str(v.price), "currency": v.currency}
            for v in selectors.co_purchased(order=order)
        ]})


class VipEarlyAccessApi(ShopScopedApi):
    class InputSerializer(serializers.Serializer):
        tiers = serializers.ListField(child=serializers.CharField(max_length=100), min_length=1)
        launch = serializers.CharField(max_length=120)

    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        enrolled = flows.vip_early_access_launch(shop=self.shop, tiers=data.validated_data["tiers"],
                                                 launch=data.validated_data["launch"])
        return Response({"enrolled": enrolled}, status=201)
