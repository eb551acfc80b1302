"""Connecting a WooCommerce store over the wire, and what must not connect one: the store's admin
denying access, a forged or replayed key POST, keys that do not work, an address we must not call;
reconnecting keeps one shop (and heals a revoked key); the plugin's "Comeback" menu opens the
dashboard without a password; the keys write a shopper's marketing consent back to the store."""

import hashlib
import hmac
import json
import time
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests

from commerce.models import Customer, Order, Shop
from integrations.platforms import ConsentUpdate, adapter_for
from integrations.woocommerce.client import WooAuthError
from integrations.woocommerce.models import WooConnection
from tests.e2e.woocommerce.conftest import add_store, connect, truth_orders

pytestmark = pytest.mark.django_db(transaction=True)


def authorize_url(app, store, **extra: str) -> tuple[requests.Session, str]:
    browser = requests.Session()
    start = browser.get(f"{app.url}/woocommerce/connect", params={"store_url": store.url, **extra},
                        allow_redirects=False, timeout=30)
    assert start.status_code == 302, start.text[:300]
    location = start.headers["Location"]
    assert location.startswith(f"{store.url}/wc-auth/v1/authorize?")
    return browser, location


def test_the_authorize_request_is_what_woocommerce_expects(app, woo_sandbox):
    store = add_store(woo_sandbox, "asks", seed=1, customers=3, orders=3)
    _, location = authorize_url(app, store)
    query = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
    assert query["scope"] == "read_write" and query["app_name"]
    assert query["callback_url"] == f"{app.url}/woocommerce/callback"
    assert query["return_url"].startswith(f"{app.url}/woocommerce/connected")
    assert len(query["user_id"]) >= 32  # a single-use, unguessable state


def test_a_store_admin_who_denies_access_connects_nothing(app, woo_sandbox):
    store = add_store(woo_sandbox, "denies", seed=1, customers=3, orders=3)
    woo_sandbox.set_wc_auth(store.name, "deny")
    browser, location = authorize_url(app, store)
    page = browser.get(location, timeout=30)
    assert page.status_code == 403
    assert not Shop.objects.filter(domain=store.domain).exists()
    assert not store.api_keys and not woo_sandbox.wc_auth_callbacks


def test_forged_and_replayed_key_posts_are_refused(app, woo_sandbox):
    store = add_store(woo_sandbox, "forged-keys", seed=2, customers=8, orders=12)
    browser, location = authorize_url(app, store)
    state = parse_qs(urlsplit(location).query)["user_id"][0]
    # someone who saw the state POSTs keys of their own: they do not work against the store
    forged = {"key_id": 7, "user_id": state, "consumer_key": "ck_" + "a" * 40, "consumer_secret": "cs_" + "b" * 40,
              "key_permissions": "read_write"}
    answer = requests.post(f"{app.url}/woocommerce/callback", data=json.dumps(forged), timeout=30,
                           headers={"Content-Type": "application/json"})
    assert answer.status_code == 400
    # an unknown state, and read-only keys, are refused too
    assert requests.post(f"{app.url}/woocommerce/callback", json={**forged, "user_id": "nope"},
                         timeout=30).status_code == 404
    real = woo_sandbox.create_api_key(store.name, permissions="read")
    read_only = {"key_id": real.key_id, "user_id": state, "consumer_key": real.consumer_key,
                 "consumer_secret": real.consumer_secret, "key_permissions": "read"}
    assert requests.post(f"{app.url}/woocommerce/callback", json=read_only, timeout=30).status_code == 400
    assert not Shop.objects.filter(domain=store.domain).exists()
    # the store's own approval still works, once
    landed = browser.get(location, timeout=300)
    assert landed.status_code == 200 and urlsplit(landed.url).path.startswith("/dashboard/")
    shop = Shop.objects.get(domain=store.domain)
    assert shop.is_installed
    posted = woo_sandbox.wc_auth_callbacks[-1]["body"]
    replay = requests.post(f"{app.url}/woocommerce/callback", data=json.dumps(posted), timeout=30,
                           headers={"Content-Type": "application/json"})
    assert replay.status_code == 409
    assert WooConnection.objects.get(shop=shop).consumer_key == posted["consumer_key"]
    # and the return page logs in once: another browser holding the link gets nothing (a reload in
    # the merchant's own, already logged-in browser just goes back to the dashboard)
    returned = next(r.url for r in landed.history if "/woocommerce/connected" in r.url)
    stranger = requests.Session()
    assert stranger.get(returned, allow_redirects=False, timeout=30).status_code in (403, 409)
    assert stranger.get(f"{app.url}/api/shop", timeout=30).status_code in (401, 403)
    reload = browser.get(returned, allow_redirects=False, timeout=30)
    assert reload.status_code == 302 and reload.headers["Location"] == "/dashboard/"


@pytest.mark.parametrize("address", [
    "http://10.1.2.3/shop", "http://169.254.169.254/latest", "ftp://example.com", "javascript:alert(1)", "not a url",
])
def test_an_address_we_must_not_call_is_refused_before_any_request(app, settings, address):
    settings.WOOCOMMERCE_ALLOW_LOCAL_STORES = False
    answer = requests.get(f"{app.url}/woocommerce/connect", params={"store_url": address}, allow_redirects=False,
                          timeout=30)
    assert answer.status_code == 400
    assert not WooConnection.objects.exists()


def test_reconnecting_keeps_one_shop_and_its_plugin_secret(app, woo_sandbox):
    store = add_store(woo_sandbox, "again", seed=4, customers=10, orders=20)
    shop = connect(app, store, woo_sandbox)
    secret = WooConnection.objects.get(shop=shop).plugin_secret
    first_key = WooConnection.objects.get(shop=shop).consumer_key
    again = connect(app, store, woo_sandbox)
    assert again.pk == shop.pk and Shop.objects.filter(domain=store.domain).count() == 1
    current = WooConnection.objects.get(shop=shop)
    assert current.consumer_key != first_key and current.plugin_secret == secret
    assert Order.objects.filter(shop=shop).count() == len(truth_orders(store))
    # one webhook per topic in the store, not two
    topics = [w.topic for w in store.webhooks.values() if w.status == "active"]
    assert len(topics) == len(set(topics))


def admin_link(app, shop: Shop, secret: str, *, user: str = "1", at: int | None = None) -> str:
    params = {"shop": shop.domain, "user": user, "email": "admin@again.example",
              "timestamp": str(int(time.time()) if at is None else at)}
    message = "".join(f"{k}={v}" for k, v in sorted(params.items()))
    params["signature"] = hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()
    return f"{app.url}/woocommerce/admin?{urlencode(params)}"


def test_the_plugins_comeback_menu_opens_the_dashboard_once(app, woo_sandbox):
    store = add_store(woo_sandbox, "menu", seed=5, customers=5, orders=5)
    shop = connect(app, store, woo_sandbox)
    secret = WooConnection.objects.get(shop=shop).plugin_secret
    link = admin_link(app, shop, secret)
    browser = requests.Session()
    opened = browser.get(link, timeout=30)
    assert opened.status_code == 200 and urlsplit(opened.url).path.startswith("/dashboard/"), opened.url
    status = browser.get(f"{app.url}/api/shop", timeout=30)
    assert status.status_code == 200 and status.json()["domain"] == shop.domain
    # the same link again, an old one, or one signed with another secret: no way in
    assert requests.get(link, timeout=30, allow_redirects=False).status_code == 401
    old = admin_link(app, shop, secret, at=int(time.time()) - 600)
    assert requests.get(old, timeout=30, allow_redirects=False).status_code == 401
    forged = admin_link(app, shop, "another-secret-of-the-same-length-" + "x" * 30)
    assert requests.get(forged, timeout=30, allow_redirects=False).status_code == 401


def test_a_revoked_key_asks_the_merchant_to_reconnect_and_reconnecting_heals(app, woo_sandbox):
    store = add_store(woo_sandbox, "revoked", seed=6, customers=8, orders=12)
    shop = connect(app, store, woo_sandbox)
    merchant = requests.Session()
    # the merchant revokes our key in WooCommerce › Settings › Advanced › REST API
    for key in list(store.api_keys.values()):
        woo_sandbox.revoke_api_key(store.name, key.key_id)
    woo_sandbox.drop_next_delivery(store.name, 5)  # (and the order's webhooks are lost meanwhile)
    missed = store.place_order(customer_id=None, email="while.revoked@example.com")
    assert woo_sandbox.wait_idle(20)
    with pytest.raises(WooAuthError):
        adapter_for("woocommerce").reconcile(shop=shop)
    assert not Order.objects.filter(shop=shop, platform_id=str(missed.id)).exists()
    shop.refresh_from_db()
    assert shop.reauthorization_required
    # connecting again from the dashboard heals it, and the reconciliation catches up
    connect(app, store, woo_sandbox, plugin=False, browser=merchant)
    shop.refresh_from_db()
    assert not shop.reauthorization_required and shop.is_installed
    status = merchant.get(f"{app.url}/api/shop", timeout=30).json()
    assert status["reauthorization_required"] is False
    adapter_for("woocommerce").reconcile(shop=shop)
    assert Order.objects.filter(shop=shop, platform_id=str(missed.id)).exists()


def test_marketing_consent_is_written_back_to_the_store(app, woo_sandbox):
    store = add_store(woo_sandbox, "consent", seed=7, customers=6, orders=6)
    shop = connect(app, store, woo_sandbox)
    wp_user = next(iter(store.customers.values()))
    at = datetime(2026, 11, 30, 9, 15, tzinfo=UTC)
    adapter_for("woocommerce").customer_consent_update(shop=shop, update=ConsentUpdate(
        customer_platform_id=str(wp_user.id), channel="email", subscribed=True, at=at))
    meta = {m["key"]: m["value"] for m in store.customers[wp_user.id].meta_data}
    assert meta["_comeback_email_consent"] == {"state": "subscribed", "updated_at": "2026-11-30T09:15:00Z"}
    # the store's customer.updated echo leaves our record as it was
    assert woo_sandbox.wait_idle(20)
    customer = Customer.objects.get(shop=shop, platform_id=str(wp_user.id))
    assert customer.email_consent == "subscribed"
