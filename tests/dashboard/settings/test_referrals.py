"""The Referrals page: settings, and the review queue's approve / reject with a reason."""

from typing import Any

from django.test import Client
from django.utils import translation

from dashboard.settings_pages.referrals import reason_label
from loyalty.models import EarningRule, EntryKind, LedgerEntry, Program, Referral, ReferralStatus, RuleKind
from loyalty.services.ledger import account_for_customer
from loyalty.services.referrals import referral_settings_get
from tests.factories import CustomerFactory, OrderFactory

URL = "/dashboard/settings/referrals/"
SETTINGS = {"referral_friend_discount_percent": "15", "referral_referrer_points": "300",
            "referral_friend_points": "120", "referral_monthly_cap": "5", "referral_ip_weekly_limit": "2"}


def _held(shop: Any, friend_email: str = "friend@example.com") -> Referral:
    """A referral a soft fraud rule held for review, after the friend's paid order."""
    referrer = account_for_customer(shop=shop, customer=CustomerFactory(shop=shop, email="ref@example.com"))
    friend = CustomerFactory(shop=shop, email=friend_email)
    order = OrderFactory(shop=shop, customer=friend)
    return Referral.objects.create(shop=shop, referrer=referrer, friend_email=friend_email, friend_customer=friend,
                                   friend_order=order, status=ReferralStatus.REVIEW,
                                   reasons=["same shipping address as the referrer"])


def test_settings_are_saved_and_used(client_in: Client, alpha: Any, beta: Any) -> None:
    response = client_in.post(URL, SETTINGS)
    assert response.status_code == 302 and "saved=1" in response["Location"]
    program = Program.objects.get(shop=alpha)
    assert (program.referral_friend_discount_percent, program.referral_monthly_cap,
            program.referral_ip_weekly_limit) == (15, 5, 2)
    assert EarningRule.objects.get(shop=alpha, kind=RuleKind.REFERRAL_REFERRER).points == 300
    assert referral_settings_get(shop=alpha).referral_friend_points == 120
    assert referral_settings_get(shop=beta).referral_referrer_points == 200  # the other shop: untouched
    page = client_in.get(URL).content.decode()
    assert 'name="referral_referrer_points" value="300"' in page


def test_invalid_settings_are_refused_next_to_the_field(client_in: Client, alpha: Any) -> None:
    response = client_in.post(URL, {**SETTINGS, "referral_friend_discount_percent": "0"})
    assert response.status_code == 400
    assert 'id="id_referral_friend_discount_percent_error"' in response.content.decode()
    assert Program.objects.get(shop=alpha).referral_friend_discount_percent == 10


def test_approving_a_held_referral_rewards_the_referrer(client_in: Client, alpha: Any, member: Any) -> None:
    # given
    referral = _held(alpha)
    page = client_in.get(URL).content.decode()
    assert "friend@example.com" in page and "same shipping address" in page
    # when
    response = client_in.post(URL, {"action": "review", "referral_id": referral.pk, "approve": "true",
                                    "reason": "Flatmates, checked by phone"})
    # then
    assert response.status_code == 302
    referral.refresh_from_db()
    assert referral.status == ReferralStatus.COMPLETED
    assert (referral.review_note, referral.reviewed_by) == ("Flatmates, checked by phone", f"user:{member.pk}")
    earned = LedgerEntry.objects.get(account=referral.referrer, kind=EntryKind.EARN)
    assert earned.points == 200 and earned.reason == "referred a friend"
    assert "friend@example.com" not in client_in.get(URL).content.decode().split('id="review-queue"')[1].split(
        "</section>")[0]


def test_rejecting_needs_a_reason_and_rewards_nobody(client_in: Client, alpha: Any) -> None:
    referral = _held(alpha)
    response = client_in.post(URL, {"action": "review", "referral_id": referral.pk, "approve": "false", "reason": ""})
    assert response.status_code == 400
    assert f'id="id_review_{referral.pk}_reason_error"' in response.content.decode()
    referral.refresh_from_db()
    assert referral.status == ReferralStatus.REVIEW
    response = client_in.post(URL, {"action": "review", "referral_id": referral.pk, "approve": "false",
                                    "reason": "Same person, two emails"})
    assert response.status_code == 302
    referral.refresh_from_db()
    assert referral.status == ReferralStatus.REJECTED and referral.review_note == "Same person, two emails"
    assert not LedgerEntry.objects.filter(shop=alpha).exists()
    # decided twice: refused, nothing changes
    again = client_in.post(URL, {"action": "review", "referral_id": referral.pk, "approve": "true", "reason": "x"})
    assert again.status_code == 409
    assert not LedgerEntry.objects.filter(shop=alpha).exists()


def test_another_shops_referral_cannot_be_reviewed(client_in: Client, beta: Any) -> None:
    referral = _held(beta)
    response = client_in.post(URL, {"action": "review", "referral_id": referral.pk, "approve": "true", "reason": ""})
    assert response.status_code == 404
    referral.refresh_from_db()
    assert referral.status == ReferralStatus.REVIEW


def test_the_fraud_reasons_read_in_the_merchants_language() -> None:
    with translation.override("he"):
        assert reason_label("same shipping address as the referrer") == "אותה כתובת משלוח כמו של הממליץ"
        assert reason_label("referrer reached the cap of 10 referrals this month") == \
            "הממליץ הגיע לתקרה של 10 הפניות החודש"
    with translation.override("fa"):
        assert "۳" in reason_label("more than 3 referrals from one IP this week")
    assert reason_label("a rule added later") == "a rule added later"
