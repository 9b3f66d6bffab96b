"""Fixtures of the portal tests: a mother whose phone also carries her daughter's chart and
who is registered at a second clinic by the same phone and email, a stranger at the same
clinic, a doctor who works every day and is bookable online, and a portal API client that
logs in the way an app does (request a code, read it from the outbox, verify)."""

import datetime
import re

import pytest
from django.core import mail

from clinicos.messaging import providers
from clinicos.tests.factories import DoctorProfileFactory, UserFactory
from patients.tests.factories import PatientFactory, PersonFactory
from portal.models import OnlineBooking
from scheduling.models import WorkingHours

MOTHER_PHONE = "+919845012345"
MOTHER_EMAIL = "meera.iyer@example.com"
STRANGER_PHONE = "+919845099999"


@pytest.fixture
def doctor(clinic):
    profile = DoctorProfileFactory(clinic=clinic, user=UserFactory(full_name="Dr Kavya Rao"))
    for weekday in range(7):
        WorkingHours.objects.create(
            clinic=clinic, doctor=profile, weekday=weekday, start_time=datetime.time(9), end_time=datetime.time(17), slot_minutes=30
        )
    return profile


@pytest.fixture
def online(clinic, doctor):
    rules = OnlineBooking.objects.create(clinic=clinic, is_enabled=True, appointment_types=["consultation", "follow_up"])
    rules.doctors.set([doctor])
    return rules


@pytest.fixture
def person(db):
    return PersonFactory(phone=MOTHER_PHONE)


@pytest.fixture
def mother(clinic, person):
    return PatientFactory(clinic=clinic, first_name="Meera", last_name="Iyer", mobile=MOTHER_PHONE, person=person, email=MOTHER_EMAIL)


@pytest.fixture
def daughter(clinic, person):
    return PatientFactory(
        clinic=clinic, first_name="Diya", last_name="Iyer", mobile=MOTHER_PHONE, person=person, date_of_birth=datetime.date(2018, 3, 1)
    )


@pytest.fixture
def mother_elsewhere(other_clinic, person):
    return PatientFactory(clinic=other_clinic, first_name="Meera", last_name="Iyer", mobile=MOTHER_PHONE, person=person, email=MOTHER_EMAIL)


@pytest.fixture
def stranger(clinic):
    return PatientFactory(
        clinic=clinic,
        first_name="Ravi",
        last_name="Kumar",
        mobile=STRANGER_PHONE,
        person=PersonFactory(phone=STRANGER_PHONE),
        email="ravi@example.com",
    )


def last_code(address: str) -> str:
    """The code of the last message sent to a phone (SMS outbox) or an email (mail outbox)."""
    if "@" in address:
        bodies = [message.body for message in mail.outbox if address in message.to]
    else:
        bodies = [message.body for message in providers.sent if message.to == address]
    assert bodies, f"No code was sent to {address}"
    found = re.search(r"\b(\d{6})\b", bodies[-1])
    assert found
    return found.group(1)


class PortalApi:
    """The portal API as a patient's app calls it: a code, then ``Authorization: Bearer``."""

    def __init__(self, client, token: str):
        self.client, self.headers = client, {"HTTP_AUTHORIZATION": f"Bearer {token}"}

    def get(self, path, data=None):
        return self.client.get(f"/api/v1/portal/{path}", data, **self.headers)

    def post(self, path, data=None):
        return self.client.post(f"/api/v1/portal/{path}", data or {}, content_type="application/json", **self.headers)

    def patch(self, path, data=None):
        return self.client.patch(f"/api/v1/portal/{path}", data or {}, content_type="application/json", **self.headers)


def portal_login(client, **address) -> tuple[PortalApi, dict]:
    """Log in with ``phone=`` or ``email=``: returns the client and the verify answer."""
    assert client.post("/api/v1/portal/auth/request-code", address, content_type="application/json").status_code == 202
    answer = client.post(
        "/api/v1/portal/auth/verify", {**address, "code": last_code(next(iter(address.values())))}, content_type="application/json"
    )
    assert answer.status_code == 200, answer.content
    return PortalApi(client, answer.json()["token"]), answer.json()


@pytest.fixture
def portal_api(client):
    def login(**address):
        return portal_login(client, **address)[0]

    return login
