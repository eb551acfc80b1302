"""Build store events the way the pipe does: records -> commerce upsert -> outbox -> dispatch."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from commerce import events, services
from commerce.models import Shop
from commerce.records import CustomerRecord, OrderLineRecord, OrderRecord, RefundLineRecord, RefundRecord

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def line(pid: str, quantity: int, unit_price: str, discount: str = "0", product: str = "") -> OrderLineRecord:
    return OrderLineRecord(platform_id=pid, title=f"item {pid}", sku=pid, quantity=quantity,
                           unit_price=Decimal(unit_price), total_discount=Decimal(discount),
                           product_platform_id=product)


def refund(pid: str, order: str, lines: list[tuple[str, int, str]], shipping: str = "0") -> RefundRecord:
    amount = sum((Decimal(s) for _, _, s in lines), Decimal(shipping))
    return RefundRecord(platform_id=pid, order_platform_id=order, amount=amount, currency="USD", processed_at=T0,
                        shipping_amount=Decimal(shipping),
                        lines=tuple(RefundLineRecord(lp, q, Decimal(s)) for lp, q, s in lines))


def order(pid: str, lines: list[OrderLineRecord], *, customer: str = "c1", email: str = "dana@example.com",
          at: datetime = T0, version: int = 0, status: str = "paid", refunds: tuple = (),
          cancelled: bool = False, tax: str = "0", shipping: str = "0", codes: tuple = (),
          fulfillment: str = "unfulfilled", address: str = "") -> OrderRecord:
    subtotal = sum((li.unit_price * li.quantity - li.total_discount for li in lines), Decimal("0"))
    stamp = at + timedelta(minutes=version)
    return OrderRecord(
        platform_id=pid, updated_at=stamp, currency="USD", customer_platform_id=customer, email=email,
        financial_status=status, subtotal=subtotal, total_tax=Decimal(tax), total_shipping=Decimal(shipping),
        total=subtotal + Decimal(tax) + Decimal(shipping), processed_at=at, created_at=at,
        cancelled_at=stamp if cancelled else None, lines=tuple(lines), refunds=refunds, discount_codes=codes,
        fulfillment_status=fulfillment, shipping_address_key=address,
        total_refunded=sum((r.amount for r in refunds), Decimal("0")),
    )


def deliver(shop: Shop, *records: OrderRecord) -> None:
    for record in records:
        services.orders_upsert(shop=shop, records=[record], live=True)
    events.dispatch_pending()


def customer(shop: Shop, pid: str, email: str) -> None:
    services.customers_upsert(shop=shop, records=[CustomerRecord(platform_id=pid, updated_at=T0, email=email)],
                              live=True)
    events.dispatch_pending()
