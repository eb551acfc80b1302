"""``import_orders`` in bulk: the same results on PostgreSQL's staged path (COPY, then set-based
upserts) and SQLite's batched one, a fixed number of statements per batch, bad rows reported
whatever batch they fall in, and news (a refund after the install) still announced."""

from datetime import UTC, datetime
from decimal import Decimal
from io import StringIO

import pytest
from django.db import connection
from django.db.models import Sum
from django.test.utils import CaptureQueriesContext

from analytics.models import ImportedOrderCost
from analytics.services.importer import orders_import
from commerce.models import Customer, DomainEvent, Order, OrderLine, Product, Refund, Shop
from tests.factories import CustomerFactory, ShopFactory

pytestmark = pytest.mark.django_db

HEADER = "order_id,customer_id,email,processed_at,total,currency,cost,refunded,product\n"
DOMAIN = "old-store.example"


def _rows(count: int, *, start: int = 1) -> str:
    """``count`` rows: customers repeat every 7 orders, every 3rd row has a cost, every 5th a
    refund of a quarter, every 4th no product, every 11th a guest keyed by email."""
    lines = []
    for number in range(start, start + count):
        customer = number % 7
        customer_id = "" if number % 11 == 0 else f"C{customer}"
        total = Decimal(number) + Decimal("0.25")
        cost = f"{total / 2:.3f}" if number % 3 == 0 else ""
        refunded = f"{total / 4:.3f}" if number % 5 == 0 else ""
        product = "" if number % 4 == 0 else f"Item {number % 6}"
        lines.append(f"{number},{customer_id},c{customer}@example.com,2025-0{1 + number % 9}-1{number % 10}T10:00:00Z,"
                     f"{total},EUR,{cost},{refunded},{product}\n")
    return "".join(lines)


def _import(text: str, **kwargs):
    return orders_import(domain=DOMAIN, file=StringIO(HEADER + text), **kwargs)


def _state() -> dict:
    shop = Shop.objects.get(domain=DOMAIN)
    orders = Order.objects.filter(shop=shop)
    return {
        "orders": orders.count(),
        "customers": sorted(Customer.objects.filter(shop=shop).values_list("platform_id", "email", "first_order_at")),
        "lines": sorted(OrderLine.objects.filter(shop=shop).values_list("platform_id", "title", "product__title",
                                                                          "unit_price")),
        "products": Product.objects.filter(shop=shop).count(),
        "refunds": sorted(Refund.objects.filter(shop=shop).values_list("platform_id", "amount")),
        "costs": ImportedOrderCost.objects.filter(shop=shop).aggregate(cost=Sum("cost"))["cost"],
        "statuses": sorted(orders.values_list("platform_id", "financial_status", "total", "total_refunded")),
        "updated_at": sorted(orders.values_list("updated_at", flat=True)),
    }


def test_a_big_file_in_small_batches_is_counted_summed_and_imported_once():
    # given 300 rows, one of them bad, one an exact repeat
    text = _rows(150) + "151,C1,c1@example.com,someday,10,EUR,,,\n" + _rows(149, start=152)
    text += _rows(1, start=7)
    # when it is imported in batches of 40, then again
    first = _import(text, batch_size=40)
    state = _state()
    again = _import(text, batch_size=40)
    # then every good row is an order, once
    assert (first.rows, first.created, first.updated, first.unchanged) == (301, 299, 0, 0)
    assert (first.error_count, first.duplicates, [str(e) for e in first.errors]) == (
        1, 1, ["line 152: processed_at 'someday' is not an ISO 8601 date or date-time"])
    assert (first.customers_created, first.products_created) == (14, 6)
    assert (again.created, again.updated, again.unchanged, again.customers_created) == (0, 0, 299, 0)
    assert _state() == state
    assert state["orders"] == 299
    assert len(state["customers"]) == 14  # C0..C6, and the guests keyed by their email (c0@..c6@)
    assert all(first_order is not None for _, _, first_order in state["customers"])
    assert len(state["lines"]) == 299 - 299 // 4 - (1 if 300 % 4 == 0 else 0) + (1 if 151 % 4 == 0 else 0)
    expected_total = sum(Decimal(n) + Decimal("0.25") for n in range(1, 301) if n != 151)
    assert sum(total for _, _, total, _ in state["statuses"]) == expected_total
    assert sum(amount for _, amount in state["refunds"]) == sum(
        ((Decimal(n) + Decimal("0.25")) / 4).quantize(Decimal("0.001")) for n in range(5, 301, 5))
    assert state["costs"] == sum(
        ((Decimal(n) + Decimal("0.25")) / 2).quantize(Decimal("0.001")) for n in range(3, 301, 3) if n != 151)
    assert ("import:10", "partially_refunded", Decimal("10.250"), Decimal("2.562")) in state["statuses"]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite's batched path splits on its variable limit")
def test_the_statements_per_batch_do_not_grow_with_its_rows():
    # given two files of 20 and 200 rows, each imported in one batch
    with CaptureQueriesContext(connection) as small:
        _import(_rows(20), batch_size=500)
    Shop.objects.filter(domain=DOMAIN).delete()
    with CaptureQueriesContext(connection) as large:
        _import(_rows(200), batch_size=500)
    # then the statement count is the same: set-based, not one per row
    assert len(large.captured_queries) == len(small.captured_queries), [q["sql"][:80] for q in large]


def test_a_refund_that_would_shrink_is_reported_in_its_batch_and_the_rest_is_written():
    _import(_rows(30), batch_size=7)
    # given the refund of order 10 lowered, order 19 refunded in full, among unchanged rows
    changed = _rows(30).replace("10,C3,c3@example.com,2025-02-10T10:00:00Z,10.25,EUR,,2.562,",
                                "10,C3,c3@example.com,2025-02-10T10:00:00Z,10.25,EUR,,1,")
    changed = changed.replace("19,C5,c5@example.com,2025-02-19T10:00:00Z,19.25,EUR,,,",
                              "19,C5,c5@example.com,2025-02-19T10:00:00Z,19.25,EUR,,19.25,")
    result = _import(changed, batch_size=7)
    # then the shrinking row is an error with its line, the changed one is updated with a refund
    assert [str(e)[:46] for e in result.errors] == ["line 11: refunded 1.000 is less than the 2.562"]
    assert (result.updated, result.unchanged) == (1, 28)
    order = Order.objects.get(platform_id="import:19")
    assert (order.total_refunded, order.financial_status) == (Decimal("19.250"), "refunded")
    assert list(Refund.objects.filter(order=order).values_list("platform_id", "amount")) == [
        ("import:19:refund:1", Decimal("19.250"))]
    assert Order.objects.get(platform_id="import:10").total_refunded == Decimal("2.562")
    # an order refunded in full no longer counts: its customer's first order moves on
    assert Customer.objects.get(platform_id="import:C5").first_order_at == datetime(2025, 4, 12, 10, tzinfo=UTC)


def test_a_refund_after_the_install_is_news_and_history_is_not():
    shop = ShopFactory(domain=DOMAIN, currency="EUR", installed_at=datetime(2026, 1, 1, tzinfo=UTC))
    text = ("1,C1,a@example.com,2025-12-30T10:00:00Z,10,EUR,,4,Mug\n"
            "2,C1,a@example.com,2026-01-02T10:00:00Z,20,EUR,,5,Mug\n"
            "3,C2,b@example.com,2026-01-03T10:00:00Z,30,EUR,,,Mug\n")
    _import(text)
    events = DomainEvent.objects.filter(shop=shop)
    assert list(events.values_list("name", "key")) == [("order.refunded", "order.refunded:import:2:refund:1")]
    assert events.get().payload["amount"] == "5.000"
    assert Refund.objects.filter(shop=shop).count() == 2


def test_the_first_row_of_a_customer_gives_its_email_and_the_platforms_customers_are_left_alone():
    shop = ShopFactory(domain=DOMAIN, currency="EUR")
    CustomerFactory(shop=shop, platform_id="import:C9", email="kept@example.com",
                    platform_updated_at=datetime(2026, 1, 1, tzinfo=UTC))
    text = ("1,C1,first@example.com,2025-01-01,10,EUR,,,\n"
            "2,C1,second@example.com,2025-01-02,10,EUR,,,\n"
            "3,C9,other@example.com,2025-01-03,10,EUR,,,\n")
    _import(text, batch_size=1)
    emails = dict(Customer.objects.filter(shop=shop).values_list("platform_id", "email"))
    assert emails == {"import:C1": "first@example.com", "import:C9": "kept@example.com"}
    _import(text.replace("first@", "changed@"), batch_size=1)
    assert Customer.objects.get(platform_id="import:C1").email == "changed@example.com"
