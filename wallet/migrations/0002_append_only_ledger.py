"""Ledger rows are append-only in the database itself: UPDATE and DELETE on transfers, entries
and loyalty lots raise, whoever issues them (ORM, raw SQL, admin)."""

from django.db import migrations

TABLES = ("wallet_transfer", "wallet_entry", "wallet_loyaltylot")

FUNCTION = """
CREATE OR REPLACE FUNCTION wallet_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% rows are append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;
"""


def _trigger(table: str) -> str:
    return (
        f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
        "FOR EACH ROW EXECUTE FUNCTION wallet_append_only();"
    )


class Migration(migrations.Migration):
    dependencies = [("wallet", "0001_initial")]

    operations = [
        migrations.RunSQL(FUNCTION, "DROP FUNCTION wallet_append_only();"),
        *(
            migrations.RunSQL(_trigger(table), f"DROP TRIGGER {table}_append_only ON {table};")
            for table in TABLES
        ),
    ]
