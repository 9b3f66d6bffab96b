"""Reads for scheduling: the calendar grid (formatted in Python: the template stays lean),
the day's arrivals and waiting room, a doctor's schedule."""

import datetime
from dataclasses import dataclass
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import Count, QuerySet, Sum
from django.http import Http404
from django.urls import reverse
from django.utils import timezone

from clinicos.models import Clinic, DoctorProfile, Resource
from clinicos.navigation import url_with_id_slot
from leads.models import Lead
from patients.models import Patient
from scheduling import services
from scheduling.models import RELEASED_STATUSES, Appointment, AppointmentStatus, AppointmentType, AvailabilityException, WorkingHours

PX_PER_MINUTE = 1.6  # 48 px per half hour: legible on a 10-inch tablet
DEFAULT_DAY = (datetime.time(8, 0), datetime.time(20, 0))


def appointment_get(*, clinic: Clinic, pk) -> Appointment:
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        raise Http404
    appointment = (
        Appointment.objects.for_clinic(clinic)
        .select_related("doctor__user", "patient", "lead", "resource", "booked_by")
        .filter(pk=pk)
        .first()
    )
    if appointment is None:
        raise Http404("No such appointment.")
    return appointment


def doctor_get(*, clinic: Clinic, pk) -> DoctorProfile:
    doctor = DoctorProfile.objects.for_clinic(clinic).select_related("user", "clinic").filter(pk=pk).first() if str(pk).isdigit() else None
    if doctor is None:
        raise Http404("No such doctor.")
    return doctor


def calendar_doctors(*, clinic: Clinic) -> list[DoctorProfile]:
    """The clinic's active doctors, the calendar's columns (with what a card shows)."""
    return list(DoctorProfile.objects.for_clinic(clinic).filter(is_active=True).select_related("user", "clinic", "department"))


def calendar_resources(*, clinic: Clinic) -> list[Resource]:
    return list(Resource.objects.for_clinic(clinic).filter(is_active=True))


def doctor_profile_of(*, clinic: Clinic, user) -> DoctorProfile | None:
    """The user's own doctor profile in this clinic, if they have one."""
    return DoctorProfile.objects.for_clinic(clinic).filter(user=user).select_related("user").first()


def doctors_editable_by(*, clinic: Clinic, user, any_doctor: bool) -> QuerySet[DoctorProfile]:
    """Whose availability a member may edit: anyone's (``any_doctor``), else their own."""
    doctors = DoctorProfile.objects.for_clinic(clinic).select_related("user")
    return doctors if any_doctor else doctors.filter(user=user)


def working_hours_block_get(*, clinic: Clinic, doctor: DoctorProfile, pk) -> WorkingHours:
    block = WorkingHours.objects.for_clinic(clinic).filter(doctor=doctor, pk=pk).first() if str(pk).isdigit() else None
    if block is None:
        raise Http404("No such block of working hours.")
    return block


def availability_of(*, clinic: Clinic, doctor: DoctorProfile, today: datetime.date) -> dict:
    """A doctor's weekly blocks and the clinic's leave and extra hours from today on."""
    return {
        "hours": WorkingHours.objects.for_clinic(clinic).filter(doctor=doctor),
        "exceptions": AvailabilityException.objects.for_clinic(clinic).filter(date__gte=today).select_related("doctor__user"),
    }


def waiting_count(*, clinic: Clinic) -> int:
    return Appointment.objects.for_clinic(clinic).filter(status=AppointmentStatus.CHECKED_IN).count()


def feed_appointments(*, clinic: Clinic, doctor: DoctorProfile) -> QuerySet[Appointment]:
    """A doctor's calendar feed: the last 30 days and everything ahead, but what will not happen."""
    since = timezone.now() - datetime.timedelta(days=30)
    return (
        Appointment.objects.for_clinic(clinic)
        .filter(doctor=doctor, starts_at__gte=since)
        .exclude(status__in=(AppointmentStatus.CANCELLED, AppointmentStatus.NO_SHOW))
        .select_related("patient", "lead")
    )


def appointments_of_patient(*, clinic: Clinic, patient) -> tuple[list[Appointment], list[Appointment]]:
    """The chart's Appointments tab: (upcoming soonest first, past latest first)."""
    appointments = list(
        Appointment.objects.for_clinic(clinic).filter(patient=patient).select_related("doctor__user", "resource").order_by("-starts_at")
    )
    now = timezone.now()
    return sorted([a for a in appointments if a.starts_at >= now], key=lambda a: a.starts_at), [
        a for a in appointments if a.starts_at < now
    ]


def upcoming_appointment_of_lead(*, clinic: Clinic, lead) -> Appointment | None:
    return (
        Appointment.objects.for_clinic(clinic)
        .filter(lead=lead, starts_at__gte=timezone.now())
        .exclude(status__in=(AppointmentStatus.CANCELLED, AppointmentStatus.NO_SHOW))
        .select_related("doctor__user")
        .first()
    )


def booking_prefill(*, clinic: Clinic, patient_id: str, lead_id: str) -> dict:
    """The booking form opened from a chart or a lead's page: who is booked (an id of
    another clinic, or no number, prefills nothing)."""
    prefill: dict = {}
    patient = Patient.objects.for_clinic(clinic).filter(pk=patient_id).first() if patient_id.isdigit() else None
    if patient:
        prefill.update(who="patient", patient_uhid=patient.uhid)
    lead = Lead.objects.for_clinic(clinic).filter(pk=lead_id).first() if lead_id.isdigit() else None
    if lead:
        prefill.update(who="lead", lead=lead.pk)
    return prefill


def day_bounds(clinic: Clinic, day: datetime.date) -> tuple[datetime.datetime, datetime.datetime]:
    return (
        services.clinic_datetime(clinic, day, datetime.time.min),
        services.clinic_datetime(clinic, day + datetime.timedelta(days=1), datetime.time.min),
    )


@dataclass
class Column:
    key: str
    title: str
    subtitle: str
    color_class: str
    day: datetime.date
    doctor_id: int | None
    blocks: list
    cards: list


# What a card shows, read as plain rows: a full day is a thousand appointments, and
# building an appointment, a patient and a lead object for each cost more than the query.
CARD_FIELDS = (
    *("id", "doctor_id", "resource_id", "starts_at", "ends_at", "duration_minutes", "status", "type", "walk_in_name"),
    *("patient_id", "patient__first_name", "patient__last_name", "lead_id", "lead__name", "confirmed_by_patient"),
)
TYPE_LABELS = dict(AppointmentType.choices)
STATUS_LABELS = dict(AppointmentStatus.choices)


def _card(row: dict, origin: datetime.datetime, tz, urls: dict[str, str]) -> dict:
    """A card's text and position; numbers as strings, which the template shows as they are
    (a number would go through localization, a thousand times a page)."""
    start = row["starts_at"].astimezone(tz)
    end = row["ends_at"].astimezone(tz)
    patient_name = f"{row['patient__first_name']} {row['patient__last_name']}".strip() if row["patient_id"] else None
    return {
        "id": str(row["id"]),
        "url": urls["detail"].format(row["id"]),
        "label": f"{start:%H:%M}–{end:%H:%M}",
        "who": Appointment.name_shown(
            patient_name=patient_name, lead_name=row["lead__name"] if row["lead_id"] else None, walk_in_name=row["walk_in_name"]
        ),
        "type": TYPE_LABELS.get(row["type"], row["type"]),
        "status": row["status"],
        "status_label": "Confirmed by patient"
        if row["confirmed_by_patient"] and row["status"] == AppointmentStatus.CONFIRMED
        else STATUS_LABELS.get(row["status"], row["status"]),
        "top": str(round((start - origin).total_seconds() / 60 * PX_PER_MINUTE)),
        "height": str(max(round(row["duration_minutes"] * PX_PER_MINUTE) - 2, 22)),
        "movable": row["status"] in services.PRE_ARRIVAL,
    }


def calendar(
    *, clinic: Clinic, days: list[datetime.date], doctors: list[DoctorProfile] | None = None, resources: list[Resource] | None = None
) -> dict:
    """Columns (a doctor per column for a day; a day per column for one doctor's week; a
    room or machine per column) with positioned cards and shaded availability, in a fixed
    number of queries whatever the number of appointments."""
    tz = clinic.tzinfo
    first, _ = day_bounds(clinic, days[0])
    _, last = day_bounds(clinic, days[-1])
    appointments = (
        Appointment.objects.for_clinic(clinic)
        # Bounded below by the longest appointment the database allows, so the index on
        # the start reads only these days (not every appointment since the clinic opened).
        .filter(starts_at__lt=last, starts_at__gte=first - datetime.timedelta(minutes=services.MAX_MINUTES), ends_at__gt=first)
        .exclude(status__in=RELEASED_STATUSES)
        .order_by("starts_at")
    )
    if doctors is not None:
        appointments = appointments.filter(doctor__in=doctors)
    else:
        appointments = appointments.filter(resource__in=resources)
    appointment_rows = list(appointments.values(*CARD_FIELDS))
    hours = list(WorkingHours.objects.for_clinic(clinic).filter(doctor__in=doctors or []))
    exceptions = list(AvailabilityException.objects.for_clinic(clinic).filter(date__in=days))
    extra = [e for e in exceptions if e.kind == AvailabilityException.Kind.EXTRA and e.start_time and e.end_time]
    day_start = min([h.start_time for h in hours] + [e.start_time for e in extra] + [DEFAULT_DAY[0]])
    day_end = max([h.end_time for h in hours] + [e.end_time for e in extra] + [DEFAULT_DAY[1]])
    hours_by_doctor: dict[int, list[WorkingHours]] = {}
    for working in hours:
        hours_by_doctor.setdefault(working.doctor_id, []).append(working)
    # Each appointment goes to its column once (not a pass over all of them per column).
    by_column: dict[tuple[int | None, datetime.date], list[dict]] = {}
    for row in appointment_rows:
        owner_id = row["doctor_id"] if doctors is not None else row["resource_id"]
        by_column.setdefault((owner_id, row["starts_at"].astimezone(tz).date()), []).append(row)
    urls = {"detail": url_with_id_slot("appointment_detail", clinic.code)}
    columns = []
    for day in days:
        origin = services.clinic_datetime(clinic, day, day_start)
        owners: list[Any] = doctors if doctors is not None else (resources or [])
        for owner in owners:
            mine = by_column.get((owner.pk, day), [])
            if doctors is not None:
                blocks = services.availability_blocks(doctor=owner, day=day, exceptions=exceptions, hours=hours_by_doctor.get(owner.pk, []))
                title, subtitle, color, doctor_id = str(owner), owner.specialization, f"doctor-color-{owner.pk}", owner.pk
            else:
                blocks = []
                title, subtitle, color, doctor_id = owner.name, owner.get_kind_display(), "resource-color", None
            if len(days) > 1:
                title, subtitle = f"{day:%a %d}", ""
            columns.append(
                Column(
                    key=f"{owner.pk}-{day.isoformat()}",
                    title=title,
                    subtitle=subtitle,
                    color_class=color,
                    day=day,
                    doctor_id=doctor_id,
                    blocks=[
                        {
                            "top": str(round((s.astimezone(tz) - origin).total_seconds() / 60 * PX_PER_MINUTE)),
                            "height": str(round((e - s).total_seconds() / 60 * PX_PER_MINUTE)),
                        }
                        for s, e in blocks
                    ],
                    cards=[_card(a, origin, tz, urls) for a in mine],
                )
            )
    minutes = (datetime.datetime.combine(days[0], day_end) - datetime.datetime.combine(days[0], day_start)).seconds // 60
    rows = []
    for step in range(0, minutes, 30):
        moment = datetime.datetime.combine(days[0], day_start) + datetime.timedelta(minutes=step)
        rows.append({"label": f"{moment:%H:%M}", "time": f"{moment:%H:%M}", "top": str(round(step * PX_PER_MINUTE))})
    cards = [card for column in columns for card in column.cards]
    return {
        "columns": columns,
        "card_tops": sorted({card["top"] for card in cards}, key=int),
        "card_heights": sorted({card["height"] for card in cards}, key=int),
        "rows": rows,
        "height": round(minutes * PX_PER_MINUTE),
        "day_start": day_start,
        "new_url": reverse("appointment_new", args=[clinic.code]),
        # The move URL with ``{}`` for the id: the page's script fills in the dragged card's.
        "move_url": url_with_id_slot("appointment_move", clinic.code),
    }


def day_list(*, clinic: Clinic, day: datetime.date, doctor: DoctorProfile | None = None):
    start, end = day_bounds(clinic, day)
    appointments = (
        Appointment.objects.for_clinic(clinic)
        .filter(starts_at__gte=start, starts_at__lt=end)
        .select_related("patient", "lead", "doctor__user", "resource")
        .order_by("starts_at", "id")
    )
    return appointments.filter(doctor=doctor) if doctor else appointments


ARRIVALS_PER_PAGE = 40
ARRIVALS_LOOKBACK = datetime.timedelta(minutes=30)
WAITING_SHOWN = 30


def arrivals_page(appointments: QuerySet[Appointment], *, page: str | None, now: datetime.datetime) -> Page:
    """A page of the day's arrivals (a big clinic has a thousand). Without ``?page=``, the
    page holding whoever is due from half an hour ago: what the desk is dealing with now,
    and the page the 20-second refresh keeps following as the day goes on."""
    # The page's ids first, from the (clinic, start, id) index alone, then its forty rows
    # with their patients and doctors (joining a thousand rows to keep forty cost more).
    paginator = Paginator(appointments.values_list("pk", flat=True), ARRIVALS_PER_PAGE)
    if page is None:
        earlier = appointments.filter(starts_at__lt=now - ARRIVALS_LOOKBACK).count()
        number: int | str = min(earlier // ARRIVALS_PER_PAGE + 1, paginator.num_pages)
    else:
        number = page
    current = paginator.get_page(number)
    page_ids: list[int] = list(current.object_list)
    rows = appointments.in_bulk(page_ids)
    current.object_list = [rows[pk] for pk in page_ids]  # type: ignore[misc]
    return current


def with_waiting_time(appointments) -> list[Appointment]:
    """The checked-in appointments, each with ``waited``: how long since check-in."""
    now = timezone.now()
    result = list(appointments)
    for appointment in result:
        appointment.waited = now - (appointment.checked_in_at or now)
    return result


def waiting_room(*, clinic: Clinic, doctor: DoctorProfile | None = None, limit: int | None = None) -> list[Appointment]:
    """Checked-in patients, longest waiting first, with how long they have waited (the
    first ``limit`` of them, if given)."""
    waiting = (
        Appointment.objects.for_clinic(clinic)
        .filter(status=AppointmentStatus.CHECKED_IN)
        .select_related("patient", "lead", "doctor__user")
        .order_by("checked_in_at", "starts_at")
    )
    if doctor:
        waiting = waiting.filter(doctor=doctor)
    return with_waiting_time(waiting[:limit] if limit else waiting)


# --- Dashboards ---------------------------------------------------------------------------------

DASHBOARD_LIST = 5  # people named on a dashboard panel; the page behind it has the rest


def status_counts(appointments) -> dict[str, int]:
    """Appointments per status (every status present, zero when none): one query."""
    counts = dict(appointments.order_by().values_list("status").annotate(n=Count("id")))
    return {status: counts.get(status, 0) for status in AppointmentStatus.values}


def front_desk_day(*, clinic: Clinic) -> dict:
    """The front desk's day: today's appointments by status, arrivals, the waiting room,
    walk-ins and who is due next — four queries."""
    today = clinic.today()
    start, end = day_bounds(clinic, today)
    todays = Appointment.objects.for_clinic(clinic).filter(starts_at__gte=start, starts_at__lt=end)
    by_status = status_counts(todays)
    walk_ins = todays.filter(lead__isnull=True).exclude(walk_in_name="").count()
    waiting = (
        Appointment.objects.for_clinic(clinic)
        .filter(status=AppointmentStatus.CHECKED_IN)
        .select_related("patient", "lead", "doctor__user")
        .order_by("checked_in_at", "starts_at")[:DASHBOARD_LIST]
    )
    now = timezone.now()
    due_next = (
        todays.filter(status__in=[AppointmentStatus.EXPECTED, AppointmentStatus.SCHEDULED, AppointmentStatus.CONFIRMED])
        .filter(starts_at__gte=now - datetime.timedelta(minutes=30))
        .select_related("patient", "lead", "doctor__user")
        .order_by("starts_at", "id")[:DASHBOARD_LIST]
    )
    return {
        "today": today,
        "by_status": [(status, label, by_status[status]) for status, label in AppointmentStatus.choices],
        "total": sum(by_status.values()),
        "arrived": by_status[AppointmentStatus.ARRIVED] + by_status[AppointmentStatus.CHECKED_IN],
        "waiting_count": by_status[AppointmentStatus.CHECKED_IN],
        "walk_ins": walk_ins,
        "waiting": with_waiting_time(waiting),
        "due_next": list(due_next),
    }


def doctor_day(*, clinic: Clinic, doctor: DoctorProfile) -> dict:
    """A doctor's day: the next patient, how many wait, how many are done — three queries."""
    today = clinic.today()
    start, end = day_bounds(clinic, today)
    mine = Appointment.objects.for_clinic(clinic).filter(doctor=doctor, starts_at__gte=start, starts_at__lt=end)
    by_status = status_counts(mine)
    waiting = with_waiting_time(
        Appointment.objects.for_clinic(clinic)
        .filter(doctor=doctor, status=AppointmentStatus.CHECKED_IN)
        .select_related("patient", "lead")
        .order_by("checked_in_at", "starts_at")[:DASHBOARD_LIST]
    )
    now = timezone.now()
    upcoming = (
        mine.filter(
            status__in=[AppointmentStatus.EXPECTED, AppointmentStatus.SCHEDULED, AppointmentStatus.CONFIRMED, AppointmentStatus.ARRIVED]
        )
        .filter(starts_at__gte=now - datetime.timedelta(minutes=30))
        .select_related("patient", "lead")
        .order_by("starts_at", "id")
        .first()
    )
    released = by_status[AppointmentStatus.CANCELLED]
    return {
        "today": today,
        "next_patient": waiting[0] if waiting else None,
        "next_booked": upcoming,
        "waiting": waiting,
        "waiting_count": by_status[AppointmentStatus.CHECKED_IN],
        "in_progress": by_status[AppointmentStatus.IN_PROGRESS],
        "done": by_status[AppointmentStatus.COMPLETED],
        "no_shows": by_status[AppointmentStatus.NO_SHOW],
        "booked": sum(by_status.values()) - released,
    }


def available_minutes(*, clinic: Clinic, doctors: list[DoctorProfile], first: datetime.date, last: datetime.date) -> dict[int, int]:
    """Each doctor's working minutes from ``first`` to ``last`` (weekly hours and extra
    sessions, less leave and holidays): two queries, then a walk over the days."""
    hours_by_key: dict[tuple[int, int], list[WorkingHours]] = {}
    for block in WorkingHours.objects.for_clinic(clinic).filter(doctor__in=doctors):
        hours_by_key.setdefault((block.doctor_id, block.weekday), []).append(block)
    exceptions_by_day: dict[datetime.date, list[AvailabilityException]] = {}
    for exception in AvailabilityException.objects.for_clinic(clinic).filter(date__gte=first, date__lte=last):
        exceptions_by_day.setdefault(exception.date, []).append(exception)
    minutes = dict.fromkeys((doctor.pk for doctor in doctors), 0)
    day = first
    while day <= last:
        for doctor in doctors:
            hours = hours_by_key.get((doctor.pk, day.weekday()), [])
            exceptions = exceptions_by_day.get(day, [])
            if not hours and not exceptions:
                continue
            blocks = services.availability_blocks(doctor=doctor, day=day, exceptions=exceptions, hours=hours)
            minutes[doctor.pk] += sum(int((block_end - block_start).total_seconds() // 60) for block_start, block_end in blocks)
        day += datetime.timedelta(days=1)
    return minutes


def booked_minutes(*, clinic: Clinic, first: datetime.date, last: datetime.date) -> dict[int, int]:
    """Each doctor's minutes booked in the range (appointments that kept their slot, or were
    missed: a no-show took the time)."""
    start, _ = day_bounds(clinic, first)
    _, end = day_bounds(clinic, last)
    return dict(
        Appointment.objects.for_clinic(clinic)
        .filter(starts_at__gte=start, starts_at__lt=end)
        .exclude(status=AppointmentStatus.CANCELLED)
        .values_list("doctor")
        .annotate(minutes=Sum("duration_minutes"))
    )
