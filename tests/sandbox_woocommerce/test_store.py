"""The seeded store: WordPress ids, the shared generator's history in WooCommerce's terms, and the
shopper and merchant actions."""

from __future__ import annotations

from decimal import Decimal

import pytest

from sandbox.store.generator import StoreGenerator
from sandbox.woocommerce import StoreSpec, WooCommerceSandbox, WooStore, WPError

SPEC = StoreSpec(seed=42, customers=60, orders=230, products=12)


def test_ids_are_small_wordpress_ids_and_deterministic(sandbox: WooCommerceSandbox, store: WooStore) -> None:
    twin = sandbox.add_store("twin", spec=SPEC)
    assert sorted(store.orders) == sorted(twin.orders)
    assert [o.total for o in store.orders.values()] == [o.total for o in twin.orders.values()]
    assert min(store.customers) == 2 and max(store.customers) == 61  # user 1 is the admin
    posts = [*store.products, *store.variations, *store.coupons, *store.orders, *store.refunds]
    assert len(posts) == len(set(posts)) and max(posts) < 10_000
    assert min(store.orders) > max(store.coupons) > max(store.products)


def test_the_history_is_the_generator_s(store: WooStore) -> None:
    generated = list(StoreGenerator(SPEC).iter_orders())
    assert len(store.orders) == len(generated)
    for order, source in zip(store.orders.values(), generated, strict=True):
        assert order.total == source.total_price
        assert order.total_refunded == source.total_refunded
        assert order.date_created == source.created_at
    statuses = {o.status for o in store.orders.values()}
    assert {"completed", "refunded"} <= statuses
    assert any(o.customer_id == 0 for o in store.orders.values())  # guests
    assert all(o.customer_id in store.customers for o in store.orders.values() if o.customer_id)


def test_a_checkout_counts_the_coupon_and_stock(store: WooStore) -> None:
    coupon = store.create_coupon(code="Friends", amount="15", discount_type="percent", usage_limit_per_user=1)
    product = next(p for p in store.products.values() if p.type == "simple" and p.status == "publish")
    stock = product.stock_quantity or 0
    customer_id = next(iter(store.customers))
    order = store.place_order(customer_id=customer_id, items=[(product.id, 2)], coupons=["FRIENDS"])
    assert order.status == "processing" and order.date_paid is not None
    assert order.discount_total == (product.price * 2 * Decimal("0.15")).quantize(Decimal("0.01"))
    assert (coupon.usage_count, coupon.used_by) == (1, [str(customer_id)])
    assert product.stock_quantity == stock - 2
    with pytest.raises(WPError, match="usage limit"):
        store.place_order(customer_id=customer_id, items=[(product.id, 1)], coupons=["friends"])


def test_pending_then_paid_then_refunded_in_full(store: WooStore) -> None:
    order = store.place_order(customer_id=None, email="walk-in@example.com", paid=False)
    assert (order.status, order.date_paid) == ("pending", None)
    store.mark_paid(order.id)
    assert order.status == "processing" and order.date_paid is not None
    store.refund_order(order.id, lines=[(order.lines[0].id, 1)], reason="too small")
    assert order.status == "processing"
    store.refund_order(order.id)  # everything left, shipping included
    assert order.status == "refunded" and order.total_refunded == order.total
    with pytest.raises(WPError):
        store.refund_order(order.id, amount="1.00")


def test_deleting_a_customer_leaves_their_orders_as_a_guest_s(store: WooStore) -> None:
    customer_id = next(c for c in store.customers if any(o.customer_id == c for o in store.orders.values()))
    store.delete_customer(customer_id)
    assert customer_id not in store.customers
    assert not any(o.customer_id == customer_id for o in store.orders.values())


def test_changes_move_date_modified_strictly_forward(store: WooStore) -> None:
    order = store.place_order(customer_id=next(iter(store.customers)))
    stamps = [order.date_modified]
    for note in ("a", "b", "c"):
        store.update_order(order.id, customer_note=note)
        stamps.append(order.date_modified)
    assert stamps == sorted(set(stamps))


def test_live_activity_adds_orders(store: WooStore) -> None:
    before = len(store.orders)
    for _ in range(5):
        store.live_tick()
    assert len(store.orders) == before + 5


def test_the_store_is_its_url(sandbox: WooCommerceSandbox, store: WooStore) -> None:
    import requests

    assert store == store.url == f"{sandbox.base_url}/stores/oak-and-ash"
    assert requests.get(f"{store}/wp-json/", timeout=5).json()["home"] == store.url
    assert sandbox.store(store) is store and sandbox.store("oak-and-ash") is store
    assert sandbox.create_api_key(store).consumer_key.startswith("ck_")
