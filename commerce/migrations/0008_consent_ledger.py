import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("commerce", "0007_shop_expiring_tokens"),
    ]

    operations = [
        migrations.CreateModel(
            name="ConsentChange",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("channel", models.CharField(choices=[("email", "Email"), ("sms", "SMS")], max_length=10)),
                (
                    "state",
                    models.CharField(
                        choices=[
                            ("subscribed", "Subscribed"),
                            ("not_subscribed", "Not subscribed"),
                            ("unsubscribed", "Unsubscribed"),
                            ("pending", "Pending confirmation"),
                        ],
                        max_length=20,
                    ),
                ),
                (
                    "source",
                    models.CharField(
                        choices=[
                            ("unsubscribe_link", "Unsubscribe link"),
                            ("sms_stop", "STOP reply"),
                            ("sms_start", "START reply"),
                            ("bounce", "Bounce or complaint"),
                            ("platform", "Store (platform)"),
                            ("widget", "Storefront widget"),
                            ("merchant", "Merchant"),
                            ("import", "Import"),
                        ],
                        max_length=20,
                    ),
                ),
                ("at", models.DateTimeField()),
                ("detail", models.CharField(blank=True, max_length=200)),
                ("recorded_at", models.DateTimeField(auto_now_add=True)),
                ("platform_synced_at", models.DateTimeField(blank=True, null=True)),
                (
                    "customer",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="consent_changes",
                        to="commerce.customer",
                    ),
                ),
                (
                    "shop",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="commerce.shop",
                    ),
                ),
            ],
            options={
                "indexes": [
                    models.Index(
                        fields=["shop", "customer", "channel", "at"], name="consentchange_latest_idx"
                    )
                ],
            },
        ),
    ]
