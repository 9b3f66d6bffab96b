"""Reads of the clinical record that pages and the API share. Every read goes through the
patient's visibility (``patients_visible_to``): another clinic's id, or a patient outside
a restricted doctor's care team, is a 404."""

import datetime
from typing import Any

from django.db.models import Case, Count, Exists, F, OuterRef, Prefetch, Q, QuerySet, Subquery, Sum, When
from django.db.models.functions import Coalesce
from django.http import Http404
from django.urls import reverse
from django.utils import timezone

from clinical import services
from clinical.models import (
    Allergy,
    AllergyStatement,
    AllergyWarning,
    ClinicalNote,
    Condition,
    Dispensation,
    FormularyItem,
    LabOrder,
    LabOrderTest,
    LabResult,
    LabTest,
    Medication,
    Prescription,
    PrescriptionItem,
    Visit,
    VitalSigns,
)
from clinical.services import HISTORY_LISTS
from clinicos.models import Clinic, User
from clinicos.roles import Perm
from patients.alerts import Alert
from patients.identity import search_key
from patients.models import Patient
from patients.selectors import patients_visible_to
from patients.timeline import TimelineSource, register_source
from scheduling.models import RELEASED_STATUSES, Appointment, AppointmentStatus
from scheduling.selectors import with_waiting_time


def visit_get_for_user(*, user: User, clinic: Clinic, pk) -> Visit:
    visible = patients_visible_to(user=user, clinic=clinic).values("pk")
    visit = (
        Visit.objects.for_clinic(clinic)
        .select_related(
            *("patient__clinic", "patient__assigned_doctor__user", "patient__allergy_statement"),
            *("doctor__user", "appointment", "note", "clinic"),
        )
        .filter(pk=pk, patient__in=visible)
        .first()
    )
    if visit is None:
        raise Http404("No such visit.")
    return visit


def vitals_of_patient(*, patient: Patient) -> QuerySet[VitalSigns]:
    return (
        VitalSigns.objects.filter(clinic_id=patient.clinic_id, patient=patient)
        .select_related("recorded_by")
        .order_by("-recorded_at", "-id")
    )


def vitals_of_visit(*, visit: Visit) -> QuerySet[VitalSigns]:
    return VitalSigns.objects.filter(clinic_id=visit.clinic_id, visit=visit).select_related("recorded_by").order_by("-recorded_at", "-id")


def vitals_of_visit_and_latest(*, visit: Visit) -> tuple[list[VitalSigns], VitalSigns | None]:
    """The visit's vitals and the patient's latest (often one of them), in one query."""
    latest = vitals_of_patient(patient=visit.patient).values("pk")[:1]
    rows = list(vitals_of_patient(patient=visit.patient).filter(Q(visit=visit) | Q(pk__in=latest)))
    return [vitals for vitals in rows if vitals.visit_id == visit.pk], (rows[0] if rows else None)


def history_items(*, kind: str, patient: Patient) -> QuerySet:
    model, _fields = HISTORY_LISTS[kind]
    return model.objects.filter(clinic_id=patient.clinic_id, patient=patient).select_related("recorded_by")


def history_item_get(*, kind: str, patient: Patient, pk):
    model, _fields = HISTORY_LISTS[kind]
    item = model.objects.filter(clinic_id=patient.clinic_id, patient=patient, pk=pk).first()
    if item is None:
        raise Http404
    return item


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


def patient_summary(*, patient: Patient, last_vitals: VitalSigns | None | object = NOT_READ) -> dict:
    """The one-page summary: active problems, allergies, current medications, last
    vitals, recent visits and upcoming appointments (a fixed number of queries). A page
    that has read the last vitals already passes them."""
    clinic_id = patient.clinic_id
    allergies, state = active_allergies_and_state(patient=patient)
    return {
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
    register_source(
        TimelineSource(
            kind="visits",
            label="Visits",
            perm=Perm.CLINICAL_VIEW,
            rows=lambda patient: Visit.objects.filter(clinic_id=patient.clinic_id, patient=patient),
            date_field="started_at",
            describe=_describe_visits,
            order=10,
        )
    )
    register_source(
        TimelineSource(
            kind="vitals",
            label="Vital signs",
            perm=Perm.CLINICAL_VIEW,
            rows=lambda patient: VitalSigns.objects.filter(clinic_id=patient.clinic_id, patient=patient),
            date_field="recorded_at",
            describe=_describe_vitals,
            order=20,
        )
    )


# --- Prescriptions ---------------------------------------------------------------------------


def prescription_get_for_user(*, user: User, clinic: Clinic, pk) -> Prescription:
    visible = patients_visible_to(user=user, clinic=clinic).values("pk")
    prescription = (
        Prescription.objects.for_clinic(clinic)
        .select_related("patient", "visit", "doctor__user", "doctor__department", "clinic", "supersedes")
        .filter(pk=pk, patient__in=visible)
        .first()
    )
    if prescription is None:
        raise Http404("No such prescription.")
    return prescription


def prescription_items(prescription: Prescription) -> list[Any]:
    """The items with their warnings and what has been dispensed (``dispensed``, ``left``)."""
    items: list = list(
        prescription.items.select_related("formulary_item")
        .prefetch_related(Prefetch("warnings", queryset=AllergyWarning.objects.select_related("acknowledged_by")))
        .annotate(dispensed=Coalesce(Sum("dispensations__quantity"), 0))
        .order_by("position", "id")
    )
    for item in items:
        item.left = item.quantity - item.dispensed
    return items


def prescriptions_of_patient(*, patient: Patient) -> QuerySet[Prescription]:
    return (
        Prescription.objects.filter(clinic_id=patient.clinic_id, patient=patient)
        .select_related("doctor__user", "visit", "supersedes")
        .prefetch_related("items")
        .order_by("-created_at", "-id")
    )


def prescription_of_visit(*, visit: Visit) -> Prescription | None:
    """The visit's prescription being written, else its finalized one."""
    prescriptions = {
        p.status: p
        for p in Prescription.objects.filter(
            clinic_id=visit.clinic_id, visit=visit, status__in=[Prescription.Status.DRAFT, Prescription.Status.FINALIZED]
        ).select_related("doctor__user", "supersedes")
    }
    return prescriptions.get(Prescription.Status.DRAFT) or prescriptions.get(Prescription.Status.FINALIZED)


def pharmacy_worklist(*, clinic: Clinic, search: str = "") -> QuerySet[Prescription]:
    """Finalized prescriptions still valid, with something left to dispense, newest first."""
    today = timezone.localdate(timezone=clinic.tzinfo)
    dispensed = Dispensation.objects.filter(item__prescription=OuterRef("pk")).values("item__prescription").annotate(total=Sum("quantity"))
    prescribed = PrescriptionItem.objects.filter(prescription=OuterRef("pk")).values("prescription").annotate(total=Sum("quantity"))
    rows = (
        Prescription.objects.for_clinic(clinic)
        .filter(status=Prescription.Status.FINALIZED, valid_until__gte=today)
        .annotate(
            prescribed_total=Coalesce(Subquery(prescribed.values("total")), 0),
            dispensed_total=Coalesce(Subquery(dispensed.values("total")), 0),
        )
        .filter(prescribed_total__gt=F("dispensed_total"))
        .select_related("patient", "doctor__user")
        .prefetch_related("items")
        .order_by("-finalized_at", "-id")
    )
    search = search.strip()
    if search:
        rows = rows.filter(
            Q(reference__iexact=search) | Q(patient__uhid__iexact=search) | Q(patient__search_name__startswith=search_key(search))
        )
    return rows


def current_prescribed_medicines(*, patient: Patient) -> list[PrescriptionItem]:
    """The items of the patient's valid finalized prescriptions: the current medications
    prescribed here (beside those recorded in the history list)."""
    today = timezone.localdate(timezone=patient.clinic.tzinfo)
    return list(
        PrescriptionItem.objects.filter(
            clinic_id=patient.clinic_id,
            prescription__patient=patient,
            prescription__status=Prescription.Status.FINALIZED,
            prescription__valid_until__gte=today,
        )
        .select_related("prescription")
        .order_by("medicine")
    )


# --- Lab orders and results -------------------------------------------------------------------


def lab_order_get_for_user(*, user: User, clinic: Clinic, pk) -> LabOrder:
    visible = patients_visible_to(user=user, clinic=clinic).values("pk")
    order = (
        LabOrder.objects.for_clinic(clinic)
        .select_related("patient", "visit", "ordering_doctor__user", "clinic", "reviewed_by", "cancelled_by")
        .filter(pk=pk, patient__in=visible)
        .first()
    )
    if order is None:
        raise Http404("No such lab order.")
    return order


def lab_result_get_for_user(*, user: User, clinic: Clinic, pk) -> LabResult:
    visible = patients_visible_to(user=user, clinic=clinic).values("pk")
    result = (
        LabResult.objects.for_clinic(clinic)
        .select_related("lab_test", "order_test__order__patient", "order_test__order__ordering_doctor__user", "patient")
        .filter(pk=pk, patient__in=visible)
        .first()
    )
    if result is None:
        raise Http404("No such lab result.")
    return result


def lab_order_tests(order: LabOrder) -> list[LabOrderTest]:
    """The order's tests, each with ``current`` (its current result or None) and
    ``versions`` (every result, newest first)."""
    tests = list(
        LabOrderTest.objects.filter(order=order)
        .select_related("lab_test")
        .prefetch_related(
            Prefetch("results", queryset=LabResult.objects.select_related("entered_by", "acknowledged_by").order_by("-version"))
        )
        .order_by("id")
    )
    for test in tests:
        versions = list(test.results.all())
        test.versions = versions
        test.current = next((r for r in versions if r.is_current), None)
    return tests


def lab_orders_for_worklist(*, clinic: Clinic, status: str | None = None) -> QuerySet[LabOrder]:
    rows = (
        LabOrder.objects.for_clinic(clinic)
        .select_related("patient", "ordering_doctor__user")
        .prefetch_related(Prefetch("tests", queryset=LabOrderTest.objects.select_related("lab_test")))
    )
    if status:
        rows = rows.filter(status=status)
    else:
        rows = rows.exclude(status__in=[LabOrder.Status.COMPLETED, LabOrder.Status.CANCELLED])
    # Urgent first, then the oldest (the one waiting longest).
    return rows.order_by(Case(When(urgency=LabOrder.Urgency.URGENT, then=0), default=1), "ordered_at", "id")


def lab_order_counts(*, clinic: Clinic) -> dict[str, int]:
    rows = LabOrder.objects.for_clinic(clinic).values("status").annotate(n=Count("id"))
    counts = {status: 0 for status in LabOrder.Status.values}
    counts.update({row["status"]: row["n"] for row in rows})
    return counts


def lab_orders_of_patient(*, patient: Patient) -> QuerySet[LabOrder]:
    return (
        LabOrder.objects.filter(clinic_id=patient.clinic_id, patient=patient)
        .select_related("ordering_doctor__user", "visit")
        .prefetch_related(
            Prefetch("tests", queryset=LabOrderTest.objects.select_related("lab_test")),
            Prefetch("tests__results", queryset=LabResult.objects.filter(is_current=True), to_attr="current_results"),
        )
        .order_by("-ordered_at", "-id")
    )


def critical_results(*, clinic: Clinic, user: User, acknowledged: bool | None = False) -> QuerySet[LabResult]:
    visible = patients_visible_to(user=user, clinic=clinic).values("pk")
    rows = (
        LabResult.objects.for_clinic(clinic)
        .filter(is_current=True, flag__in=services.CRITICAL_FLAGS, patient__in=visible)
        .select_related("lab_test", "patient", "order_test__order__ordering_doctor__user", "acknowledged_by")
    )
    if acknowledged is not None:
        rows = rows.filter(acknowledged_at__isnull=not acknowledged)
    return rows.order_by("-entered_at", "-id")


def results_to_review(*, clinic: Clinic, user: User) -> QuerySet[LabOrder]:
    """Completed orders of this doctor's not yet signed off."""
    return (
        LabOrder.objects.for_clinic(clinic)
        .filter(status=LabOrder.Status.COMPLETED, reviewed_at__isnull=True, ordering_doctor__user=user)
        .select_related("patient", "ordering_doctor__user")
        .order_by("completed_at", "id")
    )


def lab_catalog(*, clinic: Clinic, include_inactive: bool = False) -> QuerySet[LabTest]:
    rows = LabTest.objects.for_clinic(clinic).prefetch_related("ranges").order_by("name")
    return rows if include_inactive else rows.filter(is_active=True)


def formulary(*, clinic: Clinic, include_inactive: bool = False) -> QuerySet[FormularyItem]:
    rows = FormularyItem.objects.for_clinic(clinic).order_by("generic_name", "strength")
    return rows if include_inactive else rows.filter(is_active=True)


def result_trends(*, patient: Patient) -> dict[LabTest, list[LabResult]]:
    """Every test's current results for the patient, oldest first (one query)."""
    rows = (
        LabResult.objects.filter(clinic_id=patient.clinic_id, patient=patient, is_current=True)
        .select_related("lab_test")
        .order_by("lab_test__name", "entered_at", "id")
    )
    trends: dict[LabTest, list[LabResult]] = {}
    for result in rows:
        trends.setdefault(result.lab_test, []).append(result)
    return trends


def _describe_prescriptions(patient: Patient, pks: list[int]) -> dict[int, tuple[str, str, str]]:
    rows = (
        Prescription.objects.filter(clinic_id=patient.clinic_id, pk__in=pks)
        .select_related("doctor__user", "clinic")
        .prefetch_related("items")
    )
    described = {}
    for prescription in rows:
        medicines = ", ".join(f"{item.medicine} {item.dosage}" for item in prescription.items.all())
        title = f"Prescription {prescription.reference} by {prescription.doctor} — {prescription.get_status_display()}"
        described[prescription.pk] = (
            title,
            medicines[:300],
            reverse("prescription_detail", args=[prescription.clinic.code, prescription.pk]),
        )
    return described


def _describe_lab_orders(patient: Patient, pks: list[int]) -> dict[int, tuple[str, str, str]]:
    rows = (
        LabOrder.objects.filter(clinic_id=patient.clinic_id, pk__in=pks)
        .select_related("ordering_doctor__user", "clinic")
        .prefetch_related(
            Prefetch("tests", queryset=LabOrderTest.objects.select_related("lab_test")),
            Prefetch("tests__results", queryset=LabResult.objects.filter(is_current=True), to_attr="current_results"),
        )
    )
    described = {}
    for order in rows:
        parts = []
        for test in order.tests.all():
            result = test.current_results[0] if test.current_results else None
            shown = f"{result.value_display} {result.unit}".strip() if result else "pending"
            flag = f" ({result.get_flag_display().lower()})" if result and result.flag not in ("", LabResult.Flag.NORMAL) else ""
            parts.append(f"{test.lab_test.code} {shown}{flag}")
        title = f"Lab order {order.reference} — {order.get_status_display()}"
        described[order.pk] = (title, " · ".join(parts)[:300], reverse("lab_order_detail", args=[order.clinic.code, order.pk]))
    return described


def register_order_timeline_sources() -> None:
    register_source(
        TimelineSource(
            kind="prescriptions",
            label="Prescriptions",
            perm=Perm.PRESCRIPTIONS_VIEW,
            rows=lambda patient: Prescription.objects.filter(clinic_id=patient.clinic_id, patient=patient),
            date_field="created_at",
            describe=_describe_prescriptions,
            order=25,
        )
    )
    register_source(
        TimelineSource(
            kind="lab_orders",
            label="Lab orders",
            perm=Perm.LAB_ORDERS_VIEW,
            rows=lambda patient: LabOrder.objects.filter(clinic_id=patient.clinic_id, patient=patient),
            date_field="ordered_at",
            describe=_describe_lab_orders,
            order=27,
        )
    )


# --- Dashboards ---------------------------------------------------------------------------------

DASHBOARD_LIST = 5
OPEN_LAB_STATUSES = (LabOrder.Status.ORDERED, LabOrder.Status.SAMPLE_COLLECTED, LabOrder.Status.IN_PROGRESS)


def doctor_clinical_day(*, clinic: Clinic, user: User) -> dict:
    """What waits for a doctor besides patients: results to sign off, critical results not
    yet acknowledged, and their visits whose note is still open — six queries."""
    to_review = results_to_review(clinic=clinic, user=user)
    critical = critical_results(clinic=clinic, user=user, acknowledged=False)
    open_visits = (
        Visit.objects.for_clinic(clinic)
        .filter(doctor__user=user, status=Visit.Status.IN_PROGRESS)
        .select_related("patient")
        .order_by("started_at", "id")
    )
    return {
        "to_review_count": to_review.count(),
        "to_review": list(to_review[:DASHBOARD_LIST]),
        "critical_count": critical.count(),
        "critical": list(critical[:DASHBOARD_LIST]),
        "open_visits_count": open_visits.count(),
        "open_visits": list(open_visits[:DASHBOARD_LIST]),
    }


def waiting_for_vitals(*, clinic: Clinic) -> QuerySet[Appointment]:
    """Checked-in patients with no vital signs recorded since they checked in (the nurse's
    queue), longest waiting first."""
    recorded = VitalSigns.objects.filter(clinic=clinic, patient=OuterRef("patient"), recorded_at__gte=OuterRef("checked_in_at"))
    return (
        Appointment.objects.for_clinic(clinic)
        .filter(status=AppointmentStatus.CHECKED_IN, patient__isnull=False)
        .exclude(Exists(recorded))
        .select_related("patient", "doctor__user")
        .order_by("checked_in_at", "starts_at")
    )


def nurse_day(*, clinic: Clinic) -> dict:
    waiting = waiting_for_vitals(clinic=clinic)
    rows = with_waiting_time(waiting[:DASHBOARD_LIST])
    count = waiting.count()
    today = clinic.today()
    start = timezone.make_aware(datetime.datetime.combine(today, datetime.time.min), clinic.tzinfo)
    return {
        "count": count,
        "waiting": rows,
        "more": count - len(rows),
        "checked_in": Appointment.objects.for_clinic(clinic).filter(status=AppointmentStatus.CHECKED_IN).count(),
        "vitals_today": VitalSigns.objects.for_clinic(clinic).filter(recorded_at__gte=start).count(),
    }


def lab_day(*, clinic: Clinic) -> dict:
    """The lab's worklist by status, how many open orders are urgent, the oldest open ones."""
    counts = lab_order_counts(clinic=clinic)
    open_orders = LabOrder.objects.for_clinic(clinic).filter(status__in=OPEN_LAB_STATUSES)
    return {
        "by_status": [(status, label, counts[status]) for status, label in LabOrder.Status.choices if status in OPEN_LAB_STATUSES],
        "open_count": sum(counts[status] for status in OPEN_LAB_STATUSES),
        "urgent_count": open_orders.filter(urgency=LabOrder.Urgency.URGENT).count(),
        "oldest": list(open_orders.select_related("patient").order_by("-urgency", "ordered_at", "id")[:DASHBOARD_LIST]),
    }


def pharmacy_day(*, clinic: Clinic) -> dict:
    to_dispense = pharmacy_worklist(clinic=clinic)
    return {"count": to_dispense.count(), "newest": list(to_dispense.prefetch_related(None)[:DASHBOARD_LIST])}


def follow_ups_due(*, clinic: Clinic, within_days: int = 7) -> QuerySet[ClinicalNote]:
    """Follow-ups a doctor asked for, due within a week (or overdue), not booked yet: the
    front desk calls these patients. Only the date and the doctor: no clinical content."""
    today = clinic.today()
    return (
        ClinicalNote.objects.for_clinic(clinic)
        .filter(
            follow_up_required=True, follow_up_appointment__isnull=True, follow_up_date__lte=today + datetime.timedelta(days=within_days)
        )
        .filter(visit__status=Visit.Status.COMPLETED)
        .select_related("visit__patient", "visit__doctor__user")
        .order_by("follow_up_date", "id")
    )


def front_desk_follow_ups(*, clinic: Clinic) -> dict:
    due = follow_ups_due(clinic=clinic)
    today = clinic.today()
    return {"today": today, "count": due.count(), "due": list(due[:DASHBOARD_LIST])}
