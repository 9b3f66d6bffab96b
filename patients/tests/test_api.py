import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from clinicos.models import ReadAccessLog
from clinicos.roles import Role
from patients.models import Document, Patient
from patients.tests.factories import MINIMAL_PDF, DocumentFactory, PatientFactory

pytestmark = pytest.mark.django_db
NEW = {"first_name": "Ritu", "last_name": "Kapoor", "gender": "female", "date_of_birth": "1988-02-29", "mobile": "9876501234"}


@pytest.fixture
def api(api_client, front_desk):
    """The front desk's integration: a bearer token from POST /api/v1/auth/login."""
    return api_client(front_desk)


def test_create_answers_201_with_id_and_uhid(api, clinic):
    response = api.post(f"/api/v1/clinics/{clinic.code}/patients", NEW, content_type="application/json")
    assert response.status_code == 201
    body = response.json()
    patient = Patient.objects.get()
    assert body["id"] == patient.pk and body["uhid"] == patient.uhid
    assert body["mobile"] == "+919876501234" and body["date_of_birth"] == "1988-02-29"


def test_create_with_bad_input_answers_422_with_field_messages(api, clinic):
    bad = {**NEW, "date_of_birth": "2999-01-01", "mobile": "nope", "email": "x@"}
    response = api.post(f"/api/v1/clinics/{clinic.code}/patients", bad, content_type="application/json")
    assert response.status_code == 422
    fields = {error["loc"][-1] for error in response.json()["detail"]}
    assert {"date_of_birth", "mobile", "email"} <= fields
    assert not Patient.objects.exists()
    wrong_type = api.post(f"/api/v1/clinics/{clinic.code}/patients", {**NEW, "date_of_birth": "yesterday"}, content_type="application/json")
    assert wrong_type.status_code == 422


def test_create_duplicate_answers_409_listing_the_match(api, clinic):
    existing = PatientFactory(clinic=clinic, mobile="+919876501234")
    response = api.post(f"/api/v1/clinics/{clinic.code}/patients", NEW, content_type="application/json")
    assert response.status_code == 409
    assert response.json()["duplicates"] == [{"id": existing.pk, "uhid": existing.uhid, "full_name": existing.full_name}]
    forced = api.post(f"/api/v1/clinics/{clinic.code}/patients", {**NEW, "allow_duplicate": True}, content_type="application/json")
    assert forced.status_code == 201


def test_list_searches_and_pages(api, clinic, other_clinic):
    PatientFactory(clinic=clinic, first_name="Ritika", mobile="+919800000777")
    PatientFactory(clinic=clinic, first_name="Mohan")
    PatientFactory(clinic=other_clinic, first_name="Ritika")
    body = api.get(f"/api/v1/clinics/{clinic.code}/patients?search=riti&page=1").json()
    assert body["count"] == 1 and body["results"][0]["first_name"] == "Ritika"
    assert api.get(f"/api/v1/clinics/{clinic.code}/patients?search=0777").json()["count"] == 1
    assert api.get(f"/api/v1/clinics/{clinic.code}/patients").json()["count"] == 2


def test_detail_is_logged_and_other_clinics_patients_are_404(api, clinic, other_clinic):
    mine, foreign = PatientFactory(clinic=clinic), PatientFactory(clinic=other_clinic)
    assert api.get(f"/api/v1/clinics/{clinic.code}/patients/{mine.pk}").json()["uhid"] == mine.uhid
    assert ReadAccessLog.objects.filter(patient_id=mine.pk).exists()
    response = api.get(f"/api/v1/clinics/{clinic.code}/patients/{foreign.pk}")
    assert response.status_code == 404 and response.json() == {"detail": "Not found."}


def test_patch_changes_fields_and_archives(api, clinic):
    patient = PatientFactory(clinic=clinic, city="Pune")
    response = api.patch(
        f"/api/v1/clinics/{clinic.code}/patients/{patient.pk}", {"city": "Nagpur", "status": "archived"}, content_type="application/json"
    )
    assert response.status_code == 200
    assert (response.json()["city"], response.json()["status"]) == ("Nagpur", "archived")
    bad = api.patch(
        f"/api/v1/clinics/{clinic.code}/patients/{patient.pk}", {"date_of_birth": "2999-01-01"}, content_type="application/json"
    )
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "date_of_birth"]
    assert Patient.objects.get(pk=patient.pk).date_of_birth.year == 1990


def test_national_id_in_the_api_follows_the_role(api, api_client, clinic, make_member):
    created = api.post(f"/api/v1/clinics/{clinic.code}/patients", {**NEW, "national_id": "234567890123"}).json()
    assert created["national_id"] == "234567890123"
    billing = api_client(make_member(Role.BILLING))
    assert billing.get(f"/api/v1/clinics/{clinic.code}/patients/{created['id']}").json()["national_id"] == "XXXX-XXXX-0123"


def test_document_upload_list_download_and_soft_delete(api, clinic):
    patient = PatientFactory(clinic=clinic)
    base = f"/api/v1/clinics/{clinic.code}/patients/{patient.pk}/documents"
    upload = SimpleUploadedFile("consent.pdf", MINIMAL_PDF, content_type="application/pdf")
    created = api.post(base, {"file": upload, "name": "Consent", "document_type": "consent"})
    assert created.status_code == 201
    doc_id = created.json()["id"]
    assert [d["id"] for d in api.get(base).json()] == [doc_id]
    download = api.get(f"{base}/{doc_id}/download")
    assert download.status_code == 200 and b"".join(download.streaming_content) == MINIMAL_PDF
    assert api.delete(f"{base}/{doc_id}").status_code == 204
    assert api.get(base).json() == []
    assert Document.objects.get(pk=doc_id).is_deleted


def test_document_bad_inputs_answer_422(api, clinic, settings):
    patient = PatientFactory(clinic=clinic)
    base = f"/api/v1/clinics/{clinic.code}/patients/{patient.pk}/documents"
    exe = SimpleUploadedFile("report.pdf", b"\x7fELF" + b"\x00" * 40)
    response = api.post(base, {"file": exe, "document_type": "lab_report"})
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["body", "file"]
    settings.DOCUMENT_MAX_UPLOAD_BYTES = 100
    big = SimpleUploadedFile("big.pdf", MINIMAL_PDF + b"x" * 500)
    assert api.post(base, {"file": big, "document_type": "lab_report"}).status_code == 422
    bad_type = SimpleUploadedFile("ok.pdf", MINIMAL_PDF)
    assert api.post(base, {"file": bad_type, "document_type": "selfie"}).status_code == 422
    assert not Document.objects.exists()


def test_another_clinics_document_id_is_a_404_in_the_api(api, clinic, other_clinic):
    mine = PatientFactory(clinic=clinic)
    foreign = DocumentFactory(clinic=other_clinic, patient__clinic=other_clinic)
    base = f"/api/v1/clinics/{clinic.code}/patients/{mine.pk}/documents/{foreign.pk}"
    assert api.get(f"{base}/download").status_code == 404
    assert api.delete(base).status_code == 404
