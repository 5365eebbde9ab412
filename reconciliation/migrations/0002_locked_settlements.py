"""A reconciled settlement, its lines and its adjustments cannot change in the database itself."""

from django.db import migrations

SQL = """
CREATE FUNCTION reconciliation_settlement_locked() RETURNS trigger AS $$
BEGIN
    IF OLD.status IN ('reconciled', 'reconciled_with_differences') THEN
        RAISE EXCEPTION 'settlement % is reconciled: locked', OLD.id;
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END;
$$ LANGUAGE plpgsql;

CREATE FUNCTION reconciliation_child_locked() RETURNS trigger AS $$
BEGIN
    IF EXISTS (
        SELECT 1 FROM reconciliation_settlement
        WHERE id = OLD.settlement_id AND status IN ('reconciled', 'reconciled_with_differences')
    ) THEN
        RAISE EXCEPTION 'settlement % is reconciled: locked', OLD.settlement_id;
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER reconciliation_settlement_locked BEFORE UPDATE OR DELETE
    ON reconciliation_settlement FOR EACH ROW EXECUTE FUNCTION reconciliation_settlement_locked();
CREATE TRIGGER reconciliation_line_locked BEFORE UPDATE OR DELETE
    ON reconciliation_settlementline FOR EACH ROW EXECUTE FUNCTION reconciliation_child_locked();
CREATE TRIGGER reconciliation_adjustment_locked BEFORE UPDATE OR DELETE
    ON reconciliation_settlementadjustment FOR EACH ROW
    EXECUTE FUNCTION reconciliation_child_locked();
"""

REVERSE = """
DROP TRIGGER reconciliation_adjustment_locked ON reconciliation_settlementadjustment;
DROP TRIGGER reconciliation_line_locked ON reconciliation_settlementline;
DROP TRIGGER reconciliation_settlement_locked ON reconciliation_settlement;
DROP FUNCTION reconciliation_child_locked();
DROP FUNCTION reconciliation_settlement_locked();
"""


class Migration(migrations.Migration):
    dependencies = [("reconciliation", "0001_initial")]

    operations = [migrations.RunSQL(SQL, REVERSE)]
