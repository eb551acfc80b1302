"""Run the WooCommerce sandbox as a process (for the demo):

    python -m sandbox.woocommerce --port 9200 --store demo --seed 42 --customers 2000 --orders 8000 \\
        --app-url http://127.0.0.1:8000 --live-interval 5

Prints the base URL as the first line of stdout, then one line per store on stderr, and runs until
SIGTERM/SIGINT.  The data anchor is the current time unless ``--now`` is given.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from types import FrameType

from sandbox.store.generator import StoreSpec

from .common import parse_datetime, utc_now
from .sandbox import WooCommerceSandbox


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox.woocommerce", description="Local WooCommerce emulator.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9200)
    parser.add_argument("--store", action="append", default=None,
                        help="store name (repeatable): a WordPress site at {base}/stores/<name>; default demo")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--orders", type=int, default=8000)
    parser.add_argument("--products", type=int, default=70)
    parser.add_argument("--currency", default="USD")
    parser.add_argument("--now", default=None, help="data anchor (ISO 8601); default: now")
    parser.add_argument("--locale", default="en_US", help="the site language (WordPress locale, e.g. he_IL)")
    parser.add_argument("--app-url", default=None,
                        help="Comeback's base URL: every store has the Comeback plugin installed pointing "
                             "there (wp-admin > Comeback settings > Connect)")
    parser.add_argument("--plugin-secret", default=None,
                        help="connect the Comeback plugin right away with this secret (needs --app-url)")
    parser.add_argument("--wc-auth", choices=("auto", "manual", "deny"), default="auto",
                        help="what the store admin does on the wc-auth page (default: approve at once)")
    parser.add_argument("--require-https-callback", action="store_true",
                        help="refuse an http:// wc-auth callback_url, as WooCommerce does")
    parser.add_argument("--webhook-mode", choices=("async", "manual", "sync"), default="async")
    parser.add_argument("--rate-limit", type=float, default=0.0, help="REST requests per second (0 = none)")
    parser.add_argument("--live-interval", type=float, default=0.0,
                        help="seconds between simulated store activity (0 = off)")
    parser.add_argument("--public-url", default=None, help="base URL to advertise if not http://host:port")
    parser.add_argument("--verbose", action="store_true", help="log every request")
    args = parser.parse_args(argv)

    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    sandbox = WooCommerceSandbox(webhook_mode=args.webhook_mode, public_url=args.public_url,
                                 require_https_callback=args.require_https_callback, quiet=not args.verbose)
    now = parse_datetime(args.now) if args.now else utc_now()
    base_url = sandbox.start(host=args.host, port=args.port)
    for name in args.store or ["demo"]:
        store = sandbox.add_store(name, spec=StoreSpec(
            seed=args.seed, customers=args.customers, orders=args.orders, products=args.products,
            currency=args.currency.upper(), now=now), locale=args.locale)
        sandbox.set_wc_auth(store.name, args.wc_auth)
        if args.rate_limit:
            sandbox.rate_limit(store.name, per_second=args.rate_limit)
        if args.plugin_secret and not args.app_url:
            parser.error("--plugin-secret needs --app-url")
        if args.app_url:  # the plugin is installed and points at the app; connected with a secret
            sandbox.set_plugin(store.name, app_url=args.app_url, secret=args.plugin_secret)
    print(base_url, flush=True)
    for store in sandbox.stores:
        print(f"store {store.name}: {store.url}/ ({len(store.customers)} customers, {len(store.orders)} orders); "
              f"REST {store.url}/wp-json/wc/v3; wp-admin {store.url}/wp-admin/admin.php?page=comeback-settings",
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
