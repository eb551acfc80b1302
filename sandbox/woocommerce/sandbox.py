"""``WooCommerceSandbox``: one process, many WordPress + WooCommerce stores; the in-process API for
tests, the demo and the benches."""

from __future__ import annotations

import logging
import re
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from sandbox.store.generator import StoreSpec

from . import admin
from .app import SandboxApp
from .common import WPError
from .rest import error_response
from .store import ApiKey, WooStore, WooWebhook, rand_hash
from .webhooks import Delivery, WebhookDeliverer

log = logging.getLogger(__name__)
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


class SandboxError(Exception):
    pass


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


@dataclass
class _Fault:
    kind: str  # fail, hang
    status: int = 429
    retry_after: float | None = None
    seconds: float = 0.0


class _Bucket:
    """A steady rate limit: ``per_second`` requests, bursts up to ``burst``."""

    def __init__(self, per_second: float, burst: int) -> None:
        self.per_second = per_second
        self.burst = burst
        self.tokens = float(burst)
        self.at = time.monotonic()

    def take(self) -> float | None:
        """None when allowed; else seconds until a request would be."""
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.per_second)
        self.at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return None
        return (1 - self.tokens) / self.per_second


class WooCommerceSandbox:
    """A local WooCommerce: stores, wc-auth, REST API v3, webhooks, storefront and plugin proxy.

    >>> sandbox = WooCommerceSandbox()
    >>> base_url = sandbox.start()                       # doctest: +SKIP
    >>> store = sandbox.add_store("demo", spec=StoreSpec(seed=42, customers=200, orders=800))  # doctest: +SKIP
    """

    def __init__(self, *, webhook_mode: str = "async", webhook_timeout: float = 5.0,
                 require_https_callback: bool = False, https: bool = False, tls: bool = False,
                 public_url: str | None = None,
                 quiet: bool = True, callback_timeout: float = 60.0, proxy_timeout: float = 30.0,
                 rate_limit: float | None = None, rate_limit_burst: int = 10) -> None:
        """``webhook_mode``: ``async`` (a worker delivers), ``manual`` (``flush_webhooks``) or ``sync``.
        ``require_https_callback``: wc-auth refuses an ``http://`` callback_url, as WooCommerce does
        (off by default: the app runs on plain http locally).  ``https``: treat requests as https
        (a TLS-terminating proxy in front): REST accepts Basic auth / query-string keys.  ``tls``:
        serve https itself with a throw-away self-signed certificate (clients: ``verify=False``),
        so store URLs are ``https://`` and the official client uses Basic auth.  ``rate_limit``: every
        store's REST API allows that many requests per second (bursts of ``rate_limit_burst``)."""
        self.webhooks = WebhookDeliverer(mode=webhook_mode, timeout=webhook_timeout)
        self.require_https_callback = require_https_callback
        self.https = https or tls
        self.tls = tls
        self.public_url = public_url.rstrip("/") if public_url else None
        self.quiet = quiet
        self.callback_timeout = callback_timeout
        self.proxy_timeout = proxy_timeout
        self.default_rate_limit = rate_limit
        self.default_rate_limit_burst = rate_limit_burst
        #: every wc-auth callback POST (store, url, body), for tests
        self.wc_auth_callbacks: list[dict[str, Any]] = []
        #: every storefront request the plugin forwarded to the app (store, method, url, params)
        self.proxy_log: list[dict[str, Any]] = []
        self.app = SandboxApp(self)
        self._stores: dict[str, WooStore] = {}
        self._lock = threading.Lock()
        self._faults: dict[str, deque[_Fault]] = {}
        self._buckets: dict[str, _Bucket] = {}
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._live_thread: threading.Thread | None = None
        self._live_stop = threading.Event()

    # --- server ------------------------------------------------------------------------------

    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve on a background thread (``port=0``: any free port); returns the base URL."""
        if self._server is not None:
            return self.base_url
        self._server = make_server(host, port, self.app, threaded=True,
                                   request_handler=_QuietHandler if self.quiet else None,
                                   ssl_context="adhoc" if self.tls else None)
        server = self._server
        self._thread = threading.Thread(target=lambda: server.serve_forever(0.05),
                                        name="woocommerce-sandbox-http", daemon=True)
        self._thread.start()
        self.webhooks.start()
        return self.base_url

    @property
    def base_url(self) -> str:
        if self.public_url:
            return self.public_url
        if self._server is None:
            return "http://sandbox.invalid"
        host, port = self._server.server_address[:2]
        return f"{'https' if self.tls else 'http'}://{host!s}:{port}"

    def stop(self) -> None:
        self.stop_live()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self.webhooks.stop()

    def __enter__(self) -> WooCommerceSandbox:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def is_https(self, request: Request) -> bool:
        return self.https or request.scheme == "https"

    # --- stores ------------------------------------------------------------------------------

    def store_url(self, name: str) -> str:
        return f"{self.base_url}/stores/{name}"

    def add_store(self, name: str, *, spec: StoreSpec | None = None, timezone: str | None = None,
                  title: str | None = None, locale: str = "en_US") -> WooStore:
        """A WordPress site at ``{base_url}/stores/<name>`` seeded from ``spec`` (the shared
        generator; default ``StoreSpec()``); ``timezone`` defaults to the currency's, ``locale`` is
        the site language (``he_IL``, ``fa_IR``…)."""
        name = name.strip().lower()
        if not _NAME_RE.match(name):
            raise SandboxError(f"bad store name {name!r}: lower-case letters, digits and dashes")
        store = WooStore(name, spec or StoreSpec(), url_of=self.store_url, sink=self._route,
                         timezone=timezone, title=title, locale=locale)
        with self._lock:
            self._stores[name] = store
        if self.default_rate_limit:
            self.rate_limit(name, per_second=self.default_rate_limit, burst=self.default_rate_limit_burst)
        return store

    def find_store(self, name_or_url: str) -> WooStore | None:
        name = name_or_url.rstrip("/").rsplit("/stores/", 1)[-1].split("/", 1)[0].lower()
        return self._stores.get(name)

    def store(self, name_or_url: str) -> WooStore:
        store = self.find_store(name_or_url)
        if store is None:
            raise SandboxError(f"no store {name_or_url}")
        return store

    @property
    def stores(self) -> list[WooStore]:
        with self._lock:
            return list(self._stores.values())

    # --- credentials and plugin --------------------------------------------------------------

    def create_api_key(self, store: str, *, permissions: str = "read_write", description: str = "Sandbox",
                       user_id: int = 1) -> ApiKey:
        """A REST API key as WooCommerce › Settings › Advanced › REST API (or wc-auth) makes it."""
        if permissions not in ("read", "write", "read_write"):
            raise SandboxError(f"permissions must be read, write or read_write, not {permissions!r}")
        target = self.store(store)
        with target.lock:
            target._key_id += 1  # noqa: SLF001 - the store's own sequence
            key = ApiKey(key_id=target._key_id, user_id=user_id, description=description,  # noqa: SLF001
                         permissions=permissions, consumer_key="ck_" + rand_hash(),
                         consumer_secret="cs_" + rand_hash())
            target.api_keys[key.key_id] = key
        return key

    def revoke_api_key(self, store: str, key_id: int) -> None:
        target = self.store(store)
        with target.lock:
            target.api_keys.pop(key_id, None)

    def set_plugin(self, store: str, *, app_url: str, secret: str | None = None,
                   shop_domain: str | None = None) -> None:
        """The Comeback plugin is installed and points at ``app_url``; with a ``secret`` it is
        connected (what its claim stores): the storefront shows the widget from
        ``{app_url}/storefront/comeback-widget.js`` and ``/wp-json/comeback/v1`` forwards to the
        app signed with ``secret``.  Without one, wp-admin's Comeback page offers to connect."""
        target = self.store(store)
        base = app_url.rstrip("/")
        target.plugin = {"app_url": base, "shop_domain": shop_domain or target.domain,
                         "widget_script": f"{base}/storefront/comeback-widget.js",
                         "widget_style": f"{base}/storefront/comeback-widget.css"}
        if secret:
            target.plugin["secret"] = secret

    def privacy_export(self, store: str, email: str) -> tuple[int, Any]:
        """WordPress's "Export Personal Data" for ``email``: the plugin asks the app, signed."""
        return admin.privacy_request(self, self.store(store), "export", email)

    def privacy_erase(self, store: str, email: str) -> tuple[int, Any]:
        """WordPress's "Erase Personal Data" for ``email``: the plugin asks the app, signed."""
        return admin.privacy_request(self, self.store(store), "erase", email)

    def clear_plugin(self, store: str) -> None:
        self.store(store).plugin = None

    def set_wc_auth(self, store: str, mode: str) -> None:
        """What the store's admin does on the wc-auth page: ``auto`` (approve), ``manual`` (show
        the Approve/Deny page to a person) or ``deny``."""
        if mode not in ("auto", "manual", "deny"):
            raise SandboxError("wc-auth mode must be auto, manual or deny")
        self.store(store).wc_auth_mode = mode

    # --- webhooks ----------------------------------------------------------------------------

    def create_webhook(self, store: WooStore, *, topic: str, delivery_url: str, secret: str | None = None,
                       name: str | None = None, status: str = "active") -> WooWebhook:
        with store.lock:
            store._webhook_id += 1  # noqa: SLF001
            at = store.stamp()
            webhook = WooWebhook(
                id=store._webhook_id, status=status, topic=topic, delivery_url=delivery_url,  # noqa: SLF001
                secret=secret or secrets.token_urlsafe(38)[:50],
                name=name or f"Webhook created on {at.strftime('%b %d, %Y @ %I:%M %p')}",
                date_created=at, date_modified=at)
            store.webhooks[webhook.id] = webhook
        self.webhooks.ping(store, webhook)  # the REST controller pings every new webhook
        return webhook

    def update_webhook(self, store: WooStore, webhook_id: int, *, topic: str | None = None,
                       delivery_url: str | None = None, secret: str | None = None, status: str | None = None,
                       name: str | None = None) -> WooWebhook:
        with store.lock:
            webhook = store.webhooks.get(webhook_id)
            if webhook is None:
                raise WPError("woocommerce_rest_webhook_invalid_id", "ID is invalid.", 400)
            status_changed = status is not None and status != webhook.status
            if topic:
                webhook.topic = topic
            if delivery_url:
                webhook.delivery_url = delivery_url
            if secret:
                webhook.secret = secret
            if name:
                webhook.name = name
            if status:
                webhook.status = status
                if status == "active":
                    webhook.failure_count = 0 if status_changed else webhook.failure_count
            webhook.date_modified = store.stamp()
            ping = webhook.status == "active" and (status_changed or webhook.pending_delivery)
        if ping:  # the data store pings a webhook that becomes active or never answered its ping
            self.webhooks.ping(store, webhook)
        return webhook

    def _route(self, store: WooStore, topic: str, resource_id: int) -> None:
        with store.lock:
            order = store.orders.get(resource_id) if topic.startswith("order.") else None
            if order is not None and order.status in ("checkout-draft", "auto-draft"):
                return  # WC_Webhook::is_valid_resource ignores draft orders
            hooks = [w for w in store.webhooks.values() if w.status == "active" and w.topic == topic]
        for webhook in hooks:
            self.webhooks.enqueue(store, webhook, resource_id)

    def pause_webhooks(self) -> None:
        """The store's queue runner (Action Scheduler / WP-Cron) stops: changes queue up (and
        coalesce) until ``resume_webhooks`` or ``flush_webhooks``."""
        self.webhooks.stop()

    def resume_webhooks(self) -> None:
        """The queue runner is back: in ``async`` mode the worker delivers what waited."""
        self.webhooks.start()

    def flush_webhooks(self) -> int:
        return self.webhooks.flush()

    def wait_idle(self, timeout: float = 10.0) -> bool:
        return self.webhooks.wait_idle(timeout)

    def deliveries(self, store: str | None = None, *, kind: str | None = "delivery") -> list[Delivery]:
        """The store's webhook POSTs so far (``kind=None``: pings too)."""
        return self.webhooks.deliveries(self.store(store).name if store else None, kind=kind)

    def drop_next_delivery(self, store: str, n: int = 1) -> None:
        self.webhooks.drop_next(self.store(store).name, n)

    # --- faults ------------------------------------------------------------------------------

    def fail_next(self, store: str, n: int = 1, *, status: int = 429, retry_after: float | None = None) -> None:
        """The next ``n`` REST requests to ``store`` get ``status`` (429: ``Retry-After`` when given)
        before authentication, as a host's rate limiter or an overloaded PHP would answer."""
        name = self.store(store).name
        with self._lock:
            queue = self._faults.setdefault(name, deque())
            for _ in range(n):
                queue.append(_Fault("fail", status=status, retry_after=retry_after))

    def hang_next(self, store: str, n: int = 1, *, seconds: float = 30.0) -> None:
        """The next ``n`` REST requests wait ``seconds`` before answering (client timeouts)."""
        name = self.store(store).name
        with self._lock:
            queue = self._faults.setdefault(name, deque())
            for _ in range(n):
                queue.append(_Fault("hang", seconds=seconds))

    def rate_limit(self, store: str, *, per_second: float | None, burst: int = 10) -> None:
        """A steady limit on ``store``'s REST API (429 + ``Retry-After`` beyond it); None: off."""
        name = self.store(store).name
        with self._lock:
            if per_second:
                self._buckets[name] = _Bucket(float(per_second), burst)
            else:
                self._buckets.pop(name, None)

    def take_fault(self, store: str) -> Response | None:
        with self._lock:
            queue = self._faults.get(store)
            fault = queue.popleft() if queue else None
            bucket = self._buckets.get(store)
            wait = bucket.take() if bucket is not None and fault is None else None
        if fault is not None and fault.kind == "hang":
            time.sleep(fault.seconds)
            return None
        if fault is not None:
            headers = {}
            if fault.retry_after is not None:
                headers["Retry-After"] = str(int(fault.retry_after) if float(fault.retry_after).is_integer()
                                             else fault.retry_after)
            if fault.status == 429:
                error = WPError("woocommerce_rest_too_many_requests", "Too many requests. Please wait and try again.",
                                429)
            else:
                error = WPError("internal_server_error", "There has been a critical error on this website.",
                                fault.status)
            return error_response(error, headers)
        if wait is not None:
            return error_response(WPError("woocommerce_rest_too_many_requests",
                                          "Too many requests. Please wait and try again.", 429),
                                  {"Retry-After": str(max(1, round(wait + 0.5)))})
        return None

    # --- live mode ---------------------------------------------------------------------------

    def start_live(self, interval_seconds: float = 5.0) -> None:
        """Keep placing, completing and refunding orders and adding customers in every store."""
        self.stop_live()
        self._live_stop.clear()
        self._live_thread = threading.Thread(target=self._live_loop, args=(interval_seconds,),
                                             name="woocommerce-sandbox-live", daemon=True)
        self._live_thread.start()

    def stop_live(self) -> None:
        self._live_stop.set()
        if self._live_thread is not None:
            self._live_thread.join(timeout=5)
            self._live_thread = None

    def _live_loop(self, interval: float) -> None:
        while not self._live_stop.wait(interval):
            for store in self.stores:
                try:
                    store.live_tick()
                except Exception:  # noqa: BLE001 - keep the demo running
                    log.exception("live step failed for %s", store.name)


__all__ = ["SandboxError", "WooCommerceSandbox"]
