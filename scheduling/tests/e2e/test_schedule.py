"""End to end in Chromium: front desk books from the calendar and checks the patient in;
the doctor's schedule shows them waiting. The clinic's timezone is chosen so that it is
mid-morning there whenever the test runs, so today always has free time to book."""

import datetime
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from clinicos.roles import Role
from clinicos.tests.factories import ClinicFactory, DoctorProfileFactory, MembershipFactory, UserFactory
from conftest import browser_login
from patients.tests.factories import PatientFactory
from scheduling import services
from scheduling.models import Appointment

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
PASSWORD = "Test-Password-1!"


def morning_zone() -> str:
    offset = (10 - timezone.now().astimezone(datetime.UTC).hour) % 24
    offset = offset - 24 if offset > 14 else offset
    return "Etc/GMT" + (f"-{offset}" if offset > 0 else f"+{-offset}" if offset < 0 else "")


@pytest.fixture
def morning_clinic():
    clinic = ClinicFactory(code="E2E01", name="Morning Clinic", timezone=morning_zone(), uhid_prefix="MOR")
    desk = UserFactory(email="desk@e2e.example", full_name="Dina Desk", password=PASSWORD)
    MembershipFactory(clinic=clinic, user=desk, roles=[Role.FRONT_DESK.value])
    doctor_user = UserFactory(email="doc@e2e.example", full_name="Omar Haddad", password=PASSWORD)
    doctor = DoctorProfileFactory(clinic=clinic, user=doctor_user, color="#B5478A", specialization="General Practice")
    for weekday in range(7):
        services.working_hours_add(doctor=doctor, weekday=weekday, start_time=datetime.time(8), end_time=datetime.time(20))
    patient = PatientFactory(clinic=clinic, first_name="Maria", last_name="Lopez")
    return clinic, doctor, patient


@pytest.mark.parametrize("viewport", ["desktop", "tablet"])
def test_book_from_the_calendar_check_in_and_the_doctor_sees_them_waiting(open_page, screenshot, morning_clinic, viewport):
    clinic, doctor, patient = morning_clinic
    local_now = timezone.localtime(timezone.now(), clinic.tzinfo)
    slot = (local_now + datetime.timedelta(hours=1)).replace(minute=0 if local_now.minute < 30 else 30, second=0, microsecond=0)
    desk = open_page(viewport)
    browser_login(desk, "desk@e2e.example", PASSWORD)
    desk.get_by_role("navigation", name="Main").get_by_role("link", name="Schedule").click()
    expect(desk.get_by_role("region", name="Dr. Omar Haddad")).to_be_visible()
    # The half hour under the pointer in the doctor's column says what a click books.
    column = desk.locator(f'.cal-body[data-doctor="{doctor.pk}"]')
    hours, minutes = map(int, desk.locator("[data-calendar]").get_attribute("data-day-start").split(":"))
    day_start = slot.replace(hour=hours, minute=minutes)
    where = {"x": 30, "y": (slot - day_start).total_seconds() / 60 * 1.6 + 10}
    column.hover(position=where)
    expect(column.locator(".cal-ghost")).to_have_text(f"+ Book {slot:%H:%M}")
    column.click(position=where)
    modal = desk.locator("dialog#schedule-modal")
    expect(modal.get_by_role("heading", name="Book an appointment")).to_be_visible()
    expect(modal.get_by_label("Time")).to_have_value(f"{slot:%H:%M}")
    expect(modal.get_by_label("Name", exact=True)).to_be_hidden()  # walk-in fields only for a walk-in
    PatientFactory(clinic=clinic, first_name="Mariam", last_name="Lopes")
    modal.get_by_label("Find the patient").press_sequentially("mari", delay=30)
    modal.get_by_role("radio", name=re.compile("Maria Lopez")).check()
    expect(modal.get_by_role("radio", name=re.compile("Mariam Lopes"))).not_to_be_checked()
    modal.get_by_label("Reason for visit").fill("Persistent cough")
    screenshot(desk, f"schedule-booking-modal-{viewport}")
    modal.get_by_role("button", name="Book").click()
    expect(desk.get_by_text(re.compile(r"Booked E2E01-A\d+"))).to_be_visible()
    expect(desk.locator(".cal-appt", has_text="Maria Lopez")).to_be_visible()
    screenshot(desk, f"schedule-day-{viewport}")
    appointment = Appointment.objects.get(patient=patient)

    desk.get_by_role("link", name="Today & waiting room").click()
    desk.evaluate("window.__samePage = true")
    desk.locator(".arrival", has_text="Maria Lopez").get_by_role("button", name="Check in").click()  # one tap
    expect(desk.locator("#today-board .queue")).to_contain_text("Maria Lopez")
    expect(desk.locator(".arrival", has_text="Maria Lopez").locator(".badge")).to_contain_text("Checked-in")
    expect(desk.get_by_role("status").filter(has_text="Maria Lopez: Checked-in.")).to_be_visible()
    assert desk.evaluate("window.__samePage === true"), "the board changed in place, the page was not reloaded"
    screenshot(desk, f"schedule-today-{viewport}")
    appointment.refresh_from_db()
    assert appointment.status == "checked_in" and appointment.checked_in_at

    doc = open_page("tablet")
    browser_login(doc, "doc@e2e.example", PASSWORD)
    doc.goto("/c/E2E01/schedule/mine/")
    expect(doc.locator(".next-patient")).to_contain_text("Maria Lopez")
    screenshot(doc, f"schedule-my-schedule-{viewport}")
    doc.goto(f"/c/E2E01/schedule/week/?doctor={doctor.pk}")
    expect(doc.locator(".cal-appt", has_text="Maria Lopez")).to_be_visible()
    screenshot(doc, f"schedule-week-{viewport}")


def test_the_doctors_schedule_updates_by_itself_when_a_patient_checks_in(open_page, morning_clinic):
    clinic, doctor, patient = morning_clinic
    start = timezone.now() + datetime.timedelta(minutes=20)
    appointment = Appointment.objects.create(
        clinic=clinic,
        doctor=doctor,
        patient=patient,
        reference="E2E01-A9",
        starts_at=start,
        ends_at=start + datetime.timedelta(minutes=30),
        duration_minutes=30,
        status="arrived",
    )
    doc = open_page("tablet")
    browser_login(doc, "doc@e2e.example", PASSWORD)
    doc.goto("/c/E2E01/schedule/mine/")
    expect(doc.locator(".next-patient")).to_contain_text("Nobody is waiting")
    services.appointment_set_status(appointment=appointment, to_status="checked_in", user=doctor.user)
    expect(doc.locator(".next-patient")).to_contain_text("Maria Lopez", timeout=25_000)  # HTMX polls every 15 s


def test_demo_clinic_day_and_resource_views(open_page, screenshot, demo_data):
    from clinicos.models import Clinic

    day = timezone.localdate(timezone.now(), Clinic.objects.get(code="ABC01").tzinfo) + datetime.timedelta(days=1)
    while day.weekday() == 6:  # the demo clinic is closed on Sundays
        day += datetime.timedelta(days=1)
    page = open_page("desktop")
    browser_login(page, "frontdesk@abc01.example")
    page.goto(f"/c/ABC01/schedule/?date={day.isoformat()}")
    expect(page.locator(".cal-col")).to_have_count(2)  # one column per doctor
    expect(page.locator(".cal-appt").first).to_be_visible()
    screenshot(page, "schedule-demo-day-desktop")
    page.goto(f"/c/ABC01/schedule/resources/?date={day.isoformat()}")
    screenshot(page, "schedule-demo-resources-desktop")
    tablet = open_page("tablet")
    browser_login(tablet, "doctor@abc01.example")
    tablet.goto(f"/c/ABC01/schedule/?date={day.isoformat()}")
    screenshot(tablet, "schedule-demo-day-tablet")
    # A date the calendar cannot show: today's day, and a message saying why.
    tablet.goto("/c/ABC01/schedule/?date=9999-12-31")
    expect(tablet.get_by_role("alert")).to_contain_text("Showing today instead")
    expect(tablet.locator(".cal-col")).to_have_count(2)
    screenshot(tablet, "schedule-date-out-of-range-tablet")


def test_an_appointment_is_moved_by_touch_on_a_tablet(open_page, screenshot, morning_clinic):
    clinic, doctor, patient = morning_clinic
    day = timezone.localdate(timezone.now(), clinic.tzinfo) + datetime.timedelta(days=1)
    start = services.clinic_datetime(clinic, day, datetime.time(10))
    appointment = Appointment.objects.create(
        clinic=clinic,
        doctor=doctor,
        patient=patient,
        reference="E2E01-A7",
        starts_at=start,
        ends_at=start + datetime.timedelta(minutes=30),
        duration_minutes=30,
    )
    page = open_page("tablet")
    browser_login(page, "desk@e2e.example", PASSWORD)
    page.goto(f"/c/E2E01/schedule/?date={day.isoformat()}")
    card = page.locator(".cal-appt", has_text="Maria Lopez")
    expect(card).to_be_visible()
    # Press on the card and slide it two hours down, as a finger would.
    page.evaluate("""() => {
        const card = document.querySelector('.cal-appt');
        const body = card.closest('.cal-body');
        const from = card.getBoundingClientRect();
        const top = body.getBoundingClientRect().top;
        const y = top + (12 * 60 - 8 * 60) * 1.6 + 5;   // 12:00 on a grid that starts at 08:00
        const x = from.left + 20;
        const options = (cx, cy) => ({bubbles: true, pointerType: 'touch', clientX: cx, clientY: cy});
        card.dispatchEvent(new PointerEvent('pointerdown', options(x, from.top + 5)));
        document.dispatchEvent(new PointerEvent('pointermove', options(x, y)));
        document.elementFromPoint(x, y).dispatchEvent(new PointerEvent('pointerup', options(x, y)));
    }""")
    expect(page.get_by_text("E2E01-A7 moved to")).to_be_visible()
    appointment.refresh_from_db()
    assert timezone.localtime(appointment.starts_at, clinic.tzinfo).time() == datetime.time(12, 0)
    screenshot(page, "schedule-moved-by-touch-tablet")
