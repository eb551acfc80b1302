"""Connect -> history sync -> live webhooks -> points in the widget, for a WooCommerce store over
real HTTP: the sandbox's wc-auth, REST API v3 (the official ``woocommerce`` client, OAuth 1.0a over
http), its webhooks with WooCommerce's headers and signatures, and the plugin's signed storefront
route."""

from decimal import Decimal

import pytest

from commerce.models import Customer, DomainEvent, Order, OrderLine, Product
from integrations.models import SyncRun, WebhookDelivery
from integrations.woocommerce.models import WooConnection, WooWebhook
from loyalty.models import LedgerEntry
from loyalty.services.ledger import account_balance
from loyalty.services.program import program_enable
from tests.e2e.conftest import wait_until
from tests.e2e.woocommerce.conftest import add_store, connect, db_totals, shopper, truth_orders, truth_totals

pytestmark = pytest.mark.django_db(transaction=True)


def test_connect_sync_live_webhook_and_points_in_the_widget(app, woo_sandbox):
    # given a seeded WooCommerce store
    store = add_store(woo_sandbox, "pipe", seed=7, customers=60, orders=220)
    # when the merchant connects it from our WordPress plugin
    shop = connect(app, store, woo_sandbox)
    # then the keys are kept (encrypted), one webhook per topic exists in the store, and the history is here
    assert shop.is_installed and shop.platform == "woocommerce" and shop.currency == "USD"
    assert shop.storefront_url == store.url
    connection = WooConnection.objects.get(shop=shop)
    assert connection.consumer_key.startswith("ck_") and connection.consumer_secret.startswith("cs_")
    assert connection.consumer_key in {key.consumer_key for key in store.api_keys.values()}
    topics = {w.topic for w in store.webhooks.values() if w.status == "active"}
    assert {"order.created", "order.updated", "customer.created", "customer.updated", "product.updated",
            "coupon.created"} <= topics
    assert all(w.delivery_url == f"{app.url}/webhooks/woocommerce" for w in store.webhooks.values())
    assert {w.topic for w in WooWebhook.objects.filter(shop=shop)} == topics
    # the creation pings were answered 200 and stored nothing
    pings = woo_sandbox.deliveries(store.name, kind="ping")
    assert pings and all(p.status == 200 for p in pings)
    run = SyncRun.objects.get(shop=shop, kind="history")
    assert run.status == "completed", run.error
    assert db_totals(shop) == truth_totals(store)
    assert set(Customer.objects.filter(shop=shop).values_list("platform_id", flat=True)) == {
        str(c) for c in store.customers}
    assert Product.objects.filter(shop=shop).count() == len(store.products)
    assert OrderLine.objects.filter(shop=shop).count() == sum(len(o.lines) for o in truth_orders(store))
    statuses = {o.platform_id: o.financial_status for o in Order.objects.filter(shop=shop)}
    assert {statuses[str(o.id)] for o in truth_orders(store) if o.status == "refunded"} <= {"refunded"}
    # history is not news
    assert not DomainEvent.objects.filter(shop=shop, name="order.paid").exists()

    # when the program is on and a registered shopper checks out
    program_enable(shop=shop)
    buyer = next(c for c in store.customers.values() if c.email)
    order = store.place_order(customer_id=buyer.id)
    assert woo_sandbox.wait_idle(20)
    # then its webhook arrived signed and was processed: the order is mirrored and announced once
    assert wait_until(lambda: Order.objects.filter(shop=shop, platform_id=str(order.id)).exists())
    stored = Order.objects.get(shop=shop, platform_id=str(order.id))
    assert stored.total == order.total and stored.financial_status == "paid"
    assert DomainEvent.objects.filter(shop=shop, key=f"order.paid:{order.id}").count() == 1
    assert not WebhookDelivery.objects.filter(shop=shop, status__in=["failed", "dead"]).exists()
    assert db_totals(shop) == truth_totals(store)
    # and the shopper sees the points it earned in the widget, through the plugin's signed route
    earned = LedgerEntry.objects.get(idempotency_key=f"earn:order:{order.id}")
    assert earned.points > 0
    state = shopper(store, buyer.id).get(f"{store.url}/wp-json/comeback/v1/loyalty", timeout=30)
    assert state.status_code == 200, state.text
    balance = account_balance(account=earned.account)
    assert balance.pending == earned.points
    assert state.json()["balance"] == {"available": balance.available, "pending": earned.points}
    assert state.json()["referral"]["link"] == f"{store.url}/?ref={state.json()['referral']['code']}"
    # a guest gets the pitch, not somebody's balance
    guest = shopper(store, None).get(f"{store.url}/wp-json/comeback/v1/loyalty", timeout=30)
    assert guest.status_code == 200 and "balance" not in guest.json()


def test_standalone_connect_logs_the_merchant_into_the_dashboard(app, woo_sandbox):
    store = add_store(woo_sandbox, "standalone", seed=3, customers=10, orders=20)
    shop = connect(app, store, plugin=False)
    assert shop.is_installed and SyncRun.objects.get(shop=shop, kind="history").status == "completed"
    assert Order.objects.filter(shop=shop).count() == len(truth_orders(store))


def test_money_is_decimal_in_the_stores_currency(app, woo_sandbox):
    store = add_store(woo_sandbox, "shekel", seed=4, customers=12, orders=30, currency="ILS")
    shop = connect(app, store, woo_sandbox)
    assert shop.currency == "ILS"
    assert set(Order.objects.filter(shop=shop).values_list("currency", flat=True)) == {"ILS"}
    assert isinstance(Order.objects.filter(shop=shop).first().total, Decimal)
