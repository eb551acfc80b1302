"""Data: the preset flows for shops installed before presets were made at install.

Reads no longer create presets (a page view writes nothing), so the shops installed earlier get
them here, switched off.  ``PRESETS`` is a frozen copy of ``campaigns.services.flows.PRESETS`` as
of this migration: later edits of the presets do not change what it did (a preset added later
needs its own data migration).  Idempotent: a shop's existing flows are kept.
"""

from django.db import migrations

PRESETS = {
    "order_thank_you": {
        "name": "Order follow-up: thank you",
        "trigger": "order.paid",
        "settings": {},
        "steps": [{"delay_minutes": 0, "template": "order_thank_you", "is_marketing": False}],
    },
    "bounce_back": {
        "name": "Bounce-back after the first order",
        "trigger": "order.paid",
        "settings": {"first_order_only": True},
        "steps": [
            {
                "delay_minutes": 0,
                "template": "bounce_back",
                "is_marketing": True,
                "config": {"discount_percent": 10, "discount_hours": 12, "recommend": 3},
            }
        ],
    },
    "review_request": {
        "name": "Order follow-up: how was it? (review request)",
        "trigger": "order.fulfilled",
        "settings": {},
        "steps": [{"delay_minutes": 10080, "template": "review_request", "is_marketing": True}],
    },
    "birthday": {
        "name": "Birthday greeting with a gift",
        "trigger": "schedule:daily",
        "settings": {},
        "steps": [
            {
                "delay_minutes": 0,
                "template": "birthday",
                "is_marketing": True,
                "config": {"discount_percent": 15, "discount_hours": 168},
            }
        ],
    },
    "anniversary": {
        "name": "First-order anniversary",
        "trigger": "schedule:daily",
        "settings": {},
        "steps": [
            {
                "delay_minutes": 0,
                "template": "anniversary",
                "is_marketing": True,
                "config": {"discount_percent": 10, "discount_hours": 168},
            }
        ],
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
        "settings": {"calendars": ["IL"], "occasions": {}, "custom": []},
        "steps": [{"delay_minutes": 0, "template": "holiday", "is_marketing": True}],
    },
    "replenishment": {
        "name": "Replenishment reminder",
        "trigger": "schedule:daily",
        "settings": {"cycles": {}, "min_repurchases": 5, "max_cycle_days": 120},
        "steps": [
            {
                "delay_minutes": 0,
                "template": "replenishment",
                "is_marketing": True,
                "config": {"discount_percent": 10, "discount_hours": 168},
            }
        ],
    },
    "vip_early_access": {
        "name": "VIP early access",
        "trigger": "manual",
        "settings": {},
        "steps": [
            {
                "delay_minutes": 0,
                "template": "vip_early_access",
                "is_marketing": True,
                "config": {"discount_percent": 15, "discount_hours": 48},
            }
        ],
    },
    "review_reward": {
        "name": "Thank you for your review (discount on the next order)",
        "trigger": "loyalty.review_recorded",
        "settings": {},
        "steps": [
            {
                "delay_minutes": 0,
                "template": "review_reward",
                "is_marketing": True,
                "config": {"discount_percent": 10, "discount_hours": 168},
            }
        ],
    },
    "post_purchase_upsell": {
        "name": "Post-purchase upsell by SMS",
        "trigger": "order.paid",
        "settings": {},
        "steps": [
            {
                "delay_minutes": 0,
                "action": "send_sms",
                "template": "upsell_sms",
                "is_marketing": True,
                "config": {"co_purchased": 1},
            }
        ],
    },
    "winback": {
        "name": "Win-back: we miss you",
        "trigger": "schedule:daily",
        "settings": {"inactive_days": 180},
        "steps": [
            {
                "delay_minutes": 0,
                "template": "winback",
                "is_marketing": True,
                "conditions": {"no_order_since_enrolment": True},
                "config": {"discount_percent": 15, "discount_hours": 72},
            }
        ],
    },
}

BATCH = 500


def presets_create(apps, schema_editor):
    Shop = apps.get_model("commerce", "Shop")
    Flow = apps.get_model("campaigns", "Flow")
    FlowStep = apps.get_model("campaigns", "FlowStep")
    shop_ids = list(Shop.objects.filter(status="installed").order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(shop_ids), BATCH):
        batch = shop_ids[start : start + BATCH]
        existing = set(Flow.objects.filter(shop_id__in=batch).values_list("shop_id", "key"))
        missing = [(shop_id, key) for shop_id in batch for key in PRESETS if (shop_id, key) not in existing]
        Flow.objects.bulk_create(
            [
                Flow(
                    shop_id=shop_id,
                    key=key,
                    name=PRESETS[key]["name"],
                    trigger=PRESETS[key]["trigger"],
                    settings=PRESETS[key]["settings"],
                    is_enabled=False,
                    version=1,
                )
                for shop_id, key in missing
            ]
        )
        wanted = set(missing)
        made = [
            flow
            for flow in Flow.objects.filter(shop_id__in=batch, key__in=list(PRESETS))
            if (flow.shop_id, flow.key) in wanted
        ]
        FlowStep.objects.bulk_create(
            [
                FlowStep(flow_id=flow.pk, version=1, position=position, **step)
                for flow in made
                for position, step in enumerate(PRESETS[flow.key]["steps"])
            ]
        )


class Migration(migrations.Migration):
    dependencies = [
        ("commerce", "0006_shop_storefront_url"),
        ("campaigns", "0006_consent_ledger_from_unsubscribes"),
    ]

    operations = [migrations.RunPython(presets_create, migrations.RunPython.noop)]
