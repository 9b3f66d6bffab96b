"""Fuzzy name search on PostgreSQL: the pg_trgm extension and a GIN trigram index.

SQLite has no trigram support; there the search falls back to a substring match, so
this migration does nothing on it.
"""

from django.db import migrations

CREATE = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS patient_name_trgm ON patients_patient USING gin (search_name gin_trgm_ops)",
]
DROP = ["DROP INDEX IF EXISTS patient_name_trgm"]


def run(statements):
    def apply(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for statement in statements:
            schema_editor.execute(statement)

    return apply


class Migration(migrations.Migration):
    dependencies = [("patients", "0001_initial")]

    operations = [migrations.RunPython(run(CREATE), run(DROP))]
