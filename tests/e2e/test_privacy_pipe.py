"""Privacy over the wire: the Shopify sandbox sends customers/data_request and customers/redact
to the app on a live server, as Shopify does, for a shopper who reached every part of the pipe
(sync, customers/update and order webhooks, loyalty points)."""

import pytest

from commerce.models import Order, Shop
from integrations.models import DataRequestExport, WebhookDelivery
from loyalty.services.program import program_enable
from tests.e2e.conftest import install
from tests.privacy import where_stored

pytestmark = pytest.mark.django_db(transaction=True)

DOMAIN = "privacy-e2e.myshopify.com"
SHOPPER = {"first_name": "Zofia", "last_name": "Quennell", "email": "zofia.quennell@example.net",
           "phone": "+15145550123", "note": "Zofia wants gift wrap"}


def test_a_shopper_redacted_over_the_wire_is_in_no_table(app, sandbox):
    # given an installed store with its loyalty program on, and a shopper who changed her details
    # and then ordered (webhooks over HTTP into the inbox, points in loyalty)
    store = sandbox.add_shop(DOMAIN, seed=5, customers=20, orders=30)
    install(app, DOMAIN)
    shop = Shop.objects.get(domain=DOMAIN)
    program_enable(shop=shop)
    shopper = store.customers[0]
    store.update_customer(shopper.id, **SHOPPER)
    sandbox.webhooks.wait_idle(15)
    order = store.place_order(shopper.id)
    sandbox.webhooks.wait_idle(15)
    needles = [SHOPPER["email"], SHOPPER["phone"], SHOPPER["first_name"], SHOPPER["last_name"]]
    assert where_stored(needles)
    orders_before = Order.objects.filter(shop=shop).count()
    # when the merchant's data request arrives, the export has her points
    store.request_customer_data(shopper.id)
    sandbox.webhooks.wait_idle(15)
    export = DataRequestExport.objects.get(shop=shop, customer_platform_id=str(shopper.id)).data
    assert export["customer"]["email"] == SHOPPER["email"]
    assert str(order.id) in {entry["source_id"] for entry in export["loyalty"]["points_history"]}
    # and when Shopify asks to redact her
    store.redact_customer(shopper.id)
    sandbox.webhooks.wait_idle(15)
    # then no table holds her email, phone or name -- raw payloads included -- and the orders stay
    assert where_stored(needles) == []
    assert Order.objects.filter(shop=shop).count() == orders_before
    assert not WebhookDelivery.objects.filter(shop=shop, status__in=["failed", "dead"]).exists()
