"""Small hand-made stores for the analytics tests: orders written straight into the mirror."""

import itertools
from datetime import UTC, datetime
from decimal import Decimal

from commerce.models import Customer, Order, Shop

_numbers = itertools.count(1)


def at(year: int, month: int, day: int, hour: int = 12) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


def customer(shop: Shop, name: str = "") -> Customer:
    number = next(_numbers)
    return Customer.objects.create(shop=shop, platform_id=name or f"c{number}", email=f"{name or number}@example.com")


def order(
    shop: Shop,
    buyer: Customer | None,
    when: datetime,
    total: str = "50",
    *,
    refunded: str = "0",
    status: str = "paid",
    cancelled: bool = False,
    test: bool = False,
    currency: str | None = None,
    tax: str = "0",
    shipping: str = "0",
    discounts: str = "0",
) -> Order:
    number = next(_numbers)
    return Order.objects.create(
        shop=shop, customer=buyer, platform_id=f"o{number}", currency=currency or shop.currency,
        total=Decimal(total), subtotal=Decimal(total) - Decimal(tax) - Decimal(shipping),
        total_tax=Decimal(tax), total_shipping=Decimal(shipping), total_discounts=Decimal(discounts),
        total_refunded=Decimal(refunded), financial_status=status, processed_at=when,
        cancelled_at=when if cancelled else None, is_test=test, platform_updated_at=when,
    )


def customers_with_orders(shop: Shop, count: int, when: datetime, total: str = "50") -> list[Customer]:
    """``count`` customers with one order each at ``when`` (bulk, for the larger examples)."""
    start = next(_numbers)
    buyers = Customer.objects.bulk_create(
        [Customer(shop=shop, platform_id=f"bulk{start}-{index}") for index in range(count)])
    Order.objects.bulk_create([
        Order(shop=shop, customer=buyer, platform_id=f"bulk{start}-{index}", currency=shop.currency,
              total=Decimal(total), subtotal=Decimal(total), financial_status="paid", processed_at=when)
        for index, buyer in enumerate(buyers)
    ])
    return buyers
