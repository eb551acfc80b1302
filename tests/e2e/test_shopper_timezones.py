"""Install -> history sync -> webhooks over HTTP: customers arrive with country and time zone, orders
with their shipping address fingerprint."""

import pytest

from commerce import geo
from commerce.models import Customer, Order, Shop
from integrations.shopify import sync
from tests.e2e.conftest import install

pytestmark = pytest.mark.django_db(transaction=True)

DOMAIN = "tz-store.myshopify.com"


def expected(customer) -> tuple[str, str, str]:
    address = customer.address
    if address is None:
        return "", "", ""
    return (address.country_code, address.province_code or "",
            geo.timezone_for(country_code=address.country_code, province_code=address.province_code or "",
                             latitude=address.latitude, longitude=address.longitude))


def test_sync_fills_country_and_time_zone_and_webhooks_keep_them_current(app, sandbox):
    # given a seeded store whose shoppers live from Honolulu to Tehran
    store = sandbox.add_shop(DOMAIN, seed=13, customers=120, orders=300)
    # when the merchant installs the app (history sync through bulk operations)
    install(app, DOMAIN)
    shop = Shop.objects.get(domain=DOMAIN)
    rows = {c.platform_id: c for c in Customer.objects.filter(shop=shop)}
    # then every customer has the country, province and zone of their default address
    assert len(rows) == len(store.customers)
    for customer in store.customers:
        row = rows[str(customer.id)]
        assert (row.country_code, row.province_code, row.timezone) == expected(customer), customer.id
    located = [r for r in rows.values() if r.country_code]
    assert located and all(r.timezone for r in located)
    assert {r.country_code for r in located} >= {"US", "IL", "IR"}
    assert len({r.timezone for r in located}) >= 6
    assert any(not r.country_code and not r.timezone for r in rows.values())  # no address: the shop's zone
    # and every order carries its shipping address fingerprint
    assert not Order.objects.filter(shop=shop, shipping_address_key="").exists()

    # when a shopper who ordered before orders again (webhook, REST shape)
    repeat = next(c for c in store.customers if c.address and any(o.customer_id == c.id for o in store.orders))
    earlier = Order.objects.filter(shop=shop, customer__platform_id=str(repeat.id)).first()
    assert earlier is not None
    order = store.place_order(repeat.id)
    sandbox.webhooks.wait_idle(15)
    # then the webhook's fingerprint matches the bulk one for the same address
    assert Order.objects.get(shop=shop, platform_id=str(order.id)).shipping_address_key == earlier.shipping_address_key

    # when a shopper moves to Tehran (customers/update: REST addresses carry no coordinates)
    mover = next(c for c in store.customers if c.address and c.address.country_code == "US")
    store.update_customer(mover.id, address={"address1": "No. 7, Enghelab St", "city": "Tehran",
                                             "country_code": "IR", "zip": "13145-11111"})
    sandbox.webhooks.wait_idle(15)
    # then their zone follows from the country
    row = Customer.objects.get(shop=shop, platform_id=str(mover.id))
    assert (row.country_code, row.province_code, row.timezone) == ("IR", "", "Asia/Tehran")

    # and a reconciliation (GraphQL pages) agrees with what is stored
    sync.reconcile(shop=shop)
    row.refresh_from_db()
    assert row.timezone == "Asia/Tehran"
