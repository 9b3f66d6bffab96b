"""End to end in Chromium: front desk adds a lead in the modal, moves it to Contacted and
sends it to a CRO; the CRO finds it in the queue and converts it."""

import pytest
from playwright.sync_api import expect

from conftest import browser_login
from leads.models import Lead
from patients.models import Patient

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_lead_from_enquiry_to_patient(open_page, screenshot, demo_data):
    desk = open_page("desktop")
    browser_login(desk, "frontdesk@abc01.example")
    desk.get_by_role("navigation", name="Main").get_by_role("link", name="Leads").click()
    expect(desk.get_by_role("heading", name="Lead pipeline")).to_be_visible()
    screenshot(desk, "leads-board-desktop")

    desk.get_by_role("link", name="+ Add lead").click()
    modal = desk.locator("dialog#lead-modal")
    expect(modal.get_by_role("heading", name="Add a lead")).to_be_visible()
    modal.get_by_label("Name").fill("Pavithra Srinivasan")
    modal.get_by_label("Phone").fill("not a phone")
    modal.get_by_label("Source").select_option("Google Ads")
    modal.get_by_label("Inquiry").select_option("IVF")
    modal.get_by_label("Gender").select_option("female")
    modal.get_by_label("Age").fill("31")
    modal.get_by_role("button", name="Add lead").click()
    expect(modal.get_by_text("Enter a valid phone number")).to_be_visible()
    screenshot(desk, "leads-add-modal-error-desktop")
    modal.get_by_label("Phone").fill("98765 12121")
    modal.get_by_role("button", name="Add lead").click()
    expect(desk.get_by_role("heading", name="Pavithra Srinivasan")).to_be_visible()
    lead = Lead.objects.get(name="Pavithra Srinivasan")

    # Move to Contacted from the board's accessible "Move to…" control.
    desk.goto("/c/ABC01/leads/")
    card = desk.locator(".lead-card", has_text="Pavithra Srinivasan")
    card.get_by_label("Move Pavithra Srinivasan to").select_option("contacted")
    card.get_by_role("button", name="Move").click()
    contacted = desk.locator(".board-column[data-status=contacted]")
    expect(contacted.locator(".lead-card", has_text="Pavithra Srinivasan")).to_be_visible()

    # Then drag the card to "Stalling – Sent to CRO".
    # (grabbed by its text, not by its "Move to…" control; dropped on the column's heading)
    desk.locator(".lead-card", has_text="Pavithra Srinivasan").locator(".lead-card-meta").first.drag_to(
        desk.locator(".board-column[data-status=stalling] .board-column-title")
    )
    stalling = desk.locator(".board-column[data-status=stalling]")
    expect(stalling.locator(".lead-card", has_text="Pavithra Srinivasan")).to_be_visible()
    screenshot(desk, "leads-board-after-moves-desktop")
    lead.refresh_from_db()
    assert lead.status == "stalling" and lead.assigned_to is not None
    cro_email = lead.assigned_to.email

    cro = open_page("tablet")
    browser_login(cro, cro_email)
    cro.goto("/c/ABC01/leads/queue/")
    entry = cro.get_by_role("link", name="Pavithra Srinivasan")
    expect(entry).to_be_visible()
    screenshot(cro, "leads-cro-queue-tablet")
    entry.click()
    cro.get_by_role("link", name="Convert to patient").click()
    expect(cro.get_by_label("First name")).to_have_value("Pavithra")
    cro.get_by_label("Date of birth").fill("1995-02-11")
    cro.get_by_role("button", name="Register patient").click()
    patient = Patient.objects.get(first_name="Pavithra", last_name="Srinivasan")
    expect(cro.get_by_text(f"is now a patient: {patient.uhid}")).to_be_visible()
    lead.refresh_from_db()
    assert lead.status == "converted" and lead.converted_patient == patient

    desk.goto("/c/ABC01/leads/dashboard/")
    expect(desk.get_by_role("heading", name="Conversion rate")).to_be_visible()
    screenshot(desk, "leads-dashboard-desktop")
    desk.goto(f"/c/ABC01/leads/{lead.pk}/")
    screenshot(desk, "lead-detail-desktop")


def test_board_on_a_tablet(open_page, screenshot, demo_data):
    page = open_page("tablet")
    browser_login(page, "cro@abc01.example")
    page.goto("/c/ABC01/leads/")
    expect(page.locator(".board-column")).to_have_count(5)
    screenshot(page, "leads-board-tablet")
