"""Purchase points, pending window, reversals for refunds and cancellations, guests."""

import dataclasses
from datetime import timedelta
from decimal import Decimal

import pytest

from loyalty.models import Account, EarningRule, LedgerEntry, NegativePolicy, Program, Rounding, Tier
from loyalty.services.earning import backfill, points_adjust
from loyalty.services.ledger import account_balance, entry_write
from loyalty.services.program import program_enable
from tests.loyalty.helpers import T0, customer, deliver, line, order, refund

pytestmark = pytest.mark.django_db

LATER = T0 + timedelta(days=60)


def balance(shop, customer_pid="c1", at=LATER):
    account = Account.objects.get(shop=shop, customer__platform_id=customer_pid)
    return account_balance(account=account, at=at)


def test_a_disabled_program_awards_nothing(shop):
    program_enable(shop=shop, enabled=False)
    deliver(shop, order("1", [line("1a", 1, "80.00")]))
    assert LedgerEntry.objects.count() == 0


def test_purchase_points_are_pending_for_the_return_window(shop):
    deliver(shop, order("1", [line("1a", 2, "40.50")], tax="6.00", shipping="5.00"))
    entry = LedgerEntry.objects.get()
    assert entry.points == 81  # 81.00 of merchandise, tax and shipping excluded, 1 point per unit
    assert entry.available_at == T0 + timedelta(days=14)
    assert account_balance(account=entry.account, at=T0 + timedelta(days=1)).pending == 81
    assert account_balance(account=entry.account, at=T0 + timedelta(days=1)).available == 0
    assert account_balance(account=entry.account, at=T0 + timedelta(days=14)).available == 81


@pytest.mark.parametrize("mode, tax, shipping, expected", [
    (Rounding.DOWN, False, False, 40), (Rounding.UP, False, False, 41), (Rounding.NEAREST, False, False, 41),
    (Rounding.DOWN, True, False, 44), (Rounding.DOWN, True, True, 49),
])
def test_rounding_tax_and_shipping(shop, mode, tax, shipping, expected):
    Program.objects.filter(shop=shop).update(rounding=mode, include_tax=tax, include_shipping=shipping,
                                             points_per_currency_unit=Decimal("0.5"))
    deliver(shop, order("1", [line("1a", 1, "81.00")], tax="8.00", shipping="10.00"))
    assert LedgerEntry.objects.get().points == expected


def test_product_and_tier_multipliers(shop):
    EarningRule.objects.filter(shop=shop, kind="purchase").update(multipliers={"products": {"p-serum": "2"}})
    deliver(shop, order("1", [line("1a", 1, "50.00", product="p-serum"), line("1b", 1, "50.00")]))
    assert LedgerEntry.objects.get(idempotency_key="earn:order:1").points == 150
    account = Account.objects.get()
    account.tier = Tier.objects.get(shop=shop, name="Gold")  # 1.5x
    account.save()
    deliver(shop, order("2", [line("2a", 1, "10.00")], at=T0 + timedelta(days=1)))
    assert LedgerEntry.objects.get(idempotency_key="earn:order:2").points == 15


def test_the_same_order_never_earns_twice(shop):
    record = order("1", [line("1a", 1, "30.00")])
    deliver(shop, record, record, order("1", [line("1a", 1, "30.00")], version=1))
    assert LedgerEntry.objects.filter(idempotency_key="earn:order:1").count() == 1


def test_partial_refunds_reverse_in_proportion_rounded_down_each_once(shop):
    lines = [line("1a", 1, "30.00"), line("1b", 1, "70.00")]
    deliver(shop, order("1", lines))  # 100 points
    r1 = refund("r1", "1", [("1a", 1, "30.00")])
    deliver(shop, order("1", lines, version=1, status="partially_refunded", refunds=(r1,)))
    deliver(shop, order("1", lines, version=2, status="partially_refunded", refunds=(r1,)))  # r1 again
    assert LedgerEntry.objects.get(idempotency_key="reverse:refund:r1").points == -30
    r2 = refund("r2", "1", [("1b", 1, "33.33")])
    deliver(shop, order("1", lines, version=3, status="partially_refunded", refunds=(r1, r2)))
    assert LedgerEntry.objects.get(idempotency_key="reverse:refund:r2").points == -33
    assert balance(shop).total == 37


def test_shipping_only_refund_reverses_nothing(shop):
    lines = [line("1a", 1, "50.00")]
    deliver(shop, order("1", lines, shipping="9.00"))
    deliver(shop, order("1", lines, shipping="9.00", version=1, status="partially_refunded",
                        refunds=(refund("r1", "1", [], shipping="9.00"),)))
    assert not LedgerEntry.objects.filter(kind="reverse").exists()
    assert balance(shop).total == 50


def test_a_refund_of_a_third_takes_back_exactly_a_third(shop):
    # 29 x (9.00 / 29.00) is 8.999... in Decimal: the share is computed before rounding down
    lines = [line("1a", 1, "20.00"), line("1b", 1, "9.00")]
    deliver(shop, order("1", lines))  # 29 points
    r1 = refund("r1", "1", [("1b", 1, "9.00")])
    deliver(shop, order("1", lines, version=1, status="partially_refunded", refunds=(r1,)))
    assert LedgerEntry.objects.get(idempotency_key="reverse:refund:r1").points == -9
    assert balance(shop).total == 20


def test_an_amount_refunded_without_lines_takes_back_its_share_of_the_goods(shop):
    # WooCommerce's "refund 25.00" with no items: its amount less shipping, against the order's
    # total less shipping (tax on both sides)
    lines = [line("1a", 1, "100.00")]
    deliver(shop, order("1", lines, tax="10.00", shipping="5.00"))  # 100 points
    by_hand = dataclasses.replace(refund("r1", "1", [], shipping="5.00"), amount=Decimal("32.50"))  # 27.50 + 5.00
    deliver(shop, order("1", lines, tax="10.00", shipping="5.00", version=1, status="partially_refunded",
                        refunds=(by_hand,)))
    assert LedgerEntry.objects.get(idempotency_key="reverse:refund:r1").points == -25  # 27.50 / 110.00
    assert balance(shop).total == 75


def test_cancellation_reverses_what_is_left(shop):
    lines = [line("1a", 1, "60.00"), line("1b", 1, "40.00")]
    r1 = refund("r1", "1", [("1b", 1, "40.00")])
    deliver(shop, order("1", lines), order("1", lines, version=1, refunds=(r1,), status="partially_refunded"))
    deliver(shop, order("1", lines, version=2, refunds=(r1,), status="refunded", cancelled=True))
    assert LedgerEntry.objects.get(idempotency_key="reverse:cancel:1").points == -60
    assert balance(shop).total == 0


def spend_everything(shop):
    account = Account.objects.get()
    entry_write(account=account, kind="redeem", source="redemption", key="spent", points=-100,
                available_at=T0 + timedelta(days=20))


@pytest.mark.parametrize("policy, expected_balance, expected_shortfall", [
    (NegativePolicy.ALLOW_NEGATIVE, -100, 0),
    (NegativePolicy.CAP_AT_ZERO, 0, 100),
])
def test_reversal_after_points_were_spent_follows_the_policy(shop, policy, expected_balance, expected_shortfall):
    Program.objects.filter(shop=shop).update(negative_policy=policy, pending_days=0)
    lines = [line("1a", 1, "100.00")]
    deliver(shop, order("1", lines))
    spend_everything(shop)
    deliver(shop, order("1", lines, version=1, cancelled=True, status="refunded"))
    entry = LedgerEntry.objects.get(idempotency_key="reverse:cancel:1")
    assert entry.shortfall == expected_shortfall
    assert balance(shop, at=T0 + timedelta(days=400)).available == expected_balance
    assert -entry.points + entry.shortfall == 100  # nothing silently lost


def test_refund_inside_the_return_window_reduces_pending_only(shop):
    lines = [line("1a", 1, "100.00")]
    deliver(shop, order("1", lines))
    deliver(shop, order("1", lines, version=1, refunds=(refund("r1", "1", [("1a", 1, "100.00")]),), status="refunded"))
    during = balance(shop, at=T0 + timedelta(days=1))
    assert (during.available, during.pending) == (0, 0)


def test_guest_points_are_held_by_email_and_claimed_by_the_new_customer(shop):
    deliver(shop, order("1", [line("1a", 1, "25.00")], customer="", email="Guest.Buyer@Example.com"))
    guest = Account.objects.get(customer__isnull=True)
    assert guest.email == "guest.buyer@example.com"
    assert account_balance(account=guest, at=LATER).total == 25
    customer(shop, "c9", "guest.buyer@example.com")
    guest.refresh_from_db()
    assert guest.customer.platform_id == "c9"
    assert balance(shop, "c9").total == 25


def test_manual_adjustment_needs_a_reason_and_records_the_author(shop, admin_user):
    deliver(shop, order("1", [line("1a", 1, "10.00")]))
    account = Account.objects.get()
    with pytest.raises(ValueError):
        points_adjust(account=account, points=5, reason=" ", created_by=admin_user)
    entry = points_adjust(account=account, points=5, reason="goodwill: late parcel", created_by=admin_user)
    assert (entry.points, entry.created_by, entry.kind) == (5, admin_user, "adjust")


def test_backfill_dry_run_matches_the_real_run_and_never_doubles(shop):
    program_enable(shop=shop, enabled=False)  # history arrives before the merchant turns it on
    lines = [line("1a", 1, "60.00"), line("1b", 1, "40.00")]
    deliver(shop, order("1", lines, refunds=(refund("r1", "1", [("1b", 1, "40.00")]),), status="partially_refunded"))
    deliver(shop, order("2", [line("2a", 1, "15.00")], customer="c2", email="b@example.com"))
    deliver(shop, order("3", [line("3a", 1, "99.00")], customer="c3", email="c@example.com", cancelled=True,
                        status="voided"))
    plan = backfill(shop=shop, apply=False)
    assert (plan.orders, plan.customers, plan.points) == (2, 2, 75)
    assert LedgerEntry.objects.count() == 0
    done = backfill(shop=shop, apply=True)
    assert done == plan
    total = sum(LedgerEntry.objects.values_list("points", flat=True))
    assert total == 75
    assert backfill(shop=shop, apply=True).orders == 0


def test_a_program_that_awards_on_fulfilment_waits_for_it(shop):
    Program.objects.filter(shop=shop).update(award_on="fulfilled")
    lines = [line("1a", 1, "45.00")]
    deliver(shop, order("1", lines))
    assert not LedgerEntry.objects.exists()
    deliver(shop, order("1", lines, version=1, fulfillment="fulfilled"))
    deliver(shop, order("1", lines, version=2, fulfillment="fulfilled"))
    assert list(LedgerEntry.objects.values_list("points", flat=True)) == [45]
