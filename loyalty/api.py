"""The shopper widget API, reached through the Shopify app proxy (``/apps/comeback/*``)."""

from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from loyalty import selectors
from loyalty.models import Reward
from loyalty.services import ledger, redemption
from retention_app.api import ShopperApi
from retention_app.errors import ApplicationError


class ProxyLoyaltyApi(ShopperApi):
    def get(self, request: Request) -> Response:
        account = selectors.shopper_account(shop=self.shop, customer_platform_id=self.customer_platform_id)
        return Response(selectors.widget_state(shop=self.shop, account=account))


class ProxyRedeemApi(ShopperApi):
    class InputSerializer(serializers.Serializer):
        reward_id = serializers.IntegerField()

    class OutputSerializer(serializers.Serializer):
        code = serializers.CharField()
        status = serializers.CharField()
        points = serializers.IntegerField()
        expires_at = serializers.DateTimeField()

    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        account = selectors.shopper_account(shop=self.shop, customer_platform_id=self.customer_platform_id)
        if account is None:
            raise ApplicationError("log in to redeem points", status=403)
        reward = Reward.objects.filter(shop=self.shop, pk=data.validated_data["reward_id"]).first()
        if reward is None:
            raise ApplicationError("this reward is not available", status=404)
        made = redemption.reward_redeem(account=account, reward=reward)
        return Response(self.OutputSerializer(made).data, status=201)


__all__ = ["ProxyLoyaltyApi", "ProxyRedeemApi", "ledger"]
