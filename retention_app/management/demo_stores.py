"""The demo's WooCommerce store (``manage.py demo``), and how the demo finds a platform package's
demo helpers (through the registry).

The WooCommerce store: the WooCommerce sandbox, seeded by the same generator as the Shopify one;
the app connected the way a merchant does it from our WordPress plugin (wc-auth, then the plugin's
claim of its secret); the store's history synced; live orders.

Everything goes over HTTP, as with a real store: the command drives the sandbox (the store and its
shoppers) and the browser, never the app's services.
"""

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from importlib import import_module
from typing import Any

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

    def wp_admin(self, page: str) -> str:
        """A page of the store's wp-admin (the sandbox's administrator is always logged in)."""
        return f"{self.store_url}/wp-admin/admin.php?page={page}"

    # --- connecting ----------------------------------------------------------------------------

    def connect(self) -> Shop:
        """The merchant installs our WordPress plugin and clicks "Connect to Comeback" on its
        settings page: the browser goes through wc-auth (the store's administrator approves, the
        store posts REST keys to our callback) and back to the plugin's page with a single-use
        code, which the plugin trades server to server for the shop's secret.  Then the history
        sync (started by the connect) is waited for."""
        self._say(f"connecting {self.store_url} from its WordPress plugin (wc-auth, then the plugin's claim)")
        self.sandbox.set_plugin(STORE, app_url=self.app_url)  # installed, pointing at this server
        browser = requests.Session()
        done = threading.Event()
        reporter = threading.Thread(target=self._report_sync, args=(done,), daemon=True)
        reporter.start()
        try:
            landed = browser.post(f"{self.store_url}/wp-admin/admin-post.php", data={"action": "comeback_connect"},
                                  timeout=1800)
        finally:
            done.set()
        if landed.status_code != 200 or "comeback_notice=connected" not in landed.url:
            raise CommandError(f"connecting the WooCommerce store failed ({landed.status_code} at {landed.url}):"
                               f" {landed.text[:300]}")
        store = self.sandbox.store(STORE)
        shop = Shop.objects.get(platform=Platform.WOOCOMMERCE, domain=store.plugin["shop_domain"])
        self._sync_wait(shop)
        return shop

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
            f"  WordPress admin {self.wp_admin('comeback')}   (the plugin's Comeback menu: opens the dashboard"
            " through a signed one-minute link, no password)",
            f"  Plugin settings {self.wp_admin('comeback-settings')}",
            f"  Storefront      {storefront}/   (a WordPress shop page with the widget, as the plugin renders it;"
            " add ?lang=he or ?lang=fa for right-to-left)",
            f"  Shopper         {storefront}/my-account?sandbox_login={top_customer}"
            "   (a loyal shopper logged in: their points in the widget)",
            "",
        ]
        self._write("\n".join(lines))
