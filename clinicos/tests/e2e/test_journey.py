"""One patient's day across every role, in Chromium, through the pages each role really
opens: an enquiry from the clinic's website → the CRO converts it → the front desk finds
the patient *by name* in the booking modal → one-tap check-in → the nurse's vitals and
allergy → the doctor's visit (SOAP, the allergy warning overridden, a prescription, an
urgent potassium) → the lab's critical value → the doctor acknowledges it *from the page
the notification opens* → back to the visit, completed → the front desk issues the invoice
and takes two payments → the patient sees it all in the portal → the administrator finds
the whole trail in the patient's audit view. Screenshots on desktop, tablet and phone."""

import datetime
import re
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from billing.models import Invoice, Service
from billing.services import service_save
from clinical import lab_catalog
from clinical.models import LabResult, LabTest
from clinicos.roles import Role
from clinicos.tests.e2e.test_foundation import fits_the_width
from clinicos.tests.factories import ClinicFactory, DoctorProfileFactory, MembershipFactory, UserFactory
from conftest import browser_login
from leads import services as lead_services
from patients.models import Patient
from portal.tests.conftest import last_code
from scheduling import services as scheduling_services
from scheduling.tests.e2e.test_schedule import morning_zone

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
PASSWORD = "Test-Password-1!"
CODE = "E2E09"
EMAIL = "pavithra.s@example.com"


@pytest.fixture
def journey_clinic():
    clinic = ClinicFactory(code=CODE, name="Morning Clinic", timezone=morning_zone(), uhid_prefix="MOR", country="IN", currency="INR")
    lab_catalog.install(clinic)
    people = {}
    for role, name in (
        (Role.CRO, "Chitra CRO"),
        (Role.FRONT_DESK, "Dina Desk"),
        (Role.NURSE, "Nora Nurse"),
        (Role.LAB, "Farah Lab"),
        (Role.ADMIN, "Arun Admin"),
    ):
        people[role] = UserFactory(email=f"{role.value}@journey.example", full_name=name, password=PASSWORD)
        MembershipFactory(clinic=clinic, user=people[role], roles=[role.value])
    doctor_user = UserFactory(email="doctor@journey.example", full_name="Kavya Rao", password=PASSWORD)
    doctor = DoctorProfileFactory(clinic=clinic, user=doctor_user, consultation_fee=Decimal("800.00"), registration_number="KMC-48213")
    for weekday in range(7):
        scheduling_services.working_hours_add(doctor=doctor, weekday=weekday, start_time=datetime.time(7), end_time=datetime.time(21))
    service_save(
        clinic=clinic,
        user=people[Role.ADMIN],
        name="Serum potassium",
        service_type=Service.Type.LAB_TEST,
        lab_test=LabTest.objects.get(clinic=clinic, code="K"),
        price=Decimal("300.00"),
        hsn_sac="9993",
    )
    _key, raw_key = lead_services.api_key_create(clinic=clinic, user=people[Role.ADMIN], name="Website", allowed_origins="")
    return clinic, doctor, raw_key


def test_one_patients_day_across_every_role(open_page, screenshot, journey_clinic):
    clinic, doctor, raw_key = journey_clinic
    questions: list[str] = []

    # 1. The enquiry, posted by the clinic's website with its key.
    website = open_page("desktop")
    sent = website.request.post(
        "/api/v1/public/leads",
        data={"name": "Pavithra Srinivasan", "phone": "98765 12121", "email": EMAIL, "inquiry": "General", "gender": "female", "age": 31},
        headers={"X-Api-Key": raw_key},
    )
    assert sent.status == 201, sent.text()
    lead_id = sent.json()["id"]

    # 2. The CRO converts it and lands on the lead (not on a chart CROs may not open).
    cro = open_page("desktop")
    browser_login(cro, "cro@journey.example", PASSWORD)
    cro.goto(f"/c/{CODE}/leads/{lead_id}/")
    screenshot(cro, "journey-1-lead-desktop")
    cro.get_by_role("link", name="Convert to patient").click()
    expect(cro.get_by_label("First name")).to_have_value("Pavithra")
    cro.get_by_label("Date of birth").fill("1995-02-11")
    cro.get_by_role("button", name="Register patient").click()
    patient = Patient.objects.get(first_name="Pavithra", last_name="Srinivasan")
    expect(cro.get_by_text(f"is now a patient: {patient.uhid}")).to_be_visible()
    expect(cro.get_by_role("heading", name="403")).to_have_count(0)
    screenshot(cro, "journey-2-converted-desktop")

    # 3. The front desk books her, found by name, from the calendar's booking form.
    desk = open_page("desktop")
    desk.on("dialog", lambda dialog: (questions.append(dialog.message), dialog.accept()))
    browser_login(desk, "frontdesk@journey.example", PASSWORD)
    local_now = timezone.localtime(timezone.now(), clinic.tzinfo)
    slot = (local_now + datetime.timedelta(hours=1)).replace(minute=0, second=0, microsecond=0)
    desk.goto(f"/c/{CODE}/schedule/appointments/new/?doctor={doctor.pk}&date={slot.date()}&time={slot:%H:%M}")
    expect(desk.get_by_label("Name", exact=True)).to_be_hidden()
    desk.get_by_label("Find the patient").press_sequentially("Pavi", delay=30)
    desk.get_by_role("radio", name=re.compile("Pavithra Srinivasan")).check()
    desk.get_by_label("Reason for visit").fill("Palpitations and fatigue")
    screenshot(desk, "journey-3-booking-desktop")
    desk.get_by_role("button", name="Book").click()
    expect(desk.get_by_text(re.compile(rf"Booked {CODE}-A\d+: Pavithra Srinivasan"))).to_be_visible()

    # 4. One tap: checked in, the board updated in place.
    desk.goto(f"/c/{CODE}/schedule/today/")
    desk.locator(".arrival", has_text="Pavithra Srinivasan").get_by_role("button", name="Check in").click()
    expect(desk.locator("#today-board .queue")).to_contain_text("Pavithra Srinivasan")
    screenshot(desk, "journey-4-checked-in-desktop")

    # 5. The nurse: vitals and the allergy she reports.
    chart = f"/c/{CODE}/patients/{patient.pk}/"
    nurse = open_page("tablet")
    browser_login(nurse, "nurse@journey.example", PASSWORD)
    nurse.goto(chart + "?tab=vitals")
    for label, value in (("Systolic BP (mmHg)", "118"), ("Diastolic BP (mmHg)", "76"), ("Pulse (bpm)", "112"), ("Weight (kg)", "58")):
        nurse.get_by_label(label).fill(value)
    nurse.get_by_role("button", name="Save vital signs").click()
    expect(nurse.get_by_role("region", name="Readings").get_by_text("118/76")).to_be_visible()
    nurse.goto(chart + "?tab=medical_history")
    nurse.get_by_role("button", name="Add allergy").click()
    nurse.get_by_label("Substance").fill("Penicillin")
    nurse.get_by_label("Reaction").fill("Rash")
    nurse.get_by_label("Severity").select_option("moderate")
    nurse.get_by_role("button", name="Save").click()
    expect(nurse.get_by_role("region", name=re.compile("^Allergies")).get_by_text("Penicillin")).to_be_visible()
    screenshot(nurse, "journey-5-nurse-tablet")

    # 6. The doctor, on a portrait tablet: the visit, SOAP, the allergy warning, orders.
    doc = open_page("tablet")
    browser_login(doc, "doctor@journey.example", PASSWORD)
    doc.goto(f"/c/{CODE}/schedule/mine/")
    doc.get_by_role("button", name="Start visit with Pavithra Srinivasan").click()
    expect(doc.get_by_role("heading", name=re.compile(rf"Visit {CODE}-V\d+"))).to_be_visible()
    visit_url = doc.url
    side, note = doc.locator(".visit-side").bounding_box(), doc.locator("#note-heading").bounding_box()
    assert side and note and side["y"] < note["y"], "on a portrait tablet the vitals and allergies come before the note"
    expect(doc.locator(".patient-alert-danger")).to_contain_text("Penicillin")
    doc.get_by_label("Chief complaint").fill("Palpitations for a week")
    doc.get_by_label("History of present illness").fill("Fatigue, cramps; on a diuretic from another clinic.")
    doc.get_by_label("Examination findings").fill("Pulse 112, irregular.")
    doc.get_by_label("Diagnosis", exact=True).fill("Palpitations, suspected hypokalaemia")
    doc.get_by_placeholder(re.compile("Search a code")).fill("R00.2")
    doc.get_by_role("button", name=re.compile(r"R00\.2")).click()
    expect(doc.locator("#dx-codes")).to_contain_text("R00.2")
    rx = doc.locator("#rx-panel")
    rx.get_by_label("Medicine (generic name)").fill("Amoxicillin")
    rx.get_by_label("Strength / dose").fill("500 mg")
    rx.get_by_label("Frequency").fill("Three times a day (1-1-1)")
    rx.get_by_label("Duration").fill("5 days")
    rx.get_by_label("Quantity").fill("15")
    rx.get_by_role("button", name="Add to prescription").click()
    expect(doc.locator(".rx-warning")).to_contain_text("Amoxicillin is a penicillin")
    doc.get_by_label(re.compile("Why prescribe Amoxicillin")).fill("Rash only, tolerated amoxicillin before")
    doc.get_by_role("button", name="Finalize prescription").click()
    expect(doc.locator("#rx-panel .badge")).to_have_text("Finalized")
    lab_panel = doc.locator("#lab-panel")
    lab_panel.locator("summary").click()
    lab_panel.get_by_label(re.compile(r"Potassium \(K\)")).check()
    lab_panel.get_by_label("Urgent").check()
    lab_panel.get_by_role("button", name="Send to the lab").click()
    expect(lab_panel.get_by_text(re.compile(rf"Lab order {CODE}-L\d+ sent to the lab"))).to_be_visible()
    assert fits_the_width(doc)
    screenshot(doc, "journey-6-visit-tablet")

    # 7. The lab: a critical potassium.
    lab = open_page("tablet")
    browser_login(lab, "lab@journey.example", PASSWORD)
    lab.goto(f"/c/{CODE}/lab/")
    lab.get_by_role("link", name=re.compile(rf"{CODE}-L\d+")).click()
    lab.get_by_role("button", name="Mark sample collected").click()
    lab.get_by_label("Potassium value").fill("2.4")
    lab.get_by_role("button", name="Save results").click()
    expect(lab.get_by_text("1 critical result: the ordering doctor has been alerted.")).to_be_visible()
    screenshot(lab, "journey-7-lab-critical-tablet")

    # 8. The doctor acknowledges it from the page the notification opens, then goes back
    # to the visit from the chart and completes it.
    expect(doc.locator(".bell-count")).not_to_have_count(0, timeout=25_000)
    doc.goto(f"/c/{CODE}/notifications/")
    doc.get_by_role("button", name=re.compile("Critical")).first.click()
    expect(doc).to_have_url(re.compile(rf"/c/{CODE}/lab/orders/\d+/"))
    doc.get_by_label(re.compile("Acknowledge the critical")).fill("Called her: oral potassium now, repeat tomorrow")
    screenshot(doc, "journey-8-acknowledge-tablet")
    doc.get_by_role("button", name="Acknowledge").click()
    expect(doc.get_by_text("Acknowledged by Kavya Rao: “Called her: oral potassium now, repeat tomorrow”")).to_be_visible()
    result = LabResult.objects.get(order_test__order__patient=patient, is_current=True)
    assert result.acknowledged_by == doctor.user
    doc.goto(chart)
    doc.get_by_role("link", name="Back to the visit").click()
    expect(doc).to_have_url(visit_url)
    doc.get_by_role("button", name="Complete visit").click()
    expect(doc.get_by_text(re.compile(rf"Visit {CODE}-V\d+ completed"))).to_be_visible()
    expect(doc.get_by_role("heading", name="Next patient")).to_be_visible()
    expect(doc.get_by_text("Nobody is waiting for you now")).to_be_visible()
    screenshot(doc, "journey-9-visit-completed-tablet")

    # 9. The front desk bills the visit: issued after a question, paid in two payments.
    desk.goto(f"/c/{CODE}/schedule/today/")
    desk.get_by_role("button", name="Bill").click()
    expect(desk).to_have_url(re.compile(rf"/c/{CODE}/billing/invoices/\d+/"))
    expect(desk.get_by_role("heading", level=1)).to_contain_text("(draft)")
    expect(desk.locator(".line-table")).to_contain_text("Serum potassium")
    desk.get_by_role("button", name=re.compile(r"^Issue (bill of supply|tax invoice)$")).click()
    expect(desk.locator("h1 .badge")).to_have_text("Issued")
    assert questions and "can no longer be changed" in questions[-1]
    invoice = Invoice.objects.get(patient=patient)
    assert invoice.total_amount == Decimal("1100.00")
    desk.get_by_label("Amount").fill("600")
    desk.get_by_text("Cash", exact=True).click()
    desk.get_by_role("button", name="Record payment").click()
    expect(desk.locator("h1 .badge")).to_have_text("Partially paid")
    expect(desk.get_by_label("Amount")).to_have_value("500.00")
    desk.get_by_text("UPI", exact=True).click()
    desk.get_by_label("Reference").fill("UPI-778812")
    desk.get_by_role("button", name="Record payment").click()
    expect(desk.locator("h1 .badge")).to_have_text("Paid")
    assert fits_the_width(desk)
    screenshot(desk, "journey-10-paid-desktop")

    # 10. The patient, on her phone: her bill, her result, her prescription.
    phone = open_page("phone")
    phone.goto("/portal/login/")
    phone.get_by_label("Your phone number or email").fill(EMAIL)
    phone.get_by_role("button", name="Send me a code").click()
    phone.get_by_label("The 6-digit code").fill(last_code(EMAIL))
    phone.get_by_role("button", name="Log in").click()
    expect(phone.get_by_role("heading", name="Hello, Pavithra")).to_be_visible()
    phone.get_by_role("link", name="Bills", exact=True).click()
    expect(phone.get_by_text(invoice.number)).to_be_visible()
    expect(phone.locator("main")).to_contain_text("Paid")
    screenshot(phone, "journey-11-portal-bills-phone")
    phone.get_by_role("link", name="Results", exact=True).click()
    expect(phone.get_by_text("2.4")).to_be_visible()
    phone.get_by_role("link", name="Prescriptions", exact=True).click()
    expect(phone.get_by_text(re.compile(rf"{CODE}-RX\d+"))).to_be_visible()
    assert fits_the_width(phone)
    screenshot(phone, "journey-12-portal-prescriptions-phone")

    # 11. The administrator reads the patient's whole trail.
    admin = open_page("desktop")
    browser_login(admin, "admin@journey.example", PASSWORD)
    admin.goto(f"/c/{CODE}/audit/?patient={patient.uhid}")
    trail = admin.locator("main")
    for who in ("Chitra CRO", "Dina Desk", "Nora Nurse", "Kavya Rao", "Farah Lab"):
        expect(trail).to_contain_text(who)
    screenshot(admin, "journey-13-audit-desktop")
    admin.goto(chart + "?tab=history")
    expect(admin.locator("#chart-panel")).to_contain_text("Kavya Rao")
    screenshot(admin, "journey-14-chart-history-desktop")
