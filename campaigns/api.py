"""The merchant's campaign API (embedded admin, session token)."""

from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from campaigns.services import attribution, flows
from retention_app.api import ShopScopedApi
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
        if key not in flows.PRESETS:
            raise ApplicationError("unknown flow", status=404)
        flow = flows.flow_enable(shop=self.shop, key=key, enabled=data.validated_data["enabled"])
        return Response({"flow": flow.key, "enabled": flow.is_enabled})
