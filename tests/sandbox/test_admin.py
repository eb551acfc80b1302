"""The emulated admin: the Apps page, Shopify's managed install and the embedded app's frame."""

from __future__ import annotations

import base64
import html
import re
from pathlib import Path
from urllib.parse import parse_qsl, urlparse

import jwt
import requests
import shopify

from sandbox.shopify import ShopifySandbox

from .conftest import API_KEY, API_SECRET

DOMAIN = "new-store.myshopify.com"
APP_TOML = Path(__file__).resolve().parents[2] / "shopify.app.toml"


class AppSession(shopify.Session):
    secret = API_SECRET


def _frame_params(page: requests.Response) -> tuple[str, dict[str, str]]:
    found = re.search(r"<iframe name='app-iframe' title='Comeback' src='([^']+)'", page.text)
    assert found, page.text[:500]
    url = urlparse(html.unescape(found.group(1)))
    return f"{url.scheme}://{url.netloc}{url.path}", dict(parse_qsl(url.query))


def test_a_shop_without_the_app_is_offered_the_managed_install(sandbox: ShopifySandbox) -> None:
    # given a shop that has not installed the app, and the app deployed from its configuration
    store = sandbox.add_shop(DOMAIN, seed=1, customers=5, orders=10, installed=False)
    sandbox.app_deploy(str(APP_TOML), app_url="http://127.0.0.1:8000")
    app_page = f"{store.origin}/admin/apps/{API_KEY}"
    # when the merchant opens the app from the admin
    consent = requests.get(app_page, params={"locale": "he"}, timeout=5)
    # then Shopify asks for consent to the configured scopes, and frames nothing yet
    assert consent.status_code == 200
    assert "Install Comeback" in consent.text and "read_all_orders" in consent.text
    assert "app-iframe" not in consent.text
    assert requests.post(f"{app_page}/session_token", timeout=5).status_code == 401
    # when the merchant installs it
    installed = requests.post(app_page, params={"locale": "he"}, timeout=5)
    # then the app is installed (no OAuth, no token yet: the app will exchange its session token)
    assert installed.status_code == 200 and installed.history[0].status_code == 303
    assert store.installed and store.tokens == {}
    # and the admin frames the app at its application_url with the parameters Shopify adds
    url, params = _frame_params(installed)
    assert url == "http://127.0.0.1:8000/dashboard/"
    assert set(params) == {"embedded", "hmac", "host", "id_token", "locale", "session", "shop", "timestamp"}
    assert (params["embedded"], params["shop"], params["locale"]) == ("1", DOMAIN, "he")
    assert base64.b64decode(params["host"] + "==").decode() == "admin.shopify.com/store/new-store"
    assert AppSession.validate_hmac(params)  # signed like Shopify's other query strings
    claims = jwt.decode(params["id_token"], API_SECRET, algorithms=["HS256"], audience=API_KEY)
    assert claims["dest"] == f"https://{DOMAIN}" and claims["iss"] == f"https://{DOMAIN}/admin"
    assert claims["exp"] - claims["iat"] == 60 and claims["sub"]


def test_the_frame_gets_fresh_session_tokens_the_token_exchange_accepts(sandbox: ShopifySandbox) -> None:
    store = sandbox.add_shop(DOMAIN, seed=1, customers=5, orders=10)
    fresh = requests.post(f"{store.origin}/admin/apps/{API_KEY}/session_token", timeout=5)
    assert fresh.status_code == 200 and fresh.headers["Cache-Control"] == "no-store"
    exchanged = requests.post(f"{store.origin}/admin/oauth/access_token", json={
        "client_id": API_KEY, "client_secret": API_SECRET, "expiring": "1",
        "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
        "subject_token": fresh.json()["id_token"],
        "subject_token_type": "urn:ietf:params:oauth:token-type:id_token",
        "requested_token_type": "urn:shopify:params:oauth:token-type:offline-access-token"}, timeout=5)
    assert exchanged.status_code == 200, exchanged.text
    assert exchanged.json()["access_token"] in store.tokens and exchanged.json()["expires_in"] == 3600


def test_the_admin_locale_defaults_to_the_shops_primary_one(sandbox: ShopifySandbox) -> None:
    store = sandbox.add_shop(DOMAIN, seed=1, customers=5, orders=10)
    sandbox.app_config(app_url="http://127.0.0.1:8000")
    _, params = _frame_params(requests.get(f"{store.origin}/admin/apps/{API_KEY}", timeout=5))
    assert params["locale"] == "en"
    _, params = _frame_params(requests.get(f"{store.origin}/admin/apps/{API_KEY}",
                                           params={"locale": "<script>"}, timeout=5))
    assert params["locale"] == "en"


def test_the_apps_page_and_unknown_apps(sandbox: ShopifySandbox) -> None:
    store = sandbox.add_shop(DOMAIN, seed=1, customers=5, orders=10, installed=False)
    apps = requests.get(f"{store.origin}/admin/apps", timeout=5)
    assert apps.status_code == 200 and "not installed" in apps.text and f"/admin/apps/{API_KEY}" in apps.text
    assert requests.get(f"{store.origin}/admin/apps/another-app", timeout=5).status_code == 404
    assert requests.post(f"{store.origin}/admin/apps/another-app", timeout=5).status_code == 404
    assert not store.installed


def test_app_bridge_stand_in_is_served_as_a_script(sandbox: ShopifySandbox) -> None:
    script = requests.get(f"{sandbox.base_url}/cdn/shopifycloud/app-bridge.js", timeout=5)
    assert script.status_code == 200 and script.headers["Content-Type"].startswith("text/javascript")
    assert "idToken" in script.text and "shopify-reload" in script.text


def test_after_an_uninstall_the_app_page_offers_the_install_again(sandbox: ShopifySandbox) -> None:
    store = sandbox.add_shop(DOMAIN, seed=1, customers=5, orders=10)
    sandbox.app_config(app_url="http://127.0.0.1:8000")
    sandbox.install(DOMAIN)
    store.uninstall()
    page = requests.get(f"{store.origin}/admin/apps/{API_KEY}", timeout=5)
    assert "Install Comeback" in page.text and "app-iframe" not in page.text
    assert "app-iframe" in requests.post(f"{store.origin}/admin/apps/{API_KEY}", timeout=5).text
