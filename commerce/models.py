"""The platform-neutral mirror of a store.

Every tenant-owned row carries ``shop`` and every unique constraint includes it.  Platform ids
are kept as strings (``platform_id``: Shopify's numeric id, WooCommerce's id) and
``platform_updated_at`` orders concurrent writes: an older version never overwrites a newer one.
"""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from retention_app.fields import EncryptedTextField, money_field


class Platform(models.TextChoices):
    SHOPIFY = "shopify", _("Shopify")
    WOOCOMMERCE = "woocommerce", _("WooCommerce")
    STANDALONE = "standalone", _("Standalone (imported)")


class ShopStatus(models.TextChoices):
    INSTALLED = "installed", _("Installed")
    UNINSTALLED = "uninstalled", _("Uninstalled")
    REDACTED = "redacted", _("Redacted")


class Shop(models.Model):
    platform = models.CharField(max_length=20, choices=Platform.choices)
    domain = models.CharField(max_length=255)
    platform_id = models.CharField(max_length=64, blank=True)
    name = models.CharField(max_length=255, blank=True)
    email = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=20, choices=ShopStatus.choices, default=ShopStatus.INSTALLED)
    currency = models.CharField(max_length=3, default="USD")
    timezone = models.CharField(max_length=64, default="UTC")
    locale = models.CharField(max_length=16, default="en")
    # The public storefront (the merchant's primary domain), for links shoppers open; blank: not known.
    storefront_url = models.URLField(max_length=255, blank=True)
    access_token = EncryptedTextField(blank=True, default="")
    # Expiring offline tokens (Shopify): when the access token runs out (null: a legacy token that
    # never expires), and the refresh token that buys the next one (replaced on every use).
    access_token_expires_at = models.DateTimeField(null=True, blank=True)
    refresh_token = EncryptedTextField(blank=True, default="")
    refresh_token_expires_at = models.DateTimeField(null=True, blank=True)
    # Set when the platform refused our token and we cannot get a new one on our own: the merchant
    # must open the app again (which re-authorises it); cleared by the next token we receive.
    reauthorization_required_at = models.DateTimeField(null=True, blank=True)
    scopes = models.CharField(max_length=1000, blank=True)
    installed_at = models.DateTimeField(null=True, blank=True)
    uninstalled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["platform", "domain"], name="shop_unique_domain"),
        ]

    def __str__(self) -> str:
        return self.domain

    @property
    def is_installed(self) -> bool:
        return self.status == ShopStatus.INSTALLED and bool(self.access_token)

    @property
    def reauthorization_required(self) -> bool:
        return self.status == ShopStatus.INSTALLED and self.reauthorization_required_at is not None


class ShopOwned(models.Model):
    # No index of its own: every shop-owned table has a unique constraint or index that starts
    # with ``shop``, which serves shop lookups and cascades; a second index only slows inserts.
    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+", db_index=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class PlatformRecord(ShopOwned):
    """A row mirrored from the platform, identified there by ``platform_id``."""

    platform_id = models.CharField(max_length=64)
    platform_updated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True


class MarketingConsent(models.TextChoices):
    SUBSCRIBED = "subscribed", _("Subscribed")
    NOT_SUBSCRIBED = "not_subscribed", _("Not subscribed")
    UNSUBSCRIBED = "unsubscribed", _("Unsubscribed")
    PENDING = "pending", _("Pending confirmation")


class Customer(PlatformRecord):
    first_name = models.CharField(max_length=255, blank=True)
    last_name = models.CharField(max_length=255, blank=True)
    email = models.CharField(max_length=320, blank=True)
    phone = models.CharField(max_length=64, blank=True)
    birthday = models.DateField(null=True, blank=True)
    locale = models.CharField(max_length=16, blank=True)
    tags = models.JSONField(default=list, blank=True)
    email_consent = models.CharField(
        max_length=20, choices=MarketingConsent.choices, default=MarketingConsent.NOT_SUBSCRIBED
    )
    sms_consent = models.CharField(
        max_length=20, choices=MarketingConsent.choices, default=MarketingConsent.NOT_SUBSCRIBED
    )
    # Whether the customer has a store account (Shopify: enabled) or only checked out as a guest.
    account_state = models.CharField(max_length=10, blank=True)
    # From the default address (ISO 3166 country, the platform's province code); ``timezone`` is
    # the IANA zone derived from it (``commerce.geo``), "" when unknown: the shop's zone applies.
    country_code = models.CharField(max_length=2, blank=True)
    province_code = models.CharField(max_length=16, blank=True)
    timezone = models.CharField(max_length=64, blank=True)
    first_order_at = models.DateTimeField(null=True, blank=True)
    platform_created_at = models.DateTimeField(null=True, blank=True)
    is_deleted = models.BooleanField(default=False)
    redacted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["shop", "platform_id"], name="customer_unique_platform_id"),
        ]
        indexes = [
            models.Index(fields=["shop", "email"]),
            models.Index(fields=["shop", "first_order_at"]),
            models.Index(fields=["shop", "platform_updated_at"]),
        ]

    def __str__(self) -> str:
        name = f"{self.first_name} {self.last_name}".strip()
        return name or self.email or f"customer {self.platform_id}"


class Product(PlatformRecord):
    title = models.CharField(max_length=500)
    product_type = models.CharField(max_length=255, blank=True)
    category = models.CharField(max_length=500, blank=True)
    vendor = models.CharField(max_length=255, blank=True)
    tags = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=20, blank=True)
    # For links and pictures in emails: the storefront's /products/<handle>, the main image.
    handle = models.CharField(max_length=255, blank=True)
    image_url = models.URLField(max_length=1000, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["shop", "platform_id"], name="product_unique_platform_id"),
        ]

    def __str__(self) -> str:
        return self.title


class Variant(PlatformRecord):
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="variants")
    title = models.CharField(max_length=500, blank=True)
    sku = models.CharField(max_length=255, blank=True)
    currency = models.CharField(max_length=3)
    price = money_field()
    unit_cost = money_field(null=True, blank=True, default=None)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["shop", "platform_id"], name="variant_unique_platform_id"),
        ]

    def __str__(self) -> str:
        return f"{self.product_id}:{self.title}"


class FinancialStatus(models.TextChoices):
    """Comeback's own payment vocabulary; each platform's adapter maps its words onto it
    (Shopify's ``financial_status``, WooCommerce's order ``status``)."""

    DRAFT = "draft", _("Draft (checkout not finished)")
    PENDING = "pending", _("Pending")
    AUTHORIZED = "authorized", _("Authorized")
    PARTIALLY_PAID = "partially_paid", _("Partially paid")
    PAID = "paid", _("Paid")
    PARTIALLY_REFUNDED = "partially_refunded", _("Partially refunded")
    REFUNDED = "refunded", _("Refunded")
    VOIDED = "voided", _("Voided")
    EXPIRED = "expired", _("Expired")
    FAILED = "failed", _("Payment failed")
    UNKNOWN = "unknown", _("Unknown")


PAID_STATUSES = (
    FinancialStatus.PAID,
    FinancialStatus.PARTIALLY_REFUNDED,
    FinancialStatus.REFUNDED,
)


class FulfillmentStatus(models.TextChoices):
    UNFULFILLED = "unfulfilled", _("Unfulfilled")
    PARTIALLY_FULFILLED = "partially_fulfilled", _("Partially fulfilled")
    FULFILLED = "fulfilled", _("Fulfilled")
    RESTOCKED = "restocked", _("Restocked")
    OTHER = "other", _("Other")


class Order(PlatformRecord):
    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.SET_NULL, related_name="orders"
    )
    customer_platform_id = models.CharField(max_length=64, blank=True)
    name = models.CharField(max_length=64, blank=True)
    email = models.CharField(max_length=320, blank=True)
    phone = models.CharField(max_length=64, blank=True)
    locale = models.CharField(max_length=16, blank=True)
    financial_status = models.CharField(
        max_length=20, choices=FinancialStatus.choices, default=FinancialStatus.UNKNOWN
    )
    fulfillment_status = models.CharField(
        max_length=20, choices=FulfillmentStatus.choices, default=FulfillmentStatus.UNFULFILLED
    )
    currency = models.CharField(max_length=3)
    subtotal = money_field()
    total_discounts = money_field()
    total_tax = money_field()
    total_shipping = money_field()
    total = money_field()
    total_refunded = money_field()
    discount_codes = models.JSONField(default=list, blank=True)
    is_test = models.BooleanField(default=False)
    processed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.CharField(max_length=64, blank=True)
    shipping_address_key = models.CharField(max_length=64, blank=True)
    platform_created_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["shop", "platform_id"], name="order_unique_platform_id"),
        ]
        indexes = [
            models.Index(fields=["shop", "processed_at"]),
            models.Index(fields=["shop", "customer", "processed_at"]),
            models.Index(fields=["shop", "platform_updated_at"]),
            models.Index(
                fields=["shop", "processed_at"],
                name="order_live_processed_idx",
                condition=Q(cancelled_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return self.name or f"order {self.platform_id}"


class OrderLine(ShopOwned):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    platform_id = models.CharField(max_length=64)
    product = models.ForeignKey(Product, null=True, blank=True, on_delete=models.SET_NULL)
    variant = models.ForeignKey(Variant, null=True, blank=True, on_delete=models.SET_NULL)
    product_platform_id = models.CharField(max_length=64, blank=True)
    variant_platform_id = models.CharField(max_length=64, blank=True)
    title = models.CharField(max_length=500, blank=True)
    sku = models.CharField(max_length=255, blank=True)
    quantity = models.IntegerField(default=0)
    currency = models.CharField(max_length=3)
    unit_price = money_field()
    total_discount = money_field()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["shop", "platform_id"], name="orderline_unique_platform_id"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.title}"


class Refund(ShopOwned):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="refunds")
    platform_id = models.CharField(max_length=64)
    currency = models.CharField(max_length=3)
    amount = money_field()
    shipping_amount = money_field()
    note = models.TextField(blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["shop", "platform_id"], name="refund_unique_platform_id"),
        ]
        indexes = [models.Index(fields=["shop", "processed_at"])]

    def __str__(self) -> str:
        return f"refund {self.platform_id}"


class RefundLine(ShopOwned):
    refund = models.ForeignKey(Refund, on_delete=models.CASCADE, related_name="lines")
    order_line = models.ForeignKey(OrderLine, null=True, blank=True, on_delete=models.SET_NULL)
    line_platform_id = models.CharField(max_length=64)
    quantity = models.IntegerField(default=0)
    currency = models.CharField(max_length=3)
    subtotal = money_field()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["shop", "refund", "line_platform_id"], name="refundline_unique_line"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × line {self.line_platform_id}"


class DomainEvent(ShopOwned):
    """The outbox: written in the same transaction as the change it announces.

    ``key`` makes an event idempotent per shop (``order.paid:5001``): a webhook delivered twice,
    or a change seen by both a webhook and the reconciliation, announces it once.
    """

    class Name(models.TextChoices):
        CUSTOMER_CREATED = "customer.created"
        CUSTOMER_ACCOUNT_ENABLED = "customer.account_enabled"
        ORDER_PAID = "order.paid"
        ORDER_REFUNDED = "order.refunded"
        ORDER_CANCELLED = "order.cancelled"
        ORDER_FULFILLED = "order.fulfilled"
        HISTORY_SYNCED = "shop.history_synced"  # the store's history is in: whole-shop work may start

    name = models.CharField(max_length=64, choices=Name.choices)
    key = models.CharField(max_length=200)
    payload = models.JSONField(default=dict)
    occurred_at = models.DateTimeField()
    dispatched_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["shop", "key"], name="domainevent_unique_key"),
        ]
        indexes = [
            models.Index(
                fields=["created_at"],
                name="domainevent_pending_idx",
                condition=Q(dispatched_at__isnull=True),
            ),
            # The dispatcher's fair round (ROW_NUMBER per shop, in id order) reads this index only.
            models.Index(
                fields=["shop", "id"],
                name="domainevent_pending_shop_idx",
                condition=Q(dispatched_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return self.key


class DeliveryState(models.TextChoices):
    RETRYING = "retrying", _("Retrying")
    DEAD = "dead", _("Dead letter")
    SUCCEEDED = "succeeded", _("Succeeded on retry")
    IGNORED = "ignored", _("Resolved by an operator")


class EventDelivery(ShopOwned):
    """One subscriber's failure to handle one outbox event, and its retries (``commerce.events``).

    A row exists only once a subscriber raised: the normal path writes none.  It is retried with
    backoff while ``retrying``, dead-lettered after ``EVENT_MAX_ATTEMPTS`` attempts, and resolved
    either by a retry that succeeds or by an operator (``ignored``, with a note).
    """

    event = models.ForeignKey(DomainEvent, on_delete=models.CASCADE, related_name="deliveries")
    subscriber = models.CharField(max_length=255)  # module.qualname: stable across restarts
    state = models.CharField(max_length=10, choices=DeliveryState.choices, default=DeliveryState.RETRYING)
    attempts = models.PositiveIntegerField(default=0)
    error_class = models.CharField(max_length=255, blank=True)
    error_message = models.TextField(blank=True)
    error_traceback = models.TextField(blank=True)  # the last frames (file, line, function) only
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    dead_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution_note = models.TextField(blank=True)

    class Meta:
        verbose_name = _("event delivery failure")
        verbose_name_plural = _("event delivery failures")
        constraints = [
            models.UniqueConstraint(fields=["shop", "event", "subscriber"], name="eventdelivery_unique_subscriber"),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="eventdelivery_due_idx",
                condition=Q(state="retrying"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_id} -> {self.subscriber} ({self.state})"


class MarketingChannel(models.TextChoices):
    EMAIL = "email", _("Email")
    SMS = "sms", _("SMS")


class ConsentSource(models.TextChoices):
    UNSUBSCRIBE_LINK = "unsubscribe_link", _("Unsubscribe link")
    SMS_STOP = "sms_stop", _("STOP reply")
    SMS_START = "sms_start", _("START reply")
    BOUNCE = "bounce", _("Bounce or complaint")
    PLATFORM = "platform", _("Store (platform)")
    WIDGET = "widget", _("Storefront widget")
    MERCHANT = "merchant", _("Merchant")
    IMPORT = "import", _("Import")


class ConsentChange(models.Model):
    """One change of a shopper's marketing consent on a channel: the ledger, appended to and
    never updated (but for ``platform_synced_at``).  The current state is kept beside it on
    ``Customer.email_consent`` / ``sms_consent``; the newest change by ``at`` wins
    (``commerce.consent``)."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+", db_index=False)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="consent_changes")
    channel = models.CharField(max_length=10, choices=MarketingChannel.choices)
    state = models.CharField(max_length=20, choices=MarketingConsent.choices)
    source = models.CharField(max_length=20, choices=ConsentSource.choices)
    at = models.DateTimeField()  # when it happened (the platform's consent_updated_at for its changes)
    detail = models.CharField(max_length=200, blank=True)  # e.g. "bounced", the provider's word
    recorded_at = models.DateTimeField(auto_now_add=True)
    # When the store was told (our own changes are written back to the platform); null: not yet.
    platform_synced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["shop", "customer", "channel", "at"], name="consentchange_latest_idx")]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.channel} {self.state} ({self.source})"
