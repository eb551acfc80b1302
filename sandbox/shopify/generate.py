"""Write a generated store's bulk JSONL straight from the generator, streaming.

    python -m sandbox.shopify.generate --orders 1000000 --seed 7 --out orders.jsonl

The lines are byte-identical to what the sandbox's bulk operation returns for the same query on a
shop made with the same parameters (``add_shop(seed=.., customers=.., orders=.., now=..)``):
the same compiled executor runs over the same records.  Orders are generated one at a time and
never held together: 1,000,000 orders take about 3 minutes and 220 MB of memory (the purchase
plan), writing about 1.8 GB.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from sandbox.store.generator import StoreGenerator, StoreSpec
from sandbox.store.model import Customer, Order, Product, Variant

from .bulk import BulkQuery
from .common import DEFAULT_ANCHOR, parse_datetime
from .sandbox import shared_schema
from .schema import Ctx

QUERIES_FILE = Path(__file__).resolve().parents[2] / "integrations" / "shopify" / "queries.py"


def contract_queries() -> dict[str, str]:
    """``BULK_ORDERS`` & co. from ``integrations/shopify/queries.py``, loaded by path so that the
    app package (and Django) is never imported."""
    spec = importlib.util.spec_from_file_location("_comeback_queries", QUERIES_FILE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return {name: getattr(module, name) for name in ("BULK_ORDERS", "BULK_CUSTOMERS",
                                                     "BULK_PRODUCTS")}


class GeneratorLookup:
    """What resolvers need, served from a generator instead of a shop."""

    def __init__(self, generator: StoreGenerator) -> None:
        self.generator = generator
        self.currency = generator.currency
        self._products = {p.id: p for p in generator.products}
        self._variants = {v.id: v for p in generator.products for v in p.variants}
        self._recent: dict[int, Customer] = {}

    def remember(self, customer: Customer | None) -> None:
        if customer is not None:
            if len(self._recent) > 4096:
                self._recent.clear()
            self._recent[customer.id] = customer

    def get_customer(self, customer_id: int) -> Customer | None:
        found = self._recent.get(customer_id)
        return found if found is not None else self.generator.customer_by_id(customer_id)

    def get_product(self, product_id: int) -> Product | None:
        return self._products.get(product_id)

    def get_variant(self, variant_id: int) -> Variant | None:
        return self._variants.get(variant_id)

    def get_order(self, order_id: int) -> Order | None:
        return None

    def orders_of(self, customer_id: int) -> list[Order]:
        return []


def write_jsonl(out: IO[bytes], spec: StoreSpec, what: str = "orders",
                query: str | None = None, progress: bool = False) -> tuple[int, int]:
    """Stream the JSONL of ``what`` (orders, customers, products); returns (lines, roots)."""
    generator = StoreGenerator(spec)
    lookup = GeneratorLookup(generator)
    text = query or contract_queries()[f"BULK_{what.upper()}"]
    bulk = BulkQuery.compile(shared_schema(), text)
    ctx = Ctx(lookup=lookup)  # type: ignore[arg-type]
    nodes: Iterator[Any]
    if what == "orders":
        nodes = _orders(generator, lookup, progress)
    elif what == "customers":
        nodes = iter(generator.customers())
    elif what == "products":
        nodes = iter(generator.products)
    else:
        raise ValueError("what must be orders, customers or products")
    return bulk.write(out, ctx, nodes, chunk=500)


def _orders(generator: StoreGenerator, lookup: GeneratorLookup, progress: bool
            ) -> Iterator[Order]:
    started = time.monotonic()
    total = generator.order_count
    for n, (order, customer) in enumerate(generator.iter_orders_with_customers(), 1):
        lookup.remember(customer)
        yield order
        if progress and n % 50_000 == 0:
            rate = n / (time.monotonic() - started)
            print(f"  {n:,}/{total:,} orders ({rate:,.0f}/s)", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sandbox.shopify.generate",
        description="Write a generated store's bulk-operation JSONL (streaming).")
    parser.add_argument("--orders", type=int, default=8000)
    parser.add_argument("--customers", type=int, default=None,
                        help="default: orders / 4 (at least 1)")
    parser.add_argument("--products", type=int, default=70)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--currency", default="USD")
    parser.add_argument("--now", default=None,
                        help=f"data anchor, ISO 8601 (default {DEFAULT_ANCHOR.isoformat()})")
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--what", choices=("orders", "customers", "products"), default="orders")
    parser.add_argument("--query-file", default=None, help="a bulk query to run instead")
    parser.add_argument("--out", required=True, help="output file ('-' for stdout)")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    now: datetime = parse_datetime(args.now) if args.now else DEFAULT_ANCHOR
    customers = args.customers if args.customers is not None else max(1, args.orders // 4)
    spec = StoreSpec(seed=args.seed, customers=customers, orders=args.orders,
                     products=args.products, currency=args.currency.upper(), now=now,
                     months=args.months)
    query = Path(args.query_file).read_text() if args.query_file else None
    started = time.monotonic()
    if args.out == "-":
        lines, roots = write_jsonl(sys.stdout.buffer, spec, args.what, query, not args.quiet)
    else:
        with open(args.out, "wb") as out:
            lines, roots = write_jsonl(out, spec, args.what, query, not args.quiet)
    if not args.quiet:
        elapsed = time.monotonic() - started
        print(f"wrote {lines:,} lines ({roots:,} {args.what}) in {elapsed:.1f}s "
              f"({roots / max(elapsed, 1e-9):,.0f} {args.what}/s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
