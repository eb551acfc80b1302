"""Referral rewards and every fraud rule, each with its reason."""

from datetime import timedelta

import pytest

from commerce.models import Customer
from loyalty.models import Account, LedgerEntry, Program, Referral
from loyalty.services.ledger import account_for_customer
from loyalty.services.referrals import email_normalise, referral_review, referral_start
from retention_app.errors import ApplicationError
from tests.loyalty.helpers import T0, customer, deliver, line, order

pytestmark = pytest.mark.django_db


@pytest.fixture
def referrer(shop):
    customer(shop, "r1", "dana.levi@gmail.com")
    Customer.objects.filter(shop=shop, platform_id="r1").update(first_name="Dana", last_name="Levi",
                                                                 phone="+972-50-123-4567")
    return account_for_customer(shop=shop, customer=Customer.objects.get(shop=shop, platform_id="r1"))


def start(shop, referrer, email, ip="198.51.100.7"):
    return referral_start(shop=shop, code=referrer.referral_code, friend_email=email, ip=ip, issue_code=False)


@pytest.mark.parametrize("raw, normalised", [
    ("Dana.Levi+promo@Gmail.com", "danalevi@gmail.com"),
    ("d.a.n.a.levi@googlemail.com", "danalevi@gmail.com"),
    ("dana.levi+x@example.co.il", "dana.levi@example.co.il"),
])
def test_email_normalisation(raw, normalised):
    assert email_normalise(raw) == normalised


def test_friend_first_order_rewards_both_sides_after_the_return_window(shop, referrer):
    referral = start(shop, referrer, "noa@example.com")
    assert (referral.status, referral.reasons) == ("pending", [])
    customer(shop, "f1", "noa@example.com")
    deliver(shop, order("10", [line("10a", 1, "40.00")], customer="f1", email="noa@example.com",
                        at=T0 + timedelta(days=1)))
    referral.refresh_from_db()
    assert referral.status == "completed"
    earned = LedgerEntry.objects.get(idempotency_key=f"referral:{referral.pk}:referrer")
    assert earned.points == 200 and earned.account == referrer
    assert earned.available_at > earned.created_at + timedelta(days=13)  # pending for the return window
    assert LedgerEntry.objects.get(idempotency_key=f"referral:{referral.pk}:friend").points == 100
    # a second order by the friend changes nothing
    deliver(shop, order("11", [line("11a", 1, "40.00")], customer="f1", email="noa@example.com",
                        at=T0 + timedelta(days=5)))
    assert LedgerEntry.objects.filter(idempotency_key__startswith="referral:").count() == 2


@pytest.mark.parametrize("email", ["dana.levi+friend@gmail.com", "DanaLevi@googlemail.com"])
def test_self_referral_by_normalised_email_is_rejected(shop, referrer, email):
    referral = start(shop, referrer, email)
    assert referral.status == "rejected"
    assert "self-referral: same email" in referral.reasons


def test_self_referral_by_phone_is_caught_at_the_first_order(shop, referrer):
    referral = start(shop, referrer, "other@example.com")
    customer(shop, "f2", "other@example.com")
    Customer.objects.filter(shop=shop, platform_id="f2").update(phone="050-1234567")
    deliver(shop, order("20", [line("20a", 1, "40.00")], customer="f2", email="other@example.com"))
    referral.refresh_from_db()
    assert referral.status == "rejected"
    assert "self-referral: same phone" in referral.reasons
    assert not LedgerEntry.objects.filter(idempotency_key__startswith="referral:").exists()


def test_same_name_goes_to_review_and_the_merchant_decides(shop, referrer):
    referral = start(shop, referrer, "dl@example.com")
    customer(shop, "f3", "dl@example.com")
    Customer.objects.filter(shop=shop, platform_id="f3").update(first_name="Dana", last_name="Levi")
    deliver(shop, order("30", [line("30a", 1, "40.00")], customer="f3", email="dl@example.com"))
    referral.refresh_from_db()
    assert (referral.status, referral.reasons) == ("review", ["same name as the referrer"])
    referral_review(referral=referral, approve=True)
    referral.refresh_from_db()
    assert referral.status == "completed"
    assert LedgerEntry.objects.filter(idempotency_key=f"referral:{referral.pk}:referrer").exists()


def test_friend_who_already_ordered_is_rejected(shop, referrer):
    deliver(shop, order("40", [line("40a", 1, "40.00")], customer="old", email="old@example.com"))
    referral = start(shop, referrer, "old@example.com")
    assert referral.status == "rejected"
    assert "friend is not a new customer" in referral.reasons


def test_too_many_from_one_ip_in_a_week_goes_to_review(shop, referrer):
    for n in range(3):
        assert start(shop, referrer, f"friend{n}@example.com", ip="203.0.113.9").status == "pending"
    fourth = start(shop, referrer, "friend9@example.com", ip="203.0.113.9")
    assert fourth.status == "review"
    assert any("from one IP" in reason for reason in fourth.reasons)


def test_referrer_monthly_cap(shop, referrer):
    Program.objects.filter(shop=shop).update(referral_monthly_cap=2)
    start(shop, referrer, "a1@example.com", ip="192.0.2.1")
    start(shop, referrer, "a2@example.com", ip="192.0.2.2")
    third = start(shop, referrer, "a3@example.com", ip="192.0.2.3")
    assert third.status == "rejected"
    assert any("cap of 2" in reason for reason in third.reasons)


def test_the_same_friend_cannot_be_referred_twice(shop, referrer):
    start(shop, referrer, "twice@example.com")
    with pytest.raises(ApplicationError) as refused:
        start(shop, referrer, "Twice@Example.com")
    assert refused.value.status == 409
    assert Referral.objects.count() == 1
    assert Account.objects.filter(shop=shop).count() == 1


def test_same_shipping_address_as_the_referrer_goes_to_review(shop, referrer):
    deliver(shop, order("50", [line("50a", 1, "20.00")], customer="r1", email="dana.levi@gmail.com",
                        address="home-key"))
    referral = start(shop, referrer, "neighbour@example.com")
    customer(shop, "f5", "neighbour@example.com")
    deliver(shop, order("51", [line("51a", 1, "20.00")], customer="f5", email="neighbour@example.com",
                        address="home-key", at=T0 + timedelta(days=2)))
    referral.refresh_from_db()
    assert (referral.status, referral.reasons) == ("review", ["same shipping address as the referrer"])
