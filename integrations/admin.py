"""Operators' views of the inbox, sync runs and privacy exports."""

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from integrations import webhooks
from integrations.models import DataRequestExport, SyncRun, WebhookDelivery


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ("delivery_id", "topic", "shop_domain", "status", "attempts", "received_at", "short_error")
    list_filter = ("status", "topic", "platform")
    search_fields = ("delivery_id", "event_id", "shop_domain", "error")
    readonly_fields = [f.name for f in WebhookDelivery._meta.fields if f.name != "body"] + ["body_text"]
    exclude = ("body",)
    actions = ["retry"]

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    @admin.display(description="error")
    def short_error(self, delivery: WebhookDelivery) -> str:
        return delivery.error[:80]

    @admin.display(description="body")
    def body_text(self, delivery: WebhookDelivery) -> str:
        return bytes(delivery.body).decode("utf-8", errors="replace")

    @admin.action(description="Retry the selected failed deliveries")
    def retry(self, request: HttpRequest, queryset: QuerySet[WebhookDelivery]) -> None:
        count = webhooks.deliveries_retry(deliveries=queryset)
        self.message_user(request, f"{count} deliveries queued again.", messages.SUCCESS)


@admin.register(SyncRun)
class SyncRunAdmin(admin.ModelAdmin):
    list_display = ("pk", "shop", "kind", "status", "resource", "lines_done", "progress", "started_at", "finished_at")
    list_filter = ("kind", "status")
    readonly_fields = [f.name for f in SyncRun._meta.fields]

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(DataRequestExport)
class DataRequestExportAdmin(admin.ModelAdmin):
    list_display = ("pk", "shop", "customer_platform_id", "request_id", "created_at")
    readonly_fields = ("shop", "customer_platform_id", "request_id", "data", "created_at")
