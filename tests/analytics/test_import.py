"""``import_orders``: a CSV into the mirror, idempotently, bad rows rejected whole."""

from datetime import UTC, datetime
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Sum

from analytics.models import ImportedOrderCost
from analytics.services.importer import orders_import
from commerce.models import Customer, DomainEvent, Order, OrderLine, Product, Refund, Shop
from tests.factories import ShopFactory

pytestmark = pytest.mark.django_db

HEADER = "order_id,customer_id,email,processed_at,total,currency,cost,refunded,product\n"
ROWS = (
    "1001,C1,Ann@Example.com,2026-01-05T10:00:00Z,120.00,EUR,50.00,,Mug\n"
    "1002,C1,ann@example.com,2026-02-10 09:30,80.50,EUR,,20.50,Tea\n"
    "1003,C2,bob@example.com,2026-03-01,40,EUR,10,,Mug\n"
    "1004,,guest@example.com,2026-03-02T08:00:00+02:00,15.5,EUR,,,\n"
    "1005,C3,cy@example.com,2026-03-03T12:00:00Z,60,EUR,20,60,Mug\n"
)


def _write(tmp_path, text, name="orders.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _import(path, *args):
    out, err = StringIO(), StringIO()
    call_command("import_orders", str(path), "--shop", "old-store.example", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def _state():
    shop = Shop.objects.get(domain="old-store.example")
    orders = Order.objects.filter(shop=shop)
    return {
        "customers": Customer.objects.filter(shop=shop).count(),
        "orders": orders.count(),
        "lines": OrderLine.objects.filter(shop=shop).count(),
        "products": Product.objects.filter(shop=shop).count(),
        "refunds": Refund.objects.filter(shop=shop).count(),
        "costs": ImportedOrderCost.objects.filter(shop=shop).count(),
        "totals": orders.aggregate(total=Sum("total"), refunded=Sum("total_refunded")),
        "refunded": Refund.objects.filter(shop=shop).aggregate(amount=Sum("amount"))["amount"],
        "cost": ImportedOrderCost.objects.filter(shop=shop).aggregate(cost=Sum("cost"))["cost"],
        "updated_at": sorted(orders.values_list("updated_at", flat=True)),
        "events": DomainEvent.objects.filter(shop=shop).count(),
    }


def test_a_file_imported_twice_changes_nothing_the_second_time(tmp_path):
    # given
    path = _write(tmp_path, HEADER + ROWS)
    # when
    first, _ = _import(path, "--timezone", "Europe/Berlin")
    before = _state()
    second, _ = _import(path)
    # then
    assert "(created): 5 rows, orders created 5, updated 0, unchanged 0" in first
    assert "customers created 4, products created 2" in first
    assert ": 5 rows, orders created 0, updated 0, unchanged 5" in second
    assert _state() == before
    assert before == {
        "customers": 4, "orders": 5, "lines": 4, "products": 2, "refunds": 2, "costs": 3,
        "totals": {"total": Decimal("316.000"), "refunded": Decimal("80.500")}, "refunded": Decimal("80.500"),
        "cost": Decimal("80.000"), "updated_at": before["updated_at"], "events": 0,
    }


def test_the_rows_become_a_standalone_shop_and_its_orders(tmp_path):
    _import(_write(tmp_path, HEADER + ROWS), "--timezone", "Europe/Berlin")
    shop = Shop.objects.get(domain="old-store.example")
    assert (shop.platform, shop.currency, shop.timezone) == ("standalone", "EUR", "Europe/Berlin")
    second = Order.objects.get(shop=shop, platform_id="import:1002")
    assert second.processed_at == datetime(2026, 2, 10, 8, 30, tzinfo=UTC)  # 09:30 in Berlin
    assert (second.total, second.total_refunded, second.financial_status) == (
        Decimal("80.500"), Decimal("20.500"), "partially_refunded")
    assert second.customer.platform_id == "import:C1"
    assert second.customer.email == "ann@example.com"
    assert second.customer.first_order_at == datetime(2026, 1, 5, 10, tzinfo=UTC)
    assert Order.objects.get(shop=shop, platform_id="import:1003").processed_at == datetime(2026, 2, 28, 23,
                                                                                           tzinfo=UTC)
    guest = Order.objects.get(shop=shop, platform_id="import:1004")
    assert guest.customer.platform_id == "import:email:guest@example.com"
    assert Order.objects.get(shop=shop, platform_id="import:1005").financial_status == "refunded"
    line = OrderLine.objects.get(shop=shop, order__platform_id="import:1001")
    assert (line.title, line.quantity, line.unit_price, line.product.title) == ("Mug", 1, Decimal("120.000"), "Mug")
    assert ImportedOrderCost.objects.get(order__platform_id="import:1001").cost == Decimal("50.000")


def test_bad_rows_are_rejected_whole_with_their_line_numbers(tmp_path):
    text = HEADER + (
        "2001,C1,a@example.com,2026-01-05,10,EUR,,,\n"
        "2002,C2,b@example.com,yesterday,10,EUR,,,\n"
        "2003,C3,c@example.com,2026-01-05,ten,EUR,,,\n"
        "2004,C4,d@example.com,2026-01-05,10,USD,,,\n"
        "2005,C5,e@example.com,2026-01-05,10,EUR,,11,\n"
        ",C6,f@example.com,2026-01-05,10,EUR,,,\n"
        "2007,,,2026-01-05,10,EUR,,,\n"
        "2001,C1,a@example.com,2026-01-05,10,EUR,,,\n"
        "2001,C9,z@example.com,2026-01-05,99,EUR,,,\n"
        "2010,C10,j@example.com,2026-01-05,1.2345,EUR,,,\n"
        "2011,C11,k@example.com,2026-01-06,20,EUR,-1,,\n"
    )
    with pytest.raises(CommandError, match="9 rows were rejected"):
        _import(_write(tmp_path, text))
    shop = Shop.objects.get(domain="old-store.example")
    assert list(Order.objects.filter(shop=shop).values_list("platform_id", flat=True)) == ["import:2001"]
    assert list(Customer.objects.filter(shop=shop).values_list("platform_id", flat=True)) == ["import:C1"]


def test_the_errors_name_the_line_and_the_problem(tmp_path):
    text = HEADER + (
        "2001,C1,a@example.com,2026-01-05,10,EUR,,,\n"
        "2002,C2,b@example.com,yesterday,10,EUR,,,\n"
        "2004,C4,d@example.com,2026-01-05,10,USD,,,\n"
        "2001,C9,z@example.com,2026-01-05,99,EUR,,,\n"
    )
    path = _write(tmp_path, text)
    err = StringIO()
    with pytest.raises(CommandError):
        call_command("import_orders", str(path), "--shop", "old-store.example", stdout=StringIO(), stderr=err)
    assert err.getvalue().splitlines() == [
        f"{path}:line 3: processed_at 'yesterday' is not an ISO 8601 date or date-time",
        f"{path}:line 4: currency USD is not the shop's (EUR): convert the amounts first",
        f"{path}:line 5: order_id 2001 is on line 2 already, with other values",
    ]


def test_a_file_whose_rows_are_all_bad_creates_no_shop(tmp_path):
    with pytest.raises(CommandError):
        _import(_write(tmp_path, HEADER + "1,C1,a@example.com,never,10,EUR,,,\n"))
    assert not Shop.objects.filter(domain="old-store.example").exists()


def test_a_file_without_the_required_columns_is_refused(tmp_path):
    with pytest.raises(CommandError, match="lacks the columns: currency"):
        _import(_write(tmp_path, "order_id,customer_id,email,processed_at,total\n1,C1,a@b.c,2026-01-01,5\n"))
    assert not Shop.objects.exists()


def test_a_changed_file_updates_and_refunds_grow_but_never_shrink(tmp_path):
    _import(_write(tmp_path, HEADER + ROWS))
    changed = ROWS.replace("80.50,EUR,,20.50,Tea", "80.50,EUR,,30.50,Tea").replace("40,EUR,10,,Mug", "45,EUR,10,,Mug")
    out, _ = _import(_write(tmp_path, HEADER + changed, "changed.csv"))
    assert "orders created 0, updated 2, unchanged 3" in out
    refunds = Refund.objects.filter(order__platform_id="import:1002").order_by("platform_id")
    assert [(r.platform_id, r.amount) for r in refunds] == [
        ("import:1002:refund:1", Decimal("20.500")), ("import:1002:refund:2", Decimal("10.000"))]
    assert Order.objects.get(platform_id="import:1002").total_refunded == Decimal("30.500")
    assert Order.objects.get(platform_id="import:1003").total == Decimal("45.000")
    shrunk = changed.replace("30.50,Tea", "5,Tea")
    with pytest.raises(CommandError, match="1 rows were rejected"):
        _import(_write(tmp_path, HEADER + shrunk, "shrunk.csv"))
    assert Order.objects.get(platform_id="import:1002").total_refunded == Decimal("30.500")


def test_an_existing_shop_with_the_domain_receives_the_orders(tmp_path):
    shop = ShopFactory(domain="old-store.example", currency="EUR", platform="shopify")
    result = orders_import(domain="old-store.example", file=StringIO(HEADER + ROWS))
    assert result.shop == shop and not result.shop_created
    assert Order.objects.filter(shop=shop).count() == 5
    assert not DomainEvent.objects.filter(shop=shop, name="order.paid").exists()  # history, not news


def test_batches_give_the_same_result_as_one_transaction(tmp_path):
    path = _write(tmp_path, HEADER + ROWS)
    _import(path, "--batch-size", "2")
    batched = _state()
    out, _ = _import(path)
    assert "unchanged 5" in out
    assert _state() == batched
    assert batched["orders"] == 5 and batched["customers"] == 4
