"""Reads for scheduling: the calendar grid (formatted in Python: the template stays lean),
the day's arrivals and waiting room, a doctor's schedule."""

import datetime
from dataclasses import dataclass
from typing import Any

from django.http import Http404
from django.utils import timezone

from clinicos.models import Clinic, DoctorProfile, Resource
from scheduling import services
from scheduling.models import RELEASED_STATUSES, Appointment, AppointmentStatus, AvailabilityException, WorkingHours

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


def _card(appointment: Appointment, origin: datetime.datetime, tz) -> dict:
    start = appointment.starts_at.astimezone(tz)
    end = appointment.ends_at.astimezone(tz)
    return {
        "id": appointment.pk,
        "label": f"{start:%H:%M}–{end:%H:%M}",
        "who": appointment.who,
        "type": appointment.get_type_display(),
        "status": appointment.status,
        "status_label": appointment.get_status_display(),
        "top": round((start - origin).total_seconds() / 60 * PX_PER_MINUTE),
        "height": max(round(appointment.duration_minutes * PX_PER_MINUTE) - 2, 22),
        "movable": appointment.status in services.PRE_ARRIVAL,
        "minutes": appointment.duration_minutes,
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
        .filter(starts_at__lt=last, ends_at__gt=first)
        .exclude(status__in=RELEASED_STATUSES)
        .select_related("patient", "lead")
        .order_by("starts_at")
    )
    if doctors is not None:
        appointments = appointments.filter(doctor__in=doctors)
    else:
        appointments = appointments.filter(resource__in=resources)
    appointments = list(appointments)
    hours = list(WorkingHours.objects.for_clinic(clinic).filter(doctor__in=doctors or []))
    exceptions = list(AvailabilityException.objects.for_clinic(clinic).filter(date__in=days))
    extra = [e for e in exceptions if e.kind == AvailabilityException.Kind.EXTRA and e.start_time and e.end_time]
    day_start = min([h.start_time for h in hours] + [e.start_time for e in extra] + [DEFAULT_DAY[0]])
    day_end = max([h.end_time for h in hours] + [e.end_time for e in extra] + [DEFAULT_DAY[1]])
    columns = []
    for day in days:
        origin = services.clinic_datetime(clinic, day, day_start)
        owners: list[Any] = doctors if doctors is not None else (resources or [])
        for owner in owners:
            if doctors is not None:
                blocks = services.availability_blocks(doctor=owner, day=day, exceptions=exceptions, hours=hours)
                mine = [a for a in appointments if a.doctor_id == owner.pk and a.starts_at.astimezone(tz).date() == day]
                title, subtitle, color, doctor_id = str(owner), owner.specialization, f"doctor-color-{owner.pk}", owner.pk
            else:
                blocks = []
                mine = [a for a in appointments if a.resource_id == owner.pk and a.starts_at.astimezone(tz).date() == day]
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
                            "top": round((s.astimezone(tz) - origin).total_seconds() / 60 * PX_PER_MINUTE),
                            "height": round((e - s).total_seconds() / 60 * PX_PER_MINUTE),
                        }
                        for s, e in blocks
                    ],
                    cards=[_card(a, origin, tz) for a in mine],
                )
            )
    minutes = (datetime.datetime.combine(days[0], day_end) - datetime.datetime.combine(days[0], day_start)).seconds // 60
    rows = []
    for step in range(0, minutes, 30):
        moment = datetime.datetime.combine(days[0], day_start) + datetime.timedelta(minutes=step)
        rows.append({"label": f"{moment:%H:%M}", "time": f"{moment:%H:%M}", "top": round(step * PX_PER_MINUTE)})
    return {"columns": columns, "rows": rows, "height": round(minutes * PX_PER_MINUTE), "day_start": day_start}


def day_list(*, clinic: Clinic, day: datetime.date, doctor: DoctorProfile | None = None):
    start, end = day_bounds(clinic, day)
    appointments = (
        Appointment.objects.for_clinic(clinic)
        .filter(starts_at__gte=start, starts_at__lt=end)
        .select_related("patient", "lead", "doctor__user", "resource")
        .order_by("starts_at", "id")
    )
    return appointments.filter(doctor=doctor) if doctor else appointments


def waiting_room(*, clinic: Clinic, doctor: DoctorProfile | None = None) -> list[Appointment]:
    """Checked-in patients, longest waiting first, with how long they have waited."""
    now = timezone.now()
    waiting = (
        Appointment.objects.for_clinic(clinic)
        .filter(status=AppointmentStatus.CHECKED_IN)
        .select_related("patient", "lead", "doctor__user")
        .order_by("checked_in_at", "starts_at")
    )
    if doctor:
        waiting = waiting.filter(doctor=doctor)
    result = list(waiting)
    for appointment in result:
        appointment.waited = now - (appointment.checked_in_at or now)
    return result
