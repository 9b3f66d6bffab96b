"""End to end in Chromium: logging in, two-factor, tenancy and the shell on desktop and tablet."""

import re
import time

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value, yield_hotp_counters_from_time
from playwright.sync_api import expect

from clinicos.models import User
from conftest import DEMO_PASSWORD, browser_login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("viewport", ["desktop", "tablet"])
def test_front_desk_logs_in_and_sees_their_dashboard(open_page, screenshot, demo_data, viewport):
    page = open_page(viewport)
    page.goto("/")
    expect(page.get_by_role("heading", name="Sign in to ClinicOS")).to_be_visible()
    screenshot(page, f"login-{viewport}")
    browser_login(page, "frontdesk@abc01.example")
    expect(page).to_have_url(re.compile(r"/c/ABC01/$"))
    expect(page.get_by_role("heading", name=re.compile("Good (morning|afternoon|evening), Priya"))).to_be_visible()
    expect(page.get_by_text("Sunrise Fertility Centre").first).to_be_visible()
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Dashboard")).to_be_visible()
    expect(nav.get_by_role("link", name="Settings")).to_have_count(0)
    screenshot(page, f"dashboard-frontdesk-{viewport}")
    # Touch targets: every nav link and button is at least 44 px tall.
    for element in page.locator(".mainnav a, button, .menu > summary").all():
        if element.is_visible():
            assert element.bounding_box()["height"] >= 44, element.inner_text()


def test_doctor_with_two_factor_logs_in_with_a_code(open_page, screenshot, demo_data):
    doctor = User.objects.get(email="doctor@abc01.example")
    secret = "JBSWY3DPEHPK3PXP"
    Authenticator.objects.create(user=doctor, type=Authenticator.Type.TOTP, data={"secret": secret})
    page = open_page("tablet")
    browser_login(page, "doctor@abc01.example")
    expect(page).to_have_url(re.compile(r"/accounts/2fa/authenticate/"))
    screenshot(page, "two-factor-code-tablet")
    # A code read in the last seconds of its 30-second window could expire before the
    # click lands on a busy machine: wait for a fresh window first.
    if 30 - time.time() % 30 < 8:
        time.sleep(30 - time.time() % 30 + 0.5)
    code = format_hotp_value(hotp_value(secret, next(iter(yield_hotp_counters_from_time()))))
    page.get_by_label(re.compile("Code", re.I)).fill(code)
    page.get_by_role("button", name=re.compile("Sign In", re.I)).click()
    expect(page).to_have_url(re.compile(r"/c/ABC01/$"), timeout=15_000)
    expect(page.get_by_role("heading", name=re.compile("^My day"))).to_be_visible()
    screenshot(page, "dashboard-doctor-tablet")


def test_a_clinic_a_user_gets_a_404_page_for_clinic_b(open_page, screenshot, demo_data):
    page = open_page("desktop")
    browser_login(page, "frontdesk@abc01.example")
    expect(page).to_have_url(re.compile(r"/c/ABC01/$"))
    response = page.goto("/c/XYZ02/")
    assert response.status == 404
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
    expect(page.get_by_text("Lakeside")).to_have_count(0)
    screenshot(page, "foreign-clinic-404-desktop")


def test_admin_switches_clinic_edits_settings_and_reads_the_audit_trail(open_page, screenshot, demo_data):
    from clinicos import services
    from clinicos.models import Clinic
    from clinicos.roles import Role

    admin = User.objects.get(email="admin@abc01.example")
    services.membership_grant(clinic=Clinic.objects.get(code="XYZ02"), user=admin, roles=[Role.ADMIN.value])
    page = open_page("desktop")
    browser_login(page, "admin@abc01.example")
    expect(page.get_by_role("heading", name="Choose a clinic")).to_be_visible()
    screenshot(page, "clinic-picker-desktop")
    page.get_by_role("link", name=re.compile("Sunrise Fertility Centre")).click()
    screenshot(page, "dashboard-admin-desktop")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Settings").click()
    page.get_by_label("Name", exact=True).fill("Sunrise Fertility & IVF Centre")
    page.get_by_label("Currency").fill("rupees")
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_text("Use the three-letter ISO currency code")).to_be_visible()
    screenshot(page, "settings-error-desktop")
    page.get_by_label("Currency").fill("INR")
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_text("The clinic's settings were saved.")).to_be_visible()

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Audit").click()
    expect(page.locator(".new", has_text="Sunrise Fertility & IVF Centre")).to_be_visible()
    screenshot(page, "audit-desktop")
    # htmx (django-htmx's copy) loads under the CSP and swaps the results as filters change.
    assert page.evaluate("typeof window.htmx") == "object"
    page.get_by_label("Record type").select_option(label="Department")
    expect(page).to_have_url(re.compile(r"entity_type=clinicos.department"))
    expect(page.locator("#audit-results")).not_to_contain_text("Sunrise Fertility & IVF Centre")
    expect(page.locator("#audit-results")).to_contain_text("Embryology")

    page.locator(".clinic-switcher summary").click()
    screenshot(page, "clinic-switcher-open-desktop")
    page.get_by_role("menuitem", name=re.compile("Lakeside Family Clinic")).click()
    expect(page).to_have_url(re.compile(r"/c/XYZ02/$"))
    expect(page.locator(".clinic-name")).to_have_text("Lakeside Family Clinic")


def fits_the_width(page) -> bool:
    """Nothing makes the page scroll sideways (a tablet user cannot see it)."""
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def test_audit_and_settings_on_a_tablet(open_page, screenshot, demo_data):
    page = open_page("tablet")
    browser_login(page, "admin@abc01.example")
    page.goto("/c/ABC01/settings/")
    expect(page.get_by_label("Name", exact=True)).to_have_value("Sunrise Fertility Centre")
    expect(page.get_by_role("button", name=re.compile("Save"))).to_be_visible()
    assert fits_the_width(page), "the settings page scrolls sideways on a tablet"
    screenshot(page, "settings-tablet")
    page.goto("/c/ABC01/audit/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Audit")
    expect(page.locator("table tbody tr").first).to_be_visible()
    assert fits_the_width(page), "the audit page scrolls sideways on a tablet"
    screenshot(page, "audit-tablet")


def test_a_user_turns_on_two_factor_and_gets_recovery_codes(open_page, screenshot, demo_data):
    page = open_page("tablet")
    browser_login(page, "nurse@abc01.example")
    expect(page).to_have_url(re.compile(r"/c/ABC01/$"))
    page.locator(".user-menu summary").click()
    page.get_by_role("menuitem", name="Two-factor authentication").click()
    screenshot(page, "two-factor-index-tablet")
    page.get_by_role("link", name="Activate").click()
    if page.get_by_role("heading", name="Confirm Access").is_visible():
        # allauth asks for the password again before changing security settings.
        page.get_by_label(re.compile("Password")).fill(DEMO_PASSWORD)
        page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("img")).to_be_visible()  # the QR code
    secret = page.locator("#authenticator_secret").input_value()
    screenshot(page, "two-factor-activate-tablet")
    code = format_hotp_value(hotp_value(secret, next(iter(yield_hotp_counters_from_time()))))
    page.get_by_label(re.compile("Authenticator code", re.I)).fill(code)
    page.get_by_role("button", name="Activate").click()
    expect(page.get_by_text(re.compile("recovery codes", re.I)).first).to_be_visible()
    screenshot(page, "two-factor-activated-tablet")
    nurse = User.objects.get(email="nurse@abc01.example")
    assert set(Authenticator.objects.filter(user=nurse).values_list("type", flat=True)) == {"totp", "recovery_codes"}
