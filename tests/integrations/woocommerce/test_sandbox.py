"""History sync, reconciliation, webhook topics that read back from the store, coupons and consent
over real HTTP against the WooCommerce sandbox (OAuth 1.0a over http, as a plain-http store)."""

import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from commerce import events
from commerce.models import Customer, Order, Product, Refund, Variant
from integrations.models import SyncCursor, SyncRun, SyncStatus
from integrations.platforms import (
    ConsentUpdate,
    DiscountCodeTaken,
    DiscountKind,
    DiscountSpec,
    PlatformUnavailable,
    adapter_for,
)
from integrations.woocommerce import coupons, normalise, sync
from integrations.woocommerce.client import WooAuthError, WooClient
from integrations.woocommerce.consent import customer_consent_update
from integrations.woocommerce.credentials import Credentials
from integrations.woocommerce.handlers import webhook_handle
from integrations.woocommerce.models import ConnectionStatus, WooConnection
from sandbox.store.generator import StoreSpec
from sandbox.woocommerce import WooCommerceSandbox
from tests.integrations.woocommerce.helpers import delivery, woo_shop

pytestmark = pytest.mark.django_db


class Boom(Exception):
    pass


@pytest.fixture
def sandbox():
    box = WooCommerceSandbox(webhook_mode="manual")
    box.start()
    try:
        yield box
    finally:
        box.stop()


@pytest.fixture
def store(sandbox):
    return sandbox.add_store("oak-and-ash", spec=StoreSpec(seed=7, customers=40, orders=230, products=12))


@pytest.fixture
def woo(sandbox, store):
    key = sandbox.create_api_key(store.name)
    return WooClient(Credentials(store.url, key.consumer_key, key.consumer_secret), backoff_seconds=0.01)


@pytest.fixture
def shop(store):
    return woo_shop(domain=store.domain, storefront_url=store.url, installed_at=datetime.now(UTC))


def test_history_sync_reads_every_page_and_resumes_after_a_crash(shop, store, woo):
    run = sync.history_sync_start(shop=shop)
    assert sync.history_sync_start(shop=shop) == run  # one at a time

    def crash_on_orders_page_2(current: SyncRun) -> None:
        if current.resource == "orders" and current.lines_done == 2 and current.resumes == 0:
            raise Boom("worker died")

    with pytest.raises(Boom):
        sync.history_sync_run(run=run, client=woo, after_page=crash_on_orders_page_2)
    run.refresh_from_db()
    assert (run.status, run.resource, run.lines_done) == (SyncStatus.FAILED, "orders", 2)
    assert Order.objects.filter(shop=shop).count() == 200

    sync.history_sync_run(run=run, client=woo)  # resumes at page 3

    run.refresh_from_db()
    assert (run.status, run.resumes) == (SyncStatus.COMPLETED, 1)
    orders = run.progress["orders"]
    assert (orders["objects"], orders["pages"], orders["total_pages"], orders["done"]) == (230, 3, 3, True)
    assert Order.objects.filter(shop=shop).count() == len(store.orders) == 230
    assert Customer.objects.filter(shop=shop, email__gt="").count() == len(store.customers)
    assert Product.objects.filter(shop=shop).count() == len(store.products)
    assert Variant.objects.filter(shop=shop).count() >= len(store.products)
    # what the store says, to the cent
    for woo_order in list(store.orders.values())[:25]:
        mirrored = Order.objects.get(shop=shop, platform_id=str(woo_order.id))
        assert mirrored.total == woo_order.total
        assert mirrored.total_refunded == woo_order.total_refunded
        assert mirrored.lines.count() == len(woo_order.lines)
    refunded = [o for o in store.orders.values() if o.refunds]
    assert Refund.objects.filter(shop=shop).count() == sum(len(o.refunds) for o in refunded)
    assert set(SyncCursor.objects.filter(shop=shop).values_list("resource", flat=True)) == {
        "customers", "products", "orders"}


def test_reconciliation_catches_what_the_webhooks_missed(shop, store, woo):
    sync.history_sync_run(run=sync.history_sync_start(shop=shop), client=woo)
    paid = next(o for o in store.orders.values() if o.status == "processing" and not o.refunds)
    # changes whose webhooks never arrived (WooCommerce does not retry)
    new = store.place_order(customer_id=next(iter(store.customers)))
    store.refund_order(paid.id, lines=[(paid.lines[0].id, 1)], reason="damaged")
    store.update_customer(next(iter(store.customers)), first_name="Renamed")
    binned = next(o for o in store.orders.values() if o.status == "completed" and o.id != paid.id)
    store.trash_order(binned.id)

    counts = sync.reconcile(shop=shop, client=woo)

    assert counts["orders"] >= 2 and counts["orders"] < 20  # only what changed since the mark
    assert Order.objects.filter(shop=shop, platform_id=str(new.id)).exists()
    refunded = Order.objects.get(shop=shop, platform_id=str(paid.id))
    assert refunded.financial_status in ("partially_refunded", "refunded")
    (refund,) = Refund.objects.filter(order=refunded)
    assert refund.note == "damaged"
    assert refund.lines.get().order_line.platform_id == str(paid.lines[0].id)
    assert Customer.objects.get(shop=shop, platform_id=str(next(iter(store.customers)))).first_name == "Renamed"
    trashed = Order.objects.get(shop=shop, platform_id=str(binned.id))
    assert (trashed.financial_status, trashed.cancel_reason, trashed.cancelled_at is not None) == (
        "voided", "deleted", True)
    assert sync.reconcile(shop=shop, client=woo)["orders"] <= 3  # the overlap only: these three again


def test_an_order_webhook_fetches_the_lines_of_a_new_refund(shop, store, woo):
    order = store.place_order(customer_id=next(iter(store.customers)))
    webhook_handle(delivery(shop, "order.created", store.order_json(order)), store.order_json(order), client=woo)
    store.refund_order(order.id, lines=[(order.lines[0].id, 1)])

    body = store.order_json(store.order(order.id))
    webhook_handle(delivery(shop, "order.updated", body), body, client=woo)

    refund = Refund.objects.get(shop=shop, order__platform_id=str(order.id))
    assert refund.processed_at is not None
    assert refund.lines.get().order_line.platform_id == str(order.lines[0].id)


def test_a_trashed_order_is_cancelled_and_one_deleted_for_good_too(shop, store, woo):
    first, second = (store.place_order(customer_id=next(iter(store.customers))) for _ in range(2))
    for order in (first, second):
        webhook_handle(delivery(shop, "order.created", store.order_json(order)), store.order_json(order), client=woo)
    events.dispatch_pending()

    store.trash_order(first.id)
    webhook_handle(delivery(shop, "order.deleted", {"id": first.id}), {"id": first.id}, client=woo)
    store.trash_order(second.id, force=True)
    webhook_handle(delivery(shop, "order.deleted", {"id": second.id}), {"id": second.id}, client=woo)

    for order in (first, second):
        mirrored = Order.objects.get(shop=shop, platform_id=str(order.id))
        assert (mirrored.financial_status, mirrored.cancelled_at is not None) == ("voided", True)
    assert Order.objects.get(platform_id=str(first.id)).cancel_reason == "deleted"


def test_a_reward_becomes_a_real_coupon_and_a_taken_code_is_refused(shop, store, woo):
    customer_id = next(iter(store.customers))
    sync.records_upsert(shop=shop, resource="customers", live=True,
                        records=[normalise.customer_from_rest(store.customer_json(store.customer(customer_id)))])
    spec = DiscountSpec(code="CB-5OFF-Q7", title="5 off", kind=DiscountKind.FIXED_AMOUNT, value=Decimal("5.00"),
                        minimum_subtotal=Decimal("25.00"), ends_at=datetime.now(UTC) + timedelta(days=30),
                        customer_platform_ids=(str(customer_id),))

    created = coupons.discount_code_create(shop=shop, spec=spec, client=woo)

    coupon = store.find_coupon("CB-5OFF-Q7")
    assert coupon is not None and str(coupon.id) == created.platform_id
    assert store.coupon_json(coupon)["email_restrictions"] == [store.customer(customer_id).email.lower()]
    assert store.coupon_json(coupon)["usage_limit"] == 1
    assert store.coupon_json(coupon)["minimum_amount"] == "25.00"
    with pytest.raises(DiscountCodeTaken):
        coupons.discount_code_create(shop=shop, spec=spec, client=woo)


def test_a_429_from_the_store_is_waited_out(sandbox, store, woo):
    sandbox.fail_next(store.name, 2, status=429, retry_after=0.2)
    assert woo.page("orders", page=1).total == len(store.orders)


def test_consent_round_trip_through_the_customers_meta(shop, store, woo):
    customer_id = next(iter(store.customers))
    at = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
    customer_consent_update(shop=shop, client=woo, update=ConsentUpdate(
        customer_platform_id=str(customer_id), channel="email", subscribed=True, at=at))
    record = normalise.customer_from_rest(woo.get(f"customers/{customer_id}"))
    assert (record.email_consent, record.email_consent_updated_at) == ("subscribed", at)


def test_shop_details(store, woo):
    details = sync.shop_details(credentials=woo.credentials, client=woo)
    assert details["name"] == store.site_name  # the site title, from /wp-json/ (not the host)
    assert details["currency"] == "USD"
    assert details["timezone"] == "America/New_York"  # the store's country and state (US:NY)
    assert details["locale"] == "en-US"
    assert details["storefront_url"] == store.url


@pytest.fixture
def connected(sandbox, store, shop):
    """The shop as the connect flow leaves it: a connection holding the store's REST keys."""
    key = sandbox.create_api_key(store.name)
    WooConnection.objects.create(
        shop=shop, store_url=store.url, domain=store.domain, state="connected-state", status=ConnectionStatus.CONNECTED,
        expires_at=datetime.now(UTC), consumer_key=key.consumer_key, consumer_secret=key.consumer_secret,
        key_id=str(key.key_id), key_permissions="read_write")
    return key


def test_the_adapter_syncs_and_creates_coupons_with_the_connections_keys(shop, store, connected):
    adapter = adapter_for("woocommerce")
    adapter.history_sync_run(run=adapter.history_sync_start(shop=shop))
    assert Order.objects.filter(shop=shop).count() == len(store.orders)
    created = adapter.discount_code_create(shop=shop, spec=DiscountSpec(
        code="CB-10PCT", title="10 %", kind=DiscountKind.PERCENTAGE, value=Decimal("10")))
    assert str(store.find_coupon("CB-10PCT").id) == created.platform_id


def test_a_revoked_key_marks_the_shop_for_reconnecting(sandbox, shop, store, connected):
    sandbox.revoke_api_key(store.name, connected.key_id)
    with pytest.raises(WooAuthError):
        sync.reconcile(shop=shop)
    shop.refresh_from_db()
    assert shop.reauthorization_required_at is not None
    assert not Order.objects.filter(shop=shop).exists()


def test_product_webhooks_bring_variations_with_their_cost(shop, store, woo):
    product = next(p for p in store.products.values() if p.type == "variable" and len(p.variations) > 1)
    body = store.product_json(product)
    webhook_handle(delivery(shop, "product.created", body), body, client=woo)
    variants = {v.platform_id: v for v in Variant.objects.filter(shop=shop, product__platform_id=str(product.id))}
    assert set(variants) == {str(v.id) for v in product.variations}

    # a variation's own delivery: its new price and cost land on the variant
    changed = product.variations[0]
    store.update_product(changed.id, regular_price="99.50", cost="41.20")
    variation_body = store.variation_json(changed)
    webhook_handle(delivery(shop, "product.updated", variation_body), variation_body, client=woo)
    variant = Variant.objects.get(shop=shop, platform_id=str(changed.id))
    assert (variant.price, variant.unit_cost) == (Decimal("99.50"), Decimal("41.20"))


def test_a_trashed_product_is_archived(shop, store, woo):
    product = next(p for p in store.products.values() if p.type == "simple")
    body = store.product_json(product)
    webhook_handle(delivery(shop, "product.created", body), body, client=woo)
    store.update_product(product.id, status="trash")
    webhook_handle(delivery(shop, "product.deleted", {"id": product.id}), {"id": product.id}, client=woo)
    assert Product.objects.get(shop=shop, platform_id=str(product.id)).status == "archived"


def test_a_shopper_waiting_on_a_coupon_is_not_held_by_a_long_retry_after(sandbox, shop, store, connected):
    sandbox.fail_next(store.name, 3, status=429, retry_after=30)
    started = time.monotonic()
    with pytest.raises(PlatformUnavailable):
        adapter_for("woocommerce").discount_code_create(shop=shop, spec=DiscountSpec(
            code="CB-WAIT", title="t", kind=DiscountKind.PERCENTAGE, value=Decimal("10")))
    assert time.monotonic() - started < 5
    assert store.find_coupon("CB-WAIT") is None
