"""End to end in Chromium on a tablet: the nurse records vitals, the doctor opens the next
patient from My schedule with one tap, writes the note (autosave survives a reload), codes
the diagnosis, books the follow-up and completes the visit; the chart's clinical tabs."""

import datetime
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from clinicos.roles import Role
from clinicos.tests.e2e.test_foundation import fits_the_width
from clinicos.tests.factories import ClinicFactory, DoctorProfileFactory, MembershipFactory, UserFactory
from conftest import browser_login
from patients.tests.factories import PatientFactory
from scheduling import services
from scheduling.models import AppointmentStatus
from scheduling.tests.e2e.test_schedule import morning_zone

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
PASSWORD = "Test-Password-1!"


@pytest.fixture
def consulting_room():
    clinic = ClinicFactory(code="E2E03", name="Morning Clinic", timezone=morning_zone(), uhid_prefix="MOR")
    nurse = UserFactory(email="nurse@e2e.example", full_name="Nora Nurse", password=PASSWORD)
    MembershipFactory(clinic=clinic, user=nurse, roles=[Role.NURSE.value])
    desk = UserFactory(email="desk@e2e.example", full_name="Dina Desk", password=PASSWORD)
    MembershipFactory(clinic=clinic, user=desk, roles=[Role.FRONT_DESK.value])
    doctor_user = UserFactory(email="doc@e2e.example", full_name="Omar Haddad", password=PASSWORD)
    doctor = DoctorProfileFactory(clinic=clinic, user=doctor_user, specialization="General Practice")
    for weekday in range(7):
        services.working_hours_add(doctor=doctor, weekday=weekday, start_time=datetime.time(8), end_time=datetime.time(20))
    patient = PatientFactory(clinic=clinic, first_name="Maria", last_name="Lopez")
    local_now = timezone.localtime(timezone.now(), clinic.tzinfo)
    start = (local_now + datetime.timedelta(hours=1)).replace(minute=30, second=0, microsecond=0)
    appointment = services.appointment_book(
        clinic=clinic, user=desk, membership=None, doctor=doctor, patient=patient, start=start, override_reason="e2e", reason="Sore throat"
    ).appointment
    for status in (AppointmentStatus.ARRIVED, AppointmentStatus.CHECKED_IN):
        services.appointment_set_status(appointment=appointment, to_status=status, user=desk)
    return clinic, doctor, patient


def test_nurse_vitals_then_the_doctors_visit_on_a_tablet(open_page, screenshot, consulting_room):
    clinic, doctor, patient = consulting_room
    chart = f"/c/{clinic.code}/patients/{patient.pk}/"

    nurse = open_page("tablet")
    browser_login(nurse, "nurse@e2e.example", PASSWORD)
    nurse.goto(chart + "?tab=vitals")
    nurse.get_by_label("Systolic BP (mmHg)").fill("128")
    nurse.get_by_label("Diastolic BP (mmHg)").fill("84")
    nurse.get_by_label("Pulse (bpm)").fill("88")
    nurse.get_by_label("Temperature (°C)").fill("38.4")
    nurse.get_by_label("Weight (kg)").fill("72")
    nurse.get_by_label("Height (cm)").fill("175")
    nurse.get_by_role("button", name="Save vital signs").click()
    readings = nurse.get_by_role("region", name="Readings")
    expect(readings.get_by_text("128/84")).to_be_visible()
    expect(readings.get_by_text("23.5")).to_be_visible()
    # A reading out of range is refused with the range, and nothing is stored.
    nurse.get_by_label("Pulse (bpm)").fill("250")
    nurse.get_by_role("button", name="Save vital signs").click()
    expect(nurse.get_by_text("Must be between 40 and 200 bpm.")).to_be_visible()
    assert fits_the_width(nurse), "the Vitals tab scrolls sideways on a tablet"
    screenshot(nurse, "chart-vitals-tablet")

    doc = open_page("tablet")
    browser_login(doc, "doc@e2e.example", PASSWORD)
    expect(doc.locator(".bell-count")).to_have_text("1")
    doc.goto(f"/c/{clinic.code}/schedule/mine/")
    doc.get_by_role("button", name="Start visit with Maria Lopez").click()
    expect(doc.get_by_role("heading", name=re.compile(r"Visit E2E03-V\d+"))).to_be_visible()
    expect(doc.locator(".patient-alert-warning")).to_contain_text("Allergies unknown")
    expect(doc.get_by_role("region", name="Vital signs").get_by_text("128/84")).to_be_visible()

    doc.get_by_label("Chief complaint").fill("Sore throat for 3 days")
    doc.get_by_label("History of present illness").fill("Painful swallowing, no cough.")
    doc.get_by_label("Examination findings").fill("Tonsils enlarged with exudate.")
    doc.get_by_label("Diagnosis", exact=True).fill("Acute tonsillitis")
    expect(doc.locator("#note-status")).to_contain_text("Saved")
    doc.get_by_placeholder(re.compile("Search a code")).fill("tonsillitis")
    doc.get_by_role("button", name=re.compile(r"J03\.9")).click()
    expect(doc.locator("#dx-codes")).to_contain_text("J03.9")
    doc.wait_for_timeout(1500)  # the debounced autosave
    expect(doc.locator("#note-status")).to_contain_text("Saved")

    doc.reload()  # autosave survived: nothing typed was lost
    expect(doc.get_by_label("History of present illness")).to_have_value("Painful swallowing, no cough.")
    expect(doc.locator("#dx-codes")).to_contain_text("J03.9")

    follow_up = timezone.localdate(timezone=clinic.tzinfo) + datetime.timedelta(days=7)
    doc.get_by_label("Treatment plan").fill("Paracetamol, fluids. Review in a week.")
    doc.get_by_label("Follow-up on").fill(follow_up.isoformat())
    expect(doc.get_by_role("heading", name="Book the follow-up")).to_be_visible()
    doc.locator("#follow-up").get_by_role("button", name="10:00").click()
    expect(doc.get_by_text("Follow-up booked")).to_be_visible()
    assert fits_the_width(doc), "the visit page scrolls sideways on a tablet"
    screenshot(doc, "visit-tablet")

    doc.get_by_role("button", name="Complete visit").click()
    expect(doc.get_by_text(re.compile(r"Visit E2E03-V\d+ completed"))).to_be_visible()
    expect(doc.get_by_text("can still be corrected until")).to_be_visible()

    doc.goto(chart + "?tab=medical_history")
    doc.get_by_role("button", name="Add allergy").click()
    doc.get_by_label("Substance").fill("Penicillin")
    doc.get_by_label("Reaction").fill("Hives")
    doc.get_by_label("Severity").select_option("severe")
    doc.get_by_role("button", name="Save").click()
    expect(doc.get_by_role("region", name=re.compile("^Allergies")).get_by_text("Penicillin")).to_be_visible()
    screenshot(doc, "chart-medical-history-tablet")
    doc.goto(chart + "?tab=summary")
    expect(doc.get_by_role("alert").filter(has_text="Allergies: Penicillin")).to_be_visible()
    summary = doc.get_by_role("region", name="Clinical summary")
    problems = summary.locator("section").filter(has=doc.get_by_role("heading", name="Active problems"))
    visits = summary.locator("section").filter(has=doc.get_by_role("heading", name="Recent visits"))
    expect(visits.get_by_text("Acute tonsillitis")).to_be_visible()
    # The completed visit's ICD-10 diagnosis joined the problem list by itself.
    expect(problems.get_by_text(re.compile("Acute tonsillitis"))).to_be_visible()
    expect(problems).to_contain_text("J03.9")
    assert fits_the_width(doc), "the summary scrolls sideways on a tablet"
    screenshot(doc, "chart-summary-tablet")
    doc.goto(chart + "?tab=timeline")
    expect(doc.get_by_text(re.compile(r"Visit E2E03-V\d+ with"))).to_be_visible()
    screenshot(doc, "chart-timeline-tablet")

    desk = open_page("desktop")
    browser_login(desk, "desk@e2e.example", PASSWORD)
    desk.goto(chart)
    expect(desk.get_by_role("alert").filter(has_text="Allergies: Penicillin")).to_be_visible()
    expect(desk.get_by_role("tab", name="Clinical summary")).to_have_count(0)


def test_the_visit_page_on_a_desktop(open_page, screenshot, consulting_room):
    clinic, doctor, patient = consulting_room
    doc = open_page("desktop")
    browser_login(doc, "doc@e2e.example", PASSWORD)
    doc.goto(f"/c/{clinic.code}/schedule/mine/")
    doc.get_by_role("button", name="Start visit with Maria Lopez").click()
    doc.get_by_label("Chief complaint").fill("Sore throat")
    expect(doc.locator("#note-status")).to_contain_text("Saved")
    screenshot(doc, "visit-desktop")
    doc.goto(f"/c/{clinic.code}/patients/{patient.pk}/?tab=vitals")
    expect(doc.get_by_role("heading", name="Record vital signs")).to_be_visible()
    screenshot(doc, "chart-vitals-desktop")
