"""No double booking, guaranteed by PostgreSQL: exclusion constraints (btree_gist) over
the appointment's time range, per doctor and per resource, ignoring cancelled and no-show
appointments. Two concurrent bookings of one slot cannot both commit. SQLite has no such
constraint; there the booking service's check runs in a serialized (IMMEDIATE) transaction.
"""

from django.db import migrations

from clinicos.migration_helpers import postgres_only_sql

CREATE = [
    "CREATE EXTENSION IF NOT EXISTS btree_gist",
    """ALTER TABLE scheduling_appointment ADD CONSTRAINT appointment_no_doctor_overlap
       EXCLUDE USING gist (doctor_id WITH =, tstzrange(starts_at, ends_at, '[)') WITH &&)
       WHERE (status NOT IN ('cancelled', 'no_show'))""",
    """ALTER TABLE scheduling_appointment ADD CONSTRAINT appointment_no_resource_overlap
       EXCLUDE USING gist (resource_id WITH =, tstzrange(starts_at, ends_at, '[)') WITH &&)
       WHERE (resource_id IS NOT NULL AND status NOT IN ('cancelled', 'no_show'))""",
]
DROP = [
    "ALTER TABLE scheduling_appointment DROP CONSTRAINT IF EXISTS appointment_no_resource_overlap",
    "ALTER TABLE scheduling_appointment DROP CONSTRAINT IF EXISTS appointment_no_doctor_overlap",
]


class Migration(migrations.Migration):
    dependencies = [("scheduling", "0001_initial")]

    operations = [postgres_only_sql(CREATE, DROP)]
