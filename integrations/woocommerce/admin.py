"""Operators' view of WooCommerce connections and webhooks (secrets are never shown)."""

from django.contrib import admin
from django.http import HttpRequest

from integrations.woocommerce.models import WooConnection, WooWebhook

SECRETS = ("consumer_key", "consumer_secret", "plugin_secret", "secret", "state", "session_key", "claim_code_hash")


@admin.register(WooConnection)
class WooConnectionAdmin(admin.ModelAdmin):
    list_display = ("domain", "shop", "status", "key_permissions", "connected_at", "expires_at", "created_at")
    list_filter = ("status",)
    search_fields = ("domain", "store_url")
    exclude = SECRETS
    readonly_fields = [f.name for f in WooConnection._meta.fields if f.name not in SECRETS]

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(WooWebhook)
class WooWebhookAdmin(admin.ModelAdmin):
    list_display = ("shop", "topic", "platform_id", "status", "last_checked_at")
    list_filter = ("status", "topic")
    search_fields = ("shop__domain", "platform_id")
    exclude = SECRETS
    readonly_fields = [f.name for f in WooWebhook._meta.fields if f.name not in SECRETS]

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
