"""Every write of the clinical record: visits (start, note, complete, addenda), vital
signs with BMI, and the medical history lists. Views and the API call these; the rules
(ranges, the 24-hour lock, one visit per appointment, unknown vs. no known allergies)
live only here."""

import datetime
import os
import secrets
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Sum
from django.urls import reverse
from django.utils import timezone

from clinical import icd10
from clinical.allergy_check import check_medicine
from clinical.allergy_check import normalize as normalize_medicine
from clinical.models import (
    Addendum,
    Allergy,
    AllergyStatement,
    AllergyWarning,
    ClinicalNote,
    Condition,
    Dispensation,
    FormularyItem,
    Immunization,
    LabOrder,
    LabOrderSequence,
    LabOrderTest,
    LabResult,
    LabTest,
    Medication,
    Prescription,
    PrescriptionItem,
    PrescriptionSequence,
    Procedure,
    ReferenceRange,
    Route,
    Visit,
    VisitSequence,
    VitalSigns,
)
from clinical.signals import visit_completed
from clinicos.errors import Conflict, TransitionNotAllowed
from clinicos.models import Clinic, DoctorProfile, Notification, User
from clinicos.roles import Role
from clinicos.selectors import members_with_role
from clinicos.services import notify
from clinicos.text import check_no_nul
from clinicos.uploads import check_upload, safe_file_name
from patients import services as patient_services
from patients.models import Patient
from scheduling import services as scheduling_services
from scheduling.models import Appointment, AppointmentStatus, AppointmentType

NOTE_EDIT_WINDOW = datetime.timedelta(hours=24)


# --- Visits ---------------------------------------------------------------------------------


def _next_reference(clinic: Clinic) -> str:
    return f"{clinic.code}-V{_next_number(VisitSequence, clinic)}"


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
    visit_completed.send(sender=Visit, visit=visit, user=user)
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


ALLERGIES_MEMO = "_active_allergies_and_state"  # see selectors.active_allergies_and_state


def forget_allergies(patient: Patient) -> None:
    """This patient object's allergies, as read earlier in the request, are out of date."""
    patient.__dict__.pop(ALLERGIES_MEMO, None)
    patient._state.fields_cache.pop("allergy_statement", None)


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
    if kind == "allergies":
        forget_allergies(patient)
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
    forget_allergies(patient)
    return statement


# --- Prescriptions --------------------------------------------------------------------------

PRESCRIPTION_VALIDITY = datetime.timedelta(days=30)
PRESCRIPTION_ITEM_FIELDS = ("medicine", "dosage", "frequency", "duration", "quantity", "route", "instructions")
PRESCRIPTION_ITEM_REQUIRED = ("medicine", "dosage", "frequency", "duration")
MAX_ITEMS = 30
MAX_QUANTITY = 10_000


class AllergyWarningsPending(Conflict):
    """Finalizing waits until each allergy warning is acknowledged with a reason (409)."""

    def __init__(self, warnings: list[AllergyWarning]):
        super().__init__(
            "Each allergy warning must be acknowledged with a reason before the prescription is finalized: "
            + " ".join(warning.message for warning in warnings)
        )
        self.warnings = warnings

    def problem_fields(self) -> dict:
        return {"warnings": [warning_out(warning) for warning in self.warnings]}


class AllergyListUnknown(Conflict):
    """Nobody has recorded the patient's allergies: the doctor confirms before finalizing."""


def warning_out(warning: AllergyWarning) -> dict:
    return {
        "id": warning.pk,
        "item_index": warning.item.position - 1,
        "allergy": warning.allergy_substance,
        "match": warning.match,
        "drug_class": warning.drug_class,
        "message": warning.message,
        "acknowledged": bool(warning.override_reason),
        "override_reason": warning.override_reason,
    }


def _next_number(sequence_model, clinic: Clinic) -> int:
    """The next number of a clinic's sequence (visits, prescriptions, lab orders), from a
    row locked until the transaction ends: no two callers get the same number."""
    sequence, _ = sequence_model.objects.select_for_update().get_or_create(clinic=clinic)
    sequence_model.objects.filter(pk=sequence.pk).update(last_number=F("last_number") + 1)
    sequence.refresh_from_db(fields=["last_number"])
    return sequence.last_number


def _clean_prescription_item(clinic: Clinic, raw: dict, prefix: str, errors: dict) -> dict:
    unknown = set(raw) - {*PRESCRIPTION_ITEM_FIELDS, "formulary_item_id"}
    if unknown:
        raise ValueError(f"Not prescription item fields: {', '.join(sorted(unknown))}")
    item: dict = {}
    for field in ("medicine", "dosage", "frequency", "duration", "instructions"):
        value = raw.get(field)
        value = "" if value is None else str(value).strip()
        limit = getattr(PrescriptionItem._meta.get_field(field), "max_length", None)
        if field in PRESCRIPTION_ITEM_REQUIRED and not value:
            errors[f"{prefix}{field}"] = "This field is required."
        elif limit and len(value) > limit:
            errors[f"{prefix}{field}"] = f"At most {limit} characters."
        item[field] = value
    check_no_nul(**{field: value for field, value in item.items()})
    quantity = raw.get("quantity")
    try:
        quantity = int(str(quantity).strip()) if quantity not in (None, "") and not isinstance(quantity, bool) else None
    except ValueError:
        quantity = None
        errors[f"{prefix}quantity"] = "Enter a whole number."
    if quantity is None:
        errors.setdefault(f"{prefix}quantity", "Enter how much to dispense.")
    elif not 1 <= quantity <= MAX_QUANTITY:
        errors[f"{prefix}quantity"] = f"Between 1 and {MAX_QUANTITY}."
    item["quantity"] = quantity
    route = raw.get("route") or Route.ORAL
    if route not in Route.values:
        errors[f"{prefix}route"] = f"One of: {', '.join(Route.values)}."
    item["route"] = route
    formulary_id = raw.get("formulary_item_id")
    item["formulary_item"] = None
    if formulary_id not in (None, ""):
        item["formulary_item"] = FormularyItem.objects.filter(clinic=clinic, pk=formulary_id, is_active=True).first()
        if item["formulary_item"] is None:
            errors[f"{prefix}formulary_item_id"] = "Not a medicine of this clinic's formulary."
    return item


def _clean_prescription_items(clinic: Clinic, items) -> list[dict]:
    errors: dict[str, str] = {}
    if not items:
        raise ValidationError({"items": "Add at least one medicine."})
    if len(items) > MAX_ITEMS:
        raise ValidationError({"items": f"At most {MAX_ITEMS} medicines on one prescription."})
    cleaned = [_clean_prescription_item(clinic, dict(raw), f"items.{index}.", errors) for index, raw in enumerate(items)]
    if errors:
        raise ValidationError(errors)
    return cleaned


def _lock_draft(prescription: Prescription) -> Prescription:
    prescription = Prescription.objects.select_for_update().select_related("patient", "visit").get(pk=prescription.pk)
    if prescription.status != Prescription.Status.DRAFT:
        raise Conflict(
            f"Prescription {prescription.reference} is {prescription.get_status_display().lower()} and can no longer be changed: "
            "write a correction instead."
        )
    return prescription


def _active_allergies(patient: Patient) -> list[Allergy]:
    return list(Allergy.objects.filter(clinic_id=patient.clinic_id, patient=patient, status=Allergy.Status.ACTIVE))


def _acknowledged_warnings(prescription: Prescription) -> dict:
    return {
        (normalize_medicine(warning.item.medicine), warning.allergy_id): warning
        for warning in AllergyWarning.objects.filter(item__prescription=prescription).exclude(override_reason="").select_related("item")
    }


def _check_allergies(prescription: Prescription, acknowledged: dict | None = None) -> list[AllergyWarning]:
    """(Re)check every item against the patient's active allergies. A warning already
    acknowledged for the same medicine and allergy keeps its reason."""
    allergies = _active_allergies(prescription.patient)
    items = list(prescription.items.all())
    previous = _acknowledged_warnings(prescription) if acknowledged is None else acknowledged
    AllergyWarning.objects.filter(item__prescription=prescription).delete()
    warnings = []
    for item in items:
        for match in check_medicine(item.medicine, allergies):
            before = previous.get((normalize_medicine(item.medicine), match.allergy.pk))
            warnings.append(
                AllergyWarning(
                    clinic_id=prescription.clinic_id,
                    item=item,
                    allergy=match.allergy,
                    allergy_substance=match.allergy.substance,
                    match=match.match,
                    drug_class=match.drug_class,
                    message=match.message[:300],
                    override_reason=before.override_reason if before else "",
                    acknowledged_by=before.acknowledged_by if before else None,
                    acknowledged_at=before.acknowledged_at if before else None,
                )
            )
    return AllergyWarning.objects.bulk_create(warnings)


def _create_items(prescription: Prescription, items: list[dict]) -> None:
    PrescriptionItem.objects.bulk_create(
        [
            PrescriptionItem(clinic_id=prescription.clinic_id, prescription=prescription, position=index, **item)
            for index, item in enumerate(items, 1)
        ]
    )


@transaction.atomic
def prescription_create(
    *, visit: Visit, user: User, items: list[dict], notes: str = "", supersedes: Prescription | None = None
) -> Prescription:
    """Write a draft prescription for the visit — one per visit, or a correction of its
    finalized one (``supersedes``). Every item is checked against the allergies at once."""
    clinic = visit.clinic
    doctor = _doctor_profile(clinic, user, action="prescribe")
    visit = Visit.objects.select_for_update().select_related("patient", "clinic").get(pk=visit.pk)
    existing = {
        p.status: p for p in Prescription.objects.filter(visit=visit, status__in=[Prescription.Status.DRAFT, Prescription.Status.FINALIZED])
    }
    if supersedes is None and existing:
        current = existing.get(Prescription.Status.DRAFT) or existing[Prescription.Status.FINALIZED]
        raise Conflict(
            f"Visit {visit.reference} already has prescription {current.reference} ({current.get_status_display().lower()}): "
            "change the draft, or correct the finalized one."
        )
    if supersedes is not None:
        supersedes = Prescription.objects.get(pk=supersedes.pk)  # its status as it is now
        if supersedes.visit_id != visit.pk or supersedes.status != Prescription.Status.FINALIZED:
            raise Conflict("Only the visit's finalized prescription can be corrected.")
        if Prescription.Status.DRAFT in existing:
            raise Conflict(f"A correction is already being written: {existing[Prescription.Status.DRAFT].reference}.")
    cleaned = _clean_prescription_items(clinic, items)
    notes = (notes or "").strip()
    check_no_nul(notes=notes)
    prescription = Prescription(
        clinic=clinic,
        reference=f"{clinic.code}-RX{_next_number(PrescriptionSequence, clinic)}",
        visit=visit,
        patient=visit.patient,
        doctor=doctor,
        supersedes=supersedes,
        notes=notes,
        verification_token=secrets.token_urlsafe(24),
        created_by=user,
    )
    try:
        with transaction.atomic():
            prescription.save()
    except IntegrityError:
        raise Conflict(f"Visit {visit.reference} already has a prescription being written.") from None
    _create_items(prescription, cleaned)
    _check_allergies(prescription)
    return prescription


@transaction.atomic
def prescription_update(
    *, prescription: Prescription, user: User, items: list[dict] | None = None, notes: str | None = None
) -> Prescription:
    """Change a draft: replace its items and/or its notes. A finalized prescription is
    immutable (409)."""
    _doctor_profile(prescription.clinic, user, action="prescribe")
    prescription = _lock_draft(prescription)
    if items is not None:
        cleaned = _clean_prescription_items(prescription.clinic, items)
        acknowledged = _acknowledged_warnings(prescription)
        AllergyWarning.objects.filter(item__prescription=prescription).delete()
        prescription.items.all().delete()
        _create_items(prescription, cleaned)
        _check_allergies(prescription, acknowledged=acknowledged)
    if notes is not None:
        check_no_nul(notes=notes)
        prescription.notes = notes.strip()
    prescription.save()
    return prescription


@transaction.atomic
def prescription_item_add(*, prescription: Prescription, user: User, data: dict) -> PrescriptionItem:
    """Add one medicine to a draft (the visit page's form)."""
    _doctor_profile(prescription.clinic, user, action="prescribe")
    prescription = _lock_draft(prescription)
    position = prescription.items.count() + 1
    if position > MAX_ITEMS:
        raise ValidationError({"medicine": f"At most {MAX_ITEMS} medicines on one prescription."})
    errors: dict[str, str] = {}
    cleaned = _clean_prescription_item(prescription.clinic, data, "", errors)
    if errors:
        raise ValidationError(errors)
    item = PrescriptionItem.objects.create(clinic_id=prescription.clinic_id, prescription=prescription, position=position, **cleaned)
    _check_allergies(prescription)
    prescription.save(update_fields=["updated_at"])
    return item


@transaction.atomic
def prescription_item_remove(*, prescription: Prescription, user: User, item: PrescriptionItem) -> None:
    _doctor_profile(prescription.clinic, user, action="prescribe")
    prescription = _lock_draft(prescription)
    AllergyWarning.objects.filter(item=item).delete()
    PrescriptionItem.objects.filter(pk=item.pk, prescription=prescription).delete()
    for position, remaining in enumerate(prescription.items.order_by("position", "id"), 1):
        if remaining.position != position:
            PrescriptionItem.objects.filter(pk=remaining.pk).update(position=position)
    prescription.save(update_fields=["updated_at"])


@transaction.atomic
def prescription_discard(*, prescription: Prescription, user: User) -> None:
    """Throw a draft away (a finalized prescription is never deleted)."""
    _doctor_profile(prescription.clinic, user, action="prescribe")
    prescription = _lock_draft(prescription)
    AllergyWarning.objects.filter(item__prescription=prescription).delete()
    prescription.items.all().delete()
    prescription.delete()


@transaction.atomic
def prescription_finalize(
    *,
    prescription: Prescription,
    user: User,
    override_reason: str = "",
    reasons: dict[int, str] | None = None,
    allergies_unknown_confirmed: bool = False,
) -> Prescription:
    """Finalize: from now on immutable and valid for 30 days. Blocked until every allergy
    warning carries a reason (one per warning, or one ``override_reason`` for all), and
    until the doctor confirms an allergy list nobody has recorded. A correction replaces
    the prescription it supersedes in the same transaction."""
    _doctor_profile(prescription.clinic, user, action="prescribe")
    prescription = _lock_draft(prescription)
    if not prescription.items.exists():
        raise ValidationError({"items": "Add at least one medicine."})
    check_no_nul(override_reason=override_reason or "", **{str(k): v for k, v in (reasons or {}).items()})
    now = timezone.now()
    # Reasons are given per warning id; rechecking replaces the rows, so match them by
    # medicine and allergy.
    reason_by_match = {
        (normalize_medicine(w.item.medicine), w.allergy_id): (reasons or {}).get(w.pk, "")
        for w in AllergyWarning.objects.filter(item__prescription=prescription).select_related("item")
    }
    warnings = _check_allergies(prescription)  # against the allergies as they are now
    pending = []
    for warning in warnings:
        given = reason_by_match.get((normalize_medicine(warning.item.medicine), warning.allergy_id), "")
        reason = (given or override_reason or "").strip()
        if not warning.override_reason and reason:
            warning.override_reason, warning.acknowledged_by, warning.acknowledged_at = reason[:2000], user, now
            warning.save(update_fields=["override_reason", "acknowledged_by", "acknowledged_at"])
        if not warning.override_reason:
            pending.append(warning)
    if pending:
        raise AllergyWarningsPending(pending)
    state = allergy_state(patient=prescription.patient)
    if state == AllergyState.UNKNOWN and not allergies_unknown_confirmed:
        raise AllergyListUnknown(
            "Nobody has recorded this patient's allergies yet: ask the patient and record them (or “No known allergies”), "
            "or confirm that you prescribe without knowing."
        )
    if prescription.supersedes_id is not None:
        Prescription.objects.filter(pk=prescription.supersedes_id, status=Prescription.Status.FINALIZED).update(
            status=Prescription.Status.SUPERSEDED, updated_at=now
        )
    prescription.status = Prescription.Status.FINALIZED
    prescription.finalized_at = now
    prescription.valid_until = timezone.localdate(now, timezone=prescription.clinic.tzinfo) + PRESCRIPTION_VALIDITY
    prescription.allergy_list_unknown = state == AllergyState.UNKNOWN
    prescription.save()
    return prescription


def prescription_is_valid(prescription: Prescription, today: datetime.date | None = None) -> bool:
    """Finalized, not superseded, and within its 30 days."""
    if prescription.status != Prescription.Status.FINALIZED or prescription.valid_until is None:
        return False
    today = today or timezone.localdate(timezone=prescription.clinic.tzinfo)
    return today <= prescription.valid_until


@transaction.atomic
def prescription_dispense(
    *, prescription: Prescription, user: User, quantities: dict[int, int] | None = None, notes: str = ""
) -> list[Dispensation]:
    """The pharmacist hands over medicines: ``quantities`` by item id (what is left of every
    item when omitted). Never more than prescribed, only while the prescription is valid."""
    prescription = Prescription.objects.select_for_update().select_related("clinic").get(pk=prescription.pk)
    if not prescription_is_valid(prescription):
        if prescription.status == Prescription.Status.FINALIZED:
            raise Conflict(f"Prescription {prescription.reference} expired on {prescription.valid_until:%d %b %Y}.")
        raise Conflict(f"Prescription {prescription.reference} is {prescription.get_status_display().lower()}: it cannot be dispensed.")
    check_no_nul(notes=notes or "")
    items = {item.pk: item for item in prescription.items.all()}
    dispensed = dispensed_quantities(item_ids=list(items))
    remaining = {pk: item.quantity - dispensed.get(pk, 0) for pk, item in items.items()}
    if quantities is None:
        quantities = {pk: left for pk, left in remaining.items() if left > 0}
    errors: dict[str, str] = {}
    for item_id, quantity in quantities.items():
        if item_id not in items:
            errors[f"items.{item_id}"] = "Not an item of this prescription."
        elif not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 0:
            errors[f"items.{item_id}.quantity"] = "Enter a whole number, 0 or more."
        elif quantity > remaining[item_id]:
            errors[f"items.{item_id}.quantity"] = f"Only {remaining[item_id]} left to dispense of {items[item_id].medicine}."
    if errors:
        raise ValidationError(errors)
    quantities = {pk: quantity for pk, quantity in quantities.items() if quantity}
    if not quantities:
        raise Conflict(f"Everything on {prescription.reference} has been dispensed already.")
    now = timezone.now()
    return Dispensation.objects.bulk_create(
        [
            Dispensation(
                clinic_id=prescription.clinic_id,
                item=items[pk],
                quantity=quantity,
                dispensed_by=user,
                dispensed_at=now,
                notes=notes.strip()[:250],
            )
            for pk, quantity in quantities.items()
        ]
    )


def dispensed_quantities(*, item_ids: list[int]) -> dict[int, int]:
    rows = Dispensation.objects.filter(item_id__in=item_ids).values("item_id").annotate(total=Sum("quantity"))
    return {row["item_id"]: row["total"] for row in rows}


@transaction.atomic
def formulary_item_save(*, clinic: Clinic, data: dict, item: FormularyItem | None = None) -> FormularyItem:
    """Add a medicine to the clinic's formulary, or change one (admins)."""
    item = item or FormularyItem(clinic=clinic)
    for field in ("generic_name", "strength", "form", "route", "default_frequency", "is_active"):
        if field in data:
            value = data[field]
            setattr(item, field, value.strip() if isinstance(value, str) else value)
    check_no_nul(generic_name=item.generic_name, strength=item.strength, form=item.form)
    item.full_clean(exclude=["clinic"], validate_constraints=False)
    duplicate = FormularyItem.objects.filter(clinic=clinic, generic_name__iexact=item.generic_name, strength__iexact=item.strength)
    if duplicate.exclude(pk=item.pk).exists():
        raise ValidationError({"generic_name": "This medicine and strength are already in the formulary."})
    try:
        with transaction.atomic():
            item.save()
    except IntegrityError:
        raise ValidationError({"generic_name": "This medicine and strength are already in the formulary."}) from None
    return item


# --- Lab orders and results -----------------------------------------------------------------

# One step at a time, never back (healthcare-management-system: "cannot skip status
# transitions"); cancelling is possible until the order is completed.
LAB_ORDER_TRANSITIONS: dict[str, frozenset[str]] = {
    LabOrder.Status.ORDERED: frozenset({LabOrder.Status.SAMPLE_COLLECTED, LabOrder.Status.CANCELLED}),
    LabOrder.Status.SAMPLE_COLLECTED: frozenset({LabOrder.Status.IN_PROGRESS, LabOrder.Status.CANCELLED}),
    LabOrder.Status.IN_PROGRESS: frozenset({LabOrder.Status.COMPLETED, LabOrder.Status.CANCELLED}),
    LabOrder.Status.COMPLETED: frozenset(),
    LabOrder.Status.CANCELLED: frozenset(),
}
# Who and when of each step, on the order.
_STEP_FIELDS: dict[str, tuple[str, str]] = {
    LabOrder.Status.SAMPLE_COLLECTED: ("sample_collected_by", "sample_collected_at"),
    LabOrder.Status.IN_PROGRESS: ("started_by", "started_at"),
    LabOrder.Status.COMPLETED: ("completed_by", "completed_at"),
    LabOrder.Status.CANCELLED: ("cancelled_by", "cancelled_at"),
}
RESULTS_ALLOWED_IN = frozenset({LabOrder.Status.SAMPLE_COLLECTED, LabOrder.Status.IN_PROGRESS, LabOrder.Status.COMPLETED})
CRITICAL_FLAGS = frozenset({LabResult.Flag.CRITICAL_LOW, LabResult.Flag.CRITICAL_HIGH})
FINAL_STATUSES = frozenset({LabResult.Status.FINAL, LabResult.Status.AMENDED})


@transaction.atomic
def lab_order_create(
    *,
    patient: Patient,
    user: User,
    lab_tests: list[LabTest],
    urgency: str = LabOrder.Urgency.ROUTINE,
    visit: Visit | None = None,
    clinical_notes: str = "",
) -> LabOrder:
    """Order tests of the clinic's catalog for a patient (usually in a visit): doctors only."""
    clinic = patient.clinic
    doctor = _doctor_profile(clinic, user, action="order lab tests")
    errors: dict[str, str] = {}
    if not lab_tests:
        errors["tests"] = "Choose at least one test."
    inactive = [test.code for test in lab_tests if not test.is_active or test.clinic_id != clinic.pk]
    if inactive:
        errors["tests"] = f"Not in this clinic's catalog: {', '.join(inactive)}."
    if len({test.pk for test in lab_tests}) != len(lab_tests):
        errors["tests"] = "Each test once."
    if urgency not in LabOrder.Urgency.values:
        errors["urgency"] = "Routine or urgent."
    if visit is not None and visit.patient_id != patient.pk:
        errors["visit_id"] = "This visit is another patient's."
    clinical_notes = (clinical_notes or "").strip()
    check_no_nul(clinical_notes=clinical_notes)
    if len(clinical_notes) > 500:
        errors["clinical_notes"] = "At most 500 characters."
    if errors:
        raise ValidationError(errors)
    order = LabOrder.objects.create(
        clinic=clinic,
        reference=f"{clinic.code}-L{_next_number(LabOrderSequence, clinic)}",
        patient=patient,
        visit=visit,
        ordering_doctor=doctor,
        urgency=urgency,
        clinical_notes=clinical_notes,
        ordered_by=user,
        ordered_at=timezone.now(),
    )
    LabOrderTest.objects.bulk_create([LabOrderTest(clinic=clinic, order=order, lab_test=test) for test in lab_tests])
    return order


def _set_step(order: LabOrder, to_status: str, user: User, now: datetime.datetime) -> None:
    order.status = to_status
    by_field, at_field = _STEP_FIELDS[to_status]
    setattr(order, by_field, user)
    setattr(order, at_field, now)


@transaction.atomic
def lab_order_set_status(*, order: LabOrder, user: User, to_status: str, reason: str = "") -> LabOrder:
    """Move the order one step on (or cancel it, with a reason, before it is completed).
    Completed follows from the results: every test needs a final one."""
    order = LabOrder.objects.select_for_update().get(pk=order.pk)
    if to_status not in LabOrder.Status.values:
        raise ValidationError({"status": f"One of: {', '.join(LabOrder.Status.values)}."})
    if to_status not in LAB_ORDER_TRANSITIONS[order.status]:
        current = order.get_status_display()
        target = LabOrder.Status(to_status).label
        if order.status in (LabOrder.Status.COMPLETED, LabOrder.Status.CANCELLED):
            raise TransitionNotAllowed(f"Order {order.reference} is {current.lower()}: its status can no longer change.")
        raise TransitionNotAllowed(f"Order {order.reference} is “{current}”: it cannot go to “{target}” (one step at a time, never back).")
    reason = (reason or "").strip()
    check_no_nul(reason=reason)
    if to_status == LabOrder.Status.CANCELLED:
        if not reason:
            raise ValidationError({"reason": "Say why the order is cancelled."})
        order.cancel_reason = reason[:250]
    if to_status == LabOrder.Status.COMPLETED and not _every_test_final(order):
        raise Conflict(f"Order {order.reference} is completed once every test has a final result.")
    _set_step(order, to_status, user, timezone.now())
    order.save()
    return order


def _every_test_final(order: LabOrder) -> bool:
    tests = LabOrderTest.objects.filter(order=order)
    finals = LabResult.objects.filter(order_test__order=order, is_current=True, status__in=FINAL_STATUSES)
    return tests.count() == finals.count()


# --- Reference ranges and flags ---


def applicable_range(lab_test: LabTest, *, sex: str, age_years: int | None, ranges=None) -> ReferenceRange | None:
    """The range that fits the patient: their sex before "any", then the narrowest age band.
    Without a known age, only bands that start at 0 and have no upper age apply."""
    candidates = []
    for reference in ranges if ranges is not None else lab_test.ranges.all():
        if reference.sex not in (ReferenceRange.Sex.ANY, sex):
            continue
        if age_years is None:
            if reference.age_min_years != 0 or reference.age_max_years is not None:
                continue
        elif age_years < reference.age_min_years or (reference.age_max_years is not None and age_years >= reference.age_max_years):
            continue
        width = (reference.age_max_years or 200) - reference.age_min_years
        candidates.append((reference.sex == ReferenceRange.Sex.ANY, width, reference.age_min_years, reference.pk, reference))
    return min(candidates)[-1] if candidates else None


def range_text(low, high, unit: str = "") -> str:
    def shown(value):
        return f"{Decimal(value).normalize():f}"

    suffix = f" {unit}" if unit else ""
    if low is not None and high is not None:
        return f"{shown(low)}–{shown(high)}{suffix}"
    if low is not None:
        return f"≥ {shown(low)}{suffix}"
    if high is not None:
        return f"≤ {shown(high)}{suffix}"
    return ""


def numeric_flag(value: Decimal, *, low=None, high=None, critical_low=None, critical_high=None) -> str:
    """At a bound is inside it: a value equal to ``high`` is normal, equal to
    ``critical_high`` is critical (the critical bound is the first critical value)."""
    if critical_low is not None and value <= critical_low:
        return LabResult.Flag.CRITICAL_LOW
    if critical_high is not None and value >= critical_high:
        return LabResult.Flag.CRITICAL_HIGH
    if low is not None and value < low:
        return LabResult.Flag.LOW
    if high is not None and value > high:
        return LabResult.Flag.HIGH
    return LabResult.Flag.NORMAL


def text_flag(value: str, normal_text: str) -> str:
    if not normal_text:
        return LabResult.Flag.NORMAL
    return LabResult.Flag.NORMAL if normalize_medicine(value) == normalize_medicine(normal_text) else LabResult.Flag.ABNORMAL


def _parse_value(lab_test: LabTest, raw, field: str) -> tuple[Decimal | None, str]:
    text = "" if raw is None else str(raw).strip()
    if not text:
        raise ValidationError({field: "Enter the result."})
    check_no_nul(value=text)
    if lab_test.result_type == LabTest.ResultType.TEXT:
        if len(text) > 250:
            raise ValidationError({field: "At most 250 characters."})
        return None, text
    try:
        value = Decimal(text.replace(",", ""))
    except (InvalidOperation, ValueError):
        raise ValidationError({field: f"{lab_test.name} is a number (e.g. 4.2)."}) from None
    if not value.is_finite() or abs(value) >= Decimal("1e10"):
        raise ValidationError({field: "Enter a number."})
    return value.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP), ""


@transaction.atomic
def lab_results_enter(*, order: LabOrder, user: User, results: list[dict]) -> list[LabResult]:
    """Enter results (lab technicians): each ``{test_id, value, unit?, final, flag?,
    flag_reason?}``. Only once the sample is collected (the order moves to In progress);
    the range that applies to the patient is copied onto the result and the flag computed;
    a result already entered gets a new version (a corrected final one is Amended). When
    every test has a final result the order is completed. Critical results start the
    critical-result loop."""
    order = LabOrder.objects.select_for_update().select_related("patient", "clinic", "ordering_doctor__user").get(pk=order.pk)
    if order.status not in RESULTS_ALLOWED_IN:
        if order.status == LabOrder.Status.CANCELLED:
            raise Conflict(f"Order {order.reference} was cancelled.")
        raise Conflict(f"Order {order.reference} is “{order.get_status_display()}”: results are entered once the sample is collected.")
    if not results:
        raise ValidationError({"results": "Enter at least one result."})
    order_tests = {
        t.pk: t for t in LabOrderTest.objects.filter(order=order).select_related("lab_test").prefetch_related("lab_test__ranges")
    }
    patient = order.patient
    now = timezone.now()
    age = patient.age_on(timezone.localdate(now, timezone=order.clinic.tzinfo))
    cleaned = []
    errors: dict[str, str] = {}
    seen: set[int] = set()
    for index, raw in enumerate(results):
        prefix = f"results.{index}."
        try:
            test_id = int(str(raw.get("test_id")))
        except ValueError:
            test_id = -1
        order_test = order_tests.get(test_id)
        if order_test is None:
            errors[f"{prefix}test_id"] = "Not a test of this order."
            continue
        if test_id in seen:
            errors[f"{prefix}test_id"] = "Each test once."
            continue
        seen.add(test_id)
        lab_test = order_test.lab_test
        try:
            value_numeric, value_text = _parse_value(lab_test, raw.get("value"), f"{prefix}value")
        except ValidationError as error:
            errors.update({key: " ".join(messages) for key, messages in error.message_dict.items()})
            continue
        unit = (raw.get("unit") or "").strip() or lab_test.unit
        if lab_test.unit and unit.casefold() != lab_test.unit.casefold():
            errors[f"{prefix}unit"] = f"Enter {lab_test.name} in {lab_test.unit}, the unit of the catalog and its ranges."
            continue
        override = (raw.get("flag") or "").strip()
        override_reason = (raw.get("flag_reason") or "").strip()
        if override and override not in LabResult.Flag.values:
            errors[f"{prefix}flag"] = f"One of: {', '.join(LabResult.Flag.values)}."
            continue
        check_no_nul(flag_reason=override_reason)
        cleaned.append((order_test, value_numeric, value_text, unit, bool(raw.get("final")), override, override_reason[:250]))
    if errors:
        raise ValidationError(errors)
    if order.status == LabOrder.Status.SAMPLE_COLLECTED:
        _set_step(order, LabOrder.Status.IN_PROGRESS, user, now)
    saved = []
    for order_test, value_numeric, value_text, unit, final, override, override_reason in cleaned:
        lab_test = order_test.lab_test
        current = LabResult.objects.select_for_update().filter(order_test=order_test, is_current=True).first()
        if current is not None and current.status in FINAL_STATUSES and not final:
            raise ValidationError({"results": f"{lab_test.name} already has a final result: a correction is final too."})
        reference = applicable_range(lab_test, sex=patient.gender, age_years=age, ranges=list(lab_test.ranges.all()))
        result = LabResult(
            clinic_id=order.clinic_id,
            order_test=order_test,
            patient=patient,
            lab_test=lab_test,
            version=(current.version + 1) if current else 1,
            previous=current,
            value_numeric=value_numeric,
            value_text=value_text,
            unit=unit,
            entered_by=user,
            entered_at=now,
        )
        if current is not None and current.status in FINAL_STATUSES:
            result.status = LabResult.Status.AMENDED
        else:
            result.status = LabResult.Status.FINAL if final else LabResult.Status.PRELIMINARY
        if reference is not None:
            result.range_low, result.range_high = reference.low, reference.high
            result.range_critical_low, result.range_critical_high = reference.critical_low, reference.critical_high
            result.range_text = range_text(reference.low, reference.high, lab_test.unit)[:120]
        elif lab_test.result_type == LabTest.ResultType.TEXT and lab_test.normal_text:
            result.range_text = lab_test.normal_text
        if value_numeric is not None:
            result.computed_flag = numeric_flag(
                value_numeric,
                low=result.range_low,
                high=result.range_high,
                critical_low=result.range_critical_low,
                critical_high=result.range_critical_high,
            )
        else:
            result.computed_flag = text_flag(value_text, lab_test.normal_text)
        result.flag = result.computed_flag
        if override and override != result.computed_flag:
            if not override_reason:
                raise ValidationError({"results": f"Say why the flag of {lab_test.name} is changed from the computed one."})
            result.flag, result.flag_override_reason = override, override_reason
        if current is not None:
            current.is_current = False
            current.save(update_fields=["is_current"])
        result.save()
        saved.append(result)
    if order.status == LabOrder.Status.IN_PROGRESS and _every_test_final(order):
        _set_step(order, LabOrder.Status.COMPLETED, user, now)
        _notify_results_ready(order)
    order.save()
    for result in saved:
        if result.flag in CRITICAL_FLAGS:
            _start_critical_loop(order, result)
    return saved


def _result_url(order: LabOrder) -> str:
    return reverse("lab_order_detail", args=[order.clinic.code, order.pk])


def _notify_results_ready(order: LabOrder) -> None:
    notify(
        clinic=order.clinic,
        recipients=[order.ordering_doctor.user_id],
        kind=Notification.Kind.LAB_RESULTS_READY,
        title=f"Results of {order.reference} for {order.patient.full_name} are ready to review",
        url=_result_url(order),
    )


def _start_critical_loop(order: LabOrder, result: LabResult) -> None:
    """Tell the ordering doctor at once; escalate later if nobody has acknowledged it."""
    from clinical.tasks import escalate_critical_result  # the task calls back into this module

    lab_test = result.lab_test
    notify(
        clinic=order.clinic,
        recipients=[order.ordering_doctor.user_id],
        kind=Notification.Kind.CRITICAL_RESULT,
        title=f"CRITICAL: {lab_test.name} {result.value_display} {result.unit} ({result.get_flag_display().lower()}) — "
        f"{order.patient.full_name}, {order.reference}",
        url=_result_url(order),
    )
    delay = datetime.timedelta(minutes=order.clinic.critical_result_escalation_minutes)
    escalate_critical_result.using(run_after=timezone.now() + delay).enqueue(result.pk)


def unacknowledged_critical_results(clinic: Clinic):
    return LabResult.objects.filter(clinic=clinic, is_current=True, flag__in=CRITICAL_FLAGS, acknowledged_at__isnull=True)


def doctors_on_duty(clinic: Clinic, at: datetime.datetime) -> list[DoctorProfile]:
    """The doctors whose working time (hours, extra sessions, less leave) covers ``at``."""
    day = timezone.localdate(at, timezone=clinic.tzinfo)
    doctors = DoctorProfile.objects.filter(clinic=clinic, is_active=True).select_related("clinic")
    return [
        doctor
        for doctor in doctors
        if any(start <= at < end for start, end in scheduling_services.availability_blocks(doctor=doctor, day=day))
    ]


@transaction.atomic
def critical_result_escalate(*, result_id: int) -> bool:
    """Run by the worker once the clinic's minutes have passed: when the critical result is
    still unacknowledged (and current), tell the administrators and the doctors on duty.
    Returns whether it escalated."""
    result = LabResult.objects.select_for_update().filter(pk=result_id).first()
    if result is None or not result.is_current or result.flag not in CRITICAL_FLAGS:
        return False
    if result.acknowledged_at is not None or result.escalated_at is not None:
        return False
    order = LabOrder.objects.select_related("clinic", "patient", "ordering_doctor__user").get(pk=result.order_test.order_id)
    clinic = order.clinic
    now = timezone.now()
    admins = [membership.user_id for membership in members_with_role(clinic_id=clinic.pk, role=Role.ADMIN)]
    on_duty = [doctor.user_id for doctor in doctors_on_duty(clinic, now)]
    minutes = clinic.critical_result_escalation_minutes
    notify(
        clinic=clinic,
        recipients={*admins, *on_duty, order.ordering_doctor.user_id},
        kind=Notification.Kind.CRITICAL_RESULT_ESCALATED,
        title=f"Not acknowledged for {minutes} min: CRITICAL {result.lab_test.name} {result.value_display} {result.unit} — "
        f"{order.patient.full_name}, ordered by {order.ordering_doctor}",
        url=_result_url(order),
    )
    result.escalated_at = now
    result.save(update_fields=["escalated_at"])
    return True


@transaction.atomic
def lab_result_acknowledge(*, result: LabResult, user: User, comment: str) -> LabResult:
    """A doctor acknowledges a critical result, always with a comment (what was done)."""
    comment = (comment or "").strip()
    check_no_nul(comment=comment)
    if not comment:
        raise ValidationError({"comment": "Say what was done about this critical result."})
    result = LabResult.objects.select_for_update().get(pk=result.pk)
    _doctor_profile(result.clinic, user, action="acknowledge a critical result")
    if result.flag not in CRITICAL_FLAGS:
        raise Conflict("Only critical results are acknowledged.")
    if not result.is_current:
        raise Conflict("A newer version of this result exists: acknowledge that one.")
    if result.acknowledged_at is not None:
        raise Conflict(f"Already acknowledged by {result.acknowledged_by.full_name if result.acknowledged_by else 'a doctor'}.")
    result.acknowledged_by, result.acknowledged_at, result.acknowledgement_comment = user, timezone.now(), comment[:2000]
    result.save(update_fields=["acknowledged_by", "acknowledged_at", "acknowledgement_comment"])
    return result


@transaction.atomic
def lab_order_review(*, order: LabOrder, user: User) -> LabOrder:
    """The doctor has read the completed order's results and signs them off."""
    _doctor_profile(order.clinic, user, action="sign off results")
    order = LabOrder.objects.select_for_update().get(pk=order.pk)
    if order.status != LabOrder.Status.COMPLETED:
        raise Conflict(f"Order {order.reference} is not completed yet.")
    if order.reviewed_at is not None:
        raise Conflict(f"Order {order.reference} was already signed off.")
    order.reviewed_by, order.reviewed_at = user, timezone.now()
    order.save(update_fields=["reviewed_by", "reviewed_at"])
    return order


LAB_REPORT_MAX_BYTES = 10 * 1024 * 1024


@transaction.atomic
def lab_report_attach(*, order: LabOrder, user: User, upload) -> LabOrder:
    """Attach the lab's report (PDF or image, checked by its content like documents)."""
    order = LabOrder.objects.select_for_update().get(pk=order.pk)
    if order.status in (LabOrder.Status.ORDERED, LabOrder.Status.CANCELLED):
        raise Conflict(f"Order {order.reference} is “{order.get_status_display()}”: attach the report once the sample is collected.")
    checked = check_upload(upload, max_bytes=LAB_REPORT_MAX_BYTES, field="report")
    name = safe_file_name(upload.name or "", checked.content_type, fallback="lab-report")
    order.report_file.save(f"{secrets.token_hex(16)}{os.path.splitext(name)[1]}", upload, save=False)
    order.report_file_name, order.report_content_type, order.report_size = name, checked.content_type, upload.size
    order.report_uploaded_by, order.report_uploaded_at, order.report_removed_at = user, timezone.now(), None
    order.save()
    return order


@transaction.atomic
def lab_report_remove(*, order: LabOrder, user: User) -> LabOrder:
    """Soft delete: the file stays in storage and in the history, no longer shown."""
    order = LabOrder.objects.select_for_update().get(pk=order.pk)
    if not order.report_file or order.report_removed_at is not None:
        raise Conflict("This order has no report attached.")
    order.report_removed_at = timezone.now()
    order.save(update_fields=["report_removed_at"])
    return order


@transaction.atomic
def lab_test_save(*, clinic: Clinic, form, formset) -> LabTest:
    """Save a catalog test and its reference ranges (the settings page's validated form and
    formset), in one transaction. Codes are kept in capitals."""
    lab_test = form.save(commit=False)
    lab_test.clinic = clinic
    lab_test.code = lab_test.code.strip().upper()
    try:
        with transaction.atomic():
            lab_test.save()
    except IntegrityError:
        raise ValidationError({"code": "The catalog already has a test with this code."}) from None
    formset.instance = lab_test
    for reference in formset.save(commit=False):
        reference.clinic = clinic
        reference.lab_test = lab_test
        reference.save()
    for reference in formset.deleted_objects:
        reference.delete()
    return lab_test
