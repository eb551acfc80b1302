"""Order arithmetic shared by the generator and the live store, so both produce consistent totals.

Invariants (checked by the tests):
  subtotal      = Σ(line price × qty) − Σ line discounts
  total         = subtotal + shipping + tax
  totalRefunded = Σ refunds; a refund of everything refunds exactly ``total``.
Taxes are exclusive (added on top), charged per line on the discounted line total.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal

from .common import ZERO, q2
from .model import ID_BASE, AppliedDiscount, LineItem, Order, Refund, RefundLineItem

#: Rough conversion used to price the catalogue in the shop currency.
FX: dict[str, Decimal] = {
    "USD": Decimal("1"),
    "CAD": Decimal("1.35"),
    "AUD": Decimal("1.5"),
    "NZD": Decimal("1.65"),
    "EUR": Decimal("0.92"),
    "GBP": Decimal("0.79"),
    "CHF": Decimal("0.9"),
    "SEK": Decimal("10.5"),
    "ILS": Decimal("3.7"),
}

TAX_RATE: dict[str, Decimal] = {
    "USD": Decimal("0.07"),
    "CAD": Decimal("0.13"),
    "AUD": Decimal("0.10"),
    "EUR": Decimal("0.20"),
    "GBP": Decimal("0.20"),
    "ILS": Decimal("0.18"),
}

TIMEZONE: dict[str, str] = {
    "USD": "America/New_York",
    "CAD": "America/Toronto",
    "AUD": "Australia/Sydney",
    "NZD": "Pacific/Auckland",
    "EUR": "Europe/Berlin",
    "GBP": "Europe/London",
    "CHF": "Europe/Zurich",
    "SEK": "Europe/Stockholm",
    "ILS": "Asia/Jerusalem",
}


def fx(currency: str) -> Decimal:
    return FX.get(currency, Decimal("1"))


def default_tax_rate(currency: str) -> Decimal:
    return TAX_RATE.get(currency, Decimal("0.10"))


def free_shipping_threshold(currency: str) -> Decimal:
    return q2(Decimal("75") * fx(currency))


def shipping_price(currency: str, express: bool) -> Decimal:
    return q2((Decimal("14.90") if express else Decimal("6.90")) * fx(currency))


class IdAllocator:
    """Per-shop sequential ids for every kind of record."""

    def __init__(self, start: dict[str, int] | None = None) -> None:
        self._next: dict[str, int] = {k: v + 1 for k, v in ID_BASE.items()}
        if start:
            self._next.update(start)

    def next(self, kind: str) -> int:
        value = self._next[kind]
        self._next[kind] = value + 1
        return value

    def peek(self) -> dict[str, int]:
        return dict(self._next)

    def bump_past(self, kind: str, used: int) -> None:
        if used >= self._next[kind]:
            self._next[kind] = used + 1


def apply_discount(lines: Sequence[LineItem], discount: AppliedDiscount) -> None:
    """Allocate a percentage or fixed-amount code over the lines; sets ``discount.amount``."""
    items_total = sum((li.original_total for li in lines), ZERO)
    if items_total <= 0:
        discount.amount = ZERO
        return
    if discount.kind == "percentage":
        for li in lines:
            li.total_discount = q2(li.original_total * discount.value / 100)
    else:
        amount = min(discount.value, items_total)
        remaining = amount
        for index, li in enumerate(lines):
            if index == len(lines) - 1:
                share = remaining
            else:
                share = q2(amount * li.original_total / items_total)
                remaining -= share
            li.total_discount = share
    discount.amount = sum((li.total_discount for li in lines), ZERO)


def apply_tax(lines: Iterable[LineItem], rate: Decimal) -> None:
    for li in lines:
        li.tax = q2(li.discounted_total * rate)


def refund_line(order: Order, line: LineItem, quantity: int) -> tuple[Decimal, Decimal]:
    """(subtotal, tax) to refund for ``quantity`` more units of ``line``.

    The last units of a line take whatever is left, so refunding everything is exact.
    """
    previous = [r for ref in order.refunds for r in ref.line_items if r.line_item.id == line.id]
    done_qty = sum(r.quantity for r in previous)
    remaining = line.quantity - done_qty
    if quantity <= 0 or quantity > remaining:
        raise ValueError(
            f"cannot refund {quantity} of line item {line.id}: {remaining} left to refund"
        )
    if quantity == remaining:
        subtotal = line.discounted_total - sum((r.subtotal for r in previous), ZERO)
        tax = line.tax - sum((r.total_tax for r in previous), ZERO)
    else:
        subtotal = q2(line.discounted_total * quantity / line.quantity)
        tax = q2(line.tax * quantity / line.quantity)
    return subtotal, tax


def build_refund(
    order: Order,
    ids: IdAllocator,
    lines: Sequence[tuple[int, int]],
    shipping: Decimal,
    created_at: datetime,
    note: str | None,
    restock_type: str = "RETURN",
) -> Refund:
    """Create (and attach to ``order``) a refund of ``lines`` ``[(line_item_id, qty)]``."""
    by_id = {li.id: li for li in order.line_items}
    shipping = q2(shipping)
    shipping_left = order.shipping - order.refunded_shipping()
    if shipping < 0 or shipping > shipping_left:
        raise ValueError(f"cannot refund {shipping} of shipping: {shipping_left} left")
    refund_lines: list[RefundLineItem] = []
    for line_id, qty in lines:
        line = by_id.get(line_id)
        if line is None:
            raise ValueError(f"line item {line_id} is not on order {order.id}")
        subtotal, tax = refund_line(order, line, qty)
        refund_lines.append(
            RefundLineItem(
                id=ids.next("RefundLineItem"),
                line_item=line,
                quantity=qty,
                subtotal=subtotal,
                total_tax=tax,
                restock_type=restock_type,
            )
        )
    if not refund_lines and shipping <= 0:
        raise ValueError("a refund needs line items or shipping")
    refund = Refund(
        id=ids.next("Refund"),
        order_id=order.id,
        created_at=created_at,
        note=note,
        line_items=refund_lines,
        shipping=shipping,
        transaction_id=ids.next("OrderTransaction"),
        shipping_line_id=ids.next("RefundShippingLine") if shipping > 0 else None,
        adjustment_id=ids.next("OrderAdjustment") if shipping > 0 else None,
    )
    order.refunds.append(refund)
    return refund


def remaining_lines(order: Order) -> list[tuple[int, int]]:
    """``[(line_item_id, qty)]`` not yet refunded."""
    out = []
    for li in order.line_items:
        left = li.quantity - order.refunded_quantity(li.id)
        if left > 0:
            out.append((li.id, left))
    return out
