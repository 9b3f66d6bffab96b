"""End to end in Chromium: an administrator runs the clinic from Settings — invites a
nurse, who sets a password from the emailed link and logs in; every Settings page on a
desktop and a tablet."""

import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from clinicos.tests.e2e.test_foundation import fits_the_width
from conftest import browser_login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

NURSE_PASSWORD = "Night-Shift-2026!"


def test_admin_invites_a_nurse_who_sets_a_password_and_logs_in(open_page, screenshot, demo_data):
    mail.outbox = []
    page = open_page("desktop")
    browser_login(page, "admin@abc01.example")
    page.goto("/c/ABC01/settings/")
    page.get_by_role("navigation", name="Settings").get_by_role("link", name="Staff").click()
    expect(page.get_by_role("heading", name="Staff", exact=True)).to_be_visible()
    # A mistake first: no name for a new person.
    page.get_by_label("Email").fill("meena.nurse@example.com")
    page.get_by_role("checkbox", name=re.compile("^Nurse")).check()
    page.get_by_role("button", name="Send invitation").click()
    expect(page.get_by_text("Enter the person's full name.")).to_be_visible()
    screenshot(page, "settings-staff-invite-error-desktop")
    page.get_by_label("Full name").fill("Meena Joseph")
    page.get_by_role("button", name="Send invitation").click()
    expect(page.get_by_text(re.compile("Meena Joseph was invited"))).to_be_visible()
    expect(page.get_by_role("row", name=re.compile("Meena Joseph.*Nurse.*Invited"))).to_be_visible()
    screenshot(page, "settings-staff-desktop")

    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["meena.nurse@example.com"]
    link = re.search(r"https?://\S+/accounts/password/reset/key/\S+", mail.outbox[0].body).group(0)

    nurse_page = open_page("tablet")
    nurse_page.goto(link)
    expect(nurse_page.get_by_role("heading", name=re.compile("Change Password|Set.*password", re.I))).to_be_visible()
    screenshot(nurse_page, "invitation-set-password-tablet")
    nurse_page.get_by_label("New Password", exact=False).first.fill(NURSE_PASSWORD)
    nurse_page.get_by_label(re.compile("New Password \\(again\\)|Confirm", re.I)).fill(NURSE_PASSWORD)
    nurse_page.get_by_role("button", name=re.compile("Change Password|Set", re.I)).click()
    expect(nurse_page.get_by_text(re.compile("password is now changed", re.I))).to_be_visible()
    browser_login(nurse_page, "meena.nurse@example.com", NURSE_PASSWORD)
    expect(nurse_page).to_have_url(re.compile(r"/c/ABC01/$"))
    expect(nurse_page.get_by_role("heading", name=re.compile("Meena"))).to_be_visible()
    screenshot(nurse_page, "invited-nurse-dashboard-tablet")

    # The administrator now sees her as active, and can switch her off.
    page.reload()
    expect(page.get_by_role("row", name=re.compile("Meena Joseph.*Nurse.*Active"))).to_be_visible()
    page.get_by_role("link", name="Meena Joseph").click()
    page.get_by_label("Active member of the staff").uncheck()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text(re.compile("Meena Joseph can no longer work in this clinic"))).to_be_visible()
    nurse_page.reload()
    expect(nurse_page).to_have_url(re.compile(r"/accounts/login/"))


@pytest.mark.parametrize("viewport", ["desktop", "tablet"])
def test_every_settings_page_reads_well(open_page, screenshot, demo_data, viewport):
    page = open_page(viewport)
    browser_login(page, "admin@abc01.example")
    for path, heading, name in [
        ("settings/", "Settings", "settings-clinic"),
        ("settings/staff/", "Staff", "settings-staff"),
        ("settings/doctors/", "Doctors", "settings-doctors"),
        ("settings/departments/", "Departments", "settings-departments"),
        ("settings/resources/", "Rooms and machines", "settings-resources"),
    ]:
        page.goto(f"/c/ABC01/{path}")
        expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()
        assert fits_the_width(page), f"{path} scrolls sideways on a {viewport}"
        screenshot(page, f"{name}-{viewport}")
    # A doctor's profile, from the doctors' list.
    page.goto("/c/ABC01/settings/doctors/")
    page.locator("table tbody tr a").first.click()
    expect(page.get_by_role("heading", name="Professional details")).to_be_visible()
    assert fits_the_width(page)
    screenshot(page, f"settings-doctor-profile-{viewport}")
    # A department in use cannot be deleted: the page says why.
    page.goto("/c/ABC01/settings/departments/")
    page.get_by_role("link", name="Reproductive Medicine").click()
    page.get_by_role("button", name=re.compile("^Delete")).click()
    expect(page.get_by_text(re.compile("is still used by"))).to_be_visible()
    screenshot(page, f"settings-department-in-use-{viewport}")


def test_a_doctor_edits_their_own_profile_on_a_tablet(open_page, screenshot, demo_data):
    page = open_page("tablet")
    browser_login(page, "doctor@abc01.example")
    page.locator(".user-menu summary").click()
    page.get_by_role("menuitem", name="My doctor profile").click()
    expect(page.get_by_role("heading", name="My doctor profile")).to_be_visible()
    expect(page.get_by_label("Consultation fee")).to_have_count(0)
    page.get_by_label("Registering council").fill("Karnataka Medical Council")
    page.get_by_role("button", name="Save profile").click()
    expect(page.get_by_text(re.compile("profile was saved"))).to_be_visible()
    assert fits_the_width(page)
    screenshot(page, "my-doctor-profile-tablet")
