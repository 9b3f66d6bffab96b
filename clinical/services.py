"""Every write of the clinical record: visits (start, note, complete, addenda), vital
signs with BMI, and the medical history lists. Views and the API call these; the rules
(ranges, the 24-hour lock, one visit per appointment, unknown vs. no known allergies)
live only here."""

import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from clinical import icd10
from clinical.models import (
    Addendum,
    Allergy,
    AllergyStatement,
    ClinicalNote,
    Condition,
    Immunization,
    Medication,
    Procedure,
    Visit,
    VisitSequence,
    VitalSigns,
)
from clinicos.errors import Conflict
from clinicos.models import Clinic, DoctorProfile, User
from clinicos.text import check_no_nul
from patients import services as patient_services
from patients.models import Patient
from scheduling import services as scheduling_services
from scheduling.models import Appointment, AppointmentStatus, AppointmentType

NOTE_EDIT_WINDOW = datetime.timedelta(hours=24)


# --- Visits ---------------------------------------------------------------------------------


def _next_reference(clinic: Clinic) -> str:
    sequence, _ = VisitSequence.objects.select_for_update().get_or_create(clinic=clinic)
    VisitSequence.objects.filter(pk=sequence.pk).update(last_number=F("last_number") + 1)
    sequence.refresh_from_db(fields=["last_number"])
    return f"{clinic.code}-V{sequence.last_number}"


def _doctor_profile(clinic: Clinic, user: User) -> DoctorProfile:
    doctor = DoctorProfile.objects.filter(clinic=clinic, user=user, is_active=True).select_related("user").first()
    if doctor is None:
        raise Conflict("Only a doctor with an active profile in this clinic can start a visit.")
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
    changed = False
    for field, value in data.items():
        if isinstance(value, str):
            value = value.strip()
        if getattr(note, field) != value:
            setattr(note, field, value)
            changed = True
    if note.follow_up_date and not note.follow_up_required:
        note.follow_up_required = True
        changed = True
    if changed:  # an autosave with nothing new writes no version
        note.updated_by = user
        note.full_clean()
        note.save()
    return note


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
    return visit


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


# --- Vital signs ---------------------------------------------------------------------------

# The healthcare-management-system spec's ranges, plus the bounds of what a device shows
# for the measurements it only asks to be positive.
VITAL_RANGES: dict[str, tuple[Decimal, Decimal, str]] = {
    "systolic_bp": (Decimal(50), Decimal(300), "mmHg"),
    "diastolic_bp": (Decimal(20), Decimal(200), "mmHg"),
    "pulse_rate": (Decimal(40), Decimal(200), "bpm"),
    "temperature_celsius": (Decimal("35.0"), Decimal("43.3"), "°C"),
    "respiratory_rate": (Decimal(1), Decimal(80), "breaths a minute"),
    "weight_kg": (Decimal("0.01"), Decimal(500), "kg"),
    "height_cm": (Decimal("0.1"), Decimal(300), "cm"),
    "oxygen_saturation": (Decimal(70), Decimal(100), "%"),
}
VITAL_FIELDS = (*VITAL_RANGES, "notes")
WHOLE_NUMBERS = frozenset({"systolic_bp", "diastolic_bp", "pulse_rate", "respiratory_rate", "oxygen_saturation"})
VITAL_PLACES = {"temperature_celsius": Decimal("0.1"), "weight_kg": Decimal("0.01"), "height_cm": Decimal("0.1")}

# (overweight from, obese from): WHO, and the WHO expert consultation for Asian populations
# (Lancet 2004; 363: 157–63), used by India's consensus guidelines.
BMI_CUTOFFS = {"who": (Decimal("25"), Decimal("30")), "asian": (Decimal("23"), Decimal("27.5"))}
UNDERWEIGHT_BELOW = Decimal("18.5")


def bmi_of(weight_kg: Decimal, height_cm: Decimal) -> Decimal:
    height_m = Decimal(height_cm) / 100
    return (Decimal(weight_kg) / (height_m * height_m)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def bmi_category(bmi: Decimal, *, asian: bool) -> str:
    overweight_from, obese_from = BMI_CUTOFFS["asian" if asian else "who"]
    if bmi < UNDERWEIGHT_BELOW:
        return VitalSigns.BmiCategory.UNDERWEIGHT
    if bmi < overweight_from:
        return VitalSigns.BmiCategory.NORMAL
    if bmi < obese_from:
        return VitalSigns.BmiCategory.OVERWEIGHT
    return VitalSigns.BmiCategory.OBESE


def _clean_vitals(data: dict) -> dict:
    errors: dict[str, str] = {}
    cleaned: dict = {}
    for field, (low, high, unit) in VITAL_RANGES.items():
        raw = data.get(field)
        if raw is None or raw == "":
            cleaned[field] = None
            continue
        try:
            value = Decimal(str(raw))
        except (InvalidOperation, ValueError):
            errors[field] = "Enter a number."
            continue
        if not value.is_finite():
            errors[field] = "Enter a number."
            continue
        if field in WHOLE_NUMBERS and value != value.to_integral_value():
            errors[field] = "Enter a whole number."
            continue
        if not low <= value <= high:
            errors[field] = f"Must be between {low.normalize():f} and {high.normalize():f} {unit}."
            continue
        cleaned[field] = int(value) if field in WHOLE_NUMBERS else value.quantize(VITAL_PLACES[field], rounding=ROUND_HALF_UP)
    systolic, diastolic = cleaned.get("systolic_bp"), cleaned.get("diastolic_bp")
    if systolic is not None and diastolic is not None and systolic <= diastolic:
        errors["diastolic_bp"] = "The diastolic pressure must be lower than the systolic."
    if (systolic is None) != (diastolic is None) and "systolic_bp" not in errors and "diastolic_bp" not in errors:
        errors["systolic_bp" if systolic is None else "diastolic_bp"] = "Record both blood pressure values."
    if not errors and all(value is None for value in cleaned.values()):
        errors["__all__"] = "Record at least one measurement."
    if errors:
        raise ValidationError(errors)
    notes = (data.get("notes") or "").strip()
    check_no_nul(notes=notes)
    cleaned["notes"] = notes
    return cleaned


@transaction.atomic
def vitals_record(*, patient: Patient, user: User, data: dict, visit: Visit | None = None) -> VitalSigns:
    """Record a set of vital signs (nurses and doctors); BMI from weight and height."""
    unknown = set(data) - set(VITAL_FIELDS)
    if unknown:
        raise ValueError(f"Not vital-sign fields: {', '.join(sorted(unknown))}")
    if visit is not None and visit.patient_id != patient.pk:
        raise ValidationError({"visit_id": "This visit is another patient's."})
    cleaned = _clean_vitals(data)
    vitals = VitalSigns(clinic_id=patient.clinic_id, patient=patient, visit=visit, recorded_by=user, recorded_at=timezone.now(), **cleaned)
    if vitals.weight_kg and vitals.height_cm:
        vitals.bmi = bmi_of(vitals.weight_kg, vitals.height_cm)
        vitals.bmi_category = bmi_category(vitals.bmi, asian=patient.clinic.bmi_asian_cutoffs)
    vitals.save()
    return vitals


# --- The medical history ------------------------------------------------------------------

ALLERGY_FIELDS = ("substance", "reaction", "severity", "status")
HISTORY_LISTS = {
    "allergies": (Allergy, ALLERGY_FIELDS),
    "conditions": (Condition, ("name", "icd10_code", "onset_date", "status", "notes")),
    "medications": (Medication, ("name", "dose", "start_date", "end_date", "status", "notes")),
    "immunizations": (Immunization, ("vaccine", "dose_number", "given_on", "next_due", "status", "notes")),
    "procedures": (Procedure, ("name", "performed_on", "status", "notes")),
}


class AllergyState:
    UNKNOWN = "unknown"
    NO_KNOWN_ALLERGIES = "no_known_allergies"
    HAS_ALLERGIES = "has_allergies"


def allergy_state_of(*, has_active_allergy: bool, statement: AllergyStatement | None) -> str:
    """The list's state: an active allergy wins; then an explicit "No known allergies";
    otherwise nobody has asked (unknown)."""
    if has_active_allergy:
        return AllergyState.HAS_ALLERGIES
    return AllergyState.NO_KNOWN_ALLERGIES if statement and statement.no_known_allergies else AllergyState.UNKNOWN


def allergy_state(*, patient: Patient) -> str:
    has_active = Allergy.objects.filter(clinic_id=patient.clinic_id, patient=patient, status=Allergy.Status.ACTIVE).exists()
    statement = None if has_active else AllergyStatement.objects.filter(clinic_id=patient.clinic_id, patient=patient).first()
    return allergy_state_of(has_active_allergy=has_active, statement=statement)


@transaction.atomic
def history_item_save(*, kind: str, patient: Patient, user: User, data: dict, item=None):
    """Add an entry to one of the patient's history lists, or change one (marking it
    inactive is a change of ``status``). An active allergy ends "No known allergies"."""
    model, fields = HISTORY_LISTS[kind]
    unknown = set(data) - set(fields)
    if unknown:
        raise ValueError(f"Not {kind} fields: {', '.join(sorted(unknown))}")
    check_no_nul(**{field: value for field, value in data.items() if isinstance(value, str)})
    if item is None:
        item = model(clinic_id=patient.clinic_id, patient=patient, recorded_by=user)
    else:
        item = model.objects.select_for_update().get(pk=item.pk, patient=patient)
    for field, value in data.items():
        setattr(item, field, value.strip() if isinstance(value, str) else value)
    if kind == "conditions" and item.icd10_code:
        item.icd10_code = icd10.normalize(item.icd10_code)
        if not icd10.is_valid(item.icd10_code):
            raise ValidationError({"icd10_code": f"Not an ICD-10 code: {item.icd10_code}."})
    if kind == "medications" and item.start_date and item.end_date and item.end_date < item.start_date:
        raise ValidationError({"end_date": "The end date is before the start date."})
    if kind == "immunizations" and item.given_on and item.next_due and item.next_due <= item.given_on:
        raise ValidationError({"next_due": "The next dose is due after this one."})
    item.full_clean(exclude=["clinic", "patient", "recorded_by"])
    item.save()
    if kind == "allergies" and item.status == Allergy.Status.ACTIVE:
        AllergyStatement.objects.filter(clinic_id=patient.clinic_id, patient=patient, no_known_allergies=True).update(
            no_known_allergies=False
        )
    return item


@transaction.atomic
def no_known_allergies_record(*, patient: Patient, user: User) -> AllergyStatement:
    """The explicit statement "No known allergies" — refused while an allergy is active."""
    Patient.objects.select_for_update().filter(pk=patient.pk).first()
    if Allergy.objects.filter(clinic_id=patient.clinic_id, patient=patient, status=Allergy.Status.ACTIVE).exists():
        raise Conflict("This patient has an active allergy: mark it inactive before recording “No known allergies”.")
    statement = AllergyStatement.objects.filter(clinic_id=patient.clinic_id, patient=patient).first()
    if statement is None:
        statement = AllergyStatement(clinic_id=patient.clinic_id, patient=patient)
    statement.no_known_allergies = True
    statement.recorded_by = user
    statement.recorded_at = timezone.now()
    statement.save()
    return statement
