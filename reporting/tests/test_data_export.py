"""The full export: an administrator asks, the worker builds one ZIP (a CSV per table,
formula-safe; FHIR NDJSON per resource type; the documents), the page shows it ready, the
download is logged; other roles and other clinics get nothing."""

import csv
import io
import json
import zipfile

import pytest

from clinicos.models import AuditLog, ReadAccessLog
from patients.tests.factories import DocumentFactory, PatientFactory
from reporting.interop import export
from reporting.models import DataExport
from reporting.tests.test_task_tenancy import busy_clinic

pytestmark = pytest.mark.django_db


def test_the_export_holds_every_table_the_fhir_records_and_the_documents(
    clinic, clinic_admin, login, django_capture_on_commit_callbacks, run_worker, other_clinic
):
    made = busy_clinic(clinic, "Meera")
    hostile = PatientFactory(clinic=clinic, first_name='=HYPERLINK("http://x")', last_name="Doe")
    document = DocumentFactory(clinic=clinic, patient=hostile)
    busy_clinic(other_clinic, "Bronwyn")
    client = login(clinic_admin)
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(f"/c/{clinic.code}/settings/data-export/").status_code == 302
        client.post(f"/c/{clinic.code}/settings/data-export/")  # a second click while it builds: the same export
    assert DataExport.objects.count() == 1
    assert AuditLog.objects.filter(entity_type="reporting.dataexport", action="create").exists()
    run_worker()
    data_export = DataExport.objects.get()
    assert data_export.status == "completed" and data_export.progress == 100, data_export.error
    page = client.get(f"/c/{clinic.code}/settings/data-export/").content.decode()
    assert "Download" in page
    answer = client.get(f"/c/{clinic.code}/settings/data-export/{data_export.pk}/download/")
    assert answer.status_code == 200 and ReadAccessLog.objects.filter(action="download", entity_type="reporting.dataexport").exists()
    archive = zipfile.ZipFile(io.BytesIO(b"".join(answer.streaming_content)))
    names = set(archive.namelist())
    assert {
        "patients.csv",
        "appointments.csv",
        "visits_and_notes.csv",
        "vitals.csv",
        "prescriptions.csv",
        "lab_results.csv",
        "invoices.csv",
        "payments.csv",
        "documents.csv",
        "README.txt",
    } <= names
    patients = list(csv.DictReader(io.StringIO(archive.read("patients.csv").decode("utf-8-sig"))))
    assert {p["uhid"] for p in patients} == set(PatientFactory._meta.model.objects.filter(clinic=clinic).values_list("uhid", flat=True))
    assert "Bronwyn" not in archive.read("patients.csv").decode("utf-8-sig")  # another clinic's patient
    assert any(p["first_name"] == '\'=HYPERLINK("http://x")' for p in patients)  # text, never a formula
    invoices = archive.read("invoices.csv").decode("utf-8-sig")
    assert made["invoice_number"] in invoices
    fhir_patients = [json.loads(line) for line in archive.read("fhir/Patient.ndjson").decode().splitlines()]
    assert len(fhir_patients) == len(patients) and "fhir/Observation.ndjson" in names and "fhir/Invoice.ndjson" in names
    document_files = [name for name in names if name.startswith("documents/") and name != "documents.csv"]
    assert len(document_files) == 1 and archive.read(document_files[0]) == document.file.open("rb").read()


def test_only_administrators_export_and_not_another_clinics(clinic, clinic_admin, front_desk, login, outsider):
    data_export, _ = export.data_export_request(clinic=clinic, user=clinic_admin)
    assert login(front_desk).get(f"/c/{clinic.code}/settings/data-export/").status_code == 403
    assert login(outsider).get(f"/c/XYZ02/settings/data-export/{data_export.pk}/download/").status_code == 404
    # Not ready yet: the page says so instead of a broken download.
    follow = login(clinic_admin).get(f"/c/{clinic.code}/settings/data-export/{data_export.pk}/download/", follow=True)
    assert "not ready yet" in follow.content.decode()


def test_the_export_re_imports_into_an_empty_clinic_with_the_same_patients(clinic, clinic_admin, other_clinic, outsider):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from patients.models import Patient
    from reporting.interop import imports

    for n in range(6):
        PatientFactory(clinic=clinic, first_name=f"Asha{n}", abha_number=f"9112345678901{n}")
    data_export, _ = export.data_export_request(clinic=clinic, user=clinic_admin)
    export.data_export_build(export_id=data_export.pk)
    data_export.refresh_from_db()
    with data_export.file.open("rb") as source:
        patients_csv = zipfile.ZipFile(source).read("patients.csv")
    empty = other_clinic
    data_import = imports.import_upload(
        clinic=empty, user=outsider, kind="patients", upload=SimpleUploadedFile("patients.csv", patients_csv)
    )
    assert data_import.mapping["source_id"] == "uhid"
    imports.import_run(import_id=data_import.pk, write=True)
    mine = sorted(Patient.objects.filter(clinic=clinic).values_list("first_name", "last_name", "mobile", "date_of_birth", "abha_number"))
    theirs = sorted(Patient.objects.filter(clinic=empty).values_list("first_name", "last_name", "mobile", "date_of_birth", "abha_number"))
    assert theirs == mine and len(theirs) == 6
