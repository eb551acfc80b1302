"""Install -> history sync -> live webhooks -> rows, with the real ShopifyAPI client over HTTP."""

from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

import pytest
import requests
from django.db.models import Sum

from commerce.models import Customer, DomainEvent, Order, OrderLine, Product, Refund, Shop, Variant
from integrations.models import DataRequestExport, SyncRun, WebhookDelivery
from integrations.shopify import sync
from tests.e2e.conftest import install
from tests.integrations.test_oauth import session_token

pytestmark = pytest.mark.django_db(transaction=True)

DOMAIN = "e2e-store.myshopify.com"


def truth_totals(store: Any) -> tuple[int, int, Decimal, int]:
    orders = list(store.orders)
    refunds = sum(len(o.refunds) for o in orders)
    return len(list(store.customers)), len(orders), sum((o.total_price for o in orders), Decimal("0")), refunds


def db_totals(shop: Shop) -> tuple[int, int, Decimal, int]:
    orders = Order.objects.filter(shop=shop)
    return (
        Customer.objects.filter(shop=shop).count(),
        orders.count(),
        orders.aggregate(total=Sum("total"))["total"] or Decimal("0"),
        Refund.objects.filter(shop=shop).count(),
    )


def db_order_state(shop: Shop, platform_id: str) -> tuple:
    order = Order.objects.get(shop=shop, platform_id=platform_id)
    return (order.financial_status, order.total_refunded, order.cancelled_at is not None,
            Refund.objects.filter(order=order).count())


def truth_order_state(order: Any) -> tuple:
    return (order.financial_status.lower(), order.total_refunded, order.cancelled_at is not None,
            len(order.refunds))


def test_install_sync_and_live_webhooks(app, sandbox):
    # given a seeded store
    store = sandbox.add_shop(DOMAIN, seed=7, customers=150, orders=500)
    # when the merchant installs the app
    install(app, DOMAIN)
    # then the token is stored (encrypted), webhooks are registered and history is synced
    shop = Shop.objects.get(domain=DOMAIN)
    assert shop.is_installed and shop.currency == "USD" and shop.name
    run = SyncRun.objects.get(shop=shop, kind="history")
    assert run.status == "completed", run.error
    assert {s.topic for s in store.webhook_subscriptions} >= {"ORDERS_CREATE", "REFUNDS_CREATE", "APP_UNINSTALLED"}
    assert db_totals(shop) == truth_totals(store)
    assert Product.objects.filter(shop=shop).count() == len(list(store.products))
    assert Variant.objects.filter(shop=shop, unit_cost__isnull=False).count() > 0
    assert OrderLine.objects.filter(shop=shop).count() == sum(len(o.line_items) for o in store.orders)
    assert Customer.objects.filter(shop=shop, birthday__isnull=False).count() == sum(
        1 for c in store.customers if c.birth_date)
    # a first order is a counted one: paid or partly refunded, not cancelled, not a test
    buyers = {o.customer_id for o in store.orders if o.customer_id and o.cancelled_at is None and not o.test
              and o.financial_status in ("PAID", "PARTIALLY_REFUNDED")}
    assert Customer.objects.filter(shop=shop, first_order_at__isnull=False).count() == len(buyers)
    # history is not news: nothing from before the install was announced
    assert not DomainEvent.objects.filter(shop=shop, name="order.paid").exists()
    # but the sync's end is: every live customer has RFM scores from the full history
    from segments.models import CustomerScore

    assert CustomerScore.objects.filter(shop=shop).count() == Customer.objects.filter(
        shop=shop, is_deleted=False, redacted_at__isnull=True).count()

    # when a shopper places an order, its webhooks arrive and are processed
    order = store.place_order()
    sandbox.webhooks.wait_idle(15)
    stored = Order.objects.get(shop=shop, platform_id=str(order.id))
    assert stored.total == order.total_price
    paid = DomainEvent.objects.get(shop=shop, key=f"order.paid:{order.id}")
    assert "is_first_order" in paid.payload
    assert db_totals(shop) == truth_totals(store)


def test_duplicate_and_out_of_order_deliveries_change_nothing(app, sandbox):
    store = sandbox.add_shop(DOMAIN, seed=11, customers=40, orders=120)
    install(app, DOMAIN)
    shop = Shop.objects.get(domain=DOMAIN)

    # duplicates: every event of the next change is delivered twice
    sandbox.webhooks.duplicate_next(10)
    order = store.place_order()
    sandbox.webhooks.wait_idle(15)
    assert Order.objects.filter(shop=shop, platform_id=str(order.id)).count() == 1
    assert DomainEvent.objects.filter(shop=shop, key=f"order.paid:{order.id}").count() == 1

    # out of order: a refund then a cancellation, delivered newest first
    sandbox.webhooks.hold()
    line = order.line_items[0]
    store.refund_order(order.id, line_items=[(line.id, 1)])
    store.cancel_order(order.id)
    sandbox.webhooks.release("reverse")
    sandbox.webhooks.wait_idle(15)
    truth = next(o for o in store.orders if o.id == order.id)
    assert db_order_state(shop, str(order.id)) == truth_order_state(truth)
    assert DomainEvent.objects.filter(shop=shop, key__startswith="order.refunded:").count() == 1
    assert DomainEvent.objects.filter(shop=shop, key=f"order.cancelled:{order.id}").count() == 1
    assert db_totals(shop) == truth_totals(store)


def test_lost_webhooks_are_caught_by_reconciliation(app, sandbox):
    store = sandbox.add_shop(DOMAIN, seed=5, customers=30, orders=80)
    install(app, DOMAIN)
    shop = Shop.objects.get(domain=DOMAIN)
    # given Shopify never delivers the next order's webhooks
    sandbox.webhooks.drop_next(10)
    order = store.place_order()
    sandbox.webhooks.wait_idle(15)
    assert not Order.objects.filter(shop=shop, platform_id=str(order.id)).exists()
    # when the periodic reconciliation runs
    counts = sync.reconcile(shop=shop)
    # then the order is there, announced once, as if the webhook had arrived
    assert counts["orders"] >= 1
    assert Order.objects.get(shop=shop, platform_id=str(order.id)).total == order.total_price
    assert DomainEvent.objects.filter(shop=shop, key=f"order.paid:{order.id}").count() == 1
    assert db_totals(shop) == truth_totals(store)
    # and a second pass changes nothing
    sync.reconcile(shop=shop)
    assert DomainEvent.objects.filter(shop=shop, key=f"order.paid:{order.id}").count() == 1


def test_stale_sync_data_does_not_overwrite_a_newer_webhook(app, sandbox):
    store = sandbox.add_shop(DOMAIN, seed=3, customers=30, orders=60)
    install(app, DOMAIN)
    shop = Shop.objects.get(domain=DOMAIN)
    # given a bulk snapshot of the orders taken now
    run = SyncRun.objects.create(shop=shop, kind="history", resource="orders", status="running")
    client = sync.client_for(shop)
    operation_id = sync.bulk_start(client=client, query=sync.BULK_QUERIES["orders"])
    operation = sync.bulk_wait(client=client, operation_id=operation_id)
    # when an order is cancelled afterwards and its webhook arrives
    victim = next(o for o in store.orders if o.cancelled_at is None and not o.refunds)
    store.cancel_order(victim.id)
    sandbox.webhooks.wait_idle(15)
    assert Order.objects.get(shop=shop, platform_id=str(victim.id)).cancelled_at is not None
    # then ingesting the older snapshot leaves the newer state alone
    sync.ingest_file(run=run, url=operation["url"])
    assert Order.objects.get(shop=shop, platform_id=str(victim.id)).cancelled_at is not None


def test_history_sync_resumes_after_a_crash(app, sandbox, settings):
    settings.SYNC_BATCH_SIZE = 25
    store = sandbox.add_shop(DOMAIN, seed=9, customers=60, orders=200)
    install(app, DOMAIN)
    shop = Shop.objects.get(domain=DOMAIN)
    Order.objects.filter(shop=shop).delete()
    Customer.objects.filter(shop=shop).delete()
    # given a new sync that crashes after its third batch of orders
    run = sync.history_sync_start(shop=shop)
    batches = {"n": 0}

    def crash(current: SyncRun) -> None:
        if current.resource == "orders":
            batches["n"] += 1
            if batches["n"] == 3:
                raise RuntimeError("worker killed")

    with pytest.raises(RuntimeError):
        sync.history_sync_run(run=run, after_batch=crash)
    run.refresh_from_db()
    assert run.status == "failed" and run.resource == "orders" and run.lines_done > 0
    assert Order.objects.filter(shop=shop).count() == 75
    operation_id = run.bulk_operation_id
    # when it is resumed
    sync.history_sync_run(run=run)
    # then it continued the same bulk result and converged on the store's truth
    run.refresh_from_db()
    assert run.status == "completed"
    assert run.bulk_operation_id == operation_id
    assert db_totals(shop) == truth_totals(store)


def test_forged_oauth_callback_and_bad_shop_are_refused(app, sandbox):
    sandbox.add_shop(DOMAIN, seed=1, customers=5, orders=5)
    # a real authorize redirect, with its code swapped
    start = requests.get(f"{app.url}/shopify/install", params={"shop": DOMAIN}, allow_redirects=False, timeout=10)
    grant = requests.get(start.headers["Location"], allow_redirects=False, timeout=10)
    callback = urlparse(grant.headers["Location"])
    params = {k: v[0] for k, v in parse_qs(callback.query).items()}
    forged = requests.get(f"{app.url}/shopify/callback?{urlencode({**params, 'code': 'stolen'})}", timeout=10)
    assert forged.status_code == 401
    assert not Shop.objects.filter(domain=DOMAIN).exists()
    bad = requests.get(f"{app.url}/shopify/install", params={"shop": "evil.example.com"}, timeout=10)
    assert bad.status_code == 400
    # the untouched callback still works once
    good = requests.get(f"{app.url}/shopify/callback?{urlencode(params)}", timeout=300)
    assert good.status_code == 200
    replay = requests.get(f"{app.url}/shopify/callback?{urlencode(params)}", timeout=10)
    assert replay.status_code == 403


def test_forged_webhook_from_the_wire_is_refused(app, sandbox):
    sandbox.add_shop(DOMAIN, seed=1, customers=5, orders=5)
    install(app, DOMAIN)
    response = requests.post(
        f"{app.url}/webhooks/shopify", data=b'{"id": 1}', timeout=10,
        headers={"X-Shopify-Topic": "orders/create", "X-Shopify-Hmac-Sha256": "Zm9yZ2Vk",
                 "X-Shopify-Shop-Domain": DOMAIN, "X-Shopify-Webhook-Id": "forged-1"},
    )
    assert response.status_code == 401
    assert not WebhookDelivery.objects.filter(delivery_id="forged-1").exists()


def test_privacy_topics_and_uninstall_over_the_wire(app, sandbox):
    store = sandbox.add_shop(DOMAIN, seed=2, customers=30, orders=60)
    install(app, DOMAIN)
    shop = Shop.objects.get(domain=DOMAIN)
    customer = next(c for c in store.customers if any(o.customer_id == c.id for o in store.orders))
    # data request -> export
    store.request_customer_data(customer.id)
    sandbox.webhooks.wait_idle(15)
    export = DataRequestExport.objects.get(shop=shop, customer_platform_id=str(customer.id))
    assert export.data["customer"]["email"] == (customer.email or "").lower()
    assert export.data["orders"]
    # customer redact -> personal data gone, orders kept
    orders_before = Order.objects.filter(shop=shop).count()
    store.redact_customer(customer.id)
    sandbox.webhooks.wait_idle(15)
    redacted = Customer.objects.get(shop=shop, platform_id=str(customer.id))
    assert (redacted.email, redacted.first_name, redacted.phone) == ("", "", "")
    assert Order.objects.filter(shop=shop).count() == orders_before
    # uninstall -> token forgotten; reinstall works; uninstall again; shop redact -> data gone
    store.uninstall()
    sandbox.webhooks.wait_idle(15)
    shop.refresh_from_db()
    assert shop.status == "uninstalled" and shop.access_token == ""
    install(app, DOMAIN)
    shop.refresh_from_db()
    assert shop.is_installed
    store.uninstall()
    sandbox.webhooks.wait_idle(15)
    store.redact_shop()
    sandbox.webhooks.wait_idle(15)
    shop.refresh_from_db()
    assert shop.status == "redacted"
    assert Order.objects.filter(shop=shop).count() == 0
    assert Customer.objects.filter(shop=shop).count() == 0


def test_two_shops_never_see_each_other(app, sandbox):
    alpha = sandbox.add_shop("alpha.myshopify.com", seed=21, customers=40, orders=90)
    beta = sandbox.add_shop("beta.myshopify.com", seed=22, customers=25, orders=50, currency="ILS")
    install(app, "alpha.myshopify.com")
    install(app, "beta.myshopify.com")
    shop_a = Shop.objects.get(domain="alpha.myshopify.com")
    shop_b = Shop.objects.get(domain="beta.myshopify.com")
    assert db_totals(shop_a) == truth_totals(alpha)
    assert db_totals(shop_b) == truth_totals(beta)
    assert shop_b.currency == "ILS"
    assert set(Order.objects.filter(shop=shop_b).values_list("currency", flat=True)) == {"ILS"}
    for shop in (shop_a, shop_b):
        status = requests.get(f"{app.url}/api/shop", timeout=10,
                              headers={"Authorization": f"Bearer {session_token(shop.domain)}"}).json()
        assert (status["domain"], status["orders"]) == (shop.domain, Order.objects.filter(shop=shop).count())
