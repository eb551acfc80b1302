"""One WooCommerce store (a WordPress site under ``/stores/<name>``): its records, seeded from the
shared generator (``sandbox.store``), the shopper and merchant actions that change them, and their
REST API v3 shapes (``rest.py`` serves them, webhooks carry them).

Ids are WordPress's: customers are users (the site's admin is user 1, customers 2, 3, …);
products, variations, coupons, orders and refunds share the posts sequence (products first, then
coupons, then orders in creation order, each followed by its refunds); order items (lines,
shipping, tax and coupon lines) have their own sequence; API keys and webhooks theirs.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sandbox.store.accounting import TIMEZONE, IdAllocator, shipping_price
from sandbox.store.generator import StoreGenerator, StoreSpec
from sandbox.store.model import Customer as GenCustomer
from sandbox.store.model import Order as GenOrder

from .common import ZERO, WPError, derived_rng, q2, utc_now, wc_gmt, wc_local, wc_money, wc_number, zone

#: The generator's payment states → WooCommerce order statuses (see ``_seed_order``).
ORDER_STATUSES = ("pending", "processing", "on-hold", "completed", "cancelled", "refunded", "failed",
                  "checkout-draft")
PAID_STATUSES = frozenset({"processing", "completed", "refunded"})
WEBHOOK_RESOURCES = ("coupon", "customer", "order", "product")
WEBHOOK_EVENTS = ("created", "updated", "deleted", "restored")
WEBHOOK_HOOKS: dict[str, list[str]] = {
    "coupon.created": ["woocommerce_process_shop_coupon_meta", "woocommerce_new_coupon"],
    "coupon.updated": ["woocommerce_process_shop_coupon_meta", "woocommerce_update_coupon"],
    "coupon.deleted": ["wp_trash_post"],
    "coupon.restored": ["untrashed_post"],
    "customer.created": ["user_register", "woocommerce_created_customer", "woocommerce_new_customer"],
    "customer.updated": ["profile_update", "woocommerce_update_customer"],
    "customer.deleted": ["delete_user"],
    "order.created": ["woocommerce_new_order"],
    "order.updated": ["woocommerce_update_order", "woocommerce_order_refunded",
                      "woocommerce_delete_order_refund"],
    "order.deleted": ["wp_trash_post", "woocommerce_trash_order"],
    "order.restored": ["untrashed_post", "woocommerce_untrash_order"],
    "product.created": ["woocommerce_process_product_meta", "woocommerce_new_product",
                        "woocommerce_new_product_variation"],
    "product.updated": ["woocommerce_process_product_meta", "woocommerce_update_product",
                        "woocommerce_update_product_variation"],
    "product.deleted": ["wp_trash_post"],
    "product.restored": ["untrashed_post"],
}
PAYMENT_METHODS = (("stripe", "Credit Card (Stripe)"), ("ppcp-gateway", "PayPal"),
                   ("cod", "Cash on delivery"))
TAX_RATE_ID = 1
#: order meta WooCommerce keeps out of the REST ``meta_data`` (the data store's internal keys)
INTERNAL_ORDER_META = frozenset({"_recorded_coupon_usage_counts", "_recorded_sales", "_order_stock_reduced"})
_EMPTY_ADDRESS = {"first_name": "", "last_name": "", "company": "", "address_1": "", "address_2": "",
                  "city": "", "state": "", "postcode": "", "country": ""}


# --- records ------------------------------------------------------------------------------------

@dataclass(slots=True)
class WooCustomer:
    id: int
    email: str
    first_name: str
    last_name: str
    username: str
    date_created: datetime
    date_modified: datetime
    billing: dict[str, str]
    shipping: dict[str, str]
    role: str = "customer"
    meta_data: list[dict[str, Any]] = field(default_factory=list)
    is_paying_customer: bool = False


@dataclass(slots=True)
class WooVariation:
    id: int
    parent_id: int
    sku: str
    regular_price: Decimal
    option: str  # the "Size" attribute's value
    menu_order: int
    date_created: datetime
    date_modified: datetime
    stock_quantity: int
    cost: Decimal | None = None
    status: str = "publish"


@dataclass(slots=True)
class WooProduct:
    id: int
    name: str
    slug: str
    type: str  # simple, variable
    status: str  # publish, draft, private, trash
    date_created: datetime
    date_modified: datetime
    description: str
    sku: str
    regular_price: Decimal
    category: tuple[int, str, str]  # term id, name, slug
    tags: list[tuple[int, str, str]]
    variations: list[WooVariation]
    stock_quantity: int | None
    cost: Decimal | None = None
    total_sales: int = 0
    sale_price: Decimal | None = None

    @property
    def price(self) -> Decimal:
        if self.variations:
            return min(v.regular_price for v in self.variations)
        return self.sale_price if self.sale_price is not None else self.regular_price


@dataclass(slots=True)
class WooLine:
    id: int
    product_id: int
    variation_id: int
    name: str
    sku: str
    quantity: int
    subtotal: Decimal  # before coupons
    total: Decimal  # after coupons
    subtotal_tax: Decimal
    total_tax: Decimal
    meta_data: list[dict[str, Any]] = field(default_factory=list)


@dataclass(slots=True)
class WooCouponLine:
    id: int
    code: str
    discount: Decimal
    discount_tax: Decimal
    discount_type: str
    nominal_amount: Decimal


@dataclass(slots=True)
class WooRefundLine:
    id: int
    line: WooLine  # the refunded order item
    quantity: int
    total: Decimal  # positive here, negative in the API
    tax: Decimal


@dataclass(slots=True)
class WooRefund:
    id: int
    order_id: int
    date_created: datetime
    amount: Decimal
    reason: str
    lines: list[WooRefundLine]
    shipping: Decimal = ZERO
    shipping_item_id: int | None = None
    refunded_by: int = 1
    refunded_payment: bool = True


@dataclass(slots=True)
class WooOrder:
    id: int
    status: str
    currency: str
    customer_id: int
    billing: dict[str, str]
    shipping: dict[str, str]
    lines: list[WooLine]
    shipping_total: Decimal
    shipping_title: str
    shipping_item_id: int
    tax_item_id: int
    tax_rate: Decimal
    date_created: datetime
    date_modified: datetime
    order_key: str
    coupons: list[WooCouponLine] = field(default_factory=list)
    refunds: list[WooRefund] = field(default_factory=list)
    date_paid: datetime | None = None
    date_completed: datetime | None = None
    payment_method: str = "stripe"
    payment_method_title: str = "Credit Card (Stripe)"
    transaction_id: str = ""
    created_via: str = "checkout"
    customer_note: str = ""
    customer_ip_address: str = ""
    customer_user_agent: str = ""
    meta_data: list[dict[str, Any]] = field(default_factory=list)
    trashed_status: str | None = None  # the status before trashing (``status`` is then "trash")

    @property
    def cart_tax(self) -> Decimal:
        return sum((li.total_tax for li in self.lines), ZERO)

    @property
    def discount_total(self) -> Decimal:
        return sum((li.subtotal - li.total for li in self.lines), ZERO)

    @property
    def discount_tax(self) -> Decimal:
        return sum((li.subtotal_tax - li.total_tax for li in self.lines), ZERO)

    @property
    def total(self) -> Decimal:
        return sum((li.total for li in self.lines), ZERO) + self.shipping_total + self.cart_tax

    @property
    def total_refunded(self) -> Decimal:
        return sum((r.amount for r in self.refunds), ZERO)

    def refunded_quantity(self, line_id: int) -> int:
        return sum(rl.quantity for r in self.refunds for rl in r.lines if rl.line.id == line_id)


@dataclass(slots=True)
class WooCoupon:
    id: int
    code: str
    amount: Decimal
    discount_type: str  # percent, fixed_cart, fixed_product
    date_created: datetime
    date_modified: datetime
    description: str = ""
    date_expires: datetime | None = None
    usage_count: int = 0
    usage_limit: int | None = None
    usage_limit_per_user: int | None = None
    individual_use: bool = False
    product_ids: list[int] = field(default_factory=list)
    email_restrictions: list[str] = field(default_factory=list)
    minimum_amount: Decimal = ZERO
    maximum_amount: Decimal = ZERO
    free_shipping: bool = False
    used_by: list[str] = field(default_factory=list)
    meta_data: list[dict[str, Any]] = field(default_factory=list)
    status: str = "publish"
    trashed_status: str | None = None


@dataclass(slots=True)
class WooWebhook:
    id: int
    name: str
    status: str  # active, paused, disabled
    topic: str
    delivery_url: str
    secret: str
    date_created: datetime
    date_modified: datetime
    user_id: int = 1
    api_version: int = 3
    failure_count: int = 0
    pending_delivery: bool = True

    @property
    def resource(self) -> str:
        return self.topic.split(".", 1)[0]

    @property
    def event(self) -> str:
        return self.topic.split(".", 1)[1] if "." in self.topic else ""


@dataclass(slots=True)
class ApiKey:
    key_id: int
    user_id: int
    description: str
    permissions: str  # read, write, read_write
    consumer_key: str
    consumer_secret: str
    nonces: dict[str, int] = field(default_factory=dict)  # nonce -> timestamp
    last_access: datetime | None = None


def rand_hash() -> str:
    """``wc_rand_hash()``: 40 hex characters."""
    return secrets.token_hex(20)


def coupon_code(value: str) -> str:
    """``wc_format_coupon_code``: WooCommerce keeps coupon codes lower case."""
    return re.sub(r"\s+", " ", str(value)).strip().lower()


EventSink = Callable[["WooStore", str, int], None]


# --- the store ----------------------------------------------------------------------------------

class WooStore(str):
    """A seeded WooCommerce store.  Mutations take ``lock``, move ``date_modified`` strictly forward
    (second precision) and then emit their webhook topics through ``sink``.

    The store *is* its home URL as a string (``sandbox.add_store(…)`` gives "the store URL":
    ``f"{store}/wp-json/wc/v3"``, ``requests.get(store)`` work) with the records and actions as
    attributes; the string is fixed when the store is added, so add stores after ``start()``."""

    __slots__ = ("__dict__",)

    def __new__(cls, name: str, spec: StoreSpec, *, url_of: Callable[[str], str], sink: EventSink,
                timezone: str | None = None, title: str | None = None, locale: str = "en_US") -> WooStore:
        return super().__new__(cls, url_of(name))

    def __init__(self, name: str, spec: StoreSpec, *, url_of: Callable[[str], str], sink: EventSink,
                 timezone: str | None = None, title: str | None = None, locale: str = "en_US") -> None:
        super().__init__()
        self.name = name
        #: the site language (WordPress's ``get_locale()``, e.g. ``he_IL``): the storefront's default
        self.locale = locale
        self.spec = spec
        self.site_name = title or name.replace("-", " ").title()
        self._url_of = url_of
        self._sink = sink
        self.lock = threading.RLock()
        self.currency = spec.currency
        self.timezone_name = timezone or TIMEZONE.get(spec.currency, "UTC")
        self.tz: ZoneInfo = zone(self.timezone_name) or ZoneInfo("UTC")
        anchor = spec.now.replace(microsecond=0)
        self._clock_offset = max(timedelta(0), anchor - utc_now())
        self._rng = derived_rng(spec.seed, "woocommerce-live", name)
        #: the Comeback plugin's settings (``sandbox.set_plugin``): app URL, shop domain, secret
        self.plugin: dict[str, str] | None = None
        self.connect_state: str | None = None  # the plugin's "Connect" state (a transient in WordPress)
        self.claim_error: str | None = None
        #: wc-auth: ``auto`` (the logged-in admin approves), ``manual`` (an Approve/Deny page) or
        #: ``deny`` (the admin refuses)
        self.wc_auth_mode = "auto"
        self.api_keys: dict[int, ApiKey] = {}
        self.webhooks: dict[int, WooWebhook] = {}
        self.customers: dict[int, WooCustomer] = {}
        self.products: dict[int, WooProduct] = {}
        self.variations: dict[int, WooVariation] = {}
        self.orders: dict[int, WooOrder] = {}
        self.coupons: dict[int, WooCoupon] = {}
        self.refunds: dict[int, WooRefund] = {}
        self._post_id = 9
        self._item_id = 0
        self._key_id = 0
        self._webhook_id = 0
        self._term_id = 14
        self._last_stamp = anchor - timedelta(days=1)
        self.admin_email = f"admin@{name}.example"
        #: ``wp_salt()``: what ``wp_hash`` (webhook delivery ids) keys with
        self.salt = secrets.token_hex(16)
        #: storefront sessions (cart items, applied coupons, notices) by session cookie
        self.sessions: dict[str, dict[str, Any]] = {}
        self._trashed_product_status: dict[int, str] = {}
        self._seed(StoreGenerator(spec))

    def __repr__(self) -> str:
        return f"<WooStore {self.name} at {self.url}>"

    # --- ids and time -----------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The site's home URL (``home_url()``), no trailing slash."""
        return self._url_of(self.name)

    @property
    def domain(self) -> str:
        """What Comeback calls this shop: the home URL's host[:port]/path, lower case."""
        return self.url.split("://", 1)[-1].rstrip("/").lower()

    def now(self) -> datetime:
        return utc_now() + self._clock_offset

    def stamp(self) -> datetime:
        """Now, strictly after the previous stamp (so ``modified_after`` never misses a change)."""
        at = max(self.now(), self._last_stamp + timedelta(seconds=1))
        self._last_stamp = at
        return at

    def _next_post(self) -> int:
        self._post_id += 1
        return self._post_id

    def _next_item(self) -> int:
        self._item_id += 1
        return self._item_id

    def _next_term(self) -> int:
        self._term_id += 1
        return self._term_id

    def emit(self, topic: str, resource_id: int) -> None:
        self._sink(self, topic, resource_id)

    # --- seeding ----------------------------------------------------------------------------

    def _seed(self, gen: StoreGenerator) -> None:
        terms: dict[str, tuple[int, str, str]] = {}

        def term(kind: str, label: str) -> tuple[int, str, str]:
            key = f"{kind}:{label}"
            if key not in terms:
                terms[key] = (self._next_term(), label, re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-"))
            return terms[key]

        product_of_variant: dict[int, tuple[int, int]] = {}  # generator variant -> (product, variation)
        for p in gen.products:
            pid = self._next_post()
            simple = len(p.variants) == 1 and p.variants[0].title == "Default Title"
            status = {"ACTIVE": "publish", "DRAFT": "draft", "ARCHIVED": "private"}.get(p.status, "publish")
            product = WooProduct(
                id=pid, name=p.title, slug=p.handle, type="simple" if simple else "variable",
                status=status, date_created=p.created_at, date_modified=p.updated_at,
                description=p.description_html,
                sku=p.variants[0].sku if simple else p.variants[0].sku.rsplit("-", 1)[0],
                regular_price=p.variants[0].price, category=term("cat", p.category_name),
                tags=[term("tag", t) for t in p.tags], variations=[],
                stock_quantity=p.variants[0].inventory_quantity if simple else None,
                cost=p.variants[0].unit_cost if simple else None)
            if simple:
                product_of_variant[p.variants[0].id] = (pid, 0)
            else:
                for v in p.variants:
                    vid = self._next_post()
                    variation = WooVariation(
                        id=vid, parent_id=pid, sku=v.sku, regular_price=v.price, option=v.title,
                        menu_order=v.position, date_created=v.created_at, date_modified=v.updated_at,
                        stock_quantity=v.inventory_quantity, cost=v.unit_cost,
                        status="publish" if status == "publish" else "private")
                    product.variations.append(variation)
                    self.variations[vid] = variation
                    product_of_variant[v.id] = (pid, vid)
            self.products[pid] = product

        self._seed_rng = derived_rng(self.spec.seed, "woo-orders")  # one stream: orders come in id order
        customer_ids: dict[int, int] = {}
        for user_id, c in enumerate(gen.customers(), start=2):
            customer_ids[c.id] = user_id
            self.customers[user_id] = self._seed_customer(user_id, c)

        code_ids: dict[str, int] = {}
        for dc in gen.merchant_discount_codes(IdAllocator()):
            cid = self._next_post()
            kind, value = dc.value()
            code = coupon_code(dc.code)
            code_ids[code] = cid
            self.coupons[cid] = WooCoupon(
                id=cid, code=code, amount=q2(value),
                discount_type="percent" if kind == "percentage" else "fixed_cart",
                date_created=dc.created_at, date_modified=dc.created_at, description=dc.title,
                usage_limit_per_user=1 if dc.applies_once_per_customer else None,
                minimum_amount=q2(Decimal("50") * gen.fx) if dc.code == "SAVE10" else ZERO,
                individual_use=True)

        for gen_order, gen_customer in gen.iter_orders_with_customers():
            order = self._seed_order(gen_order, gen_customer, customer_ids, product_of_variant)
            self.orders[order.id] = order
            for code_line in order.coupons:
                coupon = self.coupons.get(code_ids.get(code_line.code, 0))
                if coupon is not None:
                    coupon.usage_count += 1
                    coupon.used_by.append(str(order.customer_id) if order.customer_id
                                          else order.billing.get("email", ""))
            if order.customer_id and order.status in PAID_STATUSES:
                self.customers[order.customer_id].is_paying_customer = True
            for line in order.lines:
                sold = self.products.get(line.product_id)
                if sold is not None:
                    sold.total_sales += line.quantity
        self._last_stamp = max(self._last_stamp, self.spec.now.replace(microsecond=0))

    def _seed_customer(self, user_id: int, c: GenCustomer) -> WooCustomer:
        address = self._address(c.address, c.first_name, c.last_name)
        billing = {**address, "email": c.email or "", "phone": c.phone or ""}
        shipping = {**address, "phone": ""}
        email = c.email or f"user{user_id}@{self.name}.example"
        return WooCustomer(
            id=user_id, email=email, first_name=c.first_name or "", last_name=c.last_name or "",
            username=email.split("@", 1)[0].lower()[:50] or f"user{user_id}",
            date_created=c.created_at, date_modified=c.updated_at, billing=billing, shipping=shipping)

    @staticmethod
    def _address(a: Any, first: str | None, last: str | None) -> dict[str, str]:
        if a is None:
            return {**_EMPTY_ADDRESS, "first_name": first or "", "last_name": last or ""}
        return {"first_name": a.first_name or first or "", "last_name": a.last_name or last or "",
                "company": "", "address_1": a.address1 or "", "address_2": a.address2 or "",
                "city": a.city or "", "state": a.province_code or "", "postcode": a.zip or "",
                "country": a.country_code or ""}

    def _seed_order(self, o: GenOrder, c: GenCustomer | None, customer_ids: dict[int, int],
                    product_of_variant: dict[int, tuple[int, int]]) -> WooOrder:
        oid = self._next_post()
        rng = self._seed_rng
        lines = []
        for li in o.line_items:
            pid, vid = product_of_variant.get(li.variant_id or 0, (0, 0))
            name = li.title + (f" - {li.variant_title}" if li.variant_title else "")
            item_id = self._next_item()
            lines.append(WooLine(
                id=item_id, product_id=pid, variation_id=vid, name=name, sku=li.sku or "",
                quantity=li.quantity, subtotal=li.original_total, total=li.discounted_total,
                subtotal_tax=q2(li.original_total * o.tax_rate), total_tax=li.tax,
                meta_data=_size_meta(item_id, li.variant_title) if vid else []))
        coupons = [WooCouponLine(
            id=self._next_item(), code=coupon_code(d.code), discount=d.amount,
            discount_tax=q2(d.amount * o.tax_rate),
            discount_type="percent" if d.kind == "percentage" else "fixed_cart",
            nominal_amount=d.value) for d in o.discounts]
        user_id = customer_ids.get(o.customer_id or 0, 0)
        ship = self._address(o.shipping_address, c.first_name if c else None, c.last_name if c else None)
        billing_base = self.customers[user_id].billing if user_id else {**ship}
        billing = {**_EMPTY_ADDRESS, **{k: v for k, v in billing_base.items() if k in _EMPTY_ADDRESS},
                   "email": o.email or "", "phone": o.phone or ""}
        if not billing["first_name"] and o.email:  # checkout asks a guest's name
            billing["first_name"] = o.email.split("@", 1)[0].rstrip("0123456789").title() or "Guest"
            ship["first_name"] = ship["first_name"] or billing["first_name"]
        method, method_title = PAYMENT_METHODS[rng.choices((0, 1, 2), weights=(70, 25, 5))[0]]
        order = WooOrder(
            id=oid, status="processing", currency=o.currency, customer_id=user_id, billing=billing,
            shipping={**ship, "phone": ""}, lines=lines, shipping_total=o.shipping,
            shipping_title=o.shipping_title, shipping_item_id=self._next_item(),
            tax_item_id=self._next_item(), tax_rate=o.tax_rate, date_created=o.created_at,
            date_modified=o.updated_at, order_key="wc_order_" + rng.getrandbits(64).to_bytes(8, "big").hex()[:13],
            coupons=coupons, payment_method=method, payment_method_title=method_title,
            customer_ip_address=f"203.0.113.{rng.randint(1, 254)}")
        if o.payment == "pending":
            order.status = "on-hold" if method == "cod" else "pending"
        elif o.payment == "voided":
            order.status = "failed"
        else:
            order.date_paid = o.created_at + timedelta(seconds=rng.randint(2, 40))
            order.transaction_id = ("pi_" if method == "stripe" else "") + rng.getrandbits(80).to_bytes(10, "big").hex()
        for gr in o.refunds:
            refund_lines = []
            for rl in gr.line_items:
                line = next(li for li, gl in zip(lines, o.line_items, strict=True) if gl.id == rl.line_item.id)
                refund_lines.append(WooRefundLine(id=0, line=line, quantity=rl.quantity, total=rl.subtotal,
                                                  tax=rl.total_tax))
            refund = WooRefund(
                id=self._next_post(), order_id=oid, date_created=gr.created_at, amount=gr.total,
                reason=gr.note or "", lines=refund_lines, shipping=gr.shipping)
            for refund_line in refund_lines:
                refund_line.id = self._next_item()
            if gr.shipping:
                refund.shipping_item_id = self._next_item()
            order.refunds.append(refund)
            self.refunds[refund.id] = refund
        if o.cancelled_at is not None and o.payment != "voided":
            order.status = "cancelled"
        elif order.date_paid is not None:
            if order.refunds and order.total_refunded >= order.total:
                order.status = "refunded"
            elif o.fulfillment == "FULFILLED":
                order.status = "completed"
                order.date_completed = o.fulfilled_at
        return order

    # --- reads ------------------------------------------------------------------------------

    def product_of(self, product_or_variation_id: int) -> tuple[WooProduct, WooVariation | None]:
        variation = self.variations.get(product_or_variation_id)
        if variation is not None:
            return self.products[variation.parent_id], variation
        product = self.products.get(product_or_variation_id)
        if product is None:
            raise WPError("woocommerce_rest_invalid_product_id", "Invalid product ID.", 400)
        return product, None

    def find_coupon(self, code: str) -> WooCoupon | None:
        wanted = coupon_code(code)
        with self.lock:
            for coupon in self.coupons.values():
                if coupon.code == wanted and coupon.status != "trash":
                    return coupon
        return None

    def find_customer_by_email(self, email: str) -> WooCustomer | None:
        wanted = email.strip().lower()
        with self.lock:
            customers = list(self.customers.values())
        for customer in customers:
            if customer.email.lower() == wanted:
                return customer
        return None

    def customer(self, customer_id: int) -> WooCustomer:
        customer = self.customers.get(customer_id)
        if customer is None:
            raise WPError("woocommerce_rest_invalid_id", "Invalid resource ID.", 400)
        return customer

    def order(self, order_id: int) -> WooOrder:
        order = self.orders.get(order_id)
        if order is None:
            raise WPError("woocommerce_rest_shop_order_invalid_id", "Invalid ID.", 404)
        return order

    # --- customers --------------------------------------------------------------------------

    def create_customer(self, *, email: str, first_name: str = "", last_name: str = "",
                        username: str | None = None, billing: dict[str, str] | None = None,
                        shipping: dict[str, str] | None = None,
                        meta_data: list[dict[str, Any]] | None = None) -> WooCustomer:
        """A shopper registers (My Account or checkout) or the REST API creates a customer."""
        email = (email or "").strip()
        if not email or "@" not in email:
            raise WPError("customer_invalid_email", "Please provide a valid email address.", 400)
        with self.lock:
            if self.find_customer_by_email(email) is not None:
                raise WPError("registration-error-email-exists",
                              "An account is already registered with your email address. "
                              "Please log in.", 400)
            user_id = max([1, *self.customers]) + 1
            at = self.stamp()
            name = username or email.split("@", 1)[0]
            if any(c.username == name for c in self.customers.values()):
                name = f"{name}{user_id}"
            customer = WooCustomer(
                id=user_id, email=email, first_name=first_name, last_name=last_name, username=name,
                date_created=at, date_modified=at,
                billing={**_EMPTY_ADDRESS, "first_name": first_name, "last_name": last_name, "email": email,
                         "phone": "", **(billing or {})},
                shipping={**_EMPTY_ADDRESS, "phone": "", **(shipping or {})},
                meta_data=_meta_list(meta_data or [], start=user_id * 100))
            self.customers[user_id] = customer
        self.emit("customer.created", user_id)
        return customer

    def update_customer(self, customer_id: int, **changes: Any) -> WooCustomer:
        with self.lock:
            customer = self.customer(customer_id)
            for key in ("email", "first_name", "last_name"):
                if changes.get(key) is not None:
                    setattr(customer, key, str(changes[key]))
            for key in ("billing", "shipping"):
                if changes.get(key):
                    getattr(customer, key).update({k: str(v) for k, v in changes[key].items()})
            if changes.get("meta_data"):
                _merge_meta(customer.meta_data, changes["meta_data"], start=customer_id * 100)
            customer.date_modified = self.stamp()
        self.emit("customer.updated", customer_id)
        return customer

    def delete_customer(self, customer_id: int) -> WooCustomer:
        with self.lock:
            customer = self.customer(customer_id)
            del self.customers[customer_id]
            for order in self.orders.values():
                if order.customer_id == customer_id:
                    order.customer_id = 0  # WordPress keeps the orders as guest orders
        self.emit("customer.deleted", customer_id)
        return customer

    # --- products ---------------------------------------------------------------------------

    def update_product(self, product_id: int, **changes: Any) -> WooProduct:
        with self.lock:
            product, variation = self.product_of(product_id)
            target: Any = variation or product
            if changes.get("name") is not None and variation is None:
                product.name = str(changes["name"])
            if changes.get("regular_price") not in (None, ""):
                target.regular_price = q2(Decimal(str(changes["regular_price"])))
            if changes.get("sale_price") is not None and variation is None:
                product.sale_price = q2(Decimal(str(changes["sale_price"]))) if changes["sale_price"] != "" else None
            if changes.get("status"):
                target.status = str(changes["status"])
            if changes.get("stock_quantity") is not None:
                target.stock_quantity = int(changes["stock_quantity"])
            if changes.get("cost") is not None:
                target.cost = q2(Decimal(str(changes["cost"])))
            at = self.stamp()
            target.date_modified = at
            product.date_modified = at
        self.emit("product.updated", variation.id if variation is not None else product.id)
        return product

    def trash_product(self, product_id: int, *, force: bool = False) -> WooProduct:
        """Move a product to the trash (``product.deleted``, ``{"id": N}``), or delete it for good."""
        with self.lock:
            product = self.products.get(product_id)
            if product is None or (product.status == "trash" and not force):
                raise WPError("woocommerce_rest_product_invalid_id", "Invalid ID.", 404)
            if force:
                del self.products[product_id]
                for variation in product.variations:
                    self.variations.pop(variation.id, None)
            else:
                self._trashed_product_status[product_id] = product.status
                product.status = "trash"
                product.date_modified = self.stamp()
        if not force:
            self.emit("product.deleted", product_id)
        return product

    def restore_product(self, product_id: int) -> WooProduct:
        with self.lock:
            product = self.products.get(product_id)
            if product is None or product.status != "trash":
                raise WPError("woocommerce_rest_product_invalid_id", "The product is not in the trash.", 400)
            product.status = self._trashed_product_status.pop(product_id, "draft")
            product.date_modified = self.stamp()
        self.emit("product.restored", product_id)
        return product

    # --- coupons ----------------------------------------------------------------------------

    def create_coupon(self, *, code: str, amount: Decimal | str = ZERO, discount_type: str = "percent",
                      **fields: Any) -> WooCoupon:
        clean = coupon_code(code)
        if not clean:
            raise WPError("woocommerce_rest_empty_coupon_code", "The coupon code cannot be empty.", 400)
        if discount_type not in ("percent", "fixed_cart", "fixed_product"):
            raise WPError("rest_invalid_param", "Invalid parameter(s): discount_type", 400,
                          params={"discount_type": "discount_type is not one of percent, fixed_cart and "
                                                   "fixed_product."})
        with self.lock:
            if self.find_coupon(clean) is not None:
                raise WPError("woocommerce_rest_coupon_code_already_exists",
                              "The coupon code already exists", 400)
            at = self.stamp()
            coupon = WooCoupon(id=self._next_post(), code=clean, amount=q2(Decimal(str(amount or 0))),
                               discount_type=discount_type, date_created=at, date_modified=at)
            _apply_coupon_fields(coupon, fields, self.tz)
            self.coupons[coupon.id] = coupon
        self.emit("coupon.created", coupon.id)
        return coupon

    def update_coupon(self, coupon_id: int, **fields: Any) -> WooCoupon:
        with self.lock:
            coupon = self.coupons.get(coupon_id)
            if coupon is None:
                raise WPError("woocommerce_rest_shop_coupon_invalid_id", "Invalid ID.", 400)
            if fields.get("code") not in (None, ""):
                clean = coupon_code(fields["code"])
                other = self.find_coupon(clean)
                if other is not None and other.id != coupon_id:
                    raise WPError("woocommerce_rest_coupon_code_already_exists",
                                  "The coupon code already exists", 400)
                coupon.code = clean
            if fields.get("amount") not in (None, ""):
                coupon.amount = q2(Decimal(str(fields["amount"])))
            if fields.get("discount_type"):
                coupon.discount_type = str(fields["discount_type"])
            _apply_coupon_fields(coupon, fields, self.tz)
            coupon.date_modified = self.stamp()
        self.emit("coupon.updated", coupon_id)
        return coupon

    def restore_coupon(self, coupon_id: int) -> WooCoupon:
        with self.lock:
            coupon = self.coupons.get(coupon_id)
            if coupon is None or coupon.status != "trash":
                raise WPError("woocommerce_rest_shop_coupon_invalid_id", "The coupon is not in the trash.", 400)
            coupon.status, coupon.trashed_status = coupon.trashed_status or "publish", None
            coupon.date_modified = self.stamp()
        self.emit("coupon.restored", coupon_id)
        return coupon

    def delete_coupon(self, coupon_id: int, *, force: bool = False) -> WooCoupon:
        with self.lock:
            coupon = self.coupons.get(coupon_id)
            if coupon is None or (coupon.status == "trash" and not force):
                raise WPError("woocommerce_rest_shop_coupon_invalid_id", "Invalid ID.", 404)
            if force:
                del self.coupons[coupon_id]
            else:
                coupon.trashed_status, coupon.status = coupon.status, "trash"
                coupon.date_modified = self.stamp()
        if not force:  # the trash hook (force deleting skips it, as in WordPress)
            self.emit("coupon.deleted", coupon_id)
        return coupon

    # --- orders -----------------------------------------------------------------------------

    def place_order(self, *, customer_id: int | None = None, items: Sequence[tuple[int, int]] | None = None,
                    coupons: Iterable[str] = (), paid: bool = True, status: str | None = None,
                    email: str | None = None, billing: dict[str, str] | None = None,
                    shipping: dict[str, str] | None = None, payment_method: str | None = None,
                    created_via: str = "checkout", meta_data: list[dict[str, Any]] | None = None,
                    emit: bool = True) -> WooOrder:
        """A checkout: ``items`` are (product or variation id, quantity) (default: one or two
        random products); ``customer_id`` None or 0 is a guest (``email`` then names them).  Paid
        orders are ``processing`` (with ``date_paid``), unpaid ones ``pending``.  Coupons must exist
        and be usable; their ``usage_count``/``used_by`` go up for a paid order.  Fires
        ``order.created`` (+ ``customer.updated`` for a logged-in buyer)."""
        with self.lock:
            customer = self.customer(customer_id) if customer_id else None
            if items is None:
                sellable = [p for p in self.products.values() if p.status == "publish"]
                picks = self._rng.sample(sellable, k=min(len(sellable), self._rng.choice((1, 1, 2))))
                items = [((self._rng.choice(p.variations).id if p.variations else p.id),
                          self._rng.choice((1, 1, 2))) for p in picks]
            if not items:
                raise WPError("woocommerce_rest_required_product_reference", "Product ID or SKU is required.", 400)
            lines = []
            for ref, qty in items:
                product, variation = self.product_of(int(ref))
                if product.type == "variable" and variation is None:
                    raise WPError("woocommerce_rest_invalid_product_id",
                                  "Variable product requires a variation.", 400)
                if int(qty) < 1:
                    raise WPError("woocommerce_rest_invalid_quantity", "Quantity must be positive.", 400)
                unit = variation.regular_price if variation else product.price
                subtotal = q2(unit * int(qty))
                name = product.name + (f" - {variation.option}" if variation else "")
                item_id = self._next_item()
                lines.append(WooLine(id=item_id, product_id=product.id,
                                     meta_data=_size_meta(item_id, variation.option) if variation else [],
                                     variation_id=variation.id if variation else 0, name=name,
                                     sku=variation.sku if variation else product.sku, quantity=int(qty),
                                     subtotal=subtotal, total=subtotal, subtotal_tax=ZERO, total_tax=ZERO))
            at = self.stamp()
            rate = self.spec.tax_rate if self.spec.tax_rate is not None else _default_rate(self.currency)
            buyer_email = (email or (customer.email if customer else "")).strip()
            coupon_lines = [self._apply_coupon(code, lines, customer, buyer_email) for code in coupons if code]
            for li in lines:
                li.subtotal_tax = q2(li.subtotal * rate)
                li.total_tax = q2(li.total * rate)
            items_total = sum((li.total for li in lines), ZERO)
            free = any(self.coupons[c].free_shipping for c in self.coupons
                       if self.coupons[c].code in {cl.code for cl in coupon_lines})
            threshold = q2(Decimal("75") * _fx(self.currency))
            ship_total = ZERO if free or items_total >= threshold else shipping_price(self.currency, False)
            base_billing = customer.billing if customer else {}
            order_billing = {**_EMPTY_ADDRESS, "email": "", "phone": "",
                             **{k: v for k, v in base_billing.items()}, **(billing or {})}
            order_billing["email"] = order_billing.get("email") or buyer_email
            order_shipping = {**_EMPTY_ADDRESS, "phone": "",
                              **(customer.shipping if customer else {}), **(shipping or {})}
            if not order_shipping.get("address_1"):
                order_shipping.update({k: order_billing.get(k, "") for k in _EMPTY_ADDRESS})
            method = payment_method or "stripe"
            order = WooOrder(
                id=self._next_post(), status="pending", currency=self.currency,
                customer_id=customer.id if customer else 0, billing=order_billing, shipping=order_shipping,
                lines=lines, shipping_total=ship_total,
                shipping_title="Free shipping" if ship_total == 0 else "Flat rate",
                shipping_item_id=self._next_item(), tax_item_id=self._next_item(), tax_rate=rate,
                date_created=at, date_modified=at, order_key="wc_order_" + secrets.token_hex(7)[:13],
                coupons=coupon_lines, payment_method=method,
                payment_method_title=dict(PAYMENT_METHODS).get(method, method.title()),
                created_via=created_via, customer_ip_address="127.0.0.1",
                meta_data=_meta_list(meta_data or [], start=self._item_id * 10 + 1))
            self.orders[order.id] = order
            if status and status != "pending":
                self._set_status(order, status, at)
            elif paid:
                self._pay(order, at)
            if customer is not None:  # checkout saves the buyer's addresses
                customer.date_modified = self.stamp()
        if emit:
            self.emit("order.created", order.id)
            if customer is not None:
                self.emit("customer.updated", customer.id)
        return order

    def _apply_coupon(self, code: str, lines: list[WooLine], customer: WooCustomer | None,
                      email: str) -> WooCouponLine:
        coupon = self.find_coupon(code)
        if coupon is None:
            raise WPError("woocommerce_rest_invalid_coupon", f'Coupon "{coupon_code(code)}" does not exist!', 400)
        now = self.now()
        if coupon.date_expires is not None and coupon.date_expires <= now:
            raise WPError("woocommerce_rest_invalid_coupon", "This coupon has expired.", 400)
        if coupon.usage_limit is not None and coupon.usage_count >= coupon.usage_limit:
            raise WPError("woocommerce_rest_invalid_coupon", "Coupon usage limit has been reached.", 400)
        who = {str(customer.id), customer.email.lower()} if customer else {email.lower()}
        if coupon.usage_limit_per_user is not None:
            used = sum(1 for u in coupon.used_by if u.lower() in who)
            if used >= coupon.usage_limit_per_user:
                raise WPError("woocommerce_rest_invalid_coupon",
                              "Coupon usage limit has been reached.", 400)
        if coupon.email_restrictions:
            allowed = {e.lower() for e in coupon.email_restrictions}
            if not (who & allowed):
                raise WPError("woocommerce_rest_invalid_coupon",
                              "Sorry, it seems this coupon is not yours.", 400)
        items_total = sum((li.total for li in lines), ZERO)
        if coupon.minimum_amount and items_total < coupon.minimum_amount:
            raise WPError("woocommerce_rest_invalid_coupon",
                          f"The minimum spend for this coupon is {wc_money(coupon.minimum_amount)}.", 400)
        eligible = [li for li in lines if not coupon.product_ids or li.product_id in coupon.product_ids]
        base = sum((li.total for li in eligible), ZERO)
        if coupon.discount_type == "percent":
            for li in eligible:
                li.total -= q2(li.total * coupon.amount / 100)
        elif coupon.discount_type == "fixed_product":
            for li in eligible:
                li.total -= min(li.total, q2(coupon.amount * li.quantity))
        elif base > 0:
            amount = min(coupon.amount, base)
            remaining = amount
            for index, li in enumerate(eligible):
                share = remaining if index == len(eligible) - 1 else q2(amount * li.total / base)
                remaining -= share
                li.total -= share
        discount = base - sum((li.total for li in eligible), ZERO)
        rate = self.spec.tax_rate if self.spec.tax_rate is not None else _default_rate(self.currency)
        return WooCouponLine(id=self._next_item(), code=coupon.code, discount=discount,
                             discount_tax=q2(discount * rate), discount_type=coupon.discount_type,
                             nominal_amount=coupon.amount)

    def _pay(self, order: WooOrder, at: datetime) -> None:
        """``payment_complete()``: processing, ``date_paid``, the coupons count the use."""
        order.status = "processing"
        order.date_paid = at
        order.transaction_id = order.transaction_id or "pi_" + secrets.token_hex(12)
        self._count_coupon_use(order)
        for line in order.lines:  # wc_maybe_reduce_stock_levels / total_sales: no product webhook
            product = self.products.get(line.product_id)
            target = self.variations.get(line.variation_id) or product
            if target is not None and target.stock_quantity is not None:
                target.stock_quantity -= line.quantity
            if product is not None:
                product.total_sales += line.quantity
        if order.customer_id and order.customer_id in self.customers:
            self.customers[order.customer_id].is_paying_customer = True

    def _count_coupon_use(self, order: WooOrder) -> None:
        if any(m.get("key") == "_recorded_coupon_usage_counts" for m in order.meta_data):
            return
        for line in order.coupons:
            coupon = self.find_coupon(line.code)
            if coupon is not None:
                coupon.usage_count += 1
                coupon.used_by.append(str(order.customer_id) if order.customer_id else order.billing.get("email", ""))
        order.meta_data.append({"id": self._next_item(), "key": "_recorded_coupon_usage_counts", "value": "yes"})

    def _set_status(self, order: WooOrder, status: str, at: datetime) -> None:
        status = status.removeprefix("wc-")
        if status not in ORDER_STATUSES:
            raise WPError("rest_invalid_param", "Invalid parameter(s): status", 400,
                          params={"status": f"status is not one of {', '.join(ORDER_STATUSES)}."})
        if status in PAID_STATUSES and order.date_paid is None:
            self._pay(order, at)
        if status == "on-hold":
            self._count_coupon_use(order)
        order.status = status
        if status == "completed" and order.date_completed is None:
            order.date_completed = at
        order.date_modified = at

    def set_order_status(self, order_id: int, status: str) -> WooOrder:
        with self.lock:
            order = self.order(order_id)
            self._set_status(order, status, self.stamp())
        self.emit("order.updated", order_id)
        return order

    def mark_paid(self, order_id: int) -> WooOrder:
        """The payment of a pending / on-hold order arrives: processing."""
        return self.set_order_status(order_id, "processing")

    def complete_order(self, order_id: int) -> WooOrder:
        return self.set_order_status(order_id, "completed")

    def cancel_order(self, order_id: int) -> WooOrder:
        return self.set_order_status(order_id, "cancelled")

    def update_order(self, order_id: int, **changes: Any) -> WooOrder:
        with self.lock:
            order = self.order(order_id)
            at = self.stamp()
            for key in ("billing", "shipping"):
                if changes.get(key):
                    getattr(order, key).update({k: str(v) for k, v in changes[key].items()})
            if changes.get("customer_note") is not None:
                order.customer_note = str(changes["customer_note"])
            if changes.get("meta_data"):
                _merge_meta(order.meta_data, changes["meta_data"], start=self._item_id * 10 + 1)
            if changes.get("customer_id") is not None:
                cid = int(changes["customer_id"])
                if cid and cid not in self.customers:
                    raise WPError("woocommerce_rest_invalid_customer_id", "Customer ID is invalid.", 400)
                order.customer_id = cid
            if changes.get("set_paid") and order.date_paid is None:
                self._pay(order, at)
            if changes.get("status"):
                self._set_status(order, str(changes["status"]), at)
            order.date_modified = at
        self.emit("order.updated", order_id)
        return order

    def trash_order(self, order_id: int, *, force: bool = False) -> WooOrder:
        with self.lock:
            order = self.order(order_id)
            if force:
                del self.orders[order_id]
                for refund in order.refunds:
                    self.refunds.pop(refund.id, None)
            else:
                if order.status == "trash":
                    raise WPError("woocommerce_rest_already_trashed", "The order has already been deleted.", 410)
                order.trashed_status, order.status = order.status, "trash"
                order.date_modified = self.stamp()
        if not force:
            self.emit("order.deleted", order_id)
        return order

    def restore_order(self, order_id: int) -> WooOrder:
        with self.lock:
            order = self.order(order_id)
            if order.status != "trash":
                raise WPError("woocommerce_rest_invalid_order", "The order is not in the trash.", 400)
            order.status, order.trashed_status = order.trashed_status or "pending", None
            order.date_modified = self.stamp()
        self.emit("order.restored", order_id)
        return order

    def refund_order(self, order_id: int, *, lines: Sequence[tuple[int, int]] | None = None,
                     amount: Decimal | str | None = None, reason: str = "", shipping: bool | None = None,
                     restock: bool = True, api_refund: bool = True) -> WooRefund:
        """Refund ``lines`` ((order item id, quantity); their tax too) or, with no lines, everything
        left (``amount`` alone refunds that sum with no items).  A refund that brings the refunded
        total to the order total makes the order ``refunded``.  Fires ``order.updated``."""
        with self.lock:
            order = self.order(order_id)
            remaining = order.total - order.total_refunded
            refund_lines: list[WooRefundLine] = []
            ship = ZERO
            if lines is None and amount is None:  # a full refund
                lines = [(li.id, li.quantity - order.refunded_quantity(li.id)) for li in order.lines]
                lines = [(i, q) for i, q in lines if q > 0]
                shipping = True if shipping is None else shipping
            for item_id, qty in lines or ():
                line = next((li for li in order.lines if li.id == int(item_id)), None)
                if line is None:
                    raise WPError("woocommerce_rest_invalid_order_item", "Invalid order item.", 400)
                left = line.quantity - order.refunded_quantity(line.id)
                qty = int(qty)
                if qty < 1 or qty > left:
                    raise WPError("woocommerce_rest_cannot_create_order_refund",
                                  "Invalid refund quantity.", 400)
                if qty == left:  # the last units take what is left of the line (no rounding drift)
                    done = [rl for r in order.refunds for rl in r.lines if rl.line.id == line.id]
                    total = line.total - sum((rl.total for rl in done), ZERO)
                    tax = line.total_tax - sum((rl.tax for rl in done), ZERO)
                else:
                    total = q2(line.total * qty / line.quantity)
                    tax = q2(line.total_tax * qty / line.quantity)
                refund_lines.append(WooRefundLine(id=0, line=line, quantity=qty, total=total, tax=tax))
            if shipping:
                ship = order.shipping_total - sum((r.shipping for r in order.refunds), ZERO)
            computed = sum((rl.total + rl.tax for rl in refund_lines), ZERO) + ship
            value = q2(Decimal(str(amount))) if amount not in (None, "") else computed
            if value <= 0:
                raise WPError("woocommerce_rest_cannot_create_order_refund",
                              "Refund amount must be greater than zero.", 500)
            if value > remaining:
                raise WPError("woocommerce_rest_cannot_create_order_refund",
                              "Invalid refund amount.", 500)
            at = self.stamp()
            refund = WooRefund(id=self._next_post(), order_id=order.id, date_created=at, amount=value,
                               reason=reason, lines=refund_lines, shipping=ship,
                               refunded_payment=api_refund and order.payment_method != "cod")
            for rl in refund_lines:
                rl.id = self._next_item()
            if ship:
                refund.shipping_item_id = self._next_item()
            order.refunds.append(refund)
            self.refunds[refund.id] = refund
            if restock:
                for rl in refund_lines:
                    target = self.variations.get(rl.line.variation_id) or self.products.get(rl.line.product_id)
                    if target is not None and target.stock_quantity is not None:
                        target.stock_quantity += rl.quantity
            if order.total_refunded >= order.total:
                order.status = "refunded"
            order.date_modified = at
        self.emit("order.updated", order_id)
        return refund

    # --- REST shapes ------------------------------------------------------------------------

    def rest_url(self, route: str) -> str:
        return f"{self.url}/wp-json/wc/v3/{route.lstrip('/')}"

    def _links(self, route: str, collection: str, **extra: str) -> dict[str, Any]:
        links: dict[str, Any] = {"self": [{"href": self.rest_url(route)}],
                                 "collection": [{"href": self.rest_url(collection)}]}
        for rel, href in extra.items():
            links[rel] = [{"href": href}]
        return links

    def _dates(self, **values: datetime | None) -> dict[str, str | None]:
        out: dict[str, str | None] = {}
        for key, value in values.items():
            out[key] = wc_local(value, self.tz)
            out[f"{key}_gmt"] = wc_gmt(value)
        return out

    def customer_json(self, c: WooCustomer) -> dict[str, Any]:
        avatar = hashlib.md5(c.email.strip().lower().encode(), usedforsecurity=False).hexdigest()
        return {
            "id": c.id, **self._dates(date_created=c.date_created, date_modified=c.date_modified),
            "email": c.email, "first_name": c.first_name, "last_name": c.last_name, "role": c.role,
            "username": c.username, "billing": dict(c.billing), "shipping": dict(c.shipping),
            "is_paying_customer": c.is_paying_customer,
            "avatar_url": f"https://secure.gravatar.com/avatar/{avatar}?s=96&d=mm&r=g",
            "meta_data": [dict(m) for m in c.meta_data],
            "_links": self._links(f"customers/{c.id}", "customers"),
        }

    def product_json(self, p: WooProduct) -> dict[str, Any]:
        meta = []
        if p.cost is not None:
            meta.append({"id": p.id * 10 + 1, "key": "_wc_cog_cost", "value": wc_money(p.cost)})
        price = p.price
        variable = p.type == "variable"
        return {
            "id": p.id, "name": p.name, "slug": p.slug, "permalink": f"{self.url}/product/{p.slug}/",
            **self._dates(date_created=p.date_created, date_modified=p.date_modified),
            "type": p.type, "status": p.status, "featured": False, "catalog_visibility": "visible",
            "description": p.description, "short_description": "", "sku": p.sku,
            "price": wc_money(price), "regular_price": "" if variable else wc_money(p.regular_price),
            "sale_price": "" if p.sale_price is None or variable else wc_money(p.sale_price),
            "date_on_sale_from": None, "date_on_sale_from_gmt": None, "date_on_sale_to": None,
            "date_on_sale_to_gmt": None, "on_sale": p.sale_price is not None and not variable,
            "purchasable": p.status == "publish", "total_sales": p.total_sales, "virtual": False,
            "downloadable": False, "downloads": [], "download_limit": -1, "download_expiry": -1,
            "external_url": "", "button_text": "", "tax_status": "taxable", "tax_class": "",
            "manage_stock": p.stock_quantity is not None, "stock_quantity": p.stock_quantity,
            "backorders": "no", "backorders_allowed": False, "backordered": False,
            "low_stock_amount": None, "sold_individually": False, "weight": "",
            "dimensions": {"length": "", "width": "", "height": ""}, "shipping_required": True,
            "shipping_taxable": True, "shipping_class": "", "shipping_class_id": 0,
            "reviews_allowed": True, "average_rating": "0.00", "rating_count": 0, "upsell_ids": [],
            "cross_sell_ids": [], "parent_id": 0, "purchase_note": "",
            "categories": [{"id": p.category[0], "name": p.category[1], "slug": p.category[2]}],
            "brands": [], "tags": [{"id": t[0], "name": t[1], "slug": t[2]} for t in p.tags],
            "images": [],
            "attributes": ([{"id": 0, "name": "Size", "slug": "Size", "position": 0, "visible": True,
                             "variation": True, "options": [v.option for v in p.variations]}]
                           if variable else []),
            "default_attributes": [], "variations": [v.id for v in p.variations],
            "grouped_products": [], "menu_order": 0,
            "price_html": f'<span class="woocommerce-Price-amount amount">{wc_money(price)}</span>',
            "related_ids": [], "meta_data": meta,
            "stock_status": "outofstock" if p.stock_quantity is not None and p.stock_quantity <= 0 else "instock",
            "has_options": variable, "post_password": "", "global_unique_id": "",
            "_links": self._links(f"products/{p.id}", "products"),
        }

    def variation_json(self, v: WooVariation) -> dict[str, Any]:
        parent = self.products[v.parent_id]
        meta = []
        if v.cost is not None:
            meta.append({"id": v.id * 10 + 1, "key": "_wc_cog_cost", "value": wc_money(v.cost)})
        return {
            "id": v.id, "type": "variation", "name": f"{parent.name} - {v.option}", "parent_id": v.parent_id,
            **self._dates(date_created=v.date_created, date_modified=v.date_modified),
            "description": "", "permalink": f"{self.url}/product/{parent.slug}/?attribute_size={v.option}",
            "sku": v.sku, "global_unique_id": "", "price": wc_money(v.regular_price),
            "regular_price": wc_money(v.regular_price), "sale_price": "", "date_on_sale_from": None,
            "date_on_sale_from_gmt": None, "date_on_sale_to": None, "date_on_sale_to_gmt": None,
            "on_sale": False, "status": v.status, "purchasable": v.status == "publish", "virtual": False,
            "downloadable": False, "downloads": [], "download_limit": -1, "download_expiry": -1,
            "tax_status": "taxable", "tax_class": "", "manage_stock": True,
            "stock_quantity": v.stock_quantity,
            "stock_status": "instock" if v.stock_quantity > 0 else "outofstock", "backorders": "no",
            "backorders_allowed": False, "backordered": False, "low_stock_amount": None, "weight": "",
            "dimensions": {"length": "", "width": "", "height": ""}, "shipping_class": "",
            "shipping_class_id": 0, "image": None,
            "attributes": [{"id": 0, "name": "Size", "slug": "Size", "option": v.option}],
            "menu_order": v.menu_order, "meta_data": meta,
            "_links": self._links(f"products/{v.parent_id}/variations/{v.id}",
                                  f"products/{v.parent_id}/variations", up=self.rest_url(f"products/{v.parent_id}")),
        }

    def _line_json(self, li: WooLine, sign: int = 1, quantity: int | None = None,
                   amounts: tuple[Decimal, Decimal] | None = None) -> dict[str, Any]:
        qty = li.quantity if quantity is None else quantity
        total, tax = amounts if amounts is not None else (li.total, li.total_tax)
        subtotal, subtotal_tax = (li.subtotal, li.subtotal_tax) if amounts is None else (total, tax)
        product = self.products.get(li.product_id)
        return {
            "id": li.id, "name": li.name, "product_id": li.product_id, "variation_id": li.variation_id,
            "quantity": sign * qty, "tax_class": "", "subtotal": wc_money(sign * subtotal),
            "subtotal_tax": wc_money(sign * subtotal_tax), "total": wc_money(sign * total),
            "total_tax": wc_money(sign * tax),
            "taxes": [{"id": TAX_RATE_ID, "total": wc_money(sign * tax, 6).rstrip("0").rstrip("."),
                       "subtotal": wc_money(sign * subtotal_tax, 6).rstrip("0").rstrip(".")}] if tax else [],
            "meta_data": [dict(m) for m in li.meta_data], "sku": li.sku,
            "global_unique_id": "", "price": wc_number(sign * total / max(1, qty)),
            "image": {"id": "", "src": ""}, "parent_name": product.name if li.variation_id and product else None,
        }

    def order_json(self, o: WooOrder) -> dict[str, Any]:
        rate_percent = wc_number(o.tax_rate * 100)
        return {
            "id": o.id, "parent_id": 0, "status": o.status, "currency": o.currency, "version": "10.3.4",
            "prices_include_tax": False,
            **self._dates(date_created=o.date_created, date_modified=o.date_modified),
            "discount_total": wc_money(o.discount_total), "discount_tax": wc_money(o.discount_tax),
            "shipping_total": wc_money(o.shipping_total), "shipping_tax": "0.00",
            "cart_tax": wc_money(o.cart_tax), "total": wc_money(o.total), "total_tax": wc_money(o.cart_tax),
            "customer_id": o.customer_id, "order_key": o.order_key,
            "billing": dict(o.billing), "shipping": dict(o.shipping),
            "payment_method": o.payment_method, "payment_method_title": o.payment_method_title,
            "transaction_id": o.transaction_id, "customer_ip_address": o.customer_ip_address,
            "customer_user_agent": o.customer_user_agent, "created_via": o.created_via,
            "customer_note": o.customer_note,
            "date_completed": wc_local(o.date_completed, self.tz), "date_paid": wc_local(o.date_paid, self.tz),
            "cart_hash": "", "number": str(o.id),
            "meta_data": [dict(m) for m in o.meta_data if m.get("key") not in INTERNAL_ORDER_META],
            "line_items": [self._line_json(li) for li in o.lines],
            "tax_lines": [{"id": o.tax_item_id, "rate_code": f"{self.currency[:2]}-TAX-1", "rate_id": TAX_RATE_ID,
                           "label": "Tax", "compound": False, "tax_total": wc_money(o.cart_tax),
                           "shipping_tax_total": "0.00", "rate_percent": rate_percent, "meta_data": []}]
            if o.cart_tax else [],
            "shipping_lines": [{"id": o.shipping_item_id, "method_title": o.shipping_title,
                                "method_id": "free_shipping" if o.shipping_total == 0 else "flat_rate",
                                "instance_id": "1", "total": wc_money(o.shipping_total), "total_tax": "0.00",
                                "taxes": [], "tax_status": "taxable", "meta_data": []}],
            "fee_lines": [],
            "coupon_lines": [{"id": c.id, "code": c.code, "discount": wc_money(c.discount),
                              "discount_tax": wc_money(c.discount_tax), "meta_data": [],
                              "discount_type": c.discount_type, "nominal_amount": wc_number(c.nominal_amount),
                              "free_shipping": False} for c in o.coupons],
            "refunds": [{"id": r.id, "reason": r.reason, "total": wc_money(-r.amount)}
                        for r in sorted(o.refunds, key=lambda r: -r.id)],
            "payment_url": f"{self.url}/checkout/order-pay/{o.id}/?pay_for_order=true&key={o.order_key}",
            "is_editable": o.status in ("pending", "on-hold", "auto-draft"),
            "needs_payment": o.status in ("pending", "failed") and o.total > 0,
            "needs_processing": True,
            "date_completed_gmt": wc_gmt(o.date_completed), "date_paid_gmt": wc_gmt(o.date_paid),
            "currency_symbol": _SYMBOLS.get(o.currency, o.currency),
            "_links": self._links(f"orders/{o.id}", "orders",
                                  **({"customer": self.rest_url(f"customers/{o.customer_id}")}
                                     if o.customer_id else {})),
        }

    def refund_json(self, r: WooRefund) -> dict[str, Any]:
        lines = []
        for rl in r.lines:
            data = self._line_json(rl.line, sign=-1, quantity=rl.quantity, amounts=(rl.total, rl.tax))
            data["id"] = rl.id
            data["meta_data"] = [{"id": rl.id * 10, "key": "_refunded_item_id", "value": str(rl.line.id),
                                  "display_key": "_refunded_item_id", "display_value": str(rl.line.id)}]
            data["refund_total"] = wc_number(rl.total)
            lines.append(data)
        shipping_lines = []
        if r.shipping and r.shipping_item_id:
            shipping_lines.append({"id": r.shipping_item_id, "method_title": "Shipping", "method_id": "",
                                   "instance_id": "", "total": wc_money(-r.shipping), "total_tax": "0.00",
                                   "taxes": [], "meta_data": []})
        return {
            "id": r.id, **self._dates(date_created=r.date_created), "amount": wc_money(r.amount),
            "reason": r.reason, "refunded_by": r.refunded_by, "refunded_payment": r.refunded_payment,
            "meta_data": [], "line_items": lines, "shipping_lines": shipping_lines, "tax_lines": [],
            "fee_lines": [],
            "_links": self._links(f"orders/{r.order_id}/refunds/{r.id}", f"orders/{r.order_id}/refunds",
                                  up=self.rest_url(f"orders/{r.order_id}")),
        }

    def coupon_json(self, c: WooCoupon) -> dict[str, Any]:
        return {
            "id": c.id, "code": c.code, "amount": wc_money(c.amount), "status": c.status,
            **self._dates(date_created=c.date_created, date_modified=c.date_modified),
            "discount_type": c.discount_type, "description": c.description,
            **self._dates(date_expires=c.date_expires),
            "usage_count": c.usage_count, "individual_use": c.individual_use,
            "product_ids": list(c.product_ids), "excluded_product_ids": [], "usage_limit": c.usage_limit,
            "usage_limit_per_user": c.usage_limit_per_user, "limit_usage_to_x_items": None,
            "free_shipping": c.free_shipping, "product_categories": [], "excluded_product_categories": [],
            "exclude_sale_items": False, "minimum_amount": wc_money(c.minimum_amount),
            "maximum_amount": wc_money(c.maximum_amount), "email_restrictions": list(c.email_restrictions),
            "used_by": list(c.used_by), "meta_data": [dict(m) for m in c.meta_data],
            "_links": self._links(f"coupons/{c.id}", "coupons"),
        }

    def webhook_json(self, w: WooWebhook) -> dict[str, Any]:
        return {
            "id": w.id, "name": w.name, "status": w.status, "topic": w.topic, "resource": w.resource,
            "event": w.event, "hooks": WEBHOOK_HOOKS.get(w.topic, []), "delivery_url": w.delivery_url,
            **self._dates(date_created=w.date_created, date_modified=w.date_modified),
            "_links": self._links(f"webhooks/{w.id}", "webhooks"),
        }

    def resource_json(self, resource: str, resource_id: int) -> dict[str, Any]:
        """What ``GET /wc/v3/<resource>s/<id>`` answers (a webhook's body), or its error."""
        with self.lock:
            if resource == "order" and resource_id in self.orders:
                return self.order_json(self.orders[resource_id])
            if resource == "customer" and resource_id in self.customers:
                return self.customer_json(self.customers[resource_id])
            if resource == "product" and resource_id in self.products:
                return self.product_json(self.products[resource_id])
            if resource == "product" and resource_id in self.variations:
                return self.variation_json(self.variations[resource_id])
            if resource == "coupon" and resource_id in self.coupons:
                return self.coupon_json(self.coupons[resource_id])
        kind = {"order": "shop_order", "coupon": "shop_coupon", "product": "product"}.get(resource)
        code = f"woocommerce_rest_{kind}_invalid_id" if kind else "woocommerce_rest_invalid_id"
        return {"code": code, "message": "Invalid ID.", "data": {"status": 404}}

    # --- live activity ----------------------------------------------------------------------

    def live_tick(self) -> None:
        """One step of simulated store activity (the demo's ``--live-interval``)."""
        rng = self._rng
        with self.lock:
            customers = list(self.customers)
        if rng.random() < 0.25 or not customers:
            n = len(self.customers) + 2
            customer = self.create_customer(email=f"shopper{n}.{rng.randint(1000, 9999)}@example.com",
                                            first_name="New", last_name=f"Shopper {n}")
            customer_id: int | None = customer.id
        else:
            customer_id = rng.choice(customers) if rng.random() > 0.05 else None
        self.place_order(customer_id=customer_id,
                         email=None if customer_id else f"guest{rng.randint(1, 10**6)}@example.com",
                         paid=rng.random() > 0.05)
        with self.lock:
            recent = list(self.orders.values())[-50:]
        processing = [o for o in recent if o.status == "processing"]
        if processing and rng.random() < 0.4:
            self.complete_order(rng.choice(processing).id)
        completed = [o for o in recent if o.status == "completed"]
        if completed and rng.random() < 0.05:
            order = rng.choice(completed)
            self.refund_order(order.id, lines=[(order.lines[0].id, 1)], reason="Customer return")


_SYMBOLS = {"USD": "$", "CAD": "$", "AUD": "$", "EUR": "€", "GBP": "£", "ILS": "₪", "JPY": "¥", "CHF": "CHF",
            "SEK": "kr", "NZD": "$"}


def _fx(currency: str) -> Decimal:
    from sandbox.store.accounting import fx
    return fx(currency)


def _default_rate(currency: str) -> Decimal:
    from sandbox.store.accounting import default_tax_rate
    return default_tax_rate(currency)


def _size_meta(item_id: int, option: str | None) -> list[dict[str, Any]]:
    """A variation line's attribute, as WooCommerce stores it on the order item."""
    if not option:
        return []
    return [{"id": item_id * 10 + 1, "key": "size", "value": option, "display_key": "Size", "display_value": option}]


def _meta_list(items: Iterable[dict[str, Any]], *, start: int) -> list[dict[str, Any]]:
    return [{"id": start + i, "key": str(m.get("key", "")), "value": m.get("value")}
            for i, m in enumerate(items) if m.get("key")]


def _merge_meta(target: list[dict[str, Any]], changes: Iterable[dict[str, Any]], *, start: int) -> None:
    for change in changes:
        key = str(change.get("key", ""))
        if not key:
            continue
        existing = next((m for m in target if m["key"] == key), None)
        if existing is not None:
            existing["value"] = change.get("value")
        else:
            target.append({"id": start + len(target), "key": key, "value": change.get("value")})


def _apply_coupon_fields(coupon: WooCoupon, fields: dict[str, Any], tz: ZoneInfo) -> None:
    if fields.get("description") is not None:
        coupon.description = str(fields["description"])
    if "date_expires" in fields or "date_expires_gmt" in fields:
        value = fields.get("date_expires_gmt") or fields.get("date_expires")
        if value in (None, ""):
            coupon.date_expires = None
        elif isinstance(value, datetime):
            coupon.date_expires = value.astimezone(UTC)
        else:  # date_expires is the site's time, date_expires_gmt UTC (an explicit offset wins)
            try:
                parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
            except ValueError:
                raise WPError("rest_invalid_param", "Invalid parameter(s): date_expires", 400,
                              params={"date_expires": "Invalid date."}) from None
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=UTC if fields.get("date_expires_gmt") else tz)
            coupon.date_expires = parsed.astimezone(UTC)
    for key in ("usage_limit", "usage_limit_per_user"):
        if key in fields:
            value = fields[key]
            setattr(coupon, key, int(value) if value not in (None, "", 0, "0") else None)
    for key in ("individual_use", "free_shipping"):
        if fields.get(key) is not None:
            setattr(coupon, key, bool(fields[key]))
    if fields.get("product_ids") is not None:
        coupon.product_ids = [int(i) for i in fields["product_ids"]]
    if fields.get("email_restrictions") is not None:
        coupon.email_restrictions = [str(e).strip().lower() for e in fields["email_restrictions"]]
    for key in ("minimum_amount", "maximum_amount"):
        if fields.get(key) not in (None, ""):
            setattr(coupon, key, q2(Decimal(str(fields[key]))))
    if fields.get("meta_data"):
        _merge_meta(coupon.meta_data, fields["meta_data"], start=coupon.id * 100)
