"""The shopper side: the plugin's widget markup, its signed forward to the app, the links the app
hands out (coupon, add-to-cart), checkout, and wp-admin's Comeback pages."""

from __future__ import annotations

import hashlib
import json
import re
import time
from urllib.parse import parse_qsl, urlsplit

import requests

from integrations.shopify.app_proxy import proxy_signature
from sandbox.woocommerce import WooCommerceSandbox, WooStore
from tests.sandbox_woocommerce.conftest import Receiver

SECRET = "plugin-secret"


def _connect(sandbox: WooCommerceSandbox, store: WooStore, receiver: Receiver) -> None:
    sandbox.set_plugin(store.name, app_url=receiver.url, shop_domain=store.domain, secret=SECRET)


def _params(url: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for key, value in parse_qsl(urlsplit(url).query, keep_blank_values=True):
        out.setdefault(key, []).append(value)
    return out


def test_the_page_mounts_the_widget_as_the_plugin_prints_it(sandbox: WooCommerceSandbox, store: WooStore,
                                                            receiver: Receiver) -> None:
    assert "data-comeback-widget" not in requests.get(f"{store.url}/", timeout=5).text
    _connect(sandbox, store, receiver)
    page = requests.get(f"{store.url}/?lang=he", timeout=5).text
    mount = re.search(r"<div data-comeback-widget[^>]*>", page)
    assert mount is not None
    attrs = dict(re.findall(r'(data-[a-z-]+)="([^"]*)"', mount.group(0)))
    assert attrs["data-endpoint"] == f"{store.url}/wp-json/comeback/v1"
    assert attrs["data-shop"] == store.domain and attrs["data-locale"] == "he-IL"
    assert attrs["data-customer-id"] == "" and attrs["data-nonce"]
    assert attrs["data-css"] == f"{receiver.url}/storefront/comeback-widget.css"
    assert f'src="{receiver.url}/storefront/comeback-widget.js"' in page and "defer" in page


def test_the_plugin_route_forwards_signed_and_knows_the_shopper_only_with_the_nonce(
        sandbox: WooCommerceSandbox, store: WooStore, receiver: Receiver) -> None:
    _connect(sandbox, store, receiver)
    receiver.reply = b'{"points": 120}'
    shopper = requests.Session()
    customer_id = next(iter(store.customers))
    shopper.get(f"{store.url}/my-account?sandbox_login={customer_id}", timeout=5)
    page = shopper.get(f"{store.url}/", timeout=5).text
    nonce = re.search(r'data-nonce="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    assert f'data-customer-id="{customer_id}"' in page

    answer = shopper.post(f"{store.url}/wp-json/comeback/v1/rewards/redeem?tier=gold&x=1&x=2&shop=evil",
                          json={"reward": 7}, headers={"X-WP-Nonce": nonce, "Accept-Language": "he"}, timeout=5)
    assert answer.status_code == 200 and answer.json() == {"points": 120}
    forwarded = receiver.requests[-1]
    assert forwarded.path.startswith("/proxy/rewards/redeem?")
    params = _params(forwarded.path)
    assert params["shop"] == [store.domain] and params["platform"] == ["woocommerce"]
    assert params["logged_in_customer_id"] == [str(customer_id)] and params["x"] == ["1", "2"]
    assert abs(int(params["timestamp"][0]) - time.time()) < 5
    assert params["signature"] == [proxy_signature(params, SECRET)]
    assert forwarded.json == {"reward": 7} and forwarded.headers["Content-Type"] == "application/json"
    assert forwarded.headers["Accept-Language"] == "he"
    assert forwarded.headers["User-Agent"].startswith("Comeback-WordPress/")

    shopper.get(f"{store.url}/wp-json/comeback/v1/summary", timeout=5)  # the cookie without the nonce
    assert _params(receiver.requests[-1].path)["logged_in_customer_id"] == [""]


def test_the_plugin_answers_for_an_unreachable_or_unconnected_app(sandbox: WooCommerceSandbox,
                                                                  store: WooStore) -> None:
    assert requests.get(f"{store.url}/wp-json/comeback/v1/summary", timeout=5).status_code == 404
    sandbox.set_plugin(store.name, app_url="http://127.0.0.1:9")
    not_yet = requests.get(f"{store.url}/wp-json/comeback/v1/summary", timeout=5)
    assert not_yet.status_code == 503 and not_yet.json()["code"] == "not_connected"
    sandbox.set_plugin(store.name, app_url="http://127.0.0.1:9", secret=SECRET)
    down = requests.get(f"{store.url}/wp-json/comeback/v1/summary", timeout=10)
    assert down.status_code == 502 and down.json()["code"] == "unreachable"


def test_a_coupon_link_fills_the_cart_and_checkout_uses_it(sandbox: WooCommerceSandbox, store: WooStore) -> None:
    store.create_coupon(code="CB-THANKS", amount="10", discount_type="percent")
    product = next(p for p in store.products.values() if p.type == "simple" and p.status == "publish")
    shopper = requests.Session()
    early = shopper.get(f"{store.url}/?comeback_coupon=CB-THANKS", allow_redirects=False, timeout=5)
    assert early.headers["Location"] == f"{store.url}/shop/"  # an empty cart keeps the code for later
    shopper.get(f"{store.url}/?add-to-cart={product.id}", timeout=5)
    cart = shopper.get(f"{store.url}/cart", timeout=5).text
    assert "coupon-cb-thanks" in cart
    again = shopper.get(f"{store.url}/?comeback_coupon=cb-thanks", allow_redirects=False, timeout=5)
    assert again.headers["Location"] == f"{store.url}/cart/"
    done = shopper.post(f"{store.url}/checkout", data={"billing_email": "walkin@example.com"}, timeout=5)
    assert "Order received" in done.text
    order = max(store.orders.values(), key=lambda o: o.id)
    assert [c.code for c in order.coupons] == ["cb-thanks"] and order.customer_id == 0
    assert order.status == "processing" and order.billing["email"] == "walkin@example.com"
    coupon = store.find_coupon("cb-thanks")
    assert coupon is not None and coupon.usage_count == 1 and coupon.used_by == ["walkin@example.com"]


def test_the_settings_page_claims_the_code_and_the_menu_links_signed(sandbox: WooCommerceSandbox, store: WooStore,
                                                                     receiver: Receiver) -> None:
    sandbox.set_plugin(store.name, app_url=receiver.url)
    settings_url = f"{store.url}/wp-admin/admin.php?page=comeback-settings"
    admin = requests.Session()
    connect = admin.post(f"{store.url}/wp-admin/admin-post.php", data={"action": "comeback_connect"},
                         allow_redirects=False, timeout=5)
    target = urlsplit(connect.headers["Location"])
    assert target.path == "/woocommerce/connect"
    back = dict(parse_qsl(target.query))["return_url"]
    assert back.startswith(f"{store.url}/wp-admin/admin.php?page=comeback-settings&comeback_state=")

    # an answer without the shop and its secret is a refusal
    failed = admin.get(f"{back}&comeback_code=abc", allow_redirects=False, timeout=5)
    assert failed.headers["Location"].endswith("comeback_notice=failed")
    claim = receiver.requests[-1]
    assert claim.path == "/woocommerce/plugin/claim"
    assert json.loads(claim.body) == {"code": "abc", "store_url": store.url}
    assert "secret" not in (store.plugin or {})
    assert "Connecting failed" in admin.get(failed.headers["Location"], timeout=5).text

    receiver.reply = json.dumps({"shop": store.domain, "secret": SECRET, "app_url": receiver.url,
                                 "widget_script": f"{receiver.url}/storefront/comeback-widget.js",
                                 "widget_style": f"{receiver.url}/storefront/comeback-widget.css"}).encode()
    connect = admin.post(f"{store.url}/wp-admin/admin-post.php", data={"action": "comeback_connect"},
                         allow_redirects=False, timeout=5)
    back = dict(parse_qsl(urlsplit(connect.headers["Location"]).query))["return_url"]
    stale = admin.get(f"{back}x&comeback_code=abc", allow_redirects=False, timeout=5)
    assert stale.headers["Location"].endswith("comeback_notice=stale")
    unasked = admin.get(f"{settings_url}&comeback_code=abc", allow_redirects=False, timeout=5)
    assert unasked.headers["Location"].endswith("comeback_notice=stale")  # a code the plugin did not ask for
    connect = admin.post(f"{store.url}/wp-admin/admin-post.php", data={"action": "comeback_connect"},
                         allow_redirects=False, timeout=5)
    back = dict(parse_qsl(urlsplit(connect.headers["Location"]).query))["return_url"]
    done = admin.get(f"{back}&comeback_code=abc", allow_redirects=False, timeout=5)
    assert done.headers["Location"].endswith("comeback_notice=connected")
    assert (store.plugin or {})["secret"] == SECRET
    assert "data-comeback-widget" in requests.get(f"{store.url}/", timeout=5).text
    opened = admin.get(f"{store.url}/wp-admin/admin.php?page=comeback", allow_redirects=False, timeout=5)
    link = urlsplit(opened.headers["Location"])
    params = _params(opened.headers["Location"])
    assert link.path == "/woocommerce/admin"
    assert params["user"] == ["1"] and params["email"] == [store.admin_email] and params["shop"] == [store.domain]
    assert params["signature"] == [proxy_signature(params, SECRET)]


def test_privacy_requests_sign_the_body(sandbox: WooCommerceSandbox, store: WooStore, receiver: Receiver) -> None:
    _connect(sandbox, store, receiver)
    status, _ = sandbox.privacy_erase(store.name, "dana@example.com")
    assert status == 200
    request = receiver.requests[-1]
    params = _params(request.path)
    assert urlsplit(request.path).path == "/woocommerce/privacy/erase"
    assert params["body_sha256"] == [hashlib.sha256(request.body).hexdigest()]
    assert json.loads(request.body) == {"email": "dana@example.com"}
    assert params["signature"] == [proxy_signature(params, SECRET)]


def test_a_hebrew_site_speaks_hebrew_unless_asked_otherwise(sandbox: WooCommerceSandbox, store: WooStore,
                                                            receiver: Receiver) -> None:
    hebrew = sandbox.add_store("hanut", spec=store.spec, locale="he_IL")
    sandbox.set_plugin(hebrew.name, app_url=receiver.url, secret=SECRET)
    page = requests.get(f"{hebrew}/", timeout=5).text
    assert 'data-locale="he-IL"' in page and "dir='rtl'" in page
    assert 'data-locale="en-US"' in requests.get(f"{hebrew}/?lang=en", timeout=5).text
    key = sandbox.create_api_key(hebrew.name)
    sandbox.https = True
    status = requests.get(f"{hebrew}/wp-json/wc/v3/system_status", timeout=5,
                          auth=(key.consumer_key, key.consumer_secret)).json()
    assert status["environment"]["language"] == "he_IL"
