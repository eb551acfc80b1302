"""The merchant changes the store's settings in Shopify: the app hears ``shop/update`` and keeps up."""

import pytest

from commerce.models import Shop
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
