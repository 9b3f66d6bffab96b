"""The medical history: allergies (keeping *unknown* apart from *no known allergies*),
conditions, medications, immunizations and procedures."""

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from clinical import icd10
from clinical.models import (
    Allergy,
    AllergyStatement,
    Condition,
    FamilyHistory,
    Immunization,
    Medication,
    Procedure,
)
from clinicos.errors import Conflict
from clinicos.models import User
from clinicos.text import check_no_nul
from patients.models import Patient

# --- The medical history ------------------------------------------------------------------

ALLERGY_FIELDS = ("substance", "reaction", "severity", "status")
HISTORY_LISTS = {
    "allergies": (Allergy, ALLERGY_FIELDS),
    "conditions": (Condition, ("name", "icd10_code", "onset_date", "status", "notes")),
    "medications": (Medication, ("name", "dose", "start_date", "end_date", "status", "notes")),
    "immunizations": (Immunization, ("vaccine", "dose_number", "given_on", "next_due", "status", "notes")),
    "procedures": (Procedure, ("name", "performed_on", "status", "notes")),
    "family-history": (FamilyHistory, ("relation", "condition", "icd10_code", "status", "notes")),
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


def allergy_state_of_list(*, patient: Patient, allergies: Iterable[Allergy]) -> str:
    """The state, for a page that has read the patient's allergies already."""
    has_active = any(allergy.status == Allergy.Status.ACTIVE for allergy in allergies)
    statement = None if has_active else AllergyStatement.objects.filter(clinic_id=patient.clinic_id, patient=patient).first()
    return allergy_state_of(has_active_allergy=has_active, statement=statement)


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
        if value is None and not model._meta.get_field(field).null:
            value = ""  # "null" for a text field clears it (full_clean says if it may not be blank)
        setattr(item, field, value.strip() if isinstance(value, str) else value)
    _check_history_item(kind, item)
    item.full_clean(exclude=["clinic", "patient", "recorded_by"])
    item.save()
    if kind == "allergies":
        if item.status == Allergy.Status.ACTIVE:
            AllergyStatement.objects.filter(clinic_id=patient.clinic_id, patient=patient, no_known_allergies=True).update(
                no_known_allergies=False
            )
        forget_allergies(patient)
    return item


def _check_history_item(kind: str, item) -> None:
    """Each list's own rules: offline ICD-10 codes, dates in order."""
    if kind in ("conditions", "family-history") and item.icd10_code:
        item.icd10_code = icd10.normalize(item.icd10_code)
        if not icd10.is_valid(item.icd10_code):
            raise ValidationError({"icd10_code": f"Not an ICD-10 code: {item.icd10_code}."})
    if kind == "medications" and item.start_date and item.end_date and item.end_date < item.start_date:
        raise ValidationError({"end_date": "The end date is before the start date."})
    if kind == "immunizations" and item.given_on and item.next_due and item.next_due <= item.given_on:
        raise ValidationError({"next_due": "The next dose is due after this one."})


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
