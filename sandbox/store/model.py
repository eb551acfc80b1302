"""The store's records.  Plain dataclasses; the ``Shop`` owns them and guards them with its lock.

Numeric ids are per shop (two shops generated with the same seed share ids, which is handy for
testing tenant isolation).  Money is always ``Decimal`` with two places.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from .common import ZERO, gid, q2

# Base numbers for each kind of id; large like Shopify's (they do not fit in 32 bits).
ID_BASE: dict[str, int] = {
    "Customer": 7_000_000_000_000,
    "Product": 8_000_000_000_000,
    "ProductVariant": 4_000_000_000_000,
    "InventoryItem": 4_500_000_000_000,
    "Order": 5_000_000_000_000,
    "LineItem": 13_000_000_000_000,
    "Refund": 900_000_000_000,
    "RefundLineItem": 500_000_000_000,
    "RefundShippingLine": 600_000_000_000,
    "OrderTransaction": 6_000_000_000_000,
    "OrderAdjustment": 300_000_000_000,
    "Metafield": 30_000_000_000_000,
    "WebhookSubscription": 1_100_000_000_000,
    "DiscountCodeNode": 1_200_000_000_000,
    "DiscountRedeemCode": 1_300_000_000_000,
    "BulkOperation": 3_000_000_000_000,
    "ShippingLine": 4_800_000_000_000,
    "MailingAddress": 9_000_000_000_000,
}


@dataclass(slots=True)
class Consent:
    """Marketing consent.  ``state``: SUBSCRIBED, NOT_SUBSCRIBED, UNSUBSCRIBED, PENDING."""

    state: str
    opt_in_level: str | None = "SINGLE_OPT_IN"
    updated_at: datetime | None = None
    collected_from: str = "OTHER"


@dataclass(slots=True)
class Address:
    """A mailing address (a customer's default address, an order's shipping address).

    Treated as immutable (not ``frozen``: that makes building one 3× slower, and the generator
    builds one per order): changing a customer's address replaces the object, so orders keep the
    address they were shipped to.  ``id``: the customer address id (``MailingAddress`` gid, REST
    ``id``).
    """

    id: int
    first_name: str | None
    last_name: str | None
    address1: str
    address2: str | None
    city: str
    province: str | None
    province_code: str | None
    country: str
    country_code: str
    zip: str | None
    latitude: float | None = None
    longitude: float | None = None

    @property
    def gid(self) -> str:
        return gid("MailingAddress", self.id) + "?model_name=CustomerAddress"

    @property
    def name(self) -> str:
        return " ".join(p for p in (self.first_name, self.last_name) if p)


@dataclass(slots=True)
class Customer:
    id: int
    first_name: str | None
    last_name: str | None
    email: str | None
    phone: str | None
    locale: str
    tags: list[str]
    note: str | None
    created_at: datetime
    updated_at: datetime
    email_consent: Consent | None
    sms_consent: Consent | None
    #: ``{(namespace, key): value}``; birthdays live at ``("facts", "birth_date")``.
    metafields: dict[tuple[str, str], str] = field(default_factory=dict)
    state: str = "ENABLED"
    verified_email: bool = True
    #: the default address (``None``: the customer has none, e.g. a newsletter sign-up)
    address: Address | None = None

    @property
    def gid(self) -> str:
        return gid("Customer", self.id)

    @property
    def birth_date(self) -> date | None:
        value = self.metafields.get(("facts", "birth_date"))
        return date.fromisoformat(value) if value else None

    @property
    def display_name(self) -> str:
        name = " ".join(p for p in (self.first_name, self.last_name) if p)
        return name or self.email or self.phone or ""


@dataclass(slots=True)
class Variant:
    id: int
    product_id: int
    title: str
    sku: str
    price: Decimal
    unit_cost: Decimal
    inventory_item_id: int
    position: int
    created_at: datetime
    updated_at: datetime
    inventory_quantity: int = 100

    @property
    def gid(self) -> str:
        return gid("ProductVariant", self.id)


@dataclass(slots=True)
class Product:
    id: int
    title: str
    handle: str
    product_type: str
    vendor: str
    tags: list[str]
    status: str  # ACTIVE, ARCHIVED, DRAFT
    created_at: datetime
    updated_at: datetime
    category_id: str
    category_name: str
    category_full_name: str
    description_html: str
    variants: list[Variant]
    published_at: datetime | None = None

    @property
    def gid(self) -> str:
        return gid("Product", self.id)


@dataclass(slots=True)
class AppliedDiscount:
    """A discount code applied to an order.  ``kind``: percentage, fixed_amount, shipping."""

    code: str
    kind: str
    value: Decimal  # percent (e.g. 10) or amount
    amount: Decimal  # what it took off the order


@dataclass(slots=True)
class LineItem:
    id: int
    variant_id: int | None
    product_id: int | None
    title: str
    variant_title: str | None
    sku: str | None
    vendor: str | None
    quantity: int
    price: Decimal  # unit price before discounts
    total_discount: Decimal  # discount allocated to the whole line
    tax: Decimal  # tax on the discounted line total

    @property
    def gid(self) -> str:
        return gid("LineItem", self.id)

    @property
    def original_total(self) -> Decimal:
        return q2(self.price * self.quantity)

    @property
    def discounted_total(self) -> Decimal:
        return self.original_total - self.total_discount


@dataclass(slots=True)
class RefundLineItem:
    id: int
    line_item: LineItem
    quantity: int
    subtotal: Decimal
    total_tax: Decimal
    restock_type: str = "RETURN"  # RETURN, NO_RESTOCK, CANCEL

    @property
    def gid(self) -> str:
        return gid("RefundLineItem", self.id)

    @property
    def line_item_id(self) -> int:
        return self.line_item.id


@dataclass(slots=True)
class Refund:
    id: int
    order_id: int
    created_at: datetime
    note: str | None
    line_items: list[RefundLineItem]
    shipping: Decimal
    transaction_id: int
    shipping_line_id: int | None = None
    adjustment_id: int | None = None

    @property
    def gid(self) -> str:
        return gid("Refund", self.id)

    @property
    def total(self) -> Decimal:
        lines = sum((r.subtotal + r.total_tax for r in self.line_items), ZERO)
        return lines + self.shipping


@dataclass(slots=True)
class Order:
    id: int
    number: int  # order_number, 1001...
    customer_id: int | None
    email: str | None
    phone: str | None
    created_at: datetime
    processed_at: datetime
    updated_at: datetime
    currency: str
    customer_locale: str | None
    line_items: list[LineItem]
    shipping: Decimal
    shipping_title: str
    tax_rate: Decimal
    discounts: list[AppliedDiscount] = field(default_factory=list)
    payment: str = "paid"  # paid, pending, voided
    fulfillment: str = "UNFULFILLED"  # UNFULFILLED, FULFILLED, PARTIALLY_FULFILLED
    fulfilled_at: datetime | None = None
    cancelled_at: datetime | None = None
    cancel_reason: str | None = None  # CUSTOMER, DECLINED, FRAUD, INVENTORY, OTHER, STAFF
    closed_at: datetime | None = None
    refunds: list[Refund] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    note: str | None = None
    test: bool = False
    source_name: str = "web"
    shipping_line_id: int = 0
    transaction_id: int = 0
    buyer_accepts_marketing: bool = False
    shipping_address: Address | None = None

    @property
    def gid(self) -> str:
        return gid("Order", self.id)

    @property
    def name(self) -> str:
        return f"#{self.number}"

    @property
    def line_items_total(self) -> Decimal:
        return sum((li.original_total for li in self.line_items), ZERO)

    @property
    def subtotal(self) -> Decimal:
        """Σ(line price × qty) − line discounts."""
        return sum((li.discounted_total for li in self.line_items), ZERO)

    @property
    def total_discounts(self) -> Decimal:
        return sum((li.total_discount for li in self.line_items), ZERO)

    @property
    def total_tax(self) -> Decimal:
        return sum((li.tax for li in self.line_items), ZERO)

    @property
    def total_price(self) -> Decimal:
        return self.subtotal + self.shipping + self.total_tax

    @property
    def total_refunded(self) -> Decimal:
        return sum((r.total for r in self.refunds), ZERO)

    @property
    def financial_status(self) -> str:
        """``displayFinancialStatus``: PAID, PENDING, VOIDED, PARTIALLY_REFUNDED, REFUNDED."""
        if self.payment == "voided":
            return "VOIDED"
        if self.payment == "pending":
            return "PENDING"
        refunded = self.total_refunded
        if refunded <= 0:
            return "PAID"
        if refunded >= self.total_price:
            return "REFUNDED"
        return "PARTIALLY_REFUNDED"

    def refunded_quantity(self, line_item_id: int) -> int:
        return sum(r.quantity for ref in self.refunds for r in ref.line_items
                   if r.line_item.id == line_item_id)

    def refunded_shipping(self) -> Decimal:
        return sum((r.shipping for r in self.refunds), ZERO)


@dataclass(slots=True)
class DiscountCode:
    """A code discount; ``created_by_app`` tells the app's codes from the merchant's."""

    id: int  # DiscountCodeNode id
    redeem_code_id: int
    kind: str  # basic, free_shipping, bxgy
    code: str
    title: str
    starts_at: datetime
    ends_at: datetime | None
    usage_limit: int | None
    applies_once_per_customer: bool
    created_at: datetime
    input: dict[str, Any]
    created_by_app: bool = True
    updated_at: datetime | None = None
    usage_count: int = 0

    @property
    def gid(self) -> str:
        return gid("DiscountCodeNode", self.id)

    def _customer_gets_value(self) -> dict[str, Any]:
        return dict((self.input.get("customerGets") or {}).get("value") or {})

    def customer_ids(self) -> set[int] | None:
        """Customers the code is limited to (``None`` = everyone)."""
        selection = self.input.get("context") or self.input.get("customerSelection") or {}
        added = (selection.get("customers") or {}).get("add")
        if not added:
            return None
        return {int(str(c).rsplit("/", 1)[-1]) for c in added}

    def minimum_subtotal(self) -> Decimal:
        requirement = self.input.get("minimumRequirement") or {}
        subtotal = (requirement.get("subtotal") or {}).get("greaterThanOrEqualToSubtotal")
        return Decimal(str(subtotal)) if subtotal is not None else ZERO

    def value(self) -> tuple[str, Decimal]:
        """(``percentage`` with 0-100, or ``fixed_amount``) for redemption."""
        if "kind" in self.input:  # merchant codes made by the generator
            return str(self.input["kind"]), Decimal(str(self.input["value"]))
        value = self._customer_gets_value()
        if value.get("percentage") is not None:
            return "percentage", Decimal(str(value["percentage"])) * 100
        amount = (value.get("discountAmount") or {}).get("amount")
        if amount is not None:
            return "fixed_amount", Decimal(str(amount))
        return "percentage", ZERO

    def applies_on_each_item(self) -> bool:
        amount = self._customer_gets_value().get("discountAmount") or {}
        return bool(amount.get("appliesOnEachItem"))

    @property
    def typename(self) -> str:
        return {
            "basic": "DiscountCodeBasic",
            "free_shipping": "DiscountCodeFreeShipping",
            "bxgy": "DiscountCodeBxgy",
        }[self.kind]


@dataclass(slots=True)
class WebhookSubscription:
    id: int
    topic: str  # enum form, e.g. ORDERS_CREATE
    uri: str
    format: str
    created_at: datetime
    updated_at: datetime

    @property
    def gid(self) -> str:
        return gid("WebhookSubscription", self.id)


@dataclass(slots=True)
class BulkOperation:
    id: int
    query: str
    status: str  # CREATED, RUNNING, COMPLETED, FAILED, CANCELING, CANCELED
    created_at: datetime
    completed_at: datetime | None = None
    error_code: str | None = None
    object_count: int = 0
    root_object_count: int = 0
    file_size: int | None = None
    url: str | None = None
    path: str | None = None
    cancel_requested: bool = False

    @property
    def gid(self) -> str:
        return gid("BulkOperation", self.id)
