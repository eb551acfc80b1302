"""The widget's per-shop data is cached (``loyalty.program_cache``) and every kind of change shows on
the next answer; the shopper's state takes a fixed, small number of statements."""

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core.cache import cache
from django.db import transaction
from django.test import Client
from django.utils import timezone

from commerce.models import Customer
from loyalty import selectors
from loyalty.models import Account, EarningRule, LedgerEntry, Program, Reward, Tier, TierScheme, WidgetSettings
from loyalty.prepared_sql import prepared_rows
from loyalty.program_cache import program_cache_bump, program_snapshot
from loyalty.services.ledger import account_balance, account_for_customer, account_for_guest, entry_write
from loyalty.services.program import program_enable, program_update, rule_update
from loyalty.services.rewards import reward_active_set, reward_create, reward_update
from loyalty.services.tiers import TierSpec, tier_metric, tier_scheme_activate, tier_scheme_propose, tiers_switch_off
from loyalty.services.widget import widget_settings_update
from tests.factories import ShopFactory
from tests.loyalty.helpers import customer, deliver, line, order
from tests.loyalty.test_widget_api import signed

pytestmark = pytest.mark.django_db

#: Statements of a warm request: the shop (the proxy's lookup), then for a member the account with
#: its balance and tier progress, the history page and the reward codes.
LOGGED_OUT = 1
LOGGED_IN = 4
#: Reading the shop's program data: program, enabled rules, active scheme, its tiers, rewards
#: (with their tiers), widget settings.
PROGRAM_DATA = 6


@pytest.fixture
def member(shop: Any) -> Account:
    customer(shop, "c1", "dana@example.com")
    account = account_for_customer(shop=shop, customer=Customer.objects.get(shop=shop, platform_id="c1"))
    entry_write(account=account, kind="adjust", source="admin", key="gift", points=120, reason="gift")
    return account


def widget(client: Client, shop: Any, customer_id: str = "", **extra: str) -> dict[str, Any]:
    response = client.get(f"/proxy/loyalty?{signed(shop, customer_id, **extra)}")
    assert response.status_code == 200
    return response.json()


# --- statements ---------------------------------------------------------------------------------

def test_a_warm_request_takes_one_statement_logged_out_and_four_logged_in(client, shop, member,
                                                                          django_assert_num_queries):
    # given: the shop's program data read once
    widget(client, shop, "c1")
    # then
    with django_assert_num_queries(LOGGED_OUT):
        state = widget(client, shop)
    assert state["logged_in"] is False and "balance" not in state
    with django_assert_num_queries(LOGGED_IN):
        state = widget(client, shop, "c1", locale="he")
    assert state["balance"] == {"available": 120, "pending": 0}


def test_a_cold_request_reads_the_program_data_once(client, shop, member, django_assert_num_queries):
    # given: a change elsewhere in the shop's program
    widget(client, shop, "c1")
    program_cache_bump(shop_id=shop.pk)
    # then: the program data is read once, in a fixed number of statements, then served from memory
    with django_assert_num_queries(LOGGED_IN + PROGRAM_DATA):
        widget(client, shop, "c1")
    with django_assert_num_queries(LOGGED_IN):
        widget(client, shop, "c1")
    program_cache_bump(shop_id=shop.pk)
    with django_assert_num_queries(LOGGED_OUT + PROGRAM_DATA):
        widget(client, shop)


def test_the_statements_do_not_grow_with_the_shoppers_rows(client, shop, member, django_assert_num_queries):
    # given: many entries, codes and rewards
    gold = Tier.objects.get(shop=shop, name="Gold")
    Reward.objects.bulk_create([Reward(shop=shop, name=f"R{i}", kind="fixed_amount", points_cost=10 + i, value=1,
                                       tier_only=gold if i % 2 else None) for i in range(15)])
    for i in range(30):
        entry_write(account=member, kind="adjust", source="admin", key=f"k{i}", points=1, reason="x")
    widget(client, shop, "c1")
    # then
    with django_assert_num_queries(LOGGED_IN):
        state = widget(client, shop, "c1")
    assert len(state["history"]) == 20 and len(state["rewards"]) == 18


def test_a_cache_that_cannot_be_reached_still_answers_from_the_database(client, shop, member, settings,
                                                                       django_assert_num_queries):
    # given: a cache server that refuses connections
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": "redis://127.0.0.1:1/0",
                                   "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2}}}
    # then: every answer reads the program data, and is right
    with django_assert_num_queries(LOGGED_IN + PROGRAM_DATA):
        state = widget(client, shop, "c1")
    assert state["balance"]["available"] == 120 and [r["points_cost"] for r in state["rewards"]] == [100, 150, 250]


# --- every kind of change shows on the next answer ----------------------------------------------

def test_program_settings_and_earning_rules(client, shop):
    widget(client, shop)
    program_update(shop=shop, changes={"points_per_currency_unit": Decimal("3")})
    rule_update(shop=shop, kind="birthday", changes={"points": 250})
    state = widget(client, shop)
    assert state["program"]["points_per_currency_unit"] == "3.0000"
    assert {"kind": "birthday", "points": 250} in state["ways_to_earn"]
    rule_update(shop=shop, kind="birthday", changes={"is_enabled": False})
    program_update(shop=shop, changes={"is_enabled": False})
    state = widget(client, shop)
    assert "birthday" not in [way["kind"] for way in state["ways_to_earn"]]
    assert state["program"]["enabled"] is False


def test_rewards_created_changed_and_withdrawn(client, shop):
    widget(client, shop)
    made = reward_create(shop=shop, data={"name": "Mug", "kind": "fixed_amount", "points_cost": 400, "value": "3",
                                          "names": {"he": "ספל"}})
    assert [r["name"] for r in widget(client, shop, locale="he")["rewards"]][-1] == "ספל"
    reward_update(reward=made, changes={"points_cost": 120})
    assert [r["points_cost"] for r in widget(client, shop)["rewards"]] == [100, 120, 150, 250]
    reward_active_set(reward=made, active=False)
    assert [r["points_cost"] for r in widget(client, shop)["rewards"]] == [100, 150, 250]


def test_a_new_tier_scheme_and_tiers_switched_off(client, shop, member):
    assert [t["name"] for t in widget(client, shop, "c1")["tiers"]] == ["Bronze", "Silver", "Gold"]
    scheme = tier_scheme_propose(shop=shop, basis="points", period="lifetime", grace_days=0, tiers=[
        TierSpec(name="Fan", threshold=Decimal("0"), names={"he": "מעריץ"}),
        TierSpec(name="Star", threshold=Decimal("100"))])
    assert [t["name"] for t in widget(client, shop)["tiers"]] == ["Bronze", "Silver", "Gold"]  # proposed only
    tier_scheme_activate(scheme=scheme)
    state = widget(client, shop, "c1", locale="he")
    assert ([t["name"] for t in state["tiers"]], state["tier_basis"]) == (["מעריץ", "Star"], "points")
    tiers_switch_off(shop=shop)
    state = widget(client, shop, "c1")
    assert (state["tiers"], state["tier_basis"], state["tier"]["name"]) == ([], None, None)


def test_a_tier_renamed_and_the_widget_designer(client, shop):
    widget(client, shop)
    gold = Tier.objects.get(shop=shop, name="Gold")
    gold.names = {"he": "זהב"}
    gold.save()
    widget_settings_update(shop=shop, changes={"accent_color": "#0b6e4f", "texts": {"he": {"title": "המועדון"}}})
    state = widget(client, shop, locale="he")
    assert state["tiers"][-1]["name"] == "זהב"
    assert (state["widget"]["accent_color"], state["widget"]["title"]) == ("#0b6e4f", "המועדון")


def test_set_based_writes_that_send_no_signal(client, shop):
    # given: a warm cache
    widget(client, shop)
    # when: queryset updates and bulk inserts, as data migrations and scripts write
    Program.objects.filter(shop=shop).update(points_per_currency_unit=Decimal("2"))
    EarningRule.objects.filter(shop=shop, kind="signup").update(points=75)
    Tier.objects.filter(shop=shop, name="Silver").update(threshold=Decimal("600"))
    WidgetSettings.objects.bulk_create([WidgetSettings(shop=shop, launcher_position="left")])
    Reward.objects.bulk_create([Reward(shop=shop, name="Tote", kind="free_product", points_cost=90, value=0)])
    # then
    state = widget(client, shop)
    assert state["program"]["points_per_currency_unit"] == "2.0000"
    assert {"kind": "signup", "points": 75} in state["ways_to_earn"]
    assert [t["threshold"] for t in state["tiers"]] == ["0.000", "600.000", "1500.000"]
    assert state["widget"]["launcher_position"] == "left"
    assert state["rewards"][0]["name"] == "Tote"


def test_a_change_in_the_django_admin(admin_client, client, shop):
    widget(client, shop)
    reward = Reward.objects.get(shop=shop, points_cost=150)
    assert admin_client.post(f"/admin/loyalty/reward/{reward.pk}/delete/", {"post": "yes"}).status_code == 302
    assert [r["points_cost"] for r in widget(client, shop)["rewards"]] == [100, 250]


def test_a_change_in_an_open_transaction_shows_in_it_and_after_the_commit(client, shop):
    # given: a warm cache
    widget(client, shop)
    # when: the change is read inside its own transaction, then after it commits
    with transaction.atomic():
        rule_update(shop=shop, kind="signup", changes={"points": 65})
        inside = program_snapshot(shop=shop).rules["signup"].points
    # then
    assert inside == 65
    assert {"kind": "signup", "points": 65} in widget(client, shop)["ways_to_earn"]


def test_one_shops_change_leaves_another_shops_copy(client, shop, django_assert_num_queries):
    other = ShopFactory()
    program_enable(shop=other)
    widget(client, shop)
    widget(client, other)
    rule_update(shop=other, kind="signup", changes={"points": 5})
    with django_assert_num_queries(LOGGED_OUT):
        assert {"kind": "signup", "points": 50} in widget(client, shop)["ways_to_earn"]
    assert {"kind": "signup", "points": 5} in widget(client, other)["ways_to_earn"]


def test_the_version_lives_in_the_shared_cache(shop):
    # given: the shop's copy in this process
    first = program_snapshot(shop=shop)
    # when: another process bumps the version (it only reaches the shared cache)
    cache.delete(f"loyalty:program:version:{shop.pk}")
    # then: this process reads the data again
    assert program_snapshot(shop=shop) is not first


# --- the shopper's figures in one statement equal the services' ---------------------------------

@pytest.mark.parametrize("basis,period", [("spend", "lifetime"), ("spend", "calendar_year"),
                                          ("points", "lifetime"), ("points", "rolling_12_months")])
def test_balance_and_progress_equal_the_ledger_and_tier_metric(client, shop, basis, period):
    # given: orders this year and last, one refunded in part, one a test order, a pending entry
    now = timezone.now()
    customer(shop, "c2", "noa@example.com")
    deliver(shop, order("o1", [line("l1", 2, "40.00")], customer="c2", email="noa@example.com",
                        at=now - timedelta(days=3)),
            order("o2", [line("l2", 1, "300.00")], customer="c2", email="noa@example.com",
                  at=now - timedelta(days=500)))
    scheme = tier_scheme_propose(shop=shop, basis=basis, period=period, grace_days=0, tiers=[
        TierSpec(name="A", threshold=Decimal("0")), TierSpec(name="B", threshold=Decimal("1000"))])
    tier_scheme_activate(scheme=scheme)
    account = Account.objects.get(shop=shop, customer__platform_id="c2")
    entry_write(account=account, kind="earn", source="admin", key="later", points=7,
                available_at=now + timedelta(days=2))
    # when
    state = widget(client, shop, "c2")
    # then
    at = timezone.now()
    metric = tier_metric(account=account, scheme=TierScheme.objects.get(pk=scheme.pk), at=at)
    balance = selectors_balance(account)
    assert state["balance"] == balance
    assert state["tier"]["progress"] == str(metric)
    top = Tier.objects.get(scheme=scheme, name="B").threshold
    assert state["tier"]["remaining"] == str(max(top - metric, Decimal("0")))
    assert metric > 0


def selectors_balance(account: Account) -> dict[str, int]:
    balance = account_balance(account=account)
    return {"available": balance.available, "pending": balance.pending}


def test_a_guests_state_counts_the_guests_orders_by_email(shop):
    # given: a guest's account and a counted guest order
    deliver(shop, order("g1", [line("l1", 1, "80.00")], customer="", email="guest@example.com"))
    guest = account_for_guest(shop=shop, email="guest@example.com")
    # when: the merchant's view of the guest (the state from an account found elsewhere)
    state = selectors.widget_state(shop=shop, account=guest)
    # then
    scheme = TierScheme.objects.get(shop=shop, is_active=True)
    assert state["tier"]["progress"] == str(tier_metric(account=guest, scheme=scheme, at=timezone.now()))
    assert Decimal(state["tier"]["progress"]) == Decimal("80")


# --- statements compiled once (loyalty.prepared_sql) --------------------------------------------

def test_a_prepared_statement_answers_as_the_orm_for_each_call(shop, member):
    # given: entries at different moments, and a second account
    now = timezone.now()
    entry_write(account=member, kind="earn", source="admin", key="soon", points=9, reason="soon",
                available_at=now + timedelta(days=1))
    other = account_for_guest(shop=shop, email="noa@example.com")
    entry_write(account=other, kind="adjust", source="admin", key="o", points=4, reason="o")

    def build(marked: Any) -> Any:
        return (LedgerEntry.objects.filter(account_id=marked["account"], available_at__lte=marked["at"])
                .order_by("pk").values_list("points", "reason", "available_at", "account__referral_code"))

    # when / then: the first call compiles, the next ones reuse the statement with their values
    for account, at in ((member, now), (member, now + timedelta(days=2)), (other, now)):
        values = {"account": account.pk, "at": at}
        assert prepared_rows(shape="test-entries", build=build, values=values) == [list(row) for row in build(values)]


def test_a_shape_whose_values_the_orm_rewrites_runs_as_a_plain_query(shop, member):
    # a string compared case-insensitively is rewritten (UPPER/LIKE pattern): no marker is found
    def build(marked: Any) -> Any:
        return Account.objects.filter(referral_code__istartswith=marked["code"]).values_list("pk")

    code = member.referral_code[:3].lower()
    assert prepared_rows(shape="test-rewritten", build=build, values={"code": code}) == [[member.pk]]
