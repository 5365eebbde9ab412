"""Cash movements are append-only in the database itself (the ledger's trigger)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("tills", "0001_initial"), ("wallet", "0002_append_only_ledger")]

    operations = [
        migrations.RunSQL(
            "CREATE TRIGGER tills_cashmovement_append_only BEFORE UPDATE OR DELETE "
            "ON tills_cashmovement FOR EACH ROW EXECUTE FUNCTION wallet_append_only();",
            "DROP TRIGGER tills_cashmovement_append_only ON tills_cashmovement;",
        )
    ]
