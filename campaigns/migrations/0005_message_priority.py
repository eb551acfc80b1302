
from django.db import migrations, models
from django.db.models import F

DATE_BOUND_FLOWS = ["holiday_greetings", "birthday", "anniversary", "loyalty_points_expiring"]


def existing_steps_placed(apps, schema_editor):
    """Rows scheduled before: first due when they were last planned (close enough for their order)
    and their priority from the flow's kind, as ``engine.message_priority`` gives it."""
    ScheduledStep = apps.get_model("campaigns", "ScheduledStep")
    ScheduledStep.objects.filter(first_due_at__isnull=True).update(first_due_at=F("due_at"))
    ScheduledStep.objects.filter(step__is_marketing=False).update(priority=1)
    ScheduledStep.objects.filter(step__is_marketing=True, step__flow__key__in=DATE_BOUND_FLOWS).update(priority=2)


class Migration(migrations.Migration):

    dependencies = [
        ('campaigns', '0004_flow_versions'),
    ]

    operations = [
        migrations.AddField(
            model_name='scheduledstep',
            name='first_due_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='scheduledstep',
            name='priority',
            field=models.PositiveSmallIntegerField(
                choices=[(1, 'Transactional'), (2, 'Date-bound'), (3, 'Marketing')], default=3),
        ),
        migrations.AddField(
            model_name='scheduledstep',
            name='reason_code',
            field=models.CharField(blank=True, choices=[
                ('frequency_cap', 'Frequency cap'), ('quiet_hours', 'Quiet hours'),
                ('sending_failed', 'Sending failed, retrying'), ('no_address', 'No address'),
                ('no_consent', 'No marketing consent'), ('duplicate', 'Sent recently'),
                ('moment_passed', 'Its day had passed'), ('stale', 'Too late'),
                ('waited_too_long', 'No room under the caps for too long'), ('nothing_to_send', 'Nothing to offer'),
                ('exited', 'Left the flow')], max_length=30),
        ),
        migrations.RunPython(existing_steps_placed, migrations.RunPython.noop),
    ]
