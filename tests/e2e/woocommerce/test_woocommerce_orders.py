"""A WooCommerce order's life over the wire, status by status, as the store's webhooks report it:
what the mirror records, when the order is announced as paid (once) and what it earns."""

import pytest

from commerce.models import DomainEvent, Order
from loyalty.models import LedgerEntry
from loyalty.services.program import program_enable
from tests.e2e.conftest import wait_until
from tests.e2e.woocommerce.conftest import add_store, connect

pytestmark = pytest.mark.django_db(transaction=True)


def mirrored(shop, order_id: int) -> Order:
    assert wait_until(lambda: Order.objects.filter(shop=shop, platform_id=str(order_id)).exists())
    return Order.objects.get(shop=shop, platform_id=str(order_id))


def settled(sandbox, store, shop, order_id: int, status: str) -> Order:
    """The order is ``status`` in WooCommerce; wait for its webhooks and for the mirror to hold
    that version of it (its ``date_modified``)."""
    truth = store.orders[order_id]
    assert truth.status == status
    assert sandbox.wait_idle(20)
    assert wait_until(lambda: Order.objects.filter(shop=shop, platform_id=str(order_id),
                                                   platform_updated_at__gte=truth.date_modified).exists()), status
    return Order.objects.get(shop=shop, platform_id=str(order_id))


def paid_events(shop, order_id: int) -> int:
    return DomainEvent.objects.filter(shop=shop, key=f"order.paid:{order_id}").count()


def earned(order_id: int) -> int:
    return sum(LedgerEntry.objects.filter(source_id=str(order_id)).values_list("points", flat=True))


@pytest.fixture
def store_and_shop(app, woo_sandbox):
    store = add_store(woo_sandbox, "statuses", seed=8, customers=15, orders=30)
    shop = connect(app, store, woo_sandbox)
    program_enable(shop=shop)
    return store, shop


def test_a_bank_transfer_order_pays_later_and_is_announced_once(woo_sandbox, store_and_shop):
    store, shop = store_and_shop
    buyer = next(iter(store.customers.values()))
    # checkout with direct bank transfer: on hold until the money arrives
    order = store.place_order(customer_id=buyer.id, paid=False, payment_method="bacs", status="on-hold")
    held = settled(woo_sandbox, store, shop, order.id, "on-hold")
    assert held.financial_status == "pending" and held.cancelled_at is None
    assert paid_events(shop, order.id) == 0 and earned(order.id) == 0
    # the merchant sees the transfer and marks it processing: paid, announced, points pending
    store.mark_paid(order.id)
    paid = settled(woo_sandbox, store, shop, order.id, "processing")
    assert paid.financial_status == "paid" and paid.fulfillment_status == "unfulfilled"
    assert paid_events(shop, order.id) == 1
    points = earned(order.id)
    assert points > 0
    # shipped: completed is still the same paid order (no second announcement, no second points)
    store.complete_order(order.id)
    done = settled(woo_sandbox, store, shop, order.id, "completed")
    assert (done.financial_status, done.fulfillment_status) == ("paid", "fulfilled")
    assert paid_events(shop, order.id) == 1 and earned(order.id) == points


def test_failed_and_pending_orders_earn_nothing_and_a_cancelled_one_gives_its_points_back(woo_sandbox,
                                                                                           store_and_shop):
    store, shop = store_and_shop
    buyer = list(store.customers.values())[1]
    failed = store.place_order(customer_id=buyer.id, paid=False, status="failed")
    pending = store.place_order(customer_id=buyer.id, paid=False)
    assert settled(woo_sandbox, store, shop, failed.id, "failed").financial_status == "failed"
    assert settled(woo_sandbox, store, shop, pending.id, "pending").financial_status == "pending"
    assert earned(failed.id) == earned(pending.id) == 0
    assert paid_events(shop, failed.id) == paid_events(shop, pending.id) == 0
    # a paid order, then cancelled by the merchant
    paid = store.place_order(customer_id=buyer.id)
    settled(woo_sandbox, store, shop, paid.id, "processing")
    assert earned(paid.id) > 0
    store.cancel_order(paid.id)
    cancelled = settled(woo_sandbox, store, shop, paid.id, "cancelled")
    assert cancelled.cancelled_at is not None
    assert wait_until(lambda: earned(paid.id) == 0)
    assert DomainEvent.objects.filter(shop=shop, key=f"order.cancelled:{paid.id}").count() == 1


def test_an_order_moved_to_the_bin_stops_counting_and_comes_back_when_restored(woo_sandbox, store_and_shop):
    store, shop = store_and_shop
    buyer = list(store.customers.values())[2]
    order = store.place_order(customer_id=buyer.id)
    settled(woo_sandbox, store, shop, order.id, "processing")
    store.trash_order(order.id)
    assert woo_sandbox.wait_idle(20)
    assert wait_until(lambda: mirrored(shop, order.id).cancelled_at is not None)
    store.restore_order(order.id)
    restored = settled(woo_sandbox, store, shop, order.id, "processing")
    assert restored.financial_status == "paid"


def test_a_guest_order_keeps_its_email_and_has_no_customer(woo_sandbox, store_and_shop):
    store, shop = store_and_shop
    order = store.place_order(customer_id=None, email="guest.buyer@example.com")
    stored = settled(woo_sandbox, store, shop, order.id, "processing")
    assert stored.customer_id is None
    assert stored.email == "guest.buyer@example.com"
    assert stored.total == order.total and stored.currency == "USD"
