"""Fuzzy name search on PostgreSQL: the pg_trgm extension and a GIN trigram index.

SQLite has no trigram support; there the search falls back to a substring match, so
this migration does nothing on it.
"""

from django.db import migrations

from clinicos.migration_helpers import postgres_only_sql

CREATE = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS patient_name_trgm ON patients_patient USING gin (search_name gin_trgm_ops)",
]
DROP = ["DROP INDEX IF EXISTS patient_name_trgm"]


class Migration(migrations.Migration):
    dependencies = [("patients", "0001_initial")]

    operations = [postgres_only_sql(CREATE, DROP)]
