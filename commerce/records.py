"""Platform-neutral records: what an integration's normaliser hands to the commerce services.

Every platform payload (a Shopify webhook in REST shape, a bulk-operation line in GraphQL shape,
a WooCommerce resource) becomes one of these before it touches the database.
"""

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal


@dataclass(frozen=True)
class CustomerRecord:
    platform_id: str
    updated_at: datetime | None
    created_at: datetime | None = None
    first_name: str = ""
    last_name: str = ""
    email: str = ""
    phone: str = ""
    locale: str = ""
    tags: tuple[str, ...] = ()
    account_state: str = ""  # enabled / disabled / invited / declined; "" when not given
    email_consent: str = "not_subscribed"
    sms_consent: str = "not_subscribed"
    # When the shopper last gave or withdrew consent on the platform (None: not given).
    email_consent_updated_at: datetime | None = None
    sms_consent_updated_at: datetime | None = None
    # None means "the payload does not carry a birthday" (keep what is stored).
    birthday: date | None = None
    has_birthday: bool = False
    # From the default address; ``timezone`` is its IANA zone ("" unknown).  Applied only when
    # ``has_address`` (the payload carries the address, possibly empty); otherwise kept as stored.
    country_code: str = ""
    province_code: str = ""
    timezone: str = ""
    has_address: bool = False


@dataclass(frozen=True)
class VariantRecord:
    platform_id: str
    title: str
    sku: str
    price: Decimal
    # None means "the payload does not carry a cost" (Shopify product webhooks don't).
    unit_cost: Decimal | None


@dataclass(frozen=True)
class ProductRecord:
    platform_id: str
    updated_at: datetime | None
    title: str = ""
    product_type: str = ""
    category: str = ""
    vendor: str = ""
    tags: tuple[str, ...] = ()
    status: str = ""
    variants: tuple[VariantRecord, ...] = ()
    handle: str = ""  # the storefront's /products/<handle>
    image_url: str = ""  # the product's main picture


@dataclass(frozen=True)
class OrderLineRecord:
    platform_id: str
    title: str
    sku: str
    quantity: int
    unit_price: Decimal
    total_discount: Decimal
    product_platform_id: str = ""
    variant_platform_id: str = ""


@dataclass(frozen=True)
class RefundLineRecord:
    line_platform_id: str
    quantity: int
    subtotal: Decimal


@dataclass(frozen=True)
class RefundRecord:
    platform_id: str
    order_platform_id: str
    amount: Decimal
    currency: str
    processed_at: datetime | None
    shipping_amount: Decimal = Decimal("0")
    note: str = ""
    lines: tuple[RefundLineRecord, ...] = ()


@dataclass(frozen=True)
class OrderRecord:
    platform_id: str
    updated_at: datetime | None
    currency: str
    name: str = ""
    email: str = ""
    phone: str = ""
    locale: str = ""
    customer_platform_id: str = ""
    financial_status: str = "unknown"
    fulfillment_status: str = "unfulfilled"
    subtotal: Decimal = Decimal("0")
    total_discounts: Decimal = Decimal("0")
    total_tax: Decimal = Decimal("0")
    total_shipping: Decimal = Decimal("0")
    total: Decimal = Decimal("0")
    total_refunded: Decimal = Decimal("0")
    discount_codes: tuple[str, ...] = ()
    is_test: bool = False
    created_at: datetime | None = None
    processed_at: datetime | None = None
    cancelled_at: datetime | None = None
    cancel_reason: str = ""
    # A normalised fingerprint of the shipping address ("" when unknown), for fraud checks.
    shipping_address_key: str = ""
    lines: tuple[OrderLineRecord, ...] = ()
    # None: the payload does not list refunds (keep what is stored); () : it has none.
    refunds: tuple[RefundRecord, ...] | None = None
    extra: dict = field(default_factory=dict, compare=False)
