"""Data: segment settings and the predefined segments for shops installed before they were
made at install (reads no longer create them).  The keys and names are frozen here as of this
migration (names in English, as a recompute outside a request writes them).  Idempotent.
"""

from django.db import migrations

PREDEFINED = (
    ("top_spenders", "Top spenders"),
    ("loyal", "Loyal repeat buyers"),
    ("one_time", "One-time buyers"),
    ("at_risk", "At risk"),
    ("churned", "Churned"),
    ("new", "New customers"),
)


def defaults_create(apps, schema_editor):
    Shop = apps.get_model("commerce", "Shop")
    Segment = apps.get_model("segments", "Segment")
    SegmentSettings = apps.get_model("segments", "SegmentSettings")
    installed = Shop.objects.filter(status="installed")
    without_settings = installed.exclude(pk__in=SegmentSettings.objects.values("shop_id"))
    SegmentSettings.objects.bulk_create(
        [SegmentSettings(shop_id=shop_id) for shop_id in without_settings.values_list("pk", flat=True)],
        batch_size=1000,
    )
    for key, name in PREDEFINED:
        without = installed.exclude(pk__in=Segment.objects.filter(key=key).values("shop_id"))
        Segment.objects.bulk_create(
            [
                Segment(shop_id=shop_id, key=key, name=name, kind="predefined")
                for shop_id in without.values_list("pk", flat=True)
            ],
            batch_size=1000,
        )


class Migration(migrations.Migration):
    dependencies = [
        ("commerce", "0006_shop_storefront_url"),
        ("segments", "0001_initial"),
    ]

    operations = [migrations.RunPython(defaults_create, migrations.RunPython.noop)]
