"""REST authentication: OAuth 1.0a as WC_REST_Authentication checks it, key permissions, https keys."""

from __future__ import annotations

import time

import pytest
import requests
from woocommerce import API

from sandbox.woocommerce import ApiKey, WooCommerceSandbox, WooStore, oauth_signature


def _signed(store: WooStore, key: ApiKey, path: str, *, nonce: str = "n1", timestamp: int | None = None,
            secret: str | None = None, method: str = "HMAC-SHA1") -> dict[str, str]:
    params = {"per_page": "5", "oauth_consumer_key": key.consumer_key, "oauth_nonce": nonce,
              "oauth_signature_method": method, "oauth_timestamp": str(timestamp or int(time.time()))}
    params["oauth_signature"] = oauth_signature("GET", f"{store.url}{path}", params,
                                                secret or key.consumer_secret, method)
    return params


def test_hmac_sha1_is_accepted_and_a_nonce_works_once(store: WooStore, key: ApiKey) -> None:
    path = "/wp-json/wc/v3/customers"
    params = _signed(store, key, path)
    assert requests.get(store.url + path, params=params, timeout=5).status_code == 200
    replay = requests.get(store.url + path, params=params, timeout=5)
    assert replay.status_code == 401
    assert replay.json()["message"] == "Invalid nonce - nonce has already been used."


def test_a_wrong_secret_an_old_timestamp_or_a_stranger_key_is_refused(store: WooStore, key: ApiKey) -> None:
    path = "/wp-json/wc/v3/orders"
    bad = requests.get(store.url + path, params=_signed(store, key, path, secret="cs_wrong"), timeout=5)
    assert bad.status_code == 401 and bad.json() == {
        "code": "woocommerce_rest_authentication_error",
        "message": "Invalid signature - provided signature does not match.", "data": {"status": 401}}
    old = requests.get(store.url + path, params=_signed(store, key, path, nonce="n2",
                                                        timestamp=int(time.time()) - 3600), timeout=5)
    assert old.status_code == 401 and old.json()["message"] == "Invalid timestamp."
    stranger = API(url=store.url, consumer_key="ck_" + "0" * 40, consumer_secret="cs_x", version="wc/v3")
    refused = stranger.get("orders")
    assert refused.status_code == 401 and refused.json()["message"] == "Consumer key is invalid."


def test_no_credentials_cannot_list_and_half_oauth_is_named(store: WooStore) -> None:
    anonymous = requests.get(f"{store.url}/wp-json/wc/v3/orders", timeout=5)
    assert anonymous.status_code == 401 and anonymous.json()["code"] == "woocommerce_rest_cannot_view"
    partial = requests.get(f"{store.url}/wp-json/wc/v3/orders", params={"oauth_consumer_key": "ck_x"}, timeout=5)
    assert partial.status_code == 401
    assert partial.json()["code"] == "woocommerce_rest_authentication_missing_parameter"


def test_basic_auth_over_plain_http_is_not_believed(store: WooStore, key: ApiKey) -> None:
    answer = requests.get(f"{store.url}/wp-json/wc/v3/orders", auth=(key.consumer_key, key.consumer_secret),
                          timeout=5)
    assert answer.status_code == 401


def test_behind_https_basic_auth_and_query_keys_work(store: WooStore, key: ApiKey,
                                                     sandbox: WooCommerceSandbox) -> None:
    sandbox.https = True
    basic = requests.get(f"{store.url}/wp-json/wc/v3/orders", auth=(key.consumer_key, key.consumer_secret),
                         timeout=5)
    assert basic.status_code == 200
    query = requests.get(f"{store.url}/wp-json/wc/v3/orders", timeout=5,
                         params={"consumer_key": key.consumer_key, "consumer_secret": key.consumer_secret})
    assert query.status_code == 200
    wrong = requests.get(f"{store.url}/wp-json/wc/v3/orders", auth=(key.consumer_key, "cs_nope"), timeout=5)
    assert wrong.status_code == 401 and wrong.json()["message"] == "Consumer secret is invalid."


def test_a_read_key_cannot_write(sandbox: WooCommerceSandbox, store: WooStore) -> None:
    read = sandbox.create_api_key(store.name, permissions="read")
    wc = API(url=store.url, consumer_key=read.consumer_key, consumer_secret=read.consumer_secret, version="wc/v3")
    assert wc.get("coupons").status_code == 200
    refused = wc.post("coupons", {"code": "nope", "amount": "1"})
    assert refused.status_code == 401
    assert refused.json()["message"] == "The API key provided does not have write permissions."
    assert store.find_coupon("nope") is None


def test_a_revoked_key_stops_working(sandbox: WooCommerceSandbox, store: WooStore, key: ApiKey, wc: API) -> None:
    assert wc.get("orders").status_code == 200
    sandbox.revoke_api_key(store.name, key.key_id)
    assert wc.get("orders").status_code == 401


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")  # a self-signed certificate
def test_over_tls_the_official_client_uses_basic_auth() -> None:
    from sandbox.woocommerce import StoreSpec

    box = WooCommerceSandbox(tls=True, webhook_mode="manual")
    box.start()
    try:
        store = box.add_store("secure", spec=StoreSpec(seed=3, customers=10, orders=20, products=5))
        assert store.url.startswith("https://")
        key = box.create_api_key(store.name)
        basic = API(url=store.url, consumer_key=key.consumer_key, consumer_secret=key.consumer_secret,
                    version="wc/v3", verify_ssl=False)
        answer = basic.get("orders", params={"per_page": 5})
        assert answer.status_code == 200 and "oauth_signature" not in answer.request.url
        assert answer.request.headers["Authorization"].startswith("Basic ")
        query = API(url=store.url, consumer_key=key.consumer_key, consumer_secret=key.consumer_secret,
                    version="wc/v3", verify_ssl=False, query_string_auth=True)
        assert query.get("orders").status_code == 200
    finally:
        box.stop()
