"""Operators' views of segments; memberships and scores are computed, so read-only."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from segments.models import CustomerScore, Segment, SegmentMembership, SegmentSettings


@admin.register(SegmentSettings)
class SegmentSettingsAdmin(admin.ModelAdmin):
    list_display = ("shop", "churn_days", "median_interval_days", "recomputed_at")
    readonly_fields = ("median_interval_days", "recomputed_at")


@admin.register(Segment)
class SegmentAdmin(admin.ModelAdmin):
    list_display = ("key", "name", "shop", "kind")
    list_filter = ("kind",)
    readonly_fields = ("kind",)


@admin.register(SegmentMembership)
class SegmentMembershipAdmin(admin.ModelAdmin):
    list_display = ("segment", "customer", "shop", "created_at")
    list_filter = ("segment__key",)
    raw_id_fields = ("segment", "customer")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(CustomerScore)
class CustomerScoreAdmin(admin.ModelAdmin):
    list_display = ("customer", "shop", "r", "f", "m", "orders_count", "total_spent", "last_order_at", "computed_at")
    raw_id_fields = ("customer",)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
