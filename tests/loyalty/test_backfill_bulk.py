"""The backfill applied set-based (a chunk of orders per transaction, entries in bulk) writes what
the one-order live path writes, and its statements do not grow with the number of orders."""

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from commerce import services
from commerce.models import Customer, Order, Shop
from commerce.records import RefundRecord
from loyalty.models import Account, LedgerEntry, NegativePolicy, Program
from loyalty.selectors import counted_orders
from loyalty.services import earning
from loyalty.services.earning import backfill
from loyalty.services.ledger import account_for_customer
from loyalty.services.program import program_enable
from tests.factories import ShopFactory
from tests.loyalty.helpers import T0, line, order, refund

pytestmark = pytest.mark.django_db


def history_shop(domain: str, policy: str) -> Shop:
    shop = ShopFactory(domain=domain, installed_at=T0 - timedelta(days=30))
    program_enable(shop=shop, enabled=False)  # history arrives before the merchant turns it on
    Program.objects.filter(shop=shop).update(negative_policy=policy)
    return shop


def history(recent: datetime) -> list:
    """Dana's two orders with a refund each (by lines, by hand); a guest's recent order, still
    pending, partly refunded; a cancelled order and one too small to earn."""
    return [
        order("1", [line("1a", 1, "60.00"), line("1b", 1, "40.00")], status="partially_refunded",
              refunds=(refund("r1", "1", [("1b", 1, "40.00")]),)),
        order("2", [line("2a", 2, "29.00")], at=T0 + timedelta(days=1), status="partially_refunded",
              refunds=(RefundRecord(platform_id="r2", order_platform_id="2", amount=Decimal("9.00"), currency="USD",
                                    processed_at=T0 + timedelta(days=3)),)),  # by hand: no lines
        order("3", [line("3a", 1, "15.00")], customer="c2", email="b@example.com"),
        order("4", [line("4a", 1, "80.00")], customer="", email="Guest@Example.com", at=recent,
              status="partially_refunded", refunds=(refund("r4", "4", [("4a", 1, "20.00")]),)),
        order("5", [line("5a", 1, "99.00")], customer="c3", email="c@example.com", cancelled=True, status="voided"),
        order("6", [line("6a", 1, "0.40")], customer="c4", email="d@example.com"),  # earns nothing
    ]


def one_by_one(shop: Shop) -> None:
    """The backfill as it was: each order through the live path, then each of its refunds."""
    for past in counted_orders(shop_id=shop.pk).select_related("customer", "shop").order_by("pk"):
        if (past.customer_id or past.email) and earning.order_points_award(order=past, force=True) is not None:
            for each in past.refunds.all():
                earning.refund_points_reverse(refund=each)


def ledger(shop: Shop) -> list[tuple]:
    owner = {account.pk: account.customer.platform_id if account.customer else account.email
             for account in Account.objects.filter(shop=shop).select_related("customer")}
    return sorted((owner[e.account_id], e.kind, e.source, e.source_id, e.idempotency_key, e.points, e.shortfall,
                   e.available_at > timezone.now(), e.occurred_at, e.reason, e.actor)
                  for e in LedgerEntry.objects.filter(shop=shop).exclude(kind="adjust"))


@pytest.mark.parametrize("policy", [NegativePolicy.CAP_AT_ZERO, NegativePolicy.ALLOW_NEGATIVE])
def test_the_bulk_backfill_writes_what_the_one_order_path_writes(policy):
    bulk, single = history_shop("bulk.myshopify.com", policy), history_shop("single.myshopify.com", policy)
    recent = timezone.now() - timedelta(days=2)  # within its 14 pending days
    for shop in (bulk, single):
        services.orders_upsert(shop=shop, records=history(recent), live=False)
        # Dana spent points before: under cap-at-zero her first refund finds only 10 to take back
        dana = account_for_customer(shop=shop, customer=Customer.objects.get(shop=shop, platform_id="c1"))
        earning.points_adjust(account=dana, points=-90, reason="spent before", key="spent")
    dry = backfill(shop=bulk, apply=False)

    done = backfill(shop=bulk, apply=True)
    one_by_one(single)

    assert ledger(bulk) == ledger(single)
    assert done == dry
    assert done.orders == 4 and done.customers == 3
    entries = LedgerEntry.objects.filter(shop=bulk).exclude(kind="adjust")
    assert done.points == sum(entries.values_list("points", flat=True)) - sum(
        entries.values_list("shortfall", flat=True))
    if policy == NegativePolicy.CAP_AT_ZERO:
        assert entries.get(idempotency_key="reverse:refund:r1").shortfall == 30
    assert backfill(shop=bulk, apply=True).orders == 0  # nothing twice


def test_the_backfill_costs_the_same_statements_for_ten_orders_and_for_sixty(django_assert_num_queries):
    counts = []
    for size in (10, 60):
        shop = history_shop(f"size{size}.myshopify.com", NegativePolicy.CAP_AT_ZERO)
        rows = [order(f"{size}-{n}", [line(f"{size}-{n}a", 1, "25.00")], customer=f"c{n % 9}",
                      email=f"c{n % 9}@example.com", at=T0 + timedelta(hours=n),
                      refunds=(refund(f"{size}-r{n}", f"{size}-{n}", [(f"{size}-{n}a", 1, "5.00")]),)
                      if n % 4 == 0 else ())
                for n in range(size)]
        services.orders_upsert(shop=shop, records=rows, live=False)
        with django_assert_num_queries(BACKFILL_STATEMENTS):
            plan = backfill(shop=shop, apply=True)
        counts.append(plan.orders)
        assert Order.objects.filter(shop=shop).count() == size
    assert counts == [10, 60]


#: program, purchase rule; a chunk: its orders, lines, refunds, refund lines; accounts (locked),
#: new accounts, the new ones again; reversals written before; the SAVEPOINT pair of its
#: transaction; the balances before it (refunds under cap-at-zero), the earn entries, the
#: reversals; then the next (empty) chunk.
BACKFILL_STATEMENTS = 16
