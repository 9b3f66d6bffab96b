"""The dashboards: each role's panel on known data, the administrator's figures agreeing
with the reports, doctor utilization, the range picker's bad inputs, the number of queries
(bounded: the same with more rows), and ``GET dashboard/stats`` with a bearer token."""

import datetime
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from clinical import services as clinical
from clinical.inputs import VitalsInput
from clinicos.models import DoctorProfile, Membership, User
from clinicos.roles import Role
from clinicos.tests.factories import DoctorProfileFactory, UserFactory
from leads import selectors as lead_selectors
from leads.models import LeadStatus
from leads.tests.factories import LeadFactory
from patients.tests.factories import PatientFactory
from reporting import dashboards, reports
from scheduling import selectors as scheduling_selectors
from scheduling import services as scheduling
from scheduling.models import AppointmentStatus, AvailabilityException
from scheduling.tests.factories import AppointmentFactory

D = Decimal
DAY = datetime.date(2026, 11, 10)  # a Tuesday
NOW = datetime.datetime(2026, 11, 10, 9, 0, tzinfo=datetime.UTC)  # 14:30 in Kolkata


def _today_at(clinic, hour: int, minute: int = 0) -> datetime.datetime:
    today = timezone.localdate(timezone.now(), clinic.tzinfo)
    return datetime.datetime.combine(today, datetime.time(hour, minute), tzinfo=clinic.tzinfo)


def _appointment(clinic, doctor, hour, status, **extra):
    start = _today_at(clinic, hour)
    return AppointmentFactory(
        clinic=clinic, doctor=doctor, starts_at=start, ends_at=start + datetime.timedelta(minutes=30), status=status, **extra
    )


@pytest.fixture
def busy_day(clinic, clinician):
    """Today (10 Nov, 14:30 in Kolkata) for Dr Kavya Rao: two done, one with her, two
    checked in (one since 14:00), one booked at 15:00, one no-show, one cancelled and a walk-in."""
    doctor = clinician.doctor_profiles.get()
    with time_machine.travel(NOW, tick=False):
        done = [_appointment(clinic, doctor, 9, AppointmentStatus.COMPLETED), _appointment(clinic, doctor, 10, AppointmentStatus.COMPLETED)]
        _appointment(clinic, doctor, 11, AppointmentStatus.IN_PROGRESS)
        first_in = _appointment(clinic, doctor, 12, AppointmentStatus.CHECKED_IN, checked_in_at=_today_at(clinic, 13, 30))
        _appointment(clinic, doctor, 13, AppointmentStatus.CHECKED_IN, checked_in_at=_today_at(clinic, 14))
        _appointment(clinic, doctor, 15, AppointmentStatus.SCHEDULED)
        _appointment(clinic, doctor, 8, AppointmentStatus.NO_SHOW)
        _appointment(clinic, doctor, 16, AppointmentStatus.CANCELLED)
        _appointment(
            clinic, doctor, 17, AppointmentStatus.ARRIVED, patient=None, walk_in_name="Walk-in Wanda", walk_in_phone="+919800000001"
        )
    return {"doctor": doctor, "done": done, "first_in": first_in}


# --- Each role's day --------------------------------------------------------------------------


@time_machine.travel(NOW, tick=False)
def test_the_front_desk_sees_today_by_status_the_waiting_room_and_walk_ins(login, front_desk, clinic, busy_day):
    body = login(front_desk).get(f"/c/{clinic.code}/").content.decode()
    assert "Today · Tuesday 10 November" in body
    day = scheduling_selectors.front_desk_day(clinic=clinic)
    assert (day["total"], day["arrived"], day["waiting_count"], day["walk_ins"]) == (9, 3, 2, 1)
    assert [a.pk for a in day["waiting"]][0] == busy_day["first_in"].pk  # longest waiting first
    assert [a.starts_at.astimezone(clinic.tzinfo).hour for a in day["due_next"]] == [15]
    assert f'href="/c/{clinic.code}/schedule/today/?status=no_show"' in body
    assert "The clinic ·" not in body and "Money" not in body  # the administrator's and the billing officer's panels


@time_machine.travel(NOW, tick=False)
def test_the_today_board_narrows_to_the_status_or_the_walk_ins_a_figure_links_to(login, front_desk, clinic, busy_day):
    client = login(front_desk)
    body = client.get(f"/c/{clinic.code}/schedule/today/?status=no_show").content.decode()
    assert "Arrivals: no-show" in body and body.count('class="arrival status-row-') == 1
    walk_ins = client.get(f"/c/{clinic.code}/schedule/today/?walk_ins=1").content.decode()
    assert "Walk-in Wanda" in walk_ins and walk_ins.count('class="arrival status-row-') == 1
    everyone = client.get(f"/c/{clinic.code}/schedule/today/?status=nonsense").content.decode()
    assert everyone.count('class="arrival status-row-') == 9 and "Only" not in everyone  # an unknown status filters nothing


@time_machine.travel(NOW, tick=False)
def test_the_doctor_sees_the_next_patient_and_what_waits_on_them(login, clinician, clinic, busy_day):
    patient = busy_day["first_in"].patient
    visit = clinical.visit_start(clinic=clinic, user=clinician, patient=patient)
    body = login(clinician).get(f"/c/{clinic.code}/").content.decode()
    assert f"Next: <strong>{patient.full_name}</strong> — checked in, waiting 1 h" in body
    data = scheduling_selectors.doctor_day(clinic=clinic, doctor=busy_day["doctor"])
    # booked excludes the cancelled one; the walk-in was booked with her too
    assert (data["booked"], data["waiting_count"], data["in_progress"], data["done"]) == (8, 2, 1, 2)
    assert "Notes still open" in body and f'href="/c/{clinic.code}/visits/{visit.pk}/"' in body


@time_machine.travel(NOW, tick=False)
def test_the_nurse_sees_who_waits_for_vitals(login, make_member, clinic, busy_day):
    nurse = make_member(Role.NURSE)
    taken = busy_day["first_in"].patient
    clinical.vitals_record(patient=taken, user=nurse, vitals=VitalsInput.parse({"systolic_bp": 120, "diastolic_bp": 80}))
    body = login(nurse).get(f"/c/{clinic.code}/").content.decode()
    assert 'Waiting for vitals <span class="count">1</span>' in body
    assert taken.full_name not in body  # vitals taken since check-in
    assert "Lab worklist" not in body and "To settle today" not in body


@time_machine.travel(NOW, tick=False)
def test_follow_ups_to_book_show_the_due_ones_not_yet_booked(login, front_desk, clinician, clinic):
    patient = PatientFactory(clinic=clinic, first_name="Asha", last_name="Menon")
    visit = clinical.visit_start(clinic=clinic, user=clinician, patient=patient)
    clinical.note_save(
        visit=visit,
        user=clinician,
        data={"chief_complaint": "Review", "follow_up_required": True, "follow_up_date": DAY + datetime.timedelta(days=3)},
    )
    body = login(front_desk).get(f"/c/{clinic.code}/").content.decode()
    assert "Asha Menon" not in body  # the visit is still open: the doctor may change the date
    clinical.visit_complete(visit=visit, user=clinician)
    body = login(front_desk).get(f"/c/{clinic.code}/").content.decode()
    assert 'Follow-ups to book <span class="count">1</span>' in body and "Asha Menon" in body
    assert f"?patient={patient.pk}&amp;doctor={visit.doctor_id}&amp;date=2026-11-13" in body
    assert "Review" not in body  # no clinical content for the front desk


@time_machine.travel(NOW, tick=False)
def test_the_cro_sees_their_queue_follow_ups_and_the_months_conversions(login, make_member, clinic):
    cro = make_member(Role.CRO)
    LeadFactory(
        clinic=clinic, name="Mine Waiting", status=LeadStatus.STALLING, assigned_to=cro, sent_to_cro_at=NOW - datetime.timedelta(hours=3)
    )
    LeadFactory(clinic=clinic, name="Someone Elses", status=LeadStatus.STALLING)
    LeadFactory(clinic=clinic, name="Call Back", status=LeadStatus.CONTACTED, next_follow_up=DAY)
    LeadFactory(clinic=clinic, name="Happy Ending", status=LeadStatus.CONVERTED)
    body = login(cro).get(f"/c/{clinic.code}/").content.decode()
    assert "Mine Waiting" in body and "Someone Elses" not in body and "Call Back" in body
    data = lead_selectors.cro_day(clinic=clinic, user=cro)
    assert (data["queue_count"], data["follow_ups_count"], data["month"]["converted"], data["month"]["total_leads"]) == (1, 1, 1, 4)
    assert data["month"]["conversion_rate"] == D("25.00")


def test_the_billing_officer_sees_the_snapshot_and_todays_day_close(login, clinic, money_day):
    with time_machine.travel(datetime.datetime(2026, 11, 10, 12, 0, tzinfo=datetime.UTC), tick=False):
        body = login(money_day["officer"]).get(f"/c/{clinic.code}/").content.decode()
    assert "Money" in body and "Day close · 10 November" in body
    assert "INR 1330.00" in body  # 1180 + 250 deposit − 100 refunded, as the day close counts
    assert "The clinic ·" not in body and "Lab worklist" not in body


# --- The administrator's figures agree with the reports --------------------------------------


def test_the_admins_figures_equal_the_reports_for_the_same_range(login, clinic, clinic_admin, money_day):
    first, last = DAY - datetime.timedelta(days=3), DAY + datetime.timedelta(days=3)
    figures = dashboards.period_figures(clinic, first, last)
    revenue_report = reports.revenue(clinic, first, last, {})
    assert figures["revenue"] == revenue_report.totals["net"] == D("1330.00")
    by_method = {row["method"]: row for row in reports.collections_by_method(clinic, first, last)}
    assert (
        by_method["cash"]["net"] == D("500.00")
        and by_method["upi"]["net"] == D("580.00")
        and by_method["bank_transfer"]["net"] == D("250.00")
    )
    day_book = reports.day_book(clinic, first, last, {})
    assert sum(row["net"] for row in by_method.values()) == day_book.totals["net"]
    body = login(clinic_admin).get(f"/c/{clinic.code}/?date_from={first}&date_to={last}").content.decode()
    assert "The clinic · 7 Nov 2026 – 13 Nov 2026" in body and "INR 1330.00" in body
    assert f"/reports/?report_type=revenue&amp;start_date={first}&amp;end_date={last}" in body


def test_the_revenue_trend_has_twelve_months_with_refunds_taken_off(clinic, money_day):
    trend = reports.revenue_by_month(clinic, datetime.date(2027, 3, 5))
    assert [row["month"] for row in trend][:2] == [datetime.date(2026, 4, 1), datetime.date(2026, 5, 1)] and len(trend) == 12
    assert {row["month"]: row["net"] for row in trend}[datetime.date(2026, 11, 1)] == D("1330.00")
    assert sum(row["net"] for row in trend) == D("1330.00")


def test_appointments_by_status_and_the_no_show_rate_match_the_appointment_summary(clinic, busy_day):
    with time_machine.travel(NOW, tick=False):
        counts = reports.appointment_counts(clinic, DAY, DAY)
        summary = reports.appointment_summary(clinic, DAY, DAY, {})
    assert counts["by_status"][AppointmentStatus.NO_SHOW] == 1 and counts["due"] == 8
    assert counts["no_show_rate"] == D("12.50")
    assert "No-show rate: 12.50 % of 8 appointments due." in summary.notes


def test_doctor_utilization_is_booked_over_available_hours(clinic, clinician):
    doctor = clinician.doctor_profiles.get()
    scheduling.working_hours_add(doctor=doctor, weekday=1, start_time=datetime.time(9), end_time=datetime.time(13))
    # An hour of leave on the Tuesday: 3 h available that day.
    AvailabilityException.objects.create(
        clinic=clinic, doctor=doctor, kind="leave", date=DAY, start_time=datetime.time(12), end_time=datetime.time(13)
    )
    start = datetime.datetime.combine(DAY, datetime.time(9), tzinfo=clinic.tzinfo)
    for index, status in enumerate([AppointmentStatus.COMPLETED, AppointmentStatus.NO_SHOW, AppointmentStatus.CANCELLED]):
        at = start + datetime.timedelta(minutes=30 * index)
        AppointmentFactory(clinic=clinic, doctor=doctor, starts_at=at, ends_at=at + datetime.timedelta(minutes=30), status=status)
    hours = reports.doctor_utilization(clinic, DAY, DAY + datetime.timedelta(days=7), [doctor])[doctor.pk]
    # Two Tuesdays: 3 h + 4 h; booked: the completed one and the no-show (the cancelled slot was given back)
    assert hours == {"booked_hours": D("1.00"), "available_hours": D("7.00"), "utilization": D("14.29")}
    (row,) = reports.doctor_performance(clinic, DAY, DAY + datetime.timedelta(days=7), {}).rows
    assert (row["booked_hours"], row["available_hours"], row["utilization"]) == (D("1.00"), D("7.00"), D("14.29"))


# --- The range picker ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query, message",
    [
        ("date_from=2026-11-10&date_to=2026-11-01", "The last day is before the first."),
        ("date_from=2020-01-01&date_to=2026-11-01", "The dashboard covers at most two years."),
        ("date_from=tuesday&date_to=2026-11-01", "Enter a valid date."),
        ("date_from=2026-11-01", "This field is required."),
    ],
)
def test_a_bad_range_says_why_and_shows_this_month(login, clinic, clinic_admin, query, message):
    with time_machine.travel(NOW, tick=False):
        response = login(clinic_admin).get(f"/c/{clinic.code}/?{query}")
    body = response.content.decode()
    assert response.status_code == 200 and message in body
    assert "The clinic · 1 Nov 2026 – 10 Nov 2026" in body


def test_the_reports_page_is_filled_in_from_a_dashboard_link(login, clinic, clinic_admin):
    body = (
        login(clinic_admin)
        .get(f"/c/{clinic.code}/reports/?report_type=day_book&start_date=2026-01-01&end_date=2026-03-31")
        .content.decode()
    )
    assert '<option value="day_book" selected>' in body and 'value="2026-01-01"' in body and 'value="2026-03-31"' in body


# --- Bounded queries --------------------------------------------------------------------------


def _queries(client, url: str) -> int:
    client.get(url)  # warm the session and caches
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured.captured_queries)


def _more_of_everything(clinic, doctor, count: int = 6):
    for index in range(count):
        # Late in the evening, a quarter of an hour each: clear of the demo's bookings (PostgreSQL
        # refuses a doctor's overlapping appointments).
        start = _today_at(clinic, 21) + datetime.timedelta(minutes=15 * index)
        AppointmentFactory(
            clinic=clinic,
            doctor=doctor,
            starts_at=start,
            ends_at=start + datetime.timedelta(minutes=15),
            duration_minutes=15,
            status=AppointmentStatus.CHECKED_IN,
            checked_in_at=timezone.now(),
        )
        LeadFactory(clinic=clinic, status=LeadStatus.STALLING, next_follow_up=timezone.localdate(timezone.now(), clinic.tzinfo))
    DoctorProfileFactory(clinic=clinic, user=UserFactory())


BUDGETS = {"admin": 36, "frontdesk": 18, "doctor": 20, "nurse": 13, "lab": 12, "pharmacist": 11, "cro": 16, "billing": 15}


def test_every_dashboard_issues_a_bounded_number_of_queries(client, demo_data):
    counts = {}
    for role, budget in BUDGETS.items():
        client.force_login(User.objects.get(email=f"{role}@abc01.example"))
        counts[role] = _queries(client, "/c/ABC01/")
        assert counts[role] <= budget, (role, counts[role])
    membership = Membership.objects.get(user__email="doctor@abc01.example", clinic__code="ABC01")
    doctor = DoctorProfile.objects.get(user=membership.user, clinic=membership.clinic)
    _more_of_everything(membership.clinic, doctor)
    for role in BUDGETS:
        client.force_login(User.objects.get(email=f"{role}@abc01.example"))
        assert _queries(client, "/c/ABC01/") == counts[role], f"the {role} dashboard queries more with more rows"


# --- The API ------------------------------------------------------------------------------------


def test_dashboard_stats_adds_revenue_appointments_and_patients(
    api_client, clinic, clinic_admin, front_desk, make_member, money_day, busy_day, other_clinic
):
    PatientFactory(clinic=clinic, registration_date=DAY)
    url = f"/api/v1/clinics/{clinic.code}/dashboard/stats?date_from=2026-11-10&date_to=2026-11-10"
    stats = api_client(clinic_admin).get(url).json()
    assert stats["revenue"] == "1330.00"
    assert stats["appointments_by_status"]["no_show"] == 1 and set(stats["appointments_by_status"]) == set(AppointmentStatus.values)
    assert stats["no_show_rate"] == 12.5 and stats["new_patients"] >= 1
    assert {"total_leads", "converted", "conversion_rate", "cro_queue", "by_source"} <= set(stats)
    assert api_client(front_desk).get(url).json()["revenue"] is None  # the front desk does not see the clinic's money
    everything = api_client(clinic_admin).get(f"/api/v1/clinics/{clinic.code}/dashboard/stats").json()
    assert everything["revenue"] == "1330.00" and everything["date_from"] is None
    bad = api_client(clinic_admin).get(f"/api/v1/clinics/{clinic.code}/dashboard/stats?date_from=2026-11-10&date_to=2026-11-01")
    assert bad.status_code == 422
    assert api_client(make_member(Role.PHARMACIST)).get(url).status_code == 403
    assert api_client(clinic_admin).get(f"/api/v1/clinics/{other_clinic.code}/dashboard/stats").status_code in (403, 404)
