"""The one-time code's life: sent only to a phone or email a chart records, stored hashed,
single use, ten minutes, five tries, rate limits per address and per IP, and answers that
never tell a known address from an unknown one."""

import datetime
import re

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from clinicos.messaging import providers
from clinicos.messaging.models import OutboundMessage
from patients.models import Person
from portal import services
from portal.models import LoginCode, PortalToken
from portal.tests.conftest import MOTHER_EMAIL, MOTHER_PHONE, last_code

REQUEST = "/api/v1/portal/auth/request-code"
VERIFY = "/api/v1/portal/auth/verify"


def request_code(client, **body):
    return client.post(REQUEST, body, content_type="application/json")


def verify(client, **body):
    return client.post(VERIFY, body, content_type="application/json")


def test_a_code_reaches_the_phone_on_the_chart_and_logs_in_once(client, mother, daughter, mother_elsewhere):
    answer = request_code(client, phone="98450 12345")  # typed the local way: read in India
    assert answer.status_code == 202
    code = last_code(MOTHER_PHONE)
    stored = LoginCode.objects.get()
    assert stored.address == MOTHER_PHONE and stored.is_deliverable
    assert code not in stored.code_hash and len(stored.code_hash) == 64  # only an HMAC is kept

    first = verify(client, phone=MOTHER_PHONE, code=code)
    assert first.status_code == 200
    body = first.json()
    assert {(p["clinic"], p["name"]) for p in body["patients"]} == {
        ("ABC01", "Meera Iyer"),
        ("ABC01", "Diya Iyer"),
        ("XYZ02", "Meera Iyer"),
    }
    assert set(body["patients"][0]) >= {"id", "clinic", "name"}
    token = PortalToken.objects.get()
    assert body["token"] not in token.key_hash
    assert Person.objects.get(phone=MOTHER_PHONE).phone_verified_at is not None  # the link across clinics is now verified

    again = verify(client, phone=MOTHER_PHONE, code=code)
    assert again.status_code == 401  # single use


def test_the_email_on_the_chart_works_too_in_any_case(client, mother, mother_elsewhere, daughter):
    assert request_code(client, email="Meera.Iyer@Example.com").status_code == 202
    assert mail.outbox[-1].to == [MOTHER_EMAIL]
    answer = verify(client, email=MOTHER_EMAIL.upper(), code=last_code(MOTHER_EMAIL))
    assert answer.status_code == 200
    # The email is on the mother's charts only: the daughter shares the phone, not the email.
    assert sorted(p["clinic"] for p in answer.json()["patients"]) == ["ABC01", "XYZ02"]


@pytest.mark.parametrize(
    "body",
    [
        {"phone": "+919800000001"},  # on no chart
        {"email": "nobody@example.com"},
        {"phone": "not a phone"},
        {"email": "no-at-sign"},
        {},
        {"phone": 42},
        {"phone": MOTHER_PHONE, "email": MOTHER_EMAIL},
    ],
)
def test_the_request_answers_the_same_whatever_is_sent(client, mother, body):
    known = request_code(client, phone=MOTHER_PHONE)
    answer = request_code(client, **body)
    assert answer.status_code == 202 and answer.json() == known.json()
    assert len(providers.sent) == 1 and not mail.outbox  # only the known phone got a message


def test_a_body_that_is_not_json_still_answers_202(client):
    answer = client.post(REQUEST, "{not json", content_type="application/json")
    assert answer.status_code == 202


def test_an_unknown_address_fails_exactly_like_a_wrong_code(client, mother):
    request_code(client, phone=MOTHER_PHONE)
    request_code(client, phone="+919800000001")
    wrong_known = verify(client, phone=MOTHER_PHONE, code="000000" if last_code(MOTHER_PHONE) != "000000" else "111111")
    unknown = verify(client, phone="+919800000001", code="123456")
    never_asked = verify(client, email="nobody@example.com", code="123456")
    assert wrong_known.status_code == unknown.status_code == never_asked.status_code == 401
    assert wrong_known.json() == unknown.json() == never_asked.json()


def test_a_code_expires_after_ten_minutes(client, mother):
    request_code(client, phone=MOTHER_PHONE)
    code = last_code(MOTHER_PHONE)
    with time_machine.travel(timezone.now() + datetime.timedelta(minutes=10, seconds=1)):
        assert verify(client, phone=MOTHER_PHONE, code=code).status_code == 401
    with time_machine.travel(timezone.now() + datetime.timedelta(minutes=9)):
        assert verify(client, phone=MOTHER_PHONE, code=code).status_code == 200


def test_five_wrong_tries_burn_the_code(client, mother):
    request_code(client, phone=MOTHER_PHONE)
    code = last_code(MOTHER_PHONE)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(services.CODE_MAX_TRIES):
        assert verify(client, phone=MOTHER_PHONE, code=wrong).status_code == 401
    blocked = verify(client, phone=MOTHER_PHONE, code=code)  # even the right code, now
    assert blocked.status_code == 429 and "new" in blocked.json()["detail"]
    # A new code starts afresh.
    request_code(client, phone=MOTHER_PHONE)
    assert verify(client, phone=MOTHER_PHONE, code=last_code(MOTHER_PHONE)).status_code == 200


def test_only_the_latest_code_counts(client, mother):
    request_code(client, phone=MOTHER_PHONE)
    first = last_code(MOTHER_PHONE)
    request_code(client, phone=MOTHER_PHONE)
    second = last_code(MOTHER_PHONE)
    if first != second:
        assert verify(client, phone=MOTHER_PHONE, code=first).status_code == 401
    assert verify(client, phone=MOTHER_PHONE, code=second).status_code == 200


def test_codes_per_address_are_limited_silently(client, mother):
    for _ in range(services.CODES_PER_ADDRESS_PER_HOUR + 2):
        assert request_code(client, phone=MOTHER_PHONE).status_code == 202
    assert len(providers.sent) == services.CODES_PER_ADDRESS_PER_HOUR
    with time_machine.travel(timezone.now() + datetime.timedelta(hours=1, minutes=1)):
        request_code(client, phone=MOTHER_PHONE)
    assert len(providers.sent) == services.CODES_PER_ADDRESS_PER_HOUR + 1


def test_codes_per_ip_are_limited(client, mother):
    for n in range(services.CODES_PER_IP_PER_HOUR):
        request_code(client, phone=f"+9198000{n:05d}")
    request_code(client, phone=MOTHER_PHONE)
    assert not providers.sent  # the mother's code was not sent: this IP asked too often
    other_ip = client.post(REQUEST, {"phone": MOTHER_PHONE}, content_type="application/json", REMOTE_ADDR="10.1.2.3")
    assert other_ip.status_code == 202 and len(providers.sent) == 1


def test_wrong_codes_from_one_ip_are_limited(client, mother):
    for n in range(services.FAILED_TRIES_PER_IP):
        assert verify(client, phone=f"+9198000{n:05d}", code="123456").status_code == 401
    request_code(client, phone=MOTHER_PHONE)
    assert verify(client, phone=MOTHER_PHONE, code=last_code(MOTHER_PHONE)).status_code == 429
    elsewhere = client.post(
        VERIFY, {"phone": MOTHER_PHONE, "code": last_code(MOTHER_PHONE)}, content_type="application/json", REMOTE_ADDR="10.9.9.9"
    )
    assert elsewhere.status_code == 200


def test_an_archived_chart_cannot_log_in(client, mother):
    mother.status = "archived"
    mother.save()
    request_code(client, phone=MOTHER_PHONE)
    assert not providers.sent
    assert verify(client, phone=MOTHER_PHONE, code="123456").status_code == 401


def test_a_staff_email_is_not_a_portal_login(client, front_desk):
    request_code(client, email=front_desk.email)
    assert not mail.outbox


def test_the_verify_body_is_checked(client):
    assert verify(client, phone=MOTHER_PHONE).status_code == 422  # no code
    assert client.post(VERIFY, "[]", content_type="application/json").status_code in (400, 422)


def test_tokens_do_not_cross_between_the_portal_and_the_staff_api(client, mother, api_client, front_desk, clinic):
    from portal.tests.conftest import portal_login

    portal, _ = portal_login(client, phone=MOTHER_PHONE)
    staff_paths = ["/api/v1/clinics/ABC01/patients", f"/api/v1/clinics/ABC01/patients/{mother.pk}", "/api/v1/notifications"]
    for path in staff_paths[:2]:
        assert client.get(path, **portal.headers).status_code == 401
    staff = api_client(front_desk)
    for path in ["appointments", "prescriptions", "lab-results", "invoices", "clinics/ABC01/doctors"]:
        assert staff.get(f"/api/v1/portal/{path}").status_code == 401
    # A staff session (the browser's) opens nothing in the portal API either.
    client.force_login(front_desk)
    assert client.get("/api/v1/portal/appointments").status_code == 401


def test_logout_revokes_the_token(client, mother):
    from portal.tests.conftest import portal_login

    portal, _ = portal_login(client, phone=MOTHER_PHONE)
    assert portal.get("appointments").status_code == 200
    assert portal.post("auth/logout").status_code == 200
    assert portal.get("appointments").status_code == 401


def test_a_provider_failure_tells_the_caller_nothing(client, mother):
    providers.failures.extend(["Twilio answered 500."])
    assert request_code(client, phone=MOTHER_PHONE).status_code == 202
    message = OutboundMessage.objects.get()
    assert (message.status, message.attempts, message.last_error) == ("scheduled", 1, "Twilio answered 500.")  # tried again soon


def test_in_production_the_code_leaves_after_the_answer(client, mother, clinic, settings, django_capture_on_commit_callbacks):
    """A known address answers as fast as an unknown one: the code is written to the outbox
    and the worker sends it once the request has answered."""
    from clinicos.messaging.tasks import send_due_messages

    settings.MESSAGES_SEND_INLINE = False
    with django_capture_on_commit_callbacks() as callbacks:
        assert request_code(client, phone=MOTHER_PHONE).status_code == 202
    assert not providers.sent and len(callbacks) == 1  # the task is enqueued on commit
    message = OutboundMessage.objects.get()
    assert message.status == "scheduled" and message.kind == "login_code" and message.is_secret
    send_due_messages.call(clinic.pk)
    assert len(providers.sent) == 1 and providers.sent[0].to == MOTHER_PHONE
    message.refresh_from_db()
    assert message.status == "sent" and not re.search(r"\d{6}", message.body)  # the code is not kept


def test_the_code_comes_from_the_patients_clinic_by_name(client, mother, mother_elsewhere, clinic, other_clinic, daughter):
    request_code(client, email=MOTHER_EMAIL)
    both = f"{other_clinic.name} and {clinic.name}" if other_clinic.name < clinic.name else f"{clinic.name} and {other_clinic.name}"
    assert mail.outbox[-1].subject == f"Your {both} login code" and "ClinicOS" not in mail.outbox[-1].body


def test_a_patient_of_one_clinic_gets_that_clinics_name(client, clinic, mother):
    request_code(client, phone=MOTHER_PHONE)
    assert providers.sent[-1].body.startswith(f"Your {clinic.name} login code is ")
