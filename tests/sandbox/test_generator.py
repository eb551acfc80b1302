"""The seeded generator: determinism, repeat-buyer shape, consistent money."""

from __future__ import annotations

import hashlib
from collections import Counter
from datetime import timedelta
from decimal import Decimal

import pytest

from sandbox.shopify import DEFAULT_ANCHOR, StoreGenerator, StoreSpec
from sandbox.shopify.common import ZERO
from sandbox.store.model import Order


def digest(spec: StoreSpec) -> str:
    gen = StoreGenerator(spec)
    h = hashlib.sha256()
    for record in (*gen.products, *gen.customers(), *gen.iter_orders()):
        h.update(repr(record).encode())
    return h.hexdigest()


@pytest.fixture(scope="module")
def store() -> tuple[StoreGenerator, list[Order]]:
    gen = StoreGenerator(StoreSpec(seed=42))  # the defaults: 2,000 customers, 8,000 orders
    return gen, list(gen.iter_orders())


def test_same_seed_same_data_different_seed_different() -> None:
    small = StoreSpec(seed=1, customers=80, orders=300)
    assert digest(small) == digest(small)
    assert digest(small) != digest(StoreSpec(seed=2, customers=80, orders=300))


def test_sizes_and_window(store: tuple[StoreGenerator, list[Order]]) -> None:
    gen, orders = store
    assert len(orders) == 8000 and len(gen.customers()) == 2000
    assert 60 <= len(gen.products) <= 80
    assert all(DEFAULT_ANCHOR - timedelta(days=731) <= o.created_at <= DEFAULT_ANCHOR
               for o in orders)
    assert [o.number for o in orders] == list(range(1001, 9001))
    assert all(a.created_at <= b.created_at for a, b in zip(orders, orders[1:], strict=False))
    assert len({o.id for o in orders}) == 8000


def test_repeat_buyer_shape(store: tuple[StoreGenerator, list[Order]]) -> None:
    gen, orders = store
    per_customer = Counter(o.customer_id for o in orders if o.customer_id)
    counts = sorted((per_customer.get(c.id, 0) for c in gen.customers()), reverse=True)
    buyers = [n for n in counts if n]
    assert sum(1 for n in buyers if n == 1) / len(buyers) > 0.5  # most buy once
    top_decile = counts[: len(counts) // 10]
    assert sum(top_decile) / len(top_decile) >= 4
    assert sum(1 for n in counts if n == 0) > 0  # some never bought


def test_totals_are_consistent(store: tuple[StoreGenerator, list[Order]]) -> None:
    _, orders = store
    for o in orders:
        lines = sum((li.price * li.quantity for li in o.line_items), ZERO)
        assert o.subtotal == lines - sum((li.total_discount for li in o.line_items), ZERO)
        assert o.total_price == o.subtotal + o.shipping + o.total_tax
        assert o.total_refunded == sum((r.total for r in o.refunds), ZERO)
        assert o.total_refunded <= o.total_price
        assert o.updated_at >= o.created_at
        assert all(r.created_at <= o.updated_at for r in o.refunds)
        for d in o.discounts:
            assert d.amount == o.total_discounts
        for value in (o.subtotal, o.total_price, o.total_tax, o.shipping):
            assert value == value.quantize(Decimal("0.01"))
        if o.financial_status == "REFUNDED":
            assert o.total_refunded == o.total_price


def test_variety(store: tuple[StoreGenerator, list[Order]]) -> None:
    gen, orders = store
    statuses = Counter(o.financial_status for o in orders)
    assert {"PAID", "PARTIALLY_REFUNDED", "REFUNDED", "VOIDED"} <= set(statuses)
    assert statuses["PAID"] / len(orders) > 0.85
    assert any(o.cancelled_at and o.cancel_reason for o in orders)
    assert any(o.discounts for o in orders)
    assert any(r.shipping > 0 for o in orders for r in o.refunds)
    assert any(o.customer_id is None for o in orders)  # guest checkouts
    customers = gen.customers()
    birthdays = sum(1 for c in customers if c.birth_date) / len(customers)
    assert 0.25 < birthdays < 0.35
    assert {c.locale for c in customers} == {"en", "he", "fa"}
    states = Counter(c.email_consent.state for c in customers if c.email_consent)
    assert set(states) == {"SUBSCRIBED", "NOT_SUBSCRIBED", "UNSUBSCRIBED"}
    assert any(c.phone and c.sms_consent for c in customers)
    margins = {round((v.price - v.unit_cost) / v.price, 2) for p in gen.products
               for v in p.variants}
    assert len(margins) > 10
    assert len({c.email for c in customers if c.email}) == sum(1 for c in customers if c.email)


def test_currency(store: tuple[StoreGenerator, list[Order]]) -> None:
    gen = StoreGenerator(StoreSpec(seed=42, customers=20, orders=40, currency="ILS"))
    order = next(gen.iter_orders())
    assert order.currency == "ILS"
    usd = store[0].products[0]
    assert gen.products[0].title == usd.title
    assert gen.products[0].variants[0].price > 3 * usd.variants[0].price
