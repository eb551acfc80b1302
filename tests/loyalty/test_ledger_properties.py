"""Property-based tests of the ledger (hypothesis).

An order's life is a list of versions (paid, partial refunds, maybe a cancellation).  Whatever
subset of those versions is delivered, in whatever order and with whatever duplicates:
- every balance equals the sum of its entries;
- the result equals delivering the same versions once, in order;
- an order never holds more points than it earned, nor fewer than none (allow-negative policy).
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db.models import Sum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from commerce.models import Order, Shop
from loyalty.models import Account, LedgerEntry
from loyalty.services.ledger import account_balance
from loyalty.services.program import program_enable
from tests.factories import ShopFactory
from tests.loyalty.helpers import T0, deliver, line, order, refund

pytestmark = pytest.mark.django_db

FAR = T0 + timedelta(days=3650)


@st.composite
def order_lives(draw):
    """Versions of one order: paid, then refunds of some lines, then maybe cancelled."""
    count = draw(st.integers(min_value=1, max_value=4))
    prices = draw(st.lists(st.integers(min_value=1, max_value=20_000), min_size=count, max_size=count))
    lines = [line(f"l{i}", 1, f"{p / 100:.2f}") for i, p in enumerate(prices)]
    refunded_lines = draw(st.lists(st.integers(min_value=0, max_value=count - 1), unique=True, max_size=count))
    cancelled = draw(st.booleans())
    versions, refunds = [order("1", lines, version=0)], []
    for n, index in enumerate(refunded_lines, start=1):
        share = draw(st.integers(min_value=1, max_value=100))
        amount = Decimal(prices[index]) * share / Decimal(10_000)
        refunds.append(refund(f"r{n}", "1", [(f"l{index}", 1, f"{amount:.2f}")]))
        versions.append(order("1", lines, version=n, refunds=tuple(refunds), status="partially_refunded"))
    if cancelled:
        versions.append(order("1", lines, version=len(versions), refunds=tuple(refunds), status="refunded",
                              cancelled=True))
    return versions


def fresh_shop() -> Shop:
    shop = ShopFactory(installed_at=T0 - timedelta(days=30))
    program_enable(shop=shop)
    return shop


def outcome(shop: Shop) -> tuple[int, int]:
    account = Account.objects.filter(shop=shop).first()
    if account is None:
        return 0, 0
    balance = account_balance(account=account, at=FAR)
    return balance.total, LedgerEntry.objects.filter(account=account).aggregate(s=Sum("points"))["s"] or 0


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(life=order_lives(), data=st.data())
def test_any_delivery_order_with_duplicates_gives_the_same_balance(life, data):
    picked = data.draw(st.lists(st.integers(min_value=0, max_value=len(life) - 1), min_size=1, max_size=8))
    delivered = [life[i] for i in picked]
    # shuffled, with duplicates
    shuffled_shop = fresh_shop()
    deliver(shuffled_shop, *delivered)
    # the same versions once each, in order
    ordered_shop = fresh_shop()
    deliver(ordered_shop, *[life[i] for i in sorted(set(picked))])

    total, summed = outcome(shuffled_shop)
    assert total == summed  # balance = sum of entries
    assert outcome(ordered_shop)[0] == total

    earned = LedgerEntry.objects.filter(shop=shuffled_shop, kind="earn").aggregate(s=Sum("points"))["s"] or 0
    assert 0 <= total <= earned  # never points from nothing
    order_row = Order.objects.get(shop=shuffled_shop)
    if order_row.cancelled_at is not None:
        assert total == 0
