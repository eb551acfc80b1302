"""Referral rewards and every fraud rule, each with its reason."""

from dataclasses import replace
from datetime import timedelta

import pytest
from django.utils import timezone

from commerce.models import Customer, Order
from loyalty.models import Account, LedgerEntry, Program, Referral
from loyalty.services.ledger import account_balance, account_for_customer
from loyalty.services.referrals import (
    CLAIMS_PER_IP_HOUR,
    email_normalise,
    referral_order_paid,
    referral_review,
    referral_start,
)
from retention_app.errors import ApplicationError
from tests.integrations.test_oauth import session_token
from tests.loyalty.helpers import T0, customer, deliver, line, order, refund
from tests.loyalty.test_widget_api import signed

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
    # pending for the return window after the friend's order, like the purchase points
    assert earned.available_at == T0 + timedelta(days=1 + 14)
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


def with_code(referral, code="FRIEND-TEST2345"):
    """The code the store would have made (the adapter is exercised over HTTP in tests/e2e)."""
    Referral.objects.filter(pk=referral.pk).update(friend_code=code)
    referral.friend_code = code
    return code


def referral_entries():
    return list(LedgerEntry.objects.filter(idempotency_key__startswith="referral:")
                .order_by("idempotency_key").values_list("idempotency_key", "points", "reason"))


def test_an_order_with_the_friends_code_completes_it_whatever_email_it_carries(shop, referrer):
    referral = start(shop, referrer, "noa@example.com")
    code = with_code(referral)
    customer(shop, "f6", "noa.work@example.com")
    # codes are case-insensitive at checkout
    deliver(shop, order("60", [line("60a", 1, "40.00")], customer="f6", email="noa.work@example.com",
                        codes=(code.lower(),)))
    referral.refresh_from_db()
    assert (referral.status, referral.friend_order.platform_id) == ("completed", "60")
    assert referral_entries() == [(f"referral:{referral.pk}:friend", 100, "joined through a referral"),
                                  (f"referral:{referral.pk}:referrer", 200, "referred a friend")]


def test_a_duplicated_order_completes_the_referral_once(shop, referrer):
    referral = start(shop, referrer, "noa@example.com")
    customer(shop, "f1", "noa@example.com")
    record = order("12", [line("12a", 1, "40.00")], customer="f1", email="noa@example.com")
    deliver(shop, record, record)
    paid = Order.objects.get(shop=shop, platform_id="12")
    assert referral_order_paid(order=paid) is None  # the event replayed by hand: nothing open any more
    referral.refresh_from_db()
    assert referral.status == "completed"
    assert [key for key, _, _ in referral_entries()] == [f"referral:{referral.pk}:friend",
                                                         f"referral:{referral.pk}:referrer"]


def test_the_referrer_using_the_friends_code_is_a_self_referral(shop, referrer):
    referral = start(shop, referrer, "made-up@example.com")
    code = with_code(referral)
    deliver(shop, order("70", [line("70a", 1, "40.00")], customer="r1", email="dana.levi@gmail.com", codes=(code,)))
    referral.refresh_from_db()
    assert referral.status == "rejected"
    assert {"self-referral: same customer", "self-referral: same email"} <= set(referral.reasons)
    assert referral_entries() == []


def test_a_guest_checkout_with_the_referrers_email_is_a_self_referral(shop, referrer):
    referral = start(shop, referrer, "made-up@example.com")
    code = with_code(referral)
    deliver(shop, order("71", [line("71a", 1, "40.00")], customer="", email="Dana.Levi+x@gmail.com", codes=(code,)))
    referral.refresh_from_db()
    assert (referral.status, referral.reasons) == ("rejected", ["self-referral: same email"])
    assert referral_entries() == []


def test_an_existing_customer_using_a_friends_code_is_not_a_new_friend(shop, referrer):
    deliver(shop, order("80", [line("80a", 1, "40.00")], customer="old", email="old@example.com"))
    referral = start(shop, referrer, "someone-new@example.com")
    code = with_code(referral)
    deliver(shop, order("81", [line("81a", 1, "40.00")], customer="old", email="old@example.com", codes=(code,),
                        at=T0 + timedelta(days=3)))
    referral.refresh_from_db()
    assert referral.status == "rejected"
    assert "friend is not a new customer" in referral.reasons
    assert referral_entries() == []


def test_a_logged_in_friend_claims_with_their_account_email(shop, referrer):
    customer(shop, "f9", "Noa@Example.com")
    referral = referral_start(shop=shop, code=referrer.referral_code.lower(), customer_platform_id="f9",
                              issue_code=False)
    assert (referral.status, referral.friend_email, referral.friend_customer.platform_id) == (
        "pending", "noa@example.com", "f9")


def test_a_logged_in_customer_who_already_ordered_is_refused(shop, referrer):
    customer(shop, "f10", "ten@example.com")
    deliver(shop, order("95", [line("95a", 1, "40.00")], customer="f10", email="ten@example.com"))
    referral = referral_start(shop=shop, code=referrer.referral_code, customer_platform_id="f10", issue_code=False)
    assert (referral.status, referral.reasons) == ("rejected", ["friend is not a new customer"])


def test_the_referrer_opening_their_own_link_is_refused(shop, referrer):
    referral = referral_start(shop=shop, code=referrer.referral_code, customer_platform_id="r1", issue_code=False)
    assert referral.status == "rejected"
    assert {"self-referral: same customer", "self-referral: same email"} <= set(referral.reasons)


@pytest.mark.parametrize(("code", "email", "status", "error"), [
    ("NOPE1234", "a@example.com", 404, "referral_unknown"),
    (None, "not-an-email", 400, "email_required"),
    (None, "", 400, "email_required"),
])
def test_claims_refused_before_anything_is_written(shop, referrer, code, email, status, error):
    with pytest.raises(ApplicationError) as refused:
        referral_start(shop=shop, code=code or referrer.referral_code, friend_email=email, issue_code=False)
    assert (refused.value.status, refused.value.code) == (status, error)
    assert not Referral.objects.exists()


def test_a_paused_program_takes_no_referrals(shop, referrer):
    Program.objects.filter(shop=shop).update(is_enabled=False)
    with pytest.raises(ApplicationError) as refused:
        start(shop, referrer, "noa@example.com")
    assert refused.value.code == "program_inactive"
    assert not Referral.objects.exists()


def test_claims_from_one_ip_are_rate_limited(shop, referrer):
    Program.objects.filter(shop=shop).update(referral_monthly_cap=100, referral_ip_weekly_limit=100)
    for n in range(CLAIMS_PER_IP_HOUR):
        start(shop, referrer, f"burst{n}@example.com", ip="203.0.113.77")
    with pytest.raises(ApplicationError) as refused:
        start(shop, referrer, "one-more@example.com", ip="203.0.113.77")
    assert (refused.value.status, refused.value.code) == (429, "rate_limited")
    assert 3590 <= refused.value.extra["retry_after"] <= 3601  # the first of the burst leaves the hour then
    assert Referral.objects.count() == CLAIMS_PER_IP_HOUR
    assert start(shop, referrer, "one-more@example.com", ip="203.0.113.78").status == "pending"  # another address


def test_a_failed_code_is_issued_again_when_the_friend_retries(shop, referrer, settings):
    settings.SHOPIFY_SANDBOX_URL = "http://127.0.0.1:1"  # the store is unreachable
    first = referral_start(shop=shop, code=referrer.referral_code, friend_email="noa@example.com")
    assert (first.status, first.friend_code) == ("pending", "")
    assert first.error
    again = referral_start(shop=shop, code=referrer.referral_code, friend_email="noa@example.com")
    assert again.pk == first.pk and Referral.objects.count() == 1  # retried, not "already referred"
    with pytest.raises(ApplicationError) as refused:  # another referrer cannot take the friend over
        other = account_for_customer(shop=shop, customer=Customer.objects.create(
            shop=shop, platform_id="r2", email="other@example.com"))
        referral_start(shop=shop, code=other.referral_code, friend_email="noa@example.com")
    assert refused.value.code == "already_referred"


def test_a_referral_held_for_review_keeps_its_order_and_the_merchant_completes_it(shop, referrer):
    Program.objects.filter(shop=shop).update(referral_ip_weekly_limit=0)
    referral = start(shop, referrer, "noa@example.com")
    assert referral.status == "review"
    customer(shop, "f11", "noa@example.com")
    deliver(shop, order("99", [line("99a", 1, "40.00")], customer="f11", email="noa@example.com"))
    referral.refresh_from_db()
    assert (referral.status, referral.friend_order.platform_id) == ("review", "99")
    assert referral_entries() == []
    referral_review(referral=referral, approve=True)
    assert [key for key, _, _ in referral_entries()] == [f"referral:{referral.pk}:friend",
                                                         f"referral:{referral.pk}:referrer"]


def test_the_offer_names_the_referrer_by_first_name_only(client, shop, referrer):
    response = client.get(f"/proxy/referrals/offer?{signed(shop, code=referrer.referral_code.lower())}")
    assert response.json() == {"code": referrer.referral_code, "referrer_first_name": "Dana", "discount_percent": 10,
                               "own_link": False, "email_required": True, "logged_in": False}
    assert "Levi" not in response.content.decode() and "gmail" not in response.content.decode()
    own = client.get(f"/proxy/referrals/offer?{signed(shop, 'r1', code=referrer.referral_code)}").json()
    assert (own["own_link"], own["logged_in"], own["email_required"]) == (True, True, False)
    # a shopper the store has not told us about yet (their customers/create is on its way) types it
    unknown_yet = client.get(f"/proxy/referrals/offer?{signed(shop, 'new-9', code=referrer.referral_code)}").json()
    assert (unknown_yet["logged_in"], unknown_yet["email_required"]) == (True, True)
    unknown = client.get(f"/proxy/referrals/offer?{signed(shop, code='NOPE1234')}")
    assert (unknown.status_code, unknown.json()["code"]) == (404, "referral_unknown")


def test_a_friends_order_returned_within_the_window_takes_the_reward_back(shop, referrer):
    # given a completed referral whose points are still pending (the order is a day old)
    referral = start(shop, referrer, "noa@example.com")
    customer(shop, "f12", "noa@example.com")
    lines = [line("120a", 1, "40.00")]
    placed = timezone.now() - timedelta(days=1)
    deliver(shop, order("120", lines, customer="f12", email="noa@example.com", at=placed))
    referral.refresh_from_db()
    assert referral.status == "completed"
    # when the friend returns it in full
    returned = refund("r120", "120", [("120a", 1, "40.00")])
    deliver(shop, order("120", lines, customer="f12", email="noa@example.com", at=placed, version=1,
                        status="refunded", refunds=(returned,)))
    # then both sides lose the referral points, once, and the referral no longer counts
    referral.refresh_from_db()
    assert referral.status == "rejected"
    assert referral.reasons[-1] == "the friend's order was cancelled or refunded within the return window"
    reversed_entries = LedgerEntry.objects.filter(kind="reverse", idempotency_key__startswith="reverse:referral:")
    assert sorted(e.points for e in reversed_entries) == [-200, -100]
    assert account_balance(account=referrer).pending == 0
    deliver(shop, order("120", lines, customer="f12", email="noa@example.com", at=placed, version=2,
                        status="refunded", refunds=(returned,), cancelled=True))
    assert reversed_entries.count() == 2


def test_after_the_return_window_a_cancellation_leaves_the_reward(shop, referrer):
    referral = start(shop, referrer, "noa@example.com")
    customer(shop, "f13", "noa@example.com")
    lines = [line("130a", 1, "40.00")]
    deliver(shop, order("130", lines, customer="f13", email="noa@example.com"))  # T0: months ago
    deliver(shop, order("130", lines, customer="f13", email="noa@example.com", version=1, cancelled=True))
    referral.refresh_from_db()
    assert referral.status == "completed"
    assert not LedgerEntry.objects.filter(idempotency_key__startswith="reverse:referral:").exists()


def test_a_test_order_completes_nothing(shop, referrer):
    referral = start(shop, referrer, "noa@example.com")
    customer(shop, "f14", "noa@example.com")
    deliver(shop, replace(order("140", [line("140a", 1, "40.00")], customer="f14", email="noa@example.com"),
                          is_test=True))
    referral.refresh_from_db()
    assert referral.status == "pending"
    assert referral_entries() == []


def test_the_merchant_sees_the_friends_code_and_order_in_the_referral_list(client, shop, referrer):
    referral = start(shop, referrer, "noa@example.com")
    code = with_code(referral)
    customer(shop, "f15", "noa@example.com")
    deliver(shop, order("150", [line("150a", 1, "40.00")], customer="f15", email="noa@example.com", codes=(code,)))
    listed = client.get("/api/loyalty/referrals", headers={"Authorization": f"Bearer {session_token(shop.domain)}"})
    (row,) = listed.json()
    assert (row["friend_code"], row["status"], row["friend_order"]) == (
        code, "completed", Order.objects.get(shop=shop, platform_id="150").pk)


def test_the_friends_code_is_usable_until_its_order(client, shop, referrer):
    referral = start(shop, referrer, "noa@example.com")
    code = with_code(referral)

    def usable() -> bool:
        return client.get(f"/proxy/referrals/code?{signed(shop, code=code.lower())}").json()["usable"]

    assert usable() is True
    customer(shop, "f16", "noa@example.com")
    deliver(shop, order("160", [line("160a", 1, "40.00")], customer="f16", email="noa@example.com", codes=(code,)))
    assert usable() is False
