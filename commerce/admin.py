"""Operators' views of the store mirror: read-mostly and searchable."""

from django.contrib import admin

from commerce.models import (
    ConsentChange,
    Customer,
    DomainEvent,
    Order,
    OrderLine,
    Product,
    Refund,
    Shop,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def]
        # Rows mirror the store: they change through sync, webhooks and privacy requests only.
        return False


@admin.register(Shop)
class ShopAdmin(admin.ModelAdmin):
    list_display = ("domain", "platform", "name", "status", "access", "currency", "timezone", "sync_state",
                    "installed_at")
    list_filter = ("platform", "status", ("reauthorization_required_at", admin.EmptyFieldListFilter))
    search_fields = ("domain", "name", "email")
    exclude = ("access_token", "refresh_token")
    readonly_fields = ("platform", "domain", "platform_id", "scopes", "installed_at", "uninstalled_at",
                       "access", "access_token_expires_at", "refresh_token_expires_at",
                       "reauthorization_required_at", "sync_state", "customer_count", "order_count")

    @admin.display(description="platform access")
    def access(self, shop: Shop) -> str:
        """Whether the app can still call the store's API, and with what kind of token."""
        if shop.reauthorization_required:
            return "RE-AUTHORIZATION REQUIRED: the merchant must reopen the app from their store admin"
        if not shop.access_token:
            return "-"
        if shop.access_token_expires_at is None:
            return "non-expiring token (replaced by an expiring one when the merchant next opens the app, " \
                   "or by the next reconciliation)"
        return f"expiring token (until {shop.access_token_expires_at:%Y-%m-%d %H:%M} UTC, refreshed automatically)"

    @admin.display(description="history sync")
    def sync_state(self, shop: Shop) -> str:
        from integrations.selectors import sync_latest

        run = sync_latest(shop=shop)
        if run is None:
            return "-"
        counts = ", ".join(f"{name} {entry.get('objects', 0)}" for name, entry in run.progress.items())
        return f"{run.status}: {counts}"

    @admin.display(description="customers")
    def customer_count(self, shop: Shop) -> int:
        return Customer.objects.filter(shop=shop).count()

    @admin.display(description="orders")
    def order_count(self, shop: Shop) -> int:
        return Order.objects.filter(shop=shop).count()


@admin.register(Customer)
class CustomerAdmin(ReadOnlyAdmin):
    list_display = ("__str__", "email", "shop", "first_order_at", "country_code", "timezone", "email_consent",
                    "sms_consent", "is_deleted")
    list_filter = ("shop", "email_consent", "sms_consent", "is_deleted", "country_code")
    search_fields = ("email", "first_name", "last_name", "phone", "platform_id")
    list_select_related = ("shop",)


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    extra = 0
    fields = ("title", "sku", "quantity", "unit_price", "total_discount", "currency")
    readonly_fields = fields
    can_delete = False


class RefundInline(admin.TabularInline):
    model = Refund
    extra = 0
    fields = ("platform_id", "amount", "shipping_amount", "currency", "processed_at")
    readonly_fields = fields
    can_delete = False


@admin.register(Order)
class OrderAdmin(ReadOnlyAdmin):
    list_display = ("__str__", "shop", "customer", "financial_status", "fulfillment_status", "total",
                    "currency", "processed_at")
    list_filter = ("shop", "financial_status", "fulfillment_status")
    search_fields = ("name", "email", "platform_id")
    date_hierarchy = "processed_at"
    list_select_related = ("shop", "customer")
    inlines = [OrderLineInline, RefundInline]


@admin.register(Product)
class ProductAdmin(ReadOnlyAdmin):
    list_display = ("title", "shop", "product_type", "category", "status")
    list_filter = ("shop", "product_type")
    search_fields = ("title", "platform_id")


@admin.register(DomainEvent)
class DomainEventAdmin(ReadOnlyAdmin):
    list_display = ("key", "name", "shop", "occurred_at", "dispatched_at")
    list_filter = ("name", "shop")
    search_fields = ("key",)


@admin.register(ConsentChange)
class ConsentChangeAdmin(ReadOnlyAdmin):
    """The consent ledger: appended by the shopper's own actions and the store's changes only."""

    list_display = ("customer", "channel", "state", "source", "at", "platform_synced_at", "shop")
    list_filter = ("shop", "channel", "state", "source")
    list_select_related = ("customer", "shop")
    date_hierarchy = "at"
