"""Hand-made customers and orders at chosen distances from a fixed moment."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from commerce.models import Customer, Order
from tests.factories import CustomerFactory, OrderFactory

NOW = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)


def buyer(shop, *days_ago: float, spend: str = "50", tags: tuple[str, ...] = (), now: datetime = NOW,
          **customer_fields) -> Customer:
    """A customer with one paid order of ``spend`` per entry of ``days_ago`` (days before ``now``)."""
    customer = CustomerFactory(shop=shop, tags=list(tags), **customer_fields)
    for days in days_ago:
        order(customer, days, spend=spend, now=now)
    return customer


def order(customer: Customer, days_ago: float, *, spend: str = "50", now: datetime = NOW, **fields) -> Order:
    at = now - timedelta(days=days_ago)
    return OrderFactory(shop=customer.shop, customer=customer, total=Decimal(spend), processed_at=at,
                        platform_updated_at=at, **fields)
