"""The storefront side of the sandbox: a demo shop page embedding the app's widget, the customer
cookie, and the app proxy forwarding ``/apps/comeback/*`` to the app signed exactly like Shopify
(checked with the app's own verifier)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from integrations.shopify.app_proxy import proxy_signature, proxy_verify
from retention_app.errors import ApplicationError
from sandbox.shopify import SandboxError, ShopifySandbox
from sandbox.shopify.store import Shop
from sandbox.shopify.storefront import CUSTOMER_COOKIE, proxy_query

from .conftest import API_SECRET


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes


@dataclass
class FakeApp:
    """Stands in for the app: records what the proxy forwards, answers with ``answer``."""

    url: str = ""
    seen: list[Seen] = field(default_factory=list)
    answer: tuple[int, str, bytes] = (200, "application/json", b'{"ok": true}')

    @property
    def last(self) -> Seen:
        return self.seen[-1]


@pytest.fixture
def fake_app() -> Iterator[FakeApp]:
    state = FakeApp()

    class Handler(BaseHTTPRequestHandler):
        def _record(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            parts = urlsplit(self.path)
            state.seen.append(Seen(self.command, parts.path, parse_qs(parts.query, keep_blank_values=True),
                                   dict(self.headers.items()), self.rfile.read(length)))
            status, content_type, body = state.answer
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_DELETE = _record  # noqa: N815 - http.server's naming

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def storefront(sandbox: ShopifySandbox, shop: Shop, fake_app: FakeApp, settings: Any) -> Shop:
    settings.SHOPIFY_API_SECRET = API_SECRET
    settings.SHOPIFY_API_SECRET_PREVIOUS = ""
    sandbox.app_config(app_url=fake_app.url)
    return shop


def a_customer(shop: Shop) -> int:
    return next(c.id for c in shop.customers if c.email)


def test_storefront_page_embeds_the_widget_with_the_shops_proxy_path(storefront: Shop, fake_app: FakeApp) -> None:
    page = requests.get(f"{storefront.origin}/", timeout=5)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    text = page.text
    assert "<html lang='en' dir='ltr'>" in text
    assert f"<script src='{fake_app.url}/storefront/comeback-widget.js'" in text
    assert f"data-endpoint='{storefront.origin}/apps/comeback'" in text
    product = next(p for p in storefront.products if p.status == "ACTIVE")
    assert product.title in text and f"${product.variants[0].price:.2f}" in text
    assert storefront.name in text
    for locale in ("he", "fa"):
        assert f"<html lang='{locale}' dir='rtl'>" in requests.get(f"{storefront.origin}/?locale={locale}",
                                                                   timeout=5).text
    assert "dir='ltr'" in requests.get(f"{storefront.origin}/?locale=<script>", timeout=5).text


def test_without_an_app_url_the_page_has_no_widget_and_the_proxy_404s(sandbox: ShopifySandbox, shop: Shop) -> None:
    assert "comeback-widget.js" not in requests.get(f"{shop.origin}/", timeout=5).text
    assert requests.get(f"{shop.origin}/apps/comeback/loyalty", timeout=5).status_code == 404


def test_signature_verifies_with_the_apps_verifier(storefront: Shop, fake_app: FakeApp) -> None:
    session = requests.Session()
    customer_id = a_customer(storefront)
    session.get(f"{storefront.origin}/?customer={customer_id}", timeout=5)
    # the shopper's own query rides along (and is signed); the proxy's own parameters cannot be spoofed
    response = session.get(f"{storefront.origin}/apps/comeback/loyalty",
                           params=[("tag", "a"), ("tag", "b,c"), ("q", "x y=z&"), ("shop", "evil.myshopify.com"),
                                   ("logged_in_customer_id", "1"), ("signature", "0" * 64)], timeout=5)
    assert response.status_code == 200 and response.json() == {"ok": True}
    seen = fake_app.last
    assert seen.method == "GET" and seen.path == "/proxy/loyalty"
    assert seen.query["shop"] == [storefront.domain]
    assert seen.query["logged_in_customer_id"] == [str(customer_id)]
    assert seen.query["path_prefix"] == ["/apps/comeback"]
    assert abs(int(seen.query["timestamp"][0]) - time.time()) < 10
    assert seen.query["tag"] == ["a", "b,c"] and seen.query["q"] == ["x y=z&"]
    assert len(seen.query["signature"]) == 1 and "Cookie" not in seen.headers

    verified = proxy_verify(seen.query)
    assert verified.shop_domain == storefront.domain
    assert verified.customer_platform_id == str(customer_id)
    assert proxy_signature(seen.query, API_SECRET) == seen.query["signature"][0]


@pytest.mark.parametrize("change", [
    {"logged_in_customer_id": ["1"]},
    {"shop": ["other.myshopify.com"]},
    {"tag": ["a"]},
    {"timestamp": ["1"]},
    {"signature": ["0" * 64]},
])
def test_a_tampered_request_does_not_verify(storefront: Shop, fake_app: FakeApp, change: dict[str, list[str]]
                                            ) -> None:
    session = requests.Session()
    session.get(f"{storefront.origin}/?customer={a_customer(storefront)}", timeout=5)
    session.get(f"{storefront.origin}/apps/comeback/loyalty?tag=a&tag=b", timeout=5)
    query = {**fake_app.last.query, **change}
    with pytest.raises(ApplicationError) as refused:
        proxy_verify(query)
    assert refused.value.status == 401
    with pytest.raises(ApplicationError):
        proxy_verify({k: v for k, v in fake_app.last.query.items() if k != "signature"})
    assert proxy_verify(fake_app.last.query)


def test_a_guest_gets_an_empty_logged_in_customer_id(storefront: Shop, fake_app: FakeApp) -> None:
    requests.get(f"{storefront.origin}/apps/comeback/loyalty", timeout=5)
    assert fake_app.last.query["logged_in_customer_id"] == [""]
    assert proxy_verify(fake_app.last.query).customer_platform_id == ""


def test_the_customer_cookie_is_scoped_to_the_shop_and_can_be_cleared(sandbox: ShopifySandbox, storefront: Shop,
                                                                      fake_app: FakeApp) -> None:
    other = sandbox.add_shop("other-store", seed=3, customers=10, orders=10)
    session = requests.Session()
    customer_id = a_customer(storefront)
    page = session.get(f"{storefront.origin}/?customer={customer_id}", timeout=5)
    assert "Hello," in page.text
    cookie = next(c for c in session.cookies if c.name == CUSTOMER_COOKIE)
    assert cookie.value == str(customer_id) and cookie.path == f"/shops/{storefront.domain}"
    assert cookie.has_nonstandard_attr("HttpOnly")

    session.get(f"{other.origin}/apps/comeback/loyalty", timeout=5)  # another shop: nobody logged in
    assert fake_app.last.query["shop"] == [other.domain]
    assert fake_app.last.query["logged_in_customer_id"] == [""]
    session.get(f"{storefront.origin}/apps/comeback/loyalty", timeout=5)  # the cookie is remembered
    assert fake_app.last.query["logged_in_customer_id"] == [str(customer_id)]

    unknown = session.get(f"{storefront.origin}/?customer=999", timeout=5)
    assert "There is no customer 999" in unknown.text
    session.get(f"{storefront.origin}/apps/comeback/loyalty", timeout=5)
    assert fake_app.last.query["logged_in_customer_id"] == [""]

    session.get(f"{storefront.origin}/?customer={customer_id}", timeout=5)
    logout = session.get(f"{storefront.origin}/account/logout", timeout=5)
    assert logout.url.startswith(f"{storefront.origin}/")
    session.get(f"{storefront.origin}/apps/comeback/loyalty", timeout=5)
    assert fake_app.last.query["logged_in_customer_id"] == [""]


def test_login_page_lists_customers_to_log_in_as(storefront: Shop) -> None:
    page = requests.get(f"{storefront.origin}/account/login?locale=he", timeout=5)
    assert page.status_code == 200 and "dir='rtl'" in page.text
    assert f"customer={a_customer(storefront)}" in page.text


def test_post_forwards_body_and_content_type_and_returns_the_apps_answer(storefront: Shop, fake_app: FakeApp
                                                                         ) -> None:
    fake_app.answer = (409, "application/json; charset=utf-8", b'{"error": "not enough points"}')
    response = requests.post(f"{storefront.origin}/apps/comeback/loyalty/redeem", json={"reward_id": 7}, timeout=5)
    assert response.status_code == 409
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    assert response.json() == {"error": "not enough points"}
    seen = fake_app.last
    assert seen.method == "POST" and seen.path == "/proxy/loyalty/redeem"
    assert json.loads(seen.body) == {"reward_id": 7}
    assert seen.headers["Content-Type"] == "application/json"
    assert proxy_verify(seen.query).shop_domain == storefront.domain

    fake_app.answer = (200, "text/html; charset=utf-8", "<p>שלום</p>".encode())
    page = requests.get(f"{storefront.origin}/apps/comeback", timeout=5)
    assert page.text == "<p>שלום</p>" and page.headers["Content-Type"].startswith("text/html")
    assert fake_app.last.path == "/proxy"


def test_proxy_paths_and_failures(sandbox: ShopifySandbox, storefront: Shop, fake_app: FakeApp) -> None:
    assert requests.get(f"{storefront.origin}/apps/other/loyalty", timeout=5).status_code == 404
    assert requests.get(f"{storefront.origin}/tools/comeback/loyalty", timeout=5).status_code == 404
    sandbox.app_config(app_proxy_path="/tools/loyalty")
    assert requests.get(f"{storefront.origin}/tools/loyalty/x", timeout=5).status_code == 200
    assert fake_app.last.query["path_prefix"] == ["/tools/loyalty"] and fake_app.last.path == "/proxy/x"
    assert f"data-endpoint='{storefront.origin}/tools/loyalty'" in requests.get(f"{storefront.origin}/",
                                                                               timeout=5).text
    with pytest.raises(SandboxError):
        sandbox.app_config(app_proxy_path="/nope/x")
    sandbox.app_config(app_proxy_url="http://127.0.0.1:9/unreachable")
    down = requests.get(f"{storefront.origin}/tools/loyalty/x", timeout=10)
    assert down.status_code == 502 and "did not answer" in down.json()["errors"]
    storefront.uninstall()
    assert requests.get(f"{storefront.origin}/tools/loyalty/x", timeout=5).status_code == 404


def test_proxy_query_signs_like_shopifys_documented_example() -> None:
    # shopify.dev's app proxy example (secret "hush"): the documented signature, bit for bit
    query = proxy_query("shop-name.myshopify.com", 1, "/apps/awesome_reviews", "hush",
                        extra=[("extra", "1"), ("extra", "2")], timestamp=1317327555)
    assert query[-1] == ("signature", "4c68c8624d737112c91818c11017d24d334b524cb5c2b8ba08daa056f7395ddb")
    assert [k for k, _ in query] == ["extra", "extra", "shop", "logged_in_customer_id", "path_prefix", "timestamp",
                                     "signature"]
