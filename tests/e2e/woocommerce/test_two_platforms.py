"""A Shopify shop and a WooCommerce shop on one Comeback: each syncs its own store, and neither its
merchant, its shoppers nor its webhooks ever reach the other's data."""

import hashlib
import hmac
import time
from urllib.parse import urlencode

import pytest
import requests
from django.conf import settings as django_settings

from commerce.models import Customer, Order, Shop
from integrations.models import WebhookDelivery
from integrations.woocommerce.models import WooConnection
from loyalty.services.ledger import account_for_customer, entry_write
from loyalty.services.program import program_enable
from tests.e2e.conftest import install, wait_until
from tests.e2e.test_shopify_pipe import db_totals as shopify_db_totals
from tests.e2e.test_shopify_pipe import truth_totals as shopify_truth_totals
from tests.e2e.woocommerce.conftest import add_store, connect, db_totals, shopper, truth_totals
from tests.integrations.test_oauth import session_token

pytestmark = pytest.mark.django_db(transaction=True)

SHOPIFY = "alpha.myshopify.com"


def signed(params: dict[str, str], secret: str) -> str:
    message = "".join(f"{k}={v}" for k, v in sorted(params.items()))
    return urlencode({**params, "signature": hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()})


def test_a_shopify_and_a_woocommerce_shop_never_see_each_other(app, woo_sandbox, sandbox, settings):
    settings.SHOPIFY_SANDBOX_URL = sandbox.base_url
    sandbox.app_config(privacy_webhook_uri=f"{app.url}/webhooks/shopify")
    alpha = sandbox.add_shop(SHOPIFY, seed=21, customers=40, orders=90)
    beta = add_store(woo_sandbox, "beta", seed=22, customers=25, orders=50, currency="ILS")
    install(app, SHOPIFY)
    merchant = requests.Session()
    shop_b = connect(app, beta, woo_sandbox, plugin=False, browser=merchant)
    woo_sandbox.set_plugin(beta.name, app_url=app.url, secret=WooConnection.objects.get(shop=shop_b).plugin_secret)
    shop_a = Shop.objects.get(domain=SHOPIFY)
    # each mirror holds exactly its own store, in its own currency
    assert (shop_a.platform, shop_b.platform) == ("shopify", "woocommerce")
    assert shopify_db_totals(shop_a) == shopify_truth_totals(alpha)
    assert db_totals(shop_b) == truth_totals(beta)
    assert set(Order.objects.filter(shop=shop_b).values_list("currency", flat=True)) == {"ILS"}
    assert set(Customer.objects.filter(shop=shop_b).values_list("platform_id", flat=True)) == {
        str(c) for c in beta.customers}

    # live orders on both land in their own shop only
    program_enable(shop=shop_a)
    program_enable(shop=shop_b)
    a_order = alpha.place_order()
    sandbox.webhooks.wait_idle(15)  # one after the other: SQLite's test database takes one writer
    b_buyer = next(iter(beta.customers.values()))
    b_order = beta.place_order(customer_id=b_buyer.id)
    assert woo_sandbox.wait_idle(20)
    assert wait_until(lambda: Order.objects.filter(shop=shop_b, platform_id=str(b_order.id)).exists())
    assert Order.objects.filter(shop=shop_a, platform_id=str(a_order.id)).exists()
    assert not Order.objects.filter(shop=shop_b, platform_id=str(a_order.id)).exists()
    assert not Order.objects.filter(shop=shop_a, platform_id=str(b_order.id)).exists()
    assert set(WebhookDelivery.objects.filter(shop=shop_b).values_list("platform", flat=True)) == {"woocommerce"}
    assert set(WebhookDelivery.objects.filter(shop=shop_a).values_list("platform", flat=True)) == {"shopify"}

    # the merchant API: each merchant sees their own shop, and cannot name the other
    for shop, headers in ((shop_a, {"Authorization": f"Bearer {session_token(shop_a.domain)}"}), (shop_b, {})):
        client = requests if headers else merchant
        status = client.get(f"{app.url}/api/shop", headers=headers, timeout=10).json()
        assert (status["domain"], status["orders"]) == (shop.domain, Order.objects.filter(shop=shop).count())
    crossed = merchant.get(f"{app.url}/api/shop", headers={"X-Comeback-Shop": SHOPIFY}, timeout=10)
    assert crossed.status_code in (401, 403)

    # the shoppers: WooCommerce's signed route names its own shop; pointed at the other it is refused
    account = account_for_customer(shop=shop_b, customer=Customer.objects.get(shop=shop_b,
                                                                              platform_id=str(b_buyer.id)))
    entry_write(account=account, kind="adjust", source="admin", key="gift", points=123, reason="gift")
    widget = shopper(beta, b_buyer.id).get(f"{beta.url}/wp-json/comeback/v1/loyalty", timeout=30).json()
    assert widget["balance"]["available"] >= 123 and widget["program"]["currency"] == "ILS"
    now = str(int(time.time()))
    secret = WooConnection.objects.get(shop=shop_b).plugin_secret
    a_customer = Customer.objects.filter(shop=shop_a).exclude(email="").first()
    aimed_at_shopify = signed({"platform": "woocommerce", "shop": SHOPIFY, "timestamp": now,
                               "logged_in_customer_id": a_customer.platform_id}, secret)
    assert requests.get(f"{app.url}/proxy/loyalty?{aimed_at_shopify}", timeout=10).status_code == 401
    # and Shopify's app proxy, signed with the app secret, cannot name the WooCommerce shop
    aimed_at_woo = signed({"shop": shop_b.domain, "logged_in_customer_id": str(b_buyer.id),
                           "path_prefix": "/apps/comeback", "timestamp": now}, django_settings.SHOPIFY_API_SECRET)
    assert requests.get(f"{app.url}/proxy/loyalty?{aimed_at_woo}", timeout=10).status_code == 401
