"""Expiry modes with warnings, and the points-accounting report."""

from datetime import date, timedelta

import pytest

from commerce.models import DomainEvent
from loyalty.models import Account, Program
from loyalty.selectors import points_accounting
from loyalty.services.expiry import account_expire, open_batches
from loyalty.services.ledger import account_balance, entry_write
from tests.loyalty.helpers import T0, deliver, line, order, refund

pytestmark = pytest.mark.django_db


def setup_program(shop, **fields):
    Program.objects.filter(shop=shop).update(pending_days=0, **fields)
    return Program.objects.get(shop=shop)


def test_no_expiry_mode_expires_nothing(shop):
    program = setup_program(shop)
    deliver(shop, order("1", [line("1a", 1, "50.00")]))
    assert account_expire(account=Account.objects.get(), program=program, at=T0 + timedelta(days=5000)) == 0


def test_inactivity_expiry_warns_first_then_expires_everything_once(shop):
    program = setup_program(shop, expiry_mode="inactivity", expiry_months=6, expiry_warning_days=14)
    deliver(shop, order("1", [line("1a", 1, "50.00")]))
    account = Account.objects.get()
    assert account_expire(account=account, program=program, at=T0 + timedelta(days=150)) == 0
    assert not DomainEvent.objects.filter(name="loyalty.points_expiring").exists()
    account_expire(account=account, program=program, at=T0 + timedelta(days=175))  # 6 months minus < 14 days
    warning = DomainEvent.objects.get(name="loyalty.points_expiring")
    assert warning.payload["points"] == 50
    assert account_expire(account=account, program=program, at=T0 + timedelta(days=190)) == 50
    assert account_expire(account=account, program=program, at=T0 + timedelta(days=191)) == 0
    assert account_balance(account=account, at=T0 + timedelta(days=200)).available == 0


def test_a_new_order_resets_the_inactivity_clock(shop):
    program = setup_program(shop, expiry_mode="inactivity", expiry_months=6)
    deliver(shop, order("1", [line("1a", 1, "50.00")]))
    deliver(shop, order("2", [line("2a", 1, "10.00")], at=T0 + timedelta(days=150)))
    assert account_expire(account=Account.objects.get(), program=program, at=T0 + timedelta(days=190)) == 0


def test_batch_expiry_spends_oldest_first(shop):
    program = setup_program(shop, expiry_mode="batch", expiry_days=90)
    deliver(shop, order("1", [line("1a", 1, "100.00")]))                                   # batch A: 100
    deliver(shop, order("2", [line("2a", 1, "60.00")], at=T0 + timedelta(days=60)))        # batch B: 60
    account = Account.objects.get()
    entry_write(account=account, kind="redeem", source="redemption", key="r", points=-70,
                available_at=T0 + timedelta(days=61))                                       # takes 70 of A
    assert [b.points for b in open_batches(account=account, at=T0 + timedelta(days=62))] == [30, 60]
    assert account_expire(account=account, program=program, at=T0 + timedelta(days=91)) == 30   # rest of A
    assert account_expire(account=account, program=program, at=T0 + timedelta(days=151)) == 60  # B
    assert account_balance(account=account, at=T0 + timedelta(days=200)).available == 0


def test_a_reversal_takes_from_its_own_batch(shop):
    program = setup_program(shop, expiry_mode="batch", expiry_days=90)
    deliver(shop, order("1", [line("1a", 1, "100.00")]))
    lines = [line("2a", 1, "50.00")]
    later = T0 + timedelta(days=60)
    deliver(shop, order("2", lines, at=later))
    deliver(shop, order("2", lines, at=later, version=1, status="refunded",
                        refunds=(refund("r2", "2", [("2a", 1, "50.00")]),)))
    account = Account.objects.get()
    # order 1's batch is whole: order 2's refund took order 2's points
    assert account_expire(account=account, program=program, at=T0 + timedelta(days=91)) == 100


def test_points_accounting_per_day_and_liability(shop):
    setup_program(shop, point_value="0.05")
    shop.timezone = "Asia/Jerusalem"
    shop.save()
    deliver(shop, order("1", [line("1a", 1, "100.00")]))
    account = Account.objects.get()
    # the order's points are dated by the order (T0); the redemption is dated T0 as well, though
    # both rows are written today
    entry_write(account=account, kind="redeem", source="redemption", key="r", points=-40, occurred_at=T0)
    report = points_accounting(shop=shop, start=date(2026, 3, 1), end=date(2026, 3, 1))
    assert report["days"]["2026-03-01"] == {"earned": 100, "redeemed": -40, "reversed": 0, "expired": 0,
                                            "adjusted": 0}
    assert (report["outstanding_points"], report["liability"], report["currency"]) == (60, "3.000", "USD")


def test_points_report_works_on_a_shop_whose_program_was_just_created(db):
    from datetime import date
    from decimal import Decimal

    from loyalty.selectors import points_accounting
    from tests.factories import ShopFactory

    fresh = ShopFactory(domain="fresh-report.myshopify.com")
    report = points_accounting(shop=fresh, start=date(2026, 1, 1), end=date(2026, 1, 31))
    assert Decimal(report["liability"]) == 0
