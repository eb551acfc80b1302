"""The merchant API for referral settings, badges and challenges: the same rules as the settings
pages (``loyalty.services``), scoped to the session token's shop."""

import pytest

from loyalty.models import Badge, Challenge, EarningRule, Referral, ReferralStatus, RuleKind
from loyalty.services.ledger import account_for_customer
from loyalty.services.program import program_enable
from tests.factories import CustomerFactory, ShopFactory
from tests.integrations.test_oauth import session_token

pytestmark = pytest.mark.django_db


def auth(shop) -> dict:
    return {"Authorization": f"Bearer {session_token(shop.domain)}"}


def test_referral_settings_read_and_update(client, shop):
    assert client.get("/api/loyalty/referral-settings", headers=auth(shop)).json()["referral_referrer_points"] == 200
    response = client.patch("/api/loyalty/referral-settings", {"referral_referrer_points": 350,
                                                               "referral_friend_discount_percent": 20},
                            content_type="application/json", headers=auth(shop))
    assert response.status_code == 200
    assert response.json() == {"referral_friend_discount_percent": 20, "referral_referrer_points": 350,
                               "referral_friend_points": 100, "referral_monthly_cap": 10,
                               "referral_ip_weekly_limit": 3}
    assert EarningRule.objects.get(shop=shop, kind=RuleKind.REFERRAL_REFERRER).points == 350
    bad = client.patch("/api/loyalty/referral-settings", {"referral_friend_discount_percent": 0},
                       content_type="application/json", headers=auth(shop))
    assert bad.status_code == 400 and "referral_friend_discount_percent" in bad.json()["fields"]


def test_badges_are_created_checked_and_switched_off(client, shop):
    created = client.post("/api/loyalty/badges", {"kind": "orders", "name": "Three orders", "threshold": 3,
                                                  "points": 30}, content_type="application/json", headers=auth(shop))
    assert created.status_code == 201, created.content
    badge_id = created.json()["id"]
    duplicate = client.post("/api/loyalty/badges", {"kind": "member", "name": "three ORDERS"},
                            content_type="application/json", headers=auth(shop))
    assert duplicate.status_code == 400 and "name" in duplicate.json()["fields"]
    off = client.patch(f"/api/loyalty/badges/{badge_id}", {"is_active": False}, content_type="application/json",
                       headers=auth(shop))
    assert off.status_code == 200 and off.json()["is_active"] is False
    assert not Badge.objects.get(pk=badge_id).is_active
    names = [badge["name"] for badge in client.get("/api/loyalty/badges", headers=auth(shop)).json()]
    assert "Three orders" in names


def test_challenges_are_created_and_checked(client, shop):
    bad = client.post("/api/loyalty/challenges", {"name": "Backwards", "goal": "orders", "target": "2",
                                                  "starts_at": "2026-05-01T00:00:00Z",
                                                  "ends_at": "2026-04-01T00:00:00Z"},
                      content_type="application/json", headers=auth(shop))
    assert bad.status_code == 400 and "ends_at" in bad.json()["fields"]
    good = client.post("/api/loyalty/challenges", {"name": "May", "goal": "spend", "target": "150",
                                                   "starts_at": "2026-05-01T00:00:00Z",
                                                   "ends_at": "2026-05-31T23:59:59Z", "points": 80},
                       content_type="application/json", headers=auth(shop))
    assert good.status_code == 201
    challenge = Challenge.objects.get(shop=shop)
    changed = client.patch(f"/api/loyalty/challenges/{challenge.pk}", {"points": 90},
                           content_type="application/json", headers=auth(shop))
    assert changed.status_code == 200 and Challenge.objects.get(pk=challenge.pk).points == 90


def test_another_shops_badge_is_not_found(client, shop):
    other = ShopFactory(domain="other-badges.myshopify.com")
    program_enable(shop=other)
    badge = Badge.objects.filter(shop=other).first()
    response = client.patch(f"/api/loyalty/badges/{badge.pk}", {"is_active": False},
                            content_type="application/json", headers=auth(shop))
    assert response.status_code == 404
    assert Badge.objects.get(pk=badge.pk).is_active


def test_a_review_decision_over_the_api_keeps_its_reason_and_author(client, shop):
    referrer = account_for_customer(shop=shop, customer=CustomerFactory(shop=shop, email="ref@example.com"))
    referral = Referral.objects.create(shop=shop, referrer=referrer, friend_email="friend@example.com",
                                       status=ReferralStatus.REVIEW, reasons=["same name as the referrer"])
    response = client.post(f"/api/loyalty/referrals/{referral.pk}/review", {"approve": False, "reason": "Same person"},
                           content_type="application/json", headers=auth(shop))
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["review_note"], body["reviewed_by"]) == ("rejected", "Same person",
                                                                          "shopify-user:42")
