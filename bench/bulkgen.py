"""Fallback generator of a Shopify bulk-operation JSONL of orders (``queries.BULK_ORDERS`` format).

Used by bench/history_ingest.py only when the sandbox's generator CLI
(``python -m sandbox.shopify.generate``) is not available.  One line per order (its
refunds inline, each with ``refundShippingLines``/``refundLineItems`` as ``{"nodes": [...]}``),
followed by one line per line item carrying ``__parentId``, exactly as Shopify writes a bulk
result.  Deterministic for a seed; all dates lie in the two years before 2025-10-01, so history
ingested after an install is history, not news (no domain events).

``.venv/bin/python bench/bulkgen.py --orders 1000 --seed 1 --out orders.jsonl``
"""

from __future__ import annotations

import argparse
import json
import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

ANCHOR = datetime(2025, 10, 1, 12, 0, 0, tzinfo=UTC)
ORDER_BASE, LINE_BASE, REFUND_BASE, CUSTOMER_BASE = 5_000_000_000, 13_000_000_000, 900_000_000, 7_000_000_000
PRODUCT_BASE, VARIANT_BASE = 8_000_000_000, 44_000_000_000
CENT = Decimal("0.01")


def _money(amount: Decimal, currency: str) -> dict[str, Any]:
    return {"shopMoney": {"amount": str(amount.quantize(CENT)), "currencyCode": currency}}


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def order_lines(index: int, rng: random.Random, customers: int, currency: str = "USD") -> list[dict[str, Any]]:
    """The JSONL objects (order first, then its line items) of order number ``index``."""
    order_id = ORDER_BASE + index + 1
    gid = f"gid://shopify/Order/{order_id}"
    created = ANCHOR - timedelta(seconds=rng.randint(3600, 730 * 86400))
    customer = CUSTOMER_BASE + 1 + int(customers * rng.random() ** 1.6)  # a few loyal customers buy often
    lines: list[dict[str, Any]] = []
    subtotal = Decimal(0)
    for n in range(rng.choices((1, 2, 3, 4), weights=(55, 28, 12, 5))[0]):
        product = rng.randint(1, 70)
        price = Decimal(rng.choice((12, 19, 24, 29, 39, 49, 89))) - Decimal("0.01")
        quantity = rng.choices((1, 2, 3), weights=(80, 15, 5))[0]
        subtotal += price * quantity
        lines.append({
            "id": f"gid://shopify/LineItem/{LINE_BASE + index * 4 + n + 1}",
            "title": f"Product {product}", "quantity": quantity, "sku": f"SKU-{product:03d}",
            "variant": {"id": f"gid://shopify/ProductVariant/{VARIANT_BASE + product * 3}"},
            "product": {"id": f"gid://shopify/Product/{PRODUCT_BASE + product}"},
            "originalUnitPriceSet": _money(price, currency), "totalDiscountSet": _money(Decimal(0), currency),
            "__parentId": gid,
        })
    shipping = Decimal(0) if subtotal >= 75 else Decimal("6.90")
    tax = (subtotal * Decimal("0.08")).quantize(CENT)
    total = subtotal + shipping + tax
    cancelled = rng.random() < 0.02
    refunds = []
    refunded = Decimal(0)
    if not cancelled and rng.random() < 0.067:
        line = rng.choice(lines)
        amount = Decimal(line["originalUnitPriceSet"]["shopMoney"]["amount"])
        refunded = amount
        refunds.append({
            "id": f"gid://shopify/Refund/{REFUND_BASE + index + 1}",
            "createdAt": _stamp(min(ANCHOR, created + timedelta(days=rng.randint(3, 30)))),
            "note": "Did not fit", "totalRefundedSet": _money(amount, currency),
            "refundShippingLines": {"nodes": []},
            "refundLineItems": {"nodes": [{"lineItem": {"id": line["id"]}, "quantity": 1,
                                           "subtotalSet": _money(amount, currency)}]},
        })
    status = "REFUNDED" if cancelled else ("PARTIALLY_REFUNDED" if refunds else "PAID")
    order = {
        "id": gid, "name": f"#{1001 + index}", "email": f"customer{customer - CUSTOMER_BASE}@example.com",
        "phone": None, "createdAt": _stamp(created), "processedAt": _stamp(created),
        "updatedAt": _stamp(created + timedelta(days=3)),
        "cancelledAt": _stamp(created + timedelta(hours=5)) if cancelled else None,
        "cancelReason": "CUSTOMER" if cancelled else None, "closedAt": _stamp(created + timedelta(days=3)),
        "test": False, "currencyCode": currency, "customerLocale": rng.choice(("en", "en", "he", "fa")),
        "displayFinancialStatus": status, "displayFulfillmentStatus": "UNFULFILLED" if cancelled else "FULFILLED",
        "discountCodes": ["WELCOME10"] if rng.random() < 0.1 else [],
        "customer": {"id": f"gid://shopify/Customer/{customer}"},
        "subtotalPriceSet": _money(subtotal, currency), "totalDiscountsSet": _money(Decimal(0), currency),
        "totalTaxSet": _money(tax, currency), "totalShippingPriceSet": _money(shipping, currency),
        "totalPriceSet": _money(total, currency),
        "totalRefundedSet": _money(total if cancelled else refunded, currency),
        "refunds": refunds,
    }
    return [order, *lines]


def write(path: Path, *, orders: int, seed: int, customers: int | None = None) -> None:
    customers = customers or max(1, orders // 3)
    with path.open("w") as out:
        for index in range(orders):
            rng = random.Random(seed * 1_000_003 + index)
            for obj in order_lines(index, rng, customers):
                out.write(json.dumps(obj, separators=(",", ":")))
                out.write("\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    write(Path(args.out), orders=args.orders, seed=args.seed)


if __name__ == "__main__":
    main()
