"""Scheduling reads at scale: the calendar's query plan."""

import datetime
import re

import pytest
from django.db import connection
from django.utils import timezone

from scheduling import selectors
from scheduling.models import Appointment

pytestmark = pytest.mark.django_db


def _a_year_of_appointments(clinic, doctor):
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
    return first


def _plan(sql: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + sql)
        return "\n".join(row[0] for row in cursor.fetchall())


BOUNDED_ON_BOTH_SIDES = r"Index Cond: .*starts_at [>]=? .*starts_at < |Index Cond: .*starts_at < .*starts_at [>]=? "


@pytest.mark.skipif(connection.vendor != "postgresql", reason="index plans are a PostgreSQL matter")
def test_the_calendar_reads_only_its_days_from_the_start_index(clinic, doctor):
    """The day's appointments are bounded on both sides of the start, so the index reads
    that day, not every appointment since the clinic opened."""
    from django.test.utils import CaptureQueriesContext

    first = _a_year_of_appointments(clinic, doctor)
    day = first + datetime.timedelta(days=200)
    with CaptureQueriesContext(connection) as captured:
        selectors.calendar(clinic=clinic, days=[day], doctors=[doctor])
    (sql,) = [q["sql"] for q in captured.captured_queries if 'FROM "scheduling_appointment"' in q["sql"]]
    plan = _plan(sql)
    assert "Seq Scan on scheduling_appointment" not in plan, plan
    assert re.search(BOUNDED_ON_BOTH_SIDES, plan.replace("\n", " ")), plan


@pytest.mark.skipif(connection.vendor != "postgresql", reason="index plans are a PostgreSQL matter")
def test_the_double_booking_check_and_free_slots_read_hours_not_years(clinic, doctor):
    """Booking checks the doctor's clashes, and the free slots read the doctor's day, bounded
    below by the longest appointment there can be (8 hours): on a doctor with years of
    history this was every appointment before the slot (128 ms at 50,000)."""
    from django.test.utils import CaptureQueriesContext

    from scheduling import services

    first = _a_year_of_appointments(clinic, doctor)
    day = first + datetime.timedelta(days=300)
    start = datetime.datetime.combine(day, datetime.time(11), tzinfo=clinic.tzinfo)
    with CaptureQueriesContext(connection) as captured:
        assert services._clashing(
            Appointment.objects.filter(clinic=clinic, doctor=doctor), start, start + datetime.timedelta(minutes=30)
        ).exists()
        services.free_slots(clinic=clinic, day=day, doctor=doctor)
    reads = [q["sql"] for q in captured.captured_queries if 'FROM "scheduling_appointment"' in q["sql"]]
    assert len(reads) == 2
    for sql in reads:
        plan = _plan(sql)
        assert "Seq Scan on scheduling_appointment" not in plan, plan
        assert re.search(BOUNDED_ON_BOTH_SIDES, plan.replace("\n", " ")), plan


@pytest.mark.skipif(connection.vendor != "postgresql", reason="index plans are a PostgreSQL matter")
def test_the_doctors_diary_in_another_clinic_is_read_by_the_hour_too(clinic, doctor, other_clinic):
    """A doctor who also works elsewhere: free slots read that clinic's diary of the day
    through its (clinic, doctor, starts_at) index, bounded, not the years before it."""
    from django.test.utils import CaptureQueriesContext

    from clinicos.tests.factories import DoctorProfileFactory
    from scheduling import services

    there = DoctorProfileFactory(clinic=other_clinic, user=doctor.user)
    first = _a_year_of_appointments(other_clinic, there)
    day = first + datetime.timedelta(days=300)
    with CaptureQueriesContext(connection) as captured:
        services.free_slots(clinic=clinic, day=day, doctor=doctor)
    reads = [q["sql"] for q in captured.captured_queries if 'FROM "scheduling_appointment"' in q["sql"]]
    assert len(reads) == 2  # this clinic's diary, and the other's
    plan = _plan(reads[-1])
    assert "Seq Scan on scheduling_appointment" not in plan, plan
    assert re.search(BOUNDED_ON_BOTH_SIDES, plan.replace("\n", " ")), plan
