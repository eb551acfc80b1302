"""Tier qualification, boundaries, downgrades after period + grace, manual tiers, versions."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from commerce.models import DomainEvent
from loyalty.models import Account, Tier, TierScheme
from loyalty.services.tiers import (
    TierSpec,
    tier_evaluate,
    tier_scheme_activate,
    tier_scheme_dry_run,
    tier_scheme_propose,
    tier_set_manual,
)
from tests.loyalty.helpers import deliver, line, order

pytestmark = pytest.mark.django_db


def spend(shop, pid: str, amount: str, at: datetime, customer: str = "c1") -> Account:
    deliver(shop, order(pid, [line(f"{pid}a", 1, amount)], at=at, customer=customer,
                        email=f"{customer}@example.com"))
    return Account.objects.get(shop=shop, customer__platform_id=customer)


def tier_name(account: Account) -> str | None:
    account.refresh_from_db()
    return account.tier.name if account.tier else None


def test_default_tiers_by_lifetime_spend_with_exact_boundary(shop):
    at = datetime(2026, 3, 1, tzinfo=UTC)
    account = spend(shop, "1", "499.99", at)
    assert tier_name(account) == "Bronze"
    spend(shop, "2", "0.01", at + timedelta(days=1))  # exactly 500.00
    assert tier_name(account) == "Silver"
    assert DomainEvent.objects.filter(shop=shop, name="loyalty.tier_reached").count() == 2


def test_history_before_install_counts(shop):
    # orders from two years before the install qualify the customer
    account = spend(shop, "1", "2000.00", datetime(2024, 1, 10, tzinfo=UTC))
    assert tier_name(account) == "Gold"


def _calendar_scheme(shop, grace_days: int = 30) -> TierScheme:
    scheme = tier_scheme_propose(shop=shop, basis="spend", period="calendar_year", grace_days=grace_days,
                                 tiers=[TierSpec("Member", Decimal("0")), TierSpec("VIP", Decimal("300"))])
    tier_scheme_activate(scheme=scheme, at=datetime(2026, 1, 1, tzinfo=UTC))
    return scheme


def test_calendar_year_downgrade_waits_for_year_end_plus_grace(shop):
    scheme = _calendar_scheme(shop, grace_days=30)
    account = spend(shop, "1", "350.00", datetime(2026, 2, 1, tzinfo=UTC))
    tier_evaluate(account=account, at=datetime(2026, 2, 1, 1, tzinfo=UTC), scheme=scheme)
    assert tier_name(account) == "VIP"
    # in the new year the spend starts from zero, but the tier holds through the grace period
    tier_evaluate(account=account, at=datetime(2027, 1, 30, tzinfo=UTC), scheme=scheme)
    assert tier_name(account) == "VIP"
    tier_evaluate(account=account, at=datetime(2027, 1, 31, 0, 0, 1, tzinfo=UTC), scheme=scheme)
    assert tier_name(account) == "Member"
    lost = DomainEvent.objects.get(shop=shop, name="loyalty.tier_lost")
    assert lost.payload["tier"] == "VIP"


def test_rolling_twelve_months_counts_the_last_365_days(shop):
    scheme = tier_scheme_propose(shop=shop, basis="spend", period="rolling_12_months", grace_days=0,
                                 tiers=[TierSpec("Member", Decimal("0")), TierSpec("VIP", Decimal("300"))])
    tier_scheme_activate(scheme=scheme, at=datetime(2026, 1, 1, tzinfo=UTC))
    account = spend(shop, "1", "200.00", datetime(2025, 6, 1, tzinfo=UTC))
    spend(shop, "2", "150.00", datetime(2026, 5, 1, tzinfo=UTC))
    tier_evaluate(account=account, at=datetime(2026, 5, 1, 1, tzinfo=UTC), scheme=scheme)
    assert tier_name(account) == "VIP"  # 200 (within 365 days) + 150


def test_points_basis_counts_points_earned_not_the_balance(shop):
    scheme = tier_scheme_propose(shop=shop, basis="points", period="lifetime", grace_days=0,
                                 tiers=[TierSpec("Member", Decimal("0")), TierSpec("Star", Decimal("100"))])
    tier_scheme_activate(scheme=scheme)
    account = spend(shop, "1", "120.00", datetime(2026, 3, 1, tzinfo=UTC))
    from loyalty.services.ledger import entry_write

    entry_write(account=account, kind="redeem", source="redemption", key="spend-all", points=-120)
    tier_evaluate(account=account, scheme=scheme)
    assert tier_name(account) == "Star"


def test_manual_floor_and_fixed_tiers(shop):
    account = spend(shop, "1", "10.00", datetime(2026, 3, 1, tzinfo=UTC))
    silver = Tier.objects.get(shop=shop, scheme__is_active=True, name="Silver")
    tier_set_manual(account=account, tier=silver, mode="floor")
    assert tier_name(account) == "Silver"
    spend(shop, "2", "2000.00", datetime(2026, 3, 2, tzinfo=UTC))
    assert tier_name(account) == "Gold"  # floor: earned above it
    tier_set_manual(account=account, tier=silver, mode="fixed")
    assert tier_name(account) == "Silver"  # fixed: exactly this, said out loud by the merchant
    spend(shop, "3", "2000.00", datetime(2026, 3, 3, tzinfo=UTC))
    assert tier_name(account) == "Silver"  # and it stays so whatever is spent later


def test_new_rules_show_a_dry_run_then_apply(shop):
    low = spend(shop, "1", "100.00", datetime(2026, 3, 1, tzinfo=UTC), customer="a")
    high = spend(shop, "2", "900.00", datetime(2026, 3, 1, tzinfo=UTC), customer="b")
    assert (tier_name(low), tier_name(high)) == ("Bronze", "Silver")
    scheme = tier_scheme_propose(shop=shop, basis="spend", period="lifetime", grace_days=0, tiers=[
        TierSpec("Bronze", Decimal("0")), TierSpec("Silver", Decimal("50")), TierSpec("Gold", Decimal("800"))])
    plan = tier_scheme_dry_run(scheme=scheme)
    assert {(m.before, m.after) for m in plan.moves} == {("Bronze", "Silver"), ("Silver", "Gold")}
    assert (plan.up, plan.down) == (2, 0)
    assert tier_name(low) == "Bronze"  # nothing written by the dry run
    tier_scheme_activate(scheme=scheme)
    assert (tier_name(low), tier_name(high)) == ("Silver", "Gold")
    assert TierScheme.objects.get(shop=shop, is_active=True).version == 2


def test_test_orders_do_not_qualify_for_tiers(shop):
    from dataclasses import replace

    record = replace(order("t1", [line("t1a", 1, "900.00")], at=datetime(2026, 3, 1, tzinfo=UTC)), is_test=True)
    deliver(shop, record)
    account = spend(shop, "2", "10.00", datetime(2026, 3, 2, tzinfo=UTC))
    assert tier_name(account) == "Bronze"
