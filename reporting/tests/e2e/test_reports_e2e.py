"""End to end in Chromium: the administrator asks for the revenue report, watches it go from
queued to completed without reloading (the database worker runs meanwhile), opens it and
downloads both files."""

import datetime
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import expect

from billing import services as billing
from billing.inputs import invoice_lines_parse
from clinicos.roles import Role
from clinicos.tests.e2e.test_foundation import fits_the_width
from clinicos.tests.factories import ClinicFactory, MembershipFactory, UserFactory
from conftest import browser_login
from patients.tests.factories import PatientFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
PASSWORD = "Test-Password-1!"


@pytest.fixture
def reports_clinic():
    clinic = ClinicFactory(code="E2E06", name="Reports Clinic", timezone="Asia/Kolkata", uhid_prefix="REP", state="Karnataka")
    admin = UserFactory(email="admin@e2e.example", full_name="Rhea Kapoor", password=PASSWORD)
    MembershipFactory(clinic=clinic, user=admin, roles=[Role.ADMIN.value])
    patient = PatientFactory(clinic=clinic)
    invoice = billing.invoice_create(
        clinic=clinic, user=admin, patient=patient, lines=invoice_lines_parse([{"description": "Consultation", "unit_price": "800"}])
    )
    billing.invoice_issue(invoice=invoice, user=admin)
    billing.payment_record(invoice=invoice, user=admin, amount=Decimal("800"), method="upi")
    return clinic


def test_the_admin_asks_for_the_revenue_report_and_downloads_it(open_page, screenshot, reports_clinic, monkeypatch):
    clinic = reports_clinic
    today = timezone.localdate(timezone.now(), clinic.tzinfo)
    page = open_page("desktop")
    browser_login(page, "admin@e2e.example", PASSWORD)
    page.goto(f"/c/{clinic.code}/reports/")
    page.get_by_label("Report", exact=True).select_option(label="Revenue")
    page.get_by_label("From").fill((today - datetime.timedelta(days=7)).isoformat())
    page.get_by_label("To").fill(today.isoformat())
    page.get_by_role("button", name="Generate").click()
    row = page.locator("#reports tbody tr").first
    expect(row).to_contain_text("Queued")
    screenshot(page, "reports-queued-desktop")
    monkeypatch.setattr("django_tasks_db.management.commands.db_worker.close_old_connections", lambda: None)
    call_command("worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)
    expect(row).to_contain_text("Completed", timeout=10_000)  # the list refreshes itself
    screenshot(page, "reports-completed-desktop")
    with page.expect_download() as download:
        row.get_by_role("link", name="XLSX").click()
    assert download.value.suggested_filename.endswith(".xlsx")
    pdf = page.request.get(row.get_by_role("link", name="PDF").get_attribute("href"))
    assert pdf.status == 200 and pdf.headers["content-type"] == "application/pdf" and pdf.body()[:4] == b"%PDF"
    row.get_by_role("link", name="Revenue").click()
    expect(page.locator("tfoot")).to_contain_text("800.00")
    screenshot(page, "report-detail-desktop")

    tablet = open_page("tablet")
    browser_login(tablet, "admin@e2e.example", PASSWORD)
    tablet.goto(f"/c/{clinic.code}/reports/")
    screenshot(tablet, "reports-tablet")
    assert fits_the_width(tablet)
