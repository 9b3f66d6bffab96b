"""Recalls: patients the clinic should see again by a date. A completed visit's follow-up
date that is not booked becomes one; staff add others by hand; the desk or the CRO sends a
recall message (one, or a selection) or logs a call; a booking closes the patient's recalls."""

import datetime
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from clinicos.errors import Conflict
from clinicos.messaging import services as messaging
from clinicos.messaging.choices import MessageKind
from clinicos.models import Clinic, DoctorProfile, User
from clinicos.text import check_no_nul
from patients.models import Patient
from scheduling.models import Appointment, Recall, RecallAttempt
from scheduling.services.messages import recipient_of_patient

SUBJECT = "recall"


@dataclass(frozen=True)
class RecallInput:
    patient: Patient
    due_date: datetime.date
    reason: str
    doctor: DoctorProfile | None = None


def _clean_reason(reason: str) -> str:
    check_no_nul(reason=reason)
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": "Say what the patient is recalled for, e.g. “Review of thyroid results”."})
    if len(reason) > 200:
        raise ValidationError({"reason": "At most 200 characters."})
    return reason


@transaction.atomic
def recall_create(*, clinic: Clinic, data: RecallInput, user: User | None, visit_id: int | None = None) -> Recall:
    if data.patient.clinic_id != clinic.pk or (data.doctor is not None and data.doctor.clinic_id != clinic.pk):
        raise ValidationError({"patient_id": "No such patient in this clinic."})
    if data.due_date < clinic.today() - datetime.timedelta(days=365):
        raise ValidationError({"due_date": "A recall is due today or later (or within the past year)."})
    recall = Recall(
        clinic=clinic,
        patient=data.patient,
        doctor=data.doctor,
        due_date=data.due_date,
        reason=_clean_reason(data.reason),
        visit_id=visit_id,
        created_by=user,
    )
    try:
        with transaction.atomic():
            recall.save()
    except IntegrityError:
        raise Conflict("This visit's follow-up is already on the recall list.") from None
    return recall


def recall_from_follow_up(
    *, clinic: Clinic, patient: Patient, doctor: DoctorProfile | None, visit_id: int, due_date: datetime.date, reason: str
) -> Recall | None:
    """A completed visit asked for a follow-up by ``due_date``: unless the patient already has
    an appointment between now and then (plus a week), they go on the recall list."""
    booked = Appointment.objects.for_clinic(clinic).filter(
        patient=patient,
        starts_at__gte=timezone.now(),
        starts_at__date__lte=due_date + datetime.timedelta(days=7),
        status__in=["expected", "scheduled", "confirmed"],
    )
    if booked.exists() or Recall.objects.for_clinic(clinic).filter(visit_id=visit_id).exists():
        return None
    return recall_create(
        clinic=clinic,
        data=RecallInput(patient=patient, due_date=due_date, reason=reason or "Follow-up visit", doctor=doctor),
        user=None,
        visit_id=visit_id,
    )


@dataclass(frozen=True)
class RecallChanges:
    due_date: datetime.date | None = None
    reason: str | None = None
    status: str | None = None
    closed_reason: str = ""
    call_note: str | None = None


@transaction.atomic
def recall_update(*, recall: Recall, changes: RecallChanges, user: User) -> Recall:
    """Move the due date, reword it, close or reopen it, or log a call."""
    recall = Recall.objects.select_for_update().select_related("clinic").get(pk=recall.pk)
    if changes.due_date is not None:
        recall.due_date = changes.due_date
    if changes.reason is not None:
        recall.reason = _clean_reason(changes.reason)
    if changes.status is not None and changes.status != recall.status:
        if changes.status == Recall.Status.CLOSED:
            check_no_nul(closed_reason=changes.closed_reason)
            if len(changes.closed_reason.strip()) > 200:
                raise ValidationError({"closed_reason": "At most 200 characters."})
            recall.status, recall.closed_at = Recall.Status.CLOSED, timezone.now()
            recall.closed_reason = changes.closed_reason.strip()[:200] or "Closed by staff"
        elif changes.status == Recall.Status.OPEN:
            recall.status, recall.closed_at, recall.closed_reason = Recall.Status.OPEN, None, ""
        else:
            raise ValidationError({"status": "A recall is open or closed (booking closes it by itself)."})
    if changes.call_note is not None:
        check_no_nul(note=changes.call_note)
        if len(changes.call_note.strip()) > 250:
            raise ValidationError({"call_note": "At most 250 characters."})
        RecallAttempt.objects.create(
            clinic=recall.clinic, recall=recall, way=RecallAttempt.Way.CALL, note=changes.call_note.strip()[:250], by=user
        )
    recall.save()
    return recall


@transaction.atomic
def recalls_send(*, clinic: Clinic, recalls: list[Recall], user: User) -> int:
    """Send each open recall's message now (quiet hours permitting); how many were written.
    Each send is a logged attempt; the same recall is sent at most once a day."""
    written = 0
    today = clinic.today()
    rules = messaging.rules_of(clinic)
    start_of_day = datetime.datetime.combine(today, datetime.time(0), tzinfo=clinic.tzinfo)
    sent_today = RecallAttempt.objects.for_clinic(clinic).filter(way=RecallAttempt.Way.MESSAGE, at__gte=start_of_day).values("recall_id")
    chosen = Recall.objects.for_clinic(clinic).filter(pk__in=[r.pk for r in recalls], status=Recall.Status.OPEN).exclude(pk__in=sent_today)
    for recall in chosen.select_related("patient", "doctor__user"):
        doctor = f"Dr {recall.doctor.user.full_name}" if recall.doctor else "your doctor"
        queued = messaging.queue(
            clinic=clinic,
            recipient=recipient_of_patient(recall.patient),
            rules=rules,
            message=messaging.Message(
                kind=MessageKind.RECALL,
                key=f"recall:{recall.pk}:{today.isoformat()}",
                due=timezone.now(),
                subject_type=SUBJECT,
                subject_id=recall.pk,
                values={
                    "doctor": doctor,
                    "due": f"{recall.due_date:%d %b %Y}",
                    "reason": recall.reason,
                    "phone": clinic.phone or "the clinic",
                },
                created_by=user,
            ),
        )
        if queued:
            RecallAttempt.objects.create(clinic=clinic, recall=recall, way=RecallAttempt.Way.MESSAGE, note="Recall message sent", by=user)
            written += 1
    if written:
        messaging.send_soon(clinic)
    return written


def close_on_booking(appointment: Appointment) -> int:
    """The patient booked: their open recalls are done."""
    if appointment.patient_id is None:
        return 0
    now = timezone.now()
    open_recalls = list(Recall.objects.for_clinic(appointment.clinic).filter(patient_id=appointment.patient_id, status=Recall.Status.OPEN))
    for recall in open_recalls:  # one by one, so the audit trail records each
        recall.status, recall.appointment, recall.closed_at = Recall.Status.BOOKED, appointment, now
        recall.closed_reason = f"Booked {appointment.reference}"
        recall.save()
    return len(open_recalls)
