"""Appointments and availability in the JSON API: /api/v1/clinics/{code}/appointments…

Times go in as ISO 8601 with their offset and come out in the clinic's own timezone.
A booking that would overlap answers 409 with the next free slots.
"""

import datetime

from django.utils import timezone
from ninja import Router, Schema, Status

from clinicos.api import Day, Input, Problem, check_query_days, clinic_context, field_problem
from clinicos.models import DoctorProfile, Resource
from clinicos.roles import Perm
from leads.models import Lead
from patients.models import Patient
from scheduling import selectors, services
from scheduling.models import Appointment

router = Router(tags=["scheduling"])


class WalkIn(Input):
    name: str
    phone: str | None = None
    dob: datetime.date | None = None
    sex: str | None = None


class AppointmentCreate(Input):
    doctor_id: int
    start: datetime.datetime
    duration_minutes: int = services.DEFAULT_MINUTES
    type: str = "consultation"
    reason: str = ""
    notes: str = ""
    resource_id: int | None = None
    patient_id: int | None = None
    lead_id: int | None = None
    walk_in: WalkIn | None = None
    override_reason: str = ""


class AppointmentPatch(Input):
    start: datetime.datetime | None = None
    duration_minutes: int | None = None
    doctor_id: int | None = None
    resource_id: int | None = None
    override_reason: str = ""


class StatusIn(Input):
    status: str
    reason: str = ""


class Slot(Schema):
    start: datetime.datetime
    end: datetime.datetime


class BookedOut(Schema):
    id: int
    reference: str
    start: datetime.datetime
    end: datetime.datetime
    status: str
    warnings: list[str] = []


class AppointmentOut(Schema):
    id: int
    reference: str
    start: datetime.datetime
    end: datetime.datetime
    duration_minutes: int
    status: str
    type: str
    reason: str
    doctor_id: int
    resource_id: int | None
    patient_id: int | None
    lead_id: int | None
    who: str
    booked_via: str


def _local(moment: datetime.datetime, clinic) -> datetime.datetime:
    return timezone.localtime(moment, clinic.tzinfo)


def appointment_out(appointment: Appointment) -> dict:
    clinic = appointment.clinic
    return {
        "id": appointment.pk,
        "reference": appointment.reference,
        "start": _local(appointment.starts_at, clinic),
        "end": _local(appointment.ends_at, clinic),
        "duration_minutes": appointment.duration_minutes,
        "status": appointment.status,
        "type": appointment.type,
        "reason": appointment.reason,
        "doctor_id": appointment.doctor_id,
        "resource_id": appointment.resource_id,
        "patient_id": appointment.patient_id,
        "lead_id": appointment.lead_id,
        "who": appointment.who,
        "booked_via": appointment.booked_via,
    }


def _scoped(model, clinic, pk):
    return model.objects.for_clinic(clinic).filter(pk=pk).first() if pk is not None else None


@router.get("/{code}/appointments", response=list[AppointmentOut])
def appointment_list(
    request, code: str, date_from: datetime.date | None = None, date_to: datetime.date | None = None, doctor_id: int | None = None
):
    """Appointments starting between ``date_from`` and ``date_to`` (clinic days, inclusive; today by default)."""
    ctx = clinic_context(request, code, Perm.SCHEDULE_VIEW)
    check_query_days(date_from=date_from, date_to=date_to)
    today = timezone.localdate(timezone.now(), ctx.clinic.tzinfo)
    start, _ = selectors.day_bounds(ctx.clinic, date_from or today)
    _, end = selectors.day_bounds(ctx.clinic, date_to or date_from or today)
    appointments = (
        Appointment.objects.for_clinic(ctx.clinic)
        .filter(starts_at__gte=start, starts_at__lt=end)
        .select_related("clinic", "patient", "lead")
        .order_by("starts_at", "id")
    )
    if doctor_id is not None:
        appointments = appointments.filter(doctor_id=doctor_id)
    return [appointment_out(a) for a in appointments[:2000]]


@router.post("/{code}/appointments", response={201: BookedOut, 403: Problem, 409: Problem, 422: Problem})
def appointment_create(request, code: str, payload: AppointmentCreate):
    """Book with one of ``patient_id``, ``lead_id`` or ``walk_in``. 409 when the slot is taken."""
    ctx = clinic_context(request, code, Perm.SCHEDULE_BOOK)
    clinic = ctx.clinic
    if timezone.is_naive(payload.start):
        return field_problem("start", "Give the start in ISO 8601 with its offset, e.g. 2026-11-23T10:30:00+05:30.")
    doctor = DoctorProfile.objects.for_clinic(clinic).select_related("user").filter(pk=payload.doctor_id).first()
    if doctor is None:
        return field_problem("doctor_id", "No such doctor in this clinic.")
    resource = _scoped(Resource, clinic, payload.resource_id)
    if payload.resource_id is not None and resource is None:
        return field_problem("resource_id", "No such room or machine in this clinic.")
    patient = _scoped(Patient, clinic, payload.patient_id)
    if payload.patient_id is not None and patient is None:
        return field_problem("patient_id", "No such patient in this clinic.")
    lead = _scoped(Lead, clinic, payload.lead_id)
    if payload.lead_id is not None and lead is None:
        return field_problem("lead_id", "No such lead in this clinic.")
    walk_in = payload.walk_in.dict() if payload.walk_in else None
    booking = services.appointment_book(
        clinic=clinic,
        user=ctx.user,
        membership=ctx.membership,
        doctor=doctor,
        start=payload.start,
        duration_minutes=payload.duration_minutes,
        type=payload.type,
        reason=payload.reason,
        notes=payload.notes,
        patient=patient,
        lead=lead,
        walk_in=walk_in,
        resource=resource,
        override_reason=payload.override_reason,
        booked_via=Appointment.BookedVia.API,
    )
    out = appointment_out(booking.appointment)
    return Status(201, {**{k: out[k] for k in ("id", "reference", "start", "end", "status")}, "warnings": booking.warnings})


@router.get("/{code}/appointments/{appointment_id}", response=AppointmentOut)
def appointment_detail(request, code: str, appointment_id: int):
    ctx = clinic_context(request, code, Perm.SCHEDULE_VIEW)
    return appointment_out(selectors.appointment_get(clinic=ctx.clinic, pk=appointment_id))


@router.patch("/{code}/appointments/{appointment_id}", response={200: AppointmentOut, 403: Problem, 409: Problem, 422: Problem})
def appointment_patch(request, code: str, appointment_id: int, payload: AppointmentPatch):
    """Reschedule (start, duration, doctor, room) under the same rules as booking."""
    ctx = clinic_context(request, code, Perm.SCHEDULE_BOOK)
    appointment = selectors.appointment_get(clinic=ctx.clinic, pk=appointment_id)
    if payload.start is not None and timezone.is_naive(payload.start):
        return field_problem("start", "Give the start with its offset.")
    doctor = _scoped(DoctorProfile, ctx.clinic, payload.doctor_id)
    if payload.doctor_id is not None and doctor is None:
        return field_problem("doctor_id", "No such doctor in this clinic.")
    resource = ...
    if "resource_id" in payload.model_fields_set:
        resource = _scoped(Resource, ctx.clinic, payload.resource_id)
        if payload.resource_id is not None and resource is None:
            return field_problem("resource_id", "No such room or machine in this clinic.")
    booking = services.appointment_reschedule(
        appointment=appointment,
        user=ctx.user,
        membership=ctx.membership,
        start=payload.start or appointment.starts_at,
        duration_minutes=payload.duration_minutes,
        doctor=doctor,
        resource=resource,
        override_reason=payload.override_reason,
    )
    return Status(200, appointment_out(booking.appointment))


@router.post("/{code}/appointments/{appointment_id}/status", response={200: AppointmentOut, 409: Problem, 422: Problem})
def appointment_status(request, code: str, appointment_id: int, payload: StatusIn):
    """Move along the flow (confirmed, arrived, checked_in, in_progress, completed,
    cancelled with a reason, no_show); any other move answers 409."""
    ctx = clinic_context(request, code, Perm.SCHEDULE_CHECK_IN)
    appointment = selectors.appointment_get(clinic=ctx.clinic, pk=appointment_id)
    updated = services.appointment_set_status(appointment=appointment, to_status=payload.status, user=ctx.user, reason=payload.reason)
    return Status(200, appointment_out(updated))


@router.get("/{code}/availability/free-slots", response={200: list[Slot], 422: Problem})
def free_slots(request, code: str, date: Day, doctor_id: int | None = None, duration_minutes: int | None = None):
    """Free slots of a doctor (or of any doctor) on a date, in the clinic's timezone."""
    ctx = clinic_context(request, code, Perm.SCHEDULE_VIEW)
    check_query_days(date=date)
    doctor = None
    if doctor_id is not None:
        doctor = DoctorProfile.objects.for_clinic(ctx.clinic).select_related("clinic").filter(pk=doctor_id).first()
        if doctor is None:
            return field_problem("doctor_id", "No such doctor in this clinic.", location="query")
    if duration_minutes is not None and not services.MIN_MINUTES <= duration_minutes <= services.MAX_MINUTES:
        return field_problem("duration_minutes", "Between 15 and 480 minutes.", location="query")
    slots = services.free_slots(clinic=ctx.clinic, day=date, doctor=doctor, duration_minutes=duration_minutes, limit=200)
    return Status(200, [{"start": _local(s["start"], ctx.clinic), "end": _local(s["end"], ctx.clinic)} for s in slots])
