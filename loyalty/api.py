"""The shopper widget API, reached through the Shopify app proxy (``/apps/comeback/*``)."""

from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from integrations.platforms import adapter_for
from loyalty import selectors
from loyalty.models import Account, Reward
from loyalty.services import accounts, actions, ledger, redemption, referrals
from retention_app.api import ShopperApi, shopper_ip
from retention_app.errors import ApplicationError
from retention_app.throttles import SHOPPER_THROTTLES


class ProxyLoyaltyApi(ShopperApi):
    """``GET``: what the widget shows, writing nothing; a logged-in shopper whose account is not
    open yet (or not yet placed in a tier) reads ``member: false`` and the widget then ``POST``s
    here once to open and place it, getting the same state back."""

    def get(self, request: Request) -> Response:
        account, state = selectors.shopper_widget_state(shop=self.shop, customer_platform_id=self.customer_platform_id,
                                                        language=self._language())
        return Response(self._finish(account, state))

    def post(self, request: Request) -> Response:
        account = accounts.shopper_account_open(shop=self.shop, customer_platform_id=self.customer_platform_id)
        if account is None:
            raise ApplicationError("log in to join the program", status=403, code="login_required")
        state = selectors.widget_state(shop=self.shop, account=account, language=self._language())
        return Response(self._finish(account, state))

    def _language(self) -> str:
        # ``?locale=`` (the widget's language; covered by the proxy's signature), else the shop's
        return selectors.widget_language(self.request.query_params.get("locale") or self.shop.locale)

    def _finish(self, account: Account | None, state: dict) -> dict:
        state["logged_in"] = bool(self.customer_platform_id)
        state["member"] = account is not None and (account.tier_id is not None or not state["tiers"])
        return state


class ProxyRedeemApi(ShopperApi):
    throttle_classes = SHOPPER_THROTTLES
    throttle_scope = "redeem"

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
        account = accounts.shopper_account_open(shop=self.shop, customer_platform_id=self.customer_platform_id)
        if account is None:
            raise ApplicationError("log in to redeem points", status=403, code="login_required")
        reward = Reward.objects.filter(shop=self.shop, pk=data.validated_data["reward_id"]).first()
        if reward is None:
            raise ApplicationError("this reward is not available", status=404, code="reward_unavailable")
        made = redemption.reward_redeem(account=account, reward=reward)
        balance = ledger.account_balance(account=account)
        return Response({**self.OutputSerializer(made).data,
                         "balance": {"available": balance.available, "pending": balance.pending}}, status=201)


class ProxySocialApi(ShopperApi):
    throttle_classes = SHOPPER_THROTTLES
    throttle_scope = "social"

    class InputSerializer(serializers.Serializer):
        action = serializers.ChoiceField(choices=["follow", "share"])
        network = serializers.CharField(max_length=30)

    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        account = accounts.shopper_account_open(shop=self.shop, customer_platform_id=self.customer_platform_id)
        if account is None:
            raise ApplicationError("log in to earn points", status=403, code="login_required")
        entry = actions.social_action(account=account, action=data.validated_data["action"],
                                      network=data.validated_data["network"])
        return Response({"points": entry.points if entry else 0, "already_earned": entry is None})


class ProxyReferralOfferApi(ShopperApi):
    """``GET …/referrals/offer?code=CODE``: what the friend who opened a referral link is offered."""

    throttle_classes = SHOPPER_THROTTLES
    throttle_scope = "referral_lookup"

    class InputSerializer(serializers.Serializer):
        code = serializers.CharField(max_length=32)

    class OutputSerializer(serializers.Serializer):
        code = serializers.CharField()
        referrer_first_name = serializers.CharField(allow_blank=True)
        discount_percent = serializers.IntegerField()
        own_link = serializers.BooleanField()
        email_required = serializers.BooleanField()

    def get(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.query_params)
        data.is_valid(raise_exception=True)
        offer = selectors.referral_offer(shop=self.shop, code=data.validated_data["code"],
                                         customer_platform_id=self.customer_platform_id)
        if offer is None:
            raise ApplicationError("unknown referral code", status=404, code="referral_unknown")
        return Response({**self.OutputSerializer(offer).data, "logged_in": bool(self.customer_platform_id)})


class ProxyFriendCodeApi(ShopperApi):
    """``GET …/referrals/code?code=FRIEND-…``: whether the friend's code still waits for its order."""

    throttle_classes = SHOPPER_THROTTLES
    throttle_scope = "referral_lookup"

    class InputSerializer(serializers.Serializer):
        code = serializers.CharField(max_length=64)

    def get(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.query_params)
        data.is_valid(raise_exception=True)
        return Response({"usable": selectors.friend_code_usable(shop=self.shop, code=data.validated_data["code"])})


class ProxyReferralClaimApi(ShopperApi):
    """``POST …/referrals``: the friend (logged in, or giving an email) gets a first-order code."""

    throttle_classes = SHOPPER_THROTTLES
    throttle_scope = "referral_claim"

    class InputSerializer(serializers.Serializer):
        code = serializers.CharField(max_length=32)
        email = serializers.EmailField(required=False, allow_blank=True, default="")

    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        referral = referrals.referral_start(shop=self.shop, code=data.validated_data["code"],
                                            friend_email=data.validated_data["email"],
                                            customer_platform_id=self.customer_platform_id, ip=shopper_ip(request))
        if referral.status == "rejected":
            # The shopper sees a plain answer; the reasons are for the merchant's eyes.
            raise ApplicationError("this referral cannot be used", status=422, code="referral_refused")
        if not referral.friend_code:  # held for review, or the store did not answer (the claim can be retried)
            return Response({"status": referral.status, "code": None}, status=201)
        return Response({"status": referral.status, "code": referral.friend_code,
                         "apply_link": adapter_for(self.shop.platform).discount_apply_link(
                             shop=self.shop, code=referral.friend_code),
                         "expires_at": referrals.friend_code_expires_at(referral=referral).isoformat()}, status=201)
