from django.db import migrations

SOURCES = {"email_link": "unsubscribe_link", "list_unsubscribe": "unsubscribe_link", "sms_stop": "sms_stop",
           "bounce": "bounce", "complaint": "bounce", "rejected": "bounce"}


def unsubscribes_into_the_ledger(apps, schema_editor):
    """Opt-outs kept before the consent ledger: one ledger change each (not yet written back to
    the store), and the customer's state set to unsubscribed."""
    Unsubscribe = apps.get_model("campaigns", "Unsubscribe")
    ConsentChange = apps.get_model("commerce", "ConsentChange")
    Customer = apps.get_model("commerce", "Customer")
    rows = list(Unsubscribe.objects.all())
    ConsentChange.objects.bulk_create([
        ConsentChange(shop_id=row.shop_id, customer_id=row.customer_id, channel=row.channel, state="unsubscribed",
                      source=SOURCES.get(row.source, "unsubscribe_link"), at=row.created_at, detail=row.source)
        for row in rows
    ])
    for channel, field in (("email", "email_consent"), ("sms", "sms_consent")):
        ids = [row.customer_id for row in rows if row.channel == channel]
        Customer.objects.filter(pk__in=ids).update(**{field: "unsubscribed"})


class Migration(migrations.Migration):

    dependencies = [
        ("campaigns", "0005_message_priority"),
        ("commerce", "0008_consent_ledger"),
    ]

    operations = [
        migrations.RunPython(unsubscribes_into_the_ledger, migrations.RunPython.noop),
        migrations.DeleteModel(name="Unsubscribe"),
    ]
