"""A new enquiry that asks for a time — through the API with a bearer token and through
the website's capture — is booked then when the time is free (the booking rules every
booking follows), else told the next free times; bad input stores nothing."""

import datetime

import pytest
from django.core.cache import cache

from clinicos.roles import Role
from clinicos.tests.factories import DoctorProfileFactory
from leads import services
from leads.models import Lead
from scheduling import services as scheduling_services
from scheduling.models import Appointment
from scheduling.tests.factories import tomorrow_at

pytestmark = pytest.mark.django_db
ENQUIRY = {"name": "Farzana Begum", "phone": "98860 11223", "source": "Google Ads", "inquiry": "IUI", "gender": "female", "age": 33}


@pytest.fixture(autouse=True)
def fresh_cache():
    cache.clear()


@pytest.fixture
def doctor(clinic):
    """Works 09:00–13:00 every day (clinic time)."""
    profile = DoctorProfileFactory(clinic=clinic, user__full_name="Dr Kavya Rao")
    for weekday in range(7):
        scheduling_services.working_hours_add(doctor=profile, weekday=weekday, start_time=datetime.time(9), end_time=datetime.time(13))
    return profile


@pytest.fixture
def api(api_client, make_member):
    return api_client(make_member(Role.CRO))


def leads_url(clinic):
    return f"/api/v1/clinics/{clinic.code}/leads"


def test_a_free_preferred_time_books_the_new_lead(api, clinic, doctor):
    start = tomorrow_at(clinic, 10, 30)
    created = api.post(leads_url(clinic), {**ENQUIRY, "preferred_start": start.isoformat(), "doctor_id": doctor.pk})
    assert created.status_code == 201, created.content
    body = created.json()
    appointment = Appointment.objects.get(lead_id=body["id"])
    assert body["appointment"] == {
        "id": appointment.pk,
        "reference": appointment.reference,
        "start": start.isoformat(),
        "doctor_id": doctor.pk,
    }
    assert body["next_free"] == []
    assert (appointment.booked_via, appointment.status, appointment.walk_in_name) == ("lead_instant", "expected", "Farzana Begum")
    assert appointment.reason == "Enquiry: IUI"


def test_a_taken_time_keeps_the_lead_and_answers_the_next_free_times(api, clinic, doctor):
    start = tomorrow_at(clinic, 10)
    api.post(leads_url(clinic), {**ENQUIRY, "preferred_start": start.isoformat(), "doctor_id": doctor.pk})
    second = api.post(leads_url(clinic), {**ENQUIRY, "phone": "98860 99999", "preferred_start": start.isoformat()})
    assert second.status_code == 201
    body = second.json()
    assert body["appointment"] is None
    assert [slot["start"] for slot in body["next_free"]] == [
        tomorrow_at(clinic, 10, 30).isoformat(),
        tomorrow_at(clinic, 11).isoformat(),
        tomorrow_at(clinic, 11, 30).isoformat(),
    ]
    assert Lead.objects.filter(pk=body["id"]).exists() and not Appointment.objects.filter(lead_id=body["id"]).exists()
    # outside the doctor's hours is not free either
    evening = api.post(leads_url(clinic), {**ENQUIRY, "phone": "98860 77777", "preferred_start": tomorrow_at(clinic, 19).isoformat()})
    assert evening.json()["appointment"] is None and evening.json()["next_free"]


def test_without_a_doctor_any_doctor_free_then_is_booked(api, clinic, doctor):
    colleague = DoctorProfileFactory(clinic=clinic)
    scheduling_services.working_hours_add(
        doctor=colleague, weekday=tomorrow_at(clinic).weekday(), start_time=datetime.time(9), end_time=datetime.time(13)
    )
    start = tomorrow_at(clinic, 11)
    first = api.post(leads_url(clinic), {**ENQUIRY, "preferred_start": start.isoformat()}).json()
    second = api.post(leads_url(clinic), {**ENQUIRY, "phone": "98860 55555", "preferred_start": start.isoformat()}).json()
    assert first["appointment"] and second["appointment"]
    assert {first["appointment"]["doctor_id"], second["appointment"]["doctor_id"]} == {doctor.pk, colleague.pk}


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"preferred_start": "2026-13-40T10:00"}, "preferred_start"),
        ({"preferred_start": "2030-01-07T10:00:00"}, "preferred_start"),  # no offset
        ({"preferred_start": "2020-01-07T10:00:00+05:30"}, "preferred_start"),  # past
        ({"doctor_id": 1}, "preferred_start"),  # a doctor without a time
        ({"preferred_start": "2030-01-07T10:00:00+05:30", "doctor_id": 999999}, "doctor_id"),
    ],
)
def test_bad_times_and_doctors_are_422_and_store_nothing(api, clinic, doctor, extra, field):
    refused = api.post(leads_url(clinic), {**ENQUIRY, **extra})
    assert refused.status_code == 422, refused.content
    assert field in refused.json()["detail"][0]["loc"]
    assert not Lead.objects.exists() and not Appointment.objects.exists()


def test_another_clinics_doctor_is_refused(api, clinic, doctor, other_clinic):
    stranger = DoctorProfileFactory(clinic=other_clinic)
    refused = api.post(leads_url(clinic), {**ENQUIRY, "preferred_start": tomorrow_at(clinic, 10).isoformat(), "doctor_id": stranger.pk})
    assert refused.status_code == 422 and not Lead.objects.exists()


def test_the_website_books_a_preferred_time_too(client, clinic, clinic_admin, doctor):
    _key, raw = services.api_key_create(clinic=clinic, user=clinic_admin, name="Website", allowed_origins="https://sunrise.example")
    start = tomorrow_at(clinic, 9, 30)
    body = {"name": "Web Visitor", "phone": "9845000001", "inquiry": "IVF", "preferred_start": start.isoformat(), "doctor_id": doctor.pk}
    answer = client.post("/api/v1/public/leads", body, content_type="application/json", HTTP_X_API_KEY=raw)
    assert answer.status_code == 201, answer.content
    booked = answer.json()["appointment"]
    assert booked["start"] == start.isoformat() and booked["reference"].startswith(clinic.code)
    appointment = Appointment.objects.get(pk=booked["id"])
    assert appointment.booked_by is None and appointment.lead.created_via == "website"
    again = client.post("/api/v1/public/leads", {**body, "phone": "9845000002"}, content_type="application/json", HTTP_X_API_KEY=raw)
    assert again.status_code == 201 and again.json()["appointment"] is None
    assert again.json()["next_free"][0]["start"] == tomorrow_at(clinic, 10).isoformat()
