"""Ledger entries get ``occurred_at``: when what they record happened.

Existing rows are dated set-based (one UPDATE per kind of source): purchase points by their order's
date (processed, else created on the platform), refund reversals by the refund's date,
cancellation reversals by the cancellation's; every other row, and any row whose source is gone,
by ``created_at``.  A reverse migration only drops the column.
"""

import django.utils.timezone
from django.db import migrations, models
from django.db.models import F, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce, Substr

REFUND_KEY = "reverse:refund:"


def _date_from_sources(apps, schema_editor):
    LedgerEntry = apps.get_model("loyalty", "LedgerEntry")
    Order = apps.get_model("commerce", "Order")
    Refund = apps.get_model("commerce", "Refund")
    entries = LedgerEntry.objects.using(schema_editor.connection.alias)
    from_sources = Q(kind="earn", source="order") | Q(kind="reverse", source__in=["refund", "cancellation"])
    entries.exclude(from_sources).update(occurred_at=F("created_at"))
    order = Order.objects.filter(shop_id=OuterRef("shop_id"), platform_id=OuterRef("source_id"))
    entries.filter(kind="earn", source="order").update(occurred_at=Coalesce(
        Subquery(order.values("processed_at")[:1]), Subquery(order.values("platform_created_at")[:1]),
        F("created_at")))
    # the key is "reverse:refund:<refund's platform id>": the refund is found by its unique index
    refund = Refund.objects.filter(shop_id=OuterRef("shop_id"),
                                   platform_id=Substr(OuterRef("idempotency_key"), len(REFUND_KEY) + 1))
    entries.filter(kind="reverse", source="refund").update(occurred_at=Coalesce(
        Subquery(refund.values("processed_at")[:1]), F("created_at")))
    entries.filter(kind="reverse", source="cancellation").update(occurred_at=Coalesce(
        Subquery(order.values("cancelled_at")[:1]), F("created_at")))


class Migration(migrations.Migration):

    dependencies = [
        ("commerce", "0005_domainevent_history_synced"),
        ("loyalty", "0006_program_point_value_decimal"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="ledgerentry",
            name="loyalty_led_shop_id_90dcb9_idx",
        ),
        # (every row gets the migration's time here, then its own date just below)
        migrations.AddField(
            model_name="ledgerentry",
            name="occurred_at",
            field=models.DateTimeField(default=django.utils.timezone.now),
        ),
        migrations.RunPython(_date_from_sources, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="ledgerentry",
            index=models.Index(fields=["shop", "occurred_at"], name="loyalty_led_shop_id_afa0c7_idx"),
        ),
    ]
