"""The widget's state for what shoppers expect (ways to earn, progress to the next tier as an
amount, names in their language) and the designer's settings delivered with it."""

from decimal import Decimal

import pytest

from commerce.models import Customer
from loyalty.models import EarningRule, Program, Reward, Tier, WidgetSettings
from loyalty.services.ledger import account_for_customer, entry_write
from loyalty.services.widget import widget_settings_update
from tests.factories import ShopFactory
from tests.integrations.test_oauth import session_token
from tests.loyalty.helpers import customer, deliver, line, order
from tests.loyalty.test_widget_api import signed

pytestmark = pytest.mark.django_db


def auth(shop) -> dict:
    return {"Authorization": f"Bearer {session_token(shop.domain)}"}


@pytest.fixture
def member(shop):
    customer(shop, "c1", "dana@example.com")
    account = account_for_customer(shop=shop, customer=Customer.objects.get(shop=shop, platform_id="c1"))
    entry_write(account=account, kind="adjust", source="admin", key="gift", points=120, reason="gift")
    return account


def test_ways_to_earn_come_from_the_active_rules(client, shop):
    # given: 5 points per currency unit, the review rule off, the birthday worth 200
    Program.objects.filter(shop=shop).update(points_per_currency_unit=Decimal("5"))
    EarningRule.objects.filter(shop=shop, kind="review").update(is_enabled=False)
    EarningRule.objects.filter(shop=shop, kind="birthday").update(points=200)
    EarningRule.objects.filter(shop=shop, kind="social_share").update(points=0)
    # when
    ways = client.get(f"/proxy/loyalty?{signed(shop)}").json()["ways_to_earn"]
    # then: purchase first (its rate and currency), then each action worth points, in order
    assert ways == [
        {"kind": "purchase", "points_per_currency_unit": "5", "currency": "USD"},
        {"kind": "signup", "points": 50},
        {"kind": "birthday", "points": 200},
        {"kind": "survey", "points": 20},
        {"kind": "referral_referrer", "points": 200},
        {"kind": "social_follow", "points": 10},
    ]


def test_no_purchase_way_when_the_purchase_rule_is_off_or_the_rate_is_zero(client, shop):
    EarningRule.objects.filter(shop=shop, kind="purchase").update(is_enabled=False)
    assert "purchase" not in [w["kind"] for w in client.get(f"/proxy/loyalty?{signed(shop)}").json()["ways_to_earn"]]
    EarningRule.objects.filter(shop=shop, kind="purchase").update(is_enabled=True)
    Program.objects.filter(shop=shop).update(points_per_currency_unit=Decimal("0"))
    assert "purchase" not in [w["kind"] for w in client.get(f"/proxy/loyalty?{signed(shop)}").json()["ways_to_earn"]]


def test_a_fractional_rate_is_sent_exactly(client, shop):
    Program.objects.filter(shop=shop).update(points_per_currency_unit=Decimal("0.5"))
    ways = client.get(f"/proxy/loyalty?{signed(shop)}").json()["ways_to_earn"]
    assert ways[0] == {"kind": "purchase", "points_per_currency_unit": "0.5", "currency": "USD"}


def test_progress_to_the_next_tier_is_the_amount_left_to_spend(client, shop, member):
    # given: 380.00 spent in counted orders (Silver from 500)
    deliver(shop, order("o1", [line("l1", 2, "190.00")]))
    # when
    tier = client.get(f"/proxy/loyalty?{signed(shop, 'c1')}").json()["tier"]
    # then: spend basis, in the shop's currency
    assert (tier["name"], tier["basis"], tier["currency"]) == ("Bronze", "spend", "USD")
    assert (tier["next"], tier["next_threshold"], Decimal(tier["remaining"])) == ("Silver", "500.000", Decimal("120"))


def test_progress_on_a_points_basis_is_in_points(client, shop, member):
    from loyalty.models import TierScheme

    TierScheme.objects.filter(shop=shop, is_active=True).update(basis="points")
    deliver(shop, order("o1", [line("l1", 1, "100.00")]))  # 100 points earned at 1 point per unit
    tier = client.get(f"/proxy/loyalty?{signed(shop, 'c1')}").json()["tier"]
    assert (tier["basis"], tier["next"], Decimal(tier["remaining"])) == ("points", "Silver", Decimal("400"))


def test_reward_and_tier_names_in_the_shoppers_language(client, shop, member):
    # given: Hebrew and Persian names on one reward and one tier; the other keep their name
    reward = Reward.objects.get(shop=shop, points_cost=100)
    reward.names = {"he": "5 הנחה", "fa": "۵ تخفیف"}
    reward.save()
    Tier.objects.filter(shop=shop, name="Silver").update(names={"he": "כסף", "fa": "نقره‌ای"})
    gold = Tier.objects.get(shop=shop, name="Gold")
    gold.names = {"he": "זהב"}
    gold.save()
    Reward.objects.create(shop=shop, name="Gold gift", names={"he": "מתנת זהב"}, kind="fixed_amount",
                          points_cost=10, value=5, tier_only=gold)
    # when: the widget asks in Hebrew (fa-IR: the primary subtag counts)
    hebrew = client.get(f"/proxy/loyalty?{signed(shop, 'c1', locale='he')}").json()
    persian = client.get(f"/proxy/loyalty?{signed(shop, 'c1', locale='fa-IR')}").json()
    english = client.get(f"/proxy/loyalty?{signed(shop, 'c1')}").json()
    # then
    assert [r["name"] for r in hebrew["rewards"]][:2] == ["מתנת זהב", "5 הנחה"]
    assert [r["name"] for r in persian["rewards"]][:2] == ["Gold gift", "۵ تخفیف"]
    assert [r["name"] for r in english["rewards"]][:2] == ["Gold gift", "5 off your order"]
    assert [t["name"] for t in hebrew["tiers"]] == ["Bronze", "כסף", "זהב"]
    assert hebrew["tier"]["next"] == "כסף" and persian["tier"]["next"] == "نقره‌ای"
    gift = hebrew["rewards"][0]
    assert (gift["tier_only"], gift["tier_only_id"], gift["unlocked"], gift["locked_reason"]) == (
        "זהב", gold.pk, False, "tier")


def test_issued_codes_name_the_reward_in_the_shoppers_language(client, shop, member):
    reward = Reward.objects.get(shop=shop, points_cost=100)
    reward.names = {"he": "5 הנחה"}
    reward.save()
    from loyalty.models import Redemption

    Redemption.objects.create(shop=shop, account=member, reward=reward, points=100, code="CB-AAA", status="issued")
    codes = client.get(f"/proxy/loyalty?{signed(shop, 'c1', locale='he')}").json()["codes"]
    assert codes == [{"code": "CB-AAA", "reward": "5 הנחה", "expires_at": None}]


def test_the_state_takes_a_fixed_number_of_statements(client, shop, member, django_assert_num_queries):
    # given: many rewards, some for a tier, and many history entries and codes
    gold = Tier.objects.get(shop=shop, name="Gold")
    Reward.objects.bulk_create([Reward(shop=shop, name=f"R{i}", kind="fixed_amount", points_cost=10 + i, value=1,
                                       tier_only=gold if i % 2 else None) for i in range(20)])
    for i in range(5):
        entry_write(account=member, kind="adjust", source="admin", key=f"k{i}", points=1, reason="x")
    url = f"/proxy/loyalty?{signed(shop, 'c1', locale='he')}"
    client.get(url)  # warm the shop's cached program data
    # then: the same statement count for a member whatever the number of rows (the shop; the
    # account with its balance and progress; the history page; the codes)
    with django_assert_num_queries(4) as captured:
        client.get(url)
    statements = len(captured.captured_queries)
    Reward.objects.bulk_create([Reward(shop=shop, name=f"S{i}", kind="fixed_amount", points_cost=50, value=1,
                                       tier_only=gold) for i in range(10)])
    with django_assert_num_queries(statements + 6):  # the new rewards: the shop's program data read again
        client.get(url)
    with django_assert_num_queries(statements):
        client.get(url)


def test_designer_settings_reach_the_widget_in_its_language(client, shop):
    # given: the merchant's colours, corner, texts in two languages and a hidden section
    widget_settings_update(shop=shop, changes={
        "accent_color": "#0B6E4F", "launcher_position": "left", "show_referrals": False,
        "texts": {"en": {"launcher_label": "Perks", "title": "Our club", "welcome": "Welcome!"},
                  "he": {"launcher_label": "הטבות", "title": "המועדון"}}})
    # when
    hebrew = client.get(f"/proxy/loyalty?{signed(shop, locale='he')}").json()["widget"]
    persian = client.get(f"/proxy/loyalty?{signed(shop, locale='fa')}").json()["widget"]
    # then: the colour normalised; Hebrew texts, English for what Hebrew lacks and for Persian
    assert (hebrew["accent_color"], hebrew["accent_text_color"], hebrew["launcher_position"]) == (
        "#0b6e4f", None, "left")
    assert (hebrew["launcher_label"], hebrew["title"], hebrew["welcome"]) == ("הטבות", "המועדון", "Welcome!")
    assert (persian["launcher_label"], persian["title"]) == ("Perks", "Our club")
    assert hebrew["sections"] == {"points": True, "ways_to_earn": True, "rewards": True, "tiers": True,
                                  "referrals": False, "surveys": True}


def test_without_designer_settings_the_theme_editors_apply(client, shop):
    widget = client.get(f"/proxy/loyalty?{signed(shop)}").json()["widget"]
    assert (widget["accent_color"], widget["launcher_position"], widget["launcher_label"]) == (None, None, "")
    assert all(widget["sections"].values())
    assert not WidgetSettings.objects.exists()  # a read writes nothing


def test_merchant_api_reads_and_changes_the_designer_settings(client, shop):
    response = client.patch("/api/loyalty/widget", {"accent_color": "#112233", "show_tiers": False,
                                                     "texts": {"fa": {"title": "باشگاه"}}},
                            content_type="application/json", headers=auth(shop))
    assert response.status_code == 200
    assert client.get("/api/loyalty/widget", headers=auth(shop)).json() == {
        "accent_color": "#112233", "accent_text_color": "", "launcher_position": "",
        "texts": {"fa": {"title": "باشگاه"}},
        "show_points": True, "show_ways_to_earn": True, "show_rewards": True, "show_tiers": False,
        "show_referrals": True, "show_surveys": True}


def test_merchant_api_refuses_bad_settings_and_saves_nothing(client, shop):
    response = client.patch("/api/loyalty/widget", {
        "accent_color": "purple", "launcher_position": "top", "show_points": "maybe",
        "texts": {"he": {"title": "x" * 61}}}, content_type="application/json", headers=auth(shop))
    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"accent_color", "launcher_position", "show_points", "texts.he.title"}
    assert not WidgetSettings.objects.exists()
    unknown = client.patch("/api/loyalty/widget", {"font": "Comic"}, content_type="application/json",
                           headers=auth(shop))
    assert (unknown.status_code, list(unknown.json()["fields"])) == (400, ["font"])


def test_texts_for_one_language_keep_the_others(shop):
    widget_settings_update(shop=shop, changes={"texts": {"en": {"title": "Club"}, "he": {"title": "מועדון"}}})
    widget = widget_settings_update(shop=shop, changes={"texts": {"he": {"title": "", "welcome": "שלום"}}})
    assert widget.texts == {"en": {"title": "Club"}, "he": {"welcome": "שלום"}}


def test_each_shop_has_its_own_settings(client, shop):
    other = ShopFactory(domain="other-widget.myshopify.com")
    widget_settings_update(shop=other, changes={"accent_color": "#000000"})
    assert client.get("/api/loyalty/widget", headers=auth(shop)).json()["accent_color"] == ""


def test_shop_redact_erases_the_designer_settings(shop):
    from loyalty.privacy import erase_shop

    other = ShopFactory(domain="kept-widget.myshopify.com")
    widget_settings_update(shop=shop, changes={"texts": {"en": {"welcome": "Hi"}}})
    widget_settings_update(shop=other, changes={"accent_color": "#000000"})
    erase_shop(shop=shop)
    assert list(WidgetSettings.objects.values_list("shop_id", flat=True)) == [other.pk]
