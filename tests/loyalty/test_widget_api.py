"""The widget API behind the app proxy (signed requests), without a browser."""

import hashlib
import hmac
import time
from urllib.parse import urlencode

import pytest

from commerce.models import Customer
from loyalty.models import Referral
from loyalty.services.ledger import account_for_customer, entry_write
from tests.loyalty.helpers import customer

pytestmark = pytest.mark.django_db

SECRET = "test-api-secret-with-at-least-32-bytes"


def signed(shop, customer_id: str = "", **extra: str) -> str:
    params = {"shop": shop.domain, "logged_in_customer_id": customer_id, "path_prefix": "/apps/comeback",
              "timestamp": str(int(time.time())), **extra}
    message = "".join(f"{k}={v}" for k, v in sorted(params.items()))
    params["signature"] = hmac.new(SECRET.encode(), message.encode(), hashlib.sha256).hexdigest()
    return urlencode(params)


@pytest.fixture
def member(shop):
    customer(shop, "c1", "dana@example.com")
    account = account_for_customer(shop=shop, customer=Customer.objects.get(shop=shop, platform_id="c1"))
    entry_write(account=account, kind="adjust", source="admin", key="gift", points=120, reason="gift")
    return account


def test_logged_out_shopper_sees_the_program_but_no_balance(client, shop):
    state = client.get(f"/proxy/loyalty?{signed(shop)}").json()
    assert state["logged_in"] is False and "balance" not in state
    assert [r["points_cost"] for r in state["rewards"]] == [100, 150, 250]


def test_logged_in_shopper_state(client, shop, member):
    state = client.get(f"/proxy/loyalty?{signed(shop, 'c1')}").json()
    assert state["balance"] == {"available": 120, "pending": 0}
    assert [r["unlocked"] for r in state["rewards"]] == [True, False, False]
    assert state["history"][0]["points"] == 120


def test_extra_query_parameters_are_covered_by_the_signature(client, shop, member):
    query = signed(shop, "c1", ref="ABC")
    assert client.get(f"/proxy/loyalty?{query}").status_code == 200
    assert client.get(f"/proxy/loyalty?{query.replace('ref=ABC', 'ref=XYZ')}").status_code == 401


def test_social_action_earns_once(client, shop, member):
    url = f"/proxy/loyalty/social?{signed(shop, 'c1')}"
    first = client.post(url, {"action": "follow", "network": "instagram"}, content_type="application/json")
    second = client.post(url, {"action": "follow", "network": "instagram"}, content_type="application/json")
    assert (first.json(), second.json()) == ({"points": 10, "already_earned": False},
                                             {"points": 0, "already_earned": True})


def test_referral_claim_records_the_ip_and_keeps_the_referral_when_the_code_fails(client, shop, member, settings):
    settings.SHOPIFY_SANDBOX_URL = "http://127.0.0.1:1"  # the store is unreachable
    settings.TRUSTED_PROXIES = ["127.0.0.1", "10.0.0.0/8"]  # our proxies: the entry before theirs is the client
    response = client.post(f"/proxy/referrals?{signed(shop)}", {"code": member.referral_code,
                                                                 "email": "friend@example.com"},
                           content_type="application/json", headers={"X-Forwarded-For": "203.0.113.5, 10.0.0.1"})
    assert response.status_code == 201
    assert response.json() == {"status": "pending", "code": None}
    referral = Referral.objects.get()
    assert referral.ip == "203.0.113.5"
    assert referral.error.startswith("ShopifyTransientError: ")  # the reason, for the merchant


def test_self_referral_is_refused_without_revealing_the_rule(client, shop, member):
    response = client.post(f"/proxy/referrals?{signed(shop)}", {"code": member.referral_code,
                                                                 "email": "dana+2@example.com"},
                           content_type="application/json")
    assert response.status_code == 422
    assert "self" not in response.json()["error"]
    assert Referral.objects.get().reasons == ["self-referral: same email"]


def test_first_visit_opens_the_account_in_the_first_tier_with_progress(client, shop):
    customer(shop, "c7", "first@example.com")  # a new customer while the program runs: a member at once
    state = client.get(f"/proxy/loyalty?{signed(shop, 'c7')}").json()
    assert (state["logged_in"], state["member"]) == (True, True)
    assert state["tier"]["name"] == "Bronze"
    assert (state["tier"]["next"], state["tier"]["remaining"]) == ("Silver", "500.000")


def test_errors_carry_a_stable_code(client, shop, member):
    from loyalty.models import Reward

    reward = Reward.objects.filter(shop=shop).order_by("-points_cost").first()  # 250 > 120 points
    response = client.post(f"/proxy/loyalty/redeem?{signed(shop, 'c1')}", {"reward_id": reward.pk},
                           content_type="application/json")
    assert response.status_code == 409
    assert (response.json()["code"], response.json()["available"]) == ("not_enough_points", 120)
    unsigned = client.get("/proxy/loyalty")
    assert (unsigned.status_code, unsigned.json()["code"]) == (401, "unauthorized")


def test_tier_only_rewards_are_locked_for_other_tiers(client, shop, member):
    from loyalty.models import Reward, Tier

    gold = Tier.objects.get(shop=shop, name="Gold")
    Reward.objects.create(shop=shop, name="Gold gift", kind="fixed_amount", points_cost=10, value=5, tier_only=gold)
    state = client.get(f"/proxy/loyalty?{signed(shop, 'c1')}").json()
    gift = next(r for r in state["rewards"] if r["name"] == "Gold gift")
    assert (gift["unlocked"], gift["locked_reason"], gift["tier_only"]) == (False, "tier", "Gold")
