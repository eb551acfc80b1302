"""The merchant's campaign API (embedded admin, session token)."""

from django.utils import timezone
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from campaigns import selectors
from campaigns.models import Channel, Flow, FlowStep, StepAction
from campaigns.services import attribution, consent, flows, holidays
from commerce.models import ConsentSource
from retention_app.api import ShopperApi, ShopScopedApi
from retention_app.errors import ApplicationError


class StepOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = FlowStep
        fields = ["position", "delay_minutes", "action", "template", "is_marketing", "conditions", "config"]


def _flow_out(flow: Flow) -> dict:
    return {"flow": flow.key, "name": flow.name, "trigger": flow.trigger, "enabled": flow.is_enabled,
            "version": flow.version, "settings": flow.settings,
            "steps": StepOutputSerializer(getattr(flow, "current_steps", []), many=True).data}


class FlowListApi(ShopScopedApi):
    """Every flow with its current version and steps, and what it returned: sent, skipped,
    orders, revenue, discount cost."""

    def get(self, request: Request) -> Response:
        current = {flow.key: flow for flow in selectors.flow_list(shop=self.shop)}
        rows = attribution.flow_stats(shop=self.shop)
        for row in rows:
            row.update({name: value for name, value in _flow_out(current[row["flow"]]).items() if name not in row})
        return Response(rows)

    class CreateInputSerializer(serializers.Serializer):
        trigger = serializers.CharField(max_length=60)
        name = serializers.CharField(max_length=200)

    def post(self, request: Request) -> Response:
        """A new flow on a store event (``flows.EVENT_TRIGGERS``), switched off, with one step."""
        data = self.CreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        flow = flows.flow_create(shop=self.shop, trigger=data.validated_data["trigger"],
                                 name=data.validated_data["name"])
        return Response(_flow_out(selectors.flow_list(shop=self.shop, key=flow.key)[0]), status=201)


class StepInputSerializer(serializers.Serializer):
    delay_minutes = serializers.IntegerField(min_value=0, default=0)
    action = serializers.ChoiceField(choices=StepAction.choices, default=StepAction.SEND_EMAIL)
    template = serializers.CharField(max_length=60)
    is_marketing = serializers.BooleanField(default=True)
    conditions = serializers.DictField(default=dict)
    config = serializers.DictField(default=dict)


class FlowDetailApi(ShopScopedApi):
    """One flow; PUT edits it as a new version (enrolments made before keep their steps)."""

    class InputSerializer(serializers.Serializer):
        settings = serializers.DictField(required=False)
        steps = StepInputSerializer(many=True, required=False, allow_empty=False)

        def validate(self, attrs: dict) -> dict:
            if "settings" not in attrs and "steps" not in attrs:
                raise serializers.ValidationError("give settings or steps")
            return attrs

    def get(self, request: Request, key: str) -> Response:
        found = selectors.flow_list(shop=self.shop, key=key)
        if not found:
            raise ApplicationError("unknown flow", status=404, code="not_found")
        return Response(_flow_out(found[0]))

    def put(self, request: Request, key: str) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        steps = data.validated_data.get("steps")
        flow = flows.flow_edit(shop=self.shop, key=key, settings=data.validated_data.get("settings"),
                               steps=[dict(step) for step in steps] if steps is not None else None)
        return Response(_flow_out(selectors.flow_list(shop=self.shop, key=flow.key)[0]))


class FlowPreviewApi(ShopScopedApi):
    """Each step as one customer would get it now, and what the engine would decide; sends nothing."""

    class InputSerializer(serializers.Serializer):
        customer_id = serializers.IntegerField(min_value=1)

    def get(self, request: Request, key: str) -> Response:
        data = self.InputSerializer(data=request.query_params)
        data.is_valid(raise_exception=True)
        customer = selectors.shop_customer(shop=self.shop, customer_id=data.validated_data["customer_id"])
        if customer is None:
            raise ApplicationError("customer not found", status=404, code="not_found")
        steps = flows.flow_preview(shop=self.shop, key=key, customer=customer)
        flow = selectors.flow_list(shop=self.shop, key=key)[0]
        return Response({"flow": flow.key, "version": flow.version, "enabled": flow.is_enabled,
                         "customer_id": customer.pk, "steps": steps})


class FlowApplyHistoryApi(ShopScopedApi):
    """Replay the last days' store events into the flow (at most 90 days); returns how many enrolled."""

    class InputSerializer(serializers.Serializer):
        days = serializers.IntegerField(min_value=1)

    def post(self, request: Request, key: str) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        days = data.validated_data["days"]
        enrolled = flows.flow_apply_history(shop=self.shop, key=key, days=days)
        return Response({"flow": key, "days": min(days, flows.HISTORY_MAX_DAYS), "enrolled": enrolled})


class HolidayCalendarApi(ShopScopedApi):
    """A calendar's occasions to choose from (which are in the default set and which the shop
    chose, with day offset and hour) and the year's greetings of the shop's choice."""

    class InputSerializer(serializers.Serializer):
        calendar = serializers.CharField(max_length=10)
        year = serializers.IntegerField(min_value=1900, max_value=2100, required=False)
        language = serializers.ChoiceField(choices=["en", "he", "fa"], default="en")

    def get(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.query_params)
        data.is_valid(raise_exception=True)
        found = selectors.flow_list(shop=self.shop, key="holiday_greetings")
        chosen_by_calendar = (found[0].settings.get("occasions") or {}) if found else {}
        code = holidays.calendar_code(data.validated_data["calendar"])
        return Response(holidays.calendar_overview(
            calendar=data.validated_data["calendar"], year=data.validated_data.get("year") or timezone.now().year,
            language=data.validated_data["language"], chosen=chosen_by_calendar.get(code)))


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
        starts_at = serializers.DateTimeField(required=False)  # when the early access opens

    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        enrolled = flows.vip_early_access_launch(shop=self.shop, tiers=data.validated_data["tiers"],
                                                 launch=data.validated_data["launch"],
                                                 starts_at=data.validated_data.get("starts_at"))
        return Response({"enrolled": enrolled}, status=201)


class CustomerConsentApi(ShopScopedApi):
    """A shopper's marketing consent: the current state per channel and every change (the
    ledger, newest first).  POST records the merchant's change (a shopper who asked by phone or
    in the shop), effective at once and written back to the store."""

    class InputSerializer(serializers.Serializer):
        channel = serializers.ChoiceField(choices=Channel.choices)
        subscribed = serializers.BooleanField()

    def _out(self, customer_id: int) -> dict:
        customer = selectors.shop_customer(shop=self.shop, customer_id=customer_id)
        if customer is None:
            raise ApplicationError("customer not found", status=404, code="not_found")
        return {"customer_id": customer.pk, "email": customer.email_consent, "sms": customer.sms_consent,
                "changes": [{"channel": change.channel, "state": change.state, "source": change.source,
                             "at": change.at.isoformat(), "written_to_store": change.platform_synced_at is not None}
                            for change in selectors.consent_history(customer=customer)]}

    def get(self, request: Request, customer_id: int) -> Response:
        return Response(self._out(customer_id))

    def post(self, request: Request, customer_id: int) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        customer = selectors.shop_customer(shop=self.shop, customer_id=customer_id)
        if customer is None:
            raise ApplicationError("customer not found", status=404, code="not_found")
        consent.consent_change(customer=customer, channel=data.validated_data["channel"],
                               subscribed=data.validated_data["subscribed"], source=ConsentSource.MERCHANT)
        return Response(self._out(customer_id))
