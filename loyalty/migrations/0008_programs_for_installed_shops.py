"""Data: the loyalty program with its defaults (switched off) for shops installed before programs
were made at install (reads no longer create it: a page view writes nothing).

The defaults are a frozen copy of ``loyalty/services/program.py`` as of this migration.  Only
shops without a program get one, with its earning rules, the first tier scheme, the rewards and
the badges; anything of those a shop already has is kept.  Idempotent.
"""

from decimal import Decimal

from django.db import migrations

RULE_POINTS = {
    "purchase": 0,
    "signup": 50,
    "birthday": 100,
    "review": 25,
    "survey": 20,
    "referral_referrer": 200,
    "referral_friend": 100,
    "social_follow": 10,
    "social_share": 10,
}
TIERS = (
    ("Bronze", Decimal("0"), Decimal("1")),
    ("Silver", Decimal("500"), Decimal("1.25")),
    ("Gold", Decimal("1500"), Decimal("1.5")),
)
REWARDS = (
    ("5 off your order", "fixed_amount", 100, Decimal("5")),
    ("10% off your order", "percentage", 250, Decimal("10")),
    ("Free shipping", "free_shipping", 150, Decimal("0")),
)
BADGES = (
    ("member", "Member", 1, 0),
    ("partner", "Partner", 1, 50),
    ("first_review", "First review", 1, 10),
    ("orders", "5 orders", 5, 100),
)
BATCH = 500


def programs_create(apps, schema_editor):
    Shop = apps.get_model("commerce", "Shop")
    Program = apps.get_model("loyalty", "Program")
    EarningRule = apps.get_model("loyalty", "EarningRule")
    TierScheme = apps.get_model("loyalty", "TierScheme")
    Tier = apps.get_model("loyalty", "Tier")
    Reward = apps.get_model("loyalty", "Reward")
    Badge = apps.get_model("loyalty", "Badge")
    shop_ids = list(
        Shop.objects.filter(status="installed")
        .exclude(pk__in=Program.objects.values("shop_id"))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    for start in range(0, len(shop_ids), BATCH):
        batch = shop_ids[start : start + BATCH]
        Program.objects.bulk_create([Program(shop_id=shop_id, is_enabled=False) for shop_id in batch])
        rules = set(EarningRule.objects.filter(shop_id__in=batch).values_list("shop_id", "kind"))
        EarningRule.objects.bulk_create(
            [
                EarningRule(shop_id=shop_id, kind=kind, points=points)
                for shop_id in batch
                for kind, points in RULE_POINTS.items()
                if (shop_id, kind) not in rules
            ]
        )
        with_schemes = set(TierScheme.objects.filter(shop_id__in=batch).values_list("shop_id", flat=True))
        TierScheme.objects.bulk_create(
            [TierScheme(shop_id=shop_id, version=1, is_active=True) for shop_id in batch if shop_id not in with_schemes]
        )
        schemes = TierScheme.objects.filter(shop_id__in=[s for s in batch if s not in with_schemes], version=1)
        Tier.objects.bulk_create(
            [
                Tier(
                    shop_id=scheme.shop_id,
                    scheme_id=scheme.pk,
                    name=name,
                    threshold=threshold,
                    earn_multiplier=multiplier,
                    perks={"free_shipping": name == "Gold", "early_access": name != "Bronze"},
                )
                for scheme in schemes
                for name, threshold, multiplier in TIERS
            ]
        )
        with_rewards = set(Reward.objects.filter(shop_id__in=batch).values_list("shop_id", flat=True))
        Reward.objects.bulk_create(
            [
                Reward(shop_id=shop_id, name=name, kind=kind, points_cost=cost, value=value)
                for shop_id in batch
                if shop_id not in with_rewards
                for name, kind, cost, value in REWARDS
            ]
        )
        badges = set(Badge.objects.filter(shop_id__in=batch).values_list("shop_id", "name"))
        Badge.objects.bulk_create(
            [
                Badge(shop_id=shop_id, kind=kind, name=name, threshold=threshold, points=points)
                for shop_id in batch
                for kind, name, threshold, points in BADGES
                if (shop_id, name) not in badges
            ]
        )


class Migration(migrations.Migration):
    dependencies = [
        ("commerce", "0006_shop_storefront_url"),
        ("loyalty", "0007_ledger_occurred_at"),
    ]

    operations = [migrations.RunPython(programs_create, migrations.RunPython.noop)]
