"""The tier dry run counts every member at once, and counts as the one-account rule does."""

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from loyalty.models import EntryKind, EntrySource, TierBasis, TierPeriod
from loyalty.services.ledger import account_for_customer, account_for_guest, entry_write
from loyalty.services.tiers import TierSpec, tier_metric, tier_metrics, tier_scheme_dry_run, tier_scheme_propose
from tests.factories import CustomerFactory, OrderFactory

AT = datetime(2026, 6, 1, tzinfo=UTC)


def _members(shop: Any, count: int) -> list[Any]:
    accounts = []
    for index in range(count):
        customer = CustomerFactory(shop=shop)
        OrderFactory(shop=shop, customer=customer, total=Decimal(100 * (index + 1)),
                     processed_at=datetime(2025 + index % 2, 3, 1, tzinfo=UTC))
        OrderFactory(shop=shop, customer=customer, total=Decimal("40"), financial_status="refunded",
                     total_refunded=Decimal("40"))  # refunded in full: not counted
        account = account_for_customer(shop=shop, customer=customer)
        entry_write(account=account, kind=EntryKind.EARN, source=EntrySource.RULE, key=f"k{index}",
                    points=50 * (index + 1), occurred_at=datetime(2026, 2, 1, tzinfo=UTC))
        accounts.append(account)
    guest = account_for_guest(shop=shop, email="guest@example.com")
    OrderFactory(shop=shop, customer=None, email="guest@example.com", total=Decimal("700"))
    return [*accounts, guest]


@pytest.mark.parametrize(("basis", "period"), [(TierBasis.SPEND, TierPeriod.LIFETIME),
                                               (TierBasis.SPEND, TierPeriod.CALENDAR_YEAR),
                                               (TierBasis.POINTS, TierPeriod.ROLLING_12_MONTHS)])
def test_every_members_metric_is_the_one_account_rules(shop: Any, basis: str, period: str) -> None:
    accounts = _members(shop, 4)
    scheme = tier_scheme_propose(shop=shop, basis=basis, period=period, grace_days=0,
                                 tiers=[TierSpec("Member", Decimal("0")), TierSpec("VIP", Decimal("300"))])
    metrics = tier_metrics(scheme=scheme, at=AT)
    for account in accounts:
        assert metrics.get(account.pk, Decimal(0)) == tier_metric(account=account, scheme=scheme, at=AT), account


def test_the_dry_run_takes_the_same_queries_for_few_or_many_members(shop: Any,
                                                                   django_assert_max_num_queries: Any) -> None:
    _members(shop, 3)
    scheme = tier_scheme_propose(shop=shop, basis="spend", period="lifetime", grace_days=0,
                                 tiers=[TierSpec("Member", Decimal("0")), TierSpec("VIP", Decimal("300"))])
    with django_assert_max_num_queries(8):
        few = tier_scheme_dry_run(scheme=scheme, at=AT)
    _members(shop, 12)
    with django_assert_max_num_queries(8):
        many = tier_scheme_dry_run(scheme=scheme, at=AT)
    assert len(many.moves) > len(few.moves)
