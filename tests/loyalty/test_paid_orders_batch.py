"""Paid orders dispatched as a run (one transaction, bulk reads and writes) give exactly what the
one-order path gives, and cost a fixed number of statements whatever the run's length."""

from collections import Counter
from datetime import timedelta

import pytest

from billing.models import ShopPlan, SubscriptionStatus
from billing.plans import PlanCode
from commerce import events, services
from commerce.models import DomainEvent, Order, Shop
from loyalty.models import Account, AccountBadge, LedgerEntry
from loyalty.services import paid_orders
from loyalty.services.program import program_enable
from tests.factories import ShopFactory
from tests.loyalty.helpers import T0, line, order

pytestmark = pytest.mark.django_db


def paid_shop(domain: str) -> Shop:
    shop = ShopFactory(domain=domain, installed_at=T0 - timedelta(days=30))
    program_enable(shop=shop)
    ShopPlan.objects.create(shop=shop, plan=PlanCode.PAID, subscription_status=SubscriptionStatus.ACTIVE)
    return shop


def records() -> list:
    """Six shoppers' orders in one delivery: Dana crosses Silver (500) on her 2nd order and Gold
    (1,500) on her 4th, and reaches the 5-order badge; a guest twice (one account, by email, any
    case); a test order; a fully discounted one; Eli once."""
    dana = [order(f"d{n}", [line(f"d{n}a", 1, amount)], customer="c1", email="dana@example.com",
                  at=T0 + timedelta(hours=n)) for n, amount in enumerate(["300", "250", "400", "700", "20", "5"])]
    return [
        *dana[:3],
        order("g1", [line("g1a", 2, "40.50")], customer="", email="Guest@Example.com"),
        order("t1", [line("t1a", 1, "900")], customer="c2", email="tess@example.com"),
        *dana[3:],
        order("g2", [line("g2a", 1, "19.99", discount="4.99")], customer="", email="guest@example.com"),
        order("f1", [line("f1a", 1, "30", discount="30")], customer="c3", email="free@example.com"),
        order("e1", [line("e1a", 3, "33.33")], customer="c4", email="eli@example.com"),
    ]


def with_test_order(rows: list) -> list:
    from dataclasses import replace

    return [replace(row, is_test=True) if row.platform_id == "t1" else row for row in rows]


def outcome(shop: Shop) -> dict:
    """What a shop ended with, named by shopper rather than by row ids."""
    owner = {account.pk: account.customer.platform_id if account.customer else account.email
             for account in Account.objects.filter(shop=shop).select_related("customer")}
    entries = sorted((owner[e.account_id], e.kind, e.source, e.source_id.split(":")[0], e.points,
                      e.available_at if e.source == "order" else None, e.occurred_at.date(), e.reason)
                     for e in LedgerEntry.objects.filter(shop=shop))  # a badge's: available now
    tiers = {owner[a.pk]: a.tier.name if a.tier else None for a in Account.objects.filter(shop=shop)
             .select_related("tier")}
    badges = sorted((owner[b.account_id], b.badge.name) for b in AccountBadge.objects.filter(shop=shop)
                    .select_related("badge"))
    announced = Counter(DomainEvent.objects.filter(shop=shop, name__startswith="loyalty.")
                        .values_list("name", flat=True))
    return {"entries": entries, "tiers": tiers, "badges": badges, "events": announced}


def test_a_run_of_paid_orders_ends_as_the_one_order_path_does():
    # given the same orders delivered to two shops in one call each
    batched, single = paid_shop("batched.myshopify.com"), paid_shop("single.myshopify.com")
    rows = with_test_order(records())
    for shop in (batched, single):
        services.orders_upsert(shop=shop, records=rows, live=True)

    # when one shop's order.paid events are dispatched as one run, the other's one by one through
    # the one-order path (then both dispatch what their orders announced)
    single_paid = DomainEvent.objects.filter(shop=single, name=DomainEvent.Name.ORDER_PAID).order_by("pk")
    for event in single_paid:
        paid_orders.order_paid_handle(order=Order.objects.get(pk=event.payload["order_id"]),
                                      is_first_order=bool(event.payload.get("is_first_order")))
    single_paid.update(dispatched_at=T0)
    events.dispatch_pending()

    # then the ledgers, tiers, badges and announcements are the same
    mine, theirs = outcome(batched), outcome(single)
    assert mine == theirs
    assert mine["tiers"] == {"c1": "Gold", "guest@example.com": "Bronze", "c2": "Bronze", "c3": "Bronze",
                             "c4": "Bronze"}
    # Dana: her first order at x1; every order of hers was stored before the run, so her first
    # review counts 1,675 and the rest earn at Gold's x1.5
    dana = sorted(e[4] for e in mine["entries"] if e[0] == "c1" and e[2] == "order")
    assert dana == sorted([300, 375, 600, 1050, 30, 7])
    assert ("c1", "5 orders") in mine["badges"]
    assert [e[4] for e in mine["entries"] if e[0] == "c1" and e[2] == "rule"] == [100]
    assert not [e for e in mine["entries"] if e[0] in ("c2", "c3")]  # the test order, the free one
    assert mine["events"]["loyalty.points_earned"] == 10  # 6 + 2 guest + 1 Eli + the badge


def test_a_redelivered_run_writes_nothing_twice():
    shop = paid_shop("twice.myshopify.com")
    services.orders_upsert(shop=shop, records=records(), live=True)
    events.dispatch_pending()
    before = (LedgerEntry.objects.count(), DomainEvent.objects.count(), AccountBadge.objects.count())

    # when the same order.paid events are handled again (a worker crashed before marking them)
    run = [paid_orders.PaidOrder(order_id=event.payload["order_id"], is_first_order=True)
           for event in DomainEvent.objects.filter(shop=shop, name=DomainEvent.Name.ORDER_PAID).order_by("pk")]
    paid_orders.orders_paid_handle(shop_id=shop.pk, paid=run)

    # then nothing more is written or announced
    assert (LedgerEntry.objects.count(), DomainEvent.objects.count(), AccountBadge.objects.count()) == before


def test_the_free_plans_monthly_limit_holds_in_a_run(settings):
    # given a Free shop two orders short of its monthly limit
    shop = ShopFactory(domain="free.myshopify.com", installed_at=T0 - timedelta(days=30))
    program_enable(shop=shop)
    from billing.plans import plan_by_code

    limit = plan_by_code(PlanCode.FREE).limit("orders")
    assert limit is not None
    account = Account.objects.create(shop=shop, email="x@example.com", referral_code="SEEDED01")
    LedgerEntry.objects.bulk_create(
        LedgerEntry(shop=shop, account=account, kind="earn", source="order", source_id=f"old{n}",
                    idempotency_key=f"earn:order:old{n}", points=1, available_at=T0)
        for n in range(limit - 2))

    # when a run of four earning orders is dispatched
    rows = [order(f"o{n}", [line(f"o{n}a", 1, "10")], customer=f"k{n}", email=f"k{n}@example.com",
                  at=T0 + timedelta(hours=n)) for n in range(4)]
    services.orders_upsert(shop=shop, records=rows, live=True)
    events.dispatch_pending()

    # then the first two earn and the last two are held back, with the reason recorded
    earned = set(LedgerEntry.objects.filter(shop=shop, source="order").exclude(source_id__startswith="old")
                 .values_list("source_id", flat=True))
    assert earned == {"o0", "o1"}
    from billing.models import LimitSkip

    assert set(LimitSkip.objects.filter(shop=shop).values_list("key", flat=True)) == {"o2", "o3"}


def paid_run(shop: Shop, count: int, *, start: int = 0) -> list[paid_orders.PaidOrder]:
    rows = [order(f"q{n}", [line(f"q{n}a", 1, "120")], customer=f"r{n % 7}", email=f"r{n % 7}@example.com",
                  at=T0 + timedelta(minutes=n)) for n in range(start, start + count)]
    services.orders_upsert(shop=shop, records=rows, live=True)
    paid = DomainEvent.objects.filter(shop=shop, name=DomainEvent.Name.ORDER_PAID, dispatched_at__isnull=True)
    run = [paid_orders.PaidOrder(order_id=e.payload["order_id"], is_first_order=bool(e.payload.get("is_first_order")))
           for e in paid.order_by("pk")]
    paid.update(dispatched_at=T0)
    return run


#: Statements of the loyalty part of a run of paid orders, pinned: reads of the orders, their
#: lines, the program, purchase rule, plan, tier scheme and tiers, the running-challenge check,
#: the badges, the accounts (locked), the earn keys written already, spend and order counts, the
#: badges held with the partner and review checks, the cheapest reward and the spendable balances
#: (these orders are past their pending days); then the entries and the announcements.
ONE_ORDER = 19
#: Forty orders of seven shoppers: the same, plus one UPDATE for the seven who reach Silver and
#: one INSERT of the badges they earn.
FORTY_ORDERS = 21


def test_a_run_costs_the_same_statements_for_one_order_and_for_forty(django_assert_num_queries):
    shop = paid_shop("lean.myshopify.com")
    # warm: every shopper has an account and the 'Member' badge, nobody crosses a tier below
    paid_orders.orders_paid_handle(shop_id=shop.pk, paid=paid_run(shop, 7))

    one = paid_run(shop, 1, start=7)
    with django_assert_num_queries(ONE_ORDER):
        paid_orders.orders_paid_handle(shop_id=shop.pk, paid=one)

    forty = paid_run(shop, 40, start=8)
    with django_assert_num_queries(FORTY_ORDERS):
        paid_orders.orders_paid_handle(shop_id=shop.pk, paid=forty)
    assert LedgerEntry.objects.filter(shop=shop, source="order").count() == 48
    assert Account.objects.filter(shop=shop, tier__name="Silver").count() == 7
