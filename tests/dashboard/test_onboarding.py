"""The first-run wizard's rules: what each step saves, what it refuses, and the launch that
applies the history backfill exactly once."""

from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError

from campaigns.models import Flow
from dashboard import onboarding
from dashboard.models import Onboarding
from loyalty.models import Account, LedgerEntry, Program, Reward, WidgetSettings
from loyalty.selectors import active_tiers
from retention_app.errors import ApplicationError
from tests.factories import CustomerFactory, OrderFactory, ShopFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop() -> Any:
    """A shop that has just installed: the install's presets, nothing chosen yet."""
    return ShopFactory(domain="fresh.myshopify.com", onboarded=False)


@pytest.fixture
def history(shop: Any) -> list[Any]:
    """Three past paid orders of two customers (50.00 each), from before the program."""
    noa, dan = CustomerFactory(shop=shop, email="noa@example.com"), CustomerFactory(shop=shop, email="dan@example.com")
    return [OrderFactory(shop=shop, customer=noa, total=Decimal("50"), subtotal=Decimal("50")),
            OrderFactory(shop=shop, customer=noa, total=Decimal("50"), subtotal=Decimal("50")),
            OrderFactory(shop=shop, customer=dan, total=Decimal("50"), subtotal=Decimal("50"))]


def test_a_fresh_shop_has_done_nothing_and_reading_that_writes_nothing(shop):
    state = onboarding.onboarding_state(shop=shop)
    assert not state.started and not state.complete and state.next_step == "program"
    assert not Onboarding.objects.filter(shop=shop).exists()


def test_the_program_step_sets_the_rate_and_switches_the_program_on(shop):
    onboarding.onboarding_program_save(shop=shop, is_enabled=True, points_per_currency_unit=Decimal("3"))
    program = Program.objects.get(shop=shop)
    assert program.is_enabled is True and program.points_per_currency_unit == Decimal("3")
    state = onboarding.onboarding_state(shop=shop)
    assert state.steps_done == {"program"} and state.next_step == "rewards"


@pytest.mark.parametrize("rate", [Decimal("0"), Decimal("-1")])
def test_the_program_step_refuses_a_rate_out_of_range_and_saves_nothing(shop, rate):
    with pytest.raises(ValidationError) as refused:
        onboarding.onboarding_program_save(shop=shop, is_enabled=True, points_per_currency_unit=rate)
    assert set(refused.value.message_dict) == {"points_per_currency_unit"}
    program = Program.objects.get(shop=shop)
    assert program.is_enabled is False and program.points_per_currency_unit == Decimal("1")
    assert not Onboarding.objects.filter(shop=shop).exists()


def test_starter_rewards_become_exactly_the_active_rewards_named_in_each_language(shop):
    # given the install's three rewards (5 off for 100 points among them)
    assert Reward.objects.filter(shop=shop, is_active=True).count() == 3
    # when the merchant picks $5 off for 500 points and free shipping
    onboarding.onboarding_rewards_save(shop=shop, rewards=["amount_5", "free_shipping"])
    # then those two are the live rewards (the install's "5 off" reused, not doubled)
    active = Reward.objects.filter(shop=shop, is_active=True).order_by("points_cost")
    assert [(r.name, r.kind, r.value, r.points_cost) for r in active] == [
        ("$5 off your order", "fixed_amount", Decimal("5.000"), 500),
        ("Free shipping", "free_shipping", Decimal("0.000"), 750)]
    assert Reward.objects.filter(shop=shop, kind="fixed_amount", value=5).count() == 1
    five = active[0]
    assert five.name_in("he") == "\u200f5\xa0\u200f$ הנחה על ההזמנה"
    assert five.name_in("fa") == "\u200e$\xa0۵ تخفیف روی سفارش"  # Persian digits
    assert onboarding.reward_presets_chosen(shop=shop) == ["amount_5", "free_shipping"]


@pytest.mark.parametrize(("rewards", "message"), [([], "at least one"), (["amount_5", "gold_bar"], "gold_bar")])
def test_starter_rewards_refuse_none_or_an_unknown_preset_and_change_nothing(shop, rewards, message):
    before = set(Reward.objects.filter(shop=shop).values_list("pk", "is_active", "points_cost"))
    with pytest.raises(ApplicationError, match=message):
        onboarding.onboarding_rewards_save(shop=shop, rewards=rewards)
    assert set(Reward.objects.filter(shop=shop).values_list("pk", "is_active", "points_cost")) == before


def test_tiers_none_leaves_no_active_tiers_and_a_preset_activates_a_new_version(shop):
    assert onboarding.tier_preset_current(shop=shop) == "three"  # the install's Bronze/Silver/Gold
    onboarding.onboarding_tiers_save(shop=shop, tiers="none")
    assert active_tiers(shop=shop) == []
    onboarding.onboarding_tiers_save(shop=shop, tiers="two")
    assert [(t.name, t.threshold, t.names.get("he")) for t in active_tiers(shop=shop)] == [
        ("Member", Decimal("0.000"), "חבר מועדון"), ("VIP", Decimal("1000.000"), "VIP")]
    assert onboarding.tier_preset_current(shop=shop) == "two"
    with pytest.raises(ApplicationError):
        onboarding.onboarding_tiers_save(shop=shop, tiers="platinum")


def test_flows_step_switches_on_exactly_the_chosen_flows(shop):
    onboarding.onboarding_flows_save(shop=shop, flows=["order_thank_you", "winback"])
    on = set(Flow.objects.filter(shop=shop, is_enabled=True).values_list("key", flat=True))
    assert on == {"order_thank_you", "winback"}
    onboarding.onboarding_flows_save(shop=shop, flows=["winback"])
    assert set(Flow.objects.filter(shop=shop, is_enabled=True).values_list("key", flat=True)) == {"winback"}
    with pytest.raises(ApplicationError, match="holiday_greetings"):  # it has its own step
        onboarding.onboarding_flows_save(shop=shop, flows=["holiday_greetings"])


def test_holiday_step_saves_calendars_and_occasions_and_refuses_an_empty_choice(shop):
    onboarding.onboarding_holidays_save(shop=shop, enabled=True, calendars=["IR"], occasions=["IR:nowruz"])
    flow = Flow.objects.get(shop=shop, key="holiday_greetings")
    assert flow.is_enabled is True
    assert flow.settings["calendars"] == ["IR"] and flow.settings["occasions"] == {"IR": {"nowruz": {}}}
    assert onboarding.holiday_choice(shop=shop).occasions == ["IR:nowruz"]
    with pytest.raises(ApplicationError, match="at least one occasion"):
        onboarding.onboarding_holidays_save(shop=shop, enabled=True, calendars=["IL"], occasions=["IR:nowruz"])
    with pytest.raises(ApplicationError, match="unknown occasion"):
        onboarding.onboarding_holidays_save(shop=shop, enabled=True, calendars=["IL"], occasions=["IL:christmas"])
    onboarding.onboarding_holidays_save(shop=shop, enabled=False, calendars=[], occasions=[])
    assert Flow.objects.get(shop=shop, key="holiday_greetings").is_enabled is False


def test_launch_needs_the_program_step_first(shop, history):
    with pytest.raises(ApplicationError, match="program first"):
        onboarding.onboarding_launch(shop=shop)
    assert not LedgerEntry.objects.filter(shop=shop).exists()


def test_the_dry_run_says_what_the_launch_applies_and_launching_twice_applies_it_once(shop, history):
    # given the program at 3 points per unit
    onboarding.onboarding_program_save(shop=shop, is_enabled=True, points_per_currency_unit=Decimal("3"))
    # when the merchant looks at the launch: the dry run writes nothing
    preview = onboarding.onboarding_launch_preview(shop=shop)
    assert (preview.orders, preview.customers, preview.points) == (3, 2, 450)
    assert not LedgerEntry.objects.filter(shop=shop).exists()
    # when they launch, then click launch again
    first = onboarding.onboarding_launch(shop=shop)
    second = onboarding.onboarding_launch(shop=shop)
    # then the history earned its points once, as the dry run said
    assert (first.plan.orders, first.plan.customers, first.plan.points, first.already) == (3, 2, 450, False)
    assert second.already is True and second.plan == first.plan and second.launched_at == first.launched_at
    assert LedgerEntry.objects.filter(shop=shop).count() == 3
    assert sum(LedgerEntry.objects.filter(shop=shop).values_list("points", flat=True)) == 450
    # and every account has its tier under the active rules
    assert Account.objects.filter(shop=shop, tier__name="Bronze").count() == 2
    assert onboarding.onboarding_state(shop=shop).launch == first.plan


def test_launching_with_the_program_off_awards_nothing(shop, history):
    onboarding.onboarding_program_save(shop=shop, is_enabled=False, points_per_currency_unit=Decimal("1"))
    launch = onboarding.onboarding_launch(shop=shop)
    assert launch.plan.points == 0 and not LedgerEntry.objects.filter(shop=shop).exists()
    assert "launch" in onboarding.onboarding_state(shop=shop).steps_done


def test_every_step_done_completes_the_wizard(shop):
    onboarding.onboarding_program_save(shop=shop, is_enabled=True, points_per_currency_unit=Decimal("1"))
    onboarding.onboarding_rewards_save(shop=shop, rewards=["amount_5"])
    onboarding.onboarding_tiers_save(shop=shop, tiers="keep")
    onboarding.onboarding_flows_save(shop=shop, flows=[])
    onboarding.onboarding_holidays_save(shop=shop, enabled=False, calendars=[], occasions=[])
    onboarding.onboarding_widget_save(shop=shop, accent_color="#1F7A4D", launcher_position="left")
    assert not onboarding.onboarding_state(shop=shop).complete
    onboarding.onboarding_launch(shop=shop)
    state = onboarding.onboarding_state(shop=shop)
    assert state.complete and state.steps_done == set(onboarding.STEPS)
    widget = WidgetSettings.objects.get(shop=shop)
    assert (widget.accent_color, widget.launcher_position) == ("#1f7a4d", "left")


def test_the_widget_step_refuses_a_colour_that_is_not_one(shop):
    with pytest.raises(ValidationError) as refused:
        onboarding.onboarding_widget_save(shop=shop, accent_color="red; x", launcher_position="left")
    assert set(refused.value.message_dict) == {"accent_color"}
    assert "widget" not in onboarding.onboarding_state(shop=shop).steps_done


def test_launching_sets_the_historys_tiers_without_a_tier_email_to_every_past_customer(shop, history):
    """The tiers past customers reached long ago are set quietly: a "tier reached" flow switched on
    in the guide greets those who reach a tier from now on, not the whole history at launch."""
    from campaigns.models import Enrolment
    from commerce.models import DomainEvent

    onboarding.onboarding_program_save(shop=shop, is_enabled=True, points_per_currency_unit=Decimal("10"))
    onboarding.onboarding_tiers_save(shop=shop, tiers="three")
    onboarding.onboarding_flows_save(shop=shop, flows=["loyalty_tier_reached"])
    onboarding.onboarding_launch(shop=shop)
    assert Account.objects.filter(shop=shop, tier__isnull=False).count() == 2
    assert not DomainEvent.objects.filter(shop=shop, name="loyalty.tier_reached").exists()
    assert not Enrolment.objects.filter(shop=shop, flow__key="loyalty_tier_reached").exists()
