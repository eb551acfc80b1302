"""Shopify payloads -> platform-neutral records.

Two shapes arrive: webhooks carry REST JSON (numeric ids, snake_case), the Admin GraphQL API and
bulk operations carry GraphQL nodes (GIDs, camelCase).  Each ``*_from_*`` function raises
``PayloadError`` with a readable reason when a payload lacks what the record needs.
"""

import hashlib
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.dateparse import parse_date, parse_datetime

from commerce import geo
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
from retention_app.money import ZERO, to_decimal


def legacy_id(value: Any) -> str:
    """``gid://shopify/Order/5001`` or ``5001`` -> ``"5001"``."""
    if value is None or value == "":
        return ""
    text = str(value)
    if text.startswith("gid://"):
        text = text.rsplit("/", 1)[-1].split("?", 1)[0]
    if not text.isdigit():
        raise PayloadError(f"not a Shopify id: {value!r}")
    return text


def _required_id(payload: dict, *keys: str) -> str:
    for key in keys:
        if payload.get(key) not in (None, ""):
            return legacy_id(payload[key])
    raise PayloadError(f"missing {' / '.join(keys)}")


def _datetime(value: Any) -> datetime | None:
    if not value:
        return None
    parsed = parse_datetime(str(value))
    if parsed is None:
        raise PayloadError(f"not a date-time: {value!r}")
    return parsed


def _date(value: Any) -> date | None:
    if not value:
        return None
    try:
        return parse_date(str(value)[:10])
    except ValueError:
        return None


def _money(value: Any) -> Decimal:
    """A REST amount ("12.50") or a GraphQL MoneyBag ({"shopMoney": {"amount": ...}})."""
    if isinstance(value, dict):
        value = (value.get("shopMoney") or value.get("shop_money") or value).get("amount")
    try:
        return to_decimal(value)
    except InvalidOperation as error:
        raise PayloadError(f"not an amount: {value!r}") from error


def _currency(value: Any, default: str = "") -> str:
    if isinstance(value, dict):
        money = value.get("shopMoney") or value.get("shop_money") or value
        return str(money.get("currencyCode") or money.get("currency_code") or default)
    return default


def _nodes(connection: Any) -> list[dict]:
    """Nodes of a GraphQL connection in either ``nodes`` or ``edges{node}`` form, or a list."""
    if connection is None:
        return []
    if isinstance(connection, list):
        return connection
    if "nodes" in connection:
        return list(connection["nodes"])
    return [edge["node"] for edge in connection.get("edges", [])]


def _tags(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return tuple(t.strip() for t in value.split(",") if t.strip())
    return tuple(str(t) for t in value or ())


_CONSENT = {
    "subscribed": "subscribed",
    "not_subscribed": "not_subscribed",
    "unsubscribed": "unsubscribed",
    "pending": "pending",
}


def _consent(value: Any) -> str:
    if isinstance(value, dict):
        value = value.get("marketingState") or value.get("state")
    return _CONSENT.get(str(value or "").lower(), "not_subscribed")


def _consent_updated_at(value: Any) -> datetime | None:
    """When the shopper last gave or withdrew consent: ``consent_updated_at`` (webhooks, REST),
    ``consentUpdatedAt`` (GraphQL ``emailMarketingConsent`` / ``smsMarketingConsent``)."""
    if not isinstance(value, dict):
        return None
    return _datetime(value.get("consent_updated_at") or value.get("consentUpdatedAt")
                     or value.get("marketingUpdatedAt"))


# --- customers -------------------------------------------------------------------------------

def _coordinate(value: Any) -> float | None:
    try:
        return None if value in (None, "") else float(value)
    except (TypeError, ValueError):
        return None


def _address_fields(payload: dict, key: str) -> dict[str, Any]:
    """Country, province and time zone of the default address, when the payload carries it
    (``{}`` otherwise: what is stored stays).  Both shapes: GraphQL ``MailingAddress``
    (``countryCodeV2``, ``provinceCode``) and REST (``country_code``, ``province_code``)."""
    if key not in payload:
        return {}
    address = payload.get(key) or {}
    if not isinstance(address, dict):
        raise PayloadError(f"{key} is not an object")
    country = str(address.get("countryCodeV2") or address.get("country_code") or "").strip().upper()
    province = str(address.get("provinceCode") or address.get("province_code") or "").strip().upper()
    return {
        "has_address": True,
        "country_code": country[:2],
        "province_code": province[:16],
        "timezone": geo.timezone_for(
            country_code=country, province_code=province,
            latitude=_coordinate(address.get("latitude")), longitude=_coordinate(address.get("longitude")),
        ),
    }


def customer_from_graphql(node: dict) -> CustomerRecord:
    birth = node.get("birthDate")
    return CustomerRecord(
        platform_id=_required_id(node, "id"),
        updated_at=_datetime(node.get("updatedAt")),
        created_at=_datetime(node.get("createdAt")),
        first_name=node.get("firstName") or "",
        last_name=node.get("lastName") or "",
        email=node.get("email") or "",
        phone=node.get("phone") or "",
        locale=node.get("locale") or "",
        tags=_tags(node.get("tags")),
        account_state=str(node.get("state") or "").lower(),
        email_consent=_consent(node.get("emailMarketingConsent")),
        sms_consent=_consent(node.get("smsMarketingConsent")),
        email_consent_updated_at=_consent_updated_at(node.get("emailMarketingConsent")),
        sms_consent_updated_at=_consent_updated_at(node.get("smsMarketingConsent")),
        birthday=_date(birth.get("value")) if isinstance(birth, dict) else None,
        has_birthday="birthDate" in node,
        **_address_fields(node, "defaultAddress"),
    )


def customer_from_rest(payload: dict) -> CustomerRecord:
    return CustomerRecord(
        platform_id=_required_id(payload, "id", "admin_graphql_api_id"),
        updated_at=_datetime(payload.get("updated_at")),
        created_at=_datetime(payload.get("created_at")),
        first_name=payload.get("first_name") or "",
        last_name=payload.get("last_name") or "",
        email=payload.get("email") or "",
        phone=payload.get("phone") or "",
        locale=payload.get("locale") or "",
        tags=_tags(payload.get("tags")),
        account_state=str(payload.get("state") or "").lower(),
        email_consent=_consent(payload.get("email_marketing_consent")),
        sms_consent=_consent(payload.get("sms_marketing_consent")),
        email_consent_updated_at=_consent_updated_at(payload.get("email_marketing_consent")),
        sms_consent_updated_at=_consent_updated_at(payload.get("sms_marketing_consent")),
        **_address_fields(payload, "default_address"),
    )


# --- products --------------------------------------------------------------------------------

def product_from_graphql(node: dict) -> ProductRecord:
    category = node.get("category") or {}
    return ProductRecord(
        platform_id=_required_id(node, "id"),
        updated_at=_datetime(node.get("updatedAt")),
        title=node.get("title") or "",
        product_type=node.get("productType") or "",
        category=category.get("fullName") or category.get("name") or "",
        vendor=node.get("vendor") or "",
        tags=_tags(node.get("tags")),
        status=str(node.get("status") or "").lower(),
        handle=str(node.get("handle") or ""),
        image_url=_https((node.get("featuredImage") or {}).get("url")),
        variants=tuple(
            VariantRecord(
                platform_id=_required_id(v, "id"),
                title=v.get("title") or "",
                sku=v.get("sku") or "",
                price=_money(v.get("price")),
                unit_cost=_unit_cost(v),
            )
            for v in _nodes(node.get("variants"))
        ),
    )


def _https(url: object) -> str:
    """An image address emails may show: https only (Shopify's CDN serves every picture so)."""
    text = str(url or "")
    return text if text.startswith("https://") and len(text) <= 1000 and "\x00" not in text else ""


def _unit_cost(variant: dict) -> Decimal | None:
    item = variant.get("inventoryItem") or {}
    cost = item.get("unitCost")
    return _money(cost) if cost else None


def product_from_rest(payload: dict) -> ProductRecord:
    return ProductRecord(
        platform_id=_required_id(payload, "id", "admin_graphql_api_id"),
        updated_at=_datetime(payload.get("updated_at")),
        title=payload.get("title") or "",
        product_type=payload.get("product_type") or "",
        category=((payload.get("category") or {}).get("full_name") or ""),
        vendor=payload.get("vendor") or "",
        tags=_tags(payload.get("tags")),
        status=str(payload.get("status") or "").lower(),
        handle=str(payload.get("handle") or ""),
        image_url=_https((payload.get("image") or next(iter(payload.get("images") or ()), None) or {}).get("src")),
        variants=tuple(
            VariantRecord(
                platform_id=_required_id(v, "id", "admin_graphql_api_id"),
                title=v.get("title") or "",
                sku=v.get("sku") or "",
                price=_money(v.get("price")),
                unit_cost=None,
            )
            for v in payload.get("variants") or ()
        ),
    )


# --- orders ----------------------------------------------------------------------------------

_FULFILLMENT = {
    "fulfilled": "fulfilled",
    "partial": "partially_fulfilled",
    "partially_fulfilled": "partially_fulfilled",
    "restocked": "restocked",
    "unfulfilled": "unfulfilled",
    "": "unfulfilled",
    "none": "unfulfilled",
}
_FINANCIAL = {
    "pending", "authorized", "partially_paid", "paid", "partially_refunded", "refunded",
    "voided", "expired",
}


def _financial(value: Any) -> str:
    status = str(value or "").lower()
    return status if status in _FINANCIAL else "unknown"


def _fulfillment(value: Any) -> str:
    return _FULFILLMENT.get(str(value or "").lower(), "other")


def _refund_from_graphql(node: dict, order_id: str, currency: str) -> RefundRecord:
    shipping = sum((_money(s.get("subtotalAmountSet")) for s in _nodes(node.get("refundShippingLines"))), ZERO)
    return RefundRecord(
        platform_id=_required_id(node, "id"),
        order_platform_id=order_id,
        amount=_money(node.get("totalRefundedSet")),
        currency=_currency(node.get("totalRefundedSet"), currency),
        processed_at=_datetime(node.get("createdAt")),
        shipping_amount=shipping,
        note=node.get("note") or "",
        lines=tuple(
            RefundLineRecord(
                line_platform_id=_required_id(line.get("lineItem") or {}, "id"),
                quantity=int(line.get("quantity") or 0),
                subtotal=_money(line.get("subtotalSet")),
            )
            for line in _nodes(node.get("refundLineItems"))
        ),
    )


def order_from_graphql(node: dict) -> OrderRecord:
    order_id = _required_id(node, "id")
    currency = node.get("currencyCode") or _currency(node.get("totalPriceSet"))
    if not currency:
        raise PayloadError("order without currency")
    refunds = node.get("refunds")
    return OrderRecord(
        platform_id=order_id,
        updated_at=_datetime(node.get("updatedAt")),
        currency=currency,
        name=node.get("name") or "",
        email=node.get("email") or "",
        phone=node.get("phone") or "",
        locale=node.get("customerLocale") or "",
        customer_platform_id=legacy_id((node.get("customer") or {}).get("id")),
        financial_status=_financial(node.get("displayFinancialStatus")),
        fulfillment_status=_fulfillment(node.get("displayFulfillmentStatus")),
        subtotal=_money(node.get("subtotalPriceSet")),
        total_discounts=_money(node.get("totalDiscountsSet")),
        total_tax=_money(node.get("totalTaxSet")),
        total_shipping=_money(node.get("totalShippingPriceSet")),
        total=_money(node.get("totalPriceSet")),
        total_refunded=_money(node.get("totalRefundedSet")),
        discount_codes=tuple(str(c) for c in node.get("discountCodes") or ()),
        is_test=bool(node.get("test")),
        created_at=_datetime(node.get("createdAt")),
        processed_at=_datetime(node.get("processedAt")),
        cancelled_at=_datetime(node.get("cancelledAt")),
        cancel_reason=str(node.get("cancelReason") or "").lower(),
        shipping_address_key=address_key(node.get("shippingAddress")),
        lines=tuple(
            OrderLineRecord(
                platform_id=_required_id(line, "id"),
                title=line.get("title") or "",
                sku=line.get("sku") or "",
                quantity=int(line.get("quantity") or 0),
                unit_price=_money(line.get("originalUnitPriceSet")),
                total_discount=_money(line.get("totalDiscountSet")),
                product_platform_id=legacy_id((line.get("product") or {}).get("id")),
                variant_platform_id=legacy_id((line.get("variant") or {}).get("id")),
            )
            for line in _nodes(node.get("lineItems"))
        ),
        refunds=None if refunds is None else tuple(
            _refund_from_graphql(r, order_id, currency) for r in refunds
        ),
    )


def refund_from_rest(payload: dict, currency: str = "") -> RefundRecord:
    transactions = [
        t for t in payload.get("transactions") or ()
        if t.get("kind") == "refund" and t.get("status", "success") == "success"
    ]
    shipping = sum(
        (_money(s.get("subtotal_amount_set") or s.get("subtotal")) for s in payload.get("refund_shipping_lines") or ()),
        ZERO,
    ) or -sum(
        (_money(a.get("amount")) for a in payload.get("order_adjustments") or ()
         if a.get("kind") == "shipping_refund"),
        ZERO,
    )
    return RefundRecord(
        platform_id=_required_id(payload, "id", "admin_graphql_api_id"),
        order_platform_id=_required_id(payload, "order_id"),
        amount=sum((_money(t.get("amount")) for t in transactions), ZERO),
        currency=next((t.get("currency") for t in transactions if t.get("currency")), currency),
        processed_at=_datetime(payload.get("processed_at") or payload.get("created_at")),
        shipping_amount=shipping,
        note=payload.get("note") or "",
        lines=tuple(
            RefundLineRecord(
                line_platform_id=_required_id(line, "line_item_id"),
                quantity=int(line.get("quantity") or 0),
                subtotal=_money(line.get("subtotal_set") or line.get("subtotal")),
            )
            for line in payload.get("refund_line_items") or ()
        ),
    )


def address_key(address: dict | None) -> str:
    """A fingerprint of a shipping address that ignores case, spacing and punctuation."""
    if not address:
        return ""
    parts = [address.get(k) or "" for k in ("address1", "address2", "city", "zip", "country_code", "countryCodeV2")]
    text = " ".join("".join(ch for ch in str(part).lower() if ch.isalnum()) for part in parts if part)
    return hashlib.sha256(text.encode()).hexdigest()[:32] if text.strip() else ""


def order_from_rest(payload: dict) -> OrderRecord:
    order_id = _required_id(payload, "id", "admin_graphql_api_id")
    currency = payload.get("currency") or ""
    if not currency:
        raise PayloadError("order without currency")
    refunds = tuple(refund_from_rest({**r, "order_id": order_id}, currency) for r in payload.get("refunds") or ())
    customer = payload.get("customer") or {}
    return OrderRecord(
        platform_id=order_id,
        updated_at=_datetime(payload.get("updated_at")),
        currency=currency,
        name=payload.get("name") or "",
        email=payload.get("email") or payload.get("contact_email") or "",
        phone=payload.get("phone") or "",
        locale=payload.get("customer_locale") or "",
        customer_platform_id=legacy_id(customer.get("id")),
        financial_status=_financial(payload.get("financial_status")),
        fulfillment_status=_fulfillment(payload.get("fulfillment_status")),
        subtotal=_money(payload.get("subtotal_price")),
        total_discounts=_money(payload.get("total_discounts")),
        total_tax=_money(payload.get("total_tax")),
        total_shipping=_money(payload.get("total_shipping_price_set")),
        total=_money(payload.get("total_price")),
        total_refunded=sum((r.amount for r in refunds), ZERO),
        discount_codes=tuple(str(c.get("code")) for c in payload.get("discount_codes") or () if c.get("code")),
        is_test=bool(payload.get("test")),
        created_at=_datetime(payload.get("created_at")),
        processed_at=_datetime(payload.get("processed_at")),
        cancelled_at=_datetime(payload.get("cancelled_at")),
        cancel_reason=str(payload.get("cancel_reason") or "").lower(),
        shipping_address_key=address_key(payload.get("shipping_address")),
        lines=tuple(
            OrderLineRecord(
                platform_id=_required_id(line, "id", "admin_graphql_api_id"),
                title=line.get("title") or line.get("name") or "",
                sku=line.get("sku") or "",
                quantity=int(line.get("quantity") or 0),
                unit_price=_money(line.get("price_set") or line.get("price")),
                total_discount=_money(line.get("total_discount_set") or line.get("total_discount")),
                product_platform_id=legacy_id(line.get("product_id")),
                variant_platform_id=legacy_id(line.get("variant_id")),
            )
            for line in payload.get("line_items") or ()
        ),
        refunds=refunds,
        extra={"customer": customer} if customer else {},
    )
