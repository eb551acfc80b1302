"""The graphql-core schema: SDL from :mod:`.sdl` plus resolvers over the store's records.

Resolvers only use ``info.context`` (a :class:`Ctx`), so the bulk executor can call them directly.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from functools import cached_property
from typing import TYPE_CHECKING, Any, Protocol

from graphql import (
    BooleanValueNode,
    EnumValueNode,
    FloatValueNode,
    GraphQLError,
    GraphQLObjectType,
    GraphQLResolveInfo,
    GraphQLScalarType,
    GraphQLSchema,
    IntValueNode,
    StringValueNode,
    ValueNode,
    build_schema,
)

from sandbox.store.model import (
    ID_BASE,
    Address,
    BulkOperation,
    Consent,
    Customer,
    DiscountCode,
    LineItem,
    Order,
    Product,
    Refund,
    RefundLineItem,
    Variant,
    WebhookSubscription,
)

from . import search
from .common import API_VERSION, CENT, ZERO, gid, gid_kind, iso, money, parse_datetime, parse_gid
from .sdl import SDL, WEBHOOK_TOPICS

if TYPE_CHECKING:
    from .bulk import BulkManager
    from .store import Shop


class Lookup(Protocol):
    """What resolvers need to follow references (a ``Shop``, or the generator for the CLI)."""

    currency: str

    def get_customer(self, customer_id: int) -> Customer | None: ...
    def get_product(self, product_id: int) -> Product | None: ...
    def get_variant(self, variant_id: int) -> Variant | None: ...
    def get_order(self, order_id: int) -> Order | None: ...
    def orders_of(self, customer_id: int) -> list[Order]: ...


@dataclass
class Ctx:
    lookup: Lookup
    shop: Shop | None = None
    scopes: frozenset[str] | None = None  # None = no scope checks
    bulk: BulkManager | None = None
    api_version: str = API_VERSION
    orders_since: datetime | None = None  # without read_all_orders: only the last 60 days
    bulk_mode: bool = False
    api_key: str = ""  # the app's, for its billing confirmation URLs


@dataclass(frozen=True, slots=True)
class Money:
    """Serves as both ``MoneyBag`` and ``MoneyV2``."""

    amount: Decimal
    currency: str


@dataclass(frozen=True, slots=True)
class Edge:
    cursor: str
    node: Any


@dataclass(frozen=True, slots=True)
class MetafieldValue:
    id: int
    namespace: str
    key: str
    value: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class RefundShipping:
    refund: Refund
    currency: str


@dataclass(frozen=True, slots=True)
class CodeDiscount:
    """``DiscountCodeNode.codeDiscount`` (the union member) wrapping the record."""

    discount: DiscountCode


@dataclass(frozen=True, slots=True)
class RedeemCode:
    discount: DiscountCode


@dataclass
class LazyConn:
    """A connection whose page is cut only when asked (the bulk executor takes ``all()``)."""

    source: Callable[[], Sequence[Any]]
    key: Callable[[Any], tuple[Any, int]]
    args: dict[str, Any]
    bulk: bool = False
    extras: dict[str, Any] = field(default_factory=dict)

    def all(self) -> Sequence[Any]:
        items = self.source()
        if self.args.get("reverse"):
            return list(reversed(items))
        return items

    @cached_property
    def page(self) -> search.Page:
        a = self.args
        first, last = a.get("first"), a.get("last")
        if first is None and last is None:
            if not self.bulk:
                raise GraphQLError("you must provide one of first or last")
            items = list(self.all())
            return search.Page(items, [search.encode_cursor(self.key(i)) for i in items],
                               False, False)
        try:
            return search.paginate(self.source(), self.key, first=first, after=a.get("after"),
                                   last=last, before=a.get("before"),
                                   reverse=bool(a.get("reverse")), presorted=True)
        except TypeError as exc:
            raise GraphQLError("Invalid cursor for current pagination sort.") from exc


def _ctx(info: GraphQLResolveInfo) -> Ctx:
    return info.context  # type: ignore[no-any-return]


def _shop(info: GraphQLResolveInfo) -> Shop:
    shop = _ctx(info).shop
    if shop is None:
        raise GraphQLError("not available here")
    return shop


def require_scope(ctx: Ctx, scope: str, field_name: str) -> None:
    if ctx.scopes is None:
        return
    write = scope.replace("read_", "write_", 1)
    if scope in ctx.scopes or write in ctx.scopes:
        return
    raise GraphQLError(
        f"Access denied for {field_name} field. Required access: `{scope}` access scope.",
        extensions={
            "code": "ACCESS_DENIED",
            "documentation": "https://shopify.dev/api/usage/access-scopes",
            "requiredAccess": f"`{scope}` access scope.",
        },
    )


# --- scalars -----------------------------------------------------------------------------------


def _ser_datetime(value: Any) -> str:
    if isinstance(value, datetime):
        return iso(value)  # type: ignore[return-value]
    return str(value)


def _parse_datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    try:
        return parse_datetime(str(value))
    except ValueError as exc:
        raise GraphQLError(f"Invalid DateTime: {value!r}") from exc


def _ser_decimal(value: Any) -> str:
    d = value if isinstance(value, Decimal) else Decimal(str(value))
    text = str(d)
    dot = text.find(".")
    if dot != -1 and len(text) - dot == 3 and "E" not in text:
        return text  # the usual case: already two places
    if d == d.quantize(CENT):
        return money(d)
    return format(d.normalize(), "f")


def _parse_decimal(value: Any) -> Decimal:
    if isinstance(value, bool):
        raise GraphQLError("Invalid Decimal")
    try:
        return Decimal(str(value))
    except InvalidOperation as exc:
        raise GraphQLError(f"Invalid Decimal: {value!r}") from exc


def _parse_uint(value: Any) -> int:
    try:
        number = int(str(value))
    except ValueError as exc:
        raise GraphQLError(f"Invalid UnsignedInt64: {value!r}") from exc
    if number < 0:
        raise GraphQLError("UnsignedInt64 must be >= 0")
    return number


def _literal(parse: Callable[[Any], Any]) -> Callable[[ValueNode], Any]:
    def coerce(node: ValueNode) -> Any:
        if isinstance(node, (StringValueNode, IntValueNode, FloatValueNode, EnumValueNode)):
            return parse(node.value)
        if isinstance(node, BooleanValueNode):
            return parse(node.value)
        raise GraphQLError("Invalid literal")

    return coerce


def _install_scalar(schema: GraphQLSchema, name: str, serialize: Callable[[Any], Any],
                    parse: Callable[[Any], Any]) -> None:
    scalar = schema.type_map[name]
    assert isinstance(scalar, GraphQLScalarType)
    scalar.serialize = serialize  # type: ignore[method-assign,assignment]
    scalar.coerce_output_value = serialize
    scalar.parse_value = parse  # type: ignore[method-assign,assignment]
    scalar.coerce_input_value = parse
    scalar.coerce_input_literal = _literal(parse)


def _passthrough(value: Any) -> Any:
    return value


# --- sorting and filtering ---------------------------------------------------------------------


def _ts(value: datetime | None) -> int:
    return int(value.timestamp()) if value else 0


SortKey = Callable[[Any], tuple[Any, int]]

SORTS: dict[str, dict[str, SortKey]] = {
    "customers": {
        "ID": lambda c: (c.id, c.id),
        "CREATED_AT": lambda c: (_ts(c.created_at), c.id),
        "UPDATED_AT": lambda c: (_ts(c.updated_at), c.id),
        "NAME": lambda c: (c.display_name.lower(), c.id),
    },
    "orders": {
        "ID": lambda o: (o.id, o.id),
        "CREATED_AT": lambda o: (_ts(o.created_at), o.id),
        "UPDATED_AT": lambda o: (_ts(o.updated_at), o.id),
        "PROCESSED_AT": lambda o: (_ts(o.processed_at), o.id),
        "ORDER_NUMBER": lambda o: (o.number, o.id),
        "TOTAL_PRICE": lambda o: (int(o.total_price * 100), o.id),
        "FINANCIAL_STATUS": lambda o: (o.financial_status, o.id),
        "FULFILLMENT_STATUS": lambda o: (o.fulfillment, o.id),
        "TOTAL_ITEMS_QUANTITY": lambda o: (sum(li.quantity for li in o.line_items), o.id),
    },
    "products": {
        "ID": lambda p: (p.id, p.id),
        "CREATED_AT": lambda p: (_ts(p.created_at), p.id),
        "UPDATED_AT": lambda p: (_ts(p.updated_at), p.id),
        "PUBLISHED_AT": lambda p: (_ts(p.published_at), p.id),
        "TITLE": lambda p: (p.title.lower(), p.id),
        "PRODUCT_TYPE": lambda p: (p.product_type.lower(), p.id),
        "VENDOR": lambda p: (p.vendor.lower(), p.id),
        "INVENTORY_TOTAL": lambda p: (sum(v.inventory_quantity for v in p.variants), p.id),
    },
    "variants": {
        "ID": lambda v: (v.id, v.id),
        "POSITION": lambda v: (v.position, v.id),
        "SKU": lambda v: (v.sku or "", v.id),
        "TITLE": lambda v: (v.title.lower(), v.id),
        "NAME": lambda v: (v.title.lower(), v.id),
        "INVENTORY_QUANTITY": lambda v: (v.inventory_quantity, v.id),
    },
    "subscriptions": {
        "ID": lambda s: (s.id, s.id),
        "CREATED_AT": lambda s: (_ts(s.created_at), s.id),
    },
    "discounts": {
        "ID": lambda d: (d.id, d.id),
        "CREATED_AT": lambda d: (_ts(d.created_at), d.id),
        "UPDATED_AT": lambda d: (_ts(d.updated_at or d.created_at), d.id),
        "STARTS_AT": lambda d: (_ts(d.starts_at), d.id),
        "ENDS_AT": lambda d: (_ts(d.ends_at), d.id),
        "TITLE": lambda d: (d.title.lower(), d.id),
    },
}


def _sort(kind: str, sort_key: str | None) -> SortKey:
    table = SORTS[kind]
    return table.get(sort_key or "ID", table["ID"])


F = search.Field


def _fulfillment_words(o: Order) -> list[str]:
    return {
        "FULFILLED": ["fulfilled", "shipped"],
        "PARTIALLY_FULFILLED": ["partial"],
    }.get(o.fulfillment, ["unfulfilled", "unshipped"])


def _order_status(o: Order) -> str:
    if o.cancelled_at:
        return "cancelled"
    return "closed" if o.closed_at else "open"


FILTERS: dict[str, tuple[dict[str, search.Field], list[search.Getter]]] = {
    "customers": ({
        "id": F(lambda c: c.id, "int"),
        "created_at": F(lambda c: c.created_at, "date"),
        "updated_at": F(lambda c: c.updated_at, "date"),
        "email": F(lambda c: c.email),
        "phone": F(lambda c: c.phone),
        "first_name": F(lambda c: c.first_name),
        "last_name": F(lambda c: c.last_name),
        "tag": F(lambda c: c.tags, "list"),
        "state": F(lambda c: c.state),
        "locale": F(lambda c: c.locale),
        "country": F(lambda c: [c.address.country, c.address.country_code] if c.address
                     else [], "list"),
        "accepts_marketing": F(lambda c: bool(c.email_consent and
                                              c.email_consent.state == "SUBSCRIBED"), "bool"),
    }, [lambda c: c.first_name, lambda c: c.last_name, lambda c: c.email, lambda c: c.phone]),
    "orders": ({
        "id": F(lambda o: o.id, "int"),
        "created_at": F(lambda o: o.created_at, "date"),
        "updated_at": F(lambda o: o.updated_at, "date"),
        "processed_at": F(lambda o: o.processed_at, "date"),
        "name": F(lambda o: o.name),
        "email": F(lambda o: o.email),
        "customer_id": F(lambda o: o.customer_id, "int"),
        "financial_status": F(lambda o: o.financial_status),
        "fulfillment_status": F(_fulfillment_words, "list"),
        "status": F(_order_status),
        "tag": F(lambda o: o.tags, "list"),
        "test": F(lambda o: o.test, "bool"),
        "discount_code": F(lambda o: [d.code for d in o.discounts], "list"),
        "sku": F(lambda o: [li.sku for li in o.line_items if li.sku], "list"),
    }, [lambda o: o.name, lambda o: o.email]),
    "products": ({
        "id": F(lambda p: p.id, "int"),
        "created_at": F(lambda p: p.created_at, "date"),
        "updated_at": F(lambda p: p.updated_at, "date"),
        "title": F(lambda p: p.title),
        "handle": F(lambda p: p.handle),
        "product_type": F(lambda p: p.product_type),
        "vendor": F(lambda p: p.vendor),
        "status": F(lambda p: p.status),
        "tag": F(lambda p: p.tags, "list"),
        "sku": F(lambda p: [v.sku for v in p.variants], "list"),
    }, [lambda p: p.title, lambda p: p.vendor, lambda p: p.product_type]),
    "variants": ({
        "id": F(lambda v: v.id, "int"),
        "sku": F(lambda v: v.sku),
        "title": F(lambda v: v.title),
        "product_id": F(lambda v: v.product_id, "int"),
        "created_at": F(lambda v: v.created_at, "date"),
        "updated_at": F(lambda v: v.updated_at, "date"),
    }, [lambda v: v.sku, lambda v: v.title]),
    "discounts": ({
        "id": F(lambda d: d.id, "int"),
        "title": F(lambda d: d.title),
        "code": F(lambda d: d.code),
        "created_at": F(lambda d: d.created_at, "date"),
    }, [lambda d: d.code, lambda d: d.title]),
}


def _view(shop: Shop, kind: str, sort_key: str | None, source: Callable[[], list[Any]]
          ) -> list[Any]:
    """Records sorted ascending by ``sort_key``, cached until the shop changes."""
    name = sort_key or "ID"
    cached = shop.views.get((kind, name))
    if cached is not None and cached[0] == shop.version:
        return cached[1]
    items = sorted(source(), key=_sort(kind, name))
    shop.views[(kind, name)] = (shop.version, items)
    return items


def _connection(info: GraphQLResolveInfo, kind: str, items: Callable[[], Sequence[Any]],
                args: dict[str, Any], sort_key: str | None = None,
                extra: Callable[[Any], bool] | None = None) -> LazyConn:
    ctx = _ctx(info)
    fields, text = FILTERS.get(kind, ({}, []))
    predicate = search.compile_query(args.get("query"), fields, text)

    def source() -> Sequence[Any]:
        out = items()
        if predicate is None and extra is None:
            return out
        return [i for i in out if (predicate is None or predicate(i))
                and (extra is None or extra(i))]

    return LazyConn(source, _sort(kind, sort_key), args, bulk=ctx.bulk_mode)


def _order_window(ctx: Ctx) -> Callable[[Any], bool] | None:
    since = ctx.orders_since
    if since is None:
        return None
    return lambda o: o.created_at >= since


# --- root query --------------------------------------------------------------------------------


def r_shop(_: Any, info: GraphQLResolveInfo) -> Shop:
    return _shop(info)


def r_shop_locales(_: Any, info: GraphQLResolveInfo, published: bool | None = None
                   ) -> list[dict[str, Any]]:
    names = {"en": "English", "he": "Hebrew", "fa": "Persian"}
    return [{"locale": loc, "name": names.get(loc, loc), "primary": primary, "published": True}
            for loc, primary in _shop(info).config.locales]


def r_customers(_: Any, info: GraphQLResolveInfo, **args: Any) -> LazyConn:
    require_scope(_ctx(info), "read_customers", "customers")
    shop = _shop(info)
    key = args.get("sortKey")
    return _connection(info, "customers",
                       lambda: _view(shop, "customers", key, lambda: shop.customers), args, key)


def r_orders(_: Any, info: GraphQLResolveInfo, **args: Any) -> LazyConn:
    ctx = _ctx(info)
    require_scope(ctx, "read_orders", "orders")
    shop = _shop(info)
    key = args.get("sortKey")
    return _connection(info, "orders", lambda: _view(shop, "orders", key, lambda: shop.orders),
                       args, key, _order_window(ctx))


def r_products(_: Any, info: GraphQLResolveInfo, **args: Any) -> LazyConn:
    require_scope(_ctx(info), "read_products", "products")
    shop = _shop(info)
    key = args.get("sortKey")
    return _connection(info, "products",
                       lambda: _view(shop, "products", key, lambda: shop.products), args, key)


def r_product_variants(_: Any, info: GraphQLResolveInfo, **args: Any) -> LazyConn:
    require_scope(_ctx(info), "read_products", "productVariants")
    shop = _shop(info)
    key = args.get("sortKey")
    return _connection(
        info, "variants",
        lambda: _view(shop, "variants", key,
                      lambda: [v for p in shop.products for v in p.variants]), args, key)


def _by_id(kind: str, getter: Callable[[Shop, int], Any], scope: str | None, name: str
           ) -> Callable[..., Any]:
    def resolve(_: Any, info: GraphQLResolveInfo, id: str) -> Any:  # noqa: A002
        if scope:
            require_scope(_ctx(info), scope, name)
        ident = parse_gid(id, kind)
        if ident is None:
            raise GraphQLError(f"Invalid global id '{id}'",
                               extensions={"code": "argumentLiteralsIncompatible"})
        return getter(_shop(info), ident)

    return resolve


def _bulk_op(shop: Shop, ident: int) -> BulkOperation | None:
    return shop.bulk_operations.get(ident)


def _the_shop(shop: Shop, ident: int) -> Shop | None:
    return shop if ident == shop.shop_id else None


def _find_refund(shop: Shop, ident: int) -> Refund | None:
    for order in shop.orders:
        for refund in order.refunds:
            if refund.id == ident:
                return refund
    return None


NODE_GETTERS: dict[str, tuple[Callable[[Shop, int], Any], str | None]] = {
    "Customer": (lambda s, i: s.get_customer(i), "read_customers"),
    "Order": (lambda s, i: s.get_order(i), "read_orders"),
    "Product": (lambda s, i: s.get_product(i), "read_products"),
    "ProductVariant": (lambda s, i: s.get_variant(i), "read_products"),
    "BulkOperation": (_bulk_op, None),
    "WebhookSubscription": (lambda s, i: s.subscriptions.get(i), None),
    "DiscountCodeNode": (lambda s, i: s.get_discount(i), "read_discounts"),
    "Refund": (_find_refund, "read_orders"),
    "Shop": (_the_shop, None),
}


def r_node(_: Any, info: GraphQLResolveInfo, id: str) -> Any:  # noqa: A002
    kind = gid_kind(id)
    if kind is None:
        raise GraphQLError(f"Invalid global id '{id}'",
                           extensions={"code": "argumentLiteralsIncompatible"})
    entry = NODE_GETTERS.get(kind)
    if entry is None:
        return None
    getter, scope = entry
    if scope:
        require_scope(_ctx(info), scope, "node")
    return getter(_shop(info), parse_gid(id) or 0)


def r_nodes(_: Any, info: GraphQLResolveInfo, ids: list[str]) -> list[Any]:
    if len(ids) > 250:
        raise GraphQLError("The input array size of 251 is greater than the maximum allowed of "
                           "250.", extensions={"code": "MAX_INPUT_SIZE_EXCEEDED"})
    return [r_node(None, info, i) for i in ids]


def r_current_bulk(_: Any, info: GraphQLResolveInfo, type: str = "QUERY"  # noqa: A002
                   ) -> BulkOperation | None:
    shop = _shop(info)
    ops = [op for op in shop.bulk_operations.values()]
    return ops[-1] if ops and type == "QUERY" else None


def r_webhook_subscriptions(_: Any, info: GraphQLResolveInfo, **args: Any) -> LazyConn:
    shop = _shop(info)
    topics = set(args.get("topics") or ())
    uri = args.get("uri") or args.get("callbackUrl")

    def extra(sub: WebhookSubscription) -> bool:
        return (not topics or sub.topic in topics) and (not uri or sub.uri == uri)

    key = args.get("sortKey")
    return _connection(info, "subscriptions", lambda: sorted(
        shop.webhook_subscriptions, key=_sort("subscriptions", key)), args, key, extra)


def r_code_discount_by_code(_: Any, info: GraphQLResolveInfo, code: str) -> DiscountCode | None:
    require_scope(_ctx(info), "read_discounts", "codeDiscountNodeByCode")
    return _shop(info).discount_by_code(code)


def r_code_discount_nodes(_: Any, info: GraphQLResolveInfo, **args: Any) -> LazyConn:
    require_scope(_ctx(info), "read_discounts", "codeDiscountNodes")
    shop = _shop(info)
    key = args.get("sortKey")
    return _connection(info, "discounts", lambda: sorted(
        shop.all_discount_codes, key=_sort("discounts", key)), args, key)


# --- object resolvers --------------------------------------------------------------------------


def _money(amount: Decimal, info: GraphQLResolveInfo) -> Money:
    return Money(amount, _ctx(info).lookup.currency)


def _field(fn: Callable[[Any], Any]) -> Callable[..., Any]:
    def resolve(obj: Any, info: GraphQLResolveInfo, **_: Any) -> Any:
        return fn(obj)

    resolve.getter = fn  # type: ignore[attr-defined]  # the bulk executor calls it directly
    return resolve


def _money_field(fn: Callable[[Any], Decimal]) -> Callable[..., Any]:
    def resolve(obj: Any, info: GraphQLResolveInfo, **_: Any) -> Money:
        return _money(fn(obj), info)

    def bound(info: GraphQLResolveInfo) -> Callable[[Any], Money]:
        currency = _ctx(info).lookup.currency
        return lambda obj: Money(fn(obj), currency)

    resolve.bound = bound  # type: ignore[attr-defined]  # the bulk executor's fast path
    return resolve


def _metafield(c: Customer, info: GraphQLResolveInfo, key: str, namespace: str | None = None
               ) -> MetafieldValue | None:
    ns = namespace or "custom"
    value = c.metafields.get((ns, key))
    if value is None:
        return None
    ident = ID_BASE["Metafield"] + (c.id % 10**9) * 16 + zlib.crc32(f"{ns}.{key}".encode()) % 16
    return MetafieldValue(ident, ns, key, value, c.created_at, c.updated_at)


def _customer_orders(c: Customer, info: GraphQLResolveInfo, **args: Any) -> LazyConn:
    ctx = _ctx(info)
    require_scope(ctx, "read_orders", "orders")
    key = args.get("sortKey")
    return _connection(info, "orders", lambda: sorted(
        ctx.lookup.orders_of(c.id), key=_sort("orders", key)), args, key, _order_window(ctx))


def _amount_spent(c: Customer, info: GraphQLResolveInfo) -> Money:
    total = sum((o.total_price - o.total_refunded for o in _ctx(info).lookup.orders_of(c.id)
                 if o.payment == "paid"), ZERO)
    return _money(total, info)


def _last_order(c: Customer, info: GraphQLResolveInfo) -> Order | None:
    orders = _ctx(info).lookup.orders_of(c.id)
    return orders[-1] if orders else None


def _default_email(c: Customer, info: GraphQLResolveInfo) -> dict[str, Any] | None:
    if not c.email:
        return None
    consent = c.email_consent or Consent("NOT_SUBSCRIBED", None, None)
    return {"emailAddress": c.email, "marketingState": consent.state,
            "marketingOptInLevel": consent.opt_in_level,
            "marketingUpdatedAt": consent.updated_at}


def _default_phone(c: Customer, info: GraphQLResolveInfo) -> dict[str, Any] | None:
    if not c.phone:
        return None
    consent = c.sms_consent or Consent("NOT_SUBSCRIBED", "UNKNOWN", None)
    return {"phoneNumber": c.phone, "marketingState": consent.state,
            "marketingOptInLevel": consent.opt_in_level,
            "marketingUpdatedAt": consent.updated_at,
            "marketingCollectedFrom": consent.collected_from}


def _line_conn(o: Order, info: GraphQLResolveInfo, **args: Any) -> LazyConn:
    index = {li.id: n for n, li in enumerate(o.line_items)}
    return LazyConn(lambda: o.line_items, lambda li: (index[li.id], li.id), args,
                    bulk=_ctx(info).bulk_mode)


def _variants_conn(p: Product, info: GraphQLResolveInfo, **args: Any) -> LazyConn:
    key = args.get("sortKey") or "POSITION"
    return LazyConn(lambda: sorted(p.variants, key=_sort("variants", key)),
                    _sort("variants", key), args, bulk=_ctx(info).bulk_mode)


def _refund_lines_conn(r: Refund, info: GraphQLResolveInfo, **args: Any) -> LazyConn:
    index = {x.id: n for n, x in enumerate(r.line_items)}
    return LazyConn(lambda: r.line_items, lambda x: (index[x.id], x.id), args,
                    bulk=_ctx(info).bulk_mode)


def _refund_shipping_conn(r: Refund, info: GraphQLResolveInfo, **args: Any) -> LazyConn:
    items = [RefundShipping(r, _ctx(info).lookup.currency)] if r.shipping > 0 else []
    return LazyConn(lambda: items, lambda x: (0, x.refund.shipping_line_id or 0), args,
                    bulk=_ctx(info).bulk_mode)


def _tax_lines(rate: Decimal, amount: Decimal, info: GraphQLResolveInfo) -> list[dict[str, Any]]:
    if amount <= 0:
        return []
    return [{"title": "Tax", "rate": float(rate), "ratePercentage": float(rate * 100),
             "priceSet": _money(amount, info)}]


def _order_refunds(o: Order, info: GraphQLResolveInfo, first: int | None = None
                   ) -> list[Refund]:
    return o.refunds[:first] if first is not None else o.refunds


def _refund_order(r: Refund, info: GraphQLResolveInfo) -> Order | None:
    return _ctx(info).lookup.get_order(r.order_id)


def _ref(kind: str) -> Callable[..., Any]:
    def resolve(obj: Any, info: GraphQLResolveInfo) -> Any:
        lookup = _ctx(info).lookup
        if kind == "variant":
            return lookup.get_variant(obj.variant_id) if obj.variant_id else None
        if kind == "product":
            return lookup.get_product(obj.product_id) if obj.product_id else None
        if kind == "customer":
            return lookup.get_customer(obj.customer_id) if obj.customer_id else None
        raise AssertionError(kind)

    return resolve


def _discount_status(d: DiscountCode, info: GraphQLResolveInfo) -> str:
    shop = _ctx(info).shop
    now = shop.now() if shop else datetime.now().astimezone()
    if d.starts_at > now:
        return "SCHEDULED"
    if d.ends_at is not None and d.ends_at <= now:
        return "EXPIRED"
    return "ACTIVE"


def _discount_summary(d: DiscountCode) -> str:
    kind, value = d.value()
    if d.kind == "free_shipping":
        return "Free shipping on all products"
    if kind == "percentage":
        return f"{value.normalize():f}% off entire order"
    return f"{money(value)} off entire order"


def _combines(d: DiscountCode) -> dict[str, bool]:
    given = d.input.get("combinesWith") or {}
    return {k: bool(given.get(k)) for k in ("orderDiscounts", "productDiscounts",
                                            "shippingDiscounts")}


def _codes_conn(cd: CodeDiscount, info: GraphQLResolveInfo, **args: Any) -> LazyConn:
    code = RedeemCode(cd.discount)
    return LazyConn(lambda: [code], lambda x: (x.discount.redeem_code_id,
                                                x.discount.redeem_code_id), args,
                    bulk=_ctx(info).bulk_mode)


def _webhook_api_version(s: WebhookSubscription, info: GraphQLResolveInfo) -> dict[str, Any]:
    version = _ctx(info).api_version
    return {"handle": version, "displayName": version, "supported": True}


def _tz_offset(shop: Shop) -> tuple[str, int, str]:
    now = shop.now()
    local = now.astimezone(shop.tz) if shop.tz else now
    offset = local.utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    text = f"{sign}{abs(minutes) // 60:02d}{abs(minutes) % 60:02d}"
    return text, minutes, local.tzname() or "UTC"


def _connection_fields() -> dict[str, Callable[..., Any]]:
    return {
        "edges": lambda c, info, **_: [Edge(cur, n) for n, cur in zip(
            c.page.items, c.page.cursors, strict=True)],
        "nodes": lambda c, info, **_: c.page.items,
        "pageInfo": lambda c, info, **_: c.page,
    }


RESOLVERS: dict[str, dict[str, Callable[..., Any]]] = {
    "Query": {
        "shop": r_shop,
        "shopLocales": r_shop_locales,
        "node": r_node,
        "nodes": r_nodes,
        "customer": _by_id("Customer", lambda s, i: s.get_customer(i), "read_customers",
                           "customer"),
        "customers": r_customers,
        "product": _by_id("Product", lambda s, i: s.get_product(i), "read_products", "product"),
        "products": r_products,
        "productVariant": _by_id("ProductVariant", lambda s, i: s.get_variant(i),
                                 "read_products", "productVariant"),
        "productVariants": r_product_variants,
        "order": _by_id("Order", lambda s, i: s.get_order(i), "read_orders", "order"),
        "orders": r_orders,
        "currentBulkOperation": r_current_bulk,
        "webhookSubscription": _by_id("WebhookSubscription",
                                      lambda s, i: s.subscriptions.get(i), None,
                                      "webhookSubscription"),
        "webhookSubscriptions": r_webhook_subscriptions,
        "codeDiscountNode": _by_id("DiscountCodeNode", lambda s, i: s.get_discount(i),
                                   "read_discounts", "codeDiscountNode"),
        "codeDiscountNodeByCode": r_code_discount_by_code,
        "codeDiscountNodes": r_code_discount_nodes,
        "currentAppInstallation": lambda _, info, **__: {"shop": info.context.shop},
    },
    "AppInstallation": {
        "id": _field(lambda i: gid("AppInstallation", i["shop"].shop_id)),
        "launchUrl": _field(lambda i: f"{i['shop'].origin}/admin/apps"),
        "activeSubscriptions": _field(lambda i: i["shop"].billing.active()),
    },
    "AppSubscription": {
        "id": _field(lambda s: s.gid),
        "trialDays": _field(lambda s: s.trial_days),
        "createdAt": _field(lambda s: s.created_at),
        "currentPeriodEnd": _field(lambda s: s.current_period_end),
        "returnUrl": _field(lambda s: s.return_url),
        "lineItems": _field(lambda s: [{"id": gid("AppSubscriptionLineItem", s.id), "plan": {"pricingDetails": {
            "price": Money(s.price, s.currency), "interval": s.interval}}}]),
    },
    "PageInfo": {
        "hasNextPage": _field(lambda p: p.has_next),
        "hasPreviousPage": _field(lambda p: p.has_previous),
        "startCursor": _field(lambda p: p.start_cursor),
        "endCursor": _field(lambda p: p.end_cursor),
    },
    "MoneyBag": {
        "shopMoney": _field(lambda m: m),
        "presentmentMoney": _field(lambda m: m),
    },
    "MoneyV2": {
        "amount": _field(lambda m: m.amount),
        "currencyCode": _field(lambda m: m.currency),
    },
    "Shop": {
        "id": _field(lambda s: gid("Shop", s.shop_id)),
        "name": _field(lambda s: s.name),
        "email": _field(lambda s: s.config.email),
        "contactEmail": _field(lambda s: s.config.email),
        "myshopifyDomain": _field(lambda s: s.domain),
        "url": _field(lambda s: f"https://{s.domain}"),
        "currencyCode": _field(lambda s: s.currency),
        "enabledPresentmentCurrencies": _field(lambda s: [s.currency]),
        "ianaTimezone": _field(lambda s: s.iana_timezone),
        "timezoneAbbreviation": _field(lambda s: _tz_offset(s)[2]),
        "timezoneOffset": _field(lambda s: _tz_offset(s)[0]),
        "timezoneOffsetMinutes": _field(lambda s: _tz_offset(s)[1]),
        "weightUnit": _field(lambda s: "KILOGRAMS"),
        "createdAt": _field(lambda s: s.created_at),
        "updatedAt": _field(lambda s: s.created_at),
        "primaryDomain": _field(lambda s: {"id": gid("Domain", s.shop_id), "host": s.domain,
                                           # the sandbox's storefront is its own origin
                                           "url": s.origin, "sslEnabled": True}),
        "plan": _field(lambda s: {"displayName": "Development", "partnerDevelopment": True,
                                  "shopifyPlus": False}),
        "taxesIncluded": _field(lambda s: False),
        "taxShipping": _field(lambda s: False),
    },
    "Customer": {
        "id": _field(lambda c: c.gid),
        "legacyResourceId": _field(lambda c: c.id),
        "firstName": _field(lambda c: c.first_name),
        "lastName": _field(lambda c: c.last_name),
        "displayName": _field(lambda c: c.display_name),
        "email": _field(lambda c: c.email),
        "phone": _field(lambda c: c.phone),
        "locale": _field(lambda c: c.locale),
        "tags": _field(lambda c: c.tags),
        "note": _field(lambda c: c.note),
        "state": _field(lambda c: c.state),
        "verifiedEmail": _field(lambda c: c.verified_email),
        "taxExempt": _field(lambda c: False),
        "createdAt": _field(lambda c: c.created_at),
        "updatedAt": _field(lambda c: c.updated_at),
        "numberOfOrders": lambda c, info: len(_ctx(info).lookup.orders_of(c.id)),
        "amountSpent": _amount_spent,
        "lastOrder": _last_order,
        "emailMarketingConsent": _field(lambda c: c.email_consent),
        "smsMarketingConsent": _field(lambda c: c.sms_consent),
        "defaultEmailAddress": _default_email,
        "defaultPhoneNumber": _default_phone,
        "defaultAddress": _field(lambda c: c.address),
        "addresses": lambda c, info, first=None: [c.address][:first] if c.address else [],
        "metafield": _metafield,
        "orders": _customer_orders,
    },
    "MailingAddress": {  # address1, city, zip, latitude...: the record's attributes
        "id": _field(lambda a: a.gid),
        "company": _field(lambda a: None),
        "coordinatesValidated": _field(lambda a: a.latitude is not None),
        "countryCodeV2": _field(lambda a: a.country_code),
        "firstName": _field(lambda a: a.first_name),
        "formattedArea": _field(lambda a: ", ".join(
            p for p in (a.city, a.province_code or a.province, a.country) if p)),
        "lastName": _field(lambda a: a.last_name),
        "phone": _field(lambda a: None),
        "provinceCode": _field(lambda a: a.province_code),
    },
    "CustomerEmailMarketingConsentState": {
        "marketingState": _field(lambda c: c.state),
        "marketingOptInLevel": _field(lambda c: c.opt_in_level),
        "consentUpdatedAt": _field(lambda c: c.updated_at),
    },
    "CustomerSmsMarketingConsentState": {
        "marketingState": _field(lambda c: c.state),
        "marketingOptInLevel": _field(lambda c: c.opt_in_level or "UNKNOWN"),
        "consentUpdatedAt": _field(lambda c: c.updated_at),
        "consentCollectedFrom": _field(lambda c: c.collected_from),
    },
    "Metafield": {
        "id": _field(lambda m: gid("Metafield", m.id)),
        "type": _field(lambda m: "date" if m.key.endswith("date") else
                       "single_line_text_field"),
        "jsonValue": _field(lambda m: m.value),
        "createdAt": _field(lambda m: m.created_at),
        "updatedAt": _field(lambda m: m.updated_at),
    },
    "Product": {
        "id": _field(lambda p: p.gid),
        "legacyResourceId": _field(lambda p: p.id),
        "title": _field(lambda p: p.title),
        "handle": _field(lambda p: p.handle),
        "featuredImage": _field(lambda p: None),  # the sandbox's products have no pictures
        "description": _field(lambda p: re.sub(r"<[^>]+>", "", p.description_html)),
        "descriptionHtml": _field(lambda p: p.description_html),
        "productType": _field(lambda p: p.product_type),
        "vendor": _field(lambda p: p.vendor),
        "tags": _field(lambda p: p.tags),
        "status": _field(lambda p: p.status),
        "createdAt": _field(lambda p: p.created_at),
        "updatedAt": _field(lambda p: p.updated_at),
        "publishedAt": _field(lambda p: p.published_at),
        "totalInventory": _field(lambda p: sum(v.inventory_quantity for v in p.variants)),
        "category": _field(lambda p: {"id": p.category_id, "name": p.category_name,
                                      "fullName": p.category_full_name}
                           if p.category_id else None),
        "variants": _variants_conn,
    },
    "ProductVariant": {
        "id": _field(lambda v: v.gid),
        "legacyResourceId": _field(lambda v: v.id),
        "title": _field(lambda v: v.title),
        "sku": _field(lambda v: v.sku),
        "barcode": _field(lambda v: None),
        "price": _field(lambda v: v.price),
        "compareAtPrice": _field(lambda v: None),
        "position": _field(lambda v: v.position),
        "inventoryQuantity": _field(lambda v: v.inventory_quantity),
        "createdAt": _field(lambda v: v.created_at),
        "updatedAt": _field(lambda v: v.updated_at),
        "product": _ref("product"),
        "inventoryItem": _field(lambda v: v),
        "displayName": lambda v, info: _variant_display(v, info),
    },
    "InventoryItem": {
        "id": _field(lambda v: gid("InventoryItem", v.inventory_item_id)),
        "legacyResourceId": _field(lambda v: v.inventory_item_id),
        "sku": _field(lambda v: v.sku),
        "tracked": _field(lambda v: True),
        "unitCost": lambda v, info: _money(v.unit_cost, info),
    },
    "Order": {
        "id": _field(lambda o: o.gid),
        "legacyResourceId": _field(lambda o: o.id),
        "name": _field(lambda o: o.name),
        "email": _field(lambda o: o.email),
        "phone": _field(lambda o: o.phone),
        "createdAt": _field(lambda o: o.created_at),
        "processedAt": _field(lambda o: o.processed_at),
        "updatedAt": _field(lambda o: o.updated_at),
        "cancelledAt": _field(lambda o: o.cancelled_at),
        "cancelReason": _field(lambda o: o.cancel_reason),
        "closed": _field(lambda o: o.closed_at is not None),
        "closedAt": _field(lambda o: o.closed_at),
        "confirmed": _field(lambda o: True),
        "test": _field(lambda o: o.test),
        "currencyCode": _field(lambda o: o.currency),
        "presentmentCurrencyCode": _field(lambda o: o.currency),
        "customerLocale": _field(lambda o: o.customer_locale),
        "displayFinancialStatus": _field(lambda o: o.financial_status),
        "displayFulfillmentStatus": _field(lambda o: o.fulfillment),
        "fullyPaid": _field(lambda o: o.payment == "paid"),
        "discountCode": _field(lambda o: o.discounts[0].code if o.discounts else None),
        "discountCodes": _field(lambda o: [d.code for d in o.discounts]),
        "tags": _field(lambda o: o.tags),
        "note": _field(lambda o: o.note),
        "sourceName": _field(lambda o: o.source_name),
        "customerAcceptsMarketing": _field(lambda o: o.buyer_accepts_marketing),
        "customer": _ref("customer"),
        "shippingAddress": _field(lambda o: o.shipping_address),
        "billingAddress": _field(lambda o: o.shipping_address),
        "subtotalLineItemsQuantity": _field(lambda o: sum(li.quantity for li in o.line_items)),
        "subtotalPriceSet": _money_field(lambda o: o.subtotal),
        "totalDiscountsSet": _money_field(lambda o: o.total_discounts),
        "totalTaxSet": _money_field(lambda o: o.total_tax),
        "totalShippingPriceSet": _money_field(lambda o: o.shipping),
        "totalPriceSet": _money_field(lambda o: o.total_price),
        "totalRefundedSet": _money_field(lambda o: o.total_refunded),
        "totalRefundedShippingSet": _money_field(lambda o: o.refunded_shipping()),
        "totalOutstandingSet": _money_field(
            lambda o: o.total_price if o.payment == "pending" else ZERO),
        "totalReceivedSet": _money_field(lambda o: o.total_price if o.payment == "paid" else ZERO),
        "netPaymentSet": _money_field(
            lambda o: o.total_price - o.total_refunded if o.payment == "paid" else ZERO),
        "currentSubtotalPriceSet": _money_field(
            lambda o: o.subtotal - sum((r.subtotal for f in o.refunds for r in f.line_items),
                                       ZERO)),
        "currentTotalPriceSet": _money_field(lambda o: o.total_price - o.total_refunded),
        "currentTotalDiscountsSet": _money_field(lambda o: o.total_discounts),
        "currentTotalTaxSet": _money_field(
            lambda o: o.total_tax - sum((r.total_tax for f in o.refunds for r in f.line_items),
                                        ZERO)),
        "taxLines": lambda o, info: _tax_lines(o.tax_rate, o.total_tax, info),
        "shippingLine": lambda o, info: {
            "id": gid("ShippingLine", o.shipping_line_id), "title": o.shipping_title,
            "code": o.shipping_title, "originalPriceSet": _money(o.shipping, info),
            "discountedPriceSet": _money(o.shipping, info)},
        "refunds": _order_refunds,
        "lineItems": _line_conn,
    },
    "LineItem": {
        "id": _field(lambda li: li.gid),
        "title": _field(lambda li: li.title),
        "name": _field(lambda li: f"{li.title} - {li.variant_title}" if li.variant_title
                       else li.title),
        "variantTitle": _field(lambda li: li.variant_title),
        "quantity": _field(lambda li: li.quantity),
        "sku": _field(lambda li: li.sku),
        "vendor": _field(lambda li: li.vendor),
        "variant": _ref("variant"),
        "product": _ref("product"),
        "originalUnitPriceSet": _money_field(lambda li: li.price),
        "discountedUnitPriceSet": _money_field(
            lambda li: (li.discounted_total / li.quantity).quantize(CENT)),
        "originalTotalSet": _money_field(lambda li: li.original_total),
        "discountedTotalSet": _money_field(lambda li: li.discounted_total),
        "totalDiscountSet": _money_field(lambda li: li.total_discount),
        "taxLines": lambda li, info: _tax_lines(
            (li.tax / li.discounted_total).quantize(Decimal("0.0001"))
            if li.discounted_total else ZERO, li.tax, info),
    },
    "Refund": {
        "id": _field(lambda r: r.gid),
        "legacyResourceId": _field(lambda r: r.id),
        "createdAt": _field(lambda r: r.created_at),
        "updatedAt": _field(lambda r: r.created_at),
        "note": _field(lambda r: r.note),
        "order": _refund_order,
        "totalRefundedSet": _money_field(lambda r: r.total),
        "refundLineItems": _refund_lines_conn,
        "refundShippingLines": _refund_shipping_conn,
    },
    "RefundLineItem": {
        "id": _field(lambda r: r.gid),
        "lineItem": _field(lambda r: r.line_item),
        "quantity": _field(lambda r: r.quantity),
        "restockType": _field(lambda r: r.restock_type),
        "restocked": _field(lambda r: r.restock_type in ("RETURN", "CANCEL")),
        "priceSet": _money_field(lambda r: r.line_item.price),
        "subtotalSet": _money_field(lambda r: r.subtotal),
        "totalTaxSet": _money_field(lambda r: r.total_tax),
    },
    "RefundShippingLine": {
        "id": _field(lambda x: gid("RefundShippingLine", x.refund.shipping_line_id or 0)),
        "subtotalAmountSet": _field(lambda x: Money(x.refund.shipping, x.currency)),
        "taxAmountSet": _field(lambda x: Money(ZERO, x.currency)),
    },
    "BulkOperation": {
        "id": _field(lambda b: b.gid),
        "status": _field(lambda b: b.status),
        "errorCode": _field(lambda b: b.error_code),
        "createdAt": _field(lambda b: b.created_at),
        "completedAt": _field(lambda b: b.completed_at),
        "objectCount": _field(lambda b: b.object_count),
        "rootObjectCount": _field(lambda b: b.root_object_count),
        "fileSize": _field(lambda b: b.file_size),
        "url": _field(lambda b: b.url),
        "partialDataUrl": _field(lambda b: None),
        "query": _field(lambda b: b.query),
        "type": _field(lambda b: "QUERY"),
    },
    "WebhookSubscription": {
        "id": _field(lambda s: s.gid),
        "legacyResourceId": _field(lambda s: s.id),
        "topic": _field(lambda s: s.topic),
        "uri": _field(lambda s: s.uri),
        "callbackUrl": _field(lambda s: s.uri),
        "endpoint": _field(lambda s: {"__typename": "WebhookHttpEndpoint",
                                      "callbackUrl": s.uri}),
        "format": _field(lambda s: s.format),
        "includeFields": _field(lambda s: []),
        "metafieldNamespaces": _field(lambda s: []),
        "filter": _field(lambda s: None),
        "apiVersion": _webhook_api_version,
        "createdAt": _field(lambda s: s.created_at),
        "updatedAt": _field(lambda s: s.updated_at),
    },
    "DiscountCodeNode": {
        "id": _field(lambda d: d.gid),
        "codeDiscount": _field(lambda d: CodeDiscount(d)),
    },
    "DiscountRedeemCode": {
        "id": _field(lambda r: gid("DiscountRedeemCode", r.discount.redeem_code_id)),
        "code": _field(lambda r: r.discount.code),
        "asyncUsageCount": _field(lambda r: r.discount.usage_count),
    },
}

_DISCOUNT_FIELDS: dict[str, Callable[..., Any]] = {
    "title": _field(lambda c: c.discount.title),
    "status": lambda c, info: _discount_status(c.discount, info),
    "summary": _field(lambda c: _discount_summary(c.discount)),
    "startsAt": _field(lambda c: c.discount.starts_at),
    "endsAt": _field(lambda c: c.discount.ends_at),
    "usageLimit": _field(lambda c: c.discount.usage_limit),
    "usesPerOrderLimit": _field(lambda c: c.discount.input.get("usesPerOrderLimit")),
    "appliesOncePerCustomer": _field(lambda c: c.discount.applies_once_per_customer),
    "asyncUsageCount": _field(lambda c: c.discount.usage_count),
    "createdAt": _field(lambda c: c.discount.created_at),
    "updatedAt": _field(lambda c: c.discount.updated_at or c.discount.created_at),
    "discountClass": _field(lambda c: "SHIPPING" if c.discount.kind == "free_shipping" else
                            "PRODUCT" if c.discount.kind == "bxgy" else "ORDER"),
    "combinesWith": _field(lambda c: _combines(c.discount)),
    "codes": _codes_conn,
    "codesCount": _field(lambda c: {"count": 1, "precision": "EXACT"}),
}
for _name in ("DiscountCodeBasic", "DiscountCodeFreeShipping", "DiscountCodeBxgy"):
    RESOLVERS[_name] = _DISCOUNT_FIELDS


def _variant_display(v: Variant, info: GraphQLResolveInfo) -> str:
    product = _ctx(info).lookup.get_product(v.product_id)
    title = product.title if product else ""
    return title if v.title == "Default Title" else f"{title} - {v.title}"


TYPE_NAMES: dict[type, str] = {
    Customer: "Customer",
    Order: "Order",
    Product: "Product",
    Variant: "ProductVariant",
    BulkOperation: "BulkOperation",
    WebhookSubscription: "WebhookSubscription",
    DiscountCode: "DiscountCodeNode",
    Refund: "Refund",
    LineItem: "LineItem",
    RefundLineItem: "RefundLineItem",
    MetafieldValue: "Metafield",
    Address: "MailingAddress",
}


def resolve_type_name(obj: Any) -> str:
    if isinstance(obj, CodeDiscount):
        return obj.discount.typename
    if isinstance(obj, dict):
        return str(obj.get("__typename", ""))
    name = TYPE_NAMES.get(type(obj))
    if name is None and type(obj).__name__ == "Shop":
        return "Shop"
    return name or ""


def _resolve_type(obj: Any, info: GraphQLResolveInfo, abstract: Any) -> str:
    return resolve_type_name(obj)


def build() -> GraphQLSchema:
    from .mutations import MUTATIONS

    schema = build_schema(SDL)
    _install_scalar(schema, "DateTime", _ser_datetime, _parse_datetime)
    _install_scalar(schema, "Date", lambda v: v.isoformat() if isinstance(v, date) else str(v),
                    lambda v: date.fromisoformat(str(v)))
    _install_scalar(schema, "Decimal", _ser_decimal, _parse_decimal)
    _install_scalar(schema, "Money", _ser_decimal, _parse_decimal)
    _install_scalar(schema, "UnsignedInt64", lambda v: str(int(v)), _parse_uint)
    _install_scalar(schema, "URL", str, str)
    _install_scalar(schema, "HTML", str, str)
    _install_scalar(schema, "JSON", _passthrough, _passthrough)
    resolvers = {**RESOLVERS, "Mutation": MUTATIONS}
    for type_name, type_ in schema.type_map.items():
        if isinstance(type_, GraphQLObjectType) and type_name.endswith("Connection"):
            for fname, fn in _connection_fields().items():
                type_.fields[fname].resolve = fn
    for type_name, fields in resolvers.items():
        type_ = schema.type_map[type_name]
        assert isinstance(type_, GraphQLObjectType), type_name
        for fname, fn in fields.items():
            if fname in type_.fields:
                type_.fields[fname].resolve = fn
    for abstract in ("Node", "DiscountCode", "WebhookSubscriptionEndpoint"):
        schema.type_map[abstract].resolve_type = _resolve_type  # type: ignore[attr-defined]
    return schema


__all__ = ["Ctx", "LazyConn", "Money", "build", "require_scope", "resolve_type_name",
           "WEBHOOK_TOPICS"]
