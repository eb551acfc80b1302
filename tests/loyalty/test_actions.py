"""Every earning rule besides purchases, badges and challenges."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from commerce import events, services
from commerce.models import Customer
from commerce.records import CustomerRecord
from loyalty.models import AccountBadge, Challenge, LedgerEntry
from loyalty.services.actions import (
    birthdays_award,
    challenges_review,
    review_record,
    social_action,
    survey_answered,
)
from loyalty.services.ledger import account_balance, account_for_customer
from retention_app.errors import ApplicationError
from tests.loyalty.helpers import T0, customer, deliver, line, order

pytestmark = pytest.mark.django_db


def points(account, prefix: str) -> list[int]:
    return list(LedgerEntry.objects.filter(account=account, idempotency_key__startswith=prefix)
                .values_list("points", flat=True))


def account_of(shop, pid="c1", email="dana@example.com"):
    customer(shop, pid, email)
    return account_for_customer(shop=shop, customer=Customer.objects.get(shop=shop, platform_id=pid))


def test_signup_points_when_the_store_account_is_enabled_once(shop):
    record = CustomerRecord(platform_id="c5", updated_at=T0, email="new@example.com", account_state="disabled")
    services.customers_upsert(shop=shop, records=[record], live=True)
    events.dispatch_pending()
    assert not LedgerEntry.objects.filter(idempotency_key__startswith="rule:signup").exists()
    for minutes in (1, 2):
        enabled = CustomerRecord(platform_id="c5", updated_at=T0 + timedelta(minutes=minutes),
                                 email="new@example.com", account_state="enabled")
        services.customers_upsert(shop=shop, records=[enabled], live=True)
        events.dispatch_pending()
    assert list(LedgerEntry.objects.filter(idempotency_key__startswith="rule:signup").values_list(
        "points", flat=True)) == [50]
    assert AccountBadge.objects.filter(badge__name="Member").count() == 1


def test_birthday_once_a_year_and_a_changed_birthday_cannot_earn_again(shop):
    account = account_of(shop)
    Customer.objects.filter(pk=account.customer_id).update(birthday=date(1990, 5, 17))
    assert birthdays_award(shop=shop, today=date(2026, 5, 17)) == 1
    assert birthdays_award(shop=shop, today=date(2026, 5, 17)) == 0  # the job ran twice
    Customer.objects.filter(pk=account.customer_id).update(birthday=date(1990, 6, 1))
    assert birthdays_award(shop=shop, today=date(2026, 6, 1)) == 0  # changed: not again within 12 months
    assert points(account, "rule:birthday") == [100]


def test_leap_day_birthdays_are_celebrated_on_march_first(shop):
    account = account_of(shop)
    Customer.objects.filter(pk=account.customer_id).update(birthday=date(2000, 2, 29))
    assert birthdays_award(shop=shop, today=date(2027, 3, 1)) == 1


def test_review_points_once_per_review_and_first_review_badge(shop):
    account = account_of(shop)
    review_record(account=account, external_id="judgeme-1", product_platform_id="p1", rating=5)
    review_record(account=account, external_id="judgeme-1", product_platform_id="p1", rating=5)
    review_record(account=account, external_id="judgeme-2", product_platform_id="p2", rating=4)
    assert points(account, "rule:review") == [25, 25]
    assert AccountBadge.objects.filter(account=account, badge__name="First review").count() == 1
    assert points(account, "badge:") == [10]


def test_survey_and_social_actions_earn_once_each(shop):
    account = account_of(shop)
    assert survey_answered(account=account, survey_id="nps-2026-q1").points == 20
    assert survey_answered(account=account, survey_id="nps-2026-q1") is None
    assert social_action(account=account, action="follow", network="Instagram").points == 10
    assert social_action(account=account, action="follow", network="instagram") is None
    assert social_action(account=account, action="share", network="instagram").points == 10
    with pytest.raises(ApplicationError):
        social_action(account=account, action="follow", network="myspace")
    assert account_balance(account=account).available == 40


def test_five_orders_badge(shop):
    for n in range(5):
        deliver(shop, order(str(n), [line(f"{n}a", 1, "10.00")], at=T0 + timedelta(days=n)))
    account = account_for_customer(shop=shop, customer=Customer.objects.get(shop=shop, platform_id="c1"))
    assert AccountBadge.objects.filter(account=account, badge__name="5 orders").count() == 1
    assert points(account, "badge:") == [100]


def test_challenge_three_orders_in_ninety_days(shop):
    start = datetime(2026, 3, 1, tzinfo=UTC)
    challenge = Challenge.objects.create(shop=shop, name="3 in 90", goal="orders", target=Decimal(3),
                                         starts_at=start, ends_at=start + timedelta(days=90), points=150)
    for n in range(3):
        deliver(shop, order(str(n), [line(f"{n}a", 1, "10.00")], at=start + timedelta(days=10 * n)))
    account = account_for_customer(shop=shop, customer=Customer.objects.get(shop=shop, platform_id="c1"))
    assert challenges_review(account=account, at=start + timedelta(days=30)) == [challenge]
    assert challenges_review(account=account, at=start + timedelta(days=31)) == []
    assert points(account, "challenge:") == [150]


def test_orders_outside_the_challenge_window_do_not_count(shop):
    start = datetime(2026, 3, 1, tzinfo=UTC)
    Challenge.objects.create(shop=shop, name="3 in 90", goal="orders", target=Decimal(3),
                             starts_at=start, ends_at=start + timedelta(days=90), points=150)
    for n in range(3):
        deliver(shop, order(str(n), [line(f"{n}a", 1, "10.00")], at=start + timedelta(days=50 * n)))
    account = account_for_customer(shop=shop, customer=Customer.objects.get(shop=shop, platform_id="c1"))
    assert challenges_review(account=account, at=start + timedelta(days=100)) == []


def test_gains_announce_points_earned_and_crossing_the_cheapest_reward(shop):
    from commerce.models import DomainEvent
    from loyalty.services.ledger import entry_write

    account = account_of(shop)
    entry_write(account=account, kind="adjust", source="admin", key="a", points=60, reason="gift")
    assert not DomainEvent.objects.filter(name="loyalty.reward_unlocked").exists()
    entry_write(account=account, kind="adjust", source="admin", key="b", points=50, reason="gift")  # 110 >= 100
    unlocked = DomainEvent.objects.get(name="loyalty.reward_unlocked")
    assert unlocked.payload == {"account_id": account.pk, "available": 110, "cheapest_reward": 100}
    assert DomainEvent.objects.filter(name="loyalty.points_earned").count() == 2
