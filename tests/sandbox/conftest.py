"""Fixtures for the Shopify sandbox tests (no Django involved)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import shopify

from sandbox.shopify import API_VERSION, ShopifySandbox
from sandbox.shopify.store import Shop

API_KEY = "test-key"
API_SECRET = "test-secret"
DOMAIN = "demo-store.myshopify.com"


@pytest.fixture
def sandbox() -> Iterator[ShopifySandbox]:
    box = ShopifySandbox(api_key=API_KEY, api_secret=API_SECRET, webhook_backoff=0.05)
    box.start(host="127.0.0.1", port=0)
    try:
        yield box
    finally:
        box.stop()


@pytest.fixture
def shop(sandbox: ShopifySandbox) -> Shop:
    return sandbox.add_shop(DOMAIN, seed=42, customers=120, orders=400)


@pytest.fixture
def token(sandbox: ShopifySandbox, shop: Shop) -> str:
    return sandbox.install(shop.domain)


GraphQL = Callable[..., dict[str, Any]]


@pytest.fixture
def gql(shop: Shop, token: str) -> Iterator[GraphQL]:
    """Run a query with the real ShopifyAPI client; returns the decoded JSON body."""

    def run(query: str, variables: dict[str, Any] | None = None, *, as_token: str | None = None
            ) -> dict[str, Any]:
        shopify.ShopifyResource.set_site(f"{shop.origin}/admin/api/{API_VERSION}")
        shopify.ShopifyResource.set_headers({"X-Shopify-Access-Token": as_token or token})
        return json.loads(shopify.GraphQL().execute(query, variables))  # type: ignore[no-any-return]

    yield run
    shopify.ShopifyResource.clear_session()


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def topic(self) -> str:
        return self.headers["X-Shopify-Topic"]

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """A tiny webhook endpoint: records every POST; answers from ``statuses`` then 200."""

    url: str
    requests: list[Received] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def topics(self) -> list[str]:
        with self.lock:
            return [r.topic for r in self.requests]

    def wait_for(self, count: int, timeout: float = 5.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.requests) >= count:
                    return list(self.requests)
            time.sleep(0.01)
        with self.lock:
            return list(self.requests)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            with state.lock:
                state.requests.append(Received(self.path, dict(self.headers.items()), body))
                status = state.statuses.pop(0) if state.statuses else 200
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/webhooks"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
