"""The Rewards pages: a new reward with names per language reaches the shopper's widget in their
language and can be redeemed; edits follow the API's rules; a reward switched off leaves the widget."""

from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from commerce.models import Customer
from loyalty.models import Program, Reward, Tier, TierScheme
from loyalty.services.ledger import account_for_customer, entry_write
from tests.loyalty.helpers import customer
from tests.loyalty.test_widget_api import signed

LIST = "/dashboard/settings/rewards/"


def _detail(reward: Reward) -> str:
    return f"/dashboard/settings/rewards/{reward.pk}/"


def _reward_post(**fields: Any) -> dict[str, Any]:
    data = {"name": "Tote bag", "names_he": "", "names_fa": "", "kind": "fixed_amount", "points_cost": "300",
            "value": "15", "minimum_subtotal": "", "code_valid_days": "30", "collection_platform_id": "",
            "variant_platform_id": "", "tier_only": ""}
    data.update(fields)
    return {key: value for key, value in data.items() if value is not None}


@pytest.fixture
def shopper(alpha: Any) -> Any:
    """A logged-in shopper of alpha with 500 points, the program on."""
    Program.objects.filter(shop=alpha).update(is_enabled=True)
    customer(alpha, "c1", "dana@example.com")
    account = account_for_customer(shop=alpha, customer=Customer.objects.get(shop=alpha, platform_id="c1"))
    entry_write(account=account, kind="adjust", source="admin", key="gift", points=500, reason="gift")
    return account


def test_the_list_shows_the_shops_rewards_only(client_in: Client, alpha: Any, beta: Any) -> None:
    Reward.objects.create(shop=beta, name="Beta secret", kind="fixed_amount", points_cost=10, value=1)
    page = client_in.get(LIST)
    assert page.status_code == 200
    html = page.content.decode()
    assert "5 off your order" in html and "Free shipping" in html  # the install's starter rewards
    assert "Beta secret" not in html
    for name in ("name", "names_he", "names_fa", "kind", "points_cost", "value", "minimum_subtotal",
                 "code_valid_days", "variant_platform_id", "tier_only"):
        assert f'name="{name}"' in html, name


def test_a_new_reward_with_a_hebrew_name_reaches_the_hebrew_widget_and_is_redeemable(
        client: Client, client_in: Client, alpha: Any, shopper: Any) -> None:
    # when the merchant adds a reward named in Hebrew and Persian
    response = client_in.post(LIST, _reward_post(name="Tote bag discount", names_he="הנחת תיק בד",
                                                 names_fa="تخفیف کیف پارچه‌ای", points_cost="400", value="20"))
    # then it is saved and the merchant lands on its page, which says so
    assert response.status_code == 302
    reward = Reward.objects.get(shop=alpha, name="Tote bag discount")
    assert response["Location"] == f"{_detail(reward)}?saved=1"
    assert (reward.names, reward.points_cost, reward.value) == (
        {"he": "הנחת תיק בד", "fa": "تخفیف کیف پارچه‌ای"}, 400, Decimal("20"))
    assert "Saved." in client_in.get(response["Location"]).content.decode()
    # and a Hebrew shopper's widget shows it by its Hebrew name, unlocked with 500 points
    state = client.get(f"/proxy/loyalty?{signed(alpha, 'c1', locale='he')}").json()
    shown = next(r for r in state["rewards"] if r["id"] == reward.pk)
    assert (shown["name"], shown["points_cost"], shown["unlocked"]) == ("הנחת תיק בד", 400, True)
    english = client.get(f"/proxy/loyalty?{signed(alpha, 'c1', locale='en')}").json()
    assert next(r for r in english["rewards"] if r["id"] == reward.pk)["name"] == "Tote bag discount"


@pytest.mark.parametrize("fields, field_id, message", [
    ({"kind": "percentage", "value": "150"}, "id_value_error", "at most 100"),
    ({"kind": "fixed_amount", "value": "0"}, "id_value_error", "more than 0"),
    ({"points_cost": "0"}, "id_points_cost_error", "at least 1 point"),
    ({"kind": "free_product", "value": ""}, "id_variant_platform_id_error", "variant"),
    ({"name": "  "}, "id_name_error", ""),
    ({"points_cost": "many"}, "id_points_cost_error", "whole number"),
])
def test_a_new_reward_that_breaks_a_rule_is_refused_next_to_its_field(client_in: Client, alpha: Any,
                                                                       fields: dict[str, str], field_id: str,
                                                                       message: str) -> None:
    before = Reward.objects.filter(shop=alpha).count()
    response = client_in.post(LIST, _reward_post(**fields))
    assert response.status_code == 400
    html = response.content.decode()
    assert f'id="{field_id}"' in html
    assert message in html.split(f'id="{field_id}">', 1)[1].split("</p>", 1)[0]
    assert Reward.objects.filter(shop=alpha).count() == before


def test_an_edit_changes_the_reward_and_a_bad_one_changes_nothing(client_in: Client, alpha: Any) -> None:
    reward = Reward.objects.get(shop=alpha, kind="percentage")
    saved = client_in.post(_detail(reward), _reward_post(name="12% off", kind="percentage", value="12",
                                                         points_cost="260", names_he="12% הנחה",
                                                         is_active="on"))
    assert saved.status_code == 302
    reward.refresh_from_db()
    assert (reward.name, reward.value, reward.points_cost, reward.names) == ("12% off", Decimal("12"), 260,
                                                                              {"he": "12% הנחה"})
    refused = client_in.post(_detail(reward), _reward_post(name="Too much", kind="percentage", value="101",
                                                           points_cost="1", is_active="on"))
    assert refused.status_code == 400
    assert 'id="id_value_error"' in refused.content.decode()
    reward.refresh_from_db()
    assert (reward.name, reward.value, reward.points_cost) == ("12% off", Decimal("12"), 260)


def test_a_reward_switched_off_leaves_the_widget_and_can_come_back(client: Client, client_in: Client, alpha: Any,
                                                                   shopper: Any) -> None:
    reward = Reward.objects.get(shop=alpha, kind="free_shipping")
    assert client_in.post(_detail(reward), {"action": "disable"}).status_code == 302
    state = client.get(f"/proxy/loyalty?{signed(alpha, 'c1')}").json()
    assert reward.pk not in [r["id"] for r in state["rewards"]]
    refused = client.post(f"/proxy/loyalty/redeem?{signed(alpha, 'c1')}", {"reward_id": reward.pk},
                          content_type="application/json")
    assert refused.status_code == 404
    page = client_in.get(_detail(reward)).content.decode()
    assert "Switch the reward on" in page
    client_in.post(_detail(reward), {"action": "enable"})
    state = client.get(f"/proxy/loyalty?{signed(alpha, 'c1')}").json()
    assert reward.pk in [r["id"] for r in state["rewards"]]


def test_a_reward_can_be_kept_for_a_tier_of_the_shop(client_in: Client, alpha: Any) -> None:
    gold = Tier.objects.get(shop=alpha, name="Gold")
    response = client_in.post(LIST, _reward_post(name="Gold gift", tier_only=str(gold.pk)))
    assert response.status_code == 302
    assert Reward.objects.get(shop=alpha, name="Gold gift").tier_only == gold


def test_another_shops_reward_is_not_found(client_in: Client, alpha: Any, beta: Any) -> None:
    theirs = Reward.objects.filter(shop=beta).first()
    assert client_in.get(_detail(theirs)).status_code == 404
    assert client_in.post(_detail(theirs), {"action": "disable"}).status_code == 404
    theirs.refresh_from_db()
    assert theirs.is_active is True


def test_a_reward_of_an_older_tier_version_can_still_be_edited(client_in: Client, alpha: Any) -> None:
    old_gold = Tier.objects.get(shop=alpha, name="Gold")
    reward = Reward.objects.create(shop=alpha, name="Gold gift", kind="fixed_amount", points_cost=10, value=5,
                                   tier_only=old_gold)
    TierScheme.objects.filter(shop=alpha).update(is_active=False)
    newer = TierScheme.objects.create(shop=alpha, version=2, is_active=True)
    Tier.objects.create(shop=alpha, scheme=newer, name="Gold", threshold=2000)
    response = client_in.post(_detail(reward), {"points_cost": "12"})
    assert response.status_code == 302
    reward.refresh_from_db()
    assert (reward.points_cost, reward.tier_only_id) == (12, old_gold.pk)
