"""Vital signs: the specs' ranges, whole numbers and decimal places, and BMI computed on the
server with the clinic's WHO or Asian cut-offs."""

from decimal import ROUND_HALF_UP, Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from clinical.inputs import VitalsInput
from clinical.models import (
    Visit,
    VitalSigns,
)
from clinicos.models import User
from clinicos.text import check_no_nul
from patients.models import Patient

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


def _clean_measurement(field: str, value: Decimal | None) -> Decimal | int | None:
    """One measurement within the specs' range, rounded to its places (None when not taken)."""
    if value is None:
        return None
    low, high, unit = VITAL_RANGES[field]
    if field in WHOLE_NUMBERS and value != value.to_integral_value():
        raise ValidationError("Enter a whole number.")
    if not low <= value <= high:
        raise ValidationError(f"Must be between {low.normalize():f} and {high.normalize():f} {unit}.")
    return int(value) if field in WHOLE_NUMBERS else value.quantize(VITAL_PLACES[field], rounding=ROUND_HALF_UP)


def _blood_pressure_errors(cleaned: dict, errors: dict[str, str]) -> dict[str, str]:
    """Both values or neither, and the diastolic below the systolic."""
    systolic, diastolic = cleaned.get("systolic_bp"), cleaned.get("diastolic_bp")
    if systolic is not None and diastolic is not None and systolic <= diastolic:
        return {"diastolic_bp": "The diastolic pressure must be lower than the systolic."}
    if (systolic is None) != (diastolic is None) and "systolic_bp" not in errors and "diastolic_bp" not in errors:
        return {"systolic_bp" if systolic is None else "diastolic_bp": "Record both blood pressure values."}
    return {}


def _clean_vitals(vitals: VitalsInput) -> dict:
    errors: dict[str, str] = {}
    cleaned: dict = {}
    for field, value in vitals.measurements().items():
        try:
            cleaned[field] = _clean_measurement(field, value)
        except ValidationError as error:
            errors[field] = " ".join(error.messages)
    errors.update(_blood_pressure_errors(cleaned, errors))
    if not errors and all(value is None for value in cleaned.values()):
        errors["__all__"] = "Record at least one measurement."
    if errors:
        raise ValidationError(errors)
    check_no_nul(notes=vitals.notes)
    cleaned["notes"] = vitals.notes
    return cleaned


@transaction.atomic
def vitals_record(*, patient: Patient, user: User, vitals: VitalsInput, visit: Visit | None = None) -> VitalSigns:
    """Record a set of vital signs (nurses and doctors); BMI from weight and height."""
    if visit is not None and visit.patient_id != patient.pk:
        raise ValidationError({"visit_id": "This visit is another patient's."})
    cleaned = _clean_vitals(vitals)
    row = VitalSigns(clinic=patient.clinic, patient=patient, visit=visit, recorded_by=user, recorded_at=timezone.now(), **cleaned)
    if row.weight_kg and row.height_cm:
        row.bmi = bmi_of(row.weight_kg, row.height_cm)
        row.bmi_category = bmi_category(row.bmi, asian=patient.clinic.bmi_asian_cutoffs)
    row.save()
    return row
