"""The merchant's segment API (embedded admin, session token)."""

from decimal import Decimal
from typing import Any

from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from retention_app.api import ShopScopedApi
from segments import selectors, services


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    """Amounts as exact text, not the float the JSON renderer would make of them."""
    return {key: str(value) if isinstance(value, Decimal) else value for key, value in row.items()}


class SegmentListApi(ShopScopedApi):
    """``GET``: every segment with its member count; ``POST``: a merchant segment from conditions."""

    class InputSerializer(serializers.Serializer):
        key = serializers.SlugField(max_length=50)
        name = serializers.CharField(max_length=120)
        conditions = serializers.JSONField()

    def get(self, request: Request) -> Response:
        settings = selectors.segment_settings_get(shop=self.shop)
        return Response({"segments": selectors.segment_list(shop=self.shop),
                         "settings": {"churn_days": settings.churn_days, "recomputed_at": settings.recomputed_at}})

    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        segment = services.segment_create(shop=self.shop, key=data.validated_data["key"].lower(),
                                          name=data.validated_data["name"],
                                          conditions=data.validated_data["conditions"])
        count = next(row["count"] for row in selectors.segment_counts(shop=self.shop) if row["key"] == segment.key)
        return Response({"id": segment.pk, "key": segment.key, "name": segment.name, "kind": segment.kind,
                         "conditions": segment.conditions, "count": count}, status=201)


class SegmentPreviewApi(ShopScopedApi):
    """``POST {"conditions": …}``: how many customers a segment with these conditions would hold
    now (the builder's live count), validated as a create is; nothing is saved."""

    class InputSerializer(serializers.Serializer):
        conditions = serializers.JSONField()
        key = serializers.CharField(max_length=50, required=False, allow_blank=True, default="")

    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        count = selectors.segment_preview_count(shop=self.shop, conditions=data.validated_data["conditions"],
                                                key=data.validated_data["key"].lower())
        return Response({"count": count})


class SegmentDetailApi(ShopScopedApi):
    """``PATCH {"name", "conditions"}``: change one of the shop's merchant segments (its key
    stays); ``DELETE``: delete one (predefined ones cannot be changed or deleted)."""

    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=120)
        conditions = serializers.JSONField()

    def patch(self, request: Request, key: str) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        segment = services.segment_update(shop=self.shop, key=key, name=data.validated_data["name"],
                                          conditions=data.validated_data["conditions"])
        count = next(row["count"] for row in selectors.segment_counts(shop=self.shop) if row["key"] == segment.key)
        return Response({"id": segment.pk, "key": segment.key, "name": segment.name, "kind": segment.kind,
                         "conditions": segment.conditions, "count": count})

    def delete(self, request: Request, key: str) -> Response:
        services.segment_delete(shop=self.shop, key=key)
        return Response(status=204)


class SegmentSettingsApi(ShopScopedApi):
    class InputSerializer(serializers.Serializer):
        churn_days = serializers.IntegerField()

    def patch(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        settings = services.settings_update(shop=self.shop, churn_days=data.validated_data["churn_days"])
        return Response({"churn_days": settings.churn_days})


class SegmentCustomersApi(ShopScopedApi):
    class QuerySerializer(serializers.Serializer):
        page = serializers.IntegerField(min_value=1, max_value=selectors.MAX_PAGE, default=1)
        page_size = serializers.IntegerField(min_value=1, max_value=selectors.MAX_PAGE_SIZE, default=50)

    def get(self, request: Request, key: str) -> Response:
        query = self.QuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        page = selectors.segment_customers(shop=self.shop, key=key, **query.validated_data)
        return Response({**page, "customers": [_plain(row) for row in page["customers"]]})
