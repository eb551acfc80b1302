"""Operators see each shop's plan (read-only: the platform's billing is the source of truth)."""

from django.contrib import admin

from billing.models import LimitSkip, ShopPlan
from commerce.admin import ReadOnlyAdmin


@admin.register(ShopPlan)
class ShopPlanAdmin(ReadOnlyAdmin):
    list_display = ("shop", "plan", "subscription_status", "is_test", "current_period_end", "status_at")
    list_filter = ("plan", "subscription_status", "is_test")
    search_fields = ("shop__domain", "shop__name", "subscription_id")
    readonly_fields = [field.name for field in ShopPlan._meta.fields]


@admin.register(LimitSkip)
class LimitSkipAdmin(ReadOnlyAdmin):
    list_display = ("shop", "kind", "key", "period_start", "reason", "at")
    list_filter = ("kind",)
    search_fields = ("shop__domain", "key")
