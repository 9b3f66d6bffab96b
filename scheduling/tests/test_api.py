import datetime

import pytest

from clinicos.roles import Role
from leads.tests.factories import LeadFactory
from patients.tests.factories import PatientFactory
from scheduling.models import Appointment
from scheduling.tests.factories import AppointmentFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(api_client, front_desk):
    """The front desk's integration: a bearer token from POST /api/v1/auth/login."""
    return api_client(front_desk)


def url(clinic, tail=""):
    return f"/api/v1/clinics/{clinic.code}/appointments{tail}"


def body(doctor, start, **extra):
    return {"doctor_id": doctor.pk, "start": start.isoformat(), "duration_minutes": 30, "type": "consultation", "reason": "Review", **extra}


def test_book_a_patient_answers_201_with_reference_and_times(api, clinic, doctor, at):
    patient = PatientFactory(clinic=clinic)
    response = api.post(url(clinic), body(doctor, at(10), patient_id=patient.pk), content_type="application/json")
    assert response.status_code == 201
    data = response.json()
    assert set(data) >= {"id", "reference", "start", "end", "status"}
    assert data["reference"] == "ABC01-A1001" and data["status"] == "scheduled"
    assert data["start"].endswith("+05:30") and data["start"].startswith(at(10).strftime("%Y-%m-%dT10:00"))


def test_book_a_lead_and_a_walk_in(api, clinic, doctor, at):
    lead = LeadFactory(clinic=clinic)
    assert api.post(url(clinic), body(doctor, at(10), lead_id=lead.pk), content_type="application/json").json()["status"] == "expected"
    walk_in = {"name": "Ravi", "phone": "+919800000000", "dob": "1990-01-01", "sex": "male"}
    assert api.post(url(clinic), body(doctor, at(11), walk_in=walk_in), content_type="application/json").status_code == 201


def test_a_taken_slot_answers_409_with_the_next_free_slots(api, clinic, doctor, at):
    api.post(url(clinic), body(doctor, at(10), patient_id=PatientFactory(clinic=clinic).pk), content_type="application/json")
    response = api.post(url(clinic), body(doctor, at(10, 15), patient_id=PatientFactory(clinic=clinic).pk), content_type="application/json")
    assert response.status_code == 409
    data = response.json()
    assert "just taken" in data["detail"] and data["next_free"][0]["start"] >= at(10, 30).isoformat()[:16]


@pytest.mark.parametrize(
    "change, field",
    [
        ({"duration_minutes": 5}, "duration_minutes"),
        ({"patient_id": None}, "patient"),
        ({"doctor_id": 999999}, "doctor_id"),
        ({"type": "massage"}, "type"),
    ],
)
def test_bad_bookings_answer_422(api, clinic, doctor, at, change, field):
    data = {**body(doctor, at(10), patient_id=PatientFactory(clinic=clinic).pk), **change}
    response = api.post(url(clinic), data, content_type="application/json")
    assert response.status_code == 422
    assert field in str(response.json()["detail"])
    assert not Appointment.objects.exists()


def test_a_start_without_offset_or_in_the_past_is_refused(api, clinic, doctor, at):
    naive = body(doctor, at(10), patient_id=PatientFactory(clinic=clinic).pk)
    naive["start"] = at(10).strftime("%Y-%m-%dT%H:%M:%S")
    assert api.post(url(clinic), naive, content_type="application/json").status_code == 422
    past = body(doctor, at(10) - datetime.timedelta(days=3), patient_id=PatientFactory(clinic=clinic).pk)
    assert api.post(url(clinic), past, content_type="application/json").status_code == 422


def test_list_by_date_range_and_doctor(api, clinic, doctor, at):
    api.post(url(clinic), body(doctor, at(10), patient_id=PatientFactory(clinic=clinic).pk), content_type="application/json")
    day = at(10).date().isoformat()
    listed = api.get(url(clinic, f"?date_from={day}&date_to={day}&doctor_id={doctor.pk}")).json()
    assert len(listed) == 1 and listed[0]["doctor_id"] == doctor.pk


def test_patch_reschedules_and_status_moves(api, clinic, doctor, at):
    created = api.post(
        url(clinic), body(doctor, at(10), patient_id=PatientFactory(clinic=clinic).pk), content_type="application/json"
    ).json()
    moved = api.patch(url(clinic, f"/{created['id']}"), {"start": at(12).isoformat()}, content_type="application/json")
    assert moved.status_code == 200 and moved.json()["start"].startswith(at(12).strftime("%Y-%m-%dT12:00"))
    arrived = api.post(url(clinic, f"/{created['id']}/status"), {"status": "arrived"}, content_type="application/json")
    assert arrived.status_code == 200 and arrived.json()["status"] == "arrived"
    refused = api.post(url(clinic, f"/{created['id']}/status"), {"status": "cancelled", "reason": "x"}, content_type="application/json")
    assert refused.status_code == 409
    too_late = api.patch(url(clinic, f"/{created['id']}"), {"start": at(15).isoformat()}, content_type="application/json")
    assert too_late.status_code == 409


def test_free_slots_endpoint(api, clinic, doctor, at):
    slots = api.get(f"/api/v1/clinics/{clinic.code}/availability/free-slots?doctor_id={doctor.pk}&date={at(9).date().isoformat()}").json()
    assert len(slots) == 16 and slots[0]["start"].startswith(at(9).strftime("%Y-%m-%dT09:00"))
    bad = api.get(f"/api/v1/clinics/{clinic.code}/availability/free-slots?doctor_id=999999&date=2030-01-01")
    assert bad.status_code == 422


def test_another_clinics_appointment_is_404(api, clinic, other_clinic):
    foreign = AppointmentFactory(clinic=other_clinic)
    assert api.get(url(clinic, f"/{foreign.pk}")).status_code == 404
    assert api.post(url(clinic, f"/{foreign.pk}/status"), {"status": "arrived"}, content_type="application/json").status_code == 404


def test_billing_reads_but_cannot_book(api_client, clinic, doctor, at, make_member):
    billing = api_client(make_member(Role.BILLING))
    assert billing.get(url(clinic)).status_code == 200
    data = body(doctor, at(10), patient_id=PatientFactory(clinic=clinic).pk)
    assert billing.post(url(clinic), data).status_code == 403
