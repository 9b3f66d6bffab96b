"""The C-collated first-name index carries each patient's status, so that a page of the
patients list (active patients in name order, ``selectors.PatientsByName``) is read from
the index alone, also a deep page whose skipped rows used to be visited for their status."""

from django.db import migrations

from clinicos.migration_helpers import postgres_only_sql

CREATE = [
    "DROP INDEX IF EXISTS patient_name_c",
    'CREATE INDEX patient_name_c ON patients_patient (clinic_id, (search_name COLLATE "C"), id) INCLUDE (status)',
]
DROP = [
    "DROP INDEX IF EXISTS patient_name_c",
    'CREATE INDEX patient_name_c ON patients_patient (clinic_id, (search_name COLLATE "C"), id)',
]


class Migration(migrations.Migration):
    dependencies = [("patients", "0007_patient_name_keys")]

    operations = [postgres_only_sql(CREATE, DROP)]
