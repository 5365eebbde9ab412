"""Every payment event names who acted (config.actors); older rows were written by the engine
before actors were recorded, so they are attributed to the migration itself."""

from django.db import migrations, models

import config.actors


class Migration(migrations.Migration):
    dependencies = [("payments", "0002_payment_events_append_only")]

    operations = [
        migrations.AddField(
            model_name="paymentevent",
            name="actor",
            field=models.CharField(
                default="system:migration",
                help_text="Who acted, in config.actors' format.",
                max_length=200,
            ),
            preserve_default=False,
        ),
        migrations.AddConstraint(
            model_name="paymentevent",
            constraint=models.CheckConstraint(
                condition=models.Q(actor__regex=config.actors.ACTOR_PATTERN),
                name="payment_event_actor_valid",
            ),
        ),
    ]
