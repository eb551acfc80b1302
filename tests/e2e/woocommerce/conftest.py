"""Full-pipe fixtures for WooCommerce: the WooCommerce sandbox over real HTTP and the app on a live
server, connected through the real wc-auth flow (and the plugin's claim) as a merchant does it."""

import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests
from django.db.models import Sum

from commerce.models import Customer, Order, Refund, Shop
from sandbox.store import StoreSpec
from sandbox.woocommerce import WooCommerceSandbox, WooStore

#: The WordPress admin page of the Comeback plugin: where wc-auth sends the merchant back.
PLUGIN_PAGE = "/wp-admin/admin.php?page=comeback-settings"


@pytest.fixture
def woo_sandbox() -> Iterator[WooCommerceSandbox]:
    box = WooCommerceSandbox(webhook_mode="async", webhook_timeout=10.0)
    box.start(host="127.0.0.1", port=0)
    try:
        yield box
    finally:
        box.stop()


@pytest.fixture
def app(live_server: Any, woo_sandbox: WooCommerceSandbox, settings: Any) -> Any:
    """The app on a live server; the sandbox's stores (on 127.0.0.1) may connect to it, and their
    webhooks and wc-auth callbacks come back to it over HTTP."""
    settings.APP_URL = live_server.url
    settings.WOOCOMMERCE_ALLOW_LOCAL_STORES = True
    return live_server


def add_store(sandbox: WooCommerceSandbox, name: str, *, seed: int, customers: int, orders: int,
              currency: str = "USD", products: int = 30) -> WooStore:
    return sandbox.add_store(name, spec=StoreSpec(seed=seed, customers=customers, orders=orders,
                                                  products=products, currency=currency))


def connect(app: Any, store: WooStore, sandbox: WooCommerceSandbox | None = None, *,
            plugin: bool = True, browser: requests.Session | None = None) -> Shop:
    """Walk the real connect flow: the app's ``/woocommerce/connect`` -> the store's wc-auth page
    (its admin approves) -> WooCommerce POSTs the keys to our callback -> the browser comes back.

    ``plugin=True`` (the merchant clicked "Connect" in our WordPress plugin): the browser lands on
    the plugin's settings page with a one-time code, which the plugin trades server-to-server for
    the shop's secret; the sandbox's storefront then signs widget calls with it, as the plugin does.
    ``plugin=False``: a merchant who typed their store's address lands in our dashboard, logged in
    (in ``browser``, when given).
    """
    browser = browser if browser is not None else requests.Session()
    params = {"store_url": store.url}
    if plugin:
        params["return_url"] = f"{store.url}{PLUGIN_PAGE}"
    url = f"{app.url}/woocommerce/connect"
    response = browser.get(url, params=params, allow_redirects=False, timeout=300)
    for _ in range(10):
        if response.status_code not in (301, 302, 303, 307, 308):
            break
        url = urljoin(response.url, response.headers["Location"])
        if plugin and url.startswith(f"{store.url}/wp-admin/"):
            break
        response = browser.get(url, allow_redirects=False, timeout=300)
    if plugin:
        assert url.startswith(f"{store.url}{PLUGIN_PAGE}"), (response.status_code, url, response.text[:500])
        [code] = parse_qs(urlsplit(url).query)["comeback_code"]
        claim = requests.post(f"{app.url}/woocommerce/plugin/claim", json={"code": code, "store_url": store.url},
                              timeout=30)
        assert claim.status_code == 200, claim.text
        claimed = claim.json()
        assert claimed["shop"] == store.domain
        assert claimed["widget_script"] == f"{app.url}/storefront/comeback-widget.js"
        if sandbox is not None:
            sandbox.set_plugin(store.name, app_url=claimed["app_url"], secret=claimed["secret"],
                               shop_domain=claimed["shop"])
    else:
        assert response.status_code == 200, (url, response.text[:500])
        assert urlsplit(response.url).path.startswith("/dashboard/"), response.url
    return Shop.objects.get(platform="woocommerce", domain=store.domain)


def shopper(store: WooStore, customer_id: int | None) -> requests.Session:
    """A browser on the store's storefront, logged in to WordPress as ``customer_id`` (None: a
    guest), calling the plugin's REST routes as the widget does: with the page's REST nonce
    (``X-WP-Nonce``; WordPress ignores the login cookie of a REST call without it)."""
    browser = requests.Session()
    if customer_id is not None:
        browser.get(f"{store.url}/my-account", params={"sandbox_login": customer_id}, timeout=10)
    page = browser.get(f"{store.url}/", timeout=10)
    nonce = re.search(r'data-nonce="([^"]*)"', page.text)
    if nonce and nonce.group(1):
        browser.headers["X-WP-Nonce"] = nonce.group(1)
    return browser


# --- the store's truth against the mirror -----------------------------------------------------

def truth_orders(store: WooStore) -> list[Any]:
    """Orders as the REST API lists them (``status=any``: not the trash, not checkout drafts)."""
    return [o for o in store.orders.values() if o.status not in ("trash", "checkout-draft")]


def truth_totals(store: WooStore) -> tuple[int, Decimal, int]:
    orders = truth_orders(store)
    return (len(orders), sum((o.total for o in orders), Decimal("0")), sum(len(o.refunds) for o in orders))


def db_totals(shop: Shop) -> tuple[int, Decimal, int]:
    orders = Order.objects.filter(shop=shop)
    total = orders.aggregate(total=Sum("total"))["total"] or Decimal("0")
    # (SQLite sums decimals as floats: the cents are what must match)
    return (orders.count(), Decimal(total).quantize(Decimal("0.01")), Refund.objects.filter(shop=shop).count())


def registered_customers(shop: Shop) -> set[str]:
    """The WordPress users we mirror (guests have no WordPress id)."""
    return set(Customer.objects.filter(shop=shop).exclude(platform_id="").exclude(platform_id__startswith="guest")
               .values_list("platform_id", flat=True))
