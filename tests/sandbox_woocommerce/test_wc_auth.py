"""wc-auth (class-wc-auth.php): the key goes to callback_url; only a 200 keeps it."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import requests
from woocommerce import API

from sandbox.woocommerce import WooCommerceSandbox, WooStore
from tests.sandbox_woocommerce.conftest import Receiver


def _authorize(store: WooStore, receiver: Receiver, **extra: str) -> requests.Response:
    params = {"app_name": "Comeback", "scope": "read_write", "user_id": "42",
              "return_url": f"{receiver.url}/woocommerce/connected?state=abc",
              "callback_url": f"{receiver.url}/woocommerce/callback", **extra}
    return requests.get(f"{store.url}/wc-auth/v1/authorize", params=params, allow_redirects=False, timeout=10)


def test_approval_posts_the_key_and_returns_with_success(store: WooStore, receiver: Receiver) -> None:
    answer = _authorize(store, receiver)
    assert answer.status_code == 302
    back = urlsplit(answer.headers["Location"])
    assert back.path == "/woocommerce/connected"
    assert parse_qs(back.query) == {"state": ["abc"], "success": ["1"], "user_id": ["42"]}
    (callback,) = receiver.requests
    assert callback.path == "/woocommerce/callback"
    assert callback.headers["Content-Type"].startswith("application/json")
    body = callback.json
    assert set(body) == {"key_id", "user_id", "consumer_key", "consumer_secret", "key_permissions"}
    assert body["user_id"] == "42" and isinstance(body["key_id"], int)
    assert body["consumer_key"].startswith("ck_") and len(body["consumer_key"]) == 43
    assert body["consumer_secret"].startswith("cs_") and body["key_permissions"] == "read_write"
    wc = API(url=store.url, consumer_key=body["consumer_key"], consumer_secret=body["consumer_secret"],
             version="wc/v3")
    assert wc.get("orders").status_code == 200


def test_a_callback_that_does_not_answer_200_loses_the_key(store: WooStore, receiver: Receiver) -> None:
    receiver.statuses = [201]
    answer = _authorize(store, receiver)
    assert answer.status_code == 401 and "unable to send the consumer data" in answer.text
    assert store.api_keys == {}
    body = receiver.requests[0].json
    wc = API(url=store.url, consumer_key=body["consumer_key"], consumer_secret=body["consumer_secret"],
             version="wc/v3")
    assert wc.get("orders").status_code == 401


def test_a_refusal_returns_with_success_zero(sandbox: WooCommerceSandbox, store: WooStore,
                                             receiver: Receiver) -> None:
    answer = _authorize(store, receiver, sandbox_deny="1")
    assert parse_qs(urlsplit(answer.headers["Location"]).query)["success"] == ["0"]
    sandbox.set_wc_auth(store.name, "deny")
    answer = _authorize(store, receiver)
    assert parse_qs(urlsplit(answer.headers["Location"]).query) == {"state": ["abc"], "success": ["0"],
                                                                    "user_id": ["42"]}
    assert receiver.requests == [] and store.api_keys == {}


def test_a_person_approves_on_the_authorize_page(sandbox: WooCommerceSandbox, store: WooStore,
                                                 receiver: Receiver) -> None:
    sandbox.set_wc_auth(store.name, "manual")
    page = _authorize(store, receiver)
    assert page.status_code == 200 and "Approve" in page.text and receiver.requests == []
    approve = page.text.split("wc-auth-approve' href='")[1].split("'")[0].replace("&amp;", "&")
    granted = requests.get(approve, allow_redirects=False, timeout=10)
    assert granted.status_code == 302 and "success=1" in granted.headers["Location"]
    assert len(receiver.requests) == 1


def test_bad_requests_get_wordpress_error_pages(sandbox: WooCommerceSandbox, store: WooStore,
                                                receiver: Receiver) -> None:
    missing = requests.get(f"{store.url}/wc-auth/v1/authorize", params={"app_name": "x"}, timeout=5)
    assert missing.status_code == 401 and "Missing parameter user_id" in missing.text
    scope = _authorize(store, receiver, scope="admin")
    assert scope.status_code == 401 and "Invalid scope admin" in scope.text
    sandbox.require_https_callback = True
    insecure = _authorize(store, receiver)
    assert insecure.status_code == 401 and "callback_url needs to be over SSL" in insecure.text
    assert receiver.requests == []
