"""Flow presets (created switched off), editing (versions), preview for one customer, enrolment
from domain events and replaying recent events into a flow."""

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from campaigns.models import Channel, Flow, FlowStep, StepAction
from campaigns.services import email, holidays, sms
from campaigns.services.engine import (
    Decision,
    channel_for,
    customer_exit_reason,
    decide,
    enrol,
    steps_for_new_enrolment,
    timing_for,
)
from commerce.models import Customer, DomainEvent, FulfillmentStatus, Order, Shop, Variant
from commerce.selectors import counted_order_q
from commerce.services import order_event_for_history
from retention_app.errors import ApplicationError

PRESETS: dict[str, dict[str, Any]] = {
    "order_thank_you": {
        "name": "Order follow-up: thank you",
        "trigger": DomainEvent.Name.ORDER_PAID,
        "settings": {},
        "steps": [{"delay_minutes": 0, "template": "order_thank_you", "is_marketing": False}],
    },
    "bounce_back": {
        "name": "Bounce-back after the first order",
        "trigger": DomainEvent.Name.ORDER_PAID,
        "settings": {"first_order_only": True},
        "steps": [{"delay_minutes": 0, "template": "bounce_back", "is_marketing": True,
                   "config": {"discount_percent": 10, "discount_hours": 12, "recommend": 3}}],
    },
    "review_request": {
        "name": "Order follow-up: how was it? (review request)",
        "trigger": DomainEvent.Name.ORDER_FULFILLED,
        "settings": {},
        "steps": [{"delay_minutes": 7 * 24 * 60, "template": "review_request", "is_marketing": True}],
    },
    "birthday": {
        "name": "Birthday greeting with a gift",
        "trigger": "schedule:daily",
        "settings": {},
        "steps": [{"delay_minutes": 0, "template": "birthday", "is_marketing": True,
                   "config": {"discount_percent": 15, "discount_hours": 7 * 24}}],
    },
    "anniversary": {
        "name": "First-order anniversary",
        "trigger": "schedule:daily",
        "settings": {},
        "steps": [{"delay_minutes": 0, "template": "anniversary", "is_marketing": True,
                   "config": {"discount_percent": 10, "discount_hours": 7 * 24}}],
    },
    "loyalty_points_earned": {
        "name": "Loyalty notice: points earned",
        "trigger": "loyalty.points_earned",
        "settings": {},
        "steps": [{"delay_minutes": 0, "template": "loyalty_points_earned", "is_marketing": True}],
    },
    "loyalty_tier_reached": {
        "name": "Loyalty notice: tier reached",
        "trigger": "loyalty.tier_reached",
        "settings": {},
        "steps": [{"delay_minutes": 0, "template": "loyalty_tier_reached", "is_marketing": True}],
    },
    "loyalty_points_expiring": {
        "name": "Loyalty notice: points expiring",
        "trigger": "loyalty.points_expiring",
        "settings": {},
        "steps": [{"delay_minutes": 0, "template": "loyalty_points_expiring", "is_marketing": True}],
    },
    "holiday_greetings": {
        "name": "Holiday greetings",
        "trigger": "schedule:daily",
        # Calendars (IL: Jewish/Israeli, IR: Iranian/Persian, or an ISO country code the `holidays`
        # library knows), each greeting on its default set of occasions unless ``occasions`` says
        # otherwise, plus the merchant's own dates ("MM-DD"); see campaigns/services/holidays.py.
        "settings": {"calendars": ["IL"], "occasions": {}, "custom": []},
        "steps": [{"delay_minutes": 0, "template": "holiday", "is_marketing": True}],
    },
    "replenishment": {
        "name": "Replenishment reminder",
        "trigger": "schedule:daily",
        # Per-product use cycles in days set by the merchant ({"<product id>": 60}); products
        # without one use the shop's own median repurchase interval when there is enough history.
        "settings": {"cycles": {}, "min_repurchases": 5, "max_cycle_days": 120},
        "steps": [{"delay_minutes": 0, "template": "replenishment", "is_marketing": True,
                   "config": {"discount_percent": 10, "discount_hours": 7 * 24}}],
    },
    "vip_early_access": {
        "name": "VIP early access",
        "trigger": "manual",  # the merchant launches it for chosen tiers
        "settings": {},
        "steps": [{"delay_minutes": 0, "template": "vip_early_access", "is_marketing": True,
                   "config": {"discount_percent": 15, "discount_hours": 48}}],
    },
    "review_reward": {
        "name": "Thank you for your review (discount on the next order)",
        "trigger": "loyalty.review_recorded",
        "settings": {},
        "steps": [{"delay_minutes": 0, "template": "review_reward", "is_marketing": True,
                   "config": {"discount_percent": 10, "discount_hours": 7 * 24}}],
    },
    "post_purchase_upsell": {
        "name": "Post-purchase upsell by SMS",
        "trigger": DomainEvent.Name.ORDER_PAID,
        "settings": {},
        # Right after payment: what the shop's other customers bought with these products
        # (``co_purchased``: how many to offer); skipped when there is none.
        "steps": [{"delay_minutes": 0, "action": StepAction.SEND_SMS, "template": "upsell_sms", "is_marketing": True,
                   "config": {"co_purchased": 1}}],
    },
    "winback": {
        "name": "Win-back: we miss you",
        "trigger": "schedule:daily",
        "settings": {"inactive_days": 180},
        "steps": [{"delay_minutes": 0, "template": "winback", "is_marketing": True,
                   "conditions": {"no_order_since_enrolment": True},
                   "config": {"discount_percent": 15, "discount_hours": 72}}],
    },
}


# The store events a flow can start on, with the template a new flow's first step uses (the
# merchant changes it in the editor).  Date- and history-triggered flows are the presets' own.
EVENT_TRIGGERS: dict[str, str] = {
    DomainEvent.Name.ORDER_PAID: "bounce_back",
    DomainEvent.Name.ORDER_FULFILLED: "review_request",
    "loyalty.points_earned": "loyalty_points_earned",
    "loyalty.tier_reached": "loyalty_tier_reached",
    "loyalty.points_expiring": "loyalty_points_expiring",
    "loyalty.review_recorded": "review_reward",
}
MAX_FLOWS = 50
CUSTOM_KEY_PREFIX = "custom_"


def flow_create(*, shop: Shop, trigger: str, name: str) -> Flow:
    """A new flow of the merchant's on a store event, switched off, with one email step; the
    merchant edits its steps and turns it on.  Its key is ``custom_<n>``."""
    name = (name or "").strip()
    if trigger not in EVENT_TRIGGERS:
        raise _invalid(f"unknown trigger {trigger!r} (known: {', '.join(EVENT_TRIGGERS)})", "trigger")
    if not name or len(name) > 200:
        raise _invalid("a flow needs a name (up to 200 characters)", "name")
    keys = set(Flow.objects.filter(shop=shop).values_list("key", flat=True))
    if len(keys) >= MAX_FLOWS:
        raise _invalid(f"a shop has at most {MAX_FLOWS} flows", "name")
    number = 1 + max((int(key.removeprefix(CUSTOM_KEY_PREFIX)) for key in keys
                      if key.startswith(CUSTOM_KEY_PREFIX) and key.removeprefix(CUSTOM_KEY_PREFIX).isdigit()),
                     default=0)
    try:
        with transaction.atomic():
            flow = Flow.objects.create(shop=shop, key=f"{CUSTOM_KEY_PREFIX}{number}", name=name, trigger=trigger,
                                       settings={})
            FlowStep.objects.create(flow=flow, position=0, template=EVENT_TRIGGERS[trigger], is_marketing=True)
    except IntegrityError:  # the same key, created concurrently
        raise ApplicationError("another flow was created at the same moment: try again", status=409,
                               code="conflict") from None
    return flow


def flow_presets_create(*, shop: Shop) -> int:
    """Create the preset flows the shop does not have yet, switched off until the merchant turns
    them on (at install; idempotent).  Returns how many were created.  Reads never create flows:
    a preset added later reaches the shops installed before it by a data migration or
    ``manage.py shop_defaults``."""
    existing = set(Flow.objects.filter(shop=shop).values_list("key", flat=True))
    created = 0
    for key, preset in PRESETS.items():
        if key in existing:
            continue
        try:
            with transaction.atomic():
                flow = Flow.objects.create(shop=shop, key=key, name=preset["name"], trigger=preset["trigger"],
                                           settings=preset["settings"])
                FlowStep.objects.bulk_create([FlowStep(flow=flow, position=position, **step)
                                              for position, step in enumerate(preset["steps"])])
                created += 1
        except IntegrityError:  # created concurrently
            continue
    return created


def _flow(*, shop: Shop, key: str) -> Flow:
    flow = Flow.objects.filter(shop=shop, key=key).first()
    if flow is None:
        raise ApplicationError("unknown flow", status=404, code="not_found")
    return flow


def flow_enable(*, shop: Shop, key: str, enabled: bool = True) -> Flow:
    flow = _flow(shop=shop, key=key)
    Flow.objects.filter(pk=flow.pk).update(is_enabled=enabled)
    flow.is_enabled = enabled
    return flow


def enrol_from_event(*, event: DomainEvent, flows: Sequence[Flow] | None = None) -> int:
    """Enrol the event's customer in every enabled flow it triggers (or only in ``flows``)."""
    if flows is None:
        flows = list(Flow.objects.filter(shop_id=event.shop_id, trigger=event.name, is_enabled=True)
                     .prefetch_related("steps"))
    else:
        flows = [flow for flow in flows if flow.is_enabled and flow.trigger == event.name]
    if not flows:
        return 0
    customer, context = _event_customer(event)
    if customer is None:
        return 0
    enrolled = 0
    for flow in flows:
        if flow.settings.get("first_order_only") and not event.payload.get("is_first_order"):
            continue
        if enrol(flow=flow, customer=customer, trigger_key=event.key, at=event.occurred_at, context=context):
            enrolled += 1
    return enrolled


def enrol_from_events(*, events: Sequence[DomainEvent]) -> int:
    """``enrol_from_event`` for a run of one shop's events of one name: the flows they trigger
    are read once (one statement, and nothing more when no enabled flow starts on them)."""
    if not events:
        return 0
    flows = list(Flow.objects.filter(shop_id=events[0].shop_id, trigger=events[0].name, is_enabled=True)
                 .prefetch_related("steps"))
    if not flows:
        return 0
    return sum(enrol_from_event(event=event, flows=flows) for event in events)


def _event_customer(event: DomainEvent) -> tuple[Customer | None, dict]:
    """Who an event is about, and what its messages may mention."""
    payload = event.payload or {}
    if payload.get("order_id"):
        order = Order.objects.filter(shop_id=event.shop_id, pk=payload["order_id"]).select_related("customer").first()
        return (order.customer if order else None), {"order_id": payload["order_id"]}
    if payload.get("account_id"):
        from loyalty.models import Account

        account = Account.objects.filter(shop_id=event.shop_id, pk=payload["account_id"]).select_related(
            "customer").first()
        context = {key: payload[key] for key in ("points", "tier", "expires_at") if key in payload}
        return (account.customer if account else None), context
    if payload.get("customer_id"):
        return Customer.objects.filter(shop_id=event.shop_id, pk=payload["customer_id"]).first(), {}
    return None, {}


def vip_early_access_launch(*, shop: Shop, tiers: list[str], launch: str, at: datetime | None = None,
                            starts_at: datetime | None = None) -> int:
    """Enrol the members of the chosen tiers into the early-access flow for one launch.  With a
    start date the invitation is date-bound (it passes the frequency caps until that day ends)."""
    from loyalty.models import Account

    flow = flow_enable(shop=shop, key="vip_early_access")
    at = at or timezone.now()
    members = Account.objects.filter(shop=shop, tier__name__in=tiers, tier__scheme__is_active=True,
                                     customer__isnull=False).select_related("customer")
    enrolled = 0
    for account in members:
        if account.customer is not None and enrol(
            flow=flow, customer=account.customer, trigger_key=f"vip:{launch}:{account.customer_id}", at=at,
            context={"launch": launch, **({"starts_at": starts_at.isoformat()} if starts_at else {})},
        ):
            enrolled += 1
    return enrolled


# --- editing: every change is a new version -------------------------------------------------

MAX_STEPS = 10
MAX_DELAY_MINUTES = 365 * 24 * 60
STEP_FIELDS = ("delay_minutes", "action", "template", "is_marketing", "conditions", "config")
# The engine's exit conditions and the type of their value (segments: a segment key).
CONDITIONS: dict[str, type] = {"no_order_since_enrolment": bool, "segment": str, "not_segment": str}
# Action settings: (lowest, highest) whole numbers.  SMS carries no discount code.
CONFIG_RANGES = {
    StepAction.SEND_EMAIL: {"discount_percent": (1, 100), "discount_hours": (1, 90 * 24), "recommend": (1, 12),
                            "co_purchased": (1, 12)},
    StepAction.SEND_SMS: {"co_purchased": (1, 5)},
}
TRANSACTIONAL_TEMPLATES = {"order_thank_you"}  # the only ones that may go without marketing consent
NEEDS_PRODUCTS = {"upsell_sms"}  # templates that list the step's ``co_purchased`` products


def _invalid(message: str, field: str) -> ApplicationError:
    return ApplicationError(message, code="invalid", extra={"field": field})


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _settings_valid(flow: Flow, changes: dict) -> dict:
    """Only the settings the flow's preset has, of the same type (whole numbers above zero)."""
    if not isinstance(changes, dict):
        raise _invalid("settings must be an object", "settings")
    defaults = dict(PRESETS[flow.key]["settings"]) if flow.key in PRESETS else {}
    if flow.trigger == DomainEvent.Name.ORDER_PAID:
        defaults.setdefault("first_order_only", False)
    for name, value in changes.items():
        if name not in defaults:
            known = ", ".join(sorted(defaults)) or "none"
            raise _invalid(f"unknown setting {name!r} for {flow.key} (known: {known})", f"settings.{name}")
        expected = type(defaults[name])
        if expected is int and not (_whole(value) and value > 0):
            raise _invalid(f"{name} must be a whole number above zero", f"settings.{name}")
        if expected is not int and not isinstance(value, expected):
            raise _invalid(f"{name} must be a {expected.__name__}", f"settings.{name}")
    if flow.key == "holiday_greetings":
        return holidays.settings_valid(settings={**flow.settings, **changes})
    return {**flow.settings, **changes}


def _steps_valid(flow: Flow, steps: Any) -> list[dict]:
    if not isinstance(steps, list) or not steps:
        raise _invalid("a flow needs at least one step", "steps")
    if len(steps) > MAX_STEPS:
        raise _invalid(f"a flow has at most {MAX_STEPS} steps", "steps")
    return [_step_valid(flow, position, step) for position, step in enumerate(steps)]


def _step_valid(flow: Flow, position: int, step: Any) -> dict:
    where = f"steps[{position}]"
    if not isinstance(step, dict):
        raise _invalid(f"step {position + 1} must be an object", where)
    unknown = set(step) - set(STEP_FIELDS)
    if unknown:
        raise _invalid(f"step {position + 1}: unknown field {sorted(unknown)[0]!r}", where)
    fields = {"delay_minutes": step.get("delay_minutes", 0), "action": step.get("action", StepAction.SEND_EMAIL),
              "template": step.get("template", ""), "is_marketing": step.get("is_marketing", True),
              "conditions": step.get("conditions") or {}, "config": step.get("config") or {}}
    delay = fields["delay_minutes"]
    if not _whole(delay) or not 0 <= delay <= MAX_DELAY_MINUTES:
        raise _invalid(f"step {position + 1}: the delay must be 0 to {MAX_DELAY_MINUTES} minutes",
                       f"{where}.delay_minutes")
    action = fields["action"]
    if action not in StepAction.values:
        raise _invalid(f"step {position + 1}: unknown action {action!r} (known: {', '.join(StepAction.values)})",
                       f"{where}.action")
    known = email.templates() if action == StepAction.SEND_EMAIL else sms.templates()
    if fields["template"] not in known:
        raise _invalid(f"step {position + 1}: unknown template {fields['template']!r} for {action} "
                       f"(known: {', '.join(sorted(known))})", f"{where}.template")
    if not isinstance(fields["is_marketing"], bool):
        raise _invalid(f"step {position + 1}: is_marketing must be true or false", f"{where}.is_marketing")
    if not fields["is_marketing"] and fields["template"] not in TRANSACTIONAL_TEMPLATES:
        raise _invalid(f"step {position + 1}: {fields['template']} is marketing and needs the shopper's consent",
                       f"{where}.is_marketing")
    conditions, config = fields["conditions"], fields["config"]
    if not isinstance(conditions, dict) or any(name not in CONDITIONS or not isinstance(value, CONDITIONS[name])
                                                or value == "" for name, value in conditions.items()):
        allowed = ", ".join(f"{name} ({'true or false' if kind is bool else 'a segment key'})"
                            for name, kind in CONDITIONS.items())
        raise _invalid(f"step {position + 1}: conditions may be {allowed}", f"{where}.conditions")
    ranges = CONFIG_RANGES[StepAction(action)]
    if not isinstance(config, dict):
        raise _invalid(f"step {position + 1}: config must be an object", f"{where}.config")
    if action == StepAction.SEND_SMS and "texts" in config:
        texts = _sms_texts_valid(flow, position, config["texts"], fields["is_marketing"])
        config = {name: value for name, value in config.items() if name != "texts"}
        if texts:
            config["texts"] = texts
        fields["config"] = config
    for name, value in config.items():
        if name == "texts" and action == StepAction.SEND_SMS:
            continue
        if name not in ranges:
            raise _invalid(f"step {position + 1}: unknown setting {name!r} for {action} "
                           f"(known: {', '.join(sorted(ranges))})", f"{where}.config.{name}")
        low, high = ranges[name]
        if not _whole(value) or not low <= value <= high:
            raise _invalid(f"step {position + 1}: {name} must be a whole number from {low} to {high}",
                           f"{where}.config.{name}")
    if "discount_hours" in config and "discount_percent" not in config:
        raise _invalid(f"step {position + 1}: discount_hours needs discount_percent", f"{where}.config")
    if fields["template"] in NEEDS_PRODUCTS and not config.get("co_purchased"):
        raise _invalid(f"step {position + 1}: {fields['template']} needs co_purchased (how many products to offer)",
                       f"{where}.config.co_purchased")
    if config.get("co_purchased") and not flow.trigger.startswith("order."):
        raise _invalid(f"step {position + 1}: co_purchased needs a flow started by an order",
                       f"{where}.config.co_purchased")
    return fields


def _sms_texts_valid(flow: Flow, position: int, texts: Any, is_marketing: bool) -> dict[str, str]:
    """The merchant's SMS text per language: known languages, known placeholders, at most
    ``sms.MAX_SEGMENTS`` segments as sent (``sms.text_count``).  Empty texts are dropped (the
    template speaks for that language)."""
    where = f"steps[{position}].config.texts"
    if not isinstance(texts, dict):
        raise _invalid(f"step {position + 1}: texts must be an object: language -> text", where)
    kept = {}
    for language, text in texts.items():
        if language not in email.LANGUAGES:
            raise _invalid(f"step {position + 1}: unknown language {language!r} (known: "
                           f"{', '.join(sorted(email.LANGUAGES))})", f"{where}.{language}")
        if not isinstance(text, str):
            raise _invalid(f"step {position + 1}: the {language} text must be text", f"{where}.{language}")
        if not text.strip():
            continue
        if len(text) > sms.MAX_TEXT_CHARACTERS:
            raise _invalid(f"step {position + 1}: the {language} text is longer than {sms.MAX_TEXT_CHARACTERS} "
                           f"characters", f"{where}.{language}")
        unknown = sms.text_placeholders_unknown(text)
        if unknown:
            raise _invalid(f"step {position + 1}: unknown placeholder {{{unknown[0]}}} in the {language} text "
                           f"(known: {', '.join('{' + name + '}' for name in sms.PLACEHOLDERS)})",
                           f"{where}.{language}")
        count = sms.text_count(shop=flow.shop, text=text, language=language, is_marketing=is_marketing)
        if count.segments > sms.MAX_SEGMENTS:
            raise _invalid(f"step {position + 1}: the {language} text is {count.segments} SMS segments; "
                           f"at most {sms.MAX_SEGMENTS}", f"{where}.{language}")
        kept[language] = text.strip()
    return kept


def _fields(step: FlowStep) -> dict:
    return {name: getattr(step, name) for name in STEP_FIELDS}


def flow_edit(*, shop: Shop, key: str, settings: dict | None = None, steps: list[dict] | None = None) -> Flow:
    """Change a flow's settings and/or steps as a new version: new enrolments get the new steps,
    enrolments made before keep the steps (rows) they were scheduled with.  Unchanged input
    makes no version."""
    if settings is None and steps is None:
        raise _invalid("nothing to change: give settings or steps", "")
    flow = _flow(shop=shop, key=key)
    new_settings = _settings_valid(flow, settings) if settings is not None else None
    new_steps = _steps_valid(flow, steps) if steps is not None else None
    with transaction.atomic():
        flow = Flow.objects.select_for_update().get(pk=flow.pk)
        current = [_fields(step) for step in FlowStep.objects.filter(flow=flow, version=flow.version)]
        new_settings = flow.settings if new_settings is None else new_settings
        new_steps = current if new_steps is None else new_steps
        if new_settings == flow.settings and new_steps == current:
            return flow
        flow.version += 1
        flow.settings = new_settings
        flow.save(update_fields=["version", "settings"])
        FlowStep.objects.bulk_create([FlowStep(flow=flow, version=flow.version, position=position, **fields)
                                      for position, fields in enumerate(new_steps)])
    return flow


# --- preview for one customer: render and decide, write nothing ------------------------------

PREVIEW_CODE = "PREVIEW-CODE"  # shown where a real single-use code would be: the preview creates none
# Shown where the message names something only the trigger knows (no such event for this customer).
PREVIEW_SAMPLES = {"points": 100, "tier": "Gold", "launch": "New collection", "product": "your favourite product",
                   "holiday": "the holidays"}


def flow_preview(*, shop: Shop, key: str, customer: Customer, now: datetime | None = None) -> list[dict[str, Any]]:
    """Each step of the current version as this customer would get it if it ran now: channel,
    language, subject, text (and HTML), products, the discount (a placeholder code), and the
    engine's decision.  Sends nothing, creates no code, writes no Message or Enrolment."""
    if customer.shop_id != shop.pk:
        raise ApplicationError("customer not found", status=404, code="not_found")
    flow = _flow(shop=shop, key=key)
    now = now or timezone.now()
    values = {**PREVIEW_SAMPLES, **_preview_values(flow=flow, customer=customer, now=now)}
    rows = []
    for step in steps_for_new_enrolment(flow):
        channel = channel_for(step)
        decision = decide(step=step, customer=customer, now=now,
                          timing=timing_for(flow=flow, step=step, customer=customer, context=values, first_due=now))
        exit_reason = customer_exit_reason(step=step, customer=customer)
        if exit_reason:
            decision = Decision("exit", exit_reason)
        with_discount = channel == Channel.EMAIL and email.discount_planned(step)
        ends = email.discount_ends(step, now) if with_discount else None
        try:
            if channel == Channel.EMAIL:
                rendered = email.render(step=step, customer=customer, values=dict(values),
                                        code=PREVIEW_CODE if with_discount else "", ends=ends)
            else:
                rendered = sms.render(step=step, customer=customer, values=dict(values))
        except email.NothingToSend as nothing:
            rendered = email.Rendered(language=email.language_for(customer), subject="", text="")
            if decision.action == "send":
                decision = Decision("skip", nothing.reason)
        rows.append({
            "position": step.position, "delay_minutes": step.delay_minutes, "channel": channel,
            "template": step.template, "is_marketing": step.is_marketing, "language": rendered.language,
            "subject": rendered.subject, "text": rendered.text, "html": rendered.html,
            "products": [_product(variant) for variant in rendered.products],
            "discount": {"would_create": with_discount, "code": PREVIEW_CODE if with_discount else "",
                         "percent": (step.config or {}).get("discount_percent") if with_discount else None,
                         "ends_at": ends.isoformat() if ends else None},
            "decision": {"action": decision.action, "reason": decision.reason,
                         "until": decision.until.astimezone(UTC).isoformat() if decision.until else None},
        })
    return rows


def _product(variant: Variant) -> dict[str, str]:
    return {"product_platform_id": variant.product.platform_id, "variant_platform_id": variant.platform_id,
            "title": variant.product.title, "price": str(variant.price), "currency": variant.currency}


def _preview_values(*, flow: Flow, customer: Customer, now: datetime) -> dict[str, Any]:
    """What an enrolment of this customer would carry: their latest order for order flows, their
    latest event for loyalty flows, the next holiday, the product they last bought."""
    orders = Order.objects.filter(shop_id=customer.shop_id, customer=customer, cancelled_at__isnull=True)
    if flow.trigger.startswith("order."):
        order_id = orders.order_by("-processed_at").values_list("pk", flat=True).first()
        return {"order_id": order_id} if order_id else {}
    if flow.trigger.startswith("loyalty."):
        from loyalty.models import Account

        account_id = Account.objects.filter(shop_id=customer.shop_id, customer=customer).values_list(
            "pk", flat=True).first()
        event = (DomainEvent.objects.filter(shop_id=customer.shop_id, name=flow.trigger,
                                            payload__account_id=account_id).order_by("-occurred_at").first()
                 if account_id else None)
        return _event_customer(event)[1] if event else {}
    if flow.key == "holiday_greetings":
        return holidays.next_greeting(flow=flow, day=now.date())
    if flow.key == "replenishment":
        from commerce.models import OrderLine

        title = (OrderLine.objects.filter(shop_id=customer.shop_id, order__customer=customer)
                 .order_by("-order__processed_at").values_list("title", flat=True).first())
        return {"product": title} if title else {}
    return {}


# --- apply a flow to recent history -------------------------------------------------------------

HISTORY_MAX_DAYS = 90


def flow_apply_history_dry_run(*, shop: Shop, key: str, days: int, now: datetime | None = None) -> int:
    """How many ``flow_apply_history`` would enrol now: the same replay in a transaction that is
    rolled back (nothing stays written, nothing is sent: sending is the scheduler's, later)."""
    with transaction.atomic():
        enrolled = flow_apply_history(shop=shop, key=key, days=days, now=now)
        transaction.set_rollback(True)
    return enrolled


def flow_apply_history(*, shop: Shop, key: str, days: int, now: datetime | None = None) -> int:
    """Replay the shop's events of the flow's trigger from the last ``days`` days (at most 90)
    through the normal enrolment, into this flow only.  Delays count from each event; steps
    already due run at the next scheduler tick under the usual rules (consent, caps, quiet hours,
    stale).  Idempotent: an event enrols once per flow (its key is the trigger key)."""
    flow = _flow(shop=shop, key=key)
    if flow.trigger.startswith("schedule:") or flow.trigger == "manual":
        raise ApplicationError(f"{key} is not started by store events: there is no history to apply",
                               code="not_event_triggered")
    if not flow.is_enabled:
        raise ApplicationError("the flow is paused: switch it on before applying it to recent history",
                               status=409, code="flow_paused")
    if days < 1:
        raise _invalid("days must be at least 1", "days")
    now = now or timezone.now()
    since = now - timedelta(days=min(days, HISTORY_MAX_DAYS))
    flow = Flow.objects.prefetch_related("steps").get(pk=flow.pk)
    events = DomainEvent.objects.filter(shop=shop, name=flow.trigger, occurred_at__gt=since,
                                        occurred_at__lte=now).order_by("occurred_at", "pk")
    enrolled = sum(enrol_from_event(event=event, flows=[flow]) for event in events.iterator())
    # Orders that came with the synced history have no events (history is not news): their
    # would-be events carry the same keys, so an order enrols once however it is found.
    orders = Order.objects.filter(shop=shop, customer__isnull=False, cancelled_at__isnull=True, is_test=False)
    if flow.trigger == DomainEvent.Name.ORDER_PAID:
        orders = orders.filter(counted_order_q(), processed_at__gt=since, processed_at__lte=now)
    elif flow.trigger == DomainEvent.Name.ORDER_FULFILLED:
        orders = orders.filter(fulfillment_status=FulfillmentStatus.FULFILLED, platform_updated_at__gt=since,
                               platform_updated_at__lte=now)
    else:
        return enrolled
    for found in orders.order_by("processed_at", "pk").iterator():
        event = order_event_for_history(order=found, name=flow.trigger)
        enrolled += enrol_from_event(event=event, flows=[flow])
    return enrolled
