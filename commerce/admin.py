"""Operators' views of the store mirror: read-mostly and searchable."""

from collections import Counter

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db.models import Prefetch, QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from commerce import events
from commerce.models import (
    ConsentChange,
    Customer,
    DeliveryState,
    DomainEvent,
    EventDelivery,
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

    actions = ["plan_arrange_paid", "plan_arrange_free"]

    def _plan_arrange(self, request: HttpRequest, shops: QuerySet[Shop], *, paid: bool) -> None:
        """Shops whose platform has no app billing (WooCommerce) change plans here; the others'
        plans follow their platform's billing and are left as they are (and said so)."""
        from integrations.billing import plan_arrange
        from retention_app.errors import ApplicationError

        changed, refused = 0, []
        for shop in shops:
            try:
                plan_arrange(shop=shop, paid=paid, actor=f"operator:{request.user.get_username()}")
                changed += 1
            except ApplicationError:
                refused.append(shop.domain)
        if changed:
            self.message_user(request, f"{changed} shop(s) now on the {'paid' if paid else 'Free'} plan.")
        if refused:
            self.message_user(request, "Billed by their platform, left unchanged: " + ", ".join(refused),
                              level=messages.WARNING)

    @admin.action(description="Put on the paid plan (platforms without app billing, e.g. WooCommerce)")
    def plan_arrange_paid(self, request: HttpRequest, shops: QuerySet[Shop]) -> None:
        self._plan_arrange(request, shops, paid=True)

    @admin.action(description="Put back on the Free plan (platforms without app billing)")
    def plan_arrange_free(self, request: HttpRequest, shops: QuerySet[Shop]) -> None:
        self._plan_arrange(request, shops, paid=False)

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

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        # A shop's data goes through shop/redact (every app's eraser, the append-only ledger's one
        # way out), which keeps the shop as a blank tombstone; a plain delete would bypass both.
        return False


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


class EventDeliveryInline(admin.TabularInline):
    model = EventDelivery
    extra = 0
    fields = ("subscriber", "state", "attempts", "error_class", "error_message", "next_attempt_at", "dead_at",
              "resolved_at", "resolution_note")
    readonly_fields = fields
    can_delete = False
    verbose_name = _("failed delivery")
    verbose_name_plural = _("failed deliveries (subscribers not listed here handled the event)")

    def has_add_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False


class EventDeliveryStateFilter(admin.SimpleListFilter):
    """Events by how their subscribers fared."""

    title = _("delivery")
    parameter_name = "delivery"

    def lookups(self, request, model_admin):  # type: ignore[no-untyped-def]
        return [
            ("pending", _("Not dispatched yet")),
            ("retrying", _("A subscriber is being retried")),
            ("dead", _("A subscriber is dead-lettered")),
            ("failed", _("A subscriber ever failed")),
        ]

    def queryset(self, request, queryset):  # type: ignore[no-untyped-def]
        value = self.value()
        if value == "pending":
            return queryset.filter(dispatched_at__isnull=True)
        if value in (DeliveryState.RETRYING, DeliveryState.DEAD):
            return queryset.filter(pk__in=EventDelivery.objects.filter(state=value).values("event_id"))
        if value == "failed":
            return queryset.filter(pk__in=EventDelivery.objects.values("event_id"))
        return queryset


@admin.register(DomainEvent)
class DomainEventAdmin(ReadOnlyAdmin):
    list_display = ("key", "name", "shop", "occurred_at", "dispatched_at", "delivery_state")
    list_filter = (EventDeliveryStateFilter, "name", "shop")
    search_fields = ("key",)
    list_select_related = ("shop",)
    inlines = [EventDeliveryInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[DomainEvent]:
        # Prefetched for the page's rows only: an aggregate here would group the whole outbox for
        # the changelist's count.
        return super().get_queryset(request).prefetch_related(
            Prefetch("deliveries", queryset=EventDelivery.objects.only("pk", "event_id", "state"))
        )

    @admin.display(description=_("delivery"))
    def delivery_state(self, event: DomainEvent) -> str:  # a link to the failures when there are some
        """Whether every subscriber handled the event, or how many are still retrying or dead."""
        if event.dispatched_at is None:
            return gettext("pending")
        states = Counter(delivery.state for delivery in event.deliveries.all())  # type: ignore[attr-defined]
        parts = []
        if states[DeliveryState.DEAD]:
            parts.append(gettext("%(count)d dead") % {"count": states[DeliveryState.DEAD]})
        if states[DeliveryState.RETRYING]:
            parts.append(gettext("%(count)d retrying") % {"count": states[DeliveryState.RETRYING]})
        if parts:
            url = reverse("admin:commerce_eventdelivery_changelist")
            return format_html('<a href="{}?event__id__exact={}">{}</a>', url, event.pk, ", ".join(parts))
        if states:
            return gettext("delivered (after failures, resolved)")
        return gettext("delivered")


class ResolveForm(forms.Form):
    note = forms.CharField(label=_("Note"), widget=forms.Textarea(attrs={"rows": 3, "cols": 60}), max_length=2000,
                           help_text=_("Why no further attempts are needed (fixed by hand, not worth running ...)."))


@admin.register(EventDelivery)
class EventDeliveryAdmin(admin.ModelAdmin):
    """Subscribers that failed on an event: retrying, dead-lettered, or resolved."""

    list_display = ("event", "event_name", "shop", "subscriber", "state", "attempts", "short_error",
                    "next_attempt_at", "dead_at", "resolved_at")
    list_filter = ("state", "shop", "subscriber", "event__name")
    search_fields = ("event__key", "subscriber", "error_class", "error_message")
    list_select_related = ("event", "shop")
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in EventDelivery._meta.fields]
    actions = ["retry_now", "resolve"]

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False  # resolve instead: the record of what failed stays until it is pruned

    @admin.display(description=_("event name"), ordering="event__name")
    def event_name(self, delivery: EventDelivery) -> str:
        return delivery.event.name

    @admin.display(description=_("error"))
    def short_error(self, delivery: EventDelivery) -> str:
        return f"{delivery.error_class.rpartition('.')[2]}: {delivery.error_message}"[:120]

    @admin.action(description=_("Retry now (dead letters too)"), permissions=["change"])
    def retry_now(self, request: HttpRequest, queryset: QuerySet[EventDelivery]) -> None:
        count = events.event_deliveries_retry_now(deliveries=queryset)
        self.message_user(request, ngettext("%(count)d delivery scheduled now.", "%(count)d deliveries scheduled now.",
                                            count) % {"count": count}, messages.SUCCESS)

    @admin.action(description=_("Mark resolved / ignored, with a note"), permissions=["change"])
    def resolve(self, request: HttpRequest, queryset: QuerySet[EventDelivery]) -> TemplateResponse | None:
        form = ResolveForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            count = events.event_deliveries_resolve(deliveries=queryset, note=form.cleaned_data["note"])
            self.message_user(request, ngettext("%(count)d delivery resolved.", "%(count)d deliveries resolved.",
                                                count) % {"count": count}, messages.SUCCESS)
            return None
        return TemplateResponse(request, "admin/commerce/eventdelivery/resolve.html", {
            **self.admin_site.each_context(request),
            "title": gettext("Resolve failed deliveries"),
            "opts": self.model._meta,
            "form": form,
            "deliveries": queryset.select_related("event"),
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
        })


@admin.register(ConsentChange)
class ConsentChangeAdmin(ReadOnlyAdmin):
    """The consent ledger: appended by the shopper's own actions and the store's changes only."""

    list_display = ("customer", "channel", "state", "source", "at", "platform_synced_at", "shop")
    list_filter = ("shop", "channel", "state", "source")
    list_select_related = ("customer", "shop")
    date_hierarchy = "at"
