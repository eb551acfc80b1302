from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("commerce", "0005_domainevent_history_synced"),
    ]

    operations = [
        migrations.AddField(
            model_name="shop",
            name="storefront_url",
            field=models.URLField(blank=True, max_length=255),
        ),
    ]
