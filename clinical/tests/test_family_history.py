"""Family history: a list of the medical history (relation, condition, ICD-10 optional,
notes), on the chart's tab, through the API with a bearer token, and on the summary and its PDF."""

import io

import pytest
from pypdf import PdfReader

from clinical.models import FamilyHistory
from clinicos.roles import Role
from clinicos.tests.factories import DoctorProfileFactory
from patients.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


def api_url(clinic, path):
    return f"/api/v1/clinics/{clinic.code}/{path}"


def test_family_history_through_the_api(api_client, clinic, make_member, other_clinic):
    patient = PatientFactory(clinic=clinic)
    api = api_client(make_member(Role.NURSE))
    base = api_url(clinic, f"patients/{patient.pk}/family-history")
    assert api.get(base).json() == {"items": []}
    created = api.post(base, {"relation": "mother", "condition": "Type 2 diabetes", "icd10_code": "e11.9", "notes": "Diagnosed at 50"})
    assert created.status_code == 201, created.content
    entry = created.json()
    assert (entry["relation"], entry["condition"], entry["icd10_code"], entry["status"]) == ("mother", "Type 2 diabetes", "E11.9", "active")
    for body, field in (
        ({"relation": "neighbour", "condition": "Asthma"}, "relation"),
        ({"relation": "father", "condition": ""}, "condition"),
        ({"relation": "father", "condition": "Gout", "icd10_code": "ZZZ"}, "icd10_code"),
    ):
        refused = api.post(base, body)
        assert refused.status_code == 422 and refused.json()["detail"][0]["loc"][-1] == field, (body, refused.content)
    assert FamilyHistory.objects.filter(patient=patient).count() == 1
    patched = api.patch(f"{base}/{entry['id']}", {"relation": "father"})
    assert patched.status_code == 200 and patched.json()["relation"] == "father"
    summary = api.get(api_url(clinic, f"patients/{patient.pk}/summary")).json()
    assert [(f["relation"], f["condition"]) for f in summary["family_history"]] == [("father", "Type 2 diabetes")]
    assert api.patch(f"{base}/{entry['id']}", {"status": "inactive"}).json()["status"] == "inactive"
    assert api.get(api_url(clinic, f"patients/{patient.pk}/summary")).json()["family_history"] == []
    # another clinic's patient is a 404, a front desk member a 403
    stranger = PatientFactory(clinic=other_clinic)
    assert api.get(api_url(clinic, f"patients/{stranger.pk}/family-history")).status_code == 404
    assert api_client(make_member(Role.FRONT_DESK)).get(base).status_code == 403


def test_family_history_on_the_tab_the_summary_and_its_pdf(client, clinic, make_member):
    doctor = DoctorProfileFactory(clinic=clinic)
    patient = PatientFactory(clinic=clinic)
    patient_page = f"/c/{clinic.code}/patients/{patient.pk}/"
    client.force_login(doctor.user)
    refused = client.post(patient_page + "history/family-history/new/", {"relation": "", "condition": "Breast cancer", "status": "active"})
    assert refused.status_code == 422 and "This field is required" in refused.content.decode()
    saved = client.post(
        patient_page + "history/family-history/new/",
        {"relation": "sister", "condition": "Breast cancer", "icd10_code": "C50.9", "status": "active", "notes": "BRCA1"},
    )
    assert saved.status_code == 200 and "Sister" in saved.content.decode() and "Breast cancer" in saved.content.decode()
    tab = client.get(patient_page + "tabs/medical-history/").content.decode()
    assert "Family history" in tab and "Sister</strong>: Breast cancer" in tab
    summary = client.get(patient_page + "tabs/summary/").content.decode()
    assert "Family history" in summary and "Sister: Breast cancer" in summary
    pdf = client.get(patient_page + "summary.pdf")
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "Family history" in text and "Sister: Breast cancer" in text
