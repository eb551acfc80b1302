"""History keeps its dates: points for synced orders are dated by their orders, everywhere.

The store's history comes in as a history sync does (no events), then the merchant applies the
program to it (``backfill``): the ledger, the points report, the analytics report, the shopper's
activity list, expiry and tier periods all go by when the orders and refunds happened, while each
entry still records when it was written.
"""

import csv
import dataclasses
import importlib
import io
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from dateutil.relativedelta import relativedelta
from django.apps import apps
from django.db import connection
from django.utils import timezone

from analytics.services import loyalty_return
from commerce import services
from commerce.models import Customer, Order
from commerce.privacy import customer_export
from commerce.records import CustomerRecord
from dashboard.models import MembershipRole
from dashboard.services import membership_grant
from loyalty.models import Account, EntryKind, LedgerEntry, Program, TierBasis, TierPeriod
from loyalty.selectors import points_accounting
from loyalty.services.earning import backfill
from loyalty.services.expiry import account_expire, accounts_to_review, shop_expire
from loyalty.services.ledger import account_balance, account_for_customer, entry_write
from loyalty.services.tiers import TierSpec, tier_metric, tier_scheme_propose
from tests.factories import UserFactory
from tests.loyalty.helpers import deliver, line, order, refund
from tests.loyalty.test_widget_api import signed

pytestmark = pytest.mark.django_db


@contextmanager
def _before_the_append_only_trigger() -> Iterator[None]:
    """The ledger as migration 0007 saw it: its trigger (0009) came later (PostgreSQL only)."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no pending foreign-key checks: ALTER TABLE refuses them
        cursor.execute("ALTER TABLE loyalty_ledgerentry DISABLE TRIGGER loyalty_ledgerentry_append_only")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("ALTER TABLE loyalty_ledgerentry ENABLE TRIGGER loyalty_ledgerentry_append_only")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")

JAN, FEB, MAR = (datetime(2026, 1, 15, 10, tzinfo=UTC), datetime(2026, 2, 10, 10, tzinfo=UTC),
                 datetime(2026, 3, 5, 10, tzinfo=UTC))
FEB_REFUND = datetime(2026, 2, 20, 9, tzinfo=UTC)


def history(shop, *records):
    """Orders as the history sync brings them: stored, no events, no points."""
    services.customers_upsert(shop=shop, records=[
        CustomerRecord(platform_id=pid, updated_at=JAN, email=f"{pid}@example.com") for pid in ("c1", "c2")
    ], live=False)
    services.orders_upsert(shop=shop, records=list(records), live=False)


def _refund_at(record, when):
    return dataclasses.replace(record, processed_at=when)


@pytest.fixture
def synced(shop):
    """c1 ordered in January and February (20.00 of February's refunded on 20 February), c2 in
    March; nothing is awarded yet."""
    february_lines = [line("2a", 1, "40.00"), line("2b", 1, "20.00")]
    history(
        shop,
        order("1", [line("1a", 1, "100.00")], customer="c1", email="c1@example.com", at=JAN),
        order("2", february_lines, customer="c1", email="c1@example.com", at=FEB, status="partially_refunded",
              refunds=(_refund_at(refund("r2", "2", [("2b", 1, "20.00")]), FEB_REFUND),)),
        order("3", [line("3a", 1, "40.00")], customer="c2", email="c2@example.com", at=MAR),
    )
    assert not LedgerEntry.objects.exists()
    return shop


def _dates(shop):
    return {e.idempotency_key: e.occurred_at for e in LedgerEntry.objects.filter(shop=shop)}


def test_the_backfill_dates_each_entry_by_its_order_and_refund_and_records_when_it_was_written(synced):
    # given the synced history; when the merchant applies the program to it
    started = timezone.now()
    plan = backfill(shop=synced, apply=True)
    # then
    assert (plan.orders, plan.points) == (3, 100 + 60 - 20 + 40)
    assert _dates(synced) == {"earn:order:1": JAN, "earn:order:2": FEB, "reverse:refund:r2": FEB_REFUND,
                              "earn:order:3": MAR}
    assert all(entry.created_at >= started for entry in LedgerEntry.objects.filter(shop=synced))


def test_the_points_report_groups_history_by_the_days_it_happened_not_install_day(synced):
    backfill(shop=synced, apply=True)
    zero = {"redeemed": 0, "expired": 0, "adjusted": 0}
    report = points_accounting(shop=synced, start=date(2026, 1, 1), end=date(2026, 3, 31))
    assert report["days"] == {
        "2026-01-15": {"earned": 100, "reversed": 0, **zero},
        "2026-02-10": {"earned": 60, "reversed": 0, **zero},
        "2026-02-20": {"earned": 0, "reversed": -20, **zero},
        "2026-03-05": {"earned": 40, "reversed": 0, **zero},
    }
    today = timezone.now().date()
    assert points_accounting(shop=synced, start=today - timedelta(days=1), end=today + timedelta(days=1))["days"] == {}
    # the analytics report, month by month
    months = [(date(2026, 1, 1), date(2026, 1, 31)), (date(2026, 2, 1), date(2026, 2, 28)),
              (date(2026, 3, 1), date(2026, 3, 31))]
    assert [loyalty_return(shop=synced, start=start, end=end)["points"]["earned"] for start, end in months] == [
        100, 60, 40]


def test_the_shoppers_activity_list_shows_the_order_dates(client, synced):
    backfill(shop=synced, apply=True)
    state = client.get(f"/proxy/loyalty?{signed(synced, 'c1')}").json()
    assert [(item["points"], item["at"][:10]) for item in state["history"]] == [
        (-20, "2026-02-20"), (60, "2026-02-10"), (100, "2026-01-15")]
    today = timezone.now().date().isoformat()
    assert {item["recorded_at"][:10] for item in state["history"]} == {today}
    assert state["balance"] == {"available": 140, "pending": 0}


def test_live_points_are_dated_by_the_order_and_the_refund_and_other_entries_by_now(shop):
    lines = [line("9a", 1, "50.00"), line("9b", 1, "50.00")]
    placed = datetime(2026, 5, 2, 8, tzinfo=UTC)
    refunded_on = datetime(2026, 5, 9, 8, tzinfo=UTC)
    deliver(shop, order("9", lines, at=placed))
    deliver(shop, order("9", lines, at=placed, version=1, status="partially_refunded",
                        refunds=(_refund_at(refund("r9", "9", [("9b", 1, "50.00")]), refunded_on),)))
    before = timezone.now()
    gift = entry_write(account=Account.objects.get(shop=shop), kind="adjust", source="admin", key="gift",
                       points=5, reason="gift")
    dates = _dates(shop)
    assert (dates["earn:order:9"], dates["reverse:refund:r9"]) == (placed, refunded_on)
    assert gift.occurred_at >= before


def _expiry(shop, **fields):
    Program.objects.filter(shop=shop).update(**fields)
    return Program.objects.get(shop=shop)


def test_batch_expiry_gives_points_from_history_a_full_period_from_the_backfill(synced):
    program = _expiry(synced, expiry_mode="batch", expiry_days=90, expiry_warning_days=14)
    backfill(shop=synced, apply=True)
    now = timezone.now()
    account = Account.objects.get(customer__platform_id="c1")
    # not gone the night after the install although the orders are older than 90 days ...
    assert shop_expire(shop=synced, at=now + timedelta(days=1)) == 0
    assert account_balance(account=account, at=now + timedelta(days=1)).available == 140
    # ... and they do expire, 90 days after they were credited
    assert account_expire(account=account, program=program, at=now + timedelta(days=91)) == 140


def test_inactivity_expiry_counts_from_the_backfill_when_the_last_order_is_older(synced):
    program = _expiry(synced, expiry_mode="inactivity", expiry_months=6, expiry_warning_days=14)
    backfill(shop=synced, apply=True)
    now = timezone.now()
    account = Account.objects.get(customer__platform_id="c1")
    # the last order is from February, more than six months ago: still nothing expires now
    assert account not in accounts_to_review(shop=synced, program=program, at=now + timedelta(days=1))
    assert account_expire(account=account, program=program, at=now + timedelta(days=1)) == 0
    # six months after the backfill, the daily job finds the account and expires the points
    later = now + relativedelta(months=6) + timedelta(days=1)
    assert account in accounts_to_review(shop=synced, program=program, at=later)
    assert shop_expire(shop=synced, at=later) == 140 + 40


def test_a_points_tier_period_counts_history_by_when_it_was_earned(shop):
    now = timezone.now()
    old, recent = now - timedelta(days=500), now - timedelta(days=30)
    history(shop, order("o", [line("oa", 1, "300.00")], customer="c1", email="c1@example.com", at=old),
            order("n", [line("na", 1, "70.00")], customer="c1", email="c1@example.com", at=recent))
    backfill(shop=shop, apply=True)
    scheme = tier_scheme_propose(shop=shop, basis=TierBasis.POINTS, period=TierPeriod.ROLLING_12_MONTHS,
                                 grace_days=0, tiers=[TierSpec("Member", Decimal("0"))])
    account = Account.objects.get(customer__platform_id="c1")
    assert tier_metric(account=account, scheme=scheme, at=now) == Decimal("70")
    scheme.period = TierPeriod.LIFETIME
    assert tier_metric(account=account, scheme=scheme, at=now) == Decimal("370")


def test_the_migration_dates_existing_rows_from_their_orders_refunds_and_cancellations(synced):
    # given rows written before the field existed: all dated by the migration's run
    backfill(shop=synced, apply=True)
    cancelled_at = datetime(2026, 3, 8, tzinfo=UTC)
    Order.objects.filter(shop=synced, platform_id="3").update(cancelled_at=cancelled_at)
    account = account_for_customer(shop=synced, customer=Customer.objects.get(shop=synced, platform_id="c2"))
    entry_write(account=account, kind=EntryKind.REVERSE, source="cancellation", source_id="3",
                key="reverse:cancel:3", points=-40)
    entry_write(account=account, kind=EntryKind.ADJUST, source="admin", key="gift", points=5, reason="gift")
    written = datetime(2026, 12, 1, tzinfo=UTC)
    with _before_the_append_only_trigger():
        LedgerEntry.objects.update(occurred_at=written, created_at=written)
        # when the migration's data step runs
        migration = importlib.import_module("loyalty.migrations.0007_ledger_occurred_at")
        migration._date_from_sources(apps, SimpleNamespace(connection=connection))
    # then
    assert _dates(synced) == {"earn:order:1": JAN, "earn:order:2": FEB, "reverse:refund:r2": FEB_REFUND,
                              "earn:order:3": MAR, "reverse:cancel:3": cancelled_at, "gift": written}


def test_the_dashboards_points_table_lists_the_history_days(client, synced):
    # given a merchant of the shop, after the backfill
    user = UserFactory(username="merchant")
    membership_grant(user=user, shop=synced, role=MembershipRole.OWNER)
    client.force_login(user)
    backfill(shop=synced, apply=True)
    # when they download the loyalty page's points-per-day table for the first quarter
    response = client.get("/dashboard/loyalty/", {"start": "2026-01-01", "end": "2026-03-31", "format": "csv",
                                                  "table": "points"})
    # then each order's and refund's day has its points, and nothing sits on install day
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert [row[:3] for row in rows[1:]] == [["2026-01-15", "100", "0"], ["2026-02-10", "60", "0"],
                                             ["2026-02-20", "0", "0"], ["2026-03-05", "40", "0"]]
    assert rows[3][3] == "-20"  # reversed on the refund's day


def test_the_shoppers_data_export_dates_their_points_history_by_the_orders(synced):
    backfill(shop=synced, apply=True)
    exported = customer_export(shop=synced, platform_id="c1")["loyalty"]["points_history"]
    assert [(item["points"], item["at"][:10]) for item in exported] == [
        (100, "2026-01-15"), (60, "2026-02-10"), (-20, "2026-02-20")]
    assert {item["recorded_at"][:10] for item in exported} == {timezone.now().date().isoformat()}
