"""Flow presets (created switched off) and enrolment from domain events."""

from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from campaigns.models import Flow, FlowStep
from campaigns.services.engine import enrol
from commerce.models import Customer, DomainEvent, Order, Shop
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
        # Calendars from the maintained `holidays` library (ISO country codes: IL for Israel and the
        # Jewish holidays, IR for Iran with Nowruz, ...) plus the merchant's own dates ("MM-DD").
        "settings": {"calendars": ["IL"], "custom": []},
        "steps": [{"delay_minutes": 0, "template": "holiday", "is_marketing": True}],
    },
    "replenishment": {
        "name": "Replenishment reminder",
        "trigger": "schedule:daily",
        # Per-product use cycles in days set by the merchant ({"<product id>": 60}); products
        # without one use the shop's own median repurchase interval when there is enough history.
        "settings": {"cycles": {}, "min_repurchases": 5},
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
    "winback": {
        "name": "Win-back: we miss you",
        "trigger": "schedule:daily",
        "settings": {"inactive_days": 180},
        "steps": [{"delay_minutes": 0, "template": "winback", "is_marketing": True,
                   "conditions": {"no_order_since_enrolment": True},
                   "config": {"discount_percent": 15, "discount_hours": 72}}],
    },
}


def flows_for(*, shop: Shop) -> list[Flow]:
    """The shop's flows; a new shop gets the presets, switched off until the merchant turns them on."""
    existing = {flow.key for flow in Flow.objects.filter(shop=shop)}
    for key, preset in PRESETS.items():
        if key in existing:
            continue
        try:
            with transaction.atomic():
                flow = Flow.objects.create(shop=shop, key=key, name=preset["name"], trigger=preset["trigger"],
                                           settings=preset["settings"])
                for position, step in enumerate(preset["steps"]):
                    FlowStep.objects.create(flow=flow, position=position, **step)
        except IntegrityError:
            continue
    return list(Flow.objects.filter(shop=shop).order_by("key"))


def flow_enable(*, shop: Shop, key: str, enabled: bool = True) -> Flow:
    if key not in PRESETS:
        raise ApplicationError("unknown flow", status=404, code="not_found")
    flows_for(shop=shop)
    Flow.objects.filter(shop=shop, key=key).update(is_enabled=enabled)
    return Flow.objects.get(shop=shop, key=key)


def enrol_from_event(*, event: DomainEvent) -> int:
    flows = Flow.objects.filter(shop_id=event.shop_id, trigger=event.name, is_enabled=True).prefetch_related("steps")
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
        context = {key: payload[key] for key in ("points", "tier") if key in payload}
        return (account.customer if account else None), context
    if payload.get("customer_id"):
        return Customer.objects.filter(shop_id=event.shop_id, pk=payload["customer_id"]).first(), {}
    return None, {}


def vip_early_access_launch(*, shop: Shop, tiers: list[str], launch: str, at: datetime | None = None) -> int:
    """Enrol the members of the chosen tiers into the early-access flow for one launch."""
    from loyalty.models import Account

    flow = flow_enable(shop=shop, key="vip_early_access")
    at = at or timezone.now()
    members = Account.objects.filter(shop=shop, tier__name__in=tiers, tier__scheme__is_active=True,
                                     customer__isnull=False).select_related("customer")
    enrolled = 0
    for account in members:
        if account.customer is not None and enrol(
            flow=flow, customer=account.customer, trigger_key=f"vip:{launch}:{account.customer_id}", at=at,
            context={"launch": launch},
        ):
            enrolled += 1
    return enrolled
