"""What an appointment tells its patient, through the outbox: booked, moved, cancelled (or
undone at once), over — from the desk, the portal and the API — with quiet hours, opt-outs,
catch-up after downtime and "never after the start", all by time travel."""

import datetime

import pytest
import time_machine
from django.utils import timezone

from clinicos.messaging import providers
from clinicos.messaging import services as messaging
from clinicos.messaging.models import MessageRules, OutboundMessage
from patients.tests.factories import PatientFactory
from scheduling import services
from scheduling.models import Appointment

pytestmark = pytest.mark.django_db


def clinic_at(clinic, day: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=clinic.tzinfo)


@pytest.fixture
def morning(clinic):
    """10:00 today in the clinic (Asia/Kolkata): bookings are made then."""
    moment = clinic_at(clinic, clinic.today(), 10)
    with time_machine.travel(moment, tick=False) as traveller:
        yield traveller


@pytest.fixture
def patient(clinic):
    return PatientFactory(clinic=clinic, first_name="Meera", email="meera@example.com", mobile="+919845012345")


def book(clinic, doctor, patient, start, desk=None):
    user, membership = desk or (None, None)
    return services.appointment_book(
        clinic=clinic, user=user, membership=membership, doctor=doctor, start=start, patient=patient
    ).appointment


def rows(**filters):
    return list(OutboundMessage.objects.filter(**filters).order_by("scheduled_for", "kind", "channel"))


def test_a_booking_schedules_a_confirmation_after_the_grace_period_and_two_reminders(clinic, doctor, patient, morning, desk):
    start = clinic_at(clinic, clinic.today() + datetime.timedelta(days=3), 11)
    appointment = book(clinic, doctor, patient, start, desk)
    found = rows(subject_type="appointment", subject_id=appointment.pk)
    assert sorted({(m.kind, m.channel) for m in found}) == [
        ("confirmation", "email"),
        ("confirmation", "sms"),
        ("reminder", "email"),
        ("reminder", "sms"),
    ]
    confirmation = next(m for m in found if m.kind == "confirmation" and m.channel == "sms")
    assert confirmation.scheduled_for == timezone.now() + datetime.timedelta(minutes=2)
    reminders = sorted({m.scheduled_for for m in found if m.kind == "reminder"})
    assert reminders == [start - datetime.timedelta(hours=24), start - datetime.timedelta(hours=2)]
    assert all(m.not_after == start and m.status == "scheduled" for m in found)
    # Every time is the clinic's, with its zone's name, never UTC.
    when = f"{start.day} {start:%b %Y}, 11:00 IST"
    assert when in confirmation.body and "Meera" in confirmation.body and appointment.reference in confirmation.body
    sms_reminder = next(m for m in found if m.kind == "reminder" and m.channel == "sms")
    assert "/m/a/" in sms_reminder.body  # the link to confirm or cancel
    email = next(m for m in found if m.channel == "email")
    assert "/m/opt-out/" in email.body  # every email says how to stop them

    morning.shift(datetime.timedelta(minutes=3))
    assert messaging.send_due(clinic=clinic) == 2
    assert [m.to for m in providers.sent] == ["+919845012345"]  # the SMS; the email went through the mailer
    assert {m.status for m in rows(kind="confirmation")} == {"sent"}
    assert not any(m.status == "sent" for m in rows(kind="reminder"))


def test_undone_within_the_grace_period_nothing_is_sent(clinic, doctor, patient, morning, desk):
    start = clinic_at(clinic, clinic.today() + datetime.timedelta(days=3), 11)
    appointment = book(clinic, doctor, patient, start, desk)
    services.appointment_set_status(appointment=appointment, to_status="cancelled", user=desk[0], reason="Booked by mistake")
    morning.shift(datetime.timedelta(days=4))
    assert messaging.send_due(clinic=clinic) == 0
    assert {m.status for m in rows()} == {"cancelled"} and not providers.sent


def test_moving_cancels_what_was_pending_and_sends_a_change_with_the_new_time(clinic, doctor, patient, morning, desk):
    start = clinic_at(clinic, clinic.today() + datetime.timedelta(days=3), 11)
    appointment = book(clinic, doctor, patient, start, desk)
    morning.shift(datetime.timedelta(minutes=5))
    messaging.send_due(clinic=clinic)  # the confirmation has gone
    new_start = clinic_at(clinic, clinic.today() + datetime.timedelta(days=4), 15)
    services.appointment_reschedule(appointment=appointment, user=desk[0], membership=desk[1], start=new_start)
    live = [m for m in rows() if m.status != "cancelled"]
    change = [m for m in live if m.kind == "change"]
    assert {m.channel for m in change} == {"sms", "email"} and all("15:00 IST" in m.body for m in change)
    assert all(m.status == "sent" for m in change)  # due at once: sent in-line in the tests
    old_reminders = [m for m in rows(kind="reminder") if m.not_after == start]
    assert old_reminders and {m.status for m in old_reminders} == {"cancelled"}
    new_reminders = [m for m in live if m.kind == "reminder"]
    assert sorted({m.scheduled_for for m in new_reminders}) == [
        new_start - datetime.timedelta(hours=24),
        new_start - datetime.timedelta(hours=2),
    ]


def test_cancelling_after_the_confirmation_sends_a_cancellation_and_nothing_else(clinic, doctor, patient, morning, desk):
    start = clinic_at(clinic, clinic.today() + datetime.timedelta(days=3), 11)
    appointment = book(clinic, doctor, patient, start, desk)
    morning.shift(datetime.timedelta(minutes=5))
    messaging.send_due(clinic=clinic)
    services.appointment_set_status(appointment=appointment, to_status="cancelled", user=desk[0], reason="Unwell")
    assert {m.status for m in rows(kind="reminder")} == {"cancelled"}
    cancellation = rows(kind="cancellation")
    assert {m.status for m in cancellation} == {"sent"} and "cancelled" in cancellation[0].body
    morning.shift(datetime.timedelta(days=3))
    assert messaging.send_due(clinic=clinic) == 0  # no reminder of a cancelled appointment, ever


def test_once_the_patient_is_in_nothing_is_pending(clinic, doctor, patient, desk):
    with time_machine.travel(clinic_at(clinic, clinic.today(), 8), tick=False):
        appointment = book(clinic, doctor, patient, clinic_at(clinic, clinic.today(), 12), desk)
    with time_machine.travel(clinic_at(clinic, clinic.today(), 9, 45), tick=False):
        assert rows(kind="reminder", status="scheduled")  # the 2-hour one, due at 10:00
        services.appointment_set_status(appointment=appointment, to_status="checked_in", user=desk[0])
        assert not rows(status="scheduled")


def test_a_message_due_in_quiet_hours_waits_for_the_morning_or_goes_before_they_start(clinic, doctor, patient, desk):
    # Booked at 22:30 for the day after tomorrow: the confirmation waits until 08:00.
    evening = clinic_at(clinic, clinic.today(), 22, 30)
    with time_machine.travel(evening, tick=False):
        start = clinic_at(clinic, clinic.today() + datetime.timedelta(days=2), 9)
        appointment = book(clinic, doctor, patient, start, desk)
        tomorrow = clinic.today() + datetime.timedelta(days=1)
        confirmation = rows(kind="confirmation", channel="sms")[0]
        assert confirmation.scheduled_for == clinic_at(clinic, tomorrow, 8)
        # The 2-hour reminder (07:00) would wait until 08:00 — after the 09:00 start? No: 08:00
        # is before 09:00, so it goes at 08:00. The 24-hour one (09:00 tomorrow) is outside.
        reminders = sorted(m.scheduled_for for m in rows(kind="reminder", channel="sms"))
        assert reminders == [clinic_at(clinic, tomorrow, 9), clinic_at(clinic, clinic.today() + datetime.timedelta(days=2), 8)]
    assert appointment.pk


def test_quiet_hours_that_would_end_after_the_start_send_before_they_begin(clinic, doctor, patient, desk):
    MessageRules.objects.create(clinic=clinic, quiet_start=datetime.time(21), quiet_end=datetime.time(9, 30))
    with time_machine.travel(clinic_at(clinic, clinic.today(), 10), tick=False):
        start = clinic_at(clinic, clinic.today() + datetime.timedelta(days=2), 9)  # before quiet hours end
        book(clinic, doctor, patient, start, desk)
        # The 2-hour reminder (07:00) falls in quiet hours that end at 09:30, after the start:
        # it goes the evening before, 15 minutes before they begin.
        night_before = clinic_at(clinic, clinic.today() + datetime.timedelta(days=1), 20, 45)
        assert night_before in [m.scheduled_for for m in rows(kind="reminder", channel="sms")]


def test_opted_out_channels_are_skipped_with_the_reason(clinic, doctor, desk, morning):
    patient = PatientFactory(clinic=clinic, email="ravi@example.com", reminders_by_sms=False)
    book(clinic, doctor, patient, clinic_at(clinic, clinic.today() + datetime.timedelta(days=3), 11), desk)
    sms = rows(channel="sms")
    assert sms and {(m.status, m.skip_reason) for m in sms} == {("skipped", "Opted out")}
    assert {m.status for m in rows(channel="email")} == {"scheduled"}
    morning.shift(datetime.timedelta(days=3))
    messaging.send_due(clinic=clinic)
    assert not providers.sent  # never a text to someone who said no


def test_after_downtime_the_worker_catches_up_but_never_after_the_start(clinic, doctor, patient, desk, morning):
    start = clinic_at(clinic, clinic.today() + datetime.timedelta(days=2), 11)
    book(clinic, doctor, patient, start, desk)
    # The worker was down from booking until an hour before the start: the confirmation and
    # both reminders are overdue; they all go now, once.
    morning.move_to(start - datetime.timedelta(hours=1))
    assert messaging.send_due(clinic=clinic) == 6  # three texts, three emails
    assert messaging.send_due(clinic=clinic) == 0
    assert len(providers.sent) == 3


def test_nothing_is_sent_once_the_appointment_started(clinic, doctor, patient, desk, morning):
    start = clinic_at(clinic, clinic.today() + datetime.timedelta(days=2), 11)
    book(clinic, doctor, patient, start, desk)
    morning.move_to(start + datetime.timedelta(minutes=1))
    assert messaging.send_due(clinic=clinic) == 0 and not providers.sent
    assert {(m.status, m.skip_reason) for m in rows(channel="sms")} == {("skipped", "Too late: the appointment had started")}


def test_the_portal_and_the_api_book_through_the_same_messages(clinic, doctor, patient, morning, api_client, front_desk):
    api = api_client(front_desk)
    start = clinic_at(clinic, clinic.today() + datetime.timedelta(days=3), 11)
    answer = api.post(
        f"/api/v1/clinics/{clinic.code}/appointments", {"doctor_id": doctor.pk, "start": start.isoformat(), "patient_id": patient.pk}
    )
    assert answer.status_code == 201, answer.content
    appointment_id = answer.json()["id"]
    assert {m.kind for m in rows(subject_id=appointment_id)} == {"confirmation", "reminder"}
    listed = api.get(f"/api/v1/clinics/{clinic.code}/messages?appointment_id={appointment_id}&kind=reminder").json()
    assert len(listed) == 4 and {m["status"] for m in listed} == {"scheduled"} and listed[0]["recipient"]
    new_start = start + datetime.timedelta(hours=4)
    api.patch(f"/api/v1/clinics/{clinic.code}/appointments/{appointment_id}", {"start": new_start.isoformat()})
    assert {m.kind for m in rows(subject_id=appointment_id, status="sent")} == {"change"}
    api.post(f"/api/v1/clinics/{clinic.code}/appointments/{appointment_id}/status", {"status": "cancelled", "reason": "Travel"})
    assert rows(subject_id=appointment_id, kind="cancellation")
    assert not rows(subject_id=appointment_id, status="scheduled")


def test_a_reminder_link_confirms_and_today_says_so(client, login, clinic, doctor, patient, desk, front_desk):
    from scheduling.services.messages import appointment_link

    with time_machine.travel(clinic_at(clinic, clinic.today(), 8)):
        appointment = book(clinic, doctor, patient, clinic_at(clinic, clinic.today(), 16), desk)
        link = appointment_link(appointment).split("localhost:8000", 1)[1]
        page = client.get(link)
        assert page.status_code == 200 and "I will be there" in page.content.decode() and patient.last_name not in page.content.decode()
        client.post(link, {"action": "confirm"})
        appointment.refresh_from_db()
        assert appointment.status == "confirmed" and appointment.confirmed_by_patient
        today = login(front_desk).get(f"/c/{clinic.code}/schedule/today/").content.decode()
        assert "Confirmed by patient" in today
        # Inside the clinic's notice (24 hours by default) the link no longer cancels.
        refused = client.post(link, {"action": "cancel"})
        assert refused.status_code == 409 and "call the clinic" in refused.content.decode()
        appointment.refresh_from_db()
        assert appointment.status == "confirmed"
    assert client.get("/m/a/forged-token/").status_code == 404


def test_a_reminder_link_cancels_within_the_notice(client, clinic, doctor, patient, desk, morning):
    from scheduling.services.messages import appointment_link

    appointment = book(clinic, doctor, patient, clinic_at(clinic, clinic.today() + datetime.timedelta(days=3), 11), desk)
    link = appointment_link(appointment).split("localhost:8000", 1)[1]
    done = client.post(link, {"action": "cancel"})
    assert done.status_code == 200 and "is cancelled" in done.content.decode()
    assert Appointment.objects.get(pk=appointment.pk).status == "cancelled"
