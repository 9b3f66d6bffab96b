"""The outbox itself: one row per dedup key, retries with backoff and the bell after the
third failure, delivery reports that only move forward (signed by Twilio), a dead worker's
messages recovered without a second send, two workers sending each message once
(PostgreSQL), the rules (page and API) and the email opt-out link."""

import base64
import datetime
import hashlib
import hmac
import threading

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from clinicos.messaging import providers, services
from clinicos.messaging.models import MessageRules, OutboundMessage
from clinicos.models import Notification
from patients.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def patient(clinic):
    return PatientFactory(clinic=clinic, first_name="Meera", email="", mobile="+919845012345")


def recipient(patient, **changes):
    from scheduling.services.messages import recipient_of_patient

    base = recipient_of_patient(patient)
    return services.Recipient(**{**base.__dict__, **changes})


def queue_reminder(clinic, patient, key="r1", due=None, not_after=None, **changes):
    return services.queue(
        clinic=clinic,
        recipient=recipient(patient, **changes),
        message=services.Message(
            kind="reminder",
            key=key,
            due=due or timezone.now(),
            not_after=not_after,
            values={"doctor": "Dr Rao", "when": "Mon 7 Dec 2026, 10:30 IST", "reference": "ABC01-A1", "link": "https://x/m/a/t/"},
        ),
    )


@pytest.fixture
def daytime(clinic):
    with time_machine.travel(datetime.datetime.combine(clinic.today(), datetime.time(11), tzinfo=clinic.tzinfo), tick=False) as traveller:
        yield traveller


def test_the_same_key_is_written_once(clinic, patient, daytime):
    first = queue_reminder(clinic, patient)
    again = queue_reminder(clinic, patient)
    assert [m.pk for m in first] == [m.pk for m in again] and OutboundMessage.objects.count() == 1
    OutboundMessage.objects.update(status="cancelled")
    assert len(queue_reminder(clinic, patient)) == 1 and OutboundMessage.objects.count() == 2  # a cancelled one frees its key


def test_a_failing_provider_is_tried_three_times_with_backoff_then_the_desk_is_told(clinic, patient, daytime, front_desk):
    (message,) = queue_reminder(clinic, patient)
    providers.failures.extend(["Twilio answered 500."] * 3)
    assert services.send_due(clinic=clinic) == 0
    message.refresh_from_db()
    assert (message.status, message.attempts, message.last_error) == ("scheduled", 1, "Twilio answered 500.")
    assert message.scheduled_for == timezone.now() + datetime.timedelta(minutes=1)
    assert services.send_due(clinic=clinic) == 0  # not due yet: backoff
    daytime.shift(datetime.timedelta(minutes=1))
    services.send_due(clinic=clinic)
    message.refresh_from_db()
    assert message.attempts == 2 and message.scheduled_for == timezone.now() + datetime.timedelta(minutes=5)
    daytime.shift(datetime.timedelta(minutes=5))
    services.send_due(clinic=clinic)
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("failed", 3) and not providers.sent
    told = Notification.objects.get(recipient=front_desk)
    assert told.kind == "message_failed" and "…2345" in told.title and told.url.endswith("/messages/?status=failed")


def test_a_failed_message_is_sent_again_from_the_page_and_the_api(clinic, patient, daytime, login, front_desk, api_client):
    (message,) = queue_reminder(clinic, patient)
    OutboundMessage.objects.filter(pk=message.pk).update(status="failed", attempts=3, last_error="Twilio answered 500.")
    page = login(front_desk).get(f"/c/{clinic.code}/messages/?status=failed").content.decode()
    assert "Send again" in page and "Twilio answered 500." in page
    client = login(front_desk)
    client.post(f"/c/{clinic.code}/messages/{message.pk}/send-again/")
    message.refresh_from_db()
    assert message.status == "sent" and len(providers.sent) == 1  # due at once, sent in-line in the tests
    api = api_client(front_desk)
    refused = api.post(f"/api/v1/clinics/{clinic.code}/messages/{message.pk}/retry")
    assert refused.status_code == 409 and "failed or undelivered" in refused.json()["detail"]
    OutboundMessage.objects.filter(pk=message.pk).update(status="undelivered")
    again = api.post(f"/api/v1/clinics/{clinic.code}/messages/{message.pk}/retry")
    assert again.status_code == 200 and again.json()["status"] == "sent" and len(providers.sent) == 2


def test_the_message_api_filters_and_refuses_bad_filters(clinic, patient, daytime, api_client, front_desk, outsider):
    queue_reminder(clinic, patient)
    api = api_client(front_desk)
    listed = api.get(f"/api/v1/clinics/{clinic.code}/messages?patient_id={patient.pk}&status=scheduled").json()
    assert len(listed) == 1 and set(listed[0]) >= {
        "id",
        "kind",
        "channel",
        "status",
        "scheduled_for",
        "sent_at",
        "attempts",
        "error",
        "recipient",
    }
    assert listed[0]["scheduled_for"].endswith("+05:30")  # the clinic's time
    assert api.get(f"/api/v1/clinics/{clinic.code}/messages?status=lost").status_code == 422
    assert api.get(f"/api/v1/clinics/{clinic.code}/messages?kind=spam").status_code == 422
    assert api.get(f"/api/v1/clinics/{clinic.code}/messages?patient_id=999999").json() == []
    stranger = api_client(outsider)
    assert stranger.get(f"/api/v1/clinics/{clinic.code}/messages").status_code == 404
    message_id = listed[0]["id"]
    assert stranger.post(f"/api/v1/clinics/XYZ02/messages/{message_id}/retry").status_code == 404  # another clinic's id


def sign(url, params, token="s3cret"):
    payload = url + "".join(name + params[name] for name in sorted(params))
    return base64.b64encode(hmac.new(token.encode(), payload.encode(), hashlib.sha1).digest()).decode()


def test_delivery_reports_are_signed_and_never_move_a_message_back(client, clinic, patient, daytime, settings):
    settings.TWILIO_AUTH_TOKEN = "s3cret"
    (message,) = queue_reminder(clinic, patient)
    services.send_due(clinic=clinic)
    message.refresh_from_db()
    url = "http://testserver/hooks/twilio/status"

    def report(status, signature=None):
        params = {"MessageSid": message.provider_id, "MessageStatus": status, "AccountSid": "AC0123"}
        return client.post("/hooks/twilio/status", params, HTTP_X_TWILIO_SIGNATURE=signature or sign(url, params))

    assert report("delivered", signature="forged").status_code == 403
    message.refresh_from_db()
    assert message.status == "sent"
    assert report("delivered").status_code == 204
    message.refresh_from_db()
    assert message.status == "delivered" and message.delivered_at is not None
    assert report("sent").status_code == 204  # late and out of order
    assert report("undelivered").status_code == 204
    message.refresh_from_db()
    assert message.status == "delivered"
    assert client.post("/hooks/twilio/status", {}, HTTP_X_TWILIO_SIGNATURE=sign(url, {})).status_code == 400


def test_an_undelivered_report_tells_the_desk(client, clinic, patient, daytime, settings, front_desk):
    settings.TWILIO_AUTH_TOKEN = "s3cret"
    (message,) = queue_reminder(clinic, patient)
    services.send_due(clinic=clinic)
    message.refresh_from_db()
    params = {"MessageSid": message.provider_id, "MessageStatus": "undelivered", "ErrorCode": "30005"}
    client.post("/hooks/twilio/status", params, HTTP_X_TWILIO_SIGNATURE=sign("http://testserver/hooks/twilio/status", params))
    message.refresh_from_db()
    assert message.status == "undelivered" and "30005" in message.last_error
    assert Notification.objects.filter(recipient=front_desk, kind="message_failed").exists()


def test_a_dead_workers_message_is_recovered_without_a_second_send(clinic, patient, daytime, settings, tmp_path):
    """A worker killed after the provider accepted: the provider has it, so it is marked
    sent, not sent again. Killed before: it is due again and sent once."""
    settings.MESSAGING_PROVIDERS = {**settings.MESSAGING_PROVIDERS, "sms": "clinicos.messaging.providers.FileProvider"}
    settings.MESSAGING_FILE_PATH = str(tmp_path / "sent.jsonl")
    (accepted,) = queue_reminder(clinic, patient, key="accepted")
    (lost,) = queue_reminder(clinic, patient, key="lost")
    claimed = services._claim(clinic, timezone.now(), 10)  # the worker took both …
    providers.FileProvider().send(services._outgoing(claimed[0], "Sunrise"))  # … sent the first, then died
    assert services.recover_expired_leases() == 0  # the lease still holds
    daytime.shift(services.LEASE + datetime.timedelta(seconds=1))
    assert services.recover_expired_leases() == 2
    accepted.refresh_from_db()
    lost.refresh_from_db()
    assert accepted.status == "sent" and accepted.provider_id == f"file-{accepted.pk}"
    assert lost.status == "scheduled"
    services.send_due(clinic=clinic)
    lines = (tmp_path / "sent.jsonl").read_text().splitlines()
    assert len(lines) == 2  # each message left exactly once


def test_a_provider_that_cannot_tell_leaves_it_failed_for_a_person(clinic, patient, daytime, settings, front_desk):
    settings.MESSAGING_PROVIDERS = {**settings.MESSAGING_PROVIDERS, "sms": "clinicos.messaging.providers.ConsoleProvider"}
    (message,) = queue_reminder(clinic, patient)
    services._claim(clinic, timezone.now(), 10)
    daytime.shift(services.LEASE + datetime.timedelta(seconds=1))
    services.recover_expired_leases()
    message.refresh_from_db()
    assert message.status == "failed" and "check before sending again" in message.last_error
    assert Notification.objects.filter(recipient=front_desk, kind="message_failed").exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent workers are settled by PostgreSQL's SKIP LOCKED")
def test_two_workers_at_once_send_each_message_exactly_once(clinic, patient):
    MessageRules.objects.create(clinic=clinic, quiet_start=None, quiet_end=None)  # whatever the hour the suite runs
    for n in range(300):
        queue_reminder(clinic, patient, key=f"r{n}")
    barrier = threading.Barrier(2)
    errors = []

    def worker():
        from django.db import connection as thread_connection
        from django_scopes import scope

        try:
            barrier.wait()
            with scope(clinic=clinic):
                while services.send_due(clinic=clinic, batch=20, max_batches=1):
                    pass
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)
        finally:
            thread_connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    ids = [message.message_id for message in providers.sent]
    assert len(ids) == 300 and len(set(ids)) == 300
    assert set(OutboundMessage.objects.values_list("status", flat=True)) == {"sent"}


def test_message_rules_page_saves_and_refuses_bad_wording(login, clinic_admin, clinic):
    client = login(clinic_admin)
    page = client.get(f"/c/{clinic.code}/settings/messages/")
    assert page.status_code == 200 and "Quiet hours from" in page.content.decode()
    data = {
        "sms_enabled": "on",
        "email_enabled": "on",
        "confirmations_enabled": "on",
        "confirmation_delay_minutes": "5",
        "cancel_notice_hours": "12",
        "reminder_hours": "48, 3",
        "quiet_start": "22:00",
        "quiet_end": "07:30",
        "sender_name": "Sunrise IVF",
        "reminder__en": "Hi {patient}, see {doctor} on {when}.",
        "reminder__hi": "नमस्ते {patient}, {when} को {doctor}।",
        "reminder__dlt": "1107160000000001",
        "dlt_entity_id": "1101000000000001",
        "dlt_header": "SNRIVF",
    }
    bad = client.post(f"/c/{clinic.code}/settings/messages/", {**data, "reminder__en": "Hi {name}"})
    assert bad.status_code == 422 and "Unknown placeholder {name}" in bad.content.decode()
    assert not MessageRules.objects.exists()
    assert client.post(f"/c/{clinic.code}/settings/messages/", {**data, "reminder_hours": "soon"}).status_code == 422
    assert client.post(f"/c/{clinic.code}/settings/messages/", data).status_code == 302
    rules = MessageRules.objects.get(clinic=clinic)
    assert rules.reminder_lead_minutes == [48 * 60, 180] and rules.quiet_end == datetime.time(7, 30)
    assert rules.templates["reminder"]["hi"].startswith("नमस्ते") and rules.dlt_template_ids == {"reminder": "1107160000000001"}


def test_the_clinics_wording_language_and_dlt_ids_reach_the_message(clinic, daytime):
    MessageRules.objects.create(
        clinic=clinic,
        sender_name="Sunrise IVF",
        templates={"reminder": {"hi": "नमस्ते {patient}, {when} को {doctor} ({clinic})।"}},
        dlt_entity_id="1101",
        dlt_template_ids={"reminder": "1107"},
        dlt_header="SNRIVF",
    )
    hindi = PatientFactory(clinic=clinic, first_name="Asha", preferred_language="hi", email="")
    (message,) = queue_reminder(clinic, hindi)
    assert message.body == "नमस्ते Asha, Mon 7 Dec 2026, 10:30 IST को Dr Rao (Sunrise IVF)।" and message.language == "hi"
    services.send_due(clinic=clinic)
    assert providers.sent[0].params == {"dlt_entity_id": "1101", "dlt_template_id": "1107", "dlt_header": "SNRIVF"}


def test_whatsapp_goes_only_to_those_who_opted_in_and_only_as_an_approved_template(clinic, daytime):
    MessageRules.objects.create(clinic=clinic, whatsapp_enabled=True, whatsapp_templates={"reminder": "HX0123"})
    agreed = PatientFactory(clinic=clinic, email="", reminders_by_whatsapp=True)
    not_asked = PatientFactory(clinic=clinic, email="")
    assert [m.channel for m in queue_reminder(clinic, agreed, key="a")] == ["whatsapp"]
    assert [m.channel for m in queue_reminder(clinic, not_asked, key="b")] == ["sms"]
    services.send_due(clinic=clinic)
    whatsapp = next(m for m in providers.sent if m.channel == "whatsapp")
    assert whatsapp.params["content_sid"] == "HX0123" and "Dr Rao" in whatsapp.params["variables"].values()


def test_message_rules_api(api_client, clinic_admin, clinic, front_desk):
    api = api_client(clinic_admin)
    rules = api.get(f"/api/v1/clinics/{clinic.code}/settings/messages").json()
    assert rules["reminder_lead_minutes"] == [1440, 120] and rules["quiet_start"] == "21:00"
    changed = api.patch(
        f"/api/v1/clinics/{clinic.code}/settings/messages", {"reminder_lead_minutes": [60], "quiet_start": None, "quiet_end": None}
    )
    assert changed.status_code == 200 and changed.json()["quiet_start"] is None and changed.json()["reminder_lead_minutes"] == [60]
    for bad in (
        {"reminder_lead_minutes": [5]},
        {"templates": {"reminder": {"en": "{nope}"}}},
        {"quiet_start": "25:00"},
        {"quiet_start": "08:00"},
        {"sms_enabled": None},
    ):
        answer = api.patch(f"/api/v1/clinics/{clinic.code}/settings/messages", bad)
        assert answer.status_code == 422, (bad, answer.content)
    assert api.get(f"/api/v1/clinics/{clinic.code}/settings/messages").json()["reminder_lead_minutes"] == [60]
    assert api_client(front_desk).get(f"/api/v1/clinics/{clinic.code}/settings/messages").status_code == 403


def test_the_email_opt_out_link_stops_emails_and_a_forged_one_does_nothing(client, clinic):
    patient = PatientFactory(clinic=clinic, email="meera@example.com")
    link = services.opt_out_url(clinic, patient.pk).split("localhost:8000", 1)[1]
    page = client.get(link)
    assert page.status_code == 200 and "Stop emails from Sunrise Fertility Centre?" in page.content.decode()
    patient.refresh_from_db()
    assert patient.reminders_by_email  # a mail scanner following the link changes nothing
    client.post(link)
    patient.refresh_from_db()
    assert not patient.reminders_by_email
    assert patient.history.first().history_change_reason == "Opted out of emails by the link in an email"
    assert client.get("/m/opt-out/forged/").status_code == 404
