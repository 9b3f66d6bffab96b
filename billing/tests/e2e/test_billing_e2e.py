"""End to end in Chromium: the front desk checks a patient out after the visit — Bill on
Today, issue, a UPI payment — on a desktop; the billing officer refunds and cancels an
invoice on a tablet, and the credit note appears in the patient's ledger."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from billing import services as billing_services
from billing.models import Invoice
from clinical import services as clinical_services
from clinical.models import Visit
from clinicos.roles import Role
from clinicos.tests.e2e.test_foundation import fits_the_width
from clinicos.tests.factories import ClinicFactory, DoctorProfileFactory, MembershipFactory, UserFactory
from conftest import browser_login
from patients.tests.factories import PatientFactory
from scheduling.models import AppointmentStatus
from scheduling.tests.factories import AppointmentFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
PASSWORD = "Test-Password-1!"


@pytest.fixture
def billing_clinic():
    clinic = ClinicFactory(
        code="E2E05", name="Billing Clinic", timezone="Asia/Kolkata", uhid_prefix="BIL", state="Karnataka", tax_id="29ABCDE1234F1Z5"
    )
    desk = UserFactory(email="desk@e2e.example", full_name="Asha Rao", password=PASSWORD)
    MembershipFactory(clinic=clinic, user=desk, roles=[Role.FRONT_DESK.value])
    officer = UserFactory(email="billing@e2e.example", full_name="Suresh Iyer", password=PASSWORD)
    MembershipFactory(clinic=clinic, user=officer, roles=[Role.BILLING.value])
    doctor = DoctorProfileFactory(
        clinic=clinic, user=UserFactory(full_name="Kavya Rao"), consultation_fee=Decimal("800.00"), registration_number="KMC-48213"
    )
    billing_services.service_save(clinic=clinic, user=officer, name="Consultation", price=Decimal("800.00"), hsn_sac="9993")
    billing_services.service_save(
        clinic=clinic,
        user=officer,
        name="Chemical peel",
        service_type="procedure",
        price=Decimal("2500.00"),
        tax_class="taxable",
        tax_rate=Decimal("18"),
        hsn_sac="999722",
    )
    patient = PatientFactory(clinic=clinic, first_name="Meera", last_name="Iyer", state="Karnataka")
    start = timezone.now().replace(second=0, microsecond=0) - datetime.timedelta(minutes=30)
    appointment = AppointmentFactory(
        clinic=clinic,
        patient=patient,
        doctor=doctor,
        starts_at=start,
        ends_at=start + datetime.timedelta(minutes=15),
        status=AppointmentStatus.IN_PROGRESS,
    )
    # The consultation took place: a completed visit (the doctor's side is Consultation's test).
    visit = Visit.objects.create(
        clinic=clinic,
        reference="E2E05-V1",
        patient=patient,
        appointment=appointment,
        doctor=doctor,
        started_at=start,
        started_by=doctor.user,
        status=Visit.Status.IN_PROGRESS,
    )
    clinical_services.visit_complete(visit=visit, user=doctor.user)
    return clinic, patient, officer


def test_front_desk_checks_out_and_billing_cancels_with_a_credit_note(open_page, screenshot, billing_clinic):
    clinic, patient, _officer = billing_clinic

    desk = open_page("desktop")
    browser_login(desk, "desk@e2e.example", PASSWORD)
    desk.goto(f"/c/{clinic.code}/schedule/today/")
    desk.get_by_role("button", name="Bill").click()
    expect(desk.get_by_role("heading", level=1)).to_contain_text("Bill of supply (draft)")
    expect(desk.locator(".line-table")).to_contain_text("Consultation — Dr. Kavya Rao")
    screenshot(desk, "invoice-draft-desktop")
    # Two more taps: issue and take the balance by UPI (issuing asks first: it cannot be undone).
    questions = []
    desk.on("dialog", lambda dialog: (questions.append(dialog.message), dialog.accept()))
    desk.get_by_role("button", name="Issue + UPI").click()
    expect(desk.get_by_role("heading", level=1)).to_contain_text("E2E05/")
    expect(desk.locator(".message-success")).to_contain_text("INR 800.00 received (UPI), receipt E2E05/R")
    expect(desk.locator("h1 .badge")).to_have_text("Paid")
    screenshot(desk, "invoice-paid-desktop")
    assert fits_the_width(desk)

    # A second invoice, written in the page with a taxable line, left unpaid.
    desk.goto(f"/c/{clinic.code}/billing/invoices/new/?patient={patient.pk}")
    desk.get_by_label("Service, line 1").select_option(label="Chemical peel")
    expect(desk.get_by_label("Unit price, line 1")).to_have_attribute("placeholder", "2500.00")
    screenshot(desk, "invoice-new-desktop")
    desk.get_by_role("button", name="Save draft").click()
    expect(desk.get_by_role("heading", level=1)).to_contain_text("Tax invoice (draft)")
    expect(desk.locator("dl.totals")).to_contain_text("CGST")
    desk.get_by_role("button", name="Issue tax invoice").click()
    expect(desk.locator("h1 .badge")).to_have_text("Issued")
    assert questions[0].startswith("Issue bill of supply for INR 800.00?") and "can no longer be changed" in questions[0]
    # A part payment by card in the payment form.
    desk.get_by_label("Amount").fill("1000")
    desk.get_by_text("Credit card", exact=True).click()
    desk.get_by_label("Reference").fill("SLIP-4471")
    screenshot(desk, "invoice-issued-desktop")
    desk.get_by_role("button", name="Record payment").click()
    expect(desk.locator("h1 .badge")).to_have_text("Partially paid")

    desk.goto(f"/c/{clinic.code}/billing/")
    screenshot(desk, "invoice-list-desktop")
    assert fits_the_width(desk), "the invoice list scrolls sideways at 1280 px"

    officer_page = open_page("tablet")
    browser_login(officer_page, "billing@e2e.example", PASSWORD)
    officer_page.goto(f"/c/{clinic.code}/billing/")
    screenshot(officer_page, "invoice-list-tablet")
    officer_page.get_by_role("link", name=Invoice.objects.filter(clinic=clinic, status="partially_paid").get().number).click()
    # Money was paid on it: refund it first, then cancel.
    officer_page.get_by_role("link", name="Refund").click()
    expect(officer_page.get_by_label("Amount to refund")).to_have_value("1000.00")
    officer_page.get_by_label("Reason").fill("Procedure postponed")
    screenshot(officer_page, "refund-tablet")
    officer_page.get_by_role("button", name="Refund").click()
    expect(officer_page.locator("h1 .badge")).to_have_text("Issued")
    officer_page.get_by_text("Cancel this invoice").click()
    officer_page.get_by_label("Reason").fill("Procedure postponed")
    officer_page.get_by_role("button", name="Cancel with a credit note").click()
    expect(officer_page.locator(".message-success")).to_contain_text("credit note E2E05/C")
    screenshot(officer_page, "invoice-cancelled-tablet")
    assert fits_the_width(officer_page)
    officer_page.goto(f"/c/{clinic.code}/patients/{patient.pk}/?tab=billing")
    ledger = officer_page.locator("table.ledger")
    expect(ledger).to_contain_text("Credit note for E2E05/")
    expect(ledger).to_contain_text("Payment of E2E05/")
    expect(ledger).to_contain_text("Refund: Procedure postponed")
    expect(officer_page.locator(".account-balance")).to_contain_text("Nothing owed")
    screenshot(officer_page, "patient-billing-tab-tablet")
    officer_page.goto(f"/c/{clinic.code}/billing/day-close/")
    expect(officer_page.locator("table").first).to_contain_text("UPI")
    screenshot(officer_page, "day-close-tablet")
    officer_page.goto(f"/c/{clinic.code}/")
    expect(officer_page.get_by_text("Collected today")).to_be_visible()
    screenshot(officer_page, "dashboard-billing-tablet")
