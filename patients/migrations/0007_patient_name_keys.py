"""The clinic's distinct patient names, which the fuzzy search ranks by trigram distance
(a GiST index on PostgreSQL) instead of comparing every patient's name. The GIN trigram
index over every patient (migration 0002) is then read by nothing and is dropped."""

import django.db.models.deletion
from django.db import migrations, models

from clinicos.migration_helpers import postgres_only_sql

FILL = [
    "INSERT INTO patients_patientnamekey (clinic_id, search_name) SELECT DISTINCT clinic_id, search_name FROM patients_patient"
]
INDEX = [
    "CREATE EXTENSION IF NOT EXISTS btree_gist",
    "CREATE INDEX IF NOT EXISTS patient_name_key_trgm ON patients_patientnamekey USING gist (clinic_id, search_name gist_trgm_ops)",
    "DROP INDEX IF EXISTS patient_name_trgm",
]
UNINDEX = [
    "DROP INDEX IF EXISTS patient_name_key_trgm",
    "CREATE INDEX IF NOT EXISTS patient_name_trgm ON patients_patient USING gin (search_name gin_trgm_ops)",
]


class Migration(migrations.Migration):

    dependencies = [
        ('clinicos', '0010_alter_notification_kind'),
        ('patients', '0006_patient_mobile_index'),
    ]

    operations = [
        migrations.CreateModel(
            name='PatientNameKey',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('search_name', models.CharField(max_length=210)),
                ('clinic', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='clinicos.clinic')),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('clinic', 'search_name'), name='patient_name_key_unique')],
            },
        ),
        migrations.RunSQL(FILL, migrations.RunSQL.noop),
        postgres_only_sql(INDEX, UNINDEX),
    ]
