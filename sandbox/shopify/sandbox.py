"""``ShopifySandbox``: one process, many shops, one app; the in-process API for tests and demo."""

from __future__ import annotations

import logging
import random
import threading
import tomllib
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import cache
from typing import Any
from urllib.parse import urlsplit

from graphql import GraphQLSchema
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from sandbox.store.generator import StoreSpec
from sandbox.store.model import BulkOperation

from . import tokens
from .app import SandboxApp
from .bulk import BulkManager, finish_payload
from .common import API_VERSION, DEFAULT_ANCHOR, utc_now
from .cost import LeakyBucket
from .schema import build
from .sdl import TOPIC_ENUM
from .store import DEFAULT_SCOPES, PRIVACY_TOPICS, SandboxError, Shop
from .storefront import valid_proxy_path
from .theme import DEFAULT_EXTENSION, ThemeExtension
from .tokens import TokenPolicy
from .webhooks import Delivery, WebhookSender

log = logging.getLogger(__name__)


_UNSET: Any = object()
NON_EXPIRING_UNTIL = datetime(2027, 1, 1, tzinfo=UTC)


@cache
def shared_schema() -> GraphQLSchema:
    """The schema is immutable once built, so every sandbox shares one."""
    return build()


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


def normalize_domain(domain: str) -> str:
    domain = domain.strip().lower()
    for prefix in ("https://", "http://"):
        if domain.startswith(prefix):
            domain = domain[len(prefix):]
    domain = domain.split("/", 1)[0]
    if not domain.endswith(".myshopify.com"):
        domain = f"{domain.split('.', 1)[0]}.myshopify.com"
    return domain


class ShopifySandbox:
    """A local Shopify: shops, OAuth, GraphQL Admin API, bulk operations and webhooks.

    >>> sandbox = ShopifySandbox(api_key="k", api_secret="s", webhook_backoff=0.05)
    >>> base_url = sandbox.start()                     # doctest: +SKIP
    >>> shop = sandbox.add_shop("demo-store", seed=42)  # doctest: +SKIP
    """

    def __init__(
        self,
        api_key: str = "sandbox-api-key",
        api_secret: str = "sandbox-api-secret",
        *,
        webhook_backoff: float = 1.0,
        webhook_retries: int = 8,
        webhook_timeout: float = 5.0,
        webhook_connect_timeout: float = 1.0,
        webhook_workers: int = 1,
        bucket_size: float = 2000,
        restore_rate: float = 100,
        max_query_cost: int | None = 1000,
        enforce_scopes: bool = True,
        require_read_all_orders: bool = True,
        bulk_min_duration: float = 0.0,
        data_dir: str | None = None,
        api_version: str = API_VERSION,
        public_url: str | None = None,
        quiet: bool = True,
        access_token_lifetime: float = 3600.0,
        refresh_token_lifetime: float = 90 * 86400.0,
        non_expiring_tokens_until: datetime | None = NON_EXPIRING_UNTIL,
        token_refresh_delay: float = 0.0,
    ) -> None:
        """Token arguments: expiring offline tokens live ``access_token_lifetime`` seconds (Shopify:
        one hour); from ``non_expiring_tokens_until`` (Shopify: 2027-01-01; None: never) the Admin
        API refuses non-expiring ones; ``token_refresh_delay`` slows refreshes (race tests)."""
        self.api_key = api_key
        #: every request to a token endpoint: shop, grant_type, expiring (and the token types)
        self.token_requests: list[dict[str, str]] = []
        self.token_policy = TokenPolicy(
            access_token_lifetime=access_token_lifetime, refresh_token_lifetime=refresh_token_lifetime,
            non_expiring_until=non_expiring_tokens_until, refresh_delay=token_refresh_delay)
        self.api_secret = api_secret
        self.api_version = api_version
        self.bucket_size = bucket_size
        self.restore_rate = restore_rate
        self.max_query_cost = max_query_cost
        self.enforce_scopes = enforce_scopes
        self.require_read_all_orders = require_read_all_orders
        self.default_scopes = DEFAULT_SCOPES
        self.privacy_webhook_uri: str | None = None
        self.redirect_uris: list[str] | None = None
        #: the app's own URL: the storefront embeds ``{app_url}/storefront/comeback-widget.js``
        #: and the app proxy forwards to ``app_proxy_url`` (default ``{app_url}/proxy``)
        self.app_url: str | None = None
        #: where the admin loads the embedded app (``application_url``; default ``{app_url}/``)
        self._application_url: str | None = None
        self.app_proxy_path = "/apps/comeback"
        self.app_proxy_url: str | None = None
        self.app_proxy_timeout = 30.0
        #: the app's deployed theme app extension (its app embed renders on shops that switched it
        #: on); by default the repository's extensions/comeback-widget, read on first use
        self.theme_extension_path: str | None = str(DEFAULT_EXTENSION) if DEFAULT_EXTENSION.is_dir() else None
        self._theme_extension: ThemeExtension | None = None
        self.public_url = public_url.rstrip("/") if public_url else None
        self.quiet = quiet
        self.schema = shared_schema()
        self.webhooks = WebhookSender(
            api_secret, backoff=webhook_backoff, retries=webhook_retries,
            timeout=webhook_timeout, connect_timeout=webhook_connect_timeout,
            workers=webhook_workers, api_version=api_version)
        self.bulk = BulkManager(self.schema, lambda: self.base_url, data_dir, bulk_min_duration,
                                on_finish=self._bulk_finished)
        self.app = SandboxApp(self)
        self._shops: dict[str, Shop] = {}
        self._shops_lock = threading.Lock()
        self._server: BaseWSGIServer | None = None
        self._server_thread: threading.Thread | None = None
        self._live_thread: threading.Thread | None = None
        self._live_stop = threading.Event()
        self.undeliverable: list[tuple[str, str]] = []  # (shop, topic) with no address

    # --- server ------------------------------------------------------------------------------

    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve on a background thread (``port=0``: any free port); returns the base URL."""
        if self._server is not None:
            return self.base_url
        self._server = make_server(host, port, self.app, threaded=True,
                                   request_handler=_QuietHandler if self.quiet else None)
        server = self._server
        self._server_thread = threading.Thread(target=lambda: server.serve_forever(0.05),
                                               name="shopify-sandbox-http", daemon=True)
        self._server_thread.start()
        self.webhooks.start()
        return self.base_url

    @property
    def base_url(self) -> str:
        if self.public_url:
            return self.public_url
        if self._server is None:
            return "http://sandbox.invalid"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def wsgi_app(self) -> SandboxApp:
        return self.app

    def stop(self) -> None:
        """Stop live mode, the HTTP server, webhook workers and bulk runs; remove temp files."""
        self.stop_live()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._server_thread is not None:
            self._server_thread.join(timeout=5)
            self._server_thread = None
        self.webhooks.stop()
        self.bulk.close()

    def __enter__(self) -> ShopifySandbox:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- app configuration -------------------------------------------------------------------

    def app_config(self, *, privacy_webhook_uri: str | None = _UNSET,
                   redirect_uris: Iterable[str] | None = _UNSET,
                   api_secret: str | None = _UNSET, scopes: str | None = _UNSET,
                   app_url: str | None = _UNSET, app_proxy_path: str = _UNSET,
                   app_proxy_url: str | None = _UNSET, app_proxy_timeout: float = _UNSET,
                   theme_extension: str | None = _UNSET, application_url: str | None = _UNSET) -> None:
        """The app's settings in the Partner dashboard (only what is given changes).

        ``app_url`` switches the storefront side on: shop pages embed the app's widget and
        ``{origin}{app_proxy_path}/*`` (default ``/apps/comeback``) is forwarded, signed, to
        ``app_proxy_url`` (default ``{app_url}/proxy``).  ``theme_extension``: the folder of the
        theme app extension to deploy (None: none)."""
        if privacy_webhook_uri is not _UNSET:
            self.privacy_webhook_uri = privacy_webhook_uri
        if redirect_uris is not _UNSET:
            self.redirect_uris = list(redirect_uris) if redirect_uris else None
        if api_secret is not _UNSET and api_secret:
            self.set_api_secret(api_secret)
        if scopes is not _UNSET and scopes:
            self.default_scopes = scopes
        if app_url is not _UNSET:
            self.app_url = app_url.rstrip("/") if app_url else None
        if app_proxy_path is not _UNSET:
            self.app_proxy_path = valid_proxy_path(app_proxy_path)
        if app_proxy_url is not _UNSET:
            self.app_proxy_url = app_proxy_url.rstrip("/") if app_proxy_url else None
        if app_proxy_timeout is not _UNSET:
            self.app_proxy_timeout = float(app_proxy_timeout)
        if application_url is not _UNSET:
            self._application_url = application_url or None
        if theme_extension is not _UNSET:
            self.theme_extension_path = str(theme_extension) if theme_extension else None
            self._theme_extension = ThemeExtension(theme_extension) if theme_extension else None

    def app_deploy(self, config_path: str, *, app_url: str) -> None:
        """``shopify app deploy`` of a ``shopify.app.toml``: its scopes, redirect URLs, app proxy and
        compliance webhook address become the app's settings, with the origin of its
        ``application_url`` replaced by ``app_url`` (the file names a placeholder host).  Topic
        subscriptions stay per shop (the app registers them through the API at install)."""
        with open(config_path, "rb") as fh:
            config = tomllib.load(fh)
        declared = urlsplit(str(config["application_url"]))
        origin = f"{declared.scheme}://{declared.netloc}"
        app_url = app_url.rstrip("/")

        def here(url: str) -> str:
            return app_url + url[len(origin):] if url.startswith(origin) else url

        compliance = [s for s in config.get("webhooks", {}).get("subscriptions", []) if s.get("compliance_topics")]
        proxy = config.get("app_proxy") or {}
        self.app_config(
            app_url=app_url,
            scopes=str(config.get("access_scopes", {}).get("scopes", "")) or _UNSET,
            redirect_uris=[here(u) for u in config.get("auth", {}).get("redirect_urls", [])] or None,
            privacy_webhook_uri=here(str(compliance[0]["uri"])) if compliance else None,
            app_proxy_path=f"/{proxy['prefix']}/{proxy['subpath']}" if proxy else _UNSET,
            app_proxy_url=here(str(proxy["url"])) if proxy else None,
            application_url=here(str(config["application_url"])),
        )

    @property
    def application_url(self) -> str | None:
        """Where the admin opens the embedded app (``application_url``), or None without an app URL."""
        if self._application_url:
            return self._application_url
        return f"{self.app_url}/" if self.app_url else None

    @property
    def theme_extension(self) -> ThemeExtension | None:
        """The deployed theme app extension, parsed (Liquid and schema) on first use."""
        if self._theme_extension is None and self.theme_extension_path:
            self._theme_extension = ThemeExtension(self.theme_extension_path)
        return self._theme_extension

    @property
    def app_proxy_target(self) -> str:
        """Where the app proxy forwards to (the "Proxy URL" of the app's settings)."""
        return self.app_proxy_url or f"{self.app_url or ''}/proxy"

    def set_api_secret(self, secret: str) -> None:
        """Rotate the app secret: OAuth HMACs, token exchange and webhook signatures."""
        self.api_secret = secret
        self.webhooks.set_secret(secret)

    # --- shops -------------------------------------------------------------------------------

    def add_shop(
        self,
        domain: str,
        *,
        seed: int = 0,
        customers: int = 2000,
        orders: int = 8000,
        products: int = 70,
        currency: str = "USD",
        now: datetime | None = None,
        months: int = 24,
        name: str | None = None,
        manual_approval: bool = False,
        tax_rate: Decimal | None = None,
        timezone: str | None = None,
        locales: tuple[tuple[str, float], ...] | None = None,
        guest_order_rate: float = 0.02,
        installed: bool = True,
    ) -> Shop:
        """Generate a shop.  ``now`` is the data anchor (default :data:`DEFAULT_ANCHOR`);
        ``installed=False``: the app is not installed yet (its admin page offers the install)."""
        domain = normalize_domain(domain)
        spec_kwargs: dict[str, Any] = {}
        if locales:
            spec_kwargs["locales"] = locales
        spec = StoreSpec(
            seed=seed, customers=customers, orders=orders, products=products,
            currency=currency.upper(), now=(now or DEFAULT_ANCHOR).replace(microsecond=0),
            months=months, tax_rate=tax_rate, guest_order_rate=guest_order_rate, **spec_kwargs)
        if spec.currency not in self.schema.type_map["CurrencyCode"].values:  # type: ignore[attr-defined]
            raise SandboxError(f"unknown currency {currency}")
        shop = Shop(domain, spec, sink=self._route, origin_of=self.origin_of,
                    bucket=LeakyBucket(self.bucket_size, self.restore_rate), name=name,
                    manual_approval=manual_approval, timezone=timezone)
        shop.installed = installed
        with self._shops_lock:
            self._shops[domain] = shop
        return shop

    def origin_of(self, domain: str) -> str:
        return f"{self.base_url}/shops/{domain}"

    def find_shop(self, domain: str) -> Shop | None:
        return self._shops.get(normalize_domain(domain))

    def shop(self, domain: str) -> Shop:
        shop = self.find_shop(domain)
        if shop is None:
            raise SandboxError(f"no shop {domain}")
        return shop

    @property
    def shops(self) -> list[Shop]:
        with self._shops_lock:
            return list(self._shops.values())

    def install(self, domain: str, scopes: str | None = None, *, expiring: bool = True) -> str:
        """An access token for ``domain`` without the OAuth dance: expiring like every install's
        since 2027 (``access_token_lifetime``), or a legacy non-expiring one."""
        lifetime = self.token_policy.access_token_lifetime if expiring else None
        return self.shop(domain).issue_token(scopes or self.default_scopes, lifetime=lifetime)

    def grant(self, domain: str, scopes: str | None = None, *, expiring: bool = True) -> dict[str, Any]:
        """What the token endpoint answers for an install: ``access_token``, ``scope`` and, when
        ``expiring``, ``expires_in``, ``refresh_token`` and ``refresh_token_expires_in``."""
        scope_list = [s.strip() for s in (scopes or self.default_scopes).split(",") if s.strip()]
        return tokens.grant(self.shop(domain), scope_list, policy=self.token_policy, expiring=expiring)

    # --- events ------------------------------------------------------------------------------

    def _route(self, shop: Shop, topic: str, payload: dict[str, Any]) -> None:
        event_id = str(uuid.uuid4())
        at = shop.now()
        if topic in PRIVACY_TOPICS:
            if self.privacy_webhook_uri:
                self.webhooks.enqueue(shop.domain, topic, self.privacy_webhook_uri, payload,
                                      event_id, at)
            else:
                self.undeliverable.append((shop.domain, topic))
            return
        enum = TOPIC_ENUM.get(topic)
        for sub in list(shop.subscriptions.values()):
            if sub.topic == enum:
                self.webhooks.enqueue(shop.domain, topic, sub.uri, payload, event_id, at)

    def _bulk_finished(self, shop: Shop, op: BulkOperation) -> None:
        shop.emit("bulk_operations/finish", finish_payload(op))

    def deliveries(self, topic: str | None = None, shop: str | None = None) -> list[Delivery]:
        return self.webhooks.deliveries(topic, normalize_domain(shop) if shop else None)

    # --- live mode ---------------------------------------------------------------------------

    def start_live(self, interval_seconds: float = 5.0, *, seed: int | None = None) -> None:
        """Keep placing orders (and sometimes fulfilling, refunding, cancelling, adding
        customers, changing consent) in every shop until :meth:`stop_live`."""
        self.stop_live()
        self._live_stop.clear()
        rng = random.Random(seed)
        self._live_thread = threading.Thread(
            target=self._live_loop, args=(interval_seconds, rng), name="shopify-sandbox-live",
            daemon=True)
        self._live_thread.start()

    def stop_live(self) -> None:
        self._live_stop.set()
        if self._live_thread is not None:
            self._live_thread.join(timeout=5)
            self._live_thread = None

    def _live_loop(self, interval: float, rng: random.Random) -> None:
        while not self._live_stop.wait(interval * rng.uniform(0.5, 1.5)):
            for shop in self.shops:
                try:
                    live_tick(shop, rng)
                except Exception:  # noqa: BLE001 - keep the demo running
                    log.exception("live mode step failed for %s", shop.domain)


def live_tick(shop: Shop, rng: random.Random) -> None:
    """One step of simulated store activity."""
    shop.place_order(new_customer=rng.random() < 0.3,
                     financial_status="pending" if rng.random() < 0.05 else "paid",
                     use_app_codes=0.3)
    with shop.lock:
        recent = shop.orders[-60:]
    cutoff = shop.now() - timedelta(days=30)
    open_orders = [o for o in recent if o.cancelled_at is None and o.fulfillment != "FULFILLED"
                   and o.payment == "paid"]
    if open_orders and rng.random() < 0.35:
        shop.fulfil_order(rng.choice(open_orders).id)
    pending = [o for o in recent if o.payment == "pending" and o.cancelled_at is None]
    if pending and rng.random() < 0.3:
        shop.mark_paid(rng.choice(pending).id)
    fulfilled = [o for o in recent if o.fulfillment == "FULFILLED" and o.payment == "paid"
                 and o.created_at >= cutoff and o.financial_status == "PAID"]
    if fulfilled and rng.random() < 0.06:
        order = rng.choice(fulfilled)
        line = rng.choice(order.line_items)
        shop.refund_order(order.id, [(line.id, 1)], Decimal("0"), note="Customer return")
    cancellable = [o for o in recent if o.cancelled_at is None and o.fulfillment == "UNFULFILLED"]
    if cancellable and rng.random() < 0.03:
        shop.cancel_order(rng.choice(cancellable).id, "customer")
    if rng.random() < 0.05:
        customers = shop.customers
        if customers:
            customer = rng.choice(customers)
            if customer.email:
                state = rng.choice(("SUBSCRIBED", "UNSUBSCRIBED"))
                shop.update_customer(customer.id, email_marketing=state)


__all__ = ["ShopifySandbox", "DEFAULT_SCOPES", "live_tick", "normalize_domain", "utc_now"]
