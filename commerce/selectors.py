"""Reads of the store mirror, always scoped to one shop."""

from collections.abc import Sequence
from typing import Any

from django.db.models import QuerySet

from commerce import privacy
from commerce.models import Customer, Order, Shop


def customer_list(*, shop: Shop) -> QuerySet[Customer]:
    return Customer.objects.filter(shop=shop)


def order_list(*, shop: Shop) -> QuerySet[Order]:
    return Order.objects.filter(shop=shop)


def customer_data_export(
    *, shop: Shop, platform_id: str, order_platform_ids: list[str] | None = None, emails: Sequence[str] = ()
) -> dict[str, Any]:
    """Everything we hold about one customer, as plain JSON (for ``customers/data_request``):
    each app's part from the privacy registry."""
    return privacy.customer_export(shop=shop, platform_id=platform_id, order_platform_ids=order_platform_ids or (),
                                   emails=emails)
