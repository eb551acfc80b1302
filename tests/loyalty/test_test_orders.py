"""A merchant's test checkout changes nothing in loyalty: no points, no tier spend, no badge order.

The loyalty award bench's replay once counted test orders toward tier spend and the "5 orders"
badge (the app's rule before counted orders left them out), and reported the app wrong on the
orders after a shopper's test checkout; this pins the rule the bench now replays.
"""

from dataclasses import replace
from datetime import timedelta

import pytest

from loyalty.models import Account, LedgerEntry
from tests.loyalty.helpers import T0, deliver, line, order

pytestmark = pytest.mark.django_db


def _earned(shop) -> dict[str, int]:
    return dict(LedgerEntry.objects.filter(shop=shop, source="order").values_list("source_id", "points"))


def _badge_points(shop) -> list[int]:
    return list(LedgerEntry.objects.filter(shop=shop, source_id__startswith="badge:").values_list("points",
                                                                                                    flat=True))


def test_a_test_order_counts_for_neither_tier_spend_nor_the_orders_badge(shop):
    # given four real orders of 100.00: 400 spent, four orders (Silver is at 500, the badge at 5)
    for number in range(1, 5):
        deliver(shop, order(str(number), [line(f"{number}a", 1, "100.00")], at=T0 + timedelta(hours=number)))
    # when the shopper's fifth checkout is a test order of 300.00
    deliver(shop, replace(order("t", [line("ta", 1, "300.00")], at=T0 + timedelta(hours=5)), is_test=True))
    # then it earns nothing, the shopper stays Bronze and has no badge yet
    account = Account.objects.select_related("tier").get(shop=shop)
    assert (account.tier.name, _badge_points(shop)) == ("Bronze", [])
    # and the next real order still earns at Bronze (x1); it is the fifth counted order (badge) and
    # lifts spend to 500 (Silver), so the one after earns x1.25
    deliver(shop, order("5", [line("5a", 1, "100.00")], at=T0 + timedelta(hours=6)))
    deliver(shop, order("6", [line("6a", 1, "100.00")], at=T0 + timedelta(hours=7)))
    account.refresh_from_db()
    assert _earned(shop) == {"1": 100, "2": 100, "3": 100, "4": 100, "5": 100, "6": 125}
    assert (account.tier.name, _badge_points(shop)) == ("Silver", [100])
