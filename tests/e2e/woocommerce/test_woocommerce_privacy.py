"""Privacy over the wire for a WooCommerce store: WordPress's "Export / Erase Personal Data" tools
reach us through the plugin (``POST /woocommerce/privacy/export`` and ``/erase``, the query and the
body's SHA-256 signed with the shop's plugin secret), for a shopper who reached every part of the
pipe (history sync, customer and order webhooks, loyalty points)."""

import hashlib
import hmac
import json
import time
from urllib.parse import urlencode

import pytest
import requests

from commerce.models import Customer, Order
from integrations.models import WebhookDelivery
from loyalty.services.program import program_enable
from tests.e2e.conftest import wait_until
from tests.e2e.woocommerce.conftest import add_store, connect
from tests.privacy import where_stored

pytestmark = pytest.mark.django_db(transaction=True)

SHOPPER = {"first_name": "Zofia", "last_name": "Quennell", "email": "zofia.quennell@example.net"}
PHONE = "+15145550123"


def plugin_post(app, store, path: str, payload: dict, *, secret: str | None = None,
                tamper: bytes | None = None) -> requests.Response:
    """What the plugin's ``Comeback_Connection::post_signed`` sends."""
    raw = json.dumps(payload).encode()
    pairs = [("body_sha256", hashlib.sha256(raw).hexdigest()), ("shop", store.plugin["shop_domain"]),
             ("timestamp", str(int(time.time())))]
    message = "".join(f"{k}={v}" for k, v in sorted(pairs))
    key = (secret or store.plugin["secret"]).encode()
    pairs.append(("signature", hmac.new(key, message.encode(), hashlib.sha256).hexdigest()))
    return requests.post(f"{app.url}{path}?{urlencode(pairs)}", data=tamper or raw, timeout=30,
                         headers={"Content-Type": "application/json"})


def test_a_shopper_exported_and_erased_from_wordpress_is_in_no_table(app, woo_sandbox):
    # given a connected store with its loyalty program on, and a shopper who changed her details
    # and then ordered (webhooks over HTTP into the inbox, points in loyalty)
    store = add_store(woo_sandbox, "privacy", seed=5, customers=20, orders=30)
    shop = connect(app, store, woo_sandbox)
    program_enable(shop=shop)
    wp_user = next(iter(store.customers.values()))
    store.update_customer(wp_user.id, **SHOPPER, billing={**SHOPPER, "phone": PHONE})
    assert woo_sandbox.wait_idle(20)
    order = store.place_order(customer_id=wp_user.id)
    guest = store.place_order(customer_id=None, email=SHOPPER["email"], billing={**SHOPPER, "phone": PHONE})
    assert woo_sandbox.wait_idle(20)
    assert wait_until(lambda: Order.objects.filter(shop=shop, platform_id__in=[str(order.id), str(guest.id)])
                      .count() == 2)
    needles = [SHOPPER["email"], PHONE, SHOPPER["first_name"], SHOPPER["last_name"]]
    assert where_stored(needles)
    orders_before = Order.objects.filter(shop=shop).count()

    # a request the plugin did not sign, or whose body was changed on the way, is refused
    forged = plugin_post(app, store, "/woocommerce/privacy/export", {"email": SHOPPER["email"]},
                         secret="not-the-plugin-secret-at-all")
    assert forged.status_code == 401
    swapped = plugin_post(app, store, "/woocommerce/privacy/erase", {"email": SHOPPER["email"]},
                          tamper=json.dumps({"email": "someone.else@example.com"}).encode())
    assert swapped.status_code == 401
    assert where_stored(needles)

    # when the merchant exports her data from WordPress (Tools › Export Personal Data)
    exported = plugin_post(app, store, "/woocommerce/privacy/export", {"email": SHOPPER["email"].upper()})
    assert exported.status_code == 200, exported.text
    data = exported.json()
    [export] = [e for e in data["exports"] if e["customer"]]
    assert export["customer"]["email"] == SHOPPER["email"]
    exported_orders = {str(o.get("platform_id") or o.get("id")) for e in data["exports"] for o in e["orders"]}
    assert {str(order.id), str(guest.id)} <= exported_orders
    assert str(order.id) in {entry["source_id"] for entry in export["loyalty"]["points_history"]}

    # and erases it (Tools › Erase Personal Data)
    erased = plugin_post(app, store, "/woocommerce/privacy/erase", {"email": SHOPPER["email"]})
    assert erased.status_code == 200, erased.text
    assert erased.json()["erased"] is True
    # then no table holds her email, phone or name -- raw webhook payloads included -- and the orders stay
    assert where_stored(needles) == []
    assert Order.objects.filter(shop=shop).count() == orders_before
    assert Customer.objects.get(shop=shop, platform_id=str(wp_user.id)).email == ""
    assert not WebhookDelivery.objects.filter(shop=shop, status__in=["failed", "dead"]).exists()
