"""REST-shaped JSON (as in Shopify's published webhook sample payloads) for webhook bodies.

Timestamps are shop-local with an offset, money is a string with two decimals, except
``refund_line_items[].subtotal`` / ``total_tax`` which Shopify sends as JSON numbers.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sandbox.store.model import Address, Consent, Customer, LineItem, Order, Product, Refund, RefundLineItem

from .common import ZERO, gid, money, rest_time

JSON = dict[str, Any]

_FULFILLMENT = {"FULFILLED": "fulfilled", "PARTIALLY_FULFILLED": "partial", "UNFULFILLED": None}


def money_set(amount: Decimal, currency: str) -> JSON:
    value = money(amount)
    return {
        "shop_money": {"amount": value, "currency_code": currency},
        "presentment_money": {"amount": value, "currency_code": currency},
    }


def _consent(consent: Consent | None, tz: ZoneInfo | None, sms: bool) -> JSON | None:
    if consent is None:
        return None
    out: JSON = {
        "state": consent.state.lower(),
        "opt_in_level": consent.opt_in_level.lower() if consent.opt_in_level else None,
        "consent_updated_at": rest_time(consent.updated_at, tz),
    }
    if sms:
        out["consent_collected_from"] = consent.collected_from
    return out


def customer_address_json(address: Address | None, customer_id: int) -> JSON | None:
    """A customer's address as the REST Customer resource has it (no coordinates there)."""
    if address is None:
        return None
    return {
        "id": address.id,
        "customer_id": customer_id,
        "first_name": address.first_name,
        "last_name": address.last_name,
        "company": None,
        "address1": address.address1,
        "address2": address.address2,
        "city": address.city,
        "province": address.province,
        "country": address.country,
        "zip": address.zip,
        "phone": None,
        "name": address.name,
        "province_code": address.province_code,
        "country_code": address.country_code,
        "country_name": address.country,
        "default": True,
    }


def order_address_json(address: Address | None) -> JSON | None:
    """An order's shipping/billing address (REST orders carry the coordinates)."""
    if address is None:
        return None
    return {
        "first_name": address.first_name,
        "address1": address.address1,
        "phone": None,
        "city": address.city,
        "zip": address.zip,
        "province": address.province,
        "country": address.country,
        "last_name": address.last_name,
        "address2": address.address2,
        "company": None,
        "latitude": address.latitude,
        "longitude": address.longitude,
        "name": address.name,
        "country_code": address.country_code,
        "province_code": address.province_code,
    }


def customer_json(customer: Customer, currency: str, tz: ZoneInfo | None,
                  last_order: Order | None = None) -> JSON:
    address = customer_address_json(customer.address, customer.id)
    return {
        "id": customer.id,
        "email": customer.email,
        "created_at": rest_time(customer.created_at, tz),
        "updated_at": rest_time(customer.updated_at, tz),
        "first_name": customer.first_name,
        "last_name": customer.last_name,
        "state": customer.state.lower(),
        "note": customer.note,
        "verified_email": customer.verified_email,
        "multipass_identifier": None,
        "tax_exempt": False,
        "phone": customer.phone,
        "currency": currency,
        "tags": ", ".join(customer.tags),
        "last_order_id": last_order.id if last_order else None,
        "last_order_name": last_order.name if last_order else None,
        "addresses": [address] if address else [],
        "tax_exemptions": [],
        "email_marketing_consent": _consent(customer.email_consent, tz, sms=False),
        "sms_marketing_consent": _consent(customer.sms_consent, tz, sms=True),
        "admin_graphql_api_id": customer.gid,
        "default_address": address,
    }


def customer_delete_json(customer_id: int) -> JSON:
    return {
        "id": customer_id,
        "phone": None,
        "addresses": [],
        "tax_exemptions": [],
        "email_marketing_consent": None,
        "sms_marketing_consent": None,
        "admin_graphql_api_id": gid("Customer", customer_id),
    }


def _line_item_json(li: LineItem, order: Order, fulfilled: bool) -> JSON:
    cur = order.currency
    refunded = order.refunded_quantity(li.id)
    name = f"{li.title} - {li.variant_title}" if li.variant_title else li.title
    return {
        "id": li.id,
        "admin_graphql_api_id": li.gid,
        "current_quantity": li.quantity - refunded,
        "fulfillable_quantity": 0 if fulfilled or order.cancelled_at else li.quantity - refunded,
        "fulfillment_service": "manual",
        "fulfillment_status": "fulfilled" if fulfilled else None,
        "gift_card": False,
        "grams": 250,
        "name": name,
        "price": money(li.price),
        "price_set": money_set(li.price, cur),
        "product_exists": li.product_id is not None,
        "product_id": li.product_id,
        "properties": [],
        "quantity": li.quantity,
        "requires_shipping": True,
        "sku": li.sku,
        "taxable": True,
        "title": li.title,
        "total_discount": money(li.total_discount),
        "total_discount_set": money_set(li.total_discount, cur),
        "variant_id": li.variant_id,
        "variant_inventory_management": "shopify",
        "variant_title": li.variant_title,
        "vendor": li.vendor,
        "tax_lines": [{
            "channel_liable": False,
            "price": money(li.tax),
            "price_set": money_set(li.tax, cur),
            "rate": float(order.tax_rate),
            "title": "Tax",
        }] if li.tax else [],
        "duties": [],
        "discount_allocations": [{
            "amount": money(li.total_discount),
            "amount_set": money_set(li.total_discount, cur),
            "discount_application_index": 0,
        }] if li.total_discount else [],
    }


def _refund_line_json(rli: RefundLineItem, order: Order) -> JSON:
    cur = order.currency
    return {
        "id": rli.id,
        "line_item_id": rli.line_item.id,
        "location_id": None,
        "quantity": rli.quantity,
        "restock_type": rli.restock_type.lower(),
        "subtotal": float(rli.subtotal),
        "subtotal_set": money_set(rli.subtotal, cur),
        "total_tax": float(rli.total_tax),
        "total_tax_set": money_set(rli.total_tax, cur),
        "line_item": _line_item_json(rli.line_item, order, order.fulfillment == "FULFILLED"),
    }


def refund_json(refund: Refund, order: Order, tz: ZoneInfo | None) -> JSON:
    cur = order.currency
    adjustments = []
    if refund.shipping > 0:
        adjustments.append({
            "id": refund.adjustment_id,
            "amount": money(-refund.shipping),
            "amount_set": money_set(-refund.shipping, cur),
            "kind": "shipping_refund",
            "order_id": order.id,
            "reason": "Shipping refund",
            "refund_id": refund.id,
            "tax_amount": "0.00",
            "tax_amount_set": money_set(ZERO, cur),
        })
    created = rest_time(refund.created_at, tz)
    return {
        "id": refund.id,
        "admin_graphql_api_id": refund.gid,
        "created_at": created,
        "note": refund.note,
        "order_id": order.id,
        "processed_at": created,
        "restock": any(r.restock_type != "NO_RESTOCK" for r in refund.line_items),
        "total_duties_set": money_set(ZERO, cur),
        "user_id": None,
        "order_adjustments": adjustments,
        "transactions": [{
            "id": refund.transaction_id,
            "admin_graphql_api_id": gid("OrderTransaction", refund.transaction_id),
            "amount": money(refund.total),
            "authorization": None,
            "created_at": created,
            "currency": cur,
            "device_id": None,
            "error_code": None,
            "gateway": "shopify_payments",
            "kind": "refund",
            "location_id": None,
            "message": None,
            "order_id": order.id,
            "parent_id": order.transaction_id,
            "processed_at": created,
            "source_name": "web",
            "status": "success",
            "test": order.test,
            "user_id": None,
        }],
        "refund_line_items": [_refund_line_json(r, order) for r in refund.line_items],
        "duties": [],
    }


def order_json(order: Order, customer: Customer | None, tz: ZoneInfo | None,
               shop_domain: str) -> JSON:
    cur = order.currency
    fulfilled = order.fulfillment == "FULFILLED"
    subtotal = order.subtotal
    total = order.total_price
    refunded = order.total_refunded
    current_total = total - refunded if order.payment == "paid" else total
    discount_apps = [{
        "target_type": "line_item",
        "type": "discount_code",
        "value": str(d.value),
        "value_type": "percentage" if d.kind == "percentage" else "fixed_amount",
        "allocation_method": "across",
        "target_selection": "all",
        "code": d.code,
    } for d in order.discounts]
    status = order.financial_status.lower()
    return {
        "id": order.id,
        "admin_graphql_api_id": order.gid,
        "app_id": 580111,
        "browser_ip": None,
        "buyer_accepts_marketing": order.buyer_accepts_marketing,
        "cancel_reason": order.cancel_reason.lower() if order.cancel_reason else None,
        "cancelled_at": rest_time(order.cancelled_at, tz),
        "cart_token": None,
        "checkout_id": None,
        "checkout_token": None,
        "closed_at": rest_time(order.closed_at, tz),
        "confirmation_number": f"C{order.id % 10**9:09d}",
        "confirmed": True,
        "contact_email": order.email,
        "created_at": rest_time(order.created_at, tz),
        "currency": cur,
        "current_subtotal_price": money(subtotal),
        "current_total_discounts": money(order.total_discounts),
        "current_total_price": money(current_total),
        "current_total_tax": money(order.total_tax),
        "customer_locale": order.customer_locale,
        "discount_applications": discount_apps,
        "discount_codes": [{
            "code": d.code,
            "amount": money(d.amount),
            "type": d.kind,
        } for d in order.discounts],
        "email": order.email,
        "estimated_taxes": False,
        "financial_status": status,
        "fulfillment_status": _FULFILLMENT.get(order.fulfillment),
        "landing_site": None,
        "name": order.name,
        "note": order.note,
        "note_attributes": [],
        "number": order.number - 1000,
        "order_number": order.number,
        "order_status_url": f"https://{shop_domain}/orders/{order.id}/authenticate",
        "phone": order.phone,
        "presentment_currency": cur,
        "processed_at": rest_time(order.processed_at, tz),
        "reference": None,
        "source_name": order.source_name,
        "subtotal_price": money(subtotal),
        "subtotal_price_set": money_set(subtotal, cur),
        "tags": ", ".join(order.tags),
        "tax_lines": [{
            "price": money(order.total_tax),
            "rate": float(order.tax_rate),
            "title": "Tax",
            "price_set": money_set(order.total_tax, cur),
            "channel_liable": False,
        }] if order.total_tax else [],
        "taxes_included": False,
        "test": order.test,
        "token": f"{order.id:x}",
        "total_discounts": money(order.total_discounts),
        "total_discounts_set": money_set(order.total_discounts, cur),
        "total_line_items_price": money(order.line_items_total),
        "total_line_items_price_set": money_set(order.line_items_total, cur),
        "total_outstanding": money(total if order.payment == "pending" else ZERO),
        "total_price": money(total),
        "total_price_set": money_set(total, cur),
        "total_shipping_price_set": money_set(order.shipping, cur),
        "total_tax": money(order.total_tax),
        "total_tax_set": money_set(order.total_tax, cur),
        "total_tip_received": "0.00",
        "total_weight": 250 * sum(li.quantity for li in order.line_items),
        "updated_at": rest_time(order.updated_at, tz),
        "user_id": None,
        "customer": (
            customer_json(customer, cur, tz) if customer is not None else None
        ),
        "fulfillments": [{
            "id": order.id + 1,
            "admin_graphql_api_id": gid("Fulfillment", order.id + 1),
            "created_at": rest_time(order.fulfilled_at, tz),
            "order_id": order.id,
            "status": "success",
            "updated_at": rest_time(order.fulfilled_at, tz),
        }] if order.fulfilled_at else [],
        "line_items": [_line_item_json(li, order, fulfilled) for li in order.line_items],
        "payment_terms": None,
        "refunds": [refund_json(r, order, tz) for r in order.refunds],
        "billing_address": order_address_json(order.shipping_address),
        "shipping_address": order_address_json(order.shipping_address),
        "shipping_lines": [{
            "id": order.shipping_line_id,
            "code": order.shipping_title,
            "discounted_price": money(order.shipping),
            "discounted_price_set": money_set(order.shipping, cur),
            "price": money(order.shipping),
            "price_set": money_set(order.shipping, cur),
            "source": "shopify",
            "title": order.shipping_title,
            "tax_lines": [],
        }],
    }


def product_json(product: Product, tz: ZoneInfo | None) -> JSON:
    variants = [{
        "id": v.id,
        "product_id": product.id,
        "title": v.title,
        "price": money(v.price),
        "position": v.position,
        "inventory_policy": "deny",
        "compare_at_price": None,
        "option1": v.title,
        "option2": None,
        "option3": None,
        "created_at": rest_time(v.created_at, tz),
        "updated_at": rest_time(v.updated_at, tz),
        "taxable": True,
        "barcode": None,
        "fulfillment_service": "manual",
        "grams": 250,
        "inventory_management": "shopify",
        "requires_shipping": True,
        "sku": v.sku,
        "weight": 0.25,
        "weight_unit": "kg",
        "inventory_item_id": v.inventory_item_id,
        "inventory_quantity": v.inventory_quantity,
        "old_inventory_quantity": v.inventory_quantity,
        "admin_graphql_api_id": v.gid,
        "image_id": None,
    } for v in product.variants]
    return {
        "admin_graphql_api_id": product.gid,
        "body_html": product.description_html,
        "created_at": rest_time(product.created_at, tz),
        "handle": product.handle,
        "id": product.id,
        "product_type": product.product_type,
        "published_at": rest_time(product.published_at, tz),
        "template_suffix": None,
        "title": product.title,
        "updated_at": rest_time(product.updated_at, tz),
        "vendor": product.vendor,
        "status": product.status.lower(),
        "published_scope": "global",
        "tags": ", ".join(product.tags),
        "variants": variants,
        "options": [{
            "name": "Size" if len(product.variants) > 1 else "Title",
            "id": product.id + 1,
            "product_id": product.id,
            "position": 1,
            "values": [v.title for v in product.variants],
        }],
        "images": [],
        "image": None,
        "media": [],
        "variant_gids": [{"admin_graphql_api_id": v.gid, "updated_at": v.updated_at.isoformat()}
                         for v in product.variants],
        "has_variants_that_requires_components": False,
        "category": {
            "admin_graphql_api_id": product.category_id,
            "name": product.category_name,
            "full_name": product.category_full_name,
        },
    }


def shop_json(*, shop_id: int, name: str, domain: str, email: str, currency: str,
              iana_timezone: str, created_at: datetime, primary_locale: str,
              tz: ZoneInfo | None) -> JSON:
    return {
        "id": shop_id,
        "name": name,
        "email": email,
        "domain": domain,
        "province": None,
        "country": "US",
        "address1": "1 Sandbox Way",
        "zip": "10001",
        "city": "Sandbox",
        "source": None,
        "phone": None,
        "latitude": None,
        "longitude": None,
        "primary_locale": primary_locale,
        "address2": None,
        "created_at": rest_time(created_at, tz),
        "updated_at": rest_time(created_at, tz),
        "country_code": "US",
        "country_name": "United States",
        "currency": currency,
        "customer_email": email,
        "timezone": f"({iana_timezone})",
        "iana_timezone": iana_timezone,
        "shop_owner": "Sandbox Owner",
        "money_format": "{{amount}}",
        "money_with_currency_format": "{{amount}} " + currency,
        "weight_unit": "kg",
        "province_code": None,
        "taxes_included": False,
        "auto_configure_tax_inclusivity": None,
        "tax_shipping": None,
        "county_taxes": True,
        "plan_display_name": "Development",
        "plan_name": "partner_test",
        "has_discounts": True,
        "has_gift_cards": False,
        "myshopify_domain": domain,
        "google_apps_domain": None,
        "google_apps_login_enabled": None,
        "money_in_emails_format": "{{amount}}",
        "money_with_currency_in_emails_format": "{{amount}} " + currency,
        "eligible_for_payments": True,
        "requires_extra_payments_agreement": False,
        "password_enabled": False,
        "has_storefront": True,
        "finances": True,
        "primary_location_id": shop_id + 1,
        "checkout_api_supported": True,
        "multi_location_enabled": True,
        "setup_required": False,
        "pre_launch_enabled": False,
        "enabled_presentment_currencies": [currency],
        "transactional_sms_disabled": False,
        "marketing_sms_consent_enabled_at_checkout": True,
    }
