"""End to end in Chromium, between visits: the front desk puts a patient on the waitlist, a
cancellation frees a slot, the patient opens the offer's link on a phone and takes it; the
desk sees the booking, the outbox, the recalls and the message rules; the patient confirms
from a reminder's link."""

import datetime
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from clinicos.messaging import providers
from clinicos.roles import Role
from clinicos.tests.factories import ClinicFactory, DoctorProfileFactory, MembershipFactory, UserFactory
from conftest import browser_login
from patients.tests.factories import PatientFactory
from scheduling import services
from scheduling.models import Appointment
from scheduling.services import recalls
from scheduling.services.messages import appointment_link

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
PASSWORD = "Test-Password-1!"


@pytest.fixture
def waitlist_clinic(settings, live_server):
    settings.MESSAGING_PUBLIC_URL = live_server.url  # the links in messages open this server
    clinic = ClinicFactory(code="E2E29", name="Riverside Clinic", timezone="Asia/Kolkata", uhid_prefix="RIV", phone="+918041234567")
    desk = UserFactory(email="desk@waitlist.example", full_name="Dina Desk", password=PASSWORD)
    MembershipFactory(clinic=clinic, user=desk, roles=[Role.FRONT_DESK.value])
    admin = UserFactory(email="admin@waitlist.example", full_name="Asha Admin", password=PASSWORD)
    MembershipFactory(clinic=clinic, user=admin, roles=[Role.ADMIN.value])
    doctor = DoctorProfileFactory(clinic=clinic, user=UserFactory(full_name="Kavya Rao"), color="#2F6DB5")
    day = clinic.today() + datetime.timedelta(days=2)
    for weekday in range(7):
        services.working_hours_add(doctor=doctor, weekday=weekday, start_time=datetime.time(9), end_time=datetime.time(17))
    start = datetime.datetime.combine(day, datetime.time(11), tzinfo=clinic.tzinfo)
    leaving = PatientFactory(clinic=clinic, first_name="Ravi", last_name="Kumar", email="")
    appointment = services.appointment_book(
        clinic=clinic, user=None, membership=None, doctor=doctor, start=start, patient=leaving
    ).appointment
    waiting = PatientFactory(clinic=clinic, first_name="Meera", last_name="Iyer", mobile="+919845012345", email="")
    return clinic, doctor, appointment, waiting


def test_a_freed_slot_is_claimed_from_the_messages_link(open_page, screenshot, waitlist_clinic):
    clinic, doctor, appointment, waiting = waitlist_clinic
    desk = open_page("desktop")
    browser_login(desk, "desk@waitlist.example", PASSWORD)
    desk.goto(f"/c/{clinic.code}/schedule/waitlist/")
    form = desk.get_by_role("region", name="Add to the waitlist")
    form.get_by_label("Patient (UHID)").fill(waiting.uhid)
    form.get_by_label("Doctor").select_option(str(doctor.pk))
    form.get_by_label("From").fill(clinic.today().isoformat())
    form.get_by_label("Until").fill((clinic.today() + datetime.timedelta(days=7)).isoformat())
    form.get_by_label("Urgent (offered first)").check()
    form.get_by_role("button", name="Add").click()
    expect(desk.get_by_text("Meera Iyer is on the waitlist")).to_be_visible()
    expect(desk.locator(".waitlist-table")).to_contain_text("Meera Iyer")
    screenshot(desk, "between-waitlist-desktop")

    # Ravi cancels (at the desk): the freed 11:00 goes to Meera by SMS, with a claim link.
    desk.goto(f"/c/{clinic.code}/schedule/appointments/{appointment.pk}/")
    desk.get_by_label("Cancel — reason").fill("Travelling")
    desk.get_by_role("button", name="Cancel appointment").click()
    offer = next(m for m in providers.sent if m.to == waiting.mobile)
    assert "15 minutes" in offer.body and "11:00 IST" in offer.body
    link = re.search(r"https?://\S+/m/w/\S+/", offer.body).group(0)

    phone = open_page("phone")
    phone.goto(link)
    expect(phone.get_by_role("heading", name="A time is free")).to_be_visible()
    expect(phone.get_by_text("Dr Kavya Rao")).to_be_visible()
    screenshot(phone, "between-claim-offer-phone")
    phone.get_by_role("button", name="Take this time").click()
    expect(phone.get_by_role("heading", name="It is yours")).to_be_visible()
    screenshot(phone, "between-claim-booked-phone")
    booked = Appointment.objects.get(patient=waiting)
    assert booked.starts_at == appointment.starts_at and booked.booked_via == "waitlist"

    # The desk is told (the bell) and sees what went out on the Messages page.
    desk.goto(f"/c/{clinic.code}/messages/")
    expect(desk.locator(".message-table")).to_contain_text("Waitlist offer")
    expect(desk.locator(".message-table")).to_contain_text("Booking confirmation")  # Meera's, for the time she took
    screenshot(desk, "between-messages-desktop")
    desk.goto(f"/c/{clinic.code}/notifications/")
    expect(desk.get_by_text(re.compile("Meera Iyer took the freed"))).to_be_visible()
    desk.goto(f"/c/{clinic.code}/patients/{waiting.pk}/?tab=messages")
    expect(desk.locator("#chart-panel")).to_contain_text("Waitlist offer")
    desk.get_by_label("Language for messages").select_option("hi")
    desk.get_by_role("button", name="Save preferences").click()
    expect(desk.locator("#chart-panel").get_by_role("status")).to_have_text("Saved.")
    waiting.refresh_from_db()
    assert waiting.preferred_language == "hi"
    screenshot(desk, "between-chart-messages-desktop")


@pytest.mark.parametrize("viewport", ["desktop", "tablet"])
def test_recalls_rules_and_the_reminder_link(open_page, screenshot, waitlist_clinic, viewport):
    clinic, doctor, appointment, waiting = waitlist_clinic
    for days, name in ((-2, "Overdue"), (3, "Soon")):
        patient = PatientFactory(clinic=clinic, first_name=name, last_name="Patient", email="")
        recalls.recall_create(
            clinic=clinic,
            data=recalls.RecallInput(
                patient=patient, due_date=clinic.today() + datetime.timedelta(days=days), reason="Thyroid review", doctor=doctor
            ),
            user=None,
        )
    desk = open_page(viewport)
    browser_login(desk, "desk@waitlist.example", PASSWORD)
    desk.goto(f"/c/{clinic.code}/schedule/recalls/?view=open")
    desk.get_by_role("checkbox", name="Choose Overdue Patient").check()
    desk.get_by_role("checkbox", name="Choose Soon Patient").check()
    screenshot(desk, f"between-recalls-{viewport}")
    desk.get_by_role("button", name="Send recall to the ticked").click()
    expect(desk.get_by_text("Recall sent to 2 patients.")).to_be_visible()
    expect(desk.locator(".recall-table")).to_contain_text("last message")

    admin = open_page(viewport)
    browser_login(admin, "admin@waitlist.example", PASSWORD)
    admin.goto(f"/c/{clinic.code}/settings/messages/")
    admin.get_by_label("Reminders, hours before the appointment").fill("48, 3")
    admin.get_by_role("button", name="Save").click()
    expect(admin.get_by_text("The message rules are saved.")).to_be_visible()
    screenshot(admin, f"between-message-rules-{viewport}")

    path = appointment_link(appointment).split("/m/a/", 1)[1]
    patient_page = open_page("phone")
    patient_page.goto(f"/m/a/{path}")
    expect(patient_page.get_by_text("Dr Kavya Rao")).to_be_visible()
    patient_page.get_by_role("button", name="I will be there").click()
    expect(patient_page.get_by_text("Thank you — we will see you then.")).to_be_visible()
    screenshot(patient_page, "between-reminder-link-phone")
    day = timezone.localtime(appointment.starts_at, clinic.tzinfo).date()
    desk.goto(f"/c/{clinic.code}/schedule/?date={day.isoformat()}")
    expect(desk.locator(".cal-appt", has_text="Ravi Kumar")).to_contain_text("Confirmed by patient")
