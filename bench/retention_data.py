"""Order history for the retention bench (bench/retention_report.py): one shop, deterministic per seed.

The shape, for the defaults (200,000 customers, 1,000,000 orders, 2023-01-01 .. 2025-12-31):

* 4 % of the customers never order; of the buyers, 45 % come back.  How much a returning
  customer buys is heavy-tailed (Pareto weights, capped), and spread over a "lifetime" that
  starts at the first order and lasts an exponential number of days (mean 500), so most
  returning customers stop buying at some point (churn) and late newcomers have had less time.
* 3 % of the orders are guest checkouts (no customer, an email that repeats now and then).
* Days are drawn with a growth trend (x0.6 -> x1.4 over the span), a season (quiet February,
  busy November and December, x3 on Black Friday .. Cyber Monday) and a weekly rhythm.
* 1-4 lines from a 400-product catalogue with unit costs (2 % of the variants have no cost):
  30 % bestsellers, the rest near the customer's own price level (customers differ in what they
  spend per order, which the Gamma-Gamma spend model needs);
  20 % of the orders carry a 10/15/20 % code, 0.3 % a 100 % one (free, shipping included);
  shipping 6.95 under 75.00; 8 % tax.
* 0.2 % test orders, 1.5 % cancelled (half voided unpaid, half refunded in full), 0.3 %
  never paid (``expired``), 5 % of the last week still ``pending``; 4 % of the multi-line orders
  partially refunded (one line, 3-40 days later), 2 % refunded in full.
* Loyalty: 35 % of the buyers open an account (0-90 days after their first order); every paid
  order of theirs after that earns floor(subtotal) points, and now and then 500 points are
  redeemed the next day.
* 0.1 % of the orders are in EUR, not the shop's USD; 0.5 % of the lines are custom items
  without a variant (so without a cost).
* 1 % of the orders carry an ``ImportedOrderCost`` (a cost per order, as the CSV import stores
  it: 45 % of the subtotal), which replaces their lines' costs.
* Campaigns: three flows; 6 % of the customers' orders are attributed to one of them (by code or
  within the window).

Everything is built in memory as plain tuples (ids assigned here, in time order for orders),
column names are the models' attnames, ready for ``bench.loyalty_common.copy_into``.
"""

from __future__ import annotations

import bisect
import itertools
import math
import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

CUSTOMER_BASE = 7_100_000_000_000
ORDER_BASE = 5_400_000_000_000
LINE_BASE = 13_600_000_000_000
REFUND_BASE = 9_900_000_000_000
PRODUCT_BASE = 8_800_000_000
VARIANT_BASE = 4_400_000_000

NEVER_ORDER = 0.04
REPEATER = 0.45
GUEST_SHARE = 0.03
TEST_SHARE = 0.002
CANCEL_SHARE = 0.015
EXPIRED_SHARE = 0.003
PENDING_LAST_WEEK = 0.05
PARTIAL_REFUND = 0.04
FULL_REFUND = 0.02
CODE_SHARE = 0.20
FREE_SHARE = 0.003  # a 100 % code (a gift, an influencer): paid, worth 0
NO_COST_SHARE = 0.02
PRODUCTS = 400
BESTSELLER_SHARE = 0.3  # the other lines come from near the customer's usual price level
LIFETIME_MEAN_DAYS = 500.0
TAX = 8  # percent
FREE_SHIPPING_CENTS = 7500
SHIPPING_CENTS = 695

CUSTOMER_COLUMNS = ("id", "shop_id", "platform_id", "platform_updated_at", "platform_created_at", "first_name",
                    "last_name", "email", "account_state", "email_consent")
PRODUCT_COLUMNS = ("id", "shop_id", "platform_id", "platform_updated_at", "title", "product_type", "vendor", "status")
VARIANT_COLUMNS = ("id", "shop_id", "platform_id", "platform_updated_at", "product_id", "title", "sku", "currency",
                   "price", "unit_cost")
ORDER_COLUMNS = ("id", "shop_id", "platform_id", "platform_updated_at", "customer_id", "customer_platform_id", "name",
                 "email", "financial_status", "fulfillment_status", "currency", "subtotal", "total_discounts",
                 "total_tax", "total_shipping", "total", "total_refunded", "discount_codes", "is_test",
                 "processed_at", "cancelled_at", "cancel_reason", "platform_created_at")
LINE_COLUMNS = ("id", "shop_id", "order_id", "platform_id", "product_id", "variant_id", "product_platform_id",
                "variant_platform_id", "title", "sku", "quantity", "currency", "unit_price", "total_discount")
REFUND_COLUMNS = ("id", "shop_id", "order_id", "platform_id", "currency", "amount", "shipping_amount", "note",
                  "processed_at")
ACCOUNT_COLUMNS = ("id", "shop_id", "customer_id", "email", "referral_code", "created_at")
LEDGER_COLUMNS = ("id", "shop_id", "account_id", "kind", "source", "source_id", "idempotency_key", "points",
                  "available_at", "occurred_at", "created_at")
ATTRIBUTION_COLUMNS = ("id", "shop_id", "order_id", "flow_id", "via", "revenue", "discount", "currency", "created_at")
IMPORTED_COST_COLUMNS = ("id", "shop_id", "order_id", "currency", "cost")
IMPORTED_COST_SHARE = 0.01
FLOWS = (("order_thank_you", "Thank you"), ("winback", "We miss you"), ("vip_preview", "VIP preview"))
MEMBER_SHARE = 0.35
REDEEM_CHANCE = 0.12
REDEEM_POINTS = 500
ATTRIBUTED_SHARE = 0.06
OTHER_CURRENCY_SHARE = 0.001  # orders charged in EUR (an imported marketplace order, say): never summed
CUSTOM_LINE_SHARE = 0.005  # lines without a variant (a custom item): their order has no known cost
REFUND_LINE_COLUMNS = ("id", "shop_id", "refund_id", "order_line_id", "line_platform_id", "quantity", "currency",
                       "subtotal")


def money(cents: int) -> Decimal:
    return Decimal(cents).scaleb(-2)


def _tax(cents: int) -> int:
    return (cents * TAX + 50) // 100  # half up, amounts are never negative


@dataclass
class History:
    """The generated rows, one list of tuples per table (columns: the ``*_COLUMNS`` above)."""

    start: date
    end: date  # inclusive
    customers: list[tuple[Any, ...]] = field(default_factory=list)
    products: list[tuple[Any, ...]] = field(default_factory=list)
    variants: list[tuple[Any, ...]] = field(default_factory=list)
    orders: list[tuple[Any, ...]] = field(default_factory=list)
    lines: list[tuple[Any, ...]] = field(default_factory=list)
    refunds: list[tuple[Any, ...]] = field(default_factory=list)
    refund_lines: list[tuple[Any, ...]] = field(default_factory=list)
    accounts: list[tuple[Any, ...]] = field(default_factory=list)
    ledger: list[tuple[Any, ...]] = field(default_factory=list)
    attributions: list[tuple[Any, ...]] = field(default_factory=list)
    imported_costs: list[tuple[Any, ...]] = field(default_factory=list)
    shape: dict[str, int] = field(default_factory=dict)  # counts by kind, for the report


def _day_weights(start: date, days: int) -> list[float]:
    """Relative order volume of each day: growth, season, Black Friday week, weekday."""
    month = {1: 0.85, 2: 0.75, 3: 0.9, 4: 0.95, 5: 1.0, 6: 0.95, 7: 0.9, 8: 0.95, 9: 1.0, 10: 1.05, 11: 1.45,
             12: 1.6}
    weekday = (1.05, 1.0, 1.0, 1.0, 1.05, 0.9, 1.0)
    weights = []
    for n in range(days):
        day = start + timedelta(days=n)
        w = (0.6 + 0.8 * n / max(days - 1, 1)) * month[day.month] * weekday[day.weekday()]
        # Black Friday (the day after the fourth Thursday of November) .. Cyber Monday
        thanksgiving = 22 + (3 - date(day.year, 11, 1).weekday()) % 7
        black_friday = date(day.year, 11, thanksgiving + 1)
        if black_friday <= day <= black_friday + timedelta(days=3):
            w *= 3.0
        weights.append(w)
    return weights


class _Days:
    """Draw a day index in [low, high] with the day weights (inverse CDF on cumulative sums)."""

    def __init__(self, weights: list[float], rng: random.Random) -> None:
        self.cumulative = list(itertools.accumulate(weights))
        self.rng = rng

    def draw(self, low: int = 0, high: int | None = None) -> int:
        high = len(self.cumulative) - 1 if high is None else high
        below = self.cumulative[low - 1] if low > 0 else 0.0
        target = below + self.rng.random() * (self.cumulative[high] - below)
        return min(high, max(low, bisect.bisect_left(self.cumulative, target)))


def generate(*, shop_id: int, flow_ids: tuple[int, ...] = (1, 2, 3), customers: int, orders: int, seed: int,
             start: date, end: date) -> History:
    if orders < customers:
        raise ValueError("the shape needs at least as many orders as customers")
    rng = random.Random(seed)
    days = (end - start).days + 1
    day_draw = _Days(_day_weights(start, days), rng)
    epoch = datetime.combine(start, time(0), tzinfo=UTC)
    history = History(start=start, end=end)

    # the catalogue: one product, one or two variants; costs 25-60 % of the price
    variant_of: list[tuple[int, int, str, str, int, int | None]] = []  # (variant id, product id, pid, vid, price, cost)
    for p in range(PRODUCTS):
        product_id = p + 1
        updated = epoch - timedelta(days=30)
        history.products.append((product_id, shop_id, str(PRODUCT_BASE + p), updated, f"Merino item {p}",
                                 rng.choice(("Tops", "Socks", "Base layers", "Accessories")), "Bench Wool",
                                 "active"))
        price = int(math.exp(rng.uniform(math.log(500), math.log(15000))))
        for v in range(rng.choice((1, 1, 2))):
            number = len(variant_of) + 1
            cents = price + 500 * v
            cost = None if rng.random() < NO_COST_SHARE else int(cents * rng.uniform(0.25, 0.6))
            vid = str(VARIANT_BASE + number)
            history.variants.append((number, shop_id, vid, updated, product_id, ("S", "L")[v] if v else "M",
                                     f"SKU-{p:03d}-{v}", "USD", money(cents),
                                     None if cost is None else money(cost)))
            variant_of.append((number, product_id, str(PRODUCT_BASE + p), vid, cents, cost))
    popularity = list(itertools.accumulate(1.0 / (rank + 3) for rank in range(len(variant_of))))
    by_price = sorted(range(len(variant_of)), key=lambda index: variant_of[index][4])

    # who orders when: (day index, customer index or -1 for a guest, guest number)
    buyers = round(customers * (1 - NEVER_ORDER))
    guest_orders = round(orders * GUEST_SHARE)
    extra = max(0, orders - buyers - guest_orders)
    placed: list[tuple[int, int, int]] = []
    first_day: list[int | None] = [None] * customers
    windows: list[tuple[int, int, int]] = []  # (customer, first day, last active day) of the repeaters
    weights: list[float] = []
    tastes = [rng.betavariate(2, 3) for _ in range(customers)]  # each customer's usual price level (0..1)
    member: dict[int, tuple[int, datetime]] = {}  # customer -> (account id, opened at)
    balance: dict[int, int] = {}
    for c in range(customers):
        created = rng.randrange(days)
        if c >= buyers:
            first_day[c] = None
            joined = epoch + timedelta(days=created, seconds=rng.randrange(86400))
            history.customers.append(_customer(c, shop_id, joined))
            continue
        f = day_draw.draw()
        first_day[c] = f
        history.customers.append(_customer(c, shop_id, epoch + timedelta(days=f, seconds=rng.randrange(86400))
                                           - timedelta(minutes=rng.randrange(5, 60 * 24 * 20))))
        placed.append((f, c, 0))
        if rng.random() < MEMBER_SHARE:
            opened = epoch + timedelta(days=f + rng.randrange(0, 91), seconds=rng.randrange(86400))
            history.accounts.append((len(history.accounts) + 1, shop_id, c + 1, f"shopper{c}@example.com",
                                     f"R{c:07d}", opened))
            member[c] = (len(history.accounts), opened)
        if rng.random() < REPEATER:
            last = min(days - 1, f + int(rng.expovariate(1 / LIFETIME_MEAN_DAYS)))
            if last > f:
                windows.append((c, f, last))
                weights.append(min(40.0, rng.paretovariate(1.3)) * (last - f))
    if windows:
        for pick in rng.choices(range(len(windows)), weights=weights, k=extra):
            c, f, last = windows[pick]
            placed.append((day_draw.draw(f + 1, last), c, 0))
    guest_pool = max(1, int(guest_orders * 0.8))
    for _ in range(guest_orders):
        placed.append((day_draw.draw(), -1, rng.randrange(guest_pool)))
    # seconds within the day; ties broken by the draw order, so ids follow time
    timed = sorted((d * 86400 + rng.randrange(86400), c, g) for d, c, g in placed)
    shape = {"customers": customers, "never ordered": customers - buyers, "repeaters": len(windows),
             "guest orders": guest_orders}
    last_week = (days - 7) * 86400
    line_id = refund_id = refund_line_id = 0
    for n, (second, c, g) in enumerate(timed):
        order_id = n + 1
        at = epoch + timedelta(seconds=second)
        order_pid = str(ORDER_BASE + n)
        if c >= 0:
            customer_id, customer_pid, email = c + 1, str(CUSTOMER_BASE + c), f"shopper{c}@example.com"
            taste = tastes[c]
        else:
            customer_id, customer_pid, email = None, "", f"guest{g}@example.net"
            taste = rng.random()
        currency = "EUR" if rng.random() < OTHER_CURRENCY_SHARE else "USD"
        # lines
        free = rng.random() < FREE_SHARE
        percent = 100 if free else rng.choice((10, 15, 20)) if rng.random() < CODE_SHARE else 0
        order_lines = []
        for _ in range(rng.choices((1, 2, 3, 4), weights=(55, 25, 12, 8))[0]):
            if rng.random() < BESTSELLER_SHARE:
                pick = bisect.bisect_left(popularity, rng.random() * popularity[-1])
            else:  # near the customer's usual price level
                pick = by_price[min(len(by_price) - 1, max(0, int((taste + rng.gauss(0, 0.1)) * len(by_price))))]
            variant, product_id, ppid, vpid, price, _cost = variant_of[pick]
            variant_id: int | None = variant
            quantity = rng.choices((1, 2, 3), weights=(75, 18, 7))[0]
            gross = price * quantity
            discount = (gross * percent + 50) // 100
            line_id += 1
            if rng.random() < CUSTOM_LINE_SHARE:
                variant_id, vpid = None, ""
            order_lines.append((line_id, gross - discount, quantity, str(LINE_BASE + line_id)))
            history.lines.append((line_id, shop_id, order_id, str(LINE_BASE + line_id), product_id, variant_id, ppid,
                                  vpid, f"Merino item {product_id - 1}", f"SKU-{product_id - 1:03d}", quantity,
                                  currency, money(price), money(discount)))
        subtotal = sum(line[1] for line in order_lines)
        discounts = sum(row[13] for row in history.lines[-len(order_lines):])
        shipping = 0 if subtotal >= FREE_SHIPPING_CENTS or free else SHIPPING_CENTS
        tax = _tax(subtotal)
        total = subtotal + shipping + tax
        # status
        is_test = rng.random() < TEST_SHARE
        roll = rng.random()
        status, cancelled_at, reason, refunded = "paid", None, "", 0
        fulfilment = "fulfilled"
        refunds: list[tuple[int, int, datetime, list[tuple[int, int, str, int]]]] = []
        every_line = [(lid, q, pid, sub) for lid, sub, q, pid in order_lines]
        if roll < CANCEL_SHARE:
            cancelled_at = at + timedelta(minutes=rng.randrange(10, 60 * 48))
            reason = rng.choice(("customer", "inventory", "fraud", "declined"))
            fulfilment = "unfulfilled"
            if rng.random() < 0.5:
                status = "voided"
            else:
                status = "refunded"
                refunds.append((total, shipping, cancelled_at, every_line))
        elif roll < CANCEL_SHARE + EXPIRED_SHARE:
            status, fulfilment = "expired", "unfulfilled"
        elif second >= last_week and rng.random() < PENDING_LAST_WEEK:
            status, fulfilment = "pending", "unfulfilled"
        else:
            roll = rng.random()
            if roll < FULL_REFUND:
                status = "refunded"
                later = at + timedelta(days=rng.randrange(3, 41), seconds=rng.randrange(86400))
                refunds.append((total, shipping, later, every_line))
            elif roll < FULL_REFUND + PARTIAL_REFUND and len(order_lines) > 1:
                status = "partially_refunded"
                lid, sub, q, pid = order_lines[rng.randrange(len(order_lines))]
                later = at + timedelta(days=rng.randrange(3, 41), seconds=rng.randrange(86400))
                refunds.append((sub + _tax(sub), 0, later, [(lid, q, pid, sub)]))
            elif at + timedelta(days=3) > epoch + timedelta(days=days):
                fulfilment = "unfulfilled"
        for amount, refund_shipping, refunded_at, refund_lines in refunds:
            refund_id += 1
            refunded += amount
            history.refunds.append((refund_id, shop_id, order_id, str(REFUND_BASE + refund_id), currency, money(amount),
                                    money(refund_shipping), "", refunded_at))
            for lid, quantity, pid, sub in refund_lines:
                refund_line_id += 1
                history.refund_lines.append((refund_line_id, shop_id, refund_id, lid, pid, quantity, currency,
                                             money(sub)))
        if c in member and status in ("paid", "partially_refunded") and not is_test and cancelled_at is None:
            account_id, opened = member[c]
            points = subtotal // 100
            if at >= opened and points > 0:
                history.ledger.append((len(history.ledger) + 1, shop_id, account_id, "earn", "order", str(order_id),
                                       f"earn:order:{order_id}", points, at, at, at))
                balance[account_id] = balance.get(account_id, 0) + points
                if balance[account_id] >= REDEEM_POINTS and rng.random() < REDEEM_CHANCE:
                    later = at + timedelta(days=1, seconds=rng.randrange(3600))
                    history.ledger.append((len(history.ledger) + 1, shop_id, account_id, "redeem", "redemption",
                                           f"r{order_id}", f"redeem:{order_id}", -REDEEM_POINTS, later, later,
                                           later))
                    balance[account_id] -= REDEEM_POINTS
        if customer_id is not None and rng.random() < ATTRIBUTED_SHARE:
            flow = rng.randrange(len(flow_ids))
            via = "code" if percent and rng.random() < 0.5 else "window"
            history.attributions.append((len(history.attributions) + 1, shop_id, order_id, flow_ids[flow], via,
                                         money(total), discounts if via == "code" else Decimal("0"), currency,
                                         at + timedelta(minutes=1)))
        if rng.random() < IMPORTED_COST_SHARE:
            history.imported_costs.append((len(history.imported_costs) + 1, shop_id, order_id, currency,
                                           money(subtotal * 45 // 100)))
        history.orders.append((order_id, shop_id, order_pid, at + timedelta(minutes=5), customer_id, customer_pid,
                               f"#{1001 + n}", email, status, fulfilment, currency, money(subtotal), discounts,
                               money(tax), money(shipping), money(total), money(refunded),
                               [f"SAVE{percent}"] if percent else [], is_test, at, cancelled_at, reason, at))
    shape["orders"] = len(history.orders)
    shape["loyalty accounts"] = len(history.accounts)
    history.shape = shape
    return history


def _customer(c: int, shop_id: int, created: datetime) -> tuple[Any, ...]:
    return (c + 1, shop_id, str(CUSTOMER_BASE + c), created, created, f"Shopper{c}", "Bench", f"shopper{c}@example.com",
            "enabled" if c % 3 else "", "subscribed" if c % 2 else "not_subscribed")
