"""Shopify's leaky bucket: the client waits when throttled and still gets everything."""

import logging

import pytest
from django.conf import settings as django_settings

from commerce.models import Order, Shop
from integrations.models import SyncCursor
from integrations.shopify import sync
from sandbox.shopify import ShopifySandbox
from tests.e2e.conftest import install

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def tight_sandbox():
    box = ShopifySandbox(api_key=django_settings.SHOPIFY_API_KEY, api_secret=django_settings.SHOPIFY_API_SECRET,
                         webhook_backoff=0.05, bucket_size=1000, restore_rate=1000)
    box.start(host="127.0.0.1", port=0)
    try:
        yield box
    finally:
        box.stop()


def test_reconciliation_backs_off_when_throttled(live_server, tight_sandbox, settings, caplog):
    settings.APP_URL = live_server.url
    settings.SHOPIFY_SANDBOX_URL = tight_sandbox.base_url
    store = tight_sandbox.add_shop("tight.myshopify.com", seed=4, customers=20, orders=60)
    install(live_server, "tight.myshopify.com")
    shop = Shop.objects.get(domain="tight.myshopify.com")
    # given everything is read again page by page (as after a long outage)
    SyncCursor.objects.filter(shop=shop).delete()
    Order.objects.filter(shop=shop).delete()
    # when the reconciliation runs against a small bucket
    with caplog.at_level(logging.INFO, logger="integrations.shopify.client"):
        counts = sync.reconcile(shop=shop)
    # then it was throttled, waited, and still got every order
    assert any("throttled" in record.getMessage() for record in caplog.records)
    assert counts["orders"] == len(list(store.orders))
    assert Order.objects.filter(shop=shop).count() == len(list(store.orders))
