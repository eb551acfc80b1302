"""Fixtures for the WooCommerce sandbox tests (no Django involved)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from woocommerce import API

from sandbox.woocommerce import ApiKey, StoreSpec, WooCommerceSandbox, WooStore


@pytest.fixture
def sandbox() -> Iterator[WooCommerceSandbox]:
    box = WooCommerceSandbox(webhook_mode="manual")
    box.start(host="127.0.0.1", port=0)
    try:
        yield box
    finally:
        box.stop()


@pytest.fixture
def store(sandbox: WooCommerceSandbox) -> WooStore:
    return sandbox.add_store("oak-and-ash", spec=StoreSpec(seed=42, customers=60, orders=230, products=12))


@pytest.fixture
def key(sandbox: WooCommerceSandbox, store: WooStore) -> ApiKey:
    return sandbox.create_api_key(store.name)


@pytest.fixture
def wc(store: WooStore, key: ApiKey) -> API:
    """The official client, as the app uses it: OAuth 1.0a over http."""
    return API(url=store.url, consumer_key=key.consumer_key, consumer_secret=key.consumer_secret,
               version="wc/v3", timeout=10)


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """A tiny HTTP endpoint: records every request; answers ``reply`` with a status from
    ``statuses`` (then ``default``)."""

    url: str
    requests: list[Received] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    default: int = 200
    reply: bytes = b""
    lock: threading.Lock = field(default_factory=threading.Lock)

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
                status = state.statuses.pop(0) if state.statuses else state.default
                reply = state.reply
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        do_GET = do_POST  # noqa: N815 - the proxy tests' app answers GETs too

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
