"""End to end in Chromium: every role's dashboard on the demo clinic, on a desktop and a
tablet — its own panel is there, nothing scrolls sideways, and a figure leads to the list
behind it."""

import re

import pytest
from playwright.sync_api import expect

from clinicos.tests.e2e.test_foundation import fits_the_width
from conftest import browser_login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PANELS = {
    "admin": "The clinic ·",
    "frontdesk": "Today ·",
    "doctor": "My day",
    "nurse": "Waiting for vitals",
    "lab": "Lab worklist",
    "pharmacist": "Prescriptions to dispense",
    "cro": "My leads",
    "billing": "Day close ·",
}


@pytest.mark.parametrize("viewport", ["desktop", "tablet"])
def test_every_role_sees_its_day(open_page, screenshot, demo_data, viewport):
    for role, heading in PANELS.items():
        page = open_page(viewport)
        browser_login(page, f"{role}@abc01.example")
        page.goto("/c/ABC01/")
        expect(page.get_by_role("heading", name=heading).first).to_be_visible()
        assert fits_the_width(page), f"the {role} dashboard scrolls sideways on a {viewport}"
        screenshot(page, f"dashboard-{role}-{viewport}")
        page.context.close()


def test_the_admin_picks_a_range_and_follows_a_figure(open_page, screenshot, demo_data):
    page = open_page("desktop")
    browser_login(page, "admin@abc01.example")
    page.goto("/c/ABC01/")
    page.get_by_label("From", exact=True).fill("2026-01-01")
    page.get_by_label("To", exact=True).fill("2025-12-01")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_text("The last day is before the first.")).to_be_visible()
    page.get_by_label("To", exact=True).fill("2026-11-30")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_role("heading", name="The clinic · 1 Jan 2026 – 30 Nov 2026")).to_be_visible()
    screenshot(page, "dashboard-admin-range-desktop")
    page.get_by_role("link", name="Revenue").first.click()
    expect(page).to_have_url(re.compile(r"/reports/\?report_type=revenue&start_date=2026-01-01&end_date=2026-11-30$"))
    expect(page.get_by_label("Report", exact=True)).to_have_value("revenue")
    expect(page.get_by_label("From", exact=True)).to_have_value("2026-01-01")
