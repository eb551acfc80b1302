"""Operators see each shop's plan (read-only: the platform's billing is the source of truth)."""

from django.contrib import admin

from billing.models import LimitSkip, ShopPlan


@admin.register(ShopPlan)
class ShopPlanAdmin(admin.ModelAdmin):
    list_display = ("shop", "plan", "subscription_status", "is_test", "current_period_end", "status_at")
    list_filter = ("plan", "subscription_status", "is_test")
    search_fields = ("shop__domain", "shop__name", "subscription_id")
    readonly_fields = [field.name for field in ShopPlan._meta.fields]

    def has_add_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False


@admin.register(LimitSkip)
class LimitSkipAdmin(admin.ModelAdmin):
    list_display = ("shop", "kind", "key", "period_start", "reason", "at")
    list_filter = ("kind",)
    search_fields = ("shop__domain", "key")

    def has_add_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False
