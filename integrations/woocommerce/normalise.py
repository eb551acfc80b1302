"""WooCommerce payloads -> platform-neutral records (``commerce.records``).

A webhook body is the same JSON as the REST resource (``/wp-json/wc/v3/<resource>s/<id>``), so one
function per resource serves the history sync, the reconciliation and the webhooks.  Each raises
``PayloadError`` with a readable reason when a payload lacks what the record needs.

Ids are WordPress post / user ids, kept as strings.  Times come from the ``*_gmt`` fields, which
WooCommerce sends without an offset ("2026-03-22T19:28:02"): they are UTC.  ``date_modified_gmt``
is the version (``updated_at``): an older version never overwrites a newer one.  Money is Decimal
from WooCommerce's strings, in the order's ``currency``.

Order status -> commerce (``FinancialStatus`` / ``FulfillmentStatus``):

================  ==================  ============  ===================================================
WooCommerce       financial_status    fulfillment   note
================  ==================  ============  ===================================================
checkout-draft    draft               unfulfilled   the block checkout's cart, not an order yet
pending           pending             unfulfilled   awaiting payment
on-hold           pending             unfulfilled   awaiting payment confirmation (bank transfer...)
processing        paid                unfulfilled   paid, not shipped
completed         paid                fulfilled
cancelled         voided              unfulfilled   ``cancelled_at`` = ``date_modified_gmt``: a paid
                                                    order that is cancelled reverses like Shopify's
refunded          refunded            (kept)        fulfilled when ``date_completed_gmt`` is set
failed            failed              unfulfilled   payment declined
trash             voided              unfulfilled   moved to the bin: cancelled, not counted
other (plugins)   paid if ``date_paid_gmt`` else unknown
================  ==================  ============  ===================================================

Refunds: a paid order whose refunds add up to less than its total is ``partially_refunded``, to
all of it ``refunded``.  The order lists its refunds as ``{"id", "reason", "total": "-5.00"}``;
their lines and date come from ``/orders/<id>/refunds`` (pass those payloads as ``refunds``): a
refund known only from the order's summary has no lines and no date.

Guests: ``customer_id`` 0 -> no customer; the order keeps the billing email and phone.
Consent: WooCommerce has none; ours is kept in the customer's ``meta_data``
(``_comeback_email_consent`` / ``_comeback_sms_consent``, see ``consent.py``) and read back here.
"""

import hashlib
import html
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.dateparse import parse_datetime

from commerce import geo
from commerce.models import FinancialStatus, FulfillmentStatus
from commerce.records import (
    CustomerRecord,
    OrderLineRecord,
    OrderRecord,
    ProductRecord,
    RefundLineRecord,
    RefundRecord,
    VariantRecord,
)
from integrations.webhooks import PayloadError as PayloadError
from retention_app.money import ZERO

CONSENT_META_KEYS = {"email": "_comeback_email_consent", "sms": "_comeback_sms_consent"}
# Cost per item: WooCommerce's own Cost of Goods Sold (``cost_of_goods_sold``, 9.x) first, then
# the meta keys of the common cost plugins.
COST_META_KEYS = ("_wc_cog_cost", "_alg_wc_cog_cost", "_purchase_price")


# --- scalars ---------------------------------------------------------------------------------

def woo_id(value: Any) -> str:
    """A WordPress id (``123`` or ``"123"``) -> ``"123"``; 0 / empty -> ``""`` (none)."""
    if value is None or value == "" or value == 0 or value == "0":
        return ""
    if isinstance(value, bool):
        raise PayloadError(f"not a WooCommerce id: {value!r}")
    text = str(value).strip()
    if not text.isdigit():
        raise PayloadError(f"not a WooCommerce id: {value!r}")
    return str(int(text))


def _required_id(payload: Mapping[str, Any], key: str = "id") -> str:
    platform_id = woo_id(payload.get(key))
    if not platform_id:
        raise PayloadError(f"missing {key}")
    return platform_id


def _object(payload: Any, what: str) -> dict[str, Any]:
    if not isinstance(payload, dict):
        raise PayloadError(f"{what} is not a JSON object")
    return payload


def gmt(value: Any) -> datetime | None:
    """A ``*_gmt`` time (no offset: UTC) or any ISO time with an offset -> aware UTC datetime."""
    if value in (None, "", "0000-00-00T00:00:00", "0000-00-00 00:00:00"):
        return None
    try:
        parsed = parse_datetime(str(value).replace(" ", "T", 1))
    except ValueError:
        parsed = None
    if parsed is None:
        raise PayloadError(f"not a date-time: {value!r}")
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _time(payload: Mapping[str, Any], name: str) -> datetime | None:
    """``<name>_gmt``; the local ``<name>`` only when the GMT one is absent (old API versions)."""
    if payload.get(f"{name}_gmt"):
        return gmt(payload[f"{name}_gmt"])
    return gmt(payload.get(name))


def money(value: Any) -> Decimal:
    """"12.50", 12.5, None -> Decimal (through ``str``, never float arithmetic)."""
    if value is None or value == "":
        return ZERO
    if isinstance(value, bool) or isinstance(value, (dict, list)):
        raise PayloadError(f"not an amount: {value!r}")
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation as error:
        raise PayloadError(f"not an amount: {value!r}") from error
    if not amount.is_finite():
        raise PayloadError(f"not an amount: {value!r}")
    return amount


def _quantity(value: Any) -> int:
    try:
        return int(Decimal(str(value or 0)))
    except (InvalidOperation, ValueError) as error:
        raise PayloadError(f"not a quantity: {value!r}") from error


def _list(payload: Mapping[str, Any], key: str) -> list[dict[str, Any]]:
    value = payload.get(key)
    if value in (None, ""):
        return []
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise PayloadError(f"{key} is not a list of objects")
    return value


def meta(payload: Mapping[str, Any], key: str) -> Any:
    """The value of ``meta_data[key]`` (the last one when repeated), or None."""
    found = None
    for entry in _list(payload, "meta_data"):
        if entry.get("key") == key:
            found = entry.get("value")
    return found


def text(value: Any, limit: int = 255) -> str:
    """A display string as WooCommerce renders it (names carry HTML entities: "&ndash;")."""
    return html.unescape(str(value or "")).strip()[:limit]


def _https(url: object) -> str:
    text = str(url or "")
    return text if text.startswith("https://") and len(text) <= 1000 and "\x00" not in text else ""


# --- customers -------------------------------------------------------------------------------

def consent_from_meta(payload: Mapping[str, Any], channel: str) -> tuple[str, datetime | None]:
    """Our consent kept in the customer's meta: ``{"state": "subscribed", "updated_at": ...}`` (or
    a bare state) -> (state, when); ``("not_subscribed", None)`` when absent."""
    value = meta(payload, CONSENT_META_KEYS[channel])
    if isinstance(value, dict):
        state = str(value.get("state") or "")
        at = gmt(value.get("updated_at")) if value.get("updated_at") else None
    else:
        state, at = str(value or ""), None
    if state not in ("subscribed", "unsubscribed", "not_subscribed", "pending"):
        return "not_subscribed", None
    return state, at


def _address(address: Any) -> dict[str, str]:
    return address if isinstance(address, dict) else {}


def _address_fields(payload: Mapping[str, Any]) -> dict[str, Any]:
    """Country, state and time zone from the shipping address, else the billing one (``{}`` when
    the payload has neither: what is stored stays)."""
    if "billing" not in payload and "shipping" not in payload:
        return {}
    shipping, billing = _address(payload.get("shipping")), _address(payload.get("billing"))
    address = shipping if str(shipping.get("country") or "").strip() else billing
    country = str(address.get("country") or "").strip().upper()[:2]
    province = str(address.get("state") or "").strip().upper()[:16]
    return {
        "has_address": True,
        "country_code": country,
        "province_code": province,
        "timezone": geo.timezone_for(country_code=country, province_code=province),
    }


def customer_from_rest(payload: Any) -> CustomerRecord:
    """A ``/customers/<id>`` resource (a registered WordPress user)."""
    payload = _object(payload, "customer")
    billing = _address(payload.get("billing"))
    email_state, email_at = consent_from_meta(payload, "email")
    sms_state, sms_at = consent_from_meta(payload, "sms")
    created_at = _time(payload, "date_created")
    return CustomerRecord(
        platform_id=_required_id(payload),
        updated_at=_time(payload, "date_modified") or created_at,
        created_at=created_at,
        first_name=str(payload.get("first_name") or billing.get("first_name") or "")[:255],
        last_name=str(payload.get("last_name") or billing.get("last_name") or "")[:255],
        email=str(payload.get("email") or billing.get("email") or ""),
        phone=str(billing.get("phone") or _address(payload.get("shipping")).get("phone") or "")[:64],
        locale=str(meta(payload, "locale") or "")[:16],
        tags=(),
        # a WooCommerce customer is a WordPress user: the account exists and can log in
        account_state="enabled",
        email_consent=email_state,
        sms_consent=sms_state,
        email_consent_updated_at=email_at,
        sms_consent_updated_at=sms_at,
        **_address_fields(payload),
    )


# --- products --------------------------------------------------------------------------------

_PRODUCT_STATUS = {"publish": "active", "draft": "draft", "pending": "draft", "private": "archived",
                   "future": "draft", "trash": "archived"}


def _unit_cost(payload: Mapping[str, Any]) -> Decimal | None:
    cogs = payload.get("cost_of_goods_sold")
    if isinstance(cogs, dict):
        for value in (cogs.get("total_value"),
                      *[v.get("effective_value", v.get("defined_value"))
                        for v in cogs.get("values") or () if isinstance(v, dict)]):
            if value not in (None, ""):
                return money(value)
    for key in COST_META_KEYS:
        value = meta(payload, key)
        if value not in (None, "") and not isinstance(value, (dict, list)):
            try:
                return money(value)
            except PayloadError:
                continue
    return None


def variant_from_rest(payload: Any, *, product_title: str = "") -> VariantRecord:
    """A ``/products/<id>/variations/<id>`` resource."""
    payload = _object(payload, "variation")
    options = [str(a.get("option") or "") for a in _list(payload, "attributes")]
    return VariantRecord(
        platform_id=_required_id(payload),
        title=text(" / ".join(o for o in options if o) or payload.get("name") or product_title),
        sku=str(payload.get("sku") or "")[:255],
        price=money(payload.get("price")),
        unit_cost=_unit_cost(payload),
    )


def product_from_rest(payload: Any, *, variations: Sequence[dict[str, Any]] | None = None) -> ProductRecord:
    """A ``/products/<id>`` resource.  A simple product is its own single variant (order lines name
    it with ``variation_id`` 0); a variable product's variants are its ``variations`` payloads
    when given (the product itself lists only their ids: without them the stored ones stay)."""
    payload = _object(payload, "product")
    product_id = _required_id(payload)
    title = text(payload.get("name"))
    kind = str(payload.get("type") or "simple")
    if kind == "variation":
        raise PayloadError("a variation is not a product: use variant_from_rest")
    if variations is not None:
        variants = tuple(variant_from_rest(v, product_title=title) for v in variations)
    elif kind in ("variable", "grouped"):
        variants = ()
    else:
        variants = (VariantRecord(platform_id=product_id, title=title[:255], sku=str(payload.get("sku") or "")[:255],
                                  price=money(payload.get("price")), unit_cost=_unit_cost(payload)),)
    categories = _list(payload, "categories")
    brands = _list(payload, "brands")
    images = _list(payload, "images")
    return ProductRecord(
        platform_id=product_id,
        updated_at=_time(payload, "date_modified") or _time(payload, "date_created"),
        title=title,
        product_type=text(categories[0].get("name")) if categories else "",
        category=text(categories[0].get("name")) if categories else "",
        vendor=text(brands[0].get("name")) if brands else "",
        tags=tuple(text(t.get("name")) for t in _list(payload, "tags") if t.get("name")),
        status=_PRODUCT_STATUS.get(str(payload.get("status") or ""), str(payload.get("status") or "")),
        handle=str(payload.get("slug") or ""),
        image_url=_https(images[0].get("src")) if images else "",
        variants=variants,
    )


# --- orders ----------------------------------------------------------------------------------

# WooCommerce status -> (financial status, fulfillment status); see the table above.
STATUS_MAP: dict[str, tuple[str, str]] = {
    "checkout-draft": (FinancialStatus.DRAFT, FulfillmentStatus.UNFULFILLED),
    "pending": (FinancialStatus.PENDING, FulfillmentStatus.UNFULFILLED),
    "on-hold": (FinancialStatus.PENDING, FulfillmentStatus.UNFULFILLED),
    "processing": (FinancialStatus.PAID, FulfillmentStatus.UNFULFILLED),
    "completed": (FinancialStatus.PAID, FulfillmentStatus.FULFILLED),
    "cancelled": (FinancialStatus.VOIDED, FulfillmentStatus.UNFULFILLED),
    "refunded": (FinancialStatus.REFUNDED, FulfillmentStatus.UNFULFILLED),
    "failed": (FinancialStatus.FAILED, FulfillmentStatus.UNFULFILLED),
    "trash": (FinancialStatus.VOIDED, FulfillmentStatus.UNFULFILLED),
}
CANCELLED_STATUSES = ("cancelled", "trash")


def order_statuses(*, status: str, paid: bool, completed: bool, total: Decimal,
                   refunded: Decimal) -> tuple[str, str]:
    """(financial, fulfillment) for a WooCommerce order status (see the module's table)."""
    status = status.removeprefix("wc-")
    financial, fulfillment = STATUS_MAP.get(
        status, (FinancialStatus.PAID if paid else FinancialStatus.UNKNOWN, FulfillmentStatus.UNFULFILLED))
    if status == "refunded" and completed:
        fulfillment = FulfillmentStatus.FULFILLED
    if financial == FinancialStatus.PAID and refunded > 0:
        financial = FinancialStatus.REFUNDED if total > 0 and refunded >= total else FinancialStatus.PARTIALLY_REFUNDED
    return financial, fulfillment


def address_key(address: Mapping[str, Any] | None) -> str:
    """A fingerprint of a shipping address that ignores case, spacing and punctuation (the same
    parts and hash as the other platforms', so one address matches across them)."""
    if not address:
        return ""
    parts = [address.get(k) or "" for k in ("address_1", "address_2", "city", "postcode", "country")]
    text = " ".join("".join(ch for ch in str(part).lower() if ch.isalnum()) for part in parts if part)
    return hashlib.sha256(text.encode()).hexdigest()[:32] if text.strip() else ""


def _refunded_item_id(line: Mapping[str, Any]) -> str:
    """The order line a refund line gives back: ``refunded_item_id`` or the ``_refunded_item_id`` meta."""
    value = line.get("refunded_item_id")
    if value in (None, "", 0):
        value = meta(line, "_refunded_item_id")
    return woo_id(value) if value not in (None, "") else ""


def refund_from_rest(payload: Any, *, order_platform_id: str, currency: str,
                     order_lines: Mapping[tuple[str, str], str] | None = None) -> RefundRecord:
    """A ``/orders/<id>/refunds/<id>`` resource.  Quantities and amounts of its lines are negative
    in WooCommerce; the record has them positive, like every platform's.  A refund line names the
    order line it gives back in its ``_refunded_item_id`` meta; without it (a plugin hiding item
    meta) the order line of the same product and variation is taken (``order_lines``)."""
    payload = _object(payload, "refund")
    lines = []
    for line in _list(payload, "line_items"):
        item_id = _refunded_item_id(line) or (order_lines or {}).get(
            (woo_id(line.get("product_id")), woo_id(line.get("variation_id"))), "")
        if not item_id:
            continue
        lines.append(RefundLineRecord(line_platform_id=item_id, quantity=abs(_quantity(line.get("quantity"))),
                                      subtotal=abs(money(line.get("total")))))
    shipping = sum((abs(money(s.get("total"))) for s in _list(payload, "shipping_lines")), ZERO)
    return RefundRecord(
        platform_id=_required_id(payload),
        order_platform_id=order_platform_id,
        amount=abs(money(payload.get("amount") if payload.get("amount") not in (None, "") else payload.get("total"))),
        currency=currency,
        processed_at=_time(payload, "date_created"),
        shipping_amount=shipping,
        note=str(payload.get("reason") or "")[:1000],
        lines=tuple(lines),
    )


def _refund_from_summary(summary: Mapping[str, Any], *, order_platform_id: str, currency: str) -> RefundRecord:
    return RefundRecord(
        platform_id=_required_id(summary),
        order_platform_id=order_platform_id,
        amount=abs(money(summary.get("total"))),
        currency=currency,
        processed_at=None,
        note=str(summary.get("reason") or "")[:1000],
    )


def refund_ids(payload: Mapping[str, Any]) -> list[str]:
    """The ids of the refunds an order lists."""
    return [_required_id(r) for r in _list(payload, "refunds")]


def _line(line: Mapping[str, Any]) -> OrderLineRecord:
    quantity = _quantity(line.get("quantity"))
    subtotal, total = money(line.get("subtotal")), money(line.get("total"))
    product_id = woo_id(line.get("product_id"))
    unit_price = (subtotal / quantity).quantize(Decimal("0.001")) if quantity else money(line.get("price"))
    return OrderLineRecord(
        platform_id=_required_id(line),
        title=text(line.get("name")),
        sku=str(line.get("sku") or "")[:255],
        quantity=quantity,
        unit_price=unit_price,
        total_discount=max(subtotal - total, ZERO),
        product_platform_id=product_id,
        # a simple product is its own variant (see product_from_rest)
        variant_platform_id=woo_id(line.get("variation_id")) or product_id,
    )


def order_from_rest(payload: Any, *, refunds: Iterable[dict[str, Any]] | None = None) -> OrderRecord:
    """An ``/orders/<id>`` resource; ``refunds``: its ``/orders/<id>/refunds`` payloads, when
    fetched (a refund the order lists without one is taken from the order's summary)."""
    payload = _object(payload, "order")
    order_id = _required_id(payload)
    currency = str(payload.get("currency") or "").upper()
    if len(currency) != 3:
        raise PayloadError("order without currency")
    order_lines = {(woo_id(line.get("product_id")), woo_id(line.get("variation_id"))): woo_id(line.get("id"))
                   for line in _list(payload, "line_items")}
    detailed = {}
    for refund in refunds or ():
        record = refund_from_rest(refund, order_platform_id=order_id, currency=currency, order_lines=order_lines)
        detailed[record.platform_id] = record
    refund_records = tuple(
        detailed.get(woo_id(summary.get("id")))
        or _refund_from_summary(summary, order_platform_id=order_id, currency=currency)
        for summary in _list(payload, "refunds")
    ) + tuple(r for pid, r in detailed.items() if pid not in {woo_id(s.get("id")) for s in _list(payload, "refunds")})
    total = money(payload.get("total"))
    refunded = sum((r.amount for r in refund_records), ZERO)
    status = str(payload.get("status") or "")
    financial, fulfillment = order_statuses(
        status=status, paid=bool(payload.get("date_paid_gmt") or payload.get("date_paid")),
        completed=bool(payload.get("date_completed_gmt") or payload.get("date_completed")),
        total=total, refunded=refunded)
    billing = _address(payload.get("billing"))
    created_at = _time(payload, "date_created")
    updated_at = _time(payload, "date_modified") or created_at
    lines = tuple(_line(line) for line in _list(payload, "line_items"))
    cancelled = status.removeprefix("wc-") in CANCELLED_STATUSES
    return OrderRecord(
        platform_id=order_id,
        updated_at=updated_at,
        currency=currency,
        name=f"#{payload.get('number') or order_id}"[:64],
        email=str(billing.get("email") or ""),
        phone=str(billing.get("phone") or "")[:64],
        locale="",
        customer_platform_id=woo_id(payload.get("customer_id")),
        financial_status=financial,
        fulfillment_status=fulfillment,
        subtotal=sum((money(line.get("total")) for line in _list(payload, "line_items")), ZERO),
        total_discounts=money(payload.get("discount_total")),
        total_tax=money(payload.get("total_tax")),
        total_shipping=money(payload.get("shipping_total")),
        total=total,
        total_refunded=refunded,
        discount_codes=tuple(str(c.get("code")) for c in _list(payload, "coupon_lines") if c.get("code")),
        is_test=False,
        created_at=created_at,
        processed_at=created_at,
        cancelled_at=updated_at if cancelled else None,
        cancel_reason=("deleted" if status == "trash" else "other") if cancelled else "",
        shipping_address_key=address_key(_address(payload.get("shipping"))
                                         if str(_address(payload.get("shipping")).get("address_1") or "")
                                         else billing),
        lines=lines,
        refunds=refund_records,
        extra={"status": status},
    )
