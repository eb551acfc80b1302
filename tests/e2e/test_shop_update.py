"""The merchant changes the store's settings in Shopify: the app hears ``shop/update`` and keeps up."""

import pytest

from commerce.models import Shop
from integrations.shopify import sync
from tests.e2e.conftest import install

pytestmark = pytest.mark.django_db(transaction=True)

DOMAIN = "settings-store.myshopify.com"


def test_shop_update_reaches_the_app_and_keeps_its_details_current(app, sandbox):
    # given an installed store (the install subscribes shop/update)
    store = sandbox.add_shop(DOMAIN, seed=9, customers=10, orders=20, name="Settings Store",
                             timezone="America/New_York")
    install(app, DOMAIN)
    assert "SHOP_UPDATE" in {s.topic for s in store.webhook_subscriptions}
    shop = Shop.objects.get(domain=DOMAIN)
    assert (shop.name, shop.timezone, shop.locale) == ("Settings Store", "America/New_York", "en")
    # when the merchant renames the store, moves it to Jerusalem and makes Hebrew its language
    store.update_shop(name="חנות ההגדרות", currency="ILS", timezone="Asia/Jerusalem", primary_locale="he")
    sandbox.webhooks.wait_idle(15)
    # then the app's shop says so
    shop.refresh_from_db()
    assert (shop.name, shop.currency, shop.timezone, shop.locale) == (
        "חנות ההגדרות", "ILS", "Asia/Jerusalem", "he")


def test_a_shop_installed_before_the_topic_existed_gets_it_at_the_next_reconciliation(app, sandbox):
    # given an installed store whose shop/update subscription is missing (older install, or
    # removed by Shopify after failed deliveries)
    store = sandbox.add_shop(DOMAIN, seed=9, customers=10, orders=20)
    install(app, DOMAIN)
    for subscription_id, subscription in list(store.subscriptions.items()):
        if subscription.topic == "SHOP_UPDATE":
            del store.subscriptions[subscription_id]
    assert "SHOP_UPDATE" not in {s.topic for s in store.webhook_subscriptions}
    # when the periodic reconciliation runs
    sync.reconcile(shop=Shop.objects.get(domain=DOMAIN))
    # then the subscription is back, once
    topics = [s.topic for s in store.webhook_subscriptions]
    assert topics.count("SHOP_UPDATE") == 1 and topics.count("ORDERS_CREATE") == 1
