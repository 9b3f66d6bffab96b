"""Name-prefix indexes in byte ("C") order on PostgreSQL, so that the header search can
read the first matches straight from the index and stop (see selectors._name_prefix).
SQLite already compares bytes and uses the model's own indexes."""

from django.db import migrations

from clinicos.migration_helpers import postgres_only_sql

CREATE = [
    'CREATE INDEX IF NOT EXISTS patient_name_c ON patients_patient (clinic_id, (search_name COLLATE "C"), id)',
    'CREATE INDEX IF NOT EXISTS patient_lastname_c ON patients_patient (clinic_id, (search_name_last_first COLLATE "C"), id)',
]
DROP = ["DROP INDEX IF EXISTS patient_name_c", "DROP INDEX IF EXISTS patient_lastname_c"]


class Migration(migrations.Migration):
    dependencies = [("patients", "0002_trigram_name_index")]

    operations = [postgres_only_sql(CREATE, DROP)]
