"""End to end in Chromium: register a patient, find them by their phone's last digits,
upload a PDF, open the chart — on a desktop and on a tablet."""

import re

import pytest
from playwright.sync_api import expect

from conftest import browser_login
from patients.models import Document, Patient
from patients.tests.factories import MINIMAL_PDF

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_front_desk_registers_finds_uploads_and_opens_the_chart(open_page, screenshot, demo_data):
    page = open_page("desktop")
    browser_login(page, "frontdesk@abc01.example")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Patients").click()
    expect(page.get_by_role("heading", name="Patients")).to_be_visible()
    screenshot(page, "patients-list-desktop")

    page.get_by_role("link", name="Register a patient").click()
    page.get_by_label("First name").fill("Sowmya")
    page.get_by_label("Last name").fill("Krishnamurthy")
    page.get_by_label("Mobile").fill("99001 23457")
    page.get_by_label("Gender").select_option("female")
    page.get_by_label("Date of birth").fill("2999-01-01")
    page.get_by_role("button", name="Register").click()
    expect(page.get_by_text("The birth date cannot be in the future.")).to_be_visible()
    screenshot(page, "patient-register-error-desktop")
    page.get_by_label("Date of birth").fill("1994-06-21")
    page.get_by_role("button", name="Register").click()
    patient = Patient.objects.get(last_name="Krishnamurthy")
    expect(page.get_by_text(f"is registered as {patient.uhid}")).to_be_visible()

    # Find her again from the header by the last digits of her phone.
    page.goto("/c/ABC01/")
    search = page.get_by_label("Find a patient")
    search.fill("3457")
    result = page.locator(".search-result", has_text="Sowmya Krishnamurthy")
    expect(result).to_be_visible()
    screenshot(page, "patient-search-desktop")
    search.press("ArrowDown")
    expect(result).to_be_focused()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"/c/ABC01/patients/{patient.pk}/"))
    expect(page.locator(".patient-banner")).to_contain_text(patient.uhid)
    expect(page.get_by_role("heading", name="Demographics")).to_be_visible()  # the Overview tab, loaded by HTMX

    page.get_by_role("tab", name="Documents").click()
    expect(page.get_by_role("heading", name="Upload a document")).to_be_visible()
    page.locator("input[type=file]").set_input_files(files=[{"name": "referral.pdf", "mimeType": "application/pdf", "buffer": MINIMAL_PDF}])
    page.get_by_label("Name").fill("Referral letter")
    page.get_by_label("Type").select_option("previous_history")
    page.get_by_role("button", name="Upload").click()
    expect(page.get_by_text("“Referral letter” was uploaded.")).to_be_visible()
    expect(page.get_by_role("link", name="Referral letter")).to_be_visible()
    screenshot(page, "patient-documents-desktop")
    assert Document.objects.get(patient=patient).content_type == "application/pdf"

    page.get_by_role("tab", name="History").click()
    expect(page.get_by_role("heading", name="History of changes")).to_be_visible()


def test_doctor_opens_a_chart_on_a_tablet(open_page, screenshot, demo_data):
    patient = Patient.objects.filter(clinic__code="ABC01", status="active").order_by("pk").first()
    page = open_page("tablet")
    browser_login(page, "doctor@abc01.example")
    page.goto(f"/c/ABC01/patients/{patient.pk}/")
    expect(page.get_by_role("heading", name="Demographics")).to_be_visible()
    screenshot(page, "patient-chart-tablet")
    page.get_by_role("tab", name="Documents").click()
    expect(page.get_by_role("heading", name="Documents", exact=True)).to_be_visible()
    screenshot(page, "patient-documents-tablet")
    page.goto("/c/ABC01/patients/")
    screenshot(page, "patients-list-tablet")
    page.goto("/c/ABC01/patients/new/full/")
    expect(page.get_by_text("Your role does not allow this page")).to_be_visible()
