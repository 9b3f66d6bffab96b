"""The audit trail holds sign-ins (and failures, sign-outs, API tokens) with the address they
came from and never a password; each change names the chart it belongs to, so one patient's
trail can be read on the page (by UHID) and through the API (admins only, by a bearer token)."""

import datetime

import pytest

from clinical import services as clinical
from clinicos.models import AuditLog
from clinicos.roles import Role
from clinicos.tests.factories import TEST_PASSWORD
from patients.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


def test_sign_ins_sign_outs_and_failures_are_on_the_trail_without_the_password(client, clinic, front_desk):
    client.post("/accounts/login/", {"login": front_desk.email, "password": "Wrong-Guess-99!"}, REMOTE_ADDR="203.0.113.9")
    failed = AuditLog.objects.get(action=AuditLog.Action.LOGIN_FAILED)
    assert (failed.clinic_id, failed.user_id, failed.ip_address) == (clinic.pk, front_desk.pk, "203.0.113.9")
    assert "Wrong-Guess" not in str(failed.changes) + failed.entity_repr
    client.post("/accounts/login/", {"login": front_desk.email, "password": TEST_PASSWORD})
    assert AuditLog.objects.filter(action=AuditLog.Action.LOGIN, user=front_desk, clinic=clinic).count() == 1
    client.post("/accounts/logout/")
    assert AuditLog.objects.filter(action=AuditLog.Action.LOGOUT, user=front_desk, clinic=clinic).count() == 1
    client.post("/accounts/login/", {"login": "nobody@example.com", "password": "x"})
    stranger = AuditLog.objects.get(action=AuditLog.Action.LOGIN_FAILED, user=None)
    assert stranger.clinic_id is None and stranger.entity_repr == "nobody@example.com"


def test_an_api_token_is_on_the_trail(api_client, clinic, front_desk):
    api_client(front_desk)
    assert AuditLog.objects.filter(action=AuditLog.Action.TOKEN, user=front_desk, clinic=clinic).exists()


@pytest.fixture
def trail(clinic, make_member):
    doctor = make_member(Role.DOCTOR)
    patient, other = PatientFactory(clinic=clinic), PatientFactory(clinic=clinic)
    clinical.history_item_save(kind="allergies", patient=patient, user=doctor, data={"substance": "Latex", "severity": "mild"})
    clinical.history_item_save(kind="allergies", patient=other, user=doctor, data={"substance": "Iodine", "severity": "mild"})
    return patient, other


def test_one_patients_trail_through_the_api(api_client, clinic, clinic_admin, other_clinic, trail):
    patient, other = trail
    api = api_client(clinic_admin)
    answer = api.get(f"/api/v1/clinics/{clinic.code}/audit?patient_id={patient.pk}")
    assert answer.status_code == 200
    body = answer.json()
    assert body["count"] >= 2 and {entry["patient_id"] for entry in body["results"]} == {patient.pk}
    assert any(entry["entity_type"] == "clinical.allergy" and "Latex" in entry["entity_repr"] for entry in body["results"])
    assert body["results"][0]["at"].endswith("+05:30")  # the clinic's zone
    elsewhere = PatientFactory(clinic=other_clinic)
    assert api.get(f"/api/v1/clinics/{clinic.code}/audit?patient_id={elsewhere.pk}").status_code == 404
    assert api.get(f"/api/v1/clinics/{clinic.code}/audit?since=2026-12-05&until=2026-12-01").status_code == 422
    today = clinic.today()
    assert api.get(f"/api/v1/clinics/{clinic.code}/audit?since={today - datetime.timedelta(days=1)}&until={today}").json()["count"] >= 4


def test_the_audit_api_is_for_administrators(api_client, clinic, front_desk):
    assert api_client(front_desk).get(f"/api/v1/clinics/{clinic.code}/audit").status_code == 403


def test_the_page_shows_one_patients_trail_by_uhid(client, clinic, clinic_admin, trail):
    patient, other = trail
    client.force_login(clinic_admin)
    page = client.get(f"/c/{clinic.code}/audit/", {"patient": patient.uhid})
    assert page.status_code == 200
    text = page.content.decode()
    assert "Latex" in text and "Iodine" not in text
    bad = client.get(f"/c/{clinic.code}/audit/", {"patient": "NOPE-1"})
    assert bad.status_code == 400 and "No patient of this clinic has the UHID NOPE-1." in bad.content.decode()


def test_a_changed_time_reads_in_the_clinics_zone(clinic):
    from scheduling.tests.factories import AppointmentFactory

    clinic.timezone = "Asia/Kolkata"
    clinic.save()
    start = datetime.datetime(2026, 12, 7, 4, 30, tzinfo=datetime.UTC)  # 10:00 in Kolkata
    appointment = AppointmentFactory(clinic=clinic, starts_at=start, ends_at=start + datetime.timedelta(minutes=30))
    appointment.starts_at = start + datetime.timedelta(hours=1)
    appointment.ends_at = appointment.starts_at + datetime.timedelta(minutes=30)
    appointment.save()
    change = AuditLog.objects.filter(entity_type="scheduling.appointment", action=AuditLog.Action.UPDATE).latest("created_at")
    assert change.changes["starts_at"]["old"] == "07 Dec 2026 10:00 IST"
    assert change.changes["starts_at"]["new"] == "07 Dec 2026 11:00 IST"


def test_the_charts_history_tab_shows_an_administrator_the_whole_trail_and_who_opened_it(client, clinic, clinic_admin, front_desk, trail):
    patient, other = trail
    client.force_login(front_desk)
    client.get(f"/c/{clinic.code}/patients/{patient.pk}/")  # the front desk opens the chart
    desk_view = client.get(f"/c/{clinic.code}/patients/{patient.pk}/tabs/history/").content.decode()
    assert "Registered" in desk_view and "Latex" not in desk_view and "Who opened this chart" not in desk_view
    client.force_login(clinic_admin)
    admin_view = client.get(f"/c/{clinic.code}/patients/{patient.pk}/tabs/history/").content.decode()
    assert "Allergy · Latex" in admin_view and "Iodine" not in admin_view
    assert "Who opened this chart" in admin_view and front_desk.full_name in admin_view
    assert f"?patient={patient.uhid}" in admin_view
