"""Visits: starting one (from a checked-in appointment or a walk-in), the SOAP note and its
24-hour edit window, completing the visit, the follow-up booking and addenda."""

import datetime

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from clinical import icd10
from clinical.hooks import VISIT_COMPLETION_STEPS
from clinical.models import (
    Addendum,
    ClinicalNote,
    Condition,
    Visit,
    VisitSequence,
    VitalSigns,
)
from clinicos.counters import counter_next
from clinicos.errors import Conflict
from clinicos.models import Clinic, DoctorProfile, User
from clinicos.text import check_no_nul
from patients import services as patient_services
from patients.models import Patient
from scheduling import services as scheduling_services
from scheduling.models import Appointment, AppointmentStatus, AppointmentType
from scheduling.services import recalls

NOTE_EDIT_WINDOW = datetime.timedelta(hours=24)


# --- Visits ---------------------------------------------------------------------------------


def _next_reference(clinic: Clinic) -> str:
    return f"{clinic.code}-V{counter_next(VisitSequence, clinic=clinic)}"


def _doctor_profile(clinic: Clinic, user: User, action: str = "start a visit") -> DoctorProfile:
    doctor = DoctorProfile.objects.filter(clinic=clinic, user=user, is_active=True).select_related("user").first()
    if doctor is None:
        raise Conflict(f"Only a doctor with an active profile in this clinic can {action}.")
    return doctor


def _todays_vitals(*, patient: Patient, clinic: Clinic):
    today = timezone.localdate(timezone=clinic.tzinfo)
    start = datetime.datetime.combine(today, datetime.time.min, tzinfo=clinic.tzinfo)
    return VitalSigns.objects.filter(
        clinic=clinic, patient=patient, recorded_at__gte=start, recorded_at__lt=start + datetime.timedelta(days=1)
    )


def vitals_recorded_today(*, patient: Patient, clinic: Clinic) -> bool:
    return _todays_vitals(patient=patient, clinic=clinic).exists()


@transaction.atomic
def visit_start(*, clinic: Clinic, user: User, appointment: Appointment | None = None, patient: Patient | None = None) -> Visit:
    """Start the consultation: from a checked-in appointment (which moves to In progress)
    or for a patient without one (a walk-in). One visit per appointment: the database
    decides between two doctors tapping at once."""
    if (appointment is None) == (patient is None):
        raise ValidationError({"appointment_id": "Start a visit from an appointment or for a patient, not both."})
    doctor = _doctor_profile(clinic, user)
    if appointment is not None:
        appointment = Appointment.objects.select_for_update().get(pk=appointment.pk, clinic=clinic)
        if Visit.objects.filter(appointment=appointment).exists():
            raise Conflict(f"Appointment {appointment.reference} already has a visit.")
        if appointment.status != AppointmentStatus.CHECKED_IN:
            raise Conflict(
                f"Appointment {appointment.reference} is “{appointment.get_status_display()}”: a visit starts once the patient is checked in."
            )
        if appointment.patient is None:
            raise Conflict("Register this walk-in as a patient before starting the visit.")
        patient = appointment.patient
    assert patient is not None
    if clinic.vitals_required_before_consultation and not vitals_recorded_today(patient=patient, clinic=clinic):
        raise Conflict("This clinic records vital signs before the consultation: none were recorded for this patient today.")
    visit = Visit(
        clinic=clinic,
        reference=_next_reference(clinic),
        patient=patient,
        appointment=appointment,
        doctor=doctor,
        started_at=timezone.now(),
        started_by=user,
    )
    try:
        with transaction.atomic():
            visit.save()
    except IntegrityError:
        raise Conflict("This appointment already has a visit.") from None
    if appointment is not None:
        scheduling_services.appointment_set_status(appointment=appointment, to_status=AppointmentStatus.IN_PROGRESS, user=user)
    ClinicalNote.objects.create(clinic=clinic, visit=visit, updated_by=user)
    patient_services.care_team_add(patient=patient, user=user)  # seen by them
    # The vitals taken at triage today belong to this consultation.
    for vitals in _todays_vitals(patient=patient, clinic=clinic).filter(visit__isnull=True):
        vitals.visit = visit
        vitals.save(update_fields=["visit", "updated_at"])
    return visit


def note_is_editable(visit: Visit, now: datetime.datetime | None = None) -> bool:
    """In progress, or completed less than 24 hours ago (healthcare-management-system)."""
    if visit.status == Visit.Status.IN_PROGRESS:
        return True
    now = now or timezone.now()
    return visit.completed_at is not None and now - visit.completed_at < NOTE_EDIT_WINDOW


NOTE_FIELDS = (
    "chief_complaint",
    "subjective",
    "objective",
    "assessment",
    "diagnosis_codes",
    "plan",
    "follow_up_required",
    "follow_up_date",
)


@transaction.atomic
def note_save(*, visit: Visit, user: User, data: dict) -> ClinicalNote:
    """Save (autosave) the SOAP note. Locked 24 hours after completion: then only addenda."""
    unknown = set(data) - set(NOTE_FIELDS)
    if unknown:
        raise ValueError(f"Not note fields: {', '.join(sorted(unknown))}")
    visit = Visit.objects.select_for_update().get(pk=visit.pk)
    if not note_is_editable(visit):
        raise Conflict("This note was completed more than 24 hours ago and is locked: add an addendum instead.")
    note = ClinicalNote.objects.select_for_update().get(visit=visit)
    data = _clean_note(visit, note, data)
    changed = _apply_changes(note, data)
    if note.follow_up_date and not note.follow_up_required:
        note.follow_up_required = True
        changed = True
    if changed:  # an autosave with nothing new writes no version
        note.updated_by = user
        note.full_clean()
        note.save()
    return note


def _clean_note(visit: Visit, note: ClinicalNote, data: dict) -> dict:
    """ICD-10 codes checked offline (normalised, once each) and a follow-up after the visit."""
    errors: dict[str, str] = {}
    check_no_nul(**{field: value for field, value in data.items() if isinstance(value, str)})
    if "diagnosis_codes" in data:
        codes = [icd10.normalize(code) for code in (data["diagnosis_codes"] or []) if str(code).strip()]
        unknown_codes = [code for code in codes if not icd10.is_valid(code)]
        if unknown_codes:
            errors["diagnosis_codes"] = f"Not an ICD-10 code: {', '.join(unknown_codes)}."
        data = {**data, "diagnosis_codes": list(dict.fromkeys(codes))}
    follow_up = data.get("follow_up_date", note.follow_up_date)
    if follow_up is not None:
        visit_day = timezone.localdate(visit.started_at, timezone=visit.clinic.tzinfo)
        if follow_up <= visit_day:
            errors["follow_up_date"] = f"The follow-up must be after the visit ({visit_day:%d %b %Y})."
    if errors:
        raise ValidationError(errors)
    return data


def _apply_changes(row, data: dict) -> bool:
    """Set the fields that differ (text stripped); whether anything changed."""
    changed = False
    for field, value in data.items():
        if isinstance(value, str):
            value = value.strip()
        if getattr(row, field) != value:
            setattr(row, field, value)
            changed = True
    return changed


@transaction.atomic
def visit_complete(*, visit: Visit, user: User) -> Visit:
    """Complete the visit (and its appointment). The note stays editable for 24 hours."""
    visit = Visit.objects.select_for_update().get(pk=visit.pk)
    if visit.status == Visit.Status.COMPLETED:
        raise Conflict(f"Visit {visit.reference} is already completed.")
    visit.status = Visit.Status.COMPLETED
    visit.completed_at = timezone.now()
    visit.save()
    if visit.appointment_id is not None:
        appointment = Appointment.objects.get(pk=visit.appointment_id)
        if appointment.status == AppointmentStatus.IN_PROGRESS:
            scheduling_services.appointment_set_status(appointment=appointment, to_status=AppointmentStatus.COMPLETED, user=user)
    _problems_from_diagnoses(visit, user)
    _recall_unbooked_follow_up(visit)
    VISIT_COMPLETION_STEPS.run(visit=visit, user=user)
    return visit


def _recall_unbooked_follow_up(visit: Visit) -> None:
    """A follow-up date that was not booked puts the patient on the recall list."""
    note = ClinicalNote.objects.filter(visit=visit).only("follow_up_date", "follow_up_appointment_id").first()
    if note is None or note.follow_up_date is None or note.follow_up_appointment_id is not None:
        return
    recalls.recall_from_follow_up(
        clinic=visit.clinic,
        patient=visit.patient,
        doctor=visit.doctor,
        visit_id=visit.pk,
        due_date=note.follow_up_date,
        reason=f"Follow-up after visit {visit.reference}",
    )


def _problems_from_diagnoses(visit: Visit, user: User) -> list[Condition]:
    """The completed visit's ICD-10 diagnoses join the patient's problem list (its source:
    this visit), each once: a code already on the list as active is left as it is."""
    note = ClinicalNote.objects.filter(visit=visit).first()
    codes = list(dict.fromkeys(icd10.normalize(code) for code in (note.diagnosis_codes if note else []) if code))
    listed = set(
        Condition.objects.filter(clinic_id=visit.clinic_id, patient_id=visit.patient_id, status=Condition.Status.ACTIVE).values_list(
            "icd10_code", flat=True
        )
    )
    added = []
    for code in codes:
        if code in listed or not icd10.is_valid(code):
            continue
        condition = Condition(
            clinic_id=visit.clinic_id,
            patient_id=visit.patient_id,
            recorded_by=user,
            name=(icd10.description(code) or code)[:200],
            icd10_code=code,
            onset_date=timezone.localdate(visit.started_at, timezone=visit.clinic.tzinfo),
            source_visit=visit,
            notes=f"Diagnosed at visit {visit.reference}.",
        )
        condition.save()
        added.append(condition)
    return added


@transaction.atomic
def follow_up_book(*, visit: Visit, user: User, membership, start: datetime.datetime) -> Appointment:
    """Book the follow-up the note asks for, with the visit's doctor, under Scheduling's
    rules (free slot, availability, the database settling a race)."""
    note = ClinicalNote.objects.select_for_update().get(visit=visit)
    if note.follow_up_appointment_id is not None:
        raise Conflict("The follow-up is already booked.")
    if note.follow_up_date is None:
        raise ValidationError({"follow_up_date": "Set the follow-up date in the plan first."})
    booking = scheduling_services.appointment_book(
        clinic=visit.clinic,
        user=user,
        membership=membership,
        doctor=visit.doctor,
        start=start,
        type=AppointmentType.FOLLOW_UP,
        reason=f"Follow-up of {visit.reference}",
        patient=visit.patient,
    )
    note.follow_up_appointment = booking.appointment
    note.follow_up_required = True
    note.save(update_fields=["follow_up_appointment", "follow_up_required", "updated_at"])
    return booking.appointment


@transaction.atomic
def addendum_add(*, visit: Visit, user: User, text: str) -> Addendum:
    """Add to a completed visit's note; addenda are never changed."""
    text = (text or "").strip()
    check_no_nul(text=text)
    if not text:
        raise ValidationError({"text": "Write the addendum."})
    visit = Visit.objects.select_for_update().get(pk=visit.pk)
    if visit.status != Visit.Status.COMPLETED:
        raise Conflict("The visit is still in progress: edit the note itself.")
    return Addendum.objects.create(clinic_id=visit.clinic_id, visit=visit, text=text, author=user)
