"""Who acted on a transfer, in one format (config.actors), enforced by a CHECK.

Transfers are append-only (a trigger refuses UPDATE), so the rows written before the format
existed are rewritten with the trigger disabled for this one statement (ALTER TABLE needs no
deferred constraint checks pending, hence SET CONSTRAINTS ALL IMMEDIATE first). `expiry` was
the expiry tasks and `admin:<user>` the admin; anything else not in the format (blank, an API
key's name) becomes `system:legacy`. The reference grows to hold `api_key:<pk>:<Idempotency-Key>`.
"""

from django.db import migrations, models

# config.actors.ACTOR_PATTERN when this was written (a migration does not follow later edits).
ACTOR_PATTERN = r"^(api_key|user|system|customer):[^\s].{0,190}$"

REWRITE = f"""
SET CONSTRAINTS ALL IMMEDIATE;
ALTER TABLE wallet_transfer DISABLE TRIGGER wallet_transfer_append_only;
UPDATE wallet_transfer SET actor = CASE
    WHEN actor = 'expiry' THEN 'system:expiry'
    WHEN actor ~ '^admin:[^\\s]' THEN 'user:' || substr(actor, 7)
    ELSE 'system:legacy'
END
WHERE actor !~ '{ACTOR_PATTERN}';
ALTER TABLE wallet_transfer ENABLE TRIGGER wallet_transfer_append_only;
"""


class Migration(migrations.Migration):
    dependencies = [("wallet", "0002_append_only_ledger")]

    operations = [
        migrations.RunSQL(REWRITE, migrations.RunSQL.noop),
        migrations.AlterField(
            model_name="transfer",
            name="actor",
            field=models.CharField(
                help_text="Who acted, in the config.actors format.", max_length=200
            ),
        ),
        migrations.AlterField(
            model_name="transfer",
            name="reference",
            field=models.CharField(blank=True, db_index=True, max_length=300),
        ),
        migrations.AddConstraint(
            model_name="transfer",
            constraint=models.CheckConstraint(
                condition=models.Q(("actor__regex", ACTOR_PATTERN)),
                name="transfer_actor_format",
            ),
        ),
    ]
