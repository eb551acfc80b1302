"""Opening the app from the Shopify admin installs it: Shopify's managed install, where the embedded
app trades the session token (``id_token``) for an expiring offline token.  The platform is the
Shopify sandbox over real HTTP; the session tokens are minted as the sandbox's admin mints them."""

import base64
from typing import Any
from urllib.parse import parse_qs, urlparse

import jwt
import pytest
from django.test import Client

from commerce.models import Shop
from integrations.models import SyncRun
from integrations.shopify.embedded import embedded_app_url
from sandbox.shopify.tokens import ID_TOKEN, TOKEN_EXCHANGE
from tests.e2e.conftest import install
from tests.factories import ShopFactory
from tests.integrations.test_oauth import session_token

pytestmark = pytest.mark.django_db

DOMAIN = "new-store.myshopify.com"
HOST = base64.b64encode(b"admin.shopify.com/store/new-store").decode().rstrip("=")


@pytest.fixture
def platform(sandbox: Any, settings: Any) -> Any:
    """The app talks to the sandbox, where ``new-store`` has just installed the app (managed install:
    no token yet on our side)."""
    settings.SHOPIFY_SANDBOX_URL = sandbox.base_url
    settings.APP_URL = "https://app.example.com"
    sandbox.add_shop(DOMAIN, seed=3, customers=20, orders=40, installed=True)
    return sandbox


def _open(client: Client, **params: str) -> Any:
    """Shopify's load of the app URL inside the admin."""
    query = {"embedded": "1", "shop": DOMAIN, "host": HOST, "id_token": session_token(DOMAIN), "locale": "en",
             **params}
    return client.get("/dashboard/", query, follow=True)


def test_an_unknown_shop_opening_the_app_is_installed_by_token_exchange(client, platform,
                                                                       django_capture_on_commit_callbacks):
    # when the merchant opens the app from the admin for the first time
    with django_capture_on_commit_callbacks(execute=True):
        response = _open(client, locale="he")
    # then the shop is installed with an expiring offline token the sandbox issued
    shop = Shop.objects.get(domain=DOMAIN)
    assert shop.status == "installed"
    assert shop.access_token.startswith("shpat_") and shop.access_token in platform.shop(DOMAIN).tokens
    assert shop.access_token_expires_at is not None and shop.refresh_token.startswith("shprt_")
    assert [(r["grant_type"], r.get("subject_token_type"), r["expiring"]) for r in platform.token_requests] == [
        (TOKEN_EXCHANGE, ID_TOKEN, "1")]
    # and the install's work ran: details, webhooks, the history sync
    assert shop.name == platform.shop(DOMAIN).name
    assert {s.topic for s in platform.shop(DOMAIN).subscriptions.values()} >= {"ORDERS_CREATE", "APP_UNINSTALLED"}
    assert SyncRun.objects.filter(shop=shop, kind="history").exists()
    # and the merchant sees the set-up guide's first step, embedded, in Hebrew
    html = response.content.decode()
    assert response.status_code == 200
    assert response.redirect_chain == []  # shown at the app's URL itself: no redirect carries the token
    assert '<html lang="he" dir="rtl">' in html
    assert "הגדרת Comeback" in html and "שלב 1 מתוך 7: מועדון לקוחות" in html
    assert response["Content-Security-Policy"].startswith(
        f"frame-ancestors https://{DOMAIN} https://admin.shopify.com {platform.base_url}")


def test_a_session_token_in_the_authorization_header_installs_too(client, platform):
    response = client.get("/api/shop", headers={"Authorization": f"Bearer {session_token(DOMAIN)}"})
    assert response.status_code == 200, response.content
    assert response.json()["domain"] == DOMAIN
    assert Shop.objects.get(domain=DOMAIN).status == "installed"


@pytest.mark.parametrize("token", [
    session_token(DOMAIN, secret="another-secret-that-is-also-32-bytes-long"),  # forged
    session_token(DOMAIN, exp_in=-120),  # expired
    session_token(DOMAIN, aud="another-app"),
    "not-a-jwt",
])
def test_a_forged_or_expired_token_installs_nothing(client, platform, token):
    response = _open(client, id_token=token, locale="he")
    assert response.status_code == 401
    assert '<html lang="he" dir="rtl">' in response.content.decode()  # said in the admin's language
    assert not Shop.objects.filter(domain=DOMAIN).exists()
    assert platform.token_requests == []  # refused before any call to Shopify


def test_a_token_shopify_refuses_installs_nothing(client, platform):
    # a token the sandbox's Shopify will not exchange: signed for this app, but for a shop it does
    # not know
    unknown = "unknown-store.myshopify.com"
    unknown_host = base64.b64encode(b"admin.shopify.com/store/unknown-store").decode()
    response = _open(client, shop=unknown, host=unknown_host, id_token=session_token(unknown))
    assert response.status_code == 401
    assert not Shop.objects.filter(domain=unknown).exists()


@pytest.mark.parametrize("host", [
    base64.b64encode(b"evil.example.com/store/new-store").decode(),  # not Shopify's admin
    base64.b64encode(b"admin.shopify.com.evil.com/store/new-store").decode(),
    base64.b64encode(b"admin.shopify.com/store/new-store/../../evil").decode(),
    base64.b64encode(b"new-store.myshopify.com.evil.com/admin").decode(),
    "YWRtaW4",  # "admin"
    "not base64!",
])
def test_a_host_that_is_not_a_shopify_admin_is_refused(client, platform, host):
    response = _open(client, host=host)
    assert response.status_code == 400
    assert not Shop.objects.filter(domain=DOMAIN).exists()
    assert platform.token_requests == []


def test_the_legacy_admin_host_is_accepted(client, platform):
    legacy = base64.b64encode(b"new-store.myshopify.com/admin").decode()
    assert _open(client, host=legacy).status_code == 200


def test_an_uninstalled_shop_reopening_the_app_is_installed_again(client, platform):
    # given a shop that removed the app (its token is gone)
    ShopFactory(domain=DOMAIN, status="uninstalled", access_token="", refresh_token="")
    # when the merchant installs it again and opens it
    response = _open(client)
    # then
    shop = Shop.objects.get(domain=DOMAIN)
    assert response.status_code == 200
    assert shop.status == "installed" and shop.uninstalled_at is None
    assert shop.access_token in platform.shop(DOMAIN).tokens


@pytest.mark.parametrize("locale, language, direction", [
    ("he", "he", "rtl"), ("he-IL", "he", "rtl"), ("fa", "fa", "rtl"), ("fa-IR", "fa", "rtl"),
    ("en-US", "en", "ltr"), ("fr", "en", "ltr"), ("zh-CN", "en", "ltr"),
])
def test_the_admin_language_is_the_dashboards(client, platform, locale, language, direction):
    html = _open(client, locale=locale).content.decode()
    assert f'<html lang="{language}" dir="{direction}">' in html


def test_the_language_is_kept_in_the_session(client, platform):
    _open(client, locale="fa")
    # a later load without the locale parameter (an API client's or a bookmarked page's)
    response = client.get("/dashboard/flows/", {"shop": DOMAIN, "host": HOST, "id_token": session_token(DOMAIN)})
    assert '<html lang="fa" dir="rtl">' in response.content.decode()


def test_inside_the_admin_a_load_without_token_bounces_even_before_the_install(client, platform):
    response = client.get("/dashboard/", {"shop": DOMAIN, "host": HOST, "embedded": "1", "locale": "he"},
                          headers={"Sec-Fetch-Dest": "iframe"})
    assert response.status_code == 302
    assert urlparse(response["Location"]).path == "/shopify/bounce"
    bounce = client.get(response["Location"])
    assert bounce.status_code == 200
    assert f'<script src="{platform.base_url}/cdn/shopifycloud/app-bridge.js"></script>' in bounce.content.decode()
    assert not Shop.objects.filter(domain=DOMAIN).exists()


def test_a_top_level_visit_of_an_unknown_shop_starts_the_oauth_install(client, platform):
    response = client.get("/dashboard/", {"shop": DOMAIN, "host": HOST}, headers={"Sec-Fetch-Dest": "document"})
    assert response.status_code == 302
    assert response["Location"] == f"/shopify/install?shop={DOMAIN}"


def test_a_top_level_visit_of_an_installed_shop_goes_into_its_admin(client, platform):
    ShopFactory(domain=DOMAIN)
    response = client.get("/dashboard/", {"shop": DOMAIN, "host": HOST}, headers={"Sec-Fetch-Dest": "document"})
    assert response.status_code == 302
    assert response["Location"] == f"{platform.base_url}/shops/{DOMAIN}/admin/apps/test-api-key"


def test_the_admin_app_url_is_built_from_the_host(settings):
    settings.SHOPIFY_SANDBOX_URL = ""
    assert embedded_app_url(shop_domain=DOMAIN, host=HOST) == "https://admin.shopify.com/store/new-store/apps/test-api-key"
    assert embedded_app_url(shop_domain=DOMAIN) == "https://admin.shopify.com/store/new-store/apps/test-api-key"


@pytest.mark.django_db(transaction=True)
def test_after_oauth_the_merchant_lands_in_the_admin(app, sandbox):
    # given a shop installing through OAuth (the app's install link)
    sandbox.add_shop(DOMAIN, seed=3, customers=20, orders=40, installed=False)
    sandbox.app_config(app_url=app.url)
    # when the callback is done
    response = install(app, DOMAIN)
    # then the merchant is on the app's page in their Shopify admin (the sandbox's), framed there
    assert response.url == f"{sandbox.base_url}/shops/{DOMAIN}/admin/apps/test-api-key"
    html = response.text
    source = html.split("<iframe name='app-iframe' title='Comeback' src='")[1].split("'")[0]
    frame = urlparse(source.replace("&amp;", "&"))
    params = {key: values[0] for key, values in parse_qs(frame.query).items()}
    assert f"{frame.scheme}://{frame.netloc}{frame.path}" == f"{app.url}/"
    assert params["shop"] == DOMAIN and params["embedded"] == "1" and params["locale"] == "en"
    assert base64.b64decode(params["host"] + "==").decode() == "admin.shopify.com/store/new-store"
    claims = jwt.decode(params["id_token"], key="test-api-secret-with-at-least-32-bytes", algorithms=["HS256"],
                        audience="test-api-key")
    assert claims["dest"] == f"https://{DOMAIN}"
