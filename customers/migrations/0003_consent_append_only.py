"""Consent is evidence: the database refuses to delete or rewrite a recorded ConsentEvent.

The one permitted change is re-pointing `customer_id`, which customer merges and unmerges do.
"""

from django.db import migrations

FORBID = """
CREATE FUNCTION customers_consentevent_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'consent events are append-only (delete refused)'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF (NEW.id, NEW.purpose, NEW.granted, NEW.channel, NEW.evidence, NEW.recorded_at,
        NEW.api_key_id)
       IS DISTINCT FROM
       (OLD.id, OLD.purpose, OLD.granted, OLD.channel, OLD.evidence, OLD.recorded_at,
        OLD.api_key_id) THEN
        RAISE EXCEPTION 'consent events are append-only (only the customer may be re-pointed)'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER customers_consentevent_append_only
BEFORE UPDATE OR DELETE ON customers_consentevent
FOR EACH ROW EXECUTE FUNCTION customers_consentevent_append_only();
"""

ALLOW = """
DROP TRIGGER customers_consentevent_append_only ON customers_consentevent;
DROP FUNCTION customers_consentevent_append_only();
"""


class Migration(migrations.Migration):
    dependencies = [("customers", "0002_identity_consent_merge")]

    operations = [migrations.RunSQL(FORBID, ALLOW)]
