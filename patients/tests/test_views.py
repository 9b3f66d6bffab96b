import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from clinicos.models import ReadAccessLog
from clinicos.roles import Role
from patients import services
from patients.models import Document, Patient
from patients.tests.factories import MINIMAL_PDF, DocumentFactory, PatientFactory

pytestmark = pytest.mark.django_db
QUICK = {"first_name": "Anjali", "last_name": "Nair", "mobile": "98765 43210", "gender": "female", "date_of_birth": "1992-08-14"}


def test_front_desk_registers_with_the_quick_form_and_lands_on_the_chart(login, front_desk, clinic):
    client = login(front_desk)
    response = client.post(f"/c/{clinic.code}/patients/new/", QUICK, follow=True)
    patient = Patient.objects.get()
    assert response.redirect_chain[-1][0] == f"/c/{clinic.code}/patients/{patient.pk}/"
    assert f"is registered as {patient.uhid}" in response.content.decode()
    assert patient.mobile == "+919876543210"  # read as an Indian number, stored in E.164
    assert patient.created_by == front_desk and patient.country == "IN"


@pytest.mark.parametrize(
    "change, field, message",
    [
        ({"date_of_birth": "2999-01-01"}, "date_of_birth", "cannot be in the future"),
        ({"mobile": "call me"}, "mobile", "valid phone number"),
        ({"mobile": "+91 12345"}, "mobile", "not valid"),
        ({"date_of_birth": ""}, "date_of_birth", "or the age"),
        ({"first_name": ""}, "first_name", "required"),
        ({"gender": "robot"}, "gender", "valid choice"),
    ],
)
def test_bad_registration_input_shows_the_error_and_stores_nothing(login, front_desk, clinic, change, field, message):
    response = login(front_desk).post(f"/c/{clinic.code}/patients/new/", {**QUICK, **change})
    assert response.status_code == 400
    assert message in " ".join(response.context["form"].errors[field])
    assert not Patient.objects.exists()


def test_age_only_gives_an_estimated_birth_date(login, front_desk, clinic):
    login(front_desk).post(f"/c/{clinic.code}/patients/new/", {**QUICK, "date_of_birth": "", "age_years": "34"})
    patient = Patient.objects.get()
    # Pages show ages in the clinic's timezone (its day may already be tomorrow in UTC's).
    with timezone.override(clinic.tzinfo):
        assert patient.date_of_birth_is_estimated and patient.age_label == "~34 y"


def test_full_form_takes_every_section(login, front_desk, clinic, clinician):
    doctor = clinician.doctor_profiles.get()
    data = {
        **QUICK,
        "relation": "W/o",
        "relative_name": "Suresh Nair",
        "marital_status": "married",
        "blood_group": "B+",
        "national_id": "2345 6789 0123",
        "email": "anjali@example.test",
        "city": "Kochi",
        "state": "Kerala",
        "postal_code": "682001",
        "emergency_contact_name": "Suresh Nair",
        "emergency_contact_phone": "9811122233",
        "emergency_contact_relation": "Husband",
        "assigned_doctor": doctor.pk,
        "referring_doctor": "Dr. Menon",
    }
    response = login(front_desk).post(f"/c/{clinic.code}/patients/new/full/", data)
    assert response.status_code == 302
    patient = Patient.objects.get()
    assert (patient.relation, patient.assigned_doctor, patient.emergency_contact_phone) == ("W/o", doctor, "+919811122233")
    assert patient.national_id_last4 == "0123"


def test_another_clinics_doctor_cannot_be_assigned(login, front_desk, clinic, other_clinic):
    from clinicos.tests.factories import DoctorProfileFactory

    foreign_doctor = DoctorProfileFactory(clinic=other_clinic)
    response = login(front_desk).post(f"/c/{clinic.code}/patients/new/full/", {**QUICK, "assigned_doctor": foreign_doctor.pk})
    assert response.status_code == 400 and "assigned_doctor" in response.context["form"].errors


def test_duplicate_warning_links_to_the_existing_chart_and_can_be_overridden(login, front_desk, clinic):
    existing = PatientFactory(clinic=clinic, mobile="+919876543210")
    client = login(front_desk)
    response = client.post(f"/c/{clinic.code}/patients/new/", QUICK)
    assert response.status_code == 409
    assert f'href="/c/{clinic.code}/patients/{existing.pk}/"' in response.content.decode()
    assert Patient.objects.count() == 1
    response = client.post(f"/c/{clinic.code}/patients/new/", {**QUICK, "confirm_not_duplicate": "yes"})
    assert response.status_code == 302 and Patient.objects.count() == 2


def test_opening_a_chart_is_logged(login, clinician, clinic):
    patient = PatientFactory(clinic=clinic)
    response = login(clinician).get(f"/c/{clinic.code}/patients/{patient.pk}/", REMOTE_ADDR="10.1.2.3")
    assert response.status_code == 200 and patient.uhid in response.content.decode()
    entry = ReadAccessLog.objects.get()
    assert (entry.user, entry.patient_id, entry.action, entry.ip_address) == (clinician, patient.pk, "view", "10.1.2.3")
    # A tab opened on its own is a read too.
    login(clinician).get(f"/c/{clinic.code}/patients/{patient.pk}/tabs/documents/")
    assert ReadAccessLog.objects.filter(action="view_documents", patient_id=patient.pk, user=clinician).exists()


def test_chart_tabs_follow_the_role(login, make_member, clinic):
    patient = PatientFactory(clinic=clinic)
    tabs = lambda role: [t["key"] for t in login(make_member(role)).get(f"/c/{clinic.code}/patients/{patient.pk}/").context["tabs"]]  # noqa: E731
    assert tabs(Role.FRONT_DESK) == ["overview", "appointments", "documents", "billing", "messages", "history"]
    assert tabs(Role.BILLING) == ["overview", "appointments", "billing", "history"]  # identity, insurance and money; no documents
    assert "billing" not in tabs(Role.DOCTOR) and "billing" not in tabs(Role.NURSE)


def test_national_id_is_masked_for_roles_that_may_not_see_it(login, make_member, clinic, front_desk):
    patient = PatientFactory(clinic=clinic)
    services.patient_update(patient=patient, changes={}, national_id="234567890123")
    nurse_view = login(make_member(Role.NURSE)).get(f"/c/{clinic.code}/patients/{patient.pk}/tabs/overview/").content.decode()
    assert "XXXX-XXXX-0123" in nurse_view and "234567890123" not in nurse_view
    desk_view = login(front_desk).get(f"/c/{clinic.code}/patients/{patient.pk}/tabs/overview/").content.decode()
    assert "234567890123" in desk_view


def test_another_clinics_patient_is_a_404(login, front_desk, clinic, other_clinic):
    foreign = PatientFactory(clinic=other_clinic)
    client = login(front_desk)
    for path in ("", "tabs/overview/", "tabs/documents/", "edit/"):
        assert client.get(f"/c/{clinic.code}/patients/{foreign.pk}/{path}").status_code == 404
    assert client.post(f"/c/{clinic.code}/patients/{foreign.pk}/archive/").status_code == 404
    assert Patient.objects.get(pk=foreign.pk).status == "active"


def test_edits_show_in_the_history_tab(login, front_desk, clinic):
    patient = PatientFactory(clinic=clinic, city="Kochi")
    client = login(front_desk)
    data = {field: getattr(patient, field) or "" for field in ("first_name", "last_name", "gender", "mobile")}
    response = client.post(f"/c/{clinic.code}/patients/{patient.pk}/edit/", {**data, "date_of_birth": "1990-05-17", "city": "Thrissur"})
    assert response.status_code == 302
    history = client.get(f"/c/{clinic.code}/patients/{patient.pk}/tabs/history/").content.decode()
    assert '<span class="old">Kochi</span>' in history and "Thrissur" in history and front_desk.full_name in history


def test_archived_patients_leave_the_default_list_and_come_back(login, front_desk, clinic):
    patient = PatientFactory(clinic=clinic, first_name="Archie")
    client = login(front_desk)
    client.post(f"/c/{clinic.code}/patients/{patient.pk}/archive/")
    assert patient not in client.get(f"/c/{clinic.code}/patients/").context["page"]
    assert patient in client.get(f"/c/{clinic.code}/patients/?status=archived").context["page"]
    client.post(f"/c/{clinic.code}/patients/{patient.pk}/unarchive/")
    assert Patient.objects.get(pk=patient.pk).status == "active"


def test_list_page_query_count_does_not_grow_with_patients(login, front_desk, clinic, clinician, django_assert_max_num_queries):
    client = login(front_desk)
    doctor = clinician.doctor_profiles.get()
    PatientFactory.create_batch(30, clinic=clinic, assigned_doctor=doctor)
    with django_assert_max_num_queries(10):
        response = client.get(f"/c/{clinic.code}/patients/?sort=-registered")
    assert len(response.context["page"]) == 25


def test_quick_search_returns_matching_patients(login, front_desk, clinic):
    PatientFactory(clinic=clinic, first_name="Priyanka", mobile="+919812345678")
    body = login(front_desk).get(f"/c/{clinic.code}/patients/search/?q=5678").content.decode()
    assert "Priyanka" in body
    assert "No patient matches" in login(front_desk).get(f"/c/{clinic.code}/patients/search/?q=zzzz").content.decode()


def test_list_rejects_a_reversed_date_range(login, front_desk, clinic):
    response = login(front_desk).get(f"/c/{clinic.code}/patients/?registered_from=2026-05-01&registered_to=2026-04-01")
    assert response.status_code == 400


# --- Documents ---------------------------------------------------------------------------


def test_upload_download_and_remove_a_document(login, front_desk, clinic):
    patient = PatientFactory(clinic=clinic)
    client = login(front_desk)
    upload = SimpleUploadedFile("Blood test.pdf", MINIMAL_PDF, content_type="application/pdf")
    response = client.post(f"/c/{clinic.code}/patients/{patient.pk}/documents/", {"file": upload, "document_type": "lab_report"})
    assert response.status_code == 302
    document = Document.objects.get()
    assert document.name == "Blood test" and document.uploaded_by == front_desk
    download = client.get(f"/c/{clinic.code}/patients/{patient.pk}/documents/{document.pk}/")
    assert download.status_code == 200 and b"".join(download.streaming_content) == MINIMAL_PDF
    assert 'attachment; filename="Blood test.pdf"' in download["Content-Disposition"]
    assert ReadAccessLog.objects.filter(action="download", patient_id=patient.pk).exists()
    client.post(f"/c/{clinic.code}/patients/{patient.pk}/documents/{document.pk}/delete/")
    assert client.get(f"/c/{clinic.code}/patients/{patient.pk}/documents/{document.pk}/").status_code == 404
    assert Document.objects.get().is_deleted


def test_bad_upload_shows_the_error_and_stores_nothing(login, front_desk, clinic):
    patient = PatientFactory(clinic=clinic)
    fake = SimpleUploadedFile("invoice.pdf", b"MZ" + b"\x00" * 50)
    response = login(front_desk).post(f"/c/{clinic.code}/patients/{patient.pk}/documents/", {"file": fake, "document_type": "other"})
    assert response.status_code == 400 and "Only PDF, JPEG, PNG and WebP" in response.content.decode()
    assert not Document.objects.exists()


def test_another_clinics_document_id_is_a_404(login, front_desk, clinic, other_clinic):
    mine = PatientFactory(clinic=clinic)
    foreign_document = DocumentFactory(clinic=other_clinic, patient__clinic=other_clinic)
    client = login(front_desk)
    assert client.get(f"/c/{clinic.code}/patients/{mine.pk}/documents/{foreign_document.pk}/").status_code == 404
    assert client.post(f"/c/{clinic.code}/patients/{mine.pk}/documents/{foreign_document.pk}/delete/").status_code == 404
    assert not Document.objects.get(pk=foreign_document.pk).is_deleted


def test_insurers_are_managed_by_admins_and_billing(login, make_member, clinic):
    client = login(make_member(Role.BILLING))
    response = client.post(f"/c/{clinic.code}/insurers/new/", {"name": "Star Health", "is_active": "on"})
    assert response.status_code == 302
    duplicate = client.post(f"/c/{clinic.code}/insurers/new/", {"name": "star health", "is_active": "on"})
    assert duplicate.status_code == 400 and "already has an insurer" in duplicate.content.decode()


def test_registration_date_defaults_to_the_clinics_today(login, front_desk, clinic):
    login(front_desk).post(f"/c/{clinic.code}/patients/new/", QUICK)
    from django.utils import timezone

    assert Patient.objects.get().registration_date == timezone.localdate(timezone.now(), clinic.tzinfo)
    assert isinstance(Patient.objects.get().registration_date, datetime.date)
