"""End to end in Chromium on a tablet: the doctor prescribes for a patient allergic to
penicillin, sees the warning, acknowledges it and prints; orders a potassium; the lab
technician moves the order through its steps and enters a critical value; the doctor sees
the alert arrive by itself and acknowledges it; the pharmacist dispenses."""

import re

import pytest
from playwright.sync_api import expect

from clinical import lab_catalog, services
from clinicos.roles import Role
from clinicos.tests.e2e.test_foundation import fits_the_width
from clinicos.tests.factories import ClinicFactory, DoctorProfileFactory, MembershipFactory, UserFactory
from conftest import browser_login
from patients.tests.factories import PatientFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
PASSWORD = "Test-Password-1!"


@pytest.fixture
def orders_clinic():
    clinic = ClinicFactory(code="E2E04", name="Orders Clinic", timezone="Asia/Kolkata", uhid_prefix="ORD")
    lab_catalog.install(clinic)
    lab = UserFactory(email="lab@e2e.example", full_name="Farah Khan", password=PASSWORD)
    MembershipFactory(clinic=clinic, user=lab, roles=[Role.LAB.value])
    pharmacist = UserFactory(email="pharm@e2e.example", full_name="Vikram Singh", password=PASSWORD)
    MembershipFactory(clinic=clinic, user=pharmacist, roles=[Role.PHARMACIST.value])
    doctor_user = UserFactory(email="doc@e2e.example", full_name="Kavya Rao", password=PASSWORD)
    doctor = DoctorProfileFactory(clinic=clinic, user=doctor_user, registration_number="KMC-48213", qualifications="MBBS, MS (OBG)")
    patient = PatientFactory(clinic=clinic, first_name="Meera", last_name="Iyer")
    services.history_item_save(kind="allergies", patient=patient, user=doctor_user, data={"substance": "Penicillin", "severity": "severe"})
    visit = services.visit_start(clinic=clinic, user=doctor_user, patient=patient)
    return clinic, doctor, patient, visit


def test_prescribe_order_critical_result_and_acknowledge(open_page, screenshot, orders_clinic):
    clinic, _doctor, _patient, visit = orders_clinic

    doc = open_page("tablet")
    browser_login(doc, "doc@e2e.example", PASSWORD)
    doc.goto(f"/c/{clinic.code}/visits/{visit.pk}/")
    rx = doc.locator("#rx-panel")
    rx.get_by_label("Medicine (generic name)").fill("Amoxicillin")
    rx.get_by_label("Strength / dose").fill("500 mg")
    rx.get_by_label("Frequency").fill("Three times a day (1-1-1)")
    rx.get_by_label("Duration").fill("5 days")
    rx.get_by_label("Quantity").fill("15")
    rx.get_by_role("button", name="Add to prescription").click()
    warning = doc.locator(".rx-warning")
    expect(warning).to_contain_text("Amoxicillin is a penicillin")
    # Finalizing without a reason is refused, in the page.
    doc.get_by_role("button", name="Finalize prescription").click()
    expect(doc.get_by_text("Give a reason for each allergy warning before finalizing.")).to_be_visible()
    screenshot(doc, "visit-prescription-warning-tablet")
    doc.get_by_label(re.compile("Why prescribe Amoxicillin")).fill("Tolerated amoxicillin in 2024 under observation")
    doc.get_by_role("button", name="Finalize prescription").click()
    expect(doc.locator("#rx-panel .badge")).to_have_text("Finalized")
    expect(doc.get_by_text("Acknowledged: “Tolerated amoxicillin in 2024 under observation”")).to_be_visible()
    pdf_url = doc.get_by_role("link", name="Print (PDF)").get_attribute("href")
    printed = doc.request.get(pdf_url)
    assert printed.ok and printed.headers["content-type"] == "application/pdf" and printed.body().startswith(b"%PDF")

    lab_panel = doc.locator("#lab-panel")
    lab_panel.locator("summary").click()
    expect(lab_panel.locator("details")).to_have_attribute("open", "")
    lab_panel.get_by_label(re.compile(r"Potassium \(K\)")).check()
    lab_panel.get_by_label("Urgent").check()
    lab_panel.get_by_role("button", name="Send to the lab").click()
    expect(lab_panel.get_by_text(re.compile(r"Lab order E2E04-L\d+ sent to the lab"))).to_be_visible()
    assert fits_the_width(doc), "the visit page scrolls sideways on a tablet"
    screenshot(doc, "visit-orders-tablet")
    expect(doc.locator(".bell-count")).to_have_count(0)

    lab = open_page("tablet")
    browser_login(lab, "lab@e2e.example", PASSWORD)
    lab.goto(f"/c/{clinic.code}/lab/")
    screenshot(lab, "lab-worklist-tablet")
    lab.get_by_role("link", name=re.compile(r"E2E04-L\d+")).click()
    lab.get_by_role("button", name="Mark sample collected").click()
    expect(lab.locator(".steps li.done")).to_have_count(2)
    lab.get_by_label("Potassium value").fill("7.1")
    lab.get_by_role("button", name="Save results").click()
    expect(lab.get_by_text("1 critical result: the ordering doctor has been alerted.")).to_be_visible()
    expect(lab.locator(".badge.flag-critical_high")).to_have_text("Critical high")
    assert fits_the_width(lab), "the lab order page scrolls sideways on a tablet"
    screenshot(lab, "lab-order-critical-tablet")

    # The doctor's open page learns of it by itself (the bell polls).
    expect(doc.locator(".bell-count")).to_have_text("2", timeout=25_000)  # critical, and results ready
    doc.goto(f"/c/{clinic.code}/lab/critical/")
    row = doc.locator("tr.row-critical")
    expect(row).to_contain_text("Potassium 7.1")
    row.get_by_label("What was done").fill("Patient called and sent to emergency")
    row.get_by_role("button", name="Acknowledge").click()
    expect(doc.get_by_text("No critical result is waiting.")).to_be_visible()
    expect(doc.get_by_text("“Patient called and sent to emergency”")).to_be_visible()
    screenshot(doc, "critical-results-tablet")

    pharmacist = open_page("desktop")
    browser_login(pharmacist, "pharm@e2e.example", PASSWORD)
    pharmacist.goto(f"/c/{clinic.code}/pharmacy/")
    pharmacist.get_by_role("link", name=re.compile(r"E2E04-RX\d+")).click()
    screenshot(pharmacist, "prescription-dispense-desktop")
    pharmacist.get_by_role("button", name="Mark dispensed").click()
    expect(pharmacist.get_by_role("region", name="Dispensed")).to_contain_text("AMOXICILLIN")


def test_the_doctor_acknowledges_a_critical_result_from_the_page_its_notification_opens(open_page, screenshot, orders_clinic):
    """The alert opens the lab order page; its Acknowledge must post the acknowledgement (it
    once posted the results form around it and answered 403)."""
    from clinical.inputs import LabResultInput
    from clinical.models import LabResult
    from clinicos.models import Membership

    clinic, doctor, patient, visit = orders_clinic
    lab_user = next(m.user for m in Membership.objects.filter(clinic=clinic).select_related("user") if Role.LAB.value in m.roles)
    order = services.lab_order_create(
        patient=patient, user=doctor.user, lab_tests=[clinic_test(clinic, "K")], visit=visit, urgency="urgent"
    )
    services.lab_order_set_status(order=order, user=lab_user, to_status="sample_collected")
    services.lab_results_enter(
        order=order, user=lab_user, results=[LabResultInput.of(test_id=order.tests.get().pk, value="7.2", final=True)]
    )

    page = open_page("tablet")
    browser_login(page, "doc@e2e.example", PASSWORD)
    page.goto(f"/c/{clinic.code}/notifications/")
    page.get_by_role("button", name=re.compile("Critical")).first.click()
    expect(page).to_have_url(re.compile(rf"/c/{clinic.code}/lab/orders/{order.pk}/"))
    page.get_by_label(re.compile("Acknowledge the critical")).fill("Called the patient: to emergency now")
    screenshot(page, "lab-order-acknowledge-tablet")
    page.get_by_role("button", name="Acknowledge").click()
    expect(page.get_by_text("Acknowledged by Kavya Rao: “Called the patient: to emergency now”")).to_be_visible()
    result = LabResult.objects.get(order_test__order=order, is_current=True)
    assert result.acknowledged_by == doctor.user and result.acknowledgement_comment == "Called the patient: to emergency now"


def clinic_test(clinic, code):
    from clinical.models import LabTest

    return LabTest.objects.get(clinic=clinic, code=code)
