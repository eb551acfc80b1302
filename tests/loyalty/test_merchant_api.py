"""The merchant API: session-token auth, every lookup scoped to the token's shop."""

import pytest

from commerce.models import Customer
from loyalty.models import LedgerEntry, Reward
from loyalty.services.ledger import account_for_customer
from loyalty.services.program import program_enable
from tests.factories import ShopFactory
from tests.integrations.test_oauth import session_token
from tests.loyalty.helpers import customer, deliver, line, order

pytestmark = pytest.mark.django_db


def auth(shop) -> dict:
    return {"Authorization": f"Bearer {session_token(shop.domain)}"}


@pytest.fixture
def other_shop():
    shop = ShopFactory(domain="other-shop.myshopify.com")
    program_enable(shop=shop)
    return shop


@pytest.fixture
def member(shop):
    customer(shop, "c1", "dana@example.com")
    return account_for_customer(shop=shop, customer=Customer.objects.get(shop=shop, platform_id="c1"))


def test_program_settings_read_and_update(client, shop):
    assert client.get("/api/loyalty/program", headers=auth(shop)).json()["is_enabled"] is True
    response = client.patch("/api/loyalty/program", {"pending_days": 30, "expiry_mode": "batch"},
                            content_type="application/json", headers=auth(shop))
    assert response.status_code == 200
    assert (response.json()["pending_days"], response.json()["expiry_mode"]) == (30, "batch")


def test_manual_adjustment_needs_a_reason_and_records_the_staff_user(client, shop, member):
    url = f"/api/loyalty/customers/{member.pk}/adjust"
    missing = client.post(url, {"points": 50, "reason": ""}, content_type="application/json", headers=auth(shop))
    assert missing.status_code == 400
    done = client.post(url, {"points": 50, "reason": "parcel arrived late", "request_id": "req-1"},
                       content_type="application/json", headers=auth(shop))
    again = client.post(url, {"points": 50, "reason": "parcel arrived late", "request_id": "req-1"},
                        content_type="application/json", headers=auth(shop))
    assert (done.status_code, again.status_code) == (201, 201)
    entry = LedgerEntry.objects.get(kind="adjust")
    assert (entry.points, entry.actor, entry.reason) == (50, "shopify-user:42", "parcel arrived late")
    assert done.json()["available"] == 50


def test_another_shop_cannot_see_or_change_this_shops_loyalty(client, shop, other_shop, member):
    reward = Reward.objects.filter(shop=shop).first()
    assert client.get(f"/api/loyalty/customers/{member.pk}", headers=auth(other_shop)).status_code == 404
    assert client.post(f"/api/loyalty/customers/{member.pk}/adjust", {"points": 9, "reason": "x"},
                       content_type="application/json", headers=auth(other_shop)).status_code == 404
    assert client.patch(f"/api/loyalty/rewards/{reward.pk}", {"points_cost": 1}, content_type="application/json",
                        headers=auth(other_shop)).status_code == 404
    assert client.get("/api/loyalty/customers", {"email": "dana@example.com"}, headers=auth(other_shop)).json() == []
    assert LedgerEntry.objects.count() == 0
    reward.refresh_from_db()
    assert reward.points_cost != 1


def test_customer_lookup_by_email(client, shop, member):
    found = client.get("/api/loyalty/customers", {"email": "DANA@example.com"}, headers=auth(shop)).json()
    assert [a["id"] for a in found] == [member.pk]


def test_rewards_are_validated(client, shop):
    bad = client.post("/api/loyalty/rewards", {"name": "Too much", "kind": "percentage", "points_cost": 10,
                                               "value": "150"}, content_type="application/json", headers=auth(shop))
    assert bad.status_code == 400
    good = client.post("/api/loyalty/rewards", {"name": "20% off", "kind": "percentage", "points_cost": 400,
                                                "value": "20"}, content_type="application/json", headers=auth(shop))
    assert good.status_code == 201
    assert Reward.objects.get(pk=good.json()["id"]).shop == shop


def test_tier_rules_change_with_a_dry_run_first(client, shop):
    deliver(shop, order("1", [line("1a", 1, "900.00")]))
    proposed = client.post("/api/loyalty/tiers", {
        "basis": "spend", "period": "lifetime", "grace_days": 0,
        "tiers": [{"name": "Bronze", "threshold": "0"}, {"name": "Gold", "threshold": "800"}]},
        content_type="application/json", headers=auth(shop))
    assert proposed.status_code == 201
    scheme_id = proposed.json()["id"]
    plan = client.get(f"/api/loyalty/tiers/{scheme_id}/dry-run", headers=auth(shop)).json()
    assert (plan["up"], plan["moves"][0]["from"], plan["moves"][0]["to"]) == (1, "Silver", "Gold")
    assert client.post(f"/api/loyalty/tiers/{scheme_id}/activate", headers=auth(shop)).status_code == 200
    schemes = client.get("/api/loyalty/tiers", headers=auth(shop)).json()
    assert [s["is_active"] for s in schemes] == [True, False]


def test_backfill_dry_run_then_apply_over_the_api(client, shop):
    program_enable(shop=shop, enabled=False)
    deliver(shop, order("1", [line("1a", 1, "70.00")]))
    dry = client.post("/api/loyalty/backfill", {}, content_type="application/json", headers=auth(shop)).json()
    assert (dry["applied"], dry["orders"], dry["points"]) == (False, 1, 70)
    assert LedgerEntry.objects.count() == 0
    real = client.post("/api/loyalty/backfill", {"apply": True}, content_type="application/json",
                       headers=auth(shop)).json()
    assert (real["orders"], real["points"]) == (1, 70)


def test_points_report_over_the_api(client, shop, member):
    response = client.get("/api/loyalty/report", {"start": "2026-01-01", "end": "2026-12-31"}, headers=auth(shop))
    assert response.status_code == 200
    assert response.json()["currency"] == "USD"
    assert client.get("/api/loyalty/report", {"start": "2026-12-31", "end": "2026-01-01"},
                      headers=auth(shop)).status_code == 400


def test_review_reported_by_the_review_app_earns_once(client, shop, member):
    payload = {"customer_platform_id": "c1", "external_id": "rv-1", "rating": 5}
    for _ in range(2):
        assert client.post("/api/loyalty/reviews", payload, content_type="application/json",
                           headers=auth(shop)).status_code == 201
    assert LedgerEntry.objects.filter(idempotency_key__startswith="rule:review").count() == 1
