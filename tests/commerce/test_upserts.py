"""The upsert rules: newest version wins, history is not news, events are written once."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from commerce import services
from commerce.models import Customer, DomainEvent, Order, OrderLine, Refund
from commerce.records import CustomerRecord, OrderLineRecord, OrderRecord, RefundLineRecord, RefundRecord
from tests.factories import ShopFactory

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def order(platform_id: str = "1", *, at: datetime = T0, status: str = "paid", customer: str = "c1",
          processed: datetime | None = None, refunds=None, cancelled: datetime | None = None) -> OrderRecord:
    return OrderRecord(
        platform_id=platform_id, updated_at=at, currency="USD", customer_platform_id=customer,
        financial_status=status, total=Decimal("100.00"), subtotal=Decimal("90.00"),
        total_shipping=Decimal("10.00"), processed_at=processed or at, created_at=processed or at,
        cancelled_at=cancelled,
        lines=(OrderLineRecord(platform_id=f"{platform_id}-l1", title="Serum", sku="S1", quantity=2,
                               unit_price=Decimal("45.00"), total_discount=Decimal("0")),),
        refunds=refunds,
    )


@pytest.fixture
def shop():
    return ShopFactory(installed_at=T0 - timedelta(days=1))


def test_a_stale_update_is_ignored(shop):
    services.orders_upsert(shop=shop, records=[order(at=T0 + timedelta(hours=1), status="refunded")], live=True)
    result = services.orders_upsert(shop=shop, records=[order(at=T0, status="paid")], live=True)
    assert result.skipped_stale == 1
    assert Order.objects.get().financial_status == "refunded"


def test_the_same_version_twice_changes_nothing(shop):
    services.orders_upsert(shop=shop, records=[order()], live=True)
    before = list(Order.objects.values())
    result = services.orders_upsert(shop=shop, records=[order()], live=True)
    assert list(Order.objects.values()) == [before[0] | {"updated_at": Order.objects.get().updated_at}]
    assert result.events == []
    assert OrderLine.objects.count() == 1


def test_newest_of_a_batch_wins(shop):
    records = [order(at=T0 + timedelta(minutes=5), status="refunded"), order(at=T0, status="paid")]
    services.orders_upsert(shop=shop, records=records, live=True)
    assert Order.objects.get().financial_status == "refunded"


def test_first_order_is_marked_on_the_paid_event(shop):
    services.orders_upsert(shop=shop, records=[order("1", processed=T0)], live=True)
    services.orders_upsert(shop=shop, records=[order("2", processed=T0 + timedelta(days=3))], live=True)
    events = {e.key: e.payload for e in DomainEvent.objects.filter(name="order.paid")}
    assert events["order.paid:1"]["is_first_order"] is True
    assert events["order.paid:2"]["is_first_order"] is False
    assert Customer.objects.get().first_order_at == T0


def test_a_cancelled_first_order_does_not_count(shop):
    services.orders_upsert(shop=shop, records=[order("1", processed=T0, status="voided", cancelled=T0)],
                           live=True)
    services.orders_upsert(shop=shop, records=[order("2", processed=T0 + timedelta(days=1))], live=True)
    assert DomainEvent.objects.get(key="order.paid:2").payload["is_first_order"] is True
    assert DomainEvent.objects.filter(key="order.cancelled:1").exists()


def test_history_before_install_is_not_news(shop):
    old = order("1", at=T0 - timedelta(days=400), processed=T0 - timedelta(days=400))
    new = order("2", at=T0, processed=T0)
    result = services.orders_upsert(shop=shop, records=[old, new], live=False)
    assert result.events == ["order.paid:2"]


def test_an_order_becoming_paid_emits_once(shop):
    services.orders_upsert(shop=shop, records=[order(status="pending")], live=True)
    assert not DomainEvent.objects.filter(name="order.paid").exists()
    services.orders_upsert(shop=shop, records=[order(at=T0 + timedelta(minutes=1))], live=True)
    services.orders_upsert(shop=shop, records=[order(at=T0 + timedelta(minutes=2), status="partially_refunded")],
                           live=True)
    assert DomainEvent.objects.filter(name="order.paid").count() == 1


def test_refunds_inside_an_order_are_recorded_once(shop):
    refund = RefundRecord(platform_id="r1", order_platform_id="1", amount=Decimal("45.00"), currency="USD",
                          processed_at=T0, lines=(RefundLineRecord("1-l1", 1, Decimal("45.00")),))
    services.orders_upsert(shop=shop, records=[order(refunds=(refund,))], live=True)
    services.orders_upsert(shop=shop, records=[order(at=T0 + timedelta(minutes=1), refunds=(refund,))],
                           live=True)
    stored = Refund.objects.get()
    assert stored.amount == Decimal("45.000")
    assert stored.lines.get().order_line.platform_id == "1-l1"
    assert DomainEvent.objects.filter(name="order.refunded").count() == 1


def test_customer_stub_from_an_order_is_filled_later(shop):
    services.orders_upsert(shop=shop, records=[order(customer="77")], live=True)
    assert Customer.objects.get(platform_id="77").email == ""
    services.customers_upsert(shop=shop, records=[CustomerRecord(
        platform_id="77", updated_at=T0, email="Dana@Example.com", first_name="Dana")], live=True)
    customer = Customer.objects.get(platform_id="77")
    assert customer.email == "dana@example.com"
    assert customer.first_order_at == T0


def test_money_is_decimal_with_currency(shop):
    services.orders_upsert(shop=shop, records=[order()], live=True)
    stored = Order.objects.get()
    assert isinstance(stored.total, Decimal)
    assert (stored.total, stored.currency) == (Decimal("100.000"), "USD")
    line = OrderLine.objects.get()
    assert (line.unit_price, line.currency) == (Decimal("45.000"), "USD")
