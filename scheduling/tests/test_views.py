import datetime

import pytest
import time_machine
from django.utils import timezone

from clinicos.roles import Role
from patients.tests.factories import PatientFactory
from scheduling import services
from scheduling.models import Appointment, CalendarFeed
from scheduling.tests.factories import AppointmentFactory

pytestmark = pytest.mark.django_db


def test_day_view_query_count_does_not_grow_with_appointments(login, front_desk, clinic, doctor, at, django_assert_max_num_queries):
    client = login(front_desk)
    for hour in (9, 10, 11, 12, 14, 15, 16, 17):
        AppointmentFactory(clinic=clinic, doctor=doctor, starts_at=at(hour), ends_at=at(hour, 30))
    day = at(9).date().isoformat()
    with django_assert_max_num_queries(12):
        response = client.get(f"/c/{clinic.code}/schedule/?date={day}")
    column = response.context["columns"][0]
    assert len(column.cards) == 8 and column.blocks  # appointments and shaded availability
    # Cards share their placing rules: one per start time and one per length, not one each.
    body = response.content.decode()
    assert body.count('class="cal-appt t') == 8 and body.count(".h46{height:46px}") == 1
    nine = column.cards[0]["top"]
    assert f".t{nine}{{top:{nine}px}}" in body and f'class="cal-appt t{nine} h46 status-' in body


def test_the_day_shows_one_department_and_links_each_card(login, front_desk, clinic, doctor, at):
    from clinicos.models import Department
    from clinicos.tests.factories import DoctorProfileFactory

    ivf, gyn = Department.objects.create(clinic=clinic, name="IVF"), Department.objects.create(clinic=clinic, name="Gynaecology")
    doctor.department = ivf
    doctor.save()
    other = DoctorProfileFactory(clinic=clinic, department=gyn)
    booked = AppointmentFactory(clinic=clinic, doctor=doctor, starts_at=at(10), ends_at=at(10, 30))
    client = login(front_desk)
    day = at(10).date().isoformat()
    everyone = client.get(f"/c/{clinic.code}/schedule/?date={day}")
    assert {column.doctor_id for column in everyone.context["columns"]} == {doctor.pk, other.pk}
    one = client.get(f"/c/{clinic.code}/schedule/?date={day}&department={ivf.pk}")
    assert [column.doctor_id for column in one.context["columns"]] == [doctor.pk]
    body = one.content.decode()
    assert f'value="{ivf.pk}" selected' in body and f"&amp;department={ivf.pk}" in body  # the day arrows keep it
    assert f'href="/c/{clinic.code}/schedule/appointments/{booked.pk}/"' in body
    assert f'data-move-url="/c/{clinic.code}/schedule/appointments/{{}}/move/"' in body and 'draggable="true"><i>' in body
    assert f'data-book-url="/c/{clinic.code}/schedule/appointments/new/?doctor={doctor.pk}&amp;date={day}"' in body
    unknown = client.get(f"/c/{clinic.code}/schedule/?date={day}&department=999999")
    assert len(unknown.context["columns"]) == 2  # an unknown department shows everyone


def test_week_and_resource_views(login, clinician, clinic, at):
    client = login(clinician)
    assert client.get(f"/c/{clinic.code}/schedule/week/").context["view"] == "week"
    assert len(client.get(f"/c/{clinic.code}/schedule/week/").context["columns"]) == 7
    assert client.get(f"/c/{clinic.code}/schedule/resources/").status_code == 200


def test_booking_from_an_empty_slot(login, front_desk, clinic, doctor, at):
    patient = PatientFactory(clinic=clinic)
    client = login(front_desk)
    form = client.get(
        f"/c/{clinic.code}/schedule/appointments/new/?doctor={doctor.pk}&date={at(10).date()}&time=10:00", HTTP_HX_REQUEST="true"
    )
    assert form.status_code == 200 and "<html" not in form.content.decode()
    data = {
        "who": "patient",
        "patient_uhid": patient.uhid.lower(),
        "doctor": doctor.pk,
        "date": at(10).date().isoformat(),
        "time": "10:00",
        "duration_minutes": 30,
        "type": "consultation",
    }
    response = client.post(f"/c/{clinic.code}/schedule/appointments/new/", data, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "HX-Redirect" in response
    assert Appointment.objects.get().patient == patient
    again = client.post(
        f"/c/{clinic.code}/schedule/appointments/new/", {**data, "patient_uhid": PatientFactory(clinic=clinic).uhid}, HTTP_HX_REQUEST="true"
    )
    assert again.status_code == 409 and "just taken" in again.content.decode() and "Next free" in again.content.decode()


def _booking(doctor, at, **extra):
    return {
        "who": "patient",
        "doctor": doctor.pk,
        "date": at(10).date().isoformat(),
        "time": "10:00",
        "duration_minutes": 30,
        "type": "consultation",
        **extra,
    }


def test_the_booking_modal_finds_a_registered_patient_by_name_phone_or_uhid(login, front_desk, clinic, doctor, at, other_clinic):
    meera = PatientFactory(clinic=clinic, first_name="Meera", last_name="Iyer", mobile="+919845012345")
    PatientFactory(clinic=clinic, first_name="Meenakshi", last_name="Rao")
    PatientFactory(clinic=other_clinic, first_name="Meera", last_name="Elsewhere")
    client = login(front_desk)
    picks = f"/c/{clinic.code}/schedule/appointments/new/patients/"
    by_name = client.get(picks, {"patient_uhid": "mee"}, HTTP_HX_REQUEST="true").content.decode()
    assert "Meera Iyer" in by_name and "Meenakshi Rao" in by_name and "Elsewhere" not in by_name
    assert "checked" not in by_name, "two matches: none is chosen for the receptionist"
    for typed in ("Meera Iyer", "2345", meera.uhid):
        found = client.get(picks, {"patient_uhid": typed}, HTTP_HX_REQUEST="true").content.decode()
        assert f'value="{meera.pk}" checked' in found, typed
    assert "No patient matches" in client.get(picks, {"patient_uhid": "Zzyzx"}).content.decode()
    # the match picked is booked
    response = client.post(
        f"/c/{clinic.code}/schedule/appointments/new/", _booking(doctor, at, patient_uhid="mee", patient=meera.pk), HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200 and Appointment.objects.get().patient == meera


def test_a_patient_id_of_another_clinic_or_nothing_picked_is_a_form_error(login, front_desk, clinic, doctor, at, other_clinic):
    client = login(front_desk)
    stranger = PatientFactory(clinic=other_clinic)
    PatientFactory(clinic=clinic, first_name="Meera")
    PatientFactory(clinic=clinic, first_name="Meena")
    for extra, message in (
        ({"patient_uhid": "x", "patient": stranger.pk}, "not in this clinic"),
        ({"patient_uhid": "mee"}, "Pick the patient from the matches"),
        ({"patient_uhid": ""}, "Find the patient to book"),
    ):
        response = client.post(f"/c/{clinic.code}/schedule/appointments/new/", _booking(doctor, at, **extra), HTTP_HX_REQUEST="true")
        assert response.status_code == 400 and message in response.content.decode(), extra
    assert not Appointment.objects.exists()


def test_the_modal_shows_the_fields_of_who_is_coming_only(login, front_desk, clinic):
    page = login(front_desk).get(f"/c/{clinic.code}/schedule/appointments/new/").content.decode()
    assert 'class="who-panel who-patient"' in page and 'class="form-grid who-panel who-walk_in"' in page
    assert page.index("who-walk_in") < page.index('name="walk_in_name"')


def test_a_next_free_time_is_a_button_that_books_it(login, front_desk, clinic, doctor, at):
    client = login(front_desk)
    AppointmentFactory(clinic=clinic, doctor=doctor, starts_at=at(10), ends_at=at(10, 30))
    patient = PatientFactory(clinic=clinic)
    data = _booking(doctor, at, patient=patient.pk, patient_uhid=patient.uhid)
    taken = client.post(f"/c/{clinic.code}/schedule/appointments/new/", data, HTTP_HX_REQUEST="true")
    page = taken.content.decode()
    assert taken.status_code == 409 and f'name="slot" value="{at(10, 30).isoformat()}"' in page
    assert 'hx-swap="outerHTML show:top"' in page, "the error and the times come into view"
    booked = client.post(f"/c/{clinic.code}/schedule/appointments/new/", {**data, "slot": at(10, 30).isoformat()}, HTTP_HX_REQUEST="true")
    assert booked.status_code == 200
    assert Appointment.objects.get(patient=patient).starts_at == at(10, 30)
    garbled = client.post(f"/c/{clinic.code}/schedule/appointments/new/", {**data, "slot": "half past ten"}, HTTP_HX_REQUEST="true")
    assert garbled.status_code == 400 and "could not be read" in garbled.content.decode()


def test_check_in_is_one_tap_from_today_and_swaps_the_board_in_place(login, front_desk, clinic, doctor, mid_morning):
    soon = timezone.now() + datetime.timedelta(minutes=20)
    appointment = AppointmentFactory(
        clinic=clinic, doctor=doctor, status="scheduled", starts_at=soon, ends_at=soon + datetime.timedelta(minutes=30)
    )
    client = login(front_desk)
    today = client.get(f"/c/{clinic.code}/schedule/today/?page=1").content.decode()
    assert 'value="checked_in"' in today and 'hx-target="#today-board"' in today and 'hx-post=""' in today
    url = f"/c/{clinic.code}/schedule/appointments/{appointment.pk}/status/"
    response = client.post(
        url, {"status": "checked_in", "next": "/c/ABC01/schedule/today/?page=1"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="today-board"
    )
    assert response.status_code == 200
    assert '"target": "#today-board"' in response["HX-Location"] and "page=1" in response["HX-Location"]
    appointment.refresh_from_db()
    assert appointment.status == "checked_in" and appointment.arrived_at == appointment.checked_in_at
    board = client.get(f"/c/{clinic.code}/schedule/today/?page=1", HTTP_HX_REQUEST="true").content.decode()
    assert "Checked-in." in board and "<html" not in board
    # a refusal says why in the board too, and changes nothing
    again = client.post(url, {"status": "arrived"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="today-board")
    assert again.status_code == 200
    assert "cannot go from" in client.get(f"/c/{clinic.code}/schedule/today/", HTTP_HX_REQUEST="true").content.decode()
    appointment.refresh_from_db()
    assert appointment.status == "checked_in"


def test_booking_with_bad_input_shows_errors(login, front_desk, clinic, doctor, at):
    data = {
        "who": "patient",
        "patient_uhid": "NOPE-1",
        "doctor": doctor.pk,
        "date": at(10).date().isoformat(),
        "time": "10:00",
        "duration_minutes": 600,
        "type": "consultation",
    }
    response = login(front_desk).post(f"/c/{clinic.code}/schedule/appointments/new/", data)
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert "patient_uhid" in errors and "duration_minutes" in errors
    assert not Appointment.objects.exists()


def test_front_desk_marks_arrival_and_checks_in_then_the_doctor_sees_the_patient_waiting(
    login, front_desk, clinic, make_member, mid_morning
):
    doctor_user = make_member(Role.DOCTOR)
    from clinicos.tests.factories import DoctorProfileFactory

    doctor = DoctorProfileFactory(clinic=clinic, user=doctor_user)
    now = timezone.now()
    appointment = AppointmentFactory(
        clinic=clinic, doctor=doctor, starts_at=now + datetime.timedelta(minutes=5), ends_at=now + datetime.timedelta(minutes=35)
    )
    client = login(front_desk)
    today = client.get(f"/c/{clinic.code}/schedule/today/")
    assert appointment in today.context["page"].object_list
    client.post(f"/c/{clinic.code}/schedule/appointments/{appointment.pk}/status/", {"status": "arrived"})
    client.post(f"/c/{clinic.code}/schedule/appointments/{appointment.pk}/status/", {"status": "checked_in"})
    assert [a.pk for a in client.get(f"/c/{clinic.code}/schedule/today/").context["waiting"]] == [appointment.pk]
    mine = login(doctor_user).get(f"/c/{clinic.code}/schedule/mine/", HTTP_HX_REQUEST="true")
    assert mine.context["next_patient"].pk == appointment.pk and 'id="my-schedule"' in mine.content.decode()


def test_today_pages_the_arrivals_and_opens_on_whoever_is_due_now(login, front_desk, clinic, doctor, django_assert_max_num_queries):
    """A big clinic's day has a thousand arrivals: the board shows forty, opening on the
    page due from half an hour ago, and keeps the refresh small."""

    from scheduling.selectors import ARRIVALS_PER_PAGE

    tz = clinic.tzinfo
    day = timezone.localdate(timezone.now(), tz)
    first = datetime.datetime.combine(day, datetime.time(6), tz)
    for n in range(100):  # every 10 minutes from 06:00 to 22:30
        AppointmentFactory(
            clinic=clinic,
            doctor=doctor,
            starts_at=first + datetime.timedelta(minutes=10 * n),
            ends_at=first + datetime.timedelta(minutes=10 * n + 10),
        )
    afternoon = datetime.datetime.combine(day, datetime.time(15), tz)
    with time_machine.travel(afternoon, tick=False):
        client = login(front_desk)  # logged in at 15:00: a session from the real clock may have expired by then
        with django_assert_max_num_queries(12):
            board = client.get(f"/c/{clinic.code}/schedule/today/")
        page = board.context["page"]
        # 51 start before 14:30 (06:00 … 14:20): the second page, which holds 14:30.
        assert page.number == 2 and page.paginator.count == 100 and len(page.object_list) == ARRIVALS_PER_PAGE
        starts = [a.starts_at.astimezone(tz).time() for a in page.object_list]
        assert datetime.time(14, 30) in starts
        refresh = client.get(f"/c/{clinic.code}/schedule/today/", HTTP_HX_REQUEST="true")
        assert len(refresh.content) <= 30_000 and "<html" not in refresh.content.decode()
        body = board.content.decode()
        assert body.count('class="arrival status-row-') == ARRIVALS_PER_PAGE and "Later →" in body and "← Earlier" in body
        later = client.get(f"/c/{clinic.code}/schedule/today/?page=3")
        assert later.context["page"].number == 3 and len(later.context["page"].object_list) == 100 - 2 * ARRIVALS_PER_PAGE
        assert "← Earlier" in later.content.decode()
        # A page past the end, or not a number, shows a page rather than failing.
        assert client.get(f"/c/{clinic.code}/schedule/today/?page=99").context["page"].number == 3
        assert client.get(f"/c/{clinic.code}/schedule/today/?page=x").context["page"].number == 1
    with time_machine.travel(datetime.datetime.combine(day, datetime.time(21), tz), tick=False):
        evening = login(front_desk)  # six hours later: a new session
        assert evening.get(f"/c/{clinic.code}/schedule/today/").context["page"].number == 3


def test_a_forbidden_status_move_shows_a_message(login, front_desk, clinic):
    appointment = AppointmentFactory(clinic=clinic, status="completed")
    response = login(front_desk).post(
        f"/c/{clinic.code}/schedule/appointments/{appointment.pk}/status/", {"status": "arrived"}, follow=True
    )
    assert "cannot go from" in response.content.decode()


def test_dragging_reschedules(login, front_desk, clinic, doctor, at):
    appointment = AppointmentFactory(clinic=clinic, doctor=doctor, starts_at=at(10), ends_at=at(10, 30))
    login(front_desk).post(
        f"/c/{clinic.code}/schedule/appointments/{appointment.pk}/move/",
        {"doctor": doctor.pk, "date": at(11).date().isoformat(), "time": "11:00", "duration_minutes": 30},
    )
    appointment.refresh_from_db()
    assert appointment.starts_at == at(11)


def test_doctor_edits_own_availability(login, make_member, clinic):
    from clinicos.tests.factories import DoctorProfileFactory

    user = make_member(Role.DOCTOR)
    doctor = DoctorProfileFactory(clinic=clinic, user=user)
    client = login(user)
    client.post(
        f"/c/{clinic.code}/schedule/availability/",
        {"form": "hours", "weekday": 0, "start_time": "09:00", "end_time": "12:00", "slot_minutes": 20},
    )
    assert doctor.working_hours.get().slot_minutes == 20
    bad = client.post(
        f"/c/{clinic.code}/schedule/availability/",
        {"form": "hours", "weekday": 0, "start_time": "11:00", "end_time": "10:00", "slot_minutes": 20},
    )
    assert bad.status_code == 400
    leave = client.post(f"/c/{clinic.code}/schedule/availability/", {"form": "exception", "kind": "leave", "date": "2030-01-07"})
    assert leave.status_code == 302 and doctor.exceptions.count() == 1


def test_ical_feed_is_secret_and_revocable(login, clinician, clinic, doctor, at):
    profile = clinician.doctor_profiles.get()
    for weekday in range(7):
        services.working_hours_add(doctor=profile, weekday=weekday, start_time=datetime.time(9), end_time=datetime.time(17))
    AppointmentFactory(clinic=clinic, doctor=profile, starts_at=at(10), ends_at=at(10, 30), reason="Scan review")
    client = login(clinician)
    response = client.post(f"/c/{clinic.code}/schedule/feed/", {"action": "renew"}, follow=True)
    url = next(m.message for m in response.context["messages"]).split(": ", 1)[1]
    path = url.split("testserver", 1)[1]
    client.logout()
    feed = client.get(path)
    assert feed.status_code == 200 and feed["Content-Type"].startswith("text/calendar")
    body = feed.content.decode()
    assert "BEGIN:VEVENT" in body and "Scan review" in body
    assert CalendarFeed.objects.get().token_hash not in path
    login(clinician).post(f"/c/{clinic.code}/schedule/feed/", {"action": "revoke"})
    client.logout()
    assert client.get(path).status_code == 404
    assert client.get("/ical/made-up.ics").status_code == 404


def test_chart_appointments_tab(login, front_desk, clinic, doctor, at):
    appointment = AppointmentFactory(clinic=clinic, doctor=doctor, starts_at=at(10), ends_at=at(10, 30))
    response = login(front_desk).get(f"/c/{clinic.code}/patients/{appointment.patient_id}/tabs/appointments/")
    assert appointment in response.context["upcoming"]


def test_another_clinics_appointment_is_404(login, front_desk, clinic, other_clinic):
    foreign = AppointmentFactory(clinic=other_clinic)
    client = login(front_desk)
    assert client.get(f"/c/{clinic.code}/schedule/appointments/{foreign.pk}/").status_code == 404
    assert client.post(f"/c/{clinic.code}/schedule/appointments/{foreign.pk}/status/", {"status": "arrived"}).status_code == 404


def test_instant_booking_offers_and_books_todays_first_free_slot(login, front_desk, clinic, mid_morning):
    from clinicos.tests.factories import DoctorProfileFactory
    from leads.tests.factories import LeadFactory

    doctor = DoctorProfileFactory(clinic=clinic)
    today = timezone.localdate(timezone.now(), clinic.tzinfo)
    # An extra session for the rest of today (it is mid-morning), so there is space.
    now_local = timezone.localtime(timezone.now(), clinic.tzinfo)
    start = (now_local + datetime.timedelta(hours=1)).replace(minute=0, second=0, microsecond=0).time()
    services.exception_add(clinic=clinic, doctor=doctor, kind="extra", date=today, start_time=start, end_time=datetime.time(23, 59))
    lead = LeadFactory(clinic=clinic)
    client = login(front_desk)
    offer = client.get(f"/c/{clinic.code}/leads/{lead.pk}/instant-booking/")
    slot = offer.context["slot"]
    assert slot["doctor"] == doctor and slot["start"].astimezone(clinic.tzinfo).time() == start
    client.post(f"/c/{clinic.code}/leads/{lead.pk}/instant-booking/", {"doctor": doctor.pk, "start": slot["start"].isoformat()})
    appointment = Appointment.objects.get(lead=lead)
    assert (appointment.booked_via, appointment.status) == ("lead_instant", "expected")
    assert client.get(f"/c/{clinic.code}/leads/{lead.pk}/instant-booking/").context["booked"] == appointment
    assert 'hx-get="/c/ABC01/leads/' in client.get(f"/c/{clinic.code}/leads/{lead.pk}/").content.decode()


def test_under_debug_an_htmx_400_still_lands_in_the_form_not_over_the_page(login, front_desk, clinic, doctor, at, settings):
    """django-htmx's debug extension (added by its htmx_script tag when DEBUG is on, as
    under ``make run``) swaps every 400 over the whole document; the pages load htmx alone."""
    settings.DEBUG = True
    client = login(front_desk)
    page = client.get(f"/c/{clinic.code}/schedule/today/").content.decode()
    assert "htmx-2.min.js" in page and "django-htmx.js" not in page
    refused = client.post(f"/c/{clinic.code}/schedule/appointments/new/", _booking(doctor, at, patient_uhid=""), HTTP_HX_REQUEST="true")
    assert refused.status_code == 400 and refused.content.decode().lstrip().startswith("<form")
