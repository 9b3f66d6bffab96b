"""The portal's pages: the code login with its messages, profiles, booking and cancelling
from the page, and the profile form (audited)."""

import datetime

import pytest
from django.core.exceptions import ValidationError

from patients.models import Patient
from portal import services
from portal.models import OnlineBooking
from portal.tests.conftest import MOTHER_EMAIL, MOTHER_PHONE, last_code
from scheduling.models import Appointment
from scheduling.tests.factories import AppointmentFactory


def log_in(client, login=MOTHER_PHONE):
    client.post("/portal/login/", {"login": login})
    return client.post("/portal/login/code/", {"code": last_code(login)})


def test_the_login_page_explains_bad_input_and_sends_nothing(client, mother):
    page = client.post("/portal/login/", {"login": "12"})
    assert page.status_code == 422 and "phone number" in page.content.decode() and "field-invalid" in page.content.decode()
    assert client.post("/portal/login/", {"login": ""}).status_code == 422
    assert client.get("/portal/").status_code == 302  # still logged out


def test_a_wrong_code_says_so_and_a_new_one_can_be_sent(client, mother):
    client.post("/portal/login/", {"login": MOTHER_PHONE})
    code = last_code(MOTHER_PHONE)
    wrong = client.post("/portal/login/code/", {"code": "000000" if code != "000000" else "111111"})
    assert wrong.status_code == 401 and "wrong or has expired" in wrong.content.decode()
    assert client.post("/portal/login/code/", {"code": "12ab56"}).status_code == 422
    client.post("/portal/login/code/resend/")
    assert log_in_with_current_code(client).status_code == 302


def log_in_with_current_code(client):
    return client.post("/portal/login/code/", {"code": last_code(MOTHER_PHONE)})


def test_an_unknown_phone_gets_the_same_page(client, db):
    page = client.post("/portal/login/", {"login": "+919800000001"}, follow=True)
    assert page.status_code == 200 and "If <strong>+919800000001</strong> is on your record" in page.content.decode()


def test_one_person_picks_among_family_and_clinics(client, mother, daughter, mother_elsewhere):
    assert log_in(client)["Location"] == "/portal/profiles/"
    picker = client.get("/portal/profiles/").content.decode()
    assert picker.count("Iyer") >= 3 and "Lakeside Family Clinic" in picker and "Sunrise Fertility Centre" in picker
    client.post(f"/portal/profiles/{daughter.pk}/use/")
    assert "Hello, Diya" in client.get("/portal/").content.decode()
    client.post(f"/portal/profiles/{mother_elsewhere.pk}/use/")
    home = client.get("/portal/").content.decode()
    assert "Hello, Meera" in home and "Lakeside Family Clinic" in home


def test_logout_ends_the_portal_session(client, mother):
    log_in(client)
    assert client.get("/portal/").status_code == 200
    client.post("/portal/logout/")
    assert client.get("/portal/").status_code == 302


def test_booking_and_cancelling_from_the_pages(client, clinic, online, doctor, mother, front_desk):
    log_in(client)
    day = clinic.today() + datetime.timedelta(days=3)
    page = client.get("/portal/appointments/book/", {"doctor": doctor.pk, "date": day.isoformat()})
    assert page.status_code == 200 and "Dr Kavya Rao" in page.content.decode()
    slots = page.context["slots"]
    assert slots and slots[0]["label"].hour == 9
    confirm = client.get("/portal/appointments/book/", {"doctor": doctor.pk, "date": day.isoformat(), "start": slots[0]["value"]})
    assert "Book this time" in confirm.content.decode() and not Appointment.objects.exists()  # tapping a time books nothing yet
    done = client.post("/portal/appointments/book/", {"doctor": doctor.pk, "start": slots[0]["value"]}, follow=True)
    assert "Booked:" in done.content.decode()
    appointment = Appointment.objects.get(patient=mother)
    # The same slot again (taken a moment earlier by someone else): 409 and the next free times.
    again = client.post("/portal/appointments/book/", {"doctor": doctor.pk, "start": slots[0]["value"]})
    assert again.status_code == 409 and again.context["next_free"]
    assert client.post("/portal/appointments/book/", {"doctor": doctor.pk, "start": "soon"}).status_code == 422
    listing = client.get("/portal/appointments/").content.decode()
    assert appointment.reference in listing and "Change time" in listing
    client.post(f"/portal/appointments/{appointment.pk}/cancel/")
    appointment.refresh_from_db()
    assert appointment.status == "cancelled"
    # No longer "coming up", here or on the home page: it is history now.
    after = client.get("/portal/appointments/")
    assert appointment not in after.context["upcoming"] and appointment in after.context["past"]
    assert appointment not in client.get("/portal/").context["upcoming"]


def test_moving_from_the_page(client, clinic, online, doctor, mother):
    day = clinic.today() + datetime.timedelta(days=3)
    start = datetime.datetime.combine(day, datetime.time(10), tzinfo=clinic.tzinfo)
    appointment = AppointmentFactory(
        clinic=clinic, doctor=doctor, patient=mother, starts_at=start, ends_at=start + datetime.timedelta(minutes=30)
    )
    log_in(client)
    page = client.get(f"/portal/appointments/{appointment.pk}/move/", {"date": day.isoformat()})
    later = next(slot for slot in page.context["slots"] if slot["label"].hour == 15)
    client.post(f"/portal/appointments/{appointment.pk}/move/", {"start": later["value"]})
    appointment.refresh_from_db()
    assert appointment.starts_at.astimezone(clinic.tzinfo).hour == 15


def test_inside_the_notice_period_the_page_says_call_the_clinic(client, clinic, online, doctor, mother):
    import django.utils.timezone as tz

    soon = tz.now() + datetime.timedelta(hours=3)
    appointment = AppointmentFactory(
        clinic=clinic, doctor=doctor, patient=mother, starts_at=soon, ends_at=soon + datetime.timedelta(minutes=30)
    )
    log_in(client)
    page = client.get("/portal/appointments/").content.decode()
    assert "call Sunrise Fertility Centre" in page and "Change time" not in page
    refused = client.post(f"/portal/appointments/{appointment.pk}/cancel/", follow=True)
    assert "24 hours" in refused.content.decode()
    appointment.refresh_from_db()
    assert appointment.status == "scheduled"


def test_a_clinic_without_online_booking_says_so(client, clinic, doctor, mother):
    log_in(client)
    page = client.get("/portal/appointments/book/")
    assert page.status_code == 200 and "does not take bookings online" in page.content.decode()


def test_the_profile_form_saves_and_is_audited(client, mother):
    log_in(client)
    page = client.post(
        "/portal/profile/",
        {
            "email": "meera.new@example.com",
            "city": "Mysuru",
            "emergency_contact_name": "Ravi Iyer",
            "emergency_contact_phone": "98450 77777",
            "emergency_contact_relation": "Husband",
            "reminders_by_email": "on",
        },
    )
    assert page.status_code == 302
    mother.refresh_from_db()
    assert mother.email == "meera.new@example.com" and mother.city == "Mysuru" and mother.emergency_contact_phone == "+919845077777"
    assert mother.reminders_by_email and not mother.reminders_by_sms
    last = mother.history.first()
    assert last.history_change_reason == "Changed by the patient in the portal" and last.history_user is None


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [("email", "not-an-email", "valid email"), ("emergency_contact_phone", "12", "phone number")],
)
def test_the_profile_form_refuses_bad_input(client, mother, field, value, message):
    log_in(client)
    page = client.post("/portal/profile/", {field: value})
    assert page.status_code == 422 and message in page.content.decode()
    assert Patient.objects.get(pk=mother.pk).email == MOTHER_EMAIL


def test_the_profile_api_changes_only_what_it_may(portal_api, mother, stranger):
    portal = portal_api(phone=MOTHER_PHONE)
    changed = portal.patch(f"patients/{mother.pk}/profile", {"city": "Hosur", "reminders_by_sms": False})
    assert changed.status_code == 200 and changed.json()["city"] == "Hosur" and changed.json()["reminders_by_sms"] is False
    assert portal.patch(f"patients/{mother.pk}/profile", {"email": "bad"}).status_code == 422
    assert portal.patch(f"patients/{stranger.pk}/profile", {"city": "Hosur"}).status_code == 404
    mother.refresh_from_db()
    assert mother.city == "Hosur" and mother.mobile == MOTHER_PHONE


def test_the_portal_identity_service_reads_nothing_for_nobody(db):
    assert services.patients_of(services.PortalIdentity("email", "nobody@example.com")) == []


def test_the_front_desk_shares_a_document_and_the_patient_sees_it(client, portal_api, mother, front_desk, clinic):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from patients import services as patient_services
    from patients.tests.factories import MINIMAL_PDF

    upload = SimpleUploadedFile("advice.pdf", MINIMAL_PDF, content_type="application/pdf")
    document = patient_services.document_upload(patient=mother, user=front_desk, upload=upload, name="Diet advice", document_type="other")
    portal = portal_api(phone=MOTHER_PHONE)
    assert portal.get("documents").json() == []

    client.force_login(front_desk)
    share_url = f"/c/ABC01/patients/{mother.pk}/documents/{document.pk}/share/"
    client.post(share_url, {"shared": "1"})
    assert [d["name"] for d in portal.get("documents").json()] == ["Diet advice"]
    tab = client.get(f"/c/ABC01/patients/{mother.pk}/tabs/documents/").content.decode()
    assert "Shared with the patient" in tab and "Stop sharing" in tab
    assert document.history.first().history_user == front_desk  # who shared it is on record

    client.post(share_url, {"shared": "0"})
    assert portal.get("documents").json() == []
    assert portal.get(f"documents/{document.pk}/file").status_code == 404


def test_an_administrator_opens_online_booking(client, clinic, clinic_admin, doctor, front_desk, portal_api, mother):
    client.force_login(clinic_admin)
    url = "/c/ABC01/settings/online-booking/"
    page = client.get(url)
    assert page.status_code == 200 and "Dr Kavya Rao" in page.content.decode()
    refused = client.post(url, {"is_enabled": "on", "days_ahead": "30", "earliest_minutes": "60", "notice_hours": "24"})
    assert refused.status_code == 422 and "at least one doctor" in refused.content.decode()
    assert (
        client.post(
            url,
            {
                "is_enabled": "on",
                "doctors": [doctor.pk],
                "appointment_types": ["consultation"],
                "days_ahead": "999",
                "earliest_minutes": "60",
                "notice_hours": "24",
            },
        ).status_code
        == 422
    )
    saved = client.post(
        url,
        {
            "is_enabled": "on",
            "doctors": [doctor.pk],
            "appointment_types": ["consultation"],
            "days_ahead": "14",
            "earliest_minutes": "120",
            "notice_hours": "48",
        },
    )
    assert saved.status_code == 302
    assert [d["name"] for d in portal_api(phone=MOTHER_PHONE).get("clinics/ABC01/doctors").json()] == ["Dr Kavya Rao"]
    # Only administrators manage it.
    client.force_login(front_desk)
    assert client.get(url).status_code == 403


def test_a_new_phone_is_proven_by_a_code_sent_to_it(client, mother, daughter):
    log_in(client)
    client.post(f"/portal/profiles/{mother.pk}/use/")
    assert client.post("/portal/profile/phone/", {"phone": "12"}).status_code == 422
    assert client.post("/portal/profile/phone/", {"phone": MOTHER_PHONE}).status_code == 422  # the same one
    client.post("/portal/profile/phone/", {"phone": "98450 55555"})
    wrong = client.post("/portal/profile/phone/", {"code": "000000" if last_code("+919845055555") != "000000" else "111111"})
    assert wrong.status_code == 401
    mother.refresh_from_db()
    assert mother.mobile == MOTHER_PHONE  # nothing changed yet
    done = client.post("/portal/profile/phone/", {"code": last_code("+919845055555")})
    assert done.status_code == 302
    mother.refresh_from_db()
    assert mother.mobile == "+919845055555" and mother.person.phone == "+919845055555" and mother.person.phone_verified_at
    assert mother.history.first().history_change_reason.startswith("Phone changed by the patient")
    # Logged in by the old phone, the session now follows the new one.
    assert "Hello, Meera" in client.get("/portal/").content.decode()
    daughter.refresh_from_db()
    assert daughter.mobile == MOTHER_PHONE  # the daughter's chart keeps the family phone


def test_online_booking_rules_take_only_the_clinics_own_doctors(clinic, other_clinic, doctor):
    from clinicos.tests.factories import DoctorProfileFactory

    stranger = DoctorProfileFactory(clinic=other_clinic)
    rules = dict(is_enabled=True, appointment_types=["consultation"], days_ahead=14, earliest_minutes=60, notice_hours=24)
    with pytest.raises(ValidationError) as refused:
        services.online_booking_save(clinic=clinic, doctors=[doctor, stranger], **rules)
    assert "doctors" in refused.value.message_dict
    assert not OnlineBooking.objects.filter(clinic=clinic).exists()
    saved = services.online_booking_save(clinic=clinic, doctors=[doctor], **rules)
    again = services.online_booking_save(clinic=clinic, doctors=[doctor], **{**rules, "is_enabled": False})
    assert again.pk == saved.pk and list(again.doctors.all()) == [doctor] and not again.is_enabled
