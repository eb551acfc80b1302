from django.contrib import admin

from analytics.models import AnalyticsSettings


@admin.register(AnalyticsSettings)
class AnalyticsSettingsAdmin(admin.ModelAdmin):
    list_display = ("shop", "activity_days", "churn_days", "fulfilment_cost_per_order", "loyal_min_orders")
