"""One emulated shop: its records, its clock, and every mutation (which emits webhook topics).

All reads and writes go through ``Shop.lock`` (a re-entrant lock); the HTTP server executes each
GraphQL request under it, so a request sees one consistent state.
"""

from __future__ import annotations

import random
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sandbox.store import seeddata as sd
from sandbox.store.accounting import (
    TIMEZONE,
    IdAllocator,
    apply_discount,
    apply_tax,
    build_refund,
    free_shipping_threshold,
    remaining_lines,
    shipping_price,
)
from sandbox.store.generator import StoreGenerator, StoreSpec, address_id, make_address
from sandbox.store.model import (
    ID_BASE,
    Address,
    AppliedDiscount,
    BulkOperation,
    Consent,
    Customer,
    DiscountCode,
    LineItem,
    Order,
    Product,
    Refund,
    Variant,
    WebhookSubscription,
)

from . import rest
from .billing import ShopBilling
from .common import (
    ZERO,
    derived_rng,
    gid,
    iso,
    parse_gid,
    q2,
    rest_time,
    shop_numeric_id,
    utc_now,
    zone,
)
from .cost import LeakyBucket
from .tokens import RefreshToken

#: ``sink(shop, topic, payload)`` receives every event; the sandbox routes it to webhooks.
EventSink = Callable[["Shop", str, dict[str, Any]], None]

PRIVACY_TOPICS = ("customers/data_request", "customers/redact", "shop/redact")
DEFAULT_SCOPES = ("read_customers,write_customers,read_orders,read_all_orders,read_products,"
                  "read_discounts,write_discounts")
CANCEL_REASONS = ("CUSTOMER", "DECLINED", "FRAUD", "INVENTORY", "OTHER", "STAFF")
CONSENT_STATES = ("SUBSCRIBED", "NOT_SUBSCRIBED", "UNSUBSCRIBED", "PENDING")


class SandboxError(ValueError):
    """A mutation asked for something Shopify would refuse (unknown id, over-refund...)."""


@dataclass(slots=True)
class AccessToken:
    token: str
    scopes: list[str]
    created_at: datetime
    #: wall-clock ``time.time()`` when it expires; None: a non-expiring (legacy) offline token
    expires: float | None = None


@dataclass(slots=True)
class OAuthCode:
    code: str
    scopes: list[str]
    expires: float
    used: bool = False


@dataclass(slots=True)
class ShopConfig:
    name: str
    email: str
    timezone: str
    locales: list[tuple[str, bool]] = field(default_factory=list)  # (locale, primary)


def _as_id(value: int | str, kind: str) -> int:
    if isinstance(value, int):
        return value
    ident = parse_gid(str(value), kind)
    if ident is None:
        raise SandboxError(f"not a {kind} id: {value!r}")
    return ident


class Shop:
    """A shop and its data.  Create through :meth:`ShopifySandbox.add_shop`."""

    def __init__(
        self,
        domain: str,
        spec: StoreSpec,
        *,
        sink: EventSink,
        origin_of: Callable[[str], str],
        bucket: LeakyBucket,
        name: str | None = None,
        manual_approval: bool = False,
        timezone: str | None = None,
    ) -> None:
        self.domain = domain
        self.handle = domain.split(".", 1)[0]
        self.shop_id = shop_numeric_id(domain)
        self.spec = spec
        self.currency = spec.currency
        self.manual_approval = manual_approval
        self.lock = threading.RLock()
        self.bucket = bucket
        self._sink = sink
        self._origin_of = origin_of
        self.iana_timezone = timezone or TIMEZONE.get(spec.currency, "America/New_York")
        self.tz = zone(self.iana_timezone)
        self.config = ShopConfig(
            name=name or self.handle.replace("-", " ").title(),
            email=f"owner@{self.handle}.example",
            timezone=self.iana_timezone,
            locales=[("en", True), ("he", False), ("fa", False)],
        )
        self.installed = True
        #: the theme editor's App embeds switch for the app's embed block, and the merchant's
        #: settings for it (over the block schema's defaults); off until the merchant turns it on
        self.app_embed_enabled = False
        self.app_embed_settings: dict[str, Any] = {}
        #: the theme has the widget's <script> pasted in (how it was installed before the app
        #: embed); shown only while the app embed is off
        self.widget_snippet = True
        self.tokens: dict[str, AccessToken] = {}
        self.refresh_tokens: dict[str, RefreshToken] = {}
        self.details_updated_at: datetime | None = None  # last update_shop
        self.token_refreshes = 0  # successful grant_type=refresh_token calls
        self.codes: dict[str, OAuthCode] = {}
        self.version = 0
        anchor = spec.now
        self._clock_offset = max(timedelta(0), anchor - utc_now())
        self.created_at = anchor - timedelta(days=round(spec.months * 30.44) + 400)

        gen = StoreGenerator(spec)
        self.generator = gen
        ids = IdAllocator()
        self._products: dict[int, Product] = {p.id: p for p in gen.products}
        self._variants: dict[int, Variant] = {
            v.id: v for p in gen.products for v in p.variants}
        self._customers: dict[int, Customer] = {c.id: c for c in gen.customers()}
        self._orders: dict[int, Order] = {}
        self._orders_by_customer: dict[int, list[int]] = {}
        for order in gen.iter_orders(ids):
            self._add_order(order)
        for kind, table in (("Product", self._products), ("ProductVariant", self._variants),
                            ("Customer", self._customers), ("Order", self._orders)):
            if table:
                ids.bump_past(kind, max(table))
        ids.bump_past("InventoryItem", max((v.inventory_item_id for v in self._variants.values()),
                                           default=ID_BASE["InventoryItem"]))
        self.ids = ids
        self.next_order_number = 1001 + len(self._orders)
        self._discounts: dict[int, DiscountCode] = {}
        self._codes_index: dict[str, int] = {}
        for code in gen.merchant_discount_codes(ids):
            self._register_discount(code)
        self.subscriptions: dict[int, WebhookSubscription] = {}
        #: the app's recurring charges (Billing API): appSubscriptionCreate, the approval page...
        self.billing = ShopBilling(shop_id=self.shop_id, origin=lambda: self.origin, now=self.now,
                                   emit=self.emit, tz=lambda: self.tz)
        self.bulk_operations: dict[int, BulkOperation] = {}
        self.popularity = {p.id: 1.0 / (rank + 1) ** 0.9 for rank, p in enumerate(
            sorted(self._products.values(), key=lambda p: p.id))}
        self.rng = random.Random(f"{spec.seed}:live:{domain}")
        #: sorted views for the GraphQL connections, keyed by (kind, sort key); see ``version``
        self.views: dict[tuple[str, str], tuple[int, list[Any]]] = {}

    # --- identity and clock ------------------------------------------------------------------

    @property
    def origin(self) -> str:
        """``{base_url}/shops/<domain>``: prefix every Shopify path with it."""
        return self._origin_of(self.domain)

    @property
    def name(self) -> str:
        return self.config.name

    def now(self) -> datetime:
        return utc_now() + self._clock_offset

    def _touch(self, obj: Any, at: datetime | None = None) -> datetime:
        """Strictly increasing ``updated_at`` per object (second precision, like Shopify)."""
        at = at or self.now()
        obj.updated_at = max(at, obj.updated_at + timedelta(seconds=1))
        self.version += 1
        return obj.updated_at  # type: ignore[no-any-return]

    # --- reads -------------------------------------------------------------------------------

    @property
    def customers(self) -> list[Customer]:
        with self.lock:
            return list(self._customers.values())

    @property
    def orders(self) -> list[Order]:
        with self.lock:
            return list(self._orders.values())

    @property
    def products(self) -> list[Product]:
        with self.lock:
            return list(self._products.values())

    @property
    def discount_codes(self) -> list[DiscountCode]:
        """Discount codes the app created (through the GraphQL mutations), oldest first."""
        with self.lock:
            return [d for d in self._discounts.values() if d.created_by_app]

    @property
    def all_discount_codes(self) -> list[DiscountCode]:
        with self.lock:
            return list(self._discounts.values())

    @property
    def webhook_subscriptions(self) -> list[WebhookSubscription]:
        with self.lock:
            return list(self.subscriptions.values())

    def get_customer(self, customer_id: int | str) -> Customer | None:
        return self._customers.get(_as_id(customer_id, "Customer"))

    def get_order(self, order_id: int | str) -> Order | None:
        return self._orders.get(_as_id(order_id, "Order"))

    def get_product(self, product_id: int | str) -> Product | None:
        return self._products.get(_as_id(product_id, "Product"))

    def get_variant(self, variant_id: int | str) -> Variant | None:
        return self._variants.get(_as_id(variant_id, "ProductVariant"))

    def orders_of(self, customer_id: int) -> list[Order]:
        return [self._orders[i] for i in self._orders_by_customer.get(customer_id, ())]

    def order_json(self, order_id: int | str) -> dict[str, Any]:
        """The REST (webhook) shape of an order."""
        with self.lock:
            order = self._order_or_raise(order_id)
            return rest.order_json(order, self._customers.get(order.customer_id or 0), self.tz,
                                   self.domain)

    def product_json(self, product_id: int | str) -> dict[str, Any]:
        with self.lock:
            product = self.get_product(product_id)
            if product is None:
                raise SandboxError(f"no product {product_id} in {self.domain}")
            return rest.product_json(product, self.tz)

    def refund_json(self, refund: Refund) -> dict[str, Any]:
        with self.lock:
            return rest.refund_json(refund, self._order_or_raise(refund.order_id), self.tz)

    def customer_json(self, customer_id: int | str | Customer) -> dict[str, Any]:
        with self.lock:
            if isinstance(customer_id, Customer):
                return self._customer_rest(customer_id)
            return self._customer_rest(self._customer_or_raise(customer_id))

    def discount_by_code(self, code: str) -> DiscountCode | None:
        with self.lock:
            ident = self._codes_index.get(code.strip().lower())
            return self._discounts.get(ident) if ident else None

    def get_discount(self, node_id: int) -> DiscountCode | None:
        return self._discounts.get(node_id)

    # --- tokens ------------------------------------------------------------------------------

    def issue_token(self, scopes: str | Iterable[str] = DEFAULT_SCOPES, *,
                    lifetime: float | None = 3600.0) -> str:
        """Mint an access token directly, expiring in ``lifetime`` seconds (None: a legacy
        non-expiring one); ``ShopifySandbox.grant`` also gives a refresh token."""
        scope_list = _scopes(scopes)
        token = "shpat_" + secrets.token_hex(16)
        with self.lock:
            self.tokens[token] = AccessToken(token, scope_list, self.now(),
                                             time.time() + lifetime if lifetime is not None else None)
            self.installed = True
        return token

    def token_valid(self, token: str | None) -> bool:
        return bool(token) and token in self.tokens

    def revoke_tokens(self) -> None:
        with self.lock:
            self.tokens.clear()
            self.refresh_tokens.clear()

    def expire_access_tokens(self) -> None:
        """Let every expiring access token run out now (refresh tokens stay valid)."""
        with self.lock:
            for access in self.tokens.values():
                if access.expires is not None:
                    access.expires = 0.0

    def set_rate_limit(self, bucket_size: float, restore_rate: float) -> None:
        self.bucket.configure(bucket_size, restore_rate)

    # --- internal bookkeeping ----------------------------------------------------------------

    def _add_order(self, order: Order) -> None:
        self._orders[order.id] = order
        if order.customer_id is not None:
            self._orders_by_customer.setdefault(order.customer_id, []).append(order.id)

    def _register_discount(self, code: DiscountCode) -> None:
        self._discounts[code.id] = code
        self._codes_index[code.code.strip().lower()] = code.id
        self.version += 1

    def _order_or_raise(self, order_id: int | str) -> Order:
        order = self.get_order(order_id)
        if order is None:
            raise SandboxError(f"no order {order_id} in {self.domain}")
        return order

    def _customer_or_raise(self, customer_id: int | str) -> Customer:
        customer = self.get_customer(customer_id)
        if customer is None:
            raise SandboxError(f"no customer {customer_id} in {self.domain}")
        return customer

    def _customer_rest(self, customer: Customer) -> dict[str, Any]:
        mine = self._orders_by_customer.get(customer.id)
        last = self._orders[mine[-1]] if mine else None
        return rest.customer_json(customer, self.currency, self.tz, last)

    def _order_rest(self, order: Order) -> dict[str, Any]:
        return rest.order_json(order, self._customers.get(order.customer_id or 0), self.tz,
                               self.domain)

    def emit(self, topic: str, payload: dict[str, Any]) -> None:
        self._sink(self, topic, payload)

    def set_marketing_consent(self, customer_id: int | str, *, channel: str, state: str,
                              opt_in_level: str | None = None, at: datetime | None = None) -> Customer:
        """What the consent mutations do: record the customer's marketing state on ``channel``
        ("email" or "sms") as of ``at`` (now when not given) and emit ``customers/update``, plus
        ``customers_email_marketing_consent/update`` or ``customers_marketing_consent/update``."""
        with self.lock:
            customer = self._customer_or_raise(customer_id)
            now = self._touch(customer)
            consent = Consent(state.upper(), opt_in_level or "SINGLE_OPT_IN", at or now)
            if channel == "email":
                customer.email_consent = consent
            else:
                consent.collected_from = "OTHER"
                customer.sms_consent = consent
            body = self._customer_rest(customer)
            self.emit("customers/update", body)
            if channel == "email":
                self.emit("customers_email_marketing_consent/update", {
                    "customer_id": customer.id, "email_address": customer.email,
                    "email_marketing_consent": body["email_marketing_consent"]})
            else:
                self.emit("customers_marketing_consent/update", {
                    "id": customer.id, "phone": customer.phone,
                    "sms_marketing_consent": body["sms_marketing_consent"]})
            return customer

    # --- orders ------------------------------------------------------------------------------

    def place_order(
        self,
        customer_id: int | str | None = None,
        *,
        line_items: Sequence[tuple[int | str, int]] | None = None,
        discount_code: str | None = None,
        financial_status: str = "paid",
        new_customer: bool = False,
        use_app_codes: float = 0.0,
        test: bool = False,
    ) -> Order:
        """Place an order now and emit ``orders/create`` (+ ``orders/paid`` when paid); ``test``
        places it as Shopify's test gateway (Bogus) does (``"test": true``).

        ``customer_id`` None picks a random existing customer (or a new one with
        ``new_customer=True``); ``line_items`` are ``[(variant_id, qty)]`` (random if omitted);
        ``discount_code`` applies a basic or free-shipping code by name; ``use_app_codes`` is the
        chance to redeem one of the app's codes the customer is eligible for.  Returns the
        order record (``order_json(order.id)`` gives the REST/webhook shape).
        """
        if financial_status not in ("paid", "pending"):
            raise SandboxError("financial_status must be 'paid' or 'pending'")
        with self.lock:
            rng = self.rng
            if customer_id is not None:
                customer: Customer | None = self._customer_or_raise(customer_id)
            elif new_customer or not self._customers:
                customer = self._new_random_customer()
            else:
                customer = self._random_customer()
            now = self.now()
            if customer is not None and customer.address is None:  # checkout saves the address
                customer.address = make_address(
                    derived_rng(self.spec.seed, "checkout-address", customer.id), customer.locale,
                    address_id(customer.id), customer.first_name, customer.last_name)
            shipping_address = customer.address if customer else make_address(
                derived_rng(self.spec.seed, "guest-address", self.next_order_number), "en",
                ID_BASE["MailingAddress"] + 10**12 + self.next_order_number, None, None)
            lines = self._build_lines(line_items)
            applied: list[AppliedDiscount] = []
            code = self._pick_code(discount_code, customer, lines, rng, use_app_codes)
            free_shipping = False
            if code is not None:
                ad = self._apply_code(code, lines)
                if ad is not None:
                    if ad.kind == "shipping":
                        free_shipping = True
                    applied.append(ad)
                    code.usage_count += 1
            apply_tax(lines, self.generator.tax_rate)
            subtotal = sum((li.discounted_total for li in lines), ZERO)
            if subtotal >= free_shipping_threshold(self.currency):
                shipping, title = ZERO, "Free Shipping"
            else:
                express = rng.random() < 0.12
                shipping, title = shipping_price(self.currency, express), (
                    "Express" if express else "Standard")
            if free_shipping:
                applied[-1].amount = shipping
                shipping = ZERO
            order = Order(
                id=self.ids.next("Order"), number=self.next_order_number,
                customer_id=customer.id if customer else None,
                email=customer.email if customer else None,
                phone=customer.phone if customer else None,
                created_at=now, processed_at=now, updated_at=now, currency=self.currency,
                customer_locale=customer.locale if customer else "en", line_items=lines,
                shipping=shipping, shipping_title=title, tax_rate=self.generator.tax_rate,
                discounts=applied, payment=financial_status,
                shipping_line_id=self.ids.next("ShippingLine"),
                transaction_id=self.ids.next("OrderTransaction"),
                buyer_accepts_marketing=bool(
                    customer and customer.email_consent
                    and customer.email_consent.state == "SUBSCRIBED"),
                shipping_address=shipping_address, test=test,
            )
            self.next_order_number += 1
            self._add_order(order)
            self.version += 1
            body = self._order_rest(order)
            self.emit("orders/create", body)
            if order.payment == "paid":
                self.emit("orders/paid", body)
            if customer is not None:
                self._touch(customer, now)
                self.emit("customers/update", self._customer_rest(customer))
            return order

    def _random_customer(self) -> Customer:
        rng = self.rng
        if rng.random() < 0.5 and self._orders_by_customer:
            loyal = [c for c, o in self._orders_by_customer.items()
                     if len(o) >= 2 and c in self._customers]
            if loyal:
                return self._customers[rng.choice(loyal)]
        return self._customers[rng.choice(list(self._customers))]

    def _new_random_customer(self) -> Customer:
        rng = self.rng
        index = self.ids.peek()["Customer"]
        template = self.generator.customer(rng.randrange(max(1, self.spec.customers)))
        email = None
        if template.email:
            local, _, domain = template.email.partition("@")
            email = f"{local.rstrip('0123456789')}{index % 10**7}@{domain}"
        address = make_address(derived_rng(self.spec.seed, "new-address", index),
                               template.locale, address_id(index), template.first_name,
                               template.last_name)
        return self.create_customer(
            first_name=template.first_name, last_name=template.last_name, email=email,
            phone=None, locale=template.locale,
            email_marketing="SUBSCRIBED" if rng.random() < 0.5 else "NOT_SUBSCRIBED",
            birth_date=template.birth_date, address=address,
        )

    def _build_lines(self, wanted: Sequence[tuple[int | str, int]] | None) -> list[LineItem]:
        picks: list[tuple[Variant, int]] = []
        if wanted:
            for variant_id, qty in wanted:
                variant = self.get_variant(variant_id)
                if variant is None:
                    raise SandboxError(f"no variant {variant_id} in {self.domain}")
                if qty <= 0:
                    raise SandboxError("quantity must be positive")
                picks.append((variant, qty))
        else:
            rng = self.rng
            active = [p for p in self._products.values() if p.status == "ACTIVE" and p.variants]
            if not active:
                raise SandboxError("the shop has no active products")
            weights = [self.popularity.get(p.id, 0.5) for p in active]
            n = rng.choices((1, 2, 3, 4), weights=(55, 28, 12, 5))[0]
            chosen: dict[int, Product] = {}
            for _ in range(n * 4):
                p = rng.choices(active, weights=weights)[0]
                chosen.setdefault(p.id, p)
                if len(chosen) == n:
                    break
            for p in chosen.values():
                v = rng.choices(p.variants, weights=(3, 2, 1)[: len(p.variants)])[0]
                picks.append((v, rng.choices((1, 2, 3), weights=(80, 15, 5))[0]))
        lines = []
        for variant, qty in picks:
            product = self._products.get(variant.product_id)
            title = product.title if product else variant.title
            lines.append(LineItem(
                id=self.ids.next("LineItem"), variant_id=variant.id,
                product_id=variant.product_id, title=title,
                variant_title=None if variant.title == "Default Title" else variant.title,
                sku=variant.sku, vendor=product.vendor if product else None, quantity=qty,
                price=variant.price, total_discount=ZERO, tax=ZERO,
            ))
        return lines

    def _eligible(self, code: DiscountCode, customer: Customer | None, now: datetime) -> bool:
        if code.kind == "bxgy" or code.starts_at > now or (code.ends_at and code.ends_at <= now):
            return False
        if code.usage_limit is not None and code.usage_count >= code.usage_limit:
            return False
        allowed = code.customer_ids()
        if allowed is not None and (customer is None or customer.id not in allowed):
            return False
        if code.applies_once_per_customer and customer is not None:
            used = any(d.code.lower() == code.code.lower() for o in self.orders_of(customer.id)
                       for d in o.discounts)
            if used:
                return False
        return True

    def _pick_code(self, name: str | None, customer: Customer | None, lines: list[LineItem],
                   rng: random.Random, use_app_codes: float) -> DiscountCode | None:
        if name is not None:
            code = self.discount_by_code(name)
            if code is None:
                raise SandboxError(f"no discount code {name!r} in {self.domain}")
            if code.kind == "bxgy":
                raise SandboxError("buy-X-get-Y codes cannot be redeemed by the sandbox")
            return code
        if use_app_codes and rng.random() < use_app_codes:
            now = self.now()
            options = [d for d in self._discounts.values()
                       if d.created_by_app and self._eligible(d, customer, now)]
            if options:
                return rng.choice(options)
        return None

    def _apply_code(self, code: DiscountCode, lines: list[LineItem]) -> AppliedDiscount | None:
        items_total = sum((li.original_total for li in lines), ZERO)
        if items_total < code.minimum_subtotal():
            return None
        if code.kind == "free_shipping":
            return AppliedDiscount(code.code, "shipping", Decimal("100"), ZERO)
        kind, value = code.value()
        if kind == "fixed_amount" and code.applies_on_each_item():
            value = value * sum(li.quantity for li in lines)
        ad = AppliedDiscount(code.code, kind, value, ZERO)
        apply_discount(lines, ad)
        return ad

    def refund_order(
        self,
        order_id: int | str,
        line_items: Sequence[tuple[int | str, int]] | None = None,
        shipping: Decimal | str | None = None,
        *,
        note: str | None = None,
        restock: bool = True,
    ) -> Refund:
        """Refund ``[(line_item_id, qty)]`` and/or ``shipping``; nothing given = everything left.

        Emits ``refunds/create`` then ``orders/updated``; returns the refund record.
        """
        with self.lock:
            order = self._order_or_raise(order_id)
            if order.payment != "paid":
                raise SandboxError(f"order {order.id} is {order.payment}; nothing to refund")
            if line_items is None and shipping is None:
                lines = remaining_lines(order)
                amount = order.shipping - order.refunded_shipping()
            else:
                lines = [(_as_id(li, "LineItem"), qty) for li, qty in line_items or ()]
                amount = Decimal(str(shipping)) if shipping is not None else ZERO
            try:
                refund = build_refund(order, self.ids, lines, amount, self.now(), note,
                                      "RETURN" if restock else "NO_RESTOCK")
            except ValueError as exc:
                raise SandboxError(str(exc)) from exc
            refund.created_at = self._touch(order)
            self.emit("refunds/create", rest.refund_json(refund, order, self.tz))
            self.emit("orders/updated", self._order_rest(order))
            return refund

    def cancel_order(self, order_id: int | str, reason: str = "customer", *,
                     refund: bool = True) -> Order:
        """Cancel (refunding what is left when paid, voiding when pending).

        Emits ``refunds/create`` (if refunded), ``orders/cancelled`` and ``orders/updated``.
        """
        reason_enum = reason.upper()
        if reason_enum not in CANCEL_REASONS:
            raise SandboxError(f"reason must be one of {', '.join(CANCEL_REASONS).lower()}")
        with self.lock:
            order = self._order_or_raise(order_id)
            if order.cancelled_at is not None:
                raise SandboxError(f"order {order.id} is already cancelled")
            at = self._touch(order)
            refund_body = None
            if order.payment == "pending":
                order.payment = "voided"
            elif refund:
                lines = remaining_lines(order)
                amount = order.shipping - order.refunded_shipping()
                if lines or amount > 0:
                    made = build_refund(order, self.ids, lines, amount, at, None, "CANCEL")
                    refund_body = rest.refund_json(made, order, self.tz)
            order.cancelled_at = at
            order.cancel_reason = reason_enum
            order.closed_at = at
            if refund_body is not None:
                self.emit("refunds/create", refund_body)
            body = self._order_rest(order)
            self.emit("orders/cancelled", body)
            self.emit("orders/updated", body)
            return order

    def fulfil_order(self, order_id: int | str) -> Order:
        """Mark fulfilled (and archive, as Shopify's default auto-archive does).

        Emits ``orders/fulfilled`` and ``orders/updated``.
        """
        with self.lock:
            order = self._order_or_raise(order_id)
            if order.cancelled_at is not None:
                raise SandboxError(f"order {order.id} is cancelled")
            if order.fulfillment == "FULFILLED":
                raise SandboxError(f"order {order.id} is already fulfilled")
            at = self._touch(order)
            order.fulfillment = "FULFILLED"
            order.fulfilled_at = at
            if order.payment == "paid":
                order.closed_at = at
            body = self._order_rest(order)
            self.emit("orders/fulfilled", body)
            self.emit("orders/updated", body)
            return order

    fulfill_order = fulfil_order

    def mark_paid(self, order_id: int | str) -> Order:
        """A pending order gets paid: emits ``orders/paid`` and ``orders/updated``."""
        with self.lock:
            order = self._order_or_raise(order_id)
            if order.payment != "pending":
                raise SandboxError(f"order {order.id} is not pending")
            self._touch(order)
            order.payment = "paid"
            body = self._order_rest(order)
            self.emit("orders/paid", body)
            self.emit("orders/updated", body)
            return order

    # --- customers ---------------------------------------------------------------------------

    def create_customer(
        self,
        *,
        first_name: str | None = None,
        last_name: str | None = None,
        email: str | None = None,
        phone: str | None = None,
        locale: str = "en",
        tags: Sequence[str] = (),
        note: str | None = None,
        email_marketing: str | None = "NOT_SUBSCRIBED",
        sms_marketing: str | None = None,
        birth_date: date | str | None = None,
        state: str = "DISABLED",
        address: Address | dict[str, Any] | None = None,
    ) -> Customer:
        """Create a customer; emits ``customers/create``; returns the record.

        ``address``: the default address, an :class:`Address` or a dict of its fields
        (``address1``, ``city``, ``country_code``, ``province_code``, ``zip``, ``latitude``...)."""
        with self.lock:
            if email and any(c.email and c.email.lower() == email.lower()
                             for c in self._customers.values()):
                raise SandboxError(f"email {email} has already been taken")
            now = self.now()
            customer = Customer(
                id=self.ids.next("Customer"), first_name=first_name, last_name=last_name,
                email=email, phone=phone, locale=locale, tags=sorted(tags), note=note,
                created_at=now, updated_at=now,
                email_consent=_consent(email_marketing, now) if email else None,
                sms_consent=_consent(sms_marketing or "NOT_SUBSCRIBED", now,
                                     sms=True) if phone else None,
                state=state.upper(),
            )
            customer.address = self._address(customer, address)
            if birth_date:
                customer.metafields[("facts", "birth_date")] = str(birth_date)
            self._customers[customer.id] = customer
            self.version += 1
            self.emit("customers/create", self._customer_rest(customer))
            return customer

    def update_customer(self, customer_id: int | str, **fields: Any) -> Customer:
        """Change fields (first_name, last_name, email, phone, locale, tags, note, state,
        email_marketing, sms_marketing, birth_date, address); emits ``customers/update``."""
        allowed = {"first_name", "last_name", "email", "phone", "locale", "tags", "note",
                   "state", "email_marketing", "sms_marketing", "birth_date", "address"}
        unknown = set(fields) - allowed
        if unknown:
            raise SandboxError(f"unknown customer fields: {', '.join(sorted(unknown))}")
        with self.lock:
            customer = self._customer_or_raise(customer_id)
            if "address" in fields:  # checked before anything changes
                fields["address"] = self._address(customer, fields["address"])
            now = self._touch(customer)
            consent_changed = False
            for key, value in fields.items():
                if key == "email_marketing":
                    customer.email_consent = _consent(value, now) if value else None
                    consent_changed = True
                elif key == "sms_marketing":
                    customer.sms_consent = _consent(value, now, sms=True) if value else None
                elif key == "birth_date":
                    if value:
                        customer.metafields[("facts", "birth_date")] = str(value)
                    else:
                        customer.metafields.pop(("facts", "birth_date"), None)
                elif key == "tags":
                    customer.tags = sorted(value)
                elif key == "state":
                    customer.state = str(value).upper()
                elif key == "address":
                    customer.address = value
                else:
                    setattr(customer, key, value)
            body = self._customer_rest(customer)
            self.emit("customers/update", body)
            if consent_changed:
                self.emit("customers_email_marketing_consent/update", {
                    "customer_id": customer.id,
                    "email_address": customer.email,
                    "email_marketing_consent": body["email_marketing_consent"],
                })
            return customer

    def _address(self, customer: Customer, value: Address | dict[str, Any] | None
                 ) -> Address | None:
        if value is None or isinstance(value, Address):
            return value
        fields = dict(value)
        unknown = set(fields) - (set(Address.__dataclass_fields__) - {"id"})
        if unknown:
            raise SandboxError(f"unknown address fields: {', '.join(sorted(unknown))}")
        country = str(fields.get("country_code") or "").upper()
        if not country:
            raise SandboxError("an address needs a country_code")
        province = fields.get("province_code")
        return Address(
            id=address_id(customer.id),
            first_name=fields.get("first_name", customer.first_name),
            last_name=fields.get("last_name", customer.last_name),
            address1=str(fields.get("address1") or ""), address2=fields.get("address2"),
            city=str(fields.get("city") or ""),
            province=fields.get("province") or sd.PROVINCE_NAMES.get((country, province or "")),
            province_code=province, country=fields.get("country") or sd.COUNTRY_NAMES.get(
                country, country), country_code=country, zip=fields.get("zip"),
            latitude=fields.get("latitude"), longitude=fields.get("longitude"),
        )

    def delete_customer(self, customer_id: int | str) -> Customer:
        """Delete; their orders stay (``Order.customer`` becomes null); ``customers/delete``."""
        with self.lock:
            customer = self._customer_or_raise(customer_id)
            del self._customers[customer.id]
            self.version += 1
            self.emit("customers/delete", rest.customer_delete_json(customer.id))
            return customer

    # --- products ----------------------------------------------------------------------------

    def update_product(self, product_id: int | str, **fields: Any) -> Product:
        """Change title, status, tags, product_type, vendor, description_html, ``price`` (all
        variants) or ``variants={variant_id: {"price": .., "sku": .., "unit_cost": ..}}``;
        emits ``products/update``."""
        with self.lock:
            product = self.get_product(product_id)
            if product is None:
                raise SandboxError(f"no product {product_id} in {self.domain}")
            now = self._touch(product)
            variant_changes: dict[int, dict[str, Any]] = {}
            for key, value in fields.items():
                if key == "price":
                    for v in product.variants:
                        variant_changes.setdefault(v.id, {})["price"] = value
                elif key == "variants":
                    for vid, change in value.items():
                        variant_changes.setdefault(_as_id(vid, "ProductVariant"), {}).update(
                            change)
                elif key == "status":
                    product.status = str(value).upper()
                elif key in ("title", "tags", "product_type", "vendor", "description_html"):
                    setattr(product, key, list(value) if key == "tags" else value)
                else:
                    raise SandboxError(f"unknown product field {key}")
            by_id = {v.id: v for v in product.variants}
            for vid, change in variant_changes.items():
                variant = by_id.get(vid)
                if variant is None:
                    raise SandboxError(f"variant {vid} is not on product {product.id}")
                for key, value in change.items():
                    if key in ("price", "unit_cost"):
                        value = q2(Decimal(str(value)))
                    setattr(variant, key, value)
                self._touch(variant, now)
            self.emit("products/update", rest.product_json(product, self.tz))
            return product

    def create_product(self, title: str, *, price: Decimal | str, unit_cost: Decimal | str
                       | None = None, product_type: str = "Hair Serum",
                       vendor: str = "Lumière Botanics", sku: str | None = None,
                       tags: Sequence[str] = ()) -> Product:
        """A one-variant product; emits ``products/create``."""
        with self.lock:
            now = self.now()
            pid = self.ids.next("Product")
            price_d = q2(Decimal(str(price)))
            variant = Variant(
                id=self.ids.next("ProductVariant"), product_id=pid, title="Default Title",
                sku=sku or f"NEW-{pid % 100000}", price=price_d,
                unit_cost=q2(Decimal(str(unit_cost))) if unit_cost is not None else q2(
                    price_d * Decimal("0.3")),
                inventory_item_id=self.ids.next("InventoryItem"), position=1, created_at=now,
                updated_at=now,
            )
            product = Product(
                id=pid, title=title, handle=title.lower().replace(" ", "-"),
                product_type=product_type, vendor=vendor, tags=list(tags), status="ACTIVE",
                created_at=now, updated_at=now, category_id="", category_name=product_type,
                category_full_name=product_type, description_html="", variants=[variant],
                published_at=now,
            )
            self._products[pid] = product
            self._variants[variant.id] = variant
            self.version += 1
            self.emit("products/create", rest.product_json(product, self.tz))
            return product

    # --- app lifecycle and privacy -----------------------------------------------------------

    def shop_json(self) -> dict[str, Any]:
        primary = next((locale for locale, is_primary in self.config.locales if is_primary), "en")
        body = rest.shop_json(
            shop_id=self.shop_id, name=self.name, domain=self.domain, email=self.config.email,
            currency=self.currency, iana_timezone=self.iana_timezone,
            created_at=self.created_at, primary_locale=primary, tz=self.tz)
        body["updated_at"] = rest_time(self.details_updated_at or self.created_at, self.tz)
        return body

    def update_shop(self, *, name: str | None = None, currency: str | None = None,
                    timezone: str | None = None, primary_locale: str | None = None) -> dict[str, Any]:
        """The merchant changes the store's settings: ``shop/update`` with the REST Shop body."""
        with self.lock:
            if name:
                self.config.name = name
            if currency:
                self.currency = currency.upper()
            if timezone:
                if zone(timezone) is None:
                    raise SandboxError(f"unknown time zone {timezone}")
                self.iana_timezone = self.config.timezone = timezone
                self.tz = zone(timezone)
            if primary_locale:
                others = [(locale, False) for locale, _ in self.config.locales if locale != primary_locale]
                self.config.locales = [(primary_locale, True), *others]
            self.details_updated_at = max(self.now(), (self.details_updated_at or self.created_at)
                                          + timedelta(seconds=1))
            self.version += 1
            body = self.shop_json()
            self.emit("shop/update", body)
            return body

    def uninstall(self) -> dict[str, Any]:
        """Revoke every token, send ``app/uninstalled`` and drop the webhook subscriptions."""
        with self.lock:
            body = self.shop_json()
            self.emit("app/uninstalled", body)
            self.tokens.clear()
            self.refresh_tokens.clear()
            self.subscriptions.clear()
            self.billing.uninstalled()
            self.installed = False
            self.version += 1
            return body

    def _privacy_customer(self, customer_id: int | str) -> tuple[dict[str, Any], list[int]]:
        ident = _as_id(customer_id, "Customer")
        customer = self._customers.get(ident)
        orders = [o.id for o in self.orders_of(ident)]
        return {
            "id": ident,
            "email": customer.email if customer else None,
            "phone": customer.phone if customer else None,
        }, orders

    def request_customer_data(self, customer_id: int | str) -> dict[str, Any]:
        """Send ``customers/data_request`` to the app's privacy webhook URI."""
        with self.lock:
            who, orders = self._privacy_customer(customer_id)
            body = {
                "shop_id": self.shop_id,
                "shop_domain": self.domain,
                "orders_requested": orders,
                "customer": who,
                "data_request": {"id": self.ids.next("Metafield") % 10**9},
            }
            self.emit("customers/data_request", body)
            return body

    def redact_customer(self, customer_id: int | str) -> dict[str, Any]:
        """Send ``customers/redact`` to the app's privacy webhook URI."""
        with self.lock:
            who, orders = self._privacy_customer(customer_id)
            body = {
                "shop_id": self.shop_id,
                "shop_domain": self.domain,
                "customer": who,
                "orders_to_redact": orders,
            }
            self.emit("customers/redact", body)
            return body

    def redact_shop(self) -> dict[str, Any]:
        """Send ``shop/redact`` to the app's privacy webhook URI."""
        body = {"shop_id": self.shop_id, "shop_domain": self.domain}
        self.emit("shop/redact", body)
        return body

    # --- used by the GraphQL layer -----------------------------------------------------------

    def add_subscription(self, topic: str, uri: str, fmt: str) -> WebhookSubscription:
        with self.lock:
            now = self.now()
            sub = WebhookSubscription(self.ids.next("WebhookSubscription"), topic, uri, fmt,
                                      now, now)
            self.subscriptions[sub.id] = sub
            return sub

    def add_discount(self, kind: str, code: str, title: str, data: dict[str, Any]) -> DiscountCode:
        with self.lock:
            now = self.now()
            starts = data.get("startsAt") or now
            discount = DiscountCode(
                id=self.ids.next("DiscountCodeNode"),
                redeem_code_id=self.ids.next("DiscountRedeemCode"), kind=kind, code=code,
                title=title, starts_at=starts, ends_at=data.get("endsAt"),
                usage_limit=data.get("usageLimit"),
                applies_once_per_customer=bool(data.get("appliesOncePerCustomer")),
                created_at=now, updated_at=now, input=data,
            )
            self._register_discount(discount)
            return discount

    def remove_discount(self, node_id: int) -> bool:
        with self.lock:
            discount = self._discounts.pop(node_id, None)
            if discount is None:
                return False
            self._codes_index.pop(discount.code.strip().lower(), None)
            self.version += 1
            return True

    def app_embed_set(self, *, enabled: bool | None = None, settings: dict[str, Any] | None = None,
                      widget_snippet: bool | None = None) -> None:
        """The merchant in the theme editor: switch the app embed on or off, change its settings
        (merged into the current ones; None removes one), or remove the pasted snippet."""
        with self.lock:
            if enabled is not None:
                self.app_embed_enabled = bool(enabled)
            for key, value in (settings or {}).items():
                if value is None:
                    self.app_embed_settings.pop(key, None)
                else:
                    self.app_embed_settings[str(key)] = value
            if widget_snippet is not None:
                self.widget_snippet = bool(widget_snippet)

    def summary(self) -> dict[str, Any]:
        with self.lock:
            return {
                "domain": self.domain,
                "origin": self.origin,
                "name": self.name,
                "currency": self.currency,
                "installed": self.installed,
                "app_embed": {"enabled": self.app_embed_enabled, "settings": dict(self.app_embed_settings),
                              "widget_snippet": self.widget_snippet},
                "customers": len(self._customers),
                "orders": len(self._orders),
                "products": len(self._products),
                "webhook_subscriptions": [{"id": s.gid, "topic": s.topic, "uri": s.uri}
                                          for s in self.subscriptions.values()],
                "discount_codes": [d.code for d in self.discount_codes],
                "now": iso(self.now()),
            }


def _scopes(scopes: str | Iterable[str]) -> list[str]:
    items = scopes.split(",") if isinstance(scopes, str) else list(scopes)
    out: list[str] = []
    for item in items:
        item = item.strip()
        if item and item not in out:
            out.append(item)
    return out


def _consent(state: str | None, at: datetime, sms: bool = False) -> Consent:
    value = (state or "NOT_SUBSCRIBED").upper()
    if value not in CONSENT_STATES:
        raise SandboxError(f"marketing state must be one of {', '.join(CONSENT_STATES)}")
    level = "SINGLE_OPT_IN" if not sms or value != "NOT_SUBSCRIBED" else "UNKNOWN"
    return Consent(value, level, None if value == "NOT_SUBSCRIBED" else at)


__all__ = ["Shop", "SandboxError", "PRIVACY_TOPICS", "gid"]
