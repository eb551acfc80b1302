"""``shopify.app.toml`` declares the app Shopify deploys: the same scopes our OAuth asks for, the
topics we subscribe and handle, the pinned API version, and URLs that reach our own views."""

import re
import tomllib
from io import StringIO
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.urls import resolve

from integrations import views as integration_views
from integrations.shopify import queries
from integrations.shopify import webhooks as shopify_webhooks
from integrations.shopify.app_config import APP_TOML, PLACEHOLDER_CLIENT_ID, PLACEHOLDER_ORIGIN
from integrations.shopify.version import API_VERSION
from sandbox.shopify import ShopifySandbox

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def app() -> dict:
    assert APP_TOML == ROOT / "shopify.app.toml"
    with APP_TOML.open("rb") as fh:
        return tomllib.load(fh)


def path_of(url: str) -> str:
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}" == PLACEHOLDER_ORIGIN, f"{url} is not on the app's origin"
    return parts.path


def test_the_app_is_named_embedded_and_its_client_id_is_a_documented_placeholder(app: dict) -> None:
    assert app["name"] == "Comeback" and app["handle"] == "comeback"
    assert app["embedded"] is True
    assert app["client_id"] == PLACEHOLDER_CLIENT_ID
    header = APP_TOML.read_text(encoding="utf-8").split("\nclient_id", 1)[0]
    assert "SHOPIFY_API_KEY" in header and "APP_URL" in header and "shopify_app_config" in header
    assert resolve(path_of(app["application_url"])).view_name == "dashboard:index"


def test_access_scopes_equal_the_scopes_oauth_asks_for(app: dict) -> None:
    assert app["access_scopes"]["scopes"].split(",") == list(settings.SHOPIFY_SCOPES)
    assert "write_app_proxy" in settings.SHOPIFY_SCOPES  # Shopify's condition for the app proxy
    if app["access_scopes"].get("use_legacy_install_flow"):
        # the authorization code grant: Shopify may only send the merchant back to our callback
        callbacks = [path_of(url) for url in app["auth"]["redirect_urls"]]
        assert [resolve(p).func for p in callbacks] == [integration_views.shopify_callback]


def test_webhooks_use_the_pinned_version_our_topics_and_the_compliance_topics(app: dict) -> None:
    hooks = app["webhooks"]
    assert hooks["api_version"] == API_VERSION
    subscribed = [t for s in hooks["subscriptions"] for t in s.get("topics", [])]
    compliance = [t for s in hooks["subscriptions"] for t in s.get("compliance_topics", [])]
    assert sorted(subscribed) == sorted(queries.WEBHOOK_TOPICS)  # what webhooks_register subscribes per shop
    assert len(subscribed) == len(set(subscribed))
    assert set(subscribed) <= set(shopify_webhooks.STORE_TOPICS)  # each one has a handler
    assert sorted(compliance) == sorted(queries.PRIVACY_TOPICS) == sorted(shopify_webhooks.PRIVACY_TOPICS)
    assert sorted(compliance) == ["customers/data_request", "customers/redact", "shop/redact"]
    for subscription in hooks["subscriptions"]:
        match = resolve(path_of(subscription["uri"]))
        assert match.func is integration_views.platform_webhook and match.kwargs == {"platform": "shopify"}


def test_the_app_proxy_forwards_apps_comeback_to_our_proxy_views(app: dict) -> None:
    proxy = app["app_proxy"]
    assert (proxy["prefix"], proxy["subpath"]) == ("apps", "comeback")
    # Shopify's rules for a subpath: letters, digits, _ and -, up to 30, not a reserved word
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,30}", proxy["subpath"]) and proxy["subpath"] not in (
        "admin", "services", "password", "login")
    base = path_of(proxy["url"])
    assert base == "/proxy"
    for route, name in (("loyalty", "proxy-loyalty"), ("loyalty/redeem", "proxy-loyalty-redeem"),
                        ("surveys", "proxy-surveys"), ("referrals/offer", "proxy-referral-offer")):
        assert resolve(f"{base}/{route}").url_name == name
    # the local Shopify forwards the same path to the same place
    sandbox = ShopifySandbox()
    sandbox.app_config(app_url=PLACEHOLDER_ORIGIN)
    assert sandbox.app_proxy_path == f"/{proxy['prefix']}/{proxy['subpath']}"
    assert sandbox.app_proxy_target == proxy["url"]


def test_deployed_to_the_sandbox_it_configures_the_app_as_shopify_would(app: dict) -> None:
    sandbox = ShopifySandbox()
    sandbox.app_deploy(str(APP_TOML), app_url="http://127.0.0.1:8123/")
    assert sandbox.app_url == "http://127.0.0.1:8123"
    assert sandbox.default_scopes == ",".join(settings.SHOPIFY_SCOPES)
    assert sandbox.redirect_uris == ["http://127.0.0.1:8123/shopify/callback"]
    assert sandbox.privacy_webhook_uri == "http://127.0.0.1:8123/webhooks/shopify"
    assert (sandbox.app_proxy_path, sandbox.app_proxy_target) == ("/apps/comeback", "http://127.0.0.1:8123/proxy")


def strings(value: object) -> list[str]:
    if isinstance(value, dict):
        return [s for v in value.values() for s in strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in strings(v)]
    return [value] if isinstance(value, str) else []


def test_every_url_in_the_file_is_on_the_one_placeholder_origin(app: dict) -> None:
    urls = [s for s in strings(app) if "://" in s]
    assert len(urls) == 5 and all(url.startswith(PLACEHOLDER_ORIGIN + "/") for url in urls), urls


def test_the_command_writes_the_deployments_config(app: dict, settings, tmp_path, monkeypatch) -> None:
    settings.APP_URL = "https://rewards.shop-tools.example/"
    settings.SHOPIFY_API_KEY = "0123456789abcdef0123456789abcdef"
    out = StringIO()
    call_command("shopify_app_config", "--name", "-", stdout=out)
    deployed = tomllib.loads(out.getvalue())
    assert deployed["client_id"] == "0123456789abcdef0123456789abcdef"
    assert deployed["application_url"] == "https://rewards.shop-tools.example/dashboard/"
    assert deployed["auth"]["redirect_urls"] == ["https://rewards.shop-tools.example/shopify/callback"]
    assert deployed["app_proxy"]["url"] == "https://rewards.shop-tools.example/proxy"
    assert {s["uri"] for s in deployed["webhooks"]["subscriptions"]} == {
        "https://rewards.shop-tools.example/webhooks/shopify"}
    # everything else is the committed file's
    assert deployed["access_scopes"] == app["access_scopes"] and deployed["webhooks"]["api_version"] == API_VERSION

    settings.APP_URL = "http://127.0.0.1:8000"
    with pytest.raises(CommandError, match="https"):
        call_command("shopify_app_config", "--name", "-", stdout=StringIO())
    settings.APP_URL = "https://rewards.shop-tools.example"
    settings.SHOPIFY_API_KEY = ""
    with pytest.raises(CommandError, match="SHOPIFY_API_KEY"):
        call_command("shopify_app_config", "--name", "-", stdout=StringIO())
