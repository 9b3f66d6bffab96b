"""The clinical API as integrations call it: bearer tokens from POST /api/v1/auth/login."""

import datetime

import pytest
from django.utils import timezone

from clinical.models import Visit
from clinicos.models import ReadAccessLog
from clinicos.roles import Role
from clinicos.tests.factories import DoctorProfileFactory
from patients.tests.factories import PatientFactory
from scheduling.models import AppointmentStatus
from scheduling.tests.factories import AppointmentFactory

pytestmark = pytest.mark.django_db

CLINICAL_WORDS = ("subjective", "assessment", "diagnosis", "Penicillin", "pulse_rate")


def url(clinic, path):
    return f"/api/v1/clinics/{clinic.code}/{path}"


@pytest.fixture
def doctor(clinic):
    return DoctorProfileFactory(clinic=clinic)


def test_the_doctors_visit_through_the_api(api_client, clinic, doctor, make_member):
    appointment = AppointmentFactory(clinic=clinic, doctor=doctor, status=AppointmentStatus.CHECKED_IN)
    api = api_client(doctor.user)
    started = api.post(url(clinic, "visits"), {"appointment_id": appointment.pk})
    assert started.status_code == 201, started.content
    body = started.json()
    assert body["status"] == "in_progress" and body["reference"].startswith(f"{clinic.code}-V")
    assert (body["patient_id"], body["appointment_id"], body["doctor_id"]) == (appointment.patient_id, appointment.pk, doctor.pk)
    visit_id = body["id"]
    again = api.post(url(clinic, "visits"), {"appointment_id": appointment.pk})
    assert again.status_code == 409 and "already has a visit" in again.json()["detail"]

    nurse = api_client(make_member(Role.NURSE))
    vitals = nurse.post(
        url(clinic, "vital-signs"),
        {
            "patient_id": appointment.patient_id,
            "visit_id": visit_id,
            "systolic_bp": 118,
            "diastolic_bp": 76,
            "weight_kg": 72,
            "height_cm": 175,
        },
    )
    assert vitals.status_code == 201 and vitals.json()["bmi"] == "23.5" and vitals.json()["bmi_category"] == "normal"
    assert nurse.put(url(clinic, f"visits/{visit_id}/note"), {"subjective": "x"}).status_code == 403  # nurses write no notes

    tomorrow = (timezone.localdate(timezone=clinic.tzinfo) + datetime.timedelta(days=14)).isoformat()
    note = api.put(
        url(clinic, f"visits/{visit_id}/note"),
        {
            "subjective": "Irregular cycles.",
            "objective": "BMI 23.5",
            "assessment": "PCOS",
            "plan": "Letrozole",
            "diagnosis_codes": ["e28.2"],
            "follow_up_date": tomorrow,
        },
    )
    assert note.status_code == 200, note.content
    assert note.json()["diagnosis_codes"] == ["E28.2"] and note.json()["follow_up_required"] is True and note.json()["editable"] is True
    bad = api.put(url(clinic, f"visits/{visit_id}/note"), {"diagnosis_codes": ["ZZZ"], "follow_up_date": "2000-01-01"})
    assert bad.status_code == 422
    assert {problem["loc"][-1] for problem in bad.json()["detail"]} == {"diagnosis_codes", "follow_up_date"}

    detail = api.get(url(clinic, f"visits/{visit_id}"))
    assert detail.status_code == 200
    assert detail.json()["note"]["assessment"] == "PCOS" and detail.json()["vitals"][0]["systolic_bp"] == 118
    assert ReadAccessLog.objects.filter(entity_type="clinical.visit", entity_id=str(visit_id), user=doctor.user).exists()

    completed = api.post(url(clinic, f"visits/{visit_id}/complete"))
    assert completed.status_code == 200 and completed.json()["status"] == "completed" and completed.json()["completed_at"]
    addendum = api.post(url(clinic, f"visits/{visit_id}/addenda"), {"text": "Scan booked."})
    assert addendum.status_code == 201 and addendum.json()["author_id"] == doctor.user_id
    Visit.objects.filter(pk=visit_id).update(completed_at=timezone.now() - datetime.timedelta(hours=25))
    locked = api.put(url(clinic, f"visits/{visit_id}/note"), {"subjective": "late change"})
    assert locked.status_code == 409 and "locked" in locked.json()["detail"]


def test_a_visit_for_an_appointment_not_checked_in_is_409(api_client, clinic, doctor):
    appointment = AppointmentFactory(clinic=clinic, doctor=doctor, status=AppointmentStatus.SCHEDULED)
    response = api_client(doctor.user).post(url(clinic, "visits"), {"appointment_id": appointment.pk})
    assert response.status_code == 409 and "checked in" in response.json()["detail"]


def test_vitals_out_of_range_are_422_with_field_messages(api_client, clinic, make_member):
    patient = PatientFactory(clinic=clinic)
    response = api_client(make_member(Role.NURSE)).post(
        url(clinic, "vital-signs"), {"patient_id": patient.pk, "pulse_rate": 250, "oxygen_saturation": 60, "temperature_celsius": 44}
    )
    assert response.status_code == 422
    assert {problem["loc"][-1] for problem in response.json()["detail"]} == {"pulse_rate", "oxygen_saturation", "temperature_celsius"}


def test_allergy_lists_keep_unknown_and_none_apart(api_client, clinic, make_member):
    patient = PatientFactory(clinic=clinic)
    api = api_client(make_member(Role.NURSE))
    listing = api.get(url(clinic, f"patients/{patient.pk}/allergies"))
    assert listing.json() == {"allergy_status": "unknown", "items": []}
    assert api.post(url(clinic, f"patients/{patient.pk}/allergies/none")).json()["allergy_status"] == "no_known_allergies"
    created = api.post(
        url(clinic, f"patients/{patient.pk}/allergies"),
        {"substance": "Penicillin", "reaction": "Anaphylaxis", "severity": "life_threatening"},
    )
    assert created.status_code == 201 and created.json()["status"] == "active"
    assert api.get(url(clinic, f"patients/{patient.pk}/allergies")).json()["allergy_status"] == "has_allergies"
    assert api.post(url(clinic, f"patients/{patient.pk}/allergies/none")).status_code == 409
    patched = api.patch(url(clinic, f"patients/{patient.pk}/allergies/{created.json()['id']}"), {"status": "inactive"})
    assert patched.status_code == 200 and patched.json()["status"] == "inactive"
    bad = api.post(url(clinic, f"patients/{patient.pk}/allergies"), {"substance": "X", "severity": "deadly"})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"][-1] == "severity"
    for kind, body in (
        ("conditions", {"name": "Asthma", "icd10_code": "J45.9"}),
        ("medications", {"name": "Folic acid", "dose": "5 mg"}),
        ("immunizations", {"vaccine": "Tdap", "dose_number": 1}),
        ("procedures", {"name": "Laparoscopy", "status": "done"}),
    ):
        assert api.post(url(clinic, f"patients/{patient.pk}/{kind}"), body).status_code == 201
        assert len(api.get(url(clinic, f"patients/{patient.pk}/{kind}")).json()["items"]) == 1


@pytest.mark.parametrize("role", [Role.FRONT_DESK, Role.CRO, Role.BILLING, Role.ADMIN, Role.LAB])
def test_non_clinical_roles_get_403_and_no_clinical_words(api_client, clinic, make_member, doctor, role):
    patient = PatientFactory(clinic=clinic)
    from clinical import services

    services.history_item_save(kind="allergies", patient=patient, user=doctor.user, data={"substance": "Penicillin"})
    visit = services.visit_start(clinic=clinic, user=doctor.user, patient=patient)
    services.note_save(visit=visit, user=doctor.user, data={"assessment": "diagnosis text"})
    api = api_client(make_member(role))
    for path in (
        f"visits/{visit.pk}",
        f"patients/{patient.pk}/allergies",
        f"patients/{patient.pk}/vital-signs",
        f"patients/{patient.pk}/conditions",
    ):
        response = api.get(url(clinic, path))
        assert response.status_code == 403, path
        assert not any(word in response.content.decode() for word in CLINICAL_WORDS), path
    assert api.post(url(clinic, "vital-signs"), {"patient_id": patient.pk, "pulse_rate": 70}).status_code == 403


def test_another_clinics_visit_is_404(api_client, clinic, other_clinic):
    from clinical import services

    theirs = DoctorProfileFactory(clinic=other_clinic)
    visit = services.visit_start(clinic=other_clinic, user=theirs.user, patient=PatientFactory(clinic=other_clinic))
    mine = DoctorProfileFactory(clinic=clinic)
    assert api_client(mine.user).get(url(clinic, f"visits/{visit.pk}")).status_code == 404
