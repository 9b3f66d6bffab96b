"""Scheduling reads at scale: the calendar's query plan."""

import datetime
import re

import pytest
from django.db import connection
from django.utils import timezone

from scheduling import selectors
from scheduling.models import Appointment

pytestmark = pytest.mark.django_db


@pytest.mark.skipif(connection.vendor != "postgresql", reason="index plans are a PostgreSQL matter")
def test_the_calendar_reads_only_its_days_from_the_start_index(clinic, doctor):
    """The day's appointments are bounded on both sides of the start, so the index reads
    that day, not every appointment since the clinic opened."""
    from django.test.utils import CaptureQueriesContext

    from scheduling.tests.factories import AppointmentFactory

    first = timezone.localdate(timezone.now(), clinic.tzinfo) - datetime.timedelta(days=400)
    Appointment.objects.bulk_create(
        AppointmentFactory.build(
            clinic=clinic,
            doctor=doctor,
            patient=None,
            walk_in_name="Walk-in",
            starts_at=datetime.datetime.combine(first + datetime.timedelta(days=n // 8), datetime.time(9), tzinfo=clinic.tzinfo)
            + datetime.timedelta(minutes=30 * (n % 8)),
            ends_at=datetime.datetime.combine(first + datetime.timedelta(days=n // 8), datetime.time(9, 30), tzinfo=clinic.tzinfo)
            + datetime.timedelta(minutes=30 * (n % 8)),
            reference=f"BULK-{n}",
        )
        for n in range(3000)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE scheduling_appointment")
    day = first + datetime.timedelta(days=200)
    with CaptureQueriesContext(connection) as captured:
        selectors.calendar(clinic=clinic, days=[day], doctors=[doctor])
    (sql,) = [q["sql"] for q in captured.captured_queries if 'FROM "scheduling_appointment"' in q["sql"]]
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + sql)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "Seq Scan on scheduling_appointment" not in plan, plan
    assert re.search(r"Index Cond: .*starts_at >= .*starts_at < |Index Cond: .*starts_at < .*starts_at >= ", plan.replace("\n", " ")), plan
