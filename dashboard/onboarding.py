"""The first-run wizard: what each step saves, and the launch (the history backfill, once).

Each step calls the services the settings pages and the merchant API call (the program, rewards,
tiers, flows, holiday calendar, widget): the wizard only picks sensible presets for them and
records which steps the merchant has done.  A shop without an ``Onboarding`` row has done
nothing yet; the row is written by the first saved step (reads never write).
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from babel import Locale
from babel.numbers import format_currency, format_percent
from django.db import transaction
from django.utils import timezone

from campaigns.models import Flow
from campaigns.services import flows as flow_services
from campaigns.services.holiday_catalogue import CATALOGUES
from campaigns.services.holidays import default_set
from commerce.models import Customer, Order, Shop
from dashboard.models import Onboarding, OnboardingStep
from loyalty.models import (
    Account,
    Program,
    Reward,
    RewardKind,
    TierBasis,
    TierPeriod,
    TierScheme,
    WidgetSettings,
)
from loyalty.selectors import active_tiers, program_get
from loyalty.services.earning import BackfillPlan, backfill
from loyalty.services.program import program_defaults_create, program_update
from loyalty.services.rewards import reward_active_set, reward_create, reward_update
from loyalty.services.tiers import (
    TierSpec,
    tier_evaluate,
    tier_scheme_activate,
    tier_scheme_propose,
    tiers_switch_off,
)
from loyalty.services.widget import widget_settings_update
from retention_app.errors import ApplicationError
from retention_app.locale_format import local_digits

STEPS: tuple[str, ...] = tuple(OnboardingStep.values)
#: A launch asked for longer ago than this and not done has failed: the merchant may launch again.
LAUNCH_PATIENCE = timedelta(minutes=15)
LANGUAGES = ("en", "he", "fa")


def _invalid(message: str, field_name: str) -> ApplicationError:
    return ApplicationError(message, code="invalid", extra={"field": field_name})


# --- where the shop stands ---------------------------------------------------------------------

@dataclass(frozen=True)
class OnboardingState:
    steps_done: frozenset[str] = frozenset()
    launched_at: datetime | None = None
    launch: BackfillPlan | None = None  # what the launch's backfill applied
    launching: bool = False  # asked for, running in the background

    @property
    def started(self) -> bool:
        return bool(self.steps_done)

    @property
    def complete(self) -> bool:
        return all(step in self.steps_done for step in STEPS)

    @property
    def next_step(self) -> str:
        """The first step not done (the launch once all are)."""
        return next((step for step in STEPS if step not in self.steps_done), OnboardingStep.LAUNCH)


def onboarding_state(*, shop: Shop) -> OnboardingState:
    row = Onboarding.objects.filter(shop=shop).first()
    if row is None:
        return OnboardingState()
    launch = (BackfillPlan(orders=row.launch_orders, customers=row.launch_customers, points=row.launch_points)
              if row.launched_at else None)
    return OnboardingState(steps_done=frozenset(row.steps_done), launched_at=row.launched_at, launch=launch,
                           launching=row.launched_at is None and row.launch_requested_at is not None
                           and row.launch_requested_at > timezone.now() - LAUNCH_PATIENCE)


def _step_done(*, shop: Shop, step: str) -> None:
    """Record ``step`` as done (idempotent; the row is locked so two tabs cannot lose a step)."""
    row, _created = Onboarding.objects.get_or_create(shop=shop)
    row = Onboarding.objects.select_for_update().get(pk=row.pk)
    if step not in row.steps_done:
        row.steps_done = [name for name in STEPS if name in {*row.steps_done, step}]
        row.save(update_fields=["steps_done", "updated_at"])


# --- step 1: the program -----------------------------------------------------------------------

@transaction.atomic
def onboarding_program_save(*, shop: Shop, is_enabled: bool, points_per_currency_unit: Decimal) -> Program:
    """Switch the program on or off and set the purchase points per currency unit (the program's
    own rules apply: ``ValidationError`` keyed by field)."""
    program = program_update(shop=shop, changes={"is_enabled": is_enabled,
                                                 "points_per_currency_unit": points_per_currency_unit})
    _step_done(shop=shop, step=OnboardingStep.PROGRAM)
    return program


# --- step 2: starter rewards -------------------------------------------------------------------

@dataclass(frozen=True)
class RewardPreset:
    key: str
    kind: str
    value: Decimal
    points_cost: int

    def names(self, currency: str) -> dict[str, str]:
        """The reward's name in each language ("$5 off your order", "‏5 $ הנחה על ההזמנה"…)."""
        return {language: _reward_name(self, currency, language) for language in LANGUAGES}

    def cash_back_percent(self, points_per_currency_unit: Decimal) -> Decimal | None:
        """What the reward gives back per unit spent to earn it, at this earning rate."""
        if self.kind != RewardKind.FIXED_AMOUNT or points_per_currency_unit <= 0:
            return None
        return (self.value * points_per_currency_unit * 100 / self.points_cost).quantize(Decimal("0.1"))


REWARD_PRESETS: dict[str, RewardPreset] = {preset.key: preset for preset in (
    RewardPreset("amount_5", RewardKind.FIXED_AMOUNT, Decimal("5"), 500),
    RewardPreset("amount_10", RewardKind.FIXED_AMOUNT, Decimal("10"), 1000),
    RewardPreset("amount_20", RewardKind.FIXED_AMOUNT, Decimal("20"), 2000),
    RewardPreset("percent_10", RewardKind.PERCENTAGE, Decimal("10"), 1500),
    RewardPreset("free_shipping", RewardKind.FREE_SHIPPING, Decimal("0"), 750),
)}
DEFAULT_REWARDS = ("amount_5", "amount_10")
_REWARD_TEXTS: dict[str, dict[str, str]] = {
    RewardKind.FIXED_AMOUNT: {"en": "{value} off your order", "he": "{value} הנחה על ההזמנה",
                              "fa": "{value} تخفیف روی سفارش"},
    RewardKind.PERCENTAGE: {"en": "{value} off your order", "he": "{value} הנחה על ההזמנה",
                            "fa": "{value} تخفیف روی سفارش"},
    RewardKind.FREE_SHIPPING: {"en": "Free shipping", "he": "משלוח חינם", "fa": "ارسال رایگان"},
}


def _reward_name(preset: RewardPreset, currency: str, language: str) -> str:
    if preset.kind == RewardKind.FIXED_AMOUNT:
        pattern = Locale.parse(language).currency_formats["standard"].pattern.replace(".00", "")  # whole amounts
        value = format_currency(preset.value, currency, format=pattern, locale=language, currency_digits=False)
    elif preset.kind == RewardKind.PERCENTAGE:
        value = format_percent(preset.value / 100, locale=language)
    else:
        value = ""
    if language == "fa":
        value = local_digits(value, language).replace("%", "٪")  # the Persian percent sign too
    return _REWARD_TEXTS[preset.kind][language].format(value=value).strip()


def _preset_reward(shop: Shop, preset: RewardPreset) -> Reward | None:
    """The shop's reward this preset stands for (same kind and value), e.g. the install's own."""
    return (Reward.objects.filter(shop=shop, kind=preset.kind, value=preset.value)
            .order_by("-is_active", "pk").first())


def reward_presets_chosen(*, shop: Shop) -> list[str]:
    """The presets that are live rewards of the shop now (what the step shows as ticked)."""
    active = set(Reward.objects.filter(shop=shop, is_active=True).values_list("kind", "value"))
    return [key for key, preset in REWARD_PRESETS.items() if (preset.kind, preset.value) in active]


@transaction.atomic
def onboarding_rewards_save(*, shop: Shop, rewards: list[str]) -> list[Reward]:
    """The chosen presets become the shop's active rewards (reusing a reward of the same kind
    and value, e.g. the install's "5 off"); every other reward is switched off, so the widget
    offers exactly what the merchant picked.  More can be added on the Rewards page."""
    unknown = [key for key in rewards if key not in REWARD_PRESETS]
    if unknown:
        raise _invalid(f"unknown reward preset {unknown[0]!r}", "rewards")
    if not rewards:
        raise _invalid("choose at least one starter reward", "rewards")
    program_defaults_create(shop=shop)
    chosen: list[Reward] = []
    for key in dict.fromkeys(rewards):
        preset = REWARD_PRESETS[key]
        names = preset.names(shop.currency or "USD")
        data = {"name": names["en"], "names": {"he": names["he"], "fa": names["fa"]},
                "points_cost": preset.points_cost, "is_active": True}
        reward = _preset_reward(shop, preset)
        if reward is None:
            reward = reward_create(shop=shop, data={**data, "kind": preset.kind, "value": preset.value})
        else:
            reward = reward_update(reward=reward, changes=data)
        chosen.append(reward)
    for other in Reward.objects.filter(shop=shop, is_active=True).exclude(pk__in=[reward.pk for reward in chosen]):
        reward_active_set(reward=other, active=False)
    _step_done(shop=shop, step=OnboardingStep.REWARDS)
    return chosen


# --- step 3: tiers -----------------------------------------------------------------------------

TIER_NONE = "none"
TIER_KEEP = "keep"
TIER_PRESETS: dict[str, tuple[TierSpec, ...]] = {
    "three": (
        TierSpec("Bronze", Decimal("0"), Decimal("1"), names={"he": "ברונזה", "fa": "برنزی"}),
        TierSpec("Silver", Decimal("500"), Decimal("1.25"), perks={"early_access": True},
                 names={"he": "כסף", "fa": "نقره‌ای"}),
        TierSpec("Gold", Decimal("1500"), Decimal("1.5"), perks={"early_access": True, "free_shipping": True},
                 names={"he": "זהב", "fa": "طلایی"}),
    ),
    "two": (
        TierSpec("Member", Decimal("0"), Decimal("1"), names={"he": "חבר מועדון", "fa": "عضو"}),
        TierSpec("VIP", Decimal("1000"), Decimal("1.5"), perks={"early_access": True, "free_shipping": True},
                 names={"he": "VIP", "fa": "ویژه"}),
    ),
}


def tier_preset_current(*, shop: Shop) -> str:
    """Which tier choice the shop's active tiers are: ``none``, a preset's key, or ``keep``
    (the merchant's own tiers)."""
    tiers = active_tiers(shop=shop)
    if not tiers:
        return TIER_NONE
    scheme = tiers[0].scheme
    found = [(tier.name, tier.threshold) for tier in tiers]
    for key, specs in TIER_PRESETS.items():
        if (scheme.basis == TierBasis.SPEND and found == [(spec.name, spec.threshold) for spec in specs]):
            return key
    return TIER_KEEP


@transaction.atomic
def onboarding_tiers_save(*, shop: Shop, tiers: str) -> str:
    """Tiers by money spent (a preset), none at all, or the shop's current ones kept.  A preset
    becomes a new version of the tier rules and is activated (accounts move to their tier)."""
    if tiers not in (*TIER_PRESETS, TIER_NONE, TIER_KEEP):
        raise _invalid(f"unknown tier choice {tiers!r}", "tiers")
    current = tier_preset_current(shop=shop)
    if tiers == TIER_KEEP and current == TIER_NONE:
        raise _invalid("there are no tiers to keep: choose a preset or no tiers", "tiers")
    if tiers not in (current, TIER_KEEP):
        if tiers == TIER_NONE:
            tiers_switch_off(shop=shop)
        else:
            scheme = tier_scheme_propose(shop=shop, basis=TierBasis.SPEND, period=TierPeriod.LIFETIME, grace_days=30,
                                         tiers=list(TIER_PRESETS[tiers]))
            tier_scheme_activate(scheme=scheme)
    _step_done(shop=shop, step=OnboardingStep.TIERS)
    return tiers


# --- step 4: flows -----------------------------------------------------------------------------

#: The flows the wizard offers (holiday greetings have their own step; VIP early access is
#: launched by hand), and those it suggests for a new shop.
ONBOARDING_FLOWS = ("order_thank_you", "bounce_back", "review_request", "birthday", "anniversary", "winback",
                    "replenishment", "loyalty_points_earned", "loyalty_tier_reached", "loyalty_points_expiring",
                    "review_reward", "post_purchase_upsell")
SUGGESTED_FLOWS = ("order_thank_you", "bounce_back", "review_request", "birthday", "winback",
                   "loyalty_points_earned", "loyalty_tier_reached", "loyalty_points_expiring")


def onboarding_flows(*, shop: Shop) -> list[Flow]:
    order = {key: position for position, key in enumerate(ONBOARDING_FLOWS)}
    return sorted(Flow.objects.filter(shop=shop, key__in=ONBOARDING_FLOWS), key=lambda flow: order[flow.key])


def preview_customer(*, shop: Shop) -> Customer | None:
    """A real shopper of the store to preview messages for: the latest buyer with an email."""
    order = (Order.objects.filter(shop=shop, customer__isnull=False, cancelled_at__isnull=True)
             .exclude(customer__email="").order_by("-processed_at", "-pk").select_related("customer").first())
    if order is not None:
        return order.customer
    return Customer.objects.filter(shop=shop).exclude(email="").order_by("pk").first()


@transaction.atomic
def onboarding_flows_save(*, shop: Shop, flows: list[str]) -> list[str]:
    """Switch the chosen flows on and the wizard's other flows off."""
    unknown = [key for key in flows if key not in ONBOARDING_FLOWS]
    if unknown:
        raise _invalid(f"unknown flow {unknown[0]!r}", "flows")
    for flow in onboarding_flows(shop=shop):
        wanted = flow.key in flows
        if flow.is_enabled != wanted:
            flow_services.flow_enable(shop=shop, key=flow.key, enabled=wanted)
    _step_done(shop=shop, step=OnboardingStep.FLOWS)
    return [key for key in ONBOARDING_FLOWS if key in flows]


# --- step 5: holiday greetings -----------------------------------------------------------------

HOLIDAY_FLOW = "holiday_greetings"


@dataclass(frozen=True)
class HolidayChoice:
    enabled: bool
    calendars: list[str]
    occasions: list[str] = field(default_factory=list)  # "IL:rosh_hashanah"


def holiday_choice(*, shop: Shop) -> HolidayChoice:
    """The holiday flow as it is now: on or off, its calendars, the occasions each greets."""
    flow = Flow.objects.filter(shop=shop, key=HOLIDAY_FLOW).first()
    if flow is None:
        return HolidayChoice(enabled=False, calendars=[])
    calendars = [code for code in flow.settings.get("calendars", []) if code in CATALOGUES]
    chosen = flow.settings.get("occasions") or {}
    occasions = [f"{code}:{key}" for code in calendars
                 for key in (chosen[code] if code in chosen else default_set(calendar=code))]
    return HolidayChoice(enabled=flow.is_enabled, calendars=calendars, occasions=occasions)


@transaction.atomic
def onboarding_holidays_save(*, shop: Shop, enabled: bool, calendars: list[str], occasions: list[str]) -> Flow:
    """Holiday greetings on or off, for which calendars and occasions (each keeps the day and hour
    it had, else its default)."""
    unknown = [code for code in calendars if code not in CATALOGUES]
    if unknown:
        raise _invalid(f"unknown calendar {unknown[0]!r}", "calendars")
    picked: dict[str, dict[str, dict]] = {code: {} for code in calendars}
    for item in occasions:
        code, _sep, key = item.partition(":")
        known = {occasion.key for occasion in CATALOGUES[code].occasions} if code in CATALOGUES else set()
        if key not in known:
            raise _invalid(f"unknown occasion {item!r}", "occasions")
        if code in picked:
            picked[code][key] = {}
    if enabled and not calendars:
        raise _invalid("choose a calendar to greet on, or switch holiday greetings off", "calendars")
    if enabled and not any(picked.values()):
        raise _invalid("choose at least one occasion, or switch holiday greetings off", "occasions")
    flow = Flow.objects.filter(shop=shop, key=HOLIDAY_FLOW).first()
    if flow is None:
        raise ApplicationError("the holiday flow is missing", status=404, code="not_found")
    before = flow.settings.get("occasions") or {}
    kept = {code: {key: (before.get(code) or {}).get(key, {}) for key in keys} for code, keys in picked.items()}
    extra = [code for code in flow.settings.get("calendars", []) if code not in CATALOGUES]  # ISO countries
    settings = {**flow.settings, "calendars": [*calendars, *extra],
                "occasions": {**{code: value for code, value in before.items() if code not in CATALOGUES}, **kept}}
    flow_services.flow_edit(shop=shop, key=HOLIDAY_FLOW, settings=settings)
    flow = flow_services.flow_enable(shop=shop, key=HOLIDAY_FLOW, enabled=enabled)
    _step_done(shop=shop, step=OnboardingStep.HOLIDAYS)
    return flow


# --- step 6: the widget's look -----------------------------------------------------------------

@transaction.atomic
def onboarding_widget_save(*, shop: Shop, accent_color: str, launcher_position: str) -> WidgetSettings:
    """The widget's accent colour and launcher corner, through the widget designer's service
    (blank: the theme editor's setting applies)."""
    widget = widget_settings_update(shop=shop, changes={"accent_color": accent_color,
                                                        "launcher_position": launcher_position})
    _step_done(shop=shop, step=OnboardingStep.WIDGET)
    return widget


# --- step 7: launch ----------------------------------------------------------------------------

def onboarding_launch_preview(*, shop: Shop) -> BackfillPlan:
    """The launch's dry run: the customers and points the store's past orders would earn."""
    return backfill(shop=shop, apply=False)


@dataclass(frozen=True)
class Launch:
    plan: BackfillPlan
    launched_at: datetime
    already: bool  # launched before: nothing was applied this time


def onboarding_launch_request(*, shop: Shop) -> bool:
    """The merchant clicked Launch: recorded, for the background job (``dashboard.tasks``) that
    runs ``onboarding_launch`` (a store's history can take minutes).  False when it has launched
    already; asking again while it runs is harmless (the launch applies once)."""
    if OnboardingStep.PROGRAM not in onboarding_state(shop=shop).steps_done:
        raise _invalid("set up the loyalty program first", "program")
    Onboarding.objects.get_or_create(shop=shop)
    with transaction.atomic():
        row = Onboarding.objects.select_for_update().get(shop=shop)
        if row.launched_at is not None:
            return False
        row.launch_requested_at = timezone.now()
        row.save(update_fields=["launch_requested_at", "updated_at"])
    return True


def onboarding_launch(*, shop: Shop) -> Launch:
    """Award the store's history its points (the backfill, applied once however often the
    merchant clicks: the onboarding row is locked and records the launch), assign tiers, and
    mark the wizard launched.  With the program switched off nothing is awarded."""
    if OnboardingStep.PROGRAM not in onboarding_state(shop=shop).steps_done:
        raise _invalid("set up the loyalty program first", "program")
    Onboarding.objects.get_or_create(shop=shop)
    with transaction.atomic():
        row = Onboarding.objects.select_for_update().get(shop=shop)
        if row.launched_at is not None:
            plan = BackfillPlan(orders=row.launch_orders, customers=row.launch_customers, points=row.launch_points)
            return Launch(plan=plan, launched_at=row.launched_at, already=True)
        plan = BackfillPlan(orders=0, customers=0, points=0)
        if program_get(shop=shop).is_enabled:
            plan = backfill(shop=shop, apply=True)
            scheme = TierScheme.objects.filter(shop=shop, is_active=True).first()
            if scheme is not None:
                for account in Account.objects.filter(shop=shop).order_by("pk").iterator():
                    tier_evaluate(account=account, scheme=scheme, announce=False)  # no mass "welcome to Gold"
        row.launched_at = timezone.now()
        row.launch_orders, row.launch_customers, row.launch_points = plan.orders, plan.customers, plan.points
        row.steps_done = [name for name in STEPS if name in {*row.steps_done, OnboardingStep.LAUNCH}]
        row.save()
    return Launch(plan=plan, launched_at=row.launched_at, already=False)


@transaction.atomic
def onboarding_complete(*, shop: Shop) -> None:
    """Every step done (the demo shop, a shop set up before the wizard existed)."""
    row, _created = Onboarding.objects.get_or_create(shop=shop)
    row = Onboarding.objects.select_for_update().get(pk=row.pk)
    row.steps_done = list(STEPS)
    row.launched_at = row.launched_at or timezone.now()
    row.save()
