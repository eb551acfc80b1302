"""The demo's stores beyond Shopify's (``manage.py demo``), and the platform packages' demo helpers.

The WooCommerce store: the WooCommerce sandbox, seeded like the
Shopify one; the app connected the way a merchant does it from our WordPress plugin (wc-auth,
then the plugin's claim of its secret); the store's history synced; live orders.

Everything goes over HTTP, as with a real store: the command drives the sandbox (the store and its
shoppers) and the browser, never the app's services.
"""

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from importlib import import_module
from typing import Any
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import requests
from django.core.management.base import CommandError

from commerce.models import Customer, Order, Platform, Product, Shop
from integrations import selectors
from integrations.models import SyncStatus
from integrations.platforms import adapter_for


def platform_demo(platform: str) -> Any:
    """The platform package's ``demo`` module (the demo-only helpers it offers), found through the
    registry: the package that holds the registered adapter.  Nothing outside ``integrations/``
    imports a platform package by name."""
    package = type(adapter_for(platform)).__module__.rpartition(".")[0]
    return import_module(f"{package}.demo")


#: The store's name in the sandbox: it lives at ``<sandbox>/stores/<name>``.
STORE = "demo-woo"
#: The store's WordPress administrator (the sandbox's logged-in wp-admin user).
WP_ADMIN_ID = "1"


class WooDemo:
    """The demo's WooCommerce store, from seeding to live orders."""

    def __init__(self, say: Callable[[str], None], *, app_url: str, seed: int, customers: int, orders: int,
                 write: Callable[[str], None]) -> None:
        self._say, self._write = say, write
        self.app_url = app_url
        self.seed, self.customers, self.orders = seed, customers, orders
        self.sandbox: Any = None
        self.store_url = ""

    # --- the store ---------------------------------------------------------------------------

    def start(self, *, port: int) -> None:
        from sandbox.store import StoreSpec
        from sandbox.woocommerce import WooCommerceSandbox

        self._say(f"seeding the WooCommerce sandbox store ({self.customers} customers, {self.orders} orders)")
        # Webhooks go out from the sandbox's own thread, as WordPress's Action Scheduler sends them.
        self.sandbox = WooCommerceSandbox(webhook_mode="async")
        try:
            self.sandbox.start(host="127.0.0.1", port=port)
        except OSError as error:
            raise CommandError(f"the WooCommerce sandbox cannot listen on port {port} ({error}):"
                               " set WOO_SANDBOX_PORT (or --woo-port) to a free port") from error
        store = self.sandbox.add_store(STORE, spec=StoreSpec(seed=self.seed, customers=self.customers,
                                                             orders=self.orders, now=datetime.now(UTC)),
                                     title="Demo Woo Store")
        self.store_url = store.url

    def stop(self) -> None:
        if self.sandbox is not None:
            self.sandbox.stop()

    @property
    def plugin_page(self) -> str:
        """The plugin's settings page in wp-admin, where "Connect to Comeback" starts and returns."""
        return f"{self.store_url}/wp-admin/admin.php?page=comeback"

    # --- connecting ----------------------------------------------------------------------------

    def connect(self) -> Shop:
        """"Connect to Comeback" in the plugin: the browser goes through wc-auth (the sandbox's
        administrator approves) and comes back to the plugin's page with a claim code, which the
        plugin trades (server to server) for the shop's secret; then the history sync runs."""
        self._say(f"connecting {self.store_url} through wc-auth, as the WordPress plugin does")
        browser = requests.Session()
        url = f"{self.app_url}/woocommerce/connect?" + urlencode(
            {"store_url": self.store_url, "return_url": self.plugin_page})
        done = threading.Event()
        reporter = threading.Thread(target=self._report_sync, args=(done,), daemon=True)
        reporter.start()
        try:
            code = self._walk_to_plugin(browser, url)
        finally:
            done.set()
        claim = requests.post(f"{self.app_url}/woocommerce/plugin/claim",
                              json={"code": code, "store_url": self.store_url}, timeout=30)
        if claim.status_code != 200:
            raise CommandError(f"the plugin's claim failed ({claim.status_code}): {claim.text[:300]}")
        granted = claim.json()
        self.sandbox.set_plugin(STORE, app_url=self.app_url, shop_domain=granted["shop"], secret=granted["secret"])
        shop = Shop.objects.get(platform=Platform.WOOCOMMERCE, domain=granted["shop"])
        self._sync_wait(shop)
        return shop

    def _walk_to_plugin(self, browser: requests.Session, url: str) -> str:
        """Follow the browser's redirects (app -> wc-auth -> app -> plugin page) and read the claim
        code the app hands the plugin."""
        for _hop in range(10):
            response = browser.get(url, allow_redirects=False, timeout=1800)
            location = response.headers.get("Location", "")
            if response.status_code not in (301, 302, 303, 307, 308) or not location:
                raise CommandError(f"connecting failed ({response.status_code} at {url}): {response.text[:300]}")
            url = urljoin(url, location)
            if url.startswith(self.plugin_page):
                codes = parse_qs(urlsplit(url).query).get("comeback_code", [])
                if not codes:
                    raise CommandError(f"the plugin's page got no claim code: {url}")
                return codes[0]
        raise CommandError(f"connecting went round in circles (last at {url})")

    def _sync_wait(self, shop: Shop, *, timeout: float = 1800) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            run = selectors.sync_latest(shop=shop)
            if run is not None and run.status == SyncStatus.COMPLETED:
                return
            if run is not None and run.status == SyncStatus.FAILED:
                raise CommandError(f"the WooCommerce history sync failed: {run.error[:300]}")
            time.sleep(1)
        raise CommandError("the WooCommerce history sync did not finish")

    def _report_sync(self, done: threading.Event) -> None:
        while not done.wait(3):
            shop = Shop.objects.filter(platform=Platform.WOOCOMMERCE, storefront_url=self.store_url).first()
            run = selectors.sync_latest(shop=shop) if shop else None
            if run is not None:
                counts = ", ".join(f"{k} {v.get('objects', 0)}" for k, v in run.progress.items())
                self._say(f"WooCommerce sync {run.status}: {counts}")

    # --- live ------------------------------------------------------------------------------

    def start_live(self, *, interval_seconds: float) -> None:
        self.sandbox.start_live(interval_seconds=interval_seconds)

    # --- what a person opens -----------------------------------------------------------------

    def summary(self, shop: Shop, *, top_customer: str, dashboard_password: str) -> None:
        from billing.selectors import plan_for

        run = selectors.sync_latest(shop=shop)
        woo = platform_demo(Platform.WOOCOMMERCE)
        link = woo.admin_link(shop=shop, app_url=self.app_url, wordpress_user_id=WP_ADMIN_ID,
                              email=f"admin@{urlsplit(self.store_url).hostname}")
        storefront = shop.storefront_url.rstrip("/")
        lines = [
            "",
            f"  WooCommerce     {shop.name} ({shop.domain}) · {shop.currency} · {shop.timezone}"
            f" · plan: {plan_for(shop=shop).name}",
            f"  Synced          {Customer.objects.filter(shop=shop).count()} customers, "
            f"{Product.objects.filter(shop=shop).count()} products, {Order.objects.filter(shop=shop).count()} orders"
            f" (sync {run.status if run else '-'})",
            f"  Dashboard       {self.app_url}/dashboard/?shop={shop.domain}   login: demo / {dashboard_password}"
            "   (the same login: the shop switch is at the top)",
            f"  Plugin link     {link}   (the plugin's Comeback menu: signed, opens the dashboard once,"
            " within a minute)",
            f"  Storefront      {storefront}/   (a WordPress shop page with the widget, as the plugin renders it)",
            f"  Shopper         {storefront}/my-account?sandbox_login={top_customer}"
            "   (logged in: their points in the widget)",
            f"  REST API        {storefront}/wp-json/wc/v3/",
            "",
        ]
        self._write("\n".join(lines))
