"""Run the sandbox as a process (for the demo):

    python -m sandbox.shopify --port 9100 --shop demo-store.myshopify.com \\
        --seed 42 --customers 2000 --orders 8000 --api-key K --api-secret S \\
        --privacy-webhook-uri http://127.0.0.1:8000/webhooks/shopify --live-interval 5 \\
        --app-url http://127.0.0.1:8000 --app-toml shopify.app.toml --app-embed

Prints the base URL as the first line of stdout, then runs until SIGTERM/SIGINT.  The data
anchor is the current time unless ``--now`` is given.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from types import FrameType

from .common import parse_datetime, utc_now
from .sandbox import ShopifySandbox


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox.shopify",
                                     description="Local Shopify emulator.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9100)
    parser.add_argument("--shop", action="append", default=None,
                        help="shop domain (repeatable); default demo-store.myshopify.com")
    parser.add_argument("--shop-without-app", action="append", default=[],
                        help="a shop that has not installed the app (repeatable): its admin page "
                             "{origin}/admin/apps/<api key> walks through the managed install")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--orders", type=int, default=8000)
    parser.add_argument("--products", type=int, default=70)
    parser.add_argument("--currency", default="USD")
    parser.add_argument("--now", default=None, help="data anchor (ISO 8601); default: now")
    parser.add_argument("--api-key", default="sandbox-api-key")
    parser.add_argument("--api-secret", default="sandbox-api-secret")
    parser.add_argument("--privacy-webhook-uri", default=None)
    parser.add_argument("--app-url", default=None,
                        help="the app's base URL: storefront pages embed its widget and the app proxy "
                             "forwards to {app-url}/proxy")
    parser.add_argument("--app-proxy-path", default="/apps/comeback",
                        help="the storefront path the app proxy answers under (default /apps/comeback)")
    parser.add_argument("--redirect-uri", action="append", default=None,
                        help="allowed OAuth redirect URI prefix (repeatable; default: any)")
    parser.add_argument("--app-toml", default=None,
                        help="deploy this shopify.app.toml (scopes, redirect URLs, app proxy, compliance "
                             "webhooks) on --app-url's address, as `shopify app deploy` would")
    parser.add_argument("--app-embed", action="store_true",
                        help="switch the theme app extension's app embed on in every shop (theme editor)")
    parser.add_argument("--live-interval", type=float, default=0.0,
                        help="seconds between simulated store activity (0 = off)")
    parser.add_argument("--webhook-backoff", type=float, default=1.0)
    parser.add_argument("--bucket-size", type=float, default=2000)
    parser.add_argument("--restore-rate", type=float, default=100)
    parser.add_argument("--max-query-cost", type=int, default=1000,
                        help="single query cost limit (0 = none)")
    parser.add_argument("--no-read-all-orders-check", action="store_true",
                        help="serve all orders even to tokens without read_all_orders")
    parser.add_argument("--public-url", default=None,
                        help="base URL to advertise (bulk file URLs) if not http://host:port")
    parser.add_argument("--access-token-lifetime", type=float, default=3600.0,
                        help="seconds an expiring offline token lives (Shopify: 3600)")
    parser.add_argument("--non-expiring-tokens-until", default="2027-01-01T00:00:00Z",
                        help="from then the Admin API refuses non-expiring tokens ('never' = accept them)")
    parser.add_argument("--verbose", action="store_true", help="log every request")
    args = parser.parse_args(argv)

    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    sandbox = ShopifySandbox(
        api_key=args.api_key, api_secret=args.api_secret, webhook_backoff=args.webhook_backoff,
        bucket_size=args.bucket_size, restore_rate=args.restore_rate,
        max_query_cost=args.max_query_cost or None,
        require_read_all_orders=not args.no_read_all_orders_check, public_url=args.public_url,
        quiet=not args.verbose, access_token_lifetime=args.access_token_lifetime,
        non_expiring_tokens_until=(None if args.non_expiring_tokens_until == "never"
                                   else parse_datetime(args.non_expiring_tokens_until)))
    now = parse_datetime(args.now) if args.now else utc_now()
    for domain in args.shop or ["demo-store.myshopify.com"]:
        sandbox.add_shop(domain, seed=args.seed, customers=args.customers, orders=args.orders,
                         products=args.products, currency=args.currency, now=now)
    for domain in args.shop_without_app:
        sandbox.add_shop(domain, seed=args.seed + 1, customers=max(1, args.customers // 10),
                         orders=args.orders // 10, products=args.products, currency=args.currency, now=now,
                         installed=False)
    sandbox.app_config(privacy_webhook_uri=args.privacy_webhook_uri,
                       redirect_uris=args.redirect_uri, app_url=args.app_url,
                       app_proxy_path=args.app_proxy_path)
    if args.app_toml:
        if not args.app_url:
            parser.error("--app-toml needs --app-url (the address the app runs on)")
        sandbox.app_deploy(args.app_toml, app_url=args.app_url)
    if args.app_embed:
        for shop in sandbox.shops:
            shop.app_embed_set(enabled=True, widget_snippet=False)
    base_url = sandbox.start(host=args.host, port=args.port)
    print(base_url, flush=True)
    for shop in sandbox.shops:
        print(f"shop {shop.domain}: {shop.origin} ({len(shop.customers)} customers, "
              f"{len(shop.orders)} orders); storefront {shop.origin}/; admin "
              f"{shop.origin}/admin/apps/{sandbox.api_key}{'' if shop.installed else ' (app not installed)'}",
              file=sys.stderr, flush=True)
    if args.live_interval > 0:
        sandbox.start_live(args.live_interval)

    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        sandbox.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
