"""The waitlist fills freed slots (three at a time, urgent first, 15-minute claim links, one
winner, the next three when nobody claims), and recalls: from unbooked follow-ups, sent
one by one or for a selection, closed by a booking."""

import datetime
import threading

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from clinicos.messaging import providers
from clinicos.messaging.models import MessageRules, OutboundMessage
from patients.tests.factories import PatientFactory
from scheduling import services
from scheduling.models import Appointment, Recall, RecallAttempt, WaitlistEntry, WaitlistOffer
from scheduling.services import recalls, waitlist

pytestmark = pytest.mark.django_db


def clinic_at(clinic, day, hour, minute=0):
    return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=clinic.tzinfo)


@pytest.fixture
def morning(clinic):
    with time_machine.travel(clinic_at(clinic, clinic.today(), 9), tick=False) as traveller:
        yield traveller


def add(clinic, doctor, *, urgent=False, part="any", days=(0, 7), **patient_fields):
    patient = PatientFactory(clinic=clinic, email="", **patient_fields)
    today = clinic.today()
    return waitlist.waitlist_add(
        clinic=clinic,
        data=waitlist.WaitlistInput(
            patient=patient,
            doctor=doctor,
            earliest_date=today + datetime.timedelta(days=days[0]),
            latest_date=today + datetime.timedelta(days=days[1]),
            part_of_day=part,
            urgent=urgent,
        ),
        user=None,
    )


def claim_token(entry) -> str:
    """The raw token is only in the message's link."""
    offer = WaitlistOffer.objects.get(entry=entry, status="offered")
    body = OutboundMessage.objects.get(subject_type="waitlist_offer", subject_id=offer.pk, channel="sms").body
    return body.rsplit("/m/w/", 1)[1].strip("/ ")


@pytest.fixture
def freed(clinic, doctor, morning, desk):
    """Tomorrow 10:00 is booked by someone who will cancel."""
    start = clinic_at(clinic, clinic.today() + datetime.timedelta(days=1), 10)
    booking = services.appointment_book(
        clinic=clinic, user=desk[0], membership=desk[1], doctor=doctor, start=start, patient=PatientFactory(clinic=clinic)
    )
    return booking.appointment


def cancel(appointment, desk):
    services.appointment_set_status(appointment=appointment, to_status="cancelled", user=desk[0], reason="Cannot come")


def test_a_freed_slot_is_offered_to_three_urgent_first_then_the_oldest(clinic, doctor, freed, desk, morning):
    oldest = add(clinic, doctor)
    morning.shift(datetime.timedelta(minutes=1))
    second, third, fourth = add(clinic, doctor), add(clinic, doctor), add(clinic, doctor)
    urgent = add(clinic, doctor, urgent=True)
    add(clinic, doctor, part="afternoon")  # 10:00 is a morning
    add(clinic, doctor, days=(3, 9))  # not tomorrow
    cancel(freed, desk)
    offered = set(WaitlistOffer.objects.values_list("entry_id", flat=True))
    assert offered == {urgent.pk, oldest.pk, second.pk}
    messages = OutboundMessage.objects.filter(kind="waitlist_offer")
    assert messages.count() == 3 and {m.status for m in messages} == {"sent"}
    assert all("/m/w/" in m.body and "15 minutes" in m.body for m in messages)
    assert third.pk not in offered and fourth.pk not in offered


def test_the_first_to_claim_gets_it_the_others_are_told_it_is_taken(client, clinic, doctor, freed, desk, front_desk):
    first, second = add(clinic, doctor), add(clinic, doctor)
    cancel(freed, desk)
    first_link, second_link = f"/m/w/{claim_token(first)}/", f"/m/w/{claim_token(second)}/"
    page = client.get(second_link)
    assert page.status_code == 200 and "Take this time" in page.content.decode()
    won = client.post(second_link)
    assert won.status_code == 200 and "It is yours" in won.content.decode()
    booked = Appointment.objects.get(booked_via="waitlist")
    assert booked.patient == second.patient and booked.starts_at == freed.starts_at
    second.refresh_from_db()
    assert second.status == "booked"
    lost = client.post(first_link)
    assert lost.status_code == 409 and "Someone was quicker" in lost.content.decode()
    first.refresh_from_db()
    assert first.status == "waiting"  # still on the list
    assert client.post(second_link).status_code == 200  # a second tap shows the booking again
    assert Appointment.objects.filter(booked_via="waitlist").count() == 1
    from clinicos.models import Notification

    assert Notification.objects.filter(recipient=front_desk, kind="waitlist_claimed").exists()
    assert client.get("/m/w/not-a-token/").status_code == 404


def test_nobody_claims_in_fifteen_minutes_the_next_three_are_offered(client, clinic, doctor, freed, desk, morning):
    entries = [add(clinic, doctor) for _ in range(5)]
    cancel(freed, desk)
    late_link = f"/m/w/{claim_token(entries[0])}/"
    morning.shift(datetime.timedelta(minutes=16))
    assert waitlist.offer_next_rounds() == 2
    assert set(WaitlistOffer.objects.filter(round=2).values_list("entry_id", flat=True)) == {entries[3].pk, entries[4].pk}
    assert set(WaitlistOffer.objects.filter(round=1).values_list("status", flat=True)) == {"expired"}
    lapsed = client.post(late_link)
    assert lapsed.status_code == 409 and "lapsed" in lapsed.content.decode()
    assert waitlist.offer_next_rounds() == 0  # round two still holds


def test_a_slot_taken_at_the_desk_meanwhile_is_not_offered_again(clinic, doctor, freed, desk, morning):
    entries = [add(clinic, doctor) for _ in range(4)]
    cancel(freed, desk)
    services.appointment_book(
        clinic=clinic, user=desk[0], membership=desk[1], doctor=doctor, start=freed.starts_at, patient=PatientFactory(clinic=clinic)
    )
    morning.shift(datetime.timedelta(minutes=16))
    assert waitlist.offer_next_rounds() == 0
    assert not WaitlistOffer.objects.filter(entry=entries[3]).exists()


def test_booking_takes_the_patient_off_the_waitlist_and_closes_recalls(clinic, doctor, desk, morning):
    entry = add(clinic, doctor)
    recall = recalls.recall_create(
        clinic=clinic, data=recalls.RecallInput(patient=entry.patient, due_date=clinic.today(), reason="Thyroid review"), user=desk[0]
    )
    start = clinic_at(clinic, clinic.today() + datetime.timedelta(days=2), 11)
    appointment = services.appointment_book(
        clinic=clinic, user=desk[0], membership=desk[1], doctor=doctor, start=start, patient=entry.patient
    ).appointment
    entry.refresh_from_db()
    recall.refresh_from_db()
    assert (entry.status, entry.appointment) == ("booked", appointment)
    assert (recall.status, recall.appointment) == ("booked", appointment)


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="the race is settled by PostgreSQL row locks")
def test_two_claims_at_the_same_moment_have_one_winner(clinic, doctor):
    MessageRules.objects.create(clinic=clinic, quiet_start=None, quiet_end=None)
    start = timezone.now().replace(second=0, microsecond=0) + datetime.timedelta(days=1)
    local = timezone.localtime(start, clinic.tzinfo)
    services.exception_add(
        clinic=clinic, doctor=doctor, kind="extra", date=local.date(), start_time=datetime.time(0), end_time=datetime.time(23, 59)
    )
    start = clinic_at(clinic, local.date(), 12)
    booking = services.appointment_book(
        clinic=clinic, user=None, membership=None, doctor=doctor, start=start, patient=PatientFactory(clinic=clinic)
    )
    entries = [add(clinic, doctor, days=(0, 3)) for _ in range(2)]
    cancel(booking.appointment, (None, None))
    tokens = [claim_token(entry) for entry in entries]
    barrier = threading.Barrier(2)
    outcomes = []

    def claim(raw):
        from django.db import connection as thread_connection

        try:
            barrier.wait()
            outcomes.append(waitlist.offer_claim(raw=raw).outcome)
        except Exception as error:
            outcomes.append(repr(error))
        finally:
            thread_connection.close()

    threads = [threading.Thread(target=claim, args=(raw,)) for raw in tokens]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(outcomes) == ["booked", "taken"]
    assert Appointment.objects.filter(booked_via="waitlist").count() == 1


def test_the_waitlist_page_and_api(login, api_client, front_desk, clinic, doctor, morning, outsider):
    patient = PatientFactory(clinic=clinic)
    client = login(front_desk)
    today = clinic.today()
    bad = client.post(
        f"/c/{clinic.code}/schedule/waitlist/",
        {"uhid": patient.uhid, "earliest_date": today, "latest_date": today - datetime.timedelta(days=1)},
    )
    assert bad.status_code == 422 and not WaitlistEntry.objects.exists()
    data = {
        "uhid": patient.uhid,
        "doctor": doctor.pk,
        "earliest_date": today,
        "latest_date": today + datetime.timedelta(days=10),
        "part_of_day": "morning",
        "urgent": "on",
    }
    assert client.post(f"/c/{clinic.code}/schedule/waitlist/", data).status_code == 302
    page = client.get(f"/c/{clinic.code}/schedule/waitlist/").content.decode()
    assert patient.full_name in page and "Urgent" in page
    api = api_client(front_desk)
    listed = api.get(f"/api/v1/clinics/{clinic.code}/waitlist").json()
    assert len(listed) == 1 and listed[0]["part_of_day"] == "morning" and listed[0]["urgent"] is True
    created = api.post(
        f"/api/v1/clinics/{clinic.code}/waitlist",
        {
            "patient_id": patient.pk,
            "doctor_id": doctor.pk,
            "earliest_date": str(today),
            "latest_date": str(today + datetime.timedelta(days=3)),
        },
    )
    assert created.status_code == 201
    for body in (
        {"patient_id": patient.pk, "earliest_date": str(today), "latest_date": str(today)},  # no doctor or department
        {"patient_id": 999999, "doctor_id": doctor.pk, "earliest_date": str(today), "latest_date": str(today)},
        {"patient_id": patient.pk, "doctor_id": doctor.pk, "earliest_date": str(today), "latest_date": str(today), "part_of_day": "night"},
    ):
        assert api.post(f"/api/v1/clinics/{clinic.code}/waitlist", body).status_code == 422, body
    entry_id = created.json()["id"]
    assert api_client(outsider).delete(f"/api/v1/clinics/XYZ02/waitlist/{entry_id}").status_code == 404
    assert api.delete(f"/api/v1/clinics/{clinic.code}/waitlist/{entry_id}").status_code == 204
    assert api.delete(f"/api/v1/clinics/{clinic.code}/waitlist/{entry_id}").status_code == 409


def test_an_unbooked_follow_up_becomes_a_recall(clinic, doctor, morning):
    from clinical import services as clinical_services
    from clinical.models import ClinicalNote

    patient = PatientFactory(clinic=clinic)
    visit = clinical_services.visit_start(clinic=clinic, user=doctor.user, patient=patient)
    ClinicalNote.objects.filter(visit=visit).update(follow_up_required=True, follow_up_date=clinic.today() + datetime.timedelta(days=30))
    clinical_services.visit_complete(visit=visit, user=doctor.user)
    recall = Recall.objects.get(patient=patient)
    assert recall.visit_id == visit.pk and recall.due_date == clinic.today() + datetime.timedelta(days=30) and recall.doctor == doctor
    assert visit.reference in recall.reason


def test_recalls_are_sent_for_a_selection_and_logged(login, front_desk, clinic, morning, api_client):
    due = [
        recalls.recall_create(
            clinic=clinic,
            data=recalls.RecallInput(
                patient=PatientFactory(clinic=clinic, email=""), due_date=clinic.today() + datetime.timedelta(days=d), reason="Review"
            ),
            user=None,
        )
        for d in (-3, 2, 20)
    ]
    client = login(front_desk)
    week = client.get(f"/c/{clinic.code}/schedule/recalls/").content.decode()
    assert due[1].patient.full_name in week and due[2].patient.full_name not in week
    overdue = client.get(f"/c/{clinic.code}/schedule/recalls/?view=overdue").content.decode()
    assert due[0].patient.full_name in overdue and "Overdue" in overdue
    client.post(f"/c/{clinic.code}/schedule/recalls/send/", {"recall": [due[0].pk, due[1].pk]})
    assert len(providers.sent) == 2 and all("would like to see you again" in m.body for m in providers.sent)
    assert RecallAttempt.objects.filter(way="message").count() == 2
    client.post(f"/c/{clinic.code}/schedule/recalls/send/", {"recall": [due[0].pk]})
    assert len(providers.sent) == 2  # once a day per recall
    client.post(f"/c/{clinic.code}/schedule/recalls/{due[2].pk}/", {"action": "call", "note": "No answer"})
    assert RecallAttempt.objects.get(recall=due[2]).note == "No answer"
    api = api_client(front_desk)
    listed = api.get(f"/api/v1/clinics/{clinic.code}/recalls").json()
    assert [r["id"] for r in listed] == [r.pk for r in due] and listed[0]["attempts"] == 1, (
        listed[0],
        list(RecallAttempt.objects.values_list("recall_id", "way")),
    )
    closed = api.patch(f"/api/v1/clinics/{clinic.code}/recalls/{due[2].pk}", {"status": "closed", "closed_reason": "Moved away"})
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    assert api.patch(f"/api/v1/clinics/{clinic.code}/recalls/{due[2].pk}", {"status": "booked"}).status_code == 422
    made = api.post(
        f"/api/v1/clinics/{clinic.code}/recalls", {"patient_id": due[0].patient_id, "due_date": str(clinic.today()), "reason": ""}
    )
    assert made.status_code == 422


def test_the_between_visits_pages_read_a_fixed_number_of_queries(login, front_desk, clinic, doctor, morning, django_assert_max_num_queries):
    client = login(front_desk)
    pages = ("schedule/recalls/?view=open", "schedule/waitlist/", "messages/")

    def fill(n):
        for _ in range(n):
            entry = add(clinic, doctor)
            recall = recalls.recall_create(
                clinic=clinic, data=recalls.RecallInput(patient=entry.patient, due_date=clinic.today(), reason="Review"), user=None
            )
            recalls.recalls_send(clinic=clinic, recalls=[recall], user=front_desk)

    fill(2)
    counts = {}
    for path in pages:
        with django_assert_max_num_queries(12) as captured:
            assert client.get(f"/c/{clinic.code}/{path}").status_code == 200
        counts[path] = len(captured)
    fill(10)
    for path in pages:
        with django_assert_max_num_queries(counts[path]):  # more rows, not more queries
            assert client.get(f"/c/{clinic.code}/{path}").status_code == 200
