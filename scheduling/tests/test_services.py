import datetime
import threading
import zoneinfo

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from clinicos.models import Clinic
from clinicos.roles import Role
from clinicos.tests.factories import ClinicFactory, DoctorProfileFactory, MembershipFactory, ResourceFactory, UserFactory
from conftest import in_clinic_scope
from leads.tests.factories import LeadFactory
from patients.tests.factories import PatientFactory
from scheduling import services
from scheduling.models import Appointment, AppointmentStatus
from scheduling.tests.factories import AppointmentFactory

pytestmark = pytest.mark.django_db
A = AppointmentStatus


def book(clinic, desk, doctor, start, minutes=30, **extra):
    user, membership = desk
    extra.setdefault("patient", PatientFactory(clinic=clinic))
    return services.appointment_book(
        clinic=clinic, user=user, membership=membership, doctor=doctor, start=start, duration_minutes=minutes, **extra
    ).appointment


def test_booking_gets_a_reference_and_times(clinic, desk, doctor, at):
    appointment = book(clinic, desk, doctor, at(10))
    assert appointment.reference == "ABC01-A1001"
    assert appointment.ends_at - appointment.starts_at == datetime.timedelta(minutes=30)
    assert book(clinic, desk, doctor, at(11)).reference == "ABC01-A1002"


def test_back_to_back_is_fine_but_one_minute_of_overlap_is_refused(clinic, desk, doctor, at):
    book(clinic, desk, doctor, at(10))
    assert book(clinic, desk, doctor, at(10, 30))  # starts as the first ends
    with pytest.raises(services.SlotTaken) as taken:
        book(clinic, desk, doctor, at(10, 59))
    assert taken.value.next_free and taken.value.next_free[0]["start"] >= at(11)
    with pytest.raises(services.SlotTaken):
        book(clinic, desk, doctor, at(9, 31))  # ends one minute into the 10:00 appointment


def test_cancelled_and_no_show_slots_can_be_booked_again(clinic, desk, doctor, at):
    first = book(clinic, desk, doctor, at(10))
    services.appointment_set_status(appointment=first, to_status=A.CANCELLED, user=desk[0], reason="Unwell")
    second = book(clinic, desk, doctor, at(10))
    services.appointment_set_status(appointment=second, to_status=A.NO_SHOW, user=desk[0])
    assert book(clinic, desk, doctor, at(10))


def test_a_resource_cannot_be_double_booked_even_by_two_doctors(clinic, desk, doctor, at):
    other = DoctorProfileFactory(clinic=clinic)
    for weekday in range(7):
        services.working_hours_add(doctor=other, weekday=weekday, start_time=datetime.time(9), end_time=datetime.time(13))
    room = ResourceFactory(clinic=clinic)
    book(clinic, desk, doctor, at(10), resource=room)
    with pytest.raises(services.SlotTaken):
        book(clinic, desk, other, at(10, 15), resource=room)
    assert book(clinic, desk, other, at(10, 15))  # without the room it is fine


def test_same_patient_overlap_is_a_warning_not_a_refusal(clinic, desk, doctor, at):
    patient = PatientFactory(clinic=clinic)
    other = DoctorProfileFactory(clinic=clinic)
    services.working_hours_add(doctor=other, weekday=at(10).weekday(), start_time=datetime.time(9), end_time=datetime.time(13))
    book(clinic, desk, doctor, at(10), patient=patient)
    booking = services.appointment_book(clinic=clinic, user=desk[0], membership=desk[1], doctor=other, start=at(10), patient=patient)
    assert booking.warnings and patient.full_name in booking.warnings[0]


@pytest.mark.parametrize("minutes", [14, 481, 0])
def test_duration_must_be_15_to_480_minutes(clinic, desk, doctor, at, minutes):
    with pytest.raises(ValidationError):
        book(clinic, desk, doctor, at(10), minutes=minutes)


def test_no_booking_in_the_past(clinic, desk, doctor):
    with pytest.raises(ValidationError):
        book(clinic, desk, doctor, timezone.now() - datetime.timedelta(hours=1))


def test_outside_availability_needs_an_override_by_admin_or_front_desk(clinic, desk, doctor, at, make_member):
    with pytest.raises(ValidationError):
        book(clinic, desk, doctor, at(20))
    assert book(clinic, desk, doctor, at(20), override_reason="Emergency").availability_override_reason == "Emergency"
    doctor_user = make_member(__import__("clinicos.roles", fromlist=["Role"]).Role.DOCTOR)
    with pytest.raises(PermissionDenied):
        services.appointment_book(
            clinic=clinic,
            user=doctor_user,
            membership=doctor_user.memberships.get(),
            doctor=doctor,
            start=at(21),
            patient=PatientFactory(clinic=clinic),
            override_reason="Please",
        )


def test_leave_and_clinic_holidays_close_the_day(clinic, desk, doctor, at):
    services.exception_add(clinic=clinic, doctor=doctor, kind="leave", date=at(10).date(), reason="Conference")
    with pytest.raises(ValidationError):
        book(clinic, desk, doctor, at(10))
    assert services.free_slots(clinic=clinic, day=at(10).date(), doctor=doctor) == []


def test_an_extra_session_opens_time(clinic, desk, doctor, at):
    services.exception_add(
        clinic=clinic, doctor=doctor, kind="extra", date=at(19).date(), start_time=datetime.time(19), end_time=datetime.time(21)
    )
    assert book(clinic, desk, doctor, at(19, 30))


def test_only_active_doctors_and_patients(clinic, desk, doctor, at):
    archived = PatientFactory(clinic=clinic, status="archived")
    with pytest.raises(ValidationError):
        book(clinic, desk, doctor, at(10), patient=archived)
    doctor.is_active = False
    doctor.save()
    with pytest.raises(ValidationError):
        book(clinic, desk, doctor, at(11))


def test_free_slots_skip_booked_times(clinic, desk, doctor, at):
    book(clinic, desk, doctor, at(9))
    starts = [slot["start"] for slot in services.free_slots(clinic=clinic, day=at(9).date(), doctor=doctor)]
    assert at(9) not in starts and at(9, 30) in starts and at(13) not in starts and at(14) in starts
    assert len(starts) == 15


STATUS_TABLE = services.ALLOWED_MOVES


@pytest.mark.parametrize("from_status", A.values)
@pytest.mark.parametrize("to_status", A.values)
def test_status_flow(clinic, desk, from_status, to_status):
    appointment = AppointmentFactory(clinic=clinic, status=from_status)
    if to_status in STATUS_TABLE[from_status]:
        updated = services.appointment_set_status(appointment=appointment, to_status=to_status, user=desk[0], reason="Because")
        assert updated.status == to_status and getattr(updated, services.STATUS_TIMESTAMPS[to_status]) is not None
    else:
        with pytest.raises(services.TransitionNotAllowed):
            services.appointment_set_status(appointment=appointment, to_status=to_status, user=desk[0], reason="Because")


def test_cancelling_needs_a_reason_and_records_who(clinic, desk):
    appointment = AppointmentFactory(clinic=clinic)
    with pytest.raises(ValidationError):
        services.appointment_set_status(appointment=appointment, to_status=A.CANCELLED, user=desk[0])
    done = services.appointment_set_status(appointment=appointment, to_status=A.CANCELLED, user=desk[0], reason="Travel")
    assert (done.cancel_reason, done.cancelled_by) == ("Travel", desk[0])


def test_rescheduling_follows_the_rules_and_keeps_history(clinic, desk, doctor, at):
    first = book(clinic, desk, doctor, at(10))
    book(clinic, desk, doctor, at(11))
    with pytest.raises(services.SlotTaken):
        services.appointment_reschedule(appointment=first, user=desk[0], membership=desk[1], start=at(11))
    moved = services.appointment_reschedule(appointment=first, user=desk[0], membership=desk[1], start=at(12)).appointment
    assert moved.starts_at == at(12) and moved.history.count() == 2
    services.appointment_set_status(appointment=moved, to_status=A.ARRIVED, user=desk[0])
    with pytest.raises(services.TransitionNotAllowed):
        services.appointment_reschedule(appointment=moved, user=desk[0], membership=desk[1], start=at(14))


def test_walk_ins_and_leads_attach_to_the_patient_they_become(clinic, desk, doctor, at):
    from leads import services as lead_services
    from patients import services as patient_services

    walk_in = book(clinic, desk, doctor, at(10), patient=None, walk_in={"name": "Kiran", "phone": "+919812300000"})
    assert walk_in.status == A.EXPECTED
    patient = patient_services.patient_register(
        clinic=clinic,
        user=desk[0],
        data={"first_name": "Kiran", "gender": "male", "mobile": "+919812300000", "date_of_birth": datetime.date(1990, 1, 1)},
    )
    walk_in.refresh_from_db()
    assert walk_in.patient == patient and walk_in.status == A.SCHEDULED
    lead = LeadFactory(clinic=clinic, status="contacted", name="Lead Person", age=30)
    lead_appointment = book(clinic, desk, doctor, at(11), patient=None, lead=lead)
    result = lead_services.lead_convert(lead=lead, user=desk[0], registration={})
    lead_appointment.refresh_from_db()
    assert lead_appointment.patient == result.patient


def test_cros_book_for_leads_only(clinic, doctor, at, make_member):
    from clinicos.roles import Role

    cro = make_member(Role.CRO)
    with pytest.raises(PermissionDenied):
        services.appointment_book(
            clinic=clinic, user=cro, membership=cro.memberships.get(), doctor=doctor, start=at(10), patient=PatientFactory(clinic=clinic)
        )
    lead = LeadFactory(clinic=clinic)
    assert services.appointment_book(clinic=clinic, user=cro, membership=cro.memberships.get(), doctor=doctor, start=at(10), lead=lead)


# --- Timezones ----------------------------------------------------------------------------------


def test_kolkata_clinic_on_a_utc_server(clinic, desk, doctor, settings, at):
    assert settings.TIME_ZONE == "UTC"
    appointment = book(clinic, desk, doctor, at(9))
    # 09:00 in Kolkata is 03:30 UTC, and is inside the doctor's 09:00–13:00 hours.
    assert appointment.starts_at.astimezone(datetime.UTC).time() == datetime.time(3, 30)
    with pytest.raises(ValidationError):
        book(clinic, desk, doctor, at(8, 30))  # 08:30 local is before the hours, whatever UTC says


def test_london_clinic_across_the_spring_daylight_saving_change(db):
    london = ClinicFactory(code="LON01", timezone="Europe/London", country="GB", uhid_prefix="LON")
    desk_user = UserFactory()
    membership = MembershipFactory(clinic=london, user=desk_user, roles=["frontdesk"])
    doctor = DoctorProfileFactory(clinic=london)
    spring = datetime.date(2027, 3, 28)  # clocks go forward at 01:00 GMT
    services.working_hours_add(doctor=doctor, weekday=spring.weekday(), start_time=datetime.time(0, 0), end_time=datetime.time(12))
    tz = zoneinfo.ZoneInfo("Europe/London")
    patient = PatientFactory(clinic=london)
    before = services.appointment_book(
        clinic=london,
        user=desk_user,
        membership=membership,
        doctor=doctor,
        start=datetime.datetime(2027, 3, 28, 0, 30, tzinfo=tz),
        duration_minutes=30,
        patient=patient,
    ).appointment
    # 00:30 GMT + 60 minutes of real time ends at 02:30 BST: the hour in between does not exist.
    assert before.ends_at - before.starts_at == datetime.timedelta(minutes=30)
    with pytest.raises(ValidationError) as missing:
        services.appointment_book(
            clinic=london,
            user=desk_user,
            membership=membership,
            doctor=doctor,
            start=datetime.datetime(2027, 3, 28, 1, 30, tzinfo=tz),
            patient=PatientFactory(clinic=london),
        )
    assert "does not exist" in str(missing.value)
    after = services.appointment_book(
        clinic=london,
        user=desk_user,
        membership=membership,
        doctor=doctor,
        start=datetime.datetime(2027, 3, 28, 9, 0, tzinfo=tz),
        patient=PatientFactory(clinic=london),
    ).appointment
    assert after.starts_at.astimezone(datetime.UTC).time() == datetime.time(8, 0)  # BST is UTC+1
    slots = services.free_slots(clinic=london, day=spring, doctor=doctor)
    assert all(slot["start"].astimezone(tz).hour != 1 for slot in slots)


# --- Property: the overlap rule -------------------------------------------------------------------


@given(st.integers(0, 600), st.integers(15, 120), st.integers(0, 600), st.integers(15, 120))
@hypothesis_settings(max_examples=200, deadline=None)
def test_overlap_is_symmetric_and_matches_minute_sets(a_start, a_len, b_start, b_len):
    base = datetime.datetime(2030, 1, 7, tzinfo=datetime.UTC)
    minute = datetime.timedelta(minutes=1)
    a = (base + a_start * minute, base + (a_start + a_len) * minute)
    b = (base + b_start * minute, base + (b_start + b_len) * minute)
    shared = set(range(a_start, a_start + a_len)) & set(range(b_start, b_start + b_len))
    assert services.overlaps(*a, *b) == services.overlaps(*b, *a) == bool(shared)


# --- PostgreSQL guarantees ------------------------------------------------------------------------


@pytest.mark.skipif(connection.vendor != "postgresql", reason="exclusion constraints are PostgreSQL's")
def test_the_database_itself_refuses_overlap(clinic):
    first = AppointmentFactory(clinic=clinic)
    clash = Appointment(
        clinic=clinic,
        doctor=first.doctor,
        patient=first.patient,
        reference="X-A1",
        starts_at=first.starts_at + datetime.timedelta(minutes=10),
        ends_at=first.ends_at + datetime.timedelta(minutes=10),
        duration_minutes=30,
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        clash.save()
    clash.status = A.CANCELLED  # released slots do not count
    clash.save()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the race is settled by PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_bookings_of_one_slot_one_wins(clinic, doctor, desk, at):
    from django.db import close_old_connections

    patients = [PatientFactory(clinic=clinic) for _ in range(20)]
    results, barrier = [], threading.Barrier(20)

    def attempt(patient):
        try:
            barrier.wait()
            services.appointment_book(
                clinic=Clinic.objects.get(pk=clinic.pk), user=desk[0], membership=desk[1], doctor=doctor, start=at(10), patient=patient
            )
            results.append("booked")
        except services.SlotTaken:
            results.append("taken")
        except Exception as error:  # pragma: no cover - shown in the assertion
            results.append(repr(error))
        finally:
            close_old_connections()

    threads = [threading.Thread(target=in_clinic_scope(clinic, attempt), args=(patient,)) for patient in patients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == ["booked"] + ["taken"] * 19, results
    assert Appointment.objects.filter(doctor=doctor).count() == 1


# --- One doctor, two clinics ----------------------------------------------------------------------


@pytest.fixture
def second_clinic_of_the_doctor(doctor):
    """The same doctor (one user) also works in another clinic, same hours, same time zone."""
    other = ClinicFactory(code="XYZ02", name="Lakeside Clinic", uhid_prefix="LAK", timezone="Asia/Kolkata")
    profile = DoctorProfileFactory(clinic=other, user=doctor.user)
    for weekday in range(7):
        services.working_hours_add(doctor=profile, weekday=weekday, start_time=datetime.time(9), end_time=datetime.time(13))
    front_desk = MembershipFactory(clinic=other, roles=[Role.FRONT_DESK.value])
    return other, profile, (front_desk.user, front_desk)


def test_a_doctor_booked_in_one_clinic_is_busy_in_the_other(clinic, desk, doctor, at, second_clinic_of_the_doctor):
    other, profile_there, desk_there = second_clinic_of_the_doctor
    book(clinic, desk, doctor, at(10), patient=PatientFactory(clinic=clinic, first_name="Asha"))
    with pytest.raises(services.SlotTaken) as refused:
        book(other, desk_there, profile_there, at(10, 15), patient=PatientFactory(clinic=other))
    assert "Asha" not in str(refused.value) and clinic.name not in str(refused.value)  # busy, never with whom
    assert refused.value.next_free and refused.value.next_free[0]["start"] == at(10, 30)
    assert not Appointment.objects.filter(clinic=other).exists()
    # back to back is fine, and so is the slot once the first clinic cancels
    assert book(other, desk_there, profile_there, at(10, 30), patient=PatientFactory(clinic=other))
    first = Appointment.objects.get(clinic=clinic)
    services.appointment_set_status(appointment=first, to_status=A.CANCELLED, user=desk[0], reason="Patient called")
    assert book(other, desk_there, profile_there, at(10), patient=PatientFactory(clinic=other))


def test_free_slots_leave_out_the_times_booked_in_another_clinic(clinic, desk, doctor, at, second_clinic_of_the_doctor):
    other, profile_there, desk_there = second_clinic_of_the_doctor
    book(other, desk_there, profile_there, at(11), minutes=60, patient=PatientFactory(clinic=other))
    starts = [slot["start"] for slot in services.free_slots(clinic=clinic, day=at(9).date(), doctor=doctor)]
    assert at(10, 30) in starts and at(12) in starts
    assert at(11) not in starts and at(11, 30) not in starts
    # another doctor of the first clinic is not affected
    colleague = DoctorProfileFactory(clinic=clinic)
    services.working_hours_add(doctor=colleague, weekday=at(9).weekday(), start_time=datetime.time(9), end_time=datetime.time(13))
    assert at(11) in [slot["start"] for slot in services.free_slots(clinic=clinic, day=at(9).date(), doctor=colleague)]


def test_moving_an_appointment_onto_the_doctors_time_elsewhere_is_refused(clinic, desk, doctor, at, second_clinic_of_the_doctor):
    other, profile_there, desk_there = second_clinic_of_the_doctor
    book(other, desk_there, profile_there, at(12), patient=PatientFactory(clinic=other))
    mine = book(clinic, desk, doctor, at(10))
    with pytest.raises(services.SlotTaken):
        services.appointment_reschedule(appointment=mine, user=desk[0], membership=desk[1], start=at(12))
    mine.refresh_from_db()
    assert mine.starts_at == at(10)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the race is settled by PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_racing_bookings_of_one_doctor_in_two_clinics_one_wins(clinic, desk, doctor, at, second_clinic_of_the_doctor, monkeypatch):
    import time

    from django.db import close_old_connections

    other, profile_there, desk_there = second_clinic_of_the_doctor
    checked = services.within_availability

    def slow_check(**kwargs):  # widen the window between the lock and the overlap check
        time.sleep(0.2)
        return checked(**kwargs)

    monkeypatch.setattr(services, "within_availability", slow_check)
    attempts = [(clinic, desk, doctor, PatientFactory(clinic=clinic)) for _ in range(5)]
    attempts += [(other, desk_there, profile_there, PatientFactory(clinic=other)) for _ in range(5)]
    results, barrier = [], threading.Barrier(len(attempts))

    def attempt(where, who, profile, patient):
        try:
            barrier.wait()
            services.appointment_book(
                clinic=Clinic.objects.get(pk=where.pk), user=who[0], membership=who[1], doctor=profile, start=at(10), patient=patient
            )
            results.append("booked")
        except services.SlotTaken:
            results.append("taken")
        except Exception as error:  # pragma: no cover - shown in the assertion
            results.append(repr(error))
        finally:
            close_old_connections()

    threads = [threading.Thread(target=in_clinic_scope(args[0], attempt), args=args) for args in attempts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == ["booked"] + ["taken"] * 9, results
    assert Appointment.objects.filter(doctor__user=doctor.user).count() == 1
