"""Recalls and the waitlist in the JSON API, under /api/v1/clinics/{code}/."""

import datetime

from django.shortcuts import get_object_or_404
from ninja import Router, Schema, Status

from clinicos.api import Input, Problem, clinic_context, field_problem
from clinicos.models import Department, DoctorProfile
from clinicos.roles import Perm
from patients.models import Patient
from scheduling.models import PartOfDay, Recall, WaitlistEntry
from scheduling.services import recalls, waitlist

router = Router(tags=["recalls and waitlist"])
LIST_LIMIT = 500


class RecallOut(Schema):
    id: int
    patient_id: int
    doctor_id: int | None
    due_date: datetime.date
    reason: str
    status: str
    visit_id: int | None
    appointment_id: int | None
    attempts: int
    created_at: datetime.datetime
    closed_reason: str


class RecallIn(Input):
    patient_id: int
    due_date: datetime.date
    reason: str
    doctor_id: int | None = None


class RecallPatch(Input):
    due_date: datetime.date | None = None
    reason: str | None = None
    status: str | None = None
    closed_reason: str = ""
    call_note: str | None = None
    send: bool = False


def recall_out(recall: Recall) -> dict:
    return {
        "id": recall.pk,
        "patient_id": recall.patient_id,
        "doctor_id": recall.doctor_id,
        "due_date": recall.due_date,
        "reason": recall.reason,
        "status": recall.status,
        "visit_id": recall.visit_id,
        "appointment_id": recall.appointment_id,
        "attempts": len(recall.attempts.all()),
        "created_at": recall.created_at,
        "closed_reason": recall.closed_reason,
    }


def _doctor(clinic, doctor_id):
    return DoctorProfile.objects.for_clinic(clinic).filter(pk=doctor_id).first() if doctor_id is not None else None


@router.get("/{code}/recalls", response={200: list[RecallOut], 422: Problem})
def recall_list(request, code: str, status: str = "open", due_before: datetime.date | None = None, patient_id: int | None = None):
    """Recalls, soonest due first: ``status`` open (default), booked, closed or all."""
    ctx = clinic_context(request, code, Perm.RECALLS_WORK)
    found = Recall.objects.for_clinic(ctx.clinic).prefetch_related("attempts").order_by("due_date", "id")
    if status not in (*Recall.Status.values, "all"):
        return field_problem("status", "open, booked, closed or all.", location="query")
    if status != "all":
        found = found.filter(status=status)
    if due_before is not None:
        found = found.filter(due_date__lt=due_before)
    if patient_id is not None:
        found = found.filter(patient_id=patient_id)
    return Status(200, [recall_out(r) for r in found[:LIST_LIMIT]])


@router.post("/{code}/recalls", response={201: RecallOut, 409: Problem, 422: Problem})
def recall_create(request, code: str, payload: RecallIn):
    ctx = clinic_context(request, code, Perm.RECALLS_WORK)
    patient = Patient.objects.for_clinic(ctx.clinic).filter(pk=payload.patient_id).first()
    if patient is None:
        return field_problem("patient_id", "No such patient in this clinic.")
    doctor = _doctor(ctx.clinic, payload.doctor_id)
    if payload.doctor_id is not None and doctor is None:
        return field_problem("doctor_id", "No such doctor in this clinic.")
    data = recalls.RecallInput(patient=patient, due_date=payload.due_date, reason=payload.reason, doctor=doctor)
    return Status(201, recall_out(recalls.recall_create(clinic=ctx.clinic, data=data, user=ctx.user)))


@router.patch("/{code}/recalls/{recall_id}", response={200: RecallOut, 409: Problem, 422: Problem})
def recall_patch(request, code: str, recall_id: int, payload: RecallPatch):
    """Move or reword a recall, close (``status: closed``) or reopen it, log a call
    (``call_note``), or send the recall message now (``send: true``)."""
    ctx = clinic_context(request, code, Perm.RECALLS_WORK)
    recall = get_object_or_404(Recall.objects.for_clinic(ctx.clinic), pk=recall_id)
    changes = recalls.RecallChanges(
        due_date=payload.due_date,
        reason=payload.reason,
        status=payload.status,
        closed_reason=payload.closed_reason,
        call_note=payload.call_note,
    )
    recall = recalls.recall_update(recall=recall, changes=changes, user=ctx.user)
    if payload.send:
        recalls.recalls_send(clinic=ctx.clinic, recalls=[recall], user=ctx.user)
    return Status(200, recall_out(Recall.objects.for_clinic(ctx.clinic).prefetch_related("attempts").get(pk=recall.pk)))


class WaitlistOut(Schema):
    id: int
    patient_id: int
    doctor_id: int | None
    department_id: int | None
    earliest_date: datetime.date
    latest_date: datetime.date
    part_of_day: str
    urgent: bool
    status: str
    note: str
    appointment_id: int | None
    created_at: datetime.datetime


class WaitlistIn(Input):
    patient_id: int
    doctor_id: int | None = None
    department_id: int | None = None
    earliest_date: datetime.date
    latest_date: datetime.date
    part_of_day: str = PartOfDay.ANY
    urgent: bool = False
    note: str = ""


def waitlist_out(entry: WaitlistEntry) -> dict:
    return {
        "id": entry.pk,
        "patient_id": entry.patient_id,
        "doctor_id": entry.doctor_id,
        "department_id": entry.department_id,
        "earliest_date": entry.earliest_date,
        "latest_date": entry.latest_date,
        "part_of_day": entry.part_of_day,
        "urgent": entry.urgent,
        "status": entry.status,
        "note": entry.note,
        "appointment_id": entry.appointment_id,
        "created_at": entry.created_at,
    }


@router.get("/{code}/waitlist", response=list[WaitlistOut])
def waitlist_list(request, code: str, patient_id: int | None = None, doctor_id: int | None = None):
    """Who is waiting, in the order freed times are offered (urgent first, then oldest)."""
    ctx = clinic_context(request, code, Perm.RECALLS_WORK)
    found = WaitlistEntry.objects.for_clinic(ctx.clinic).filter(status=WaitlistEntry.Status.WAITING)
    if patient_id is not None:
        found = found.filter(patient_id=patient_id)
    if doctor_id is not None:
        found = found.filter(doctor_id=doctor_id)
    return [waitlist_out(entry) for entry in found[:LIST_LIMIT]]


@router.post("/{code}/waitlist", response={201: WaitlistOut, 422: Problem})
def waitlist_create(request, code: str, payload: WaitlistIn):
    ctx = clinic_context(request, code, Perm.RECALLS_WORK)
    patient = Patient.objects.for_clinic(ctx.clinic).filter(pk=payload.patient_id).first()
    if patient is None:
        return field_problem("patient_id", "No such patient in this clinic.")
    doctor = _doctor(ctx.clinic, payload.doctor_id)
    if payload.doctor_id is not None and doctor is None:
        return field_problem("doctor_id", "No such doctor in this clinic.")
    department = (
        Department.objects.for_clinic(ctx.clinic).filter(pk=payload.department_id).first() if payload.department_id is not None else None
    )
    if payload.department_id is not None and department is None:
        return field_problem("department_id", "No such department in this clinic.")
    data = waitlist.WaitlistInput(
        patient=patient,
        doctor=doctor,
        department=department,
        earliest_date=payload.earliest_date,
        latest_date=payload.latest_date,
        part_of_day=payload.part_of_day,
        urgent=payload.urgent,
        note=payload.note,
    )
    return Status(201, waitlist_out(waitlist.waitlist_add(clinic=ctx.clinic, data=data, user=ctx.user, via="api")))


@router.delete("/{code}/waitlist/{waitlist_id}", response={204: None, 409: Problem})
def waitlist_delete(request, code: str, waitlist_id: int):
    """Take a patient off the waitlist."""
    ctx = clinic_context(request, code, Perm.RECALLS_WORK)
    entry = get_object_or_404(WaitlistEntry.objects.for_clinic(ctx.clinic), pk=waitlist_id)
    waitlist.waitlist_remove(entry=entry)
    return Status(204, None)
