"""Importing another system's patients and appointments: a dry run lists each row's problems
and the duplicates and writes nothing; the import goes through the same services as the pages;
a second run of the same file creates nothing twice."""

import datetime
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import Workbook

from clinicos.tests.factories import DoctorProfileFactory, UserFactory
from patients.models import Patient
from patients.tests.factories import PatientFactory
from reporting.models import DataImport, ImportMapping
from reporting.tasks import run_data_import
from scheduling.models import Appointment

pytestmark = pytest.mark.django_db

HEADER = "Patient No;Given name;Surname;Phone;Sex;DOB;ABHA;City\n"


def patients_csv(rows: int, bad_every: int = 0) -> bytes:
    lines = [HEADER]
    for n in range(rows):
        phone = "12" if bad_every and n % bad_every == 0 else f"98450{n:05d}"
        lines.append(f"P{n};Asha{n};=Rao;{phone};F;{(n % 28) + 1:02d}/03/1990;;Mysuru\n")
    return "".join(lines).encode("utf-8")


def upload(api, clinic, content: bytes, *, name="patients.csv", kind="patients", dry_run=True, **extra):
    data = {"file": SimpleUploadedFile(name, content), "kind": kind, "dry_run": "true" if dry_run else "false", **extra}
    return api.client.post(f"/api/v1/clinics/{clinic.code}/imports", data, HTTP_AUTHORIZATION=f"Bearer {api.token}")


def test_a_dry_run_lists_problems_and_duplicates_and_writes_nothing(api_client, clinic_admin, clinic):
    PatientFactory(clinic=clinic, first_name="Asha1", last_name="=Rao", mobile="+919845000001", date_of_birth=datetime.date(1990, 3, 2))
    before = Patient.objects.count()
    answer = upload(api_client(clinic_admin), clinic, patients_csv(30, bad_every=10))
    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert (body["status"], body["dry_run"], body["rows"]) == ("checked", True, 30)
    assert {(e["row"], e["field"]) for e in body["errors"]} == {(2, "mobile"), (12, "mobile"), (22, "mobile")}  # row 1 is the header
    assert body["duplicates"] == 1 and body["duplicate_rows"][0]["reason"] == "same phone, name and birth date"
    assert body["created"] == 26 and body["mapping"]["first_name"] == "Given name" and body["mapping"]["source_id"] == "Patient No"
    assert Patient.objects.count() == before


def test_the_import_creates_through_the_services_and_a_rerun_creates_nothing_twice(api_client, clinic_admin, clinic):
    api = api_client(clinic_admin)
    queued = upload(api, clinic, patients_csv(40, bad_every=20), dry_run=False)
    assert queued.status_code == 202 and queued.json()["status"] == "queued"
    import_id = queued.json()["id"]
    run_data_import.call(import_id)
    done = api.get(f"/api/v1/clinics/{clinic.code}/imports/{import_id}").json()
    assert (done["status"], done["created"], done["updated"], len(done["errors"])) == ("completed", 38, 0, 2)
    imported = Patient.objects.filter(clinic=clinic, external_reference="P1").get()
    assert imported.mobile == "+919845000001" and imported.gender == "female" and imported.date_of_birth == datetime.date(1990, 3, 2)
    assert imported.uhid.startswith("JAN-") and imported.last_name == "=Rao"  # stored as typed; exports neutralise it
    # Registered a batch at once, yet as the page registers one: history, audit line, person, name key.
    from clinicos.models import AuditLog
    from patients.models import PatientNameKey

    assert imported.history.count() == 1 and imported.person.phone == imported.mobile
    assert AuditLog.objects.filter(
        entity_type="patients.patient", entity_id=str(imported.pk), action="create", patient_id=imported.pk
    ).exists()
    assert PatientNameKey.objects.filter(clinic=clinic, search_name=imported.search_name).exists()
    uhids = sorted(Patient.objects.filter(clinic=clinic).values_list("uhid", flat=True))
    assert uhids == [f"JAN-{imported.registration_date.year}-{n:03d}" for n in range(1, 39)]  # in order, no gap
    again = upload(api, clinic, patients_csv(40, bad_every=20).replace(b"Mysuru", b"Mandya"), dry_run=False)
    run_data_import.call(again.json()["id"])
    second = api.get(f"/api/v1/clinics/{clinic.code}/imports/{again.json()['id']}").json()
    assert second["created"] == 0 and second["updated"] == 38
    assert Patient.objects.filter(clinic=clinic).count() == 38 and Patient.objects.get(pk=imported.pk).city == "Mandya"


def test_xlsx_and_a_saved_mapping(api_client, clinic_admin, clinic, login):
    book = Workbook()
    sheet = book.active
    sheet.append(["Reg", "Name", "Family", "Contact", "Gender", "Birth"])
    sheet.append(["X1", "Kiran", "Shah", "9845012399", "M", datetime.date(1985, 5, 1)])
    content = io.BytesIO()
    book.save(content)
    api = api_client(clinic_admin)
    mapping = '{"source_id": "Reg", "first_name": "Name", "last_name": "Family", "mobile": "Contact", "gender": "Gender", "date_of_birth": "Birth"}'
    answer = upload(api, clinic, content.getvalue(), name="old.xlsx", mapping=mapping)
    assert answer.status_code == 201 and answer.json()["created"] == 1 and not answer.json()["errors"], answer.content
    assert upload(api, clinic, content.getvalue(), name="old.xlsx", mapping='{"first_name": "Nope"}').status_code == 422
    assert upload(api, clinic, content.getvalue(), name="old.xlsx", mapping="not json").status_code == 422
    assert upload(api, clinic, b"\x00\x01binary", name="x.csv").status_code == 422
    assert upload(api, clinic, b"only,a,header\n", name="x.csv").status_code == 422


def test_appointments_refuse_unknown_doctors_and_double_bookings_row_by_row(api_client, clinic_admin, clinic):
    from scheduling import services as scheduling_services

    doctor = DoctorProfileFactory(clinic=clinic, user=UserFactory(full_name="Kavya Rao", email="kavya@example.com"))
    for weekday in range(7):
        scheduling_services.working_hours_add(doctor=doctor, weekday=weekday, start_time=datetime.time(9), end_time=datetime.time(17))
    PatientFactory(clinic=clinic, external_reference="P1")
    day = (clinic.today() + datetime.timedelta(days=3)).isoformat()
    content = (
        "ID,Patient,Doctor,Start,Minutes\n"
        f"A1,P1,Kavya Rao,{day} 10:00,30\n"
        f"A2,P1,kavya@example.com,{day} 10:00,30\n"  # the same time: refused
        f"A3,P1,Dr Nobody,{day} 11:00,30\n"
        f"A4,P9,Kavya Rao,{day} 12:00,30\n"
    ).encode()
    api = api_client(clinic_admin)
    dry = upload(api, clinic, content, name="appointments.csv", kind="appointments").json()
    assert dry["created"] == 1 and {(e["row"], e["field"]) for e in dry["errors"]} == {(3, "start"), (4, "doctor"), (5, "patient")}
    assert not Appointment.objects.exists()  # the dry run kept nothing, yet saw A2 clash with A1
    queued = upload(api, clinic, content, name="appointments.csv", kind="appointments", dry_run=False).json()
    run_data_import.call(queued["id"])
    done = DataImport.objects.get(pk=queued["id"])
    assert done.created == 1 and {(p["row"], p["field"]) for p in done.problems} == {(3, "start"), (4, "doctor"), (5, "patient")}
    assert Appointment.objects.get().external_reference == "A1"
    again = upload(api, clinic, content, name="appointments.csv", kind="appointments", dry_run=False).json()
    run_data_import.call(again["id"])
    assert Appointment.objects.count() == 1  # nothing twice


def test_only_administrators_import(api_client, front_desk, clinic):
    api = api_client(front_desk)
    assert upload(api, clinic, patients_csv(2)).status_code == 403
    assert not ImportMapping.objects.exists()


def test_the_import_pages_upload_map_check_and_import(login, clinic_admin, clinic, django_capture_on_commit_callbacks):
    client = login(clinic_admin)
    assert client.post(f"/c/{clinic.code}/settings/import/", {"kind": "patients"}).status_code == 422  # no file
    answer = client.post(
        f"/c/{clinic.code}/settings/import/", {"kind": "patients", "file": SimpleUploadedFile("old.csv", patients_csv(5, bad_every=4))}
    )
    detail_url = answer.url
    page = client.get(detail_url).content.decode()
    assert 'name="map_first_name"' in page and '<option value="Given name" selected>' in page
    wrong = client.post(detail_url, {"action": "check", "map_source_id": "Patient No", "map_first_name": ""})
    assert wrong.status_code == 422 and "Choose the column for" in wrong.content.decode()
    mapping = {
        "map_source_id": "Patient No",
        "map_first_name": "Given name",
        "map_last_name": "Surname",
        "map_mobile": "Phone",
        "map_gender": "Sex",
        "map_date_of_birth": "DOB",
    }
    checked = client.post(detail_url, {"action": "check", **mapping}, follow=True).content.decode()
    assert "3 to create" in checked and "2 row problems" in checked and "<td>mobile</td>" in checked
    assert ImportMapping.objects.get(clinic=clinic, kind="patients").mapping["first_name"] == "Given name"
    with django_capture_on_commit_callbacks(execute=True):
        client.post(detail_url, {"action": "import", **mapping})
    data_import = DataImport.objects.get()
    assert data_import.status == "queued"
    run_data_import.call(data_import.pk)
    assert "3 created" in client.get(detail_url).content.decode()
