"""Scheduling and leads reproducers of the base hardening: walk-ins validated once, dates
at the calendar's edges, redirects that stay on the site, the iCal feed, and the role
rules that used to be hard-coded sets."""

import datetime

import icalendar
import pytest

from clinicos.roles import Role
from leads.models import LeadStatus
from leads.tests.factories import LeadFactory
from patients.models import Patient
from patients.tests.factories import PatientFactory
from scheduling import services
from scheduling.models import Appointment
from scheduling.tests.factories import AppointmentFactory

pytestmark = pytest.mark.django_db


def url(clinic, tail=""):
    return f"/api/v1/clinics/{clinic.code}/appointments{tail}"


def walk_in_booking(doctor, start, **walk_in):
    return {"doctor_id": doctor.pk, "start": start.isoformat(), "walk_in": {"name": "Meera", **walk_in}}


@pytest.mark.parametrize(
    "walk_in, field",
    [
        ({"phone": "9" * 10000}, "walk_in_phone"),
        ({"phone": "<b>call"}, "walk_in_phone"),
        ({"sex": "zz"}, "walk_in_sex"),
        ({"dob": "2999-01-01"}, "walk_in_dob"),
        ({"name": "x" * 151}, "walk_in_name"),
        ({"name": "Me\x00era"}, "name"),
    ],
)
def test_bad_walk_in_details_are_refused_by_the_api_and_nothing_is_stored(api_client, front_desk, clinic, doctor, at, walk_in, field):
    response = api_client(front_desk).post(url(clinic), walk_in_booking(doctor, at(10), **walk_in))
    assert response.status_code == 422, response.content
    assert field in {problem["loc"][-1] for problem in response.json()["detail"]}
    assert not Appointment.objects.exists()


def test_an_api_walk_in_attaches_to_the_patient_they_become(api_client, front_desk, clinic, doctor, at):
    api = api_client(front_desk)
    booked = api.post(url(clinic), walk_in_booking(doctor, at(10), phone="98765 01234", sex="female"))
    assert booked.status_code == 201
    assert Appointment.objects.get().walk_in_phone == "+919876501234"
    registered = api.post(
        f"/api/v1/clinics/{clinic.code}/patients",
        {"first_name": "Meera", "gender": "female", "date_of_birth": "1990-01-01", "mobile": "+91 98765 01234"},
    )
    assert registered.status_code == 201
    assert Appointment.objects.get().patient_id == registered.json()["id"]


def test_booking_at_the_calendars_edge_is_a_422(api_client, front_desk, clinic, doctor):
    response = api_client(front_desk).post(
        url(clinic), {"doctor_id": doctor.pk, "start": "9999-12-31T23:00:00+00:00", "patient_id": PatientFactory(clinic=clinic).pk}
    )
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["body", "start"]


@pytest.mark.parametrize("page", ["schedule/", "schedule/week/", "schedule/resources/"])
@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01", "not-a-date"])
def test_schedule_pages_at_the_calendars_edges_show_today_with_a_message(login, front_desk, clinic, doctor, page, day):
    response = login(front_desk).get(f"/c/{clinic.code}/{page}?date={day}")
    assert response.status_code == 400
    assert "showing today instead" in response.content.decode().lower()


def test_a_non_numeric_block_id_is_a_400(login, clinic_admin, clinic, doctor):
    response = login(clinic_admin).post(f"/c/{clinic.code}/schedule/availability/?doctor={doctor.pk}", {"form": "remove", "block": "abc"})
    assert response.status_code == 400


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "javascript:alert(1)"])
def test_a_next_that_leaves_the_site_is_ignored(login, front_desk, clinic, target):
    appointment = AppointmentFactory(clinic=clinic)
    response = login(front_desk).post(
        f"/c/{clinic.code}/schedule/appointments/{appointment.pk}/status/", {"status": "confirmed", "next": target}
    )
    assert response.status_code == 302 and response.url == f"/c/{clinic.code}/schedule/today/"
    lead = LeadFactory(clinic=clinic)
    response = login(front_desk).post(f"/c/{clinic.code}/leads/{lead.pk}/move/", {"to_status": "contacted", "next": target})
    assert response.status_code == 302 and response.url == f"/c/{clinic.code}/leads/{lead.pk}/"


def test_a_local_next_is_followed(login, front_desk, clinic):
    appointment = AppointmentFactory(clinic=clinic)
    response = login(front_desk).post(
        f"/c/{clinic.code}/schedule/appointments/{appointment.pk}/status/", {"status": "confirmed", "next": f"/c/{clinic.code}/schedule/"}
    )
    assert response.url == f"/c/{clinic.code}/schedule/"


def test_the_ical_feed_escapes_line_breaks_and_is_never_cached(client, clinic, doctor, at):
    patient = PatientFactory(clinic=clinic, first_name="Asha")
    services.appointment_book(
        clinic=clinic,
        user=doctor.user,
        membership=None,
        doctor=doctor,
        start=at(10),
        patient=patient,
        reason="Line one\r\nX-INJECTED:yes; with, commas",
    )
    token = services.calendar_feed_renew(doctor=doctor)
    response = client.get(f"/ical/{token}.ics")
    assert response.status_code == 200
    assert {"private", "no-store"} <= {part.strip() for part in response["Cache-Control"].split(",")}
    body = response.content.decode()
    assert "\r\nX-INJECTED" not in body
    event = next(iter(icalendar.Calendar.from_ical(response.content).walk("VEVENT")))
    assert str(event["DESCRIPTION"]) == "Line one\nX-INJECTED:yes; with, commas"  # one text value, not a new property
    assert str(event["SUMMARY"]) == f"Consultation: {patient.full_name}"


# --- Role rules from the matrix ------------------------------------------------------------


def test_a_cro_cannot_open_a_patients_appointments_tab(login, clinic, make_member):
    patient = PatientFactory(clinic=clinic)
    response = login(make_member(Role.CRO)).get(f"/c/{clinic.code}/patients/{patient.pk}/tabs/appointments/")
    assert response.status_code == 403


def test_a_cro_cannot_move_a_patients_appointment(api_client, clinic, make_member, doctor, at):
    appointment = AppointmentFactory(clinic=clinic, doctor=doctor)
    before = appointment.starts_at
    response = api_client(make_member(Role.CRO)).patch(url(clinic, f"/{appointment.pk}"), {"start": at(15).isoformat()})
    assert response.status_code == 403
    appointment.refresh_from_db()
    assert appointment.starts_at == before


def test_a_cro_books_and_moves_leads(api_client, clinic, make_member, doctor, at):
    cro = api_client(make_member(Role.CRO))
    lead = LeadFactory(clinic=clinic)
    booked = cro.post(url(clinic), {"doctor_id": doctor.pk, "start": at(10).isoformat(), "lead_id": lead.pk})
    assert booked.status_code == 201
    assert cro.patch(url(clinic, f"/{booked.json()['id']}"), {"start": at(11).isoformat()}).status_code == 200
    walk_in = cro.post(url(clinic), walk_in_booking(doctor, at(12)))
    assert walk_in.status_code == 403


def test_a_cro_converting_a_lead_cannot_record_a_national_id(api_client, clinic, make_member):
    lead = LeadFactory(clinic=clinic, age=30, gender="female")
    cro = api_client(make_member(Role.CRO))
    response = cro.post(f"/api/v1/clinics/{clinic.code}/leads/{lead.pk}/convert", {"national_id": "234567890123"})
    assert response.status_code == 403
    assert not Patient.objects.exists()
    assert cro.post(f"/api/v1/clinics/{clinic.code}/leads/{lead.pk}/convert").status_code == 201


def test_the_convert_page_offers_no_national_id_field_to_a_cro(login, clinic, make_member):
    lead = LeadFactory(clinic=clinic)
    page = login(make_member(Role.CRO)).get(f"/c/{clinic.code}/leads/{lead.pk}/convert/").content.decode()
    assert 'name="national_id"' not in page


def test_a_doctor_cannot_open_a_leads_instant_booking(login, clinic, clinician):
    lead = LeadFactory(clinic=clinic)
    assert login(clinician).get(f"/c/{clinic.code}/leads/{lead.pk}/instant-booking/").status_code == 403


def test_reopening_a_lost_lead_is_a_matrix_row(api_client, clinic, front_desk, make_member):
    lead = LeadFactory(clinic=clinic, status=LeadStatus.LOST, lost_reason="Cost")
    refused = api_client(front_desk).patch(f"/api/v1/clinics/{clinic.code}/leads/{lead.pk}", {"status": "contacted"})
    assert refused.status_code == 403
    allowed = api_client(make_member(Role.CRO)).patch(f"/api/v1/clinics/{clinic.code}/leads/{lead.pk}", {"status": "contacted"})
    assert allowed.status_code == 200 and allowed.json()["status"] == "contacted"


def test_booking_outside_availability_needs_the_override_row(api_client, clinic, make_member, doctor, at):
    patient = PatientFactory(clinic=clinic)
    late = at(21)
    body = {"doctor_id": doctor.pk, "start": late.isoformat(), "patient_id": patient.pk, "override_reason": "Emergency"}
    assert api_client(make_member(Role.DOCTOR)).post(url(clinic), body).status_code == 403
    assert api_client(make_member(Role.FRONT_DESK)).post(url(clinic), body).status_code == 201
    assert late.date() > datetime.date.today() - datetime.timedelta(days=1)
