"""Reads of lab orders and results: worklists, critical results, trends, the catalog and the
formulary."""

from django.db.models import Case, Count, Prefetch, QuerySet, When
from django.http import Http404
from django.urls import reverse

from clinical import services
from clinical.models import (
    FormularyItem,
    LabOrder,
    LabOrderTest,
    LabResult,
    LabTest,
    Prescription,
)
from clinicos.models import Clinic, User
from clinicos.roles import Perm
from patients.models import Patient
from patients.selectors import patients_visible_to
from patients.timeline import register_rows_of

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


def result_is_reported(test: LabOrderTest) -> bool:
    """Whether a test (from ``lab_order_tests``) has a final or amended result to report."""
    current = getattr(test, "current", None)
    return current is not None and current.status != LabResult.Status.PRELIMINARY


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
    register_rows_of(
        Prescription, "prescriptions", "Prescriptions", Perm.PRESCRIPTIONS_VIEW, "created_at", _describe_prescriptions, order=25
    )
    register_rows_of(LabOrder, "lab_orders", "Lab orders", Perm.LAB_ORDERS_VIEW, "ordered_at", _describe_lab_orders, order=27)
