"""The points ledger is append-only in the database (PostgreSQL): a trigger refuses UPDATE and
DELETE of ``loyalty_ledgerentry`` rows, whoever issues them (the ORM, raw SQL, a shell), except
along the paths ``loyalty.privacy`` documents and opens for one transaction with ``SET LOCAL``:

- ``comeback.ledger_erasure = 'customer-redact:<shop id>'`` (``customers/redact``): an UPDATE of
  that shop's rows may change ``reason`` and nothing else (amounts, account, shop, keys and dates
  stay);
- ``comeback.ledger_erasure = 'shop-redact:<shop id>'`` (``shop/redact``): DELETE of that shop's
  rows only.

Without a setting, one UPDATE is let through: ``created_by`` becoming NULL with every other column
unchanged, which is how Django forgets a deleted staff user (``on_delete=SET_NULL``).  Columns are
compared as whole rows (``to_jsonb``), so a column added later is protected without a new trigger.
TRUNCATE is not covered (it needs the table's TRUNCATE privilege; ``manage.py flush`` and the test
runner use it).  SQLite (the demo's embedded default) has no trigger: the convention holds there.
"""

from django.db import migrations

FUNCTION = """
CREATE OR REPLACE FUNCTION loyalty_ledgerentry_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    erasure text := coalesce(current_setting('comeback.ledger_erasure', true), '');
    fixed_before jsonb;
    fixed_after jsonb;
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF erasure = 'shop-redact:' || OLD.shop_id::text THEN
            RETURN OLD;
        END IF;
        RAISE EXCEPTION 'the points ledger is append-only: DELETE of loyalty_ledgerentry % refused', OLD.id
            USING ERRCODE = 'restrict_violation',
                  HINT = 'write a reversing entry instead; only shop/redact (loyalty.privacy) deletes entries';
    END IF;
    fixed_before := to_jsonb(OLD) - 'reason' - 'created_by_id';
    fixed_after := to_jsonb(NEW) - 'reason' - 'created_by_id';
    IF fixed_before = fixed_after
       AND (NEW.created_by_id IS NOT DISTINCT FROM OLD.created_by_id OR NEW.created_by_id IS NULL) THEN
        IF erasure = 'customer-redact:' || OLD.shop_id::text
           AND NEW.created_by_id IS NOT DISTINCT FROM OLD.created_by_id THEN
            RETURN NEW;
        END IF;
        IF NEW.reason IS NOT DISTINCT FROM OLD.reason
           AND OLD.created_by_id IS NOT NULL AND NEW.created_by_id IS NULL THEN
            RETURN NEW;
        END IF;
    END IF;
    RAISE EXCEPTION 'the points ledger is append-only: UPDATE of loyalty_ledgerentry % refused', OLD.id
        USING ERRCODE = 'restrict_violation',
              HINT = 'write a new entry instead; only customers/redact (loyalty.privacy) blanks reasons';
END;
$$;
"""
TRIGGER = """
CREATE TRIGGER loyalty_ledgerentry_append_only
BEFORE UPDATE OR DELETE ON loyalty_ledgerentry
FOR EACH ROW EXECUTE FUNCTION loyalty_ledgerentry_append_only();
"""
DROP_TRIGGER = "DROP TRIGGER IF EXISTS loyalty_ledgerentry_append_only ON loyalty_ledgerentry"
DROP_FUNCTION = "DROP FUNCTION IF EXISTS loyalty_ledgerentry_append_only()"


def _create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        # params=None: the SQL is sent as is (its RAISE formats use a bare %)
        schema_editor.execute(FUNCTION, params=None)
        schema_editor.execute(DROP_TRIGGER, params=None)
        schema_editor.execute(TRIGGER, params=None)


def _drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_TRIGGER, params=None)
        schema_editor.execute(DROP_FUNCTION, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("loyalty", "0008_programs_for_installed_shops"),
    ]

    operations = [
        migrations.RunPython(_create, _drop, elidable=False),
    ]
