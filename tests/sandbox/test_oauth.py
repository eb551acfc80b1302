"""OAuth: authorize redirect signed like Shopify, single-use token exchange."""

from __future__ import annotations

import base64
import re
import time
from urllib.parse import parse_qsl, urlparse

import requests
import shopify

from sandbox.shopify import ShopifySandbox
from sandbox.shopify.store import Shop

from .conftest import API_KEY, API_SECRET

CALLBACK = "http://app.example/shopify/callback"


class AppSession(shopify.Session):
    secret = API_SECRET


def authorize(shop: Shop, **overrides: str) -> requests.Response:
    params = {"client_id": API_KEY, "scope": "read_orders,read_customers",
              "redirect_uri": CALLBACK, "state": "nonce-123", **overrides}
    return requests.get(f"{shop.origin}/admin/oauth/authorize", params=params,
                        allow_redirects=False, timeout=5)


def callback_params(response: requests.Response) -> dict[str, str]:
    assert response.status_code == 302, response.text
    location = urlparse(response.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == CALLBACK
    return dict(parse_qsl(location.query))


def test_authorize_redirect_is_signed_like_shopify(shop: Shop) -> None:
    params = callback_params(authorize(shop))

    assert list(params) == ["code", "hmac", "host", "shop", "state", "timestamp"]
    assert params["shop"] == shop.domain and params["state"] == "nonce-123"
    assert base64.b64decode(params["host"]).decode() == "admin.shopify.com/store/demo-store"
    assert abs(int(params["timestamp"]) - time.time()) < 5
    assert AppSession.calculate_hmac(params) == params["hmac"]
    assert AppSession.validate_params(params)
    for key in ("shop", "code", "timestamp", "state"):
        tampered = {**params, key: params[key] + "x"}
        assert not AppSession.validate_hmac(tampered), key


def test_hmac_escapes_special_characters(shop: Shop) -> None:
    params = callback_params(authorize(shop, state="a&b=c%d"))
    assert params["state"] == "a&b=c%d"
    assert AppSession.validate_hmac(params)


def test_token_exchange_is_single_use(shop: Shop) -> None:
    code = callback_params(authorize(shop))["code"]
    url = f"{shop.origin}/admin/oauth/access_token"
    body = {"client_id": API_KEY, "client_secret": API_SECRET, "code": code}

    wrong = requests.post(url, data={**body, "client_secret": "nope"}, timeout=5)
    first = requests.post(url, data=body, timeout=5)
    again = requests.post(url, json=body, timeout=5)

    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_request"
    assert first.status_code == 200
    assert re.fullmatch(r"shpat_[0-9a-f]{32}", first.json()["access_token"])
    assert first.json()["scope"] == "read_orders,read_customers"
    assert again.status_code == 400 and again.json()["error"] == "invalid_request"
    assert shop.token_valid(first.json()["access_token"])


def test_expired_code_is_refused(shop: Shop) -> None:
    code = callback_params(authorize(shop))["code"]
    shop.codes[code].expires = time.time() - 1
    response = requests.post(f"{shop.origin}/admin/oauth/access_token", timeout=5, data={
        "client_id": API_KEY, "client_secret": API_SECRET, "code": code})
    assert response.status_code == 400


def test_unknown_client_id_gets_an_error_page(shop: Shop) -> None:
    response = authorize(shop, client_id="someone-else")
    assert response.status_code == 400
    assert "Oauth error" in response.text


def test_manual_approval_shows_an_install_page(sandbox: ShopifySandbox) -> None:
    shop = sandbox.add_shop("careful-store", seed=1, customers=5, orders=5,
                            manual_approval=True)
    page = authorize(shop)
    assert page.status_code == 200 and "Install" in page.text
    form = dict(re.findall(r"name='([^']+)' value='([^']*)'", page.text))
    approved = requests.post(f"{shop.origin}/admin/oauth/authorize", data=form,
                             allow_redirects=False, timeout=5)
    assert AppSession.validate_params(callback_params(approved))


def test_redirect_uri_allow_list(sandbox: ShopifySandbox, shop: Shop) -> None:
    sandbox.app_config(redirect_uris=["http://app.example/"])
    assert authorize(shop).status_code == 302
    assert authorize(shop, redirect_uri="http://evil.example/cb").status_code == 400
