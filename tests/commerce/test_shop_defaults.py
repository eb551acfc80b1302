"""What an install creates: every app's defaults, once, whatever the number of installs."""

import json
from importlib import import_module
from typing import Any

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command
from django.db import models

from campaigns.models import Flow, FlowStep
from campaigns.services.flows import PRESETS as FLOW_PRESETS
from commerce import services as commerce
from commerce.models import Platform, Shop
from commerce.shop_defaults import defaults_registered, shop_defaults_create
from loyalty.models import Badge, EarningRule, Program, Reward, Tier, TierScheme
from segments.models import Segment, SegmentSettings
from segments.rules import PREDEFINED
from surveys.models import Question, Survey
from surveys.presets import PRESETS as SURVEY_PRESETS
from tests.factories import ShopFactory

pytestmark = pytest.mark.django_db

DEFAULT_MODELS: tuple[type[models.Model], ...] = (
    Program, EarningRule, TierScheme, Tier, Reward, Badge, Flow, FlowStep, Survey, Question, Segment, SegmentSettings,
)


def install(domain: str = "fresh.myshopify.com") -> Shop:
    return commerce.shop_installed(platform=Platform.SHOPIFY, domain=domain, access_token="shpat_fresh",
                                   scopes="read_orders")


def frozen(values: tuple[Any, ...]) -> tuple[Any, ...]:
    """A row made hashable (JSON fields become their sorted text)."""
    return tuple(json.dumps(value, sort_keys=True, default=str) if isinstance(value, (dict, list)) else value
                 for value in values)


def rows(shop: Shop) -> dict[str, set[tuple[Any, ...]]]:
    """Every default row of the shop, by model, as comparable tuples (ids included)."""
    found: dict[str, set[tuple[Any, ...]]] = {}
    for model in DEFAULT_MODELS:
        lookup = {"flow__shop": shop} if model is FlowStep else {"shop": shop}
        fields = [field.attname for field in model._meta.concrete_fields if field.attname != "updated_at"]
        found[model.__name__] = {frozen(row) for row in model.objects.filter(**lookup).values_list(*fields)}
    return found


def test_every_app_with_defaults_is_registered():
    assert defaults_registered() == ("campaigns", "loyalty", "segments", "surveys")


def test_install_creates_the_program_presets_and_segments_switched_off():
    # when a store installs the app
    shop = install()
    # then it has the default program (off), every flow and survey preset (off), the segments
    program = Program.objects.get(shop=shop)
    assert program.is_enabled is False
    assert EarningRule.objects.filter(shop=shop).count() == 9
    assert list(Tier.objects.filter(shop=shop, scheme__is_active=True).values_list("name", flat=True)) == [
        "Bronze", "Silver", "Gold"]
    assert Reward.objects.filter(shop=shop).count() == 3 and Badge.objects.filter(shop=shop).count() == 4
    flows = Flow.objects.filter(shop=shop)
    assert set(flows.values_list("key", flat=True)) == set(FLOW_PRESETS)
    assert not flows.filter(is_enabled=True).exists()
    assert FlowStep.objects.filter(flow__shop=shop).count() == sum(len(p["steps"]) for p in FLOW_PRESETS.values())
    surveys = Survey.objects.filter(shop=shop)
    assert set(surveys.values_list("key", flat=True)) == set(SURVEY_PRESETS)
    assert not surveys.filter(is_active=True).exists()
    assert Question.objects.filter(shop=shop).count() == sum(len(p["questions"]) for p in SURVEY_PRESETS.values())
    assert set(Segment.objects.filter(shop=shop).values_list("key", flat=True)) == {item.key for item in PREDEFINED}
    assert SegmentSettings.objects.filter(shop=shop).count() == 1


def test_installing_twice_or_replaying_creates_nothing_more():
    # given an installed shop
    shop = install()
    first = rows(shop)
    # when the install is replayed, the shop reinstalls, and the defaults are asked for again
    install()
    shop_defaults_create(shop=shop)
    # then the same rows, not one more
    assert rows(shop) == first
    assert all(first.values())


def test_a_reinstall_keeps_what_the_merchant_changed_and_adds_what_is_missing():
    # given a shop whose merchant switched a flow on and deleted a survey, then uninstalled
    shop = install()
    Flow.objects.filter(shop=shop, key="winback").update(is_enabled=True)
    Survey.objects.filter(shop=shop, key="zero_party").delete()
    commerce.shop_uninstalled(shop=shop)
    # when the store installs the app again
    install()
    # then the merchant's flow stays on, and the missing preset is back (switched off)
    assert Flow.objects.get(shop=shop, key="winback").is_enabled is True
    assert Survey.objects.get(shop=shop, key="zero_party").is_active is False
    assert Flow.objects.filter(shop=shop).count() == len(FLOW_PRESETS)


def test_other_shops_are_untouched():
    other = ShopFactory(domain="other.myshopify.com")
    before = rows(other)
    install()
    assert rows(other) == before


# --- the data migrations: shops installed before defaults were made at install -----------------

MIGRATIONS = (
    ("loyalty.migrations.0008_programs_for_installed_shops", "programs_create"),
    ("campaigns.migrations.0007_preset_flows_for_installed_shops", "presets_create"),
    ("surveys.migrations.0002_preset_surveys_for_installed_shops", "presets_create"),
    ("segments.migrations.0002_defaults_for_installed_shops", "defaults_create"),
)


def migrate_data() -> None:
    """Run the four data migrations' functions (today's models match their historical ones)."""
    for module, function in MIGRATIONS:
        getattr(import_module(module), function)(apps, None)


def comparable(shop: Shop) -> dict[str, set[tuple[Any, ...]]]:
    """The shop's defaults without ids and shop, to compare two shops."""
    found: dict[str, set[tuple[Any, ...]]] = {}
    for model in DEFAULT_MODELS:
        lookup = {"flow__shop": shop} if model is FlowStep else {"shop": shop}
        fields = [field.attname for field in model._meta.concrete_fields
                  if field.attname not in ("id", "shop_id", "flow_id", "scheme_id", "survey_id", "created_at",
                                           "updated_at")]
        if model is FlowStep:
            fields.append("flow__key")
        if model is Question:
            fields.append("survey__key")
        found[model.__name__] = {frozen(row) for row in model.objects.filter(**lookup).values_list(*fields)}
    return found


def test_the_data_migration_gives_an_older_shop_what_an_install_gives_a_new_one():
    # given a shop installed before defaults were made at install, an uninstalled one, a new one
    older = ShopFactory(domain="older.myshopify.com", defaults=False)
    gone = ShopFactory(domain="gone.myshopify.com", status="uninstalled", defaults=False)
    new = install()
    assert not any(comparable(older).values())
    # when the data migrations run (twice: a replay changes nothing)
    migrate_data()
    after_first = rows(older)
    migrate_data()
    # then the older shop has exactly the defaults a fresh install creates, once
    assert comparable(older) == comparable(new)
    assert rows(older) == after_first
    # and the uninstalled shop got nothing (a reinstall will create them)
    assert not any(comparable(gone).values())


def test_the_data_migration_keeps_what_a_shop_already_has():
    # given an older shop that already has a flow and a survey of its own making
    older = ShopFactory(domain="older.myshopify.com", defaults=False)
    Flow.objects.create(shop=older, key="winback", name="Our win-back", trigger="schedule:daily", is_enabled=True)
    Survey.objects.create(shop=older, key="nps", kind="nps", title={"en": "Ours"}, is_active=True)
    # when the data migrations run
    migrate_data()
    # then they are kept as they were, and the other presets are added
    assert Flow.objects.get(shop=older, key="winback").name == "Our win-back"
    assert Survey.objects.get(shop=older, key="nps").title == {"en": "Ours"}
    assert Flow.objects.filter(shop=older).count() == len(FLOW_PRESETS)
    assert Survey.objects.filter(shop=older).count() == len(SURVEY_PRESETS)


def test_the_command_gives_installed_shops_what_they_are_missing(capsys):
    # given an older installed shop without defaults, a shop that lost a preset, an uninstalled shop
    older = ShopFactory(domain="older.myshopify.com", defaults=False)
    current = install()
    Flow.objects.filter(shop=current, key="winback").delete()
    kept = rows(current)
    gone = ShopFactory(domain="gone.myshopify.com", status="uninstalled", defaults=False)
    # when the operator runs the command (twice)
    call_command("shop_defaults")
    call_command("shop_defaults")
    # then the installed shops have every default once, and nothing else changed
    assert comparable(older) == comparable(current)
    assert Flow.objects.filter(shop=current, key="winback").count() == 1
    assert all(rows(current)[name] >= kept[name] for name in kept)
    assert not any(comparable(gone).values())
    assert "checked for 2 installed shop(s)" in capsys.readouterr().out
    with pytest.raises(CommandError):
        call_command("shop_defaults", shop="gone.myshopify.com")
