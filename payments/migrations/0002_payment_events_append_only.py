"""A payment's event history is append-only in the database itself (the ledger's trigger)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("payments", "0001_initial"), ("wallet", "0002_append_only_ledger")]

    operations = [
        migrations.RunSQL(
            "CREATE TRIGGER payments_paymentevent_append_only BEFORE UPDATE OR DELETE "
            "ON payments_paymentevent FOR EACH ROW EXECUTE FUNCTION wallet_append_only();",
            "DROP TRIGGER payments_paymentevent_append_only ON payments_paymentevent;",
        )
    ]
