"""Reads of the store mirror, always scoped to one shop."""

from typing import Any

from django.db.models import QuerySet

from commerce import privacy_hooks
from commerce.models import Customer, Order, Shop


def customer_list(*, shop: Shop) -> QuerySet[Customer]:
    return Customer.objects.filter(shop=shop)


def order_list(*, shop: Shop) -> QuerySet[Order]:
    return Order.objects.filter(shop=shop)


def customer_data_export(
    *, shop: Shop, platform_id: str, order_platform_ids: list[str] | None = None
) -> dict[str, Any]:
    """Everything we hold about one customer, as plain JSON (for ``customers/data_request``)."""
    customer = Customer.objects.filter(shop=shop, platform_id=platform_id).first()
    orders = Order.objects.filter(shop=shop, platform_id__in=order_platform_ids or [])
    if customer is not None:
        orders = orders | Order.objects.filter(shop=shop, customer=customer)
    return {
        "shop": shop.domain,
        "customer": None if customer is None else {
            "platform_id": customer.platform_id,
            "first_name": customer.first_name,
            "last_name": customer.last_name,
            "email": customer.email,
            "phone": customer.phone,
            "birthday": customer.birthday.isoformat() if customer.birthday else None,
            "locale": customer.locale,
            "country_code": customer.country_code,
            "province_code": customer.province_code,
            "timezone": customer.timezone,
            "tags": customer.tags,
            "email_consent": customer.email_consent,
            "sms_consent": customer.sms_consent,
            "first_order_at": customer.first_order_at.isoformat() if customer.first_order_at else None,
        },
        "orders": [
            {
                "platform_id": order.platform_id,
                "name": order.name,
                "email": order.email,
                "processed_at": order.processed_at.isoformat() if order.processed_at else None,
                "financial_status": order.financial_status,
                "total": str(order.total),
                "total_refunded": str(order.total_refunded),
                "currency": order.currency,
                "lines": [
                    {"title": line.title, "sku": line.sku, "quantity": line.quantity,
                     "unit_price": str(line.unit_price)}
                    for line in order.lines.all()
                ],
            }
            for order in orders.distinct().order_by("processed_at").prefetch_related("lines")
        ],
        **({} if customer is None else privacy_hooks.export_sections(shop=shop, customer=customer)),
    }
