"""The whole connect, over real HTTP: our app on a live server, the WooCommerce sandbox's wc-auth
posting the keys back, the keys checked against the store, webhooks created in it."""

import hashlib
import json
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.contrib.auth import get_user_model
from django.db import connection as db

from commerce.models import Customer, Order, Shop
from dashboard.models import ShopMembership
from integrations.models import WebhookDelivery
from integrations.platforms import adapter_for
from integrations.woocommerce import webhooks
from integrations.woocommerce.connection import connect_start
from integrations.woocommerce.models import ConnectionStatus, WooConnection, WooWebhook
from sandbox.store import StoreSpec
from sandbox.woocommerce import WooCommerceSandbox
from tests.e2e.conftest import wait_until
from tests.factories import CustomerFactory, ShopFactory
from tests.integrations.woocommerce_connect.helpers import now, signed_query


@pytest.fixture
def sandbox():
    box = WooCommerceSandbox(webhook_mode="sync")
    box.start()
    yield box
    box.stop()


@pytest.fixture
def app(live_server, settings):
    settings.APP_URL = live_server.url
    return live_server


def small_store(sandbox: WooCommerceSandbox, name: str = "acme"):
    return sandbox.add_store(name, spec=StoreSpec(seed=3, customers=6, orders=12, products=4))


def shop_order_count(shop: Shop, order_id: int) -> int:
    return Order.objects.filter(shop=shop, platform_id=str(order_id)).count()


def connect(app, store_url: str, **params: str) -> tuple[requests.Session, requests.Response]:
    browser = requests.Session()
    response = browser.get(f"{app.url}/woocommerce/connect", params={"store_url": store_url, **params}, timeout=120)
    return browser, response


def test_a_merchant_connects_their_store_and_lands_in_the_dashboard(app, sandbox):
    # given a WooCommerce store with history
    store = small_store(sandbox)
    # when the merchant enters its address and WooCommerce approves
    browser, response = connect(app, store.url)
    # then they are logged into our dashboard
    assert response.status_code == 200, response.text[:500]
    assert urlsplit(response.url).path.startswith("/dashboard/"), response.url
    shop = Shop.objects.get(platform="woocommerce")
    assert shop.domain == store.url.split("://", 1)[1]
    assert shop.storefront_url == store.url
    assert shop.is_installed
    # the callback got exactly 200 and the store kept the key
    assert len(sandbox.wc_auth_callbacks) == 1
    posted = sandbox.wc_auth_callbacks[0]["body"]
    assert posted["key_id"] in store.api_keys
    connection = WooConnection.objects.get(shop=shop)
    assert connection.status == ConnectionStatus.CONNECTED
    assert connection.consumer_key == posted["consumer_key"] and connection.key_permissions == "read_write"
    # secrets are encrypted at rest
    with db.cursor() as cursor:
        cursor.execute("SELECT consumer_secret, plugin_secret FROM woocommerce_platform_wooconnection WHERE id = %s",
                       [connection.pk])
        raw_secret, raw_plugin_secret = cursor.fetchone()
    assert posted["consumer_secret"] not in raw_secret and connection.plugin_secret not in raw_plugin_secret
    # the owner is a member of the shop
    user = get_user_model().objects.get(pk=connection.owner_id)
    assert ShopMembership.objects.filter(user=user, shop=shop, role="owner").exists()
    assert browser.get(f"{app.url}/dashboard/", timeout=60).status_code == 200
    # one webhook per topic, each with its own secret, delivering to our inbox
    ours = list(WooWebhook.objects.filter(shop=shop))
    assert sorted(w.topic for w in ours) == sorted(webhooks.TOPICS)
    assert len({w.secret for w in ours}) == len(ours)
    in_store = {w.id: w for w in store.webhooks.values()}
    assert {int(w.platform_id) for w in ours} == set(in_store)
    assert all(w.status == "active" and w.delivery_url == f"{app.url}/webhooks/woocommerce" for w in in_store.values())
    # the pings were answered 200 and kept nothing
    pings = sandbox.deliveries(store.name, kind="ping")
    assert len(pings) == len(webhooks.TOPICS) and all(ping.status == 200 for ping in pings)
    # and the history came in
    assert wait_until(lambda: Customer.objects.filter(shop=shop).count() >= 1, timeout=60)


def test_a_live_order_reaches_the_inbox_signed_by_its_webhook(app, sandbox):
    store = small_store(sandbox)
    connect(app, store.url)
    shop = Shop.objects.get(platform="woocommerce")
    before, sent_before = WebhookDelivery.objects.filter(shop=shop).count(), len(sandbox.deliveries(store.name))
    order = store.place_order(customer_id=next(iter(store.customers)))
    delivered = sandbox.deliveries(store.name)[sent_before:]
    assert any(d.resource_id == order.id and d.topic == "order.created" for d in delivered)
    assert all(d.status == 200 for d in delivered)
    assert WebhookDelivery.objects.filter(shop=shop).count() == before + len(delivered)
    assert wait_until(lambda: shop_order_count(shop, order.id) == 1)


def test_the_plugin_connects_and_claims_its_secret_once(app, sandbox):
    store = small_store(sandbox)
    settings_page = f"{store.url}/wp-admin/admin.php?page=comeback-settings"
    browser = requests.Session()
    response = browser.get(f"{app.url}/woocommerce/connect",
                           params={"store_url": store.url, "return_url": settings_page}, timeout=120,
                           allow_redirects=True)
    back = [r.headers["Location"] for r in response.history if "comeback_code=" in r.headers.get("Location", "")]
    assert back, [r.headers.get("Location") for r in response.history]
    assert back[0].startswith(settings_page + "&comeback_code=")
    code = parse_qs(urlsplit(back[0]).query)["comeback_code"][0]
    claim = requests.post(f"{app.url}/woocommerce/plugin/claim", json={"code": code, "store_url": store.url + "/"},
                          timeout=30)
    assert claim.status_code == 200, claim.text
    body = claim.json()
    shop = Shop.objects.get(platform="woocommerce")
    assert body == {
        "shop": shop.domain, "secret": WooConnection.objects.get(shop=shop).plugin_secret, "app_url": app.url,
        "widget_script": f"{app.url}/storefront/comeback-widget.js",
        "widget_style": f"{app.url}/storefront/comeback-widget.css",
    }
    # single use
    again = requests.post(f"{app.url}/woocommerce/plugin/claim", json={"code": code, "store_url": store.url},
                          timeout=30)
    assert again.status_code == 400
    # and the plugin, set up with it, signs the widget's calls our app accepts
    sandbox.set_plugin(store.name, app_url=app.url, secret=body["secret"], shop_domain=body["shop"])
    widget = requests.get(f"{store.url}/wp-json/comeback/v1/loyalty", timeout=30)
    assert widget.status_code == 200, widget.text[:300]
    assert widget.json()["logged_in"] is False


def test_a_claim_for_another_store_or_a_wrong_code_is_refused(app, sandbox):
    store = small_store(sandbox)
    browser = requests.Session()
    response = browser.get(f"{app.url}/woocommerce/connect", timeout=120, params={
        "store_url": store.url, "return_url": f"{store.url}/wp-admin/admin.php?page=comeback-settings"})
    code = next(parse_qs(urlsplit(r.headers["Location"]).query)["comeback_code"][0] for r in response.history
                if "comeback_code=" in r.headers.get("Location", ""))
    for payload in ({"code": code, "store_url": "https://other.example"}, {"code": "nope", "store_url": store.url},
                    {"code": code}, {"code": ["x"], "store_url": store.url}):
        assert requests.post(f"{app.url}/woocommerce/plugin/claim", json=payload, timeout=30).status_code == 400
    # the right one still works (the refusals did not use it up)
    assert requests.post(f"{app.url}/woocommerce/plugin/claim", json={"code": code, "store_url": store.url},
                         timeout=30).status_code == 200


def test_the_return_in_another_browser_logs_nobody_in(app, sandbox):
    store = small_store(sandbox)
    sandbox.set_wc_auth(store.name, "manual")  # stop on the approve page
    browser = requests.Session()
    page = browser.get(f"{app.url}/woocommerce/connect", params={"store_url": store.url}, timeout=60)
    state = parse_qs(urlsplit(page.url).query)["user_id"][0]
    approve = browser.get(f"{store.url}/wc-auth/v1/access_granted", params={
        **{k: v[0] for k, v in parse_qs(urlsplit(page.url).query).items()}, "wc_auth_nonce": "sandbox"},
        allow_redirects=False, timeout=120)
    assert approve.status_code in (301, 302), approve.text[:300]
    # an attacker who learnt the return link opens it first
    stranger = requests.get(approve.headers["Location"], timeout=60, allow_redirects=False)
    assert stranger.status_code == 403
    assert "sessionid" not in stranger.cookies or "_auth_user_id" not in stranger.text
    # the merchant's own browser gets in
    mine = browser.get(approve.headers["Location"], timeout=60, allow_redirects=False)
    assert mine.status_code == 302 and mine.headers["Location"] == "/dashboard/"
    assert WooConnection.objects.get(state=state).returned_at is not None
    # a reload lands in the dashboard again; the stranger still gets nothing
    reload = browser.get(approve.headers["Location"], timeout=60, allow_redirects=False)
    assert reload.headers["Location"] == "/dashboard/"
    assert requests.get(approve.headers["Location"], timeout=60, allow_redirects=False).status_code == 409


def test_a_store_that_refuses_access_connects_nothing(app, sandbox):
    store = small_store(sandbox)
    sandbox.set_wc_auth(store.name, "deny")
    _browser, response = connect(app, store.url)
    assert response.status_code == 403
    assert not Shop.objects.filter(platform="woocommerce").exists()
    assert WooConnection.objects.get().status == ConnectionStatus.REFUSED


def test_webhooks_register_is_idempotent_and_puts_the_store_right(app, sandbox):
    store = small_store(sandbox)
    connect(app, store.url)
    shop = Shop.objects.get(platform="woocommerce")
    first = dict(WooWebhook.objects.filter(shop=shop).values_list("topic", "platform_id"))
    # when registered again: nothing changes
    webhooks.webhooks_register(shop=shop)
    assert dict(WooWebhook.objects.filter(shop=shop).values_list("topic", "platform_id")) == first
    assert len(store.webhooks) == len(webhooks.TOPICS)
    # WooCommerce disabled one after failures, and the merchant deleted another
    disabled, deleted = int(first["order.updated"]), int(first["customer.created"])
    sandbox.update_webhook(store, disabled, status="disabled")
    with store.lock:
        store.webhooks.pop(deleted)
    webhooks.webhooks_register(shop=shop)
    assert store.webhooks[disabled].status == "active"
    recreated = WooWebhook.objects.get(shop=shop, topic="customer.created")
    assert int(recreated.platform_id) != deleted and store.webhooks[int(recreated.platform_id)].status == "active"
    assert len(store.webhooks) == len(webhooks.TOPICS)
    # and the re-enabled webhook's deliveries are accepted again
    order = store.place_order(customer_id=next(iter(store.customers)))
    store.update_order(order.id, customer_note="leave at the door")
    updates = [d for d in sandbox.deliveries(store.name) if d.topic == "order.updated" and d.resource_id == order.id]
    assert updates and all(d.status == 200 for d in updates)


def test_reconnecting_keeps_one_shop_and_the_plugin_secret(app, sandbox):
    store = small_store(sandbox)
    connect(app, store.url)
    shop = Shop.objects.get(platform="woocommerce")
    secret = WooConnection.objects.get(shop=shop).plugin_secret
    connect(app, store.url)
    assert Shop.objects.filter(platform="woocommerce").count() == 1
    current = WooConnection.objects.get(shop=shop)
    assert current.plugin_secret == secret
    assert current.consumer_key == sandbox.wc_auth_callbacks[-1]["body"]["consumer_key"]
    assert WooConnection.objects.filter(status=ConnectionStatus.REPLACED, consumer_key="").count() == 1


# --- the callback's refusals (the view calls the sandbox; no live server needed) -----------------

@pytest.fixture
def pending(sandbox, db):
    store = small_store(sandbox)
    return store, connect_start(store_url=store.url, session_key="browser").connection


def key_post(client, state: str, key=None, **overrides):
    body = {"key_id": key.key_id if key else 1, "user_id": state,
            "consumer_key": key.consumer_key if key else "ck_" + "a" * 40,
            "consumer_secret": key.consumer_secret if key else "cs_" + "b" * 40,
            "key_permissions": "read_write", **overrides}
    return client.post("/woocommerce/callback", json.dumps(body), content_type="application/json;charset=UTF-8")


def test_working_keys_for_a_pending_connection_get_exactly_200(client, sandbox, pending):
    store, connection = pending
    key = sandbox.create_api_key(store.name)
    response = key_post(client, connection.state, key)
    assert response.status_code == 200
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.CONNECTED and connection.shop is not None
    # a second POST for the same state changes nothing
    other = sandbox.create_api_key(store.name)
    assert key_post(client, connection.state, other).status_code == 409
    connection.refresh_from_db()
    assert connection.consumer_key == key.consumer_key


@pytest.mark.parametrize("case, status", [
    ("unknown_state", 404), ("expired", 410), ("bad_key_shape", 400), ("bad_secret_shape", 400),
    ("read_only", 400), ("keys_not_in_store", 400), ("revoked_key", 400), ("not_json", 400),
    ("user_id_missing", 400),
])
def test_refused_callbacks_store_nothing(client, sandbox, pending, case, status):
    store, connection = pending
    key = sandbox.create_api_key(store.name)
    if case == "unknown_state":
        response = key_post(client, "someone-elses-state", key)
    elif case == "expired":
        WooConnection.objects.filter(pk=connection.pk).update(expires_at="2020-01-01T00:00:00Z")
        response = key_post(client, connection.state, key)
    elif case == "bad_key_shape":
        response = key_post(client, connection.state, key, consumer_key="ck_short")
    elif case == "bad_secret_shape":
        response = key_post(client, connection.state, key, consumer_secret="cs_" + "Z" * 40)
    elif case == "read_only":
        response = key_post(client, connection.state, sandbox.create_api_key(store.name, permissions="read"),
                            key_permissions="read")
    elif case == "keys_not_in_store":
        response = key_post(client, connection.state)
    elif case == "revoked_key":
        sandbox.revoke_api_key(store.name, key.key_id)
        response = key_post(client, connection.state, key)
    elif case == "not_json":
        response = client.post("/woocommerce/callback", "key_id=1", content_type="application/x-www-form-urlencoded")
    else:
        response = key_post(client, "", key)
    assert response.status_code == status, (case, response.content)
    assert not Shop.objects.filter(platform="woocommerce").exists()
    assert WooConnection.objects.filter(consumer_key__isnull=False).exclude(consumer_key="").count() == 0


def test_two_shops_on_different_platforms_never_see_each_others_data(client, sandbox, pending):
    store, connection = pending
    assert key_post(client, connection.state, sandbox.create_api_key(store.name)).status_code == 200
    woo = Shop.objects.get(platform="woocommerce")
    shopify = ShopFactory(platform="shopify", domain="twin.myshopify.com")
    CustomerFactory(shop=shopify, platform_id="7", email="dana@example.com")
    plugin_secret = WooConnection.objects.get(shop=woo).plugin_secret
    # the WooCommerce shopper with the same id as a Shopify customer is not that customer
    query = signed_query([("platform", "woocommerce"), ("shop", woo.domain), ("logged_in_customer_id", "7"),
                          ("timestamp", now())], plugin_secret)
    state = client.get(f"/proxy/loyalty?{query}").json()
    assert state["logged_in"] is True and state.get("balance", 0) == 0
    # a signed request naming the Shopify shop under the WooCommerce scheme opens nothing
    query = signed_query([("platform", "woocommerce"), ("shop", str(shopify.domain)), ("logged_in_customer_id", "7"),
                          ("timestamp", now())], plugin_secret)
    assert client.get(f"/proxy/loyalty?{query}").status_code == 401
    # privacy by email in the WooCommerce shop leaves the Shopify customer alone
    body = json.dumps({"email": "dana@example.com"}).encode()
    query = signed_query([("shop", woo.domain), ("timestamp", now()),
                          ("body_sha256", hashlib.sha256(body).hexdigest())], plugin_secret)
    assert client.post(f"/woocommerce/privacy/erase?{query}", body, content_type="application/json").status_code == 200
    assert Customer.objects.get(shop=shopify).email == "dana@example.com"


def test_the_reconciliation_switches_a_disabled_webhook_back_on(app, sandbox):
    store = small_store(sandbox)
    connect(app, store.url)
    shop = Shop.objects.get(platform="woocommerce")
    webhook_id = int(WooWebhook.objects.get(shop=shop, topic="order.created").platform_id)
    sandbox.update_webhook(store, webhook_id, status="disabled")  # WooCommerce gave up after failures
    order = store.place_order(customer_id=next(iter(store.customers)))  # ...and this one was lost
    result = adapter_for("woocommerce").reconcile(shop=shop)
    assert store.webhooks[webhook_id].status == "active"
    assert isinstance(result, dict)
    assert shop_order_count(shop, order.id) == 1


def disconnect_post(app, shop: Shop, secret: str, payload: dict) -> requests.Response:
    body = json.dumps(payload).encode()
    query = signed_query([("shop", shop.domain), ("timestamp", now()),
                          ("body_sha256", hashlib.sha256(body).hexdigest())], secret)
    return requests.post(f"{app.url}/woocommerce/plugin/disconnect?{query}", data=body,
                         headers={"Content-Type": "application/json"}, timeout=60)


def test_disconnecting_removes_our_webhooks_and_forgets_the_keys(app, sandbox):
    store = small_store(sandbox)
    connect(app, store.url)
    shop = Shop.objects.get(platform="woocommerce")
    secret = WooConnection.objects.get(shop=shop).plugin_secret
    assert wait_until(lambda: Customer.objects.filter(shop=shop).exists(), timeout=60)
    # a forged disconnect changes nothing
    assert disconnect_post(app, shop, "0" * 64, {"erase": True}).status_code == 401
    assert len(store.webhooks) == len(webhooks.TOPICS)
    # the plugin's Disconnect
    response = disconnect_post(app, shop, secret, {})
    assert response.status_code == 200 and response.json() == {"disconnected": True, "erased": False}
    assert store.webhooks == {}
    shop.refresh_from_db()
    assert not shop.is_installed
    assert not WooConnection.objects.filter(shop=shop).exists()
    assert WooConnection.objects.get().consumer_secret == ""
    assert Customer.objects.filter(shop=shop).exists()  # kept for a reconnect
    # the widget's signed calls stop working
    query = signed_query([("platform", "woocommerce"), ("shop", shop.domain), ("logged_in_customer_id", ""),
                          ("timestamp", now())], secret)
    assert requests.get(f"{app.url}/proxy/loyalty?{query}", timeout=30).status_code == 401


def test_disconnecting_with_erase_deletes_the_stores_data(app, sandbox):
    store = small_store(sandbox)
    connect(app, store.url)
    shop = Shop.objects.get(platform="woocommerce")
    secret = WooConnection.objects.get(shop=shop).plugin_secret
    assert wait_until(lambda: Customer.objects.filter(shop=shop).exists(), timeout=60)
    response = disconnect_post(app, shop, secret, {"erase": True})
    assert response.status_code == 200 and response.json()["erased"] is True
    shop.refresh_from_db()
    assert shop.status == "redacted"
    assert not Customer.objects.filter(shop=shop).exists()
    assert not WooWebhook.objects.filter(shop=shop).exists()


def test_the_store_is_connected_under_the_address_wordpress_gives_itself(sandbox, db):
    # given the merchant types another name of the same WordPress (localhost for 127.0.0.1,
    # as shop.example for www.shop.example)
    store = small_store(sandbox)
    typed = store.url.replace("127.0.0.1", "localhost")
    # when the connect starts
    started = connect_start(store_url=typed, session_key="b",
                            return_url=f"{typed}/wp-admin/admin.php?page=comeback")
    # then the store's own home address is the one used (the REST index's "home")
    assert started.connection.store_url == store.url
    assert started.authorize_url.startswith(f"{store.url}/wc-auth/v1/authorize?")
    assert started.connection.domain == store.url.split("://", 1)[1]
