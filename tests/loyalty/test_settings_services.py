"""The program, earning-rule and reward rules: one home (``loyalty.services``) that the merchant
API and the dashboard's settings pages both call; refused input writes nothing."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from loyalty.models import EarningRule, LedgerEntry, Program, Reward, Tier
from loyalty.services.program import program_enable, program_update, rule_update
from loyalty.services.rewards import reward_create, reward_update
from tests.factories import ShopFactory
from tests.loyalty.helpers import deliver, line, order
from tests.loyalty.test_merchant_api import auth

pytestmark = pytest.mark.django_db


def test_the_api_refuses_a_rate_of_zero_or_less_and_keeps_the_old_one(client, shop):
    for bad in ("0", "-2"):
        response = client.patch("/api/loyalty/program", {"points_per_currency_unit": bad},
                                content_type="application/json", headers=auth(shop))
        assert response.status_code == 400
        assert "points_per_currency_unit" in response.json()["fields"]
    assert Program.objects.get(shop=shop).points_per_currency_unit == Decimal("1")


def test_a_new_rate_changes_what_the_next_order_earns(shop):
    program_update(shop=shop, changes={"points_per_currency_unit": Decimal("5")})
    deliver(shop, order("1", [line("1a", 1, "20.00")]))
    assert LedgerEntry.objects.get().points == 100


def test_the_expiry_warning_must_come_before_batch_expiry(shop):
    with pytest.raises(ValidationError) as refused:
        program_update(shop=shop, changes={"expiry_mode": "batch", "expiry_days": 10, "expiry_warning_days": 14})
    assert set(refused.value.message_dict) == {"expiry_warning_days"}
    assert Program.objects.get(shop=shop).expiry_mode == "none"


def test_a_rule_keeps_its_kind_and_refuses_multipliers_outside_purchases(client, shop):
    response = client.patch("/api/loyalty/rules/signup", {"kind": "birthday", "points": 70},
                            content_type="application/json", headers=auth(shop))
    assert response.status_code == 200
    assert EarningRule.objects.get(shop=shop, kind="signup").points == 70
    assert EarningRule.objects.get(shop=shop, kind="birthday").points == 100
    refused = client.patch("/api/loyalty/rules/review", {"multipliers": {"products": {"1": "2"}}},
                           content_type="application/json", headers=auth(shop))
    assert refused.status_code == 400 and "multipliers" in refused.json()["fields"]


@pytest.mark.parametrize("multipliers", [{"products": {"p1": "0"}}, {"products": {"p1": "abc"}}, {"items": {}},
                                         {"products": {"p1": "1000"}}, {"products": ["p1"]}])
def test_purchase_multipliers_must_be_positive_factors_per_product(shop, multipliers):
    with pytest.raises(ValidationError):
        rule_update(shop=shop, kind="purchase", changes={"multipliers": multipliers})
    assert EarningRule.objects.get(shop=shop, kind="purchase").multipliers == {}


def test_rewards_have_names_per_language_over_the_api(client, shop):
    created = client.post("/api/loyalty/rewards", {"name": "Tote bag", "names": {"he": "תיק בד", "fa": "کیف پارچه‌ای"},
                                                   "kind": "free_product", "points_cost": 300,
                                                   "variant_platform_id": "4711"},
                          content_type="application/json", headers=auth(shop))
    assert created.status_code == 201
    reward = Reward.objects.get(pk=created.json()["id"])
    assert (reward.name_in("he"), reward.name_in("fa-IR"), reward.name_in("en")) == ("תיק בד", "کیف پارچه‌ای",
                                                                                     "Tote bag")
    refused = client.patch(f"/api/loyalty/rewards/{reward.pk}", {"names": {"de": "Tasche"}},
                           content_type="application/json", headers=auth(shop))
    assert refused.status_code == 400 and "names" in refused.json()["fields"]


@pytest.mark.parametrize("data, field", [
    ({"kind": "percentage", "value": Decimal("0"), "points_cost": 10}, "value"),
    ({"kind": "fixed_amount", "value": Decimal("-5"), "points_cost": 10}, "value"),
    ({"kind": "fixed_amount", "value": Decimal("5"), "points_cost": 0}, "points_cost"),
    ({"kind": "free_product", "points_cost": 10, "variant_platform_id": "  "}, "variant_platform_id"),
    ({"kind": "free_shipping", "points_cost": 10, "code_valid_days": 0}, "code_valid_days"),
    ({"kind": "free_shipping", "points_cost": 10, "minimum_subtotal": Decimal("-1")}, "minimum_subtotal"),
])
def test_a_reward_that_breaks_a_rule_is_not_created(shop, data, field):
    before = Reward.objects.count()
    with pytest.raises(ValidationError) as refused:
        reward_create(shop=shop, data={"name": "Broken", **data})
    assert field in refused.value.message_dict
    assert Reward.objects.count() == before


def test_a_reward_cannot_be_kept_for_another_shops_tier(client, shop):
    other = ShopFactory(domain="other-tiers.myshopify.com")
    program_enable(shop=other)
    foreign = Tier.objects.filter(shop=other).first()
    reward = Reward.objects.filter(shop=shop).first()
    response = client.patch(f"/api/loyalty/rewards/{reward.pk}", {"tier_only": foreign.pk},
                            content_type="application/json", headers=auth(shop))
    assert response.status_code == 400
    with pytest.raises(ValidationError):
        reward_update(reward=reward, changes={"tier_only": foreign})
    reward.refresh_from_db()
    assert reward.tier_only_id is None
