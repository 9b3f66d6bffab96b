"""End to end in Chromium on a phone-sized window: a patient logs in with the code from the
email outbox, opens her prescription's PDF, books a free slot and cancels it; the pages fit
the phone's width. A desktop pass checks the same pages do not sprawl."""

import datetime

import pytest
from playwright.sync_api import expect

from clinical import lab_catalog
from clinical.models import LabTest
from clinicos.roles import Role
from clinicos.tests.e2e.test_foundation import fits_the_width
from portal.tests.conftest import MOTHER_EMAIL, MOTHER_PHONE, last_code
from portal.tests.records import make_records
from scheduling.models import Appointment

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def her_records(clinic, doctor, mother, make_member):
    lab_catalog.install(clinic)
    catalog = {test.code: test for test in LabTest.objects.filter(clinic=clinic)}
    return make_records(mother, doctor=doctor, lab_user=make_member(Role.LAB), desk_user=make_member(Role.FRONT_DESK), catalog=catalog)


def log_in(page, address):
    page.goto("/portal/login/")
    page.get_by_label("Your phone number or email").fill(address)
    page.get_by_role("button", name="Send me a code").click()
    expect(page.get_by_role("heading", name="Enter your code")).to_be_visible()
    page.get_by_label("The 6-digit code").fill(last_code(address))
    page.get_by_role("button", name="Log in").click()


def test_a_patient_logs_in_sees_her_prescription_books_and_cancels_on_a_phone(
    open_page, screenshot, clinic, online, doctor, mother, daughter, her_records
):
    page = open_page("phone")
    page.goto("/portal/login/")
    screenshot(page, "portal-login-phone")
    log_in(page, MOTHER_EMAIL)  # the email is the mother's alone: straight to her home
    expect(page.get_by_role("heading", name="Hello, Meera")).to_be_visible()
    assert fits_the_width(page), "the portal's home scrolls sideways on a phone"
    screenshot(page, "portal-home-phone")

    page.get_by_role("link", name="Prescriptions").click()
    expect(page.get_by_text(her_records.prescription.reference)).to_be_visible()
    screenshot(page, "portal-prescriptions-phone")
    pdf = page.request.get(f"/portal/prescriptions/{her_records.prescription.pk}/pdf/")
    assert pdf.status == 200 and pdf.body().startswith(b"%PDF")

    page.get_by_role("link", name="Results").click()
    expect(page.get_by_text("7.9")).to_be_visible()
    assert fits_the_width(page), "the results scroll sideways on a phone"
    screenshot(page, "portal-results-phone")
    page.get_by_role("link", name="Bills").click()
    expect(page.get_by_text("Still to pay")).to_be_visible()
    screenshot(page, "portal-bills-phone")

    page.get_by_role("link", name="Appointments").click()
    page.get_by_role("link", name="Book", exact=True).click()
    day = clinic.today() + datetime.timedelta(days=3)
    page.locator(f'.portal-days a[href$="date={day.isoformat()}"]').click()
    expect(page.get_by_role("heading", name=day.strftime("%A %-d %B"))).to_be_visible()
    assert fits_the_width(page), "the booking page scrolls sideways on a phone"
    screenshot(page, "portal-book-phone")
    page.get_by_role("link", name="11:00").click()
    expect(page.get_by_text(f"{day.strftime('%A %-d %B')}, 11:00")).to_be_visible()
    page.get_by_label("Follow-up").check()
    screenshot(page, "portal-book-confirm-phone")
    page.get_by_role("button", name="Book this time").click()
    expect(page.get_by_text("Booked:")).to_be_visible()
    appointment = Appointment.objects.get(patient=mother)
    assert appointment.booked_via == "portal" and appointment.status == "scheduled" and appointment.type == "follow_up"
    screenshot(page, "portal-appointments-phone")

    page.get_by_text("Cancel…").click()
    page.get_by_label("Why? (optional)").fill("Feeling better")
    page.get_by_role("button", name="Yes, cancel this appointment").click()
    expect(page.get_by_text("Your appointment is cancelled")).to_be_visible()
    appointment.refresh_from_db()
    assert appointment.status == "cancelled" and "Feeling better" in appointment.cancel_reason


def test_a_family_phone_picks_a_profile_on_a_desktop(open_page, screenshot, clinic, online, doctor, mother, daughter, mother_elsewhere):
    page = open_page("desktop")
    log_in(page, MOTHER_PHONE)
    expect(page.get_by_role("heading", name="Whose care are you looking at?")).to_be_visible()
    screenshot(page, "portal-profiles-desktop")
    page.locator(".portal-item", has_text="Diya").get_by_role("button", name="Open").click()
    expect(page.get_by_role("heading", name="Hello, Diya")).to_be_visible()
    page.get_by_role("link", name="My details").click()
    page.get_by_label("City").fill("Mysuru")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Your details are saved")).to_be_visible()
    daughter.refresh_from_db()
    assert daughter.city == "Mysuru"
    screenshot(page, "portal-profile-desktop")
