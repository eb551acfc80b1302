"""The history ingest's set-based load (``commerce.bulk_sql.orders_history_load``, PostgreSQL)
writes exactly what ``commerce.orders_upsert`` writes for the same records: orders, customer
stubs, lines linked to known products and variants, refunds and their lines, a stored newer
version kept, the same order twice in a batch taken at its newest, and news (an order changed
after the install) announced as the webhook path would."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from commerce import bulk_sql
from commerce import services as commerce
from commerce.models import Customer, DomainEvent, Order, OrderLine, Product, Refund, RefundLine, Shop, Variant
from commerce.records import OrderLineRecord, OrderRecord, RefundLineRecord, RefundRecord
from tests.factories import ShopFactory

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="COPY and staging tables: PostgreSQL only"),
]

INSTALLED = datetime(2026, 1, 1, tzinfo=UTC)


def _order(number: int, *, updated: datetime, refunds: bool = True, total: str = "30.00") -> OrderRecord:
    lines = (
        OrderLineRecord(platform_id=f"L{number}a", title="Mug", sku="MUG", quantity=2, unit_price=Decimal("10.00"),
                        total_discount=Decimal("1.00"), product_platform_id="P1", variant_platform_id="V1"),
        OrderLineRecord(platform_id=f"L{number}b", title="Tea", sku="", quantity=1, unit_price=Decimal("10.00"),
                        total_discount=Decimal("0"), product_platform_id="P-unknown"),
    )
    refund = RefundRecord(platform_id=f"R{number}", order_platform_id=f"O{number}", amount=Decimal("10.00"),
                          currency="", processed_at=datetime(2025, 6, 2, tzinfo=UTC),
                          lines=(RefundLineRecord(line_platform_id=f"L{number}a", quantity=1,
                                                  subtotal=Decimal("10.00")),))
    return OrderRecord(
        platform_id=f"O{number}", updated_at=updated, currency="EUR", name=f"#{number}", email=f" A{number}@X.com ",
        customer_platform_id=f"C{number % 3}" if number % 4 else "", financial_status="partially_refunded",
        subtotal=Decimal(total), total=Decimal(total), total_refunded=Decimal("10.00"), discount_codes=("SAVE",),
        created_at=datetime(2025, 6, 1, tzinfo=UTC), processed_at=datetime(2025, 6, 1, number % 24, tzinfo=UTC),
        lines=lines, refunds=(refund,) if refunds else (),
    )


def _records() -> list[OrderRecord]:
    history = datetime(2025, 7, 1, tzinfo=UTC)
    records = [_order(n, updated=history) for n in range(1, 9)]
    records.append(_order(3, updated=datetime(2025, 8, 1, tzinfo=UTC), total="33.00"))  # a newer version of O3
    records.append(_order(2, updated=datetime(2025, 5, 1, tzinfo=UTC), total="1.00"))  # an older one of O2
    records.append(_order(9, updated=datetime(2026, 2, 1, tzinfo=UTC), refunds=False))  # news: paid after install
    return records


def _shop(domain: str) -> Shop:
    shop = ShopFactory(domain=domain, currency="EUR", installed_at=INSTALLED)
    product = Product.objects.create(shop=shop, platform_id="P1", title="Mug")
    Variant.objects.create(shop=shop, product=product, platform_id="V1", currency="EUR", price=Decimal("10"))
    # a version of O5 newer than the file's: it stays
    Order.objects.create(shop=shop, platform_id="O5", currency="EUR", total=Decimal("99"),
                         platform_updated_at=datetime(2025, 12, 1, tzinfo=UTC))
    return shop


def _state(shop: Shop) -> dict:
    def rows(model, *fields):
        return sorted(model.objects.filter(shop=shop).values_list(*fields))

    return {
        "customers": rows(Customer, "platform_id", "email"),
        "orders": rows(Order, "platform_id", "customer__platform_id", "name", "email", "financial_status", "total",
                       "total_refunded", "discount_codes", "processed_at", "platform_updated_at", "currency"),
        "lines": rows(OrderLine, "platform_id", "order__platform_id", "product__platform_id",
                      "variant__platform_id", "title", "sku", "quantity", "unit_price", "total_discount", "currency"),
        "refunds": rows(Refund, "platform_id", "order__platform_id", "currency", "amount", "processed_at"),
        "refund_lines": rows(RefundLine, "refund__platform_id", "order_line__platform_id", "quantity", "subtotal"),
        "events": rows(DomainEvent, "name", "key"),
    }


def test_the_set_based_load_writes_what_the_upsert_writes():
    # given the same records for two identical shops
    by_upsert, by_load = _shop("upsert.example"), _shop("load.example")
    # when one takes them through orders_upsert, the other through the set-based load, twice
    for _ in range(2):
        commerce.orders_upsert(shop=by_upsert, records=_records(), live=False, refresh_first_orders=False)
        bulk_sql.orders_history_load(shop=by_load, records=_records())
    # then both hold the same rows
    expected, got = _state(by_upsert), _state(by_load)
    assert got == expected
    assert len(got["orders"]) == 9 and len(got["refunds"]) == 7 and len(got["lines"]) == 16
    assert got["events"] == [("order.paid", "order.paid:O9")]
    order_3 = Order.objects.get(shop=by_load, platform_id="O3")
    assert order_3.total == Decimal("33.000")
    assert Order.objects.get(shop=by_load, platform_id="O5").total == Decimal("99.000")
    assert Order.objects.get(shop=by_load, platform_id="O2").total == Decimal("30.000")


def test_the_load_takes_a_fixed_number_of_statements_whatever_the_batch():
    shop = _shop("count.example")
    history = datetime(2025, 7, 1, tzinfo=UTC)
    with CaptureQueriesContext(connection) as small:
        bulk_sql.orders_history_load(shop=shop, records=[_order(n, updated=history) for n in range(10, 15)])
    with CaptureQueriesContext(connection) as large:
        bulk_sql.orders_history_load(shop=shop, records=[_order(n, updated=history) for n in range(100, 400)])
    assert len(large.captured_queries) == len(small.captured_queries) <= 15
    assert Order.objects.filter(shop=shop).count() == 306
