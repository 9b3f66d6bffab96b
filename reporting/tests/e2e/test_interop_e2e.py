"""End to end in Chromium: the administrator imports patients from another system's CSV
(upload, map, check, import — the worker runs meanwhile), then exports everything and
downloads the ZIP; the imported patient's chart shows their ABHA number."""

import zipfile

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from clinicos.roles import Role
from clinicos.tests.e2e.test_foundation import fits_the_width
from clinicos.tests.factories import ClinicFactory, MembershipFactory, UserFactory
from conftest import browser_login
from patients.models import Patient

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
PASSWORD = "Test-Password-1!"
CSV = (
    "Patient No,Given name,Surname,Phone,Sex,DOB,ABHA\n"
    "OLD-1,Meera,Iyer,98450 12345,F,02/03/1990,91-1234-5678-9012\n"
    "OLD-2,Ravi,Kumar,12,M,05/06/1980,\n"
    "OLD-3,Asha,Rao,98450 99999,F,1975-01-31,\n"
)


@pytest.fixture
def admin_clinic():
    clinic = ClinicFactory(code="E2E30", name="Interop Clinic", timezone="Asia/Kolkata", uhid_prefix="INT")
    admin = UserFactory(email="admin@interop.example", full_name="Rhea Kapoor", password=PASSWORD)
    MembershipFactory(clinic=clinic, user=admin, roles=[Role.ADMIN.value])
    return clinic


@pytest.mark.parametrize("viewport", ["desktop", "tablet"])
def test_import_then_export(open_page, screenshot, admin_clinic, tmp_path, monkeypatch, viewport):
    clinic = admin_clinic
    page = open_page(viewport)
    browser_login(page, "admin@interop.example", PASSWORD)
    page.goto(f"/c/{clinic.code}/settings/import/")
    source = tmp_path / "old-system.csv"
    source.write_text(CSV)
    page.get_by_label("File (CSV or XLSX)").set_input_files(str(source))
    page.get_by_role("button", name="Upload and map the columns").click()
    expect(page.get_by_label("First name *")).to_have_value("Given name")  # guessed from the header
    page.get_by_role("button", name="Check every row (writes nothing)").click()
    expect(page.get_by_text("2 to create")).to_be_visible()
    expect(page.locator("table").last).to_contain_text("mobile")
    screenshot(page, f"interop-import-checked-{viewport}")
    assert not Patient.objects.filter(clinic=clinic).exists()
    page.get_by_role("button", name="Import 2 rows").click()
    monkeypatch.setattr("django_tasks_db.management.commands.db_worker.close_old_connections", lambda: None)
    call_command("worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)
    expect(page.get_by_text("2 created")).to_be_visible(timeout=10_000)  # the page follows the worker
    screenshot(page, f"interop-import-done-{viewport}")
    assert fits_the_width(page)
    meera = Patient.objects.get(clinic=clinic, external_reference="OLD-1")
    page.goto(f"/c/{clinic.code}/patients/{meera.pk}/")
    expect(page.locator(".patient-banner")).to_contain_text("ABHA 91-1234-5678-9012")

    page.goto(f"/c/{clinic.code}/settings/data-export/")
    page.get_by_role("button", name="Export everything").click()
    call_command("worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)
    link = page.get_by_role("link", name="Download")
    expect(link).to_be_visible(timeout=10_000)
    screenshot(page, f"interop-export-{viewport}")
    with page.expect_download() as download:
        link.click()
    names = zipfile.ZipFile(download.value.path()).namelist()
    assert "patients.csv" in names and "fhir/Patient.ndjson" in names
