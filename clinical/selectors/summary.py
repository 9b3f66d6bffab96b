"""The chart's banner alert, the one-page summary and the timeline's clinical sources."""

from django.urls import reverse
from django.utils import timezone

from clinical import services
from clinical.models import (
    Allergy,
    AllergyStatement,
    Condition,
    FamilyHistory,
    Medication,
    Visit,
    VitalSigns,
)
from clinical.selectors.prescriptions import current_prescribed_medicines
from clinical.selectors.visits import vitals_of_patient
from clinicos.roles import Perm
from patients.alerts import Alert
from patients.models import Patient
from patients.timeline import register_rows_of
from scheduling.models import RELEASED_STATUSES, Appointment, AppointmentStatus

# --- The banner's allergy alert, the summary and the timeline ---------------------------------


def active_allergies_and_state(*, patient: Patient) -> tuple[list[Allergy], str]:
    """The active allergies and the list's state: one query (two when the statement was
    not loaded with the patient), kept on the patient object for the rest of the request,
    since the banner and the summary both show them. The services that change the list
    drop it (``services.forget_allergies``)."""
    if services.ALLERGIES_MEMO not in patient.__dict__:
        allergies = list(
            Allergy.objects.filter(clinic_id=patient.clinic_id, patient=patient, status=Allergy.Status.ACTIVE).order_by("substance")
        )
        statement = None
        if not allergies:
            if Patient.allergy_statement.is_cached(patient):
                statement = getattr(patient, "allergy_statement", None)
            else:
                statement = AllergyStatement.objects.filter(clinic_id=patient.clinic_id, patient=patient).first()
        patient.__dict__[services.ALLERGIES_MEMO] = (
            allergies,
            services.allergy_state_of(has_active_allergy=bool(allergies), statement=statement),
        )
    return patient.__dict__[services.ALLERGIES_MEMO]


def allergy_alerts(patient: Patient) -> list[Alert]:
    """Red band with the active allergies; amber when nobody has asked yet."""
    allergies, state = active_allergies_and_state(patient=patient)
    if state == services.AllergyState.HAS_ALLERGIES:
        listed = "; ".join(
            f"{a.substance} ({a.get_severity_display().lower()}{', ' + a.reaction if a.reaction else ''})" for a in allergies
        )
        return [Alert("danger", f"Allergies: {listed}")]
    if state == services.AllergyState.NO_KNOWN_ALLERGIES:
        return [Alert("ok", "No known allergies")]
    return [Alert("warning", "Allergies unknown: ask and record them")]


SUMMARY_RECENT_VISITS = 5
NOT_READ = object()
SUMMARY_UPCOMING = 5


def patient_summary(*, patient: Patient, last_vitals: VitalSigns | None | object = NOT_READ, family: bool = False) -> dict:
    """The one-page summary: active problems, allergies, current medications, last
    vitals, recent visits and upcoming appointments (a fixed number of queries), and with
    ``family`` the family history (the chart's summary and its PDF; the visit page's side
    panel leaves it out). A page that has read the last vitals already passes them."""
    clinic_id = patient.clinic_id
    allergies, state = active_allergies_and_state(patient=patient)
    return {
        "family_history": list(
            FamilyHistory.objects.filter(clinic_id=clinic_id, patient=patient, status=FamilyHistory.Status.ACTIVE).order_by("relation")
        )
        if family
        else None,
        "allergy_status": state,
        "allergies": allergies,
        "problems": list(Condition.objects.filter(clinic_id=clinic_id, patient=patient, status=Condition.Status.ACTIVE).order_by("name")),
        "medications": list(
            Medication.objects.filter(clinic_id=clinic_id, patient=patient, status=Medication.Status.ACTIVE).order_by("name")
        ),
        # The active items of valid finalized prescriptions are current medications too.
        "prescribed": current_prescribed_medicines(patient=patient),
        "last_vitals": vitals_of_patient(patient=patient).first() if last_vitals is NOT_READ else last_vitals,
        "recent_visits": list(
            Visit.objects.filter(clinic_id=clinic_id, patient=patient)
            .select_related("doctor__user", "note")
            .order_by("-started_at", "-id")[:SUMMARY_RECENT_VISITS]
        ),
        "upcoming_appointments": list(
            Appointment.objects.filter(clinic_id=clinic_id, patient=patient, starts_at__gte=timezone.now())
            .exclude(status__in=[*RELEASED_STATUSES, AppointmentStatus.IN_PROGRESS, AppointmentStatus.COMPLETED])
            .select_related("doctor__user")
            .order_by("starts_at")[:SUMMARY_UPCOMING]
        ),
    }


def _describe_visits(patient: Patient, pks: list[int]) -> dict[int, tuple[str, str, str]]:
    visits = Visit.objects.filter(clinic_id=patient.clinic_id, pk__in=pks).select_related("doctor__user", "note", "clinic")
    described = {}
    for visit in visits:
        note = getattr(visit, "note", None)
        detail = " · ".join(part for part in [note.chief_complaint if note else "", note.assessment if note else ""] if part)
        title = f"Visit {visit.reference} with {visit.doctor} — {visit.get_status_display()}"
        described[visit.pk] = (title, detail[:300], reverse("visit_detail", args=[visit.clinic.code, visit.pk]))
    return described


def vitals_summary_line(vitals: VitalSigns) -> str:
    parts = []
    if vitals.systolic_bp:
        parts.append(f"BP {vitals.systolic_bp}/{vitals.diastolic_bp}")
    if vitals.pulse_rate:
        parts.append(f"pulse {vitals.pulse_rate}")
    if vitals.temperature_celsius:
        parts.append(f"{vitals.temperature_celsius} °C")
    if vitals.oxygen_saturation:
        parts.append(f"SpO₂ {vitals.oxygen_saturation} %")
    if vitals.weight_kg:
        parts.append(f"{vitals.weight_kg.normalize():f} kg")
    if vitals.bmi:
        parts.append(f"BMI {vitals.bmi} ({vitals.get_bmi_category_display().lower()})")
    return " · ".join(parts)


def _describe_vitals(patient: Patient, pks: list[int]) -> dict[int, tuple[str, str, str]]:
    rows = VitalSigns.objects.filter(clinic_id=patient.clinic_id, pk__in=pks).select_related("recorded_by")
    return {v.pk: (f"Vital signs by {v.recorded_by.full_name or v.recorded_by.email}", vitals_summary_line(v), "") for v in rows}


def register_timeline_sources() -> None:
    register_rows_of(Visit, "visits", "Visits", Perm.CLINICAL_VIEW, "started_at", _describe_visits, order=10)
    register_rows_of(VitalSigns, "vitals", "Vital signs", Perm.CLINICAL_VIEW, "recorded_at", _describe_vitals, order=20)
