"""What a portal identity may read, across its clinics: finalized prescriptions, completed
lab orders' final results, issued invoices and their receipts, documents the clinic shared.
Never a note, never a draft. Every reader filters on the identity's own charts first, so
another patient's id finds nothing (404)."""

from collections import defaultdict
from decimal import Decimal

from django.db.models import Prefetch

from billing.models import DepositApplication, Invoice, Payment
from clinical.models import LabOrder, LabResult, Prescription, PrescriptionItem
from clinicos.scoping import scopes_disabled
from patients.models import Document, Patient
from portal.services import PortalIdentity, patients_of

FINAL_RESULT_STATUSES = (LabResult.Status.FINAL, LabResult.Status.AMENDED)
VISIBLE_INVOICE_STATUSES = (Invoice.Status.ISSUED, Invoice.Status.PARTIALLY_PAID, Invoice.Status.PAID, Invoice.Status.CANCELLED)


def _chart_ids(identity: PortalIdentity, patient: Patient | None = None) -> list[int]:
    ids = [chart.pk for chart in patients_of(identity)]
    if patient is not None:
        return [patient.pk] if patient.pk in ids else []
    return ids


def prescriptions(identity: PortalIdentity, patient: Patient | None = None):
    with scopes_disabled():
        return (
            Prescription.objects.filter(patient_id__in=_chart_ids(identity, patient), status=Prescription.Status.FINALIZED)
            .select_related("clinic", "patient", "doctor__user")
            .prefetch_related(Prefetch("items", queryset=PrescriptionItem.objects.order_by("position", "id")))
            .order_by("-finalized_at", "-id")
        )


def prescription(identity: PortalIdentity, prescription_id: int) -> Prescription:
    with scopes_disabled():
        return prescriptions(identity).get(pk=prescription_id)


def lab_orders(identity: PortalIdentity, patient: Patient | None = None):
    """Completed orders with their current, final results (each with the range that applied
    and its flag)."""
    with scopes_disabled():
        final_results = (
            LabResult.objects.filter(is_current=True, status__in=FINAL_RESULT_STATUSES)
            .select_related("lab_test")
            .order_by("lab_test__name", "id")
        )
        orders = list(
            LabOrder.objects.filter(patient_id__in=_chart_ids(identity, patient), status=LabOrder.Status.COMPLETED)
            .select_related("clinic", "patient", "ordering_doctor__user")
            .order_by("-completed_at", "-id")
        )
        results_by_order = defaultdict(list)
        for result in final_results.filter(order_test__order__in=orders).select_related("order_test"):
            results_by_order[result.order_test.order_id].append(result)
    for order in orders:
        order.final_results = results_by_order.get(order.pk, [])
    return orders


def lab_order(identity: PortalIdentity, order_id: int) -> LabOrder:
    for order in lab_orders(identity):
        if order.pk == order_id:
            return order
    raise LabOrder.DoesNotExist


def invoices(identity: PortalIdentity, patient: Patient | None = None):
    with scopes_disabled():
        return (
            Invoice.objects.filter(patient_id__in=_chart_ids(identity, patient), status__in=VISIBLE_INVOICE_STATUSES)
            .select_related("clinic", "patient")
            .prefetch_related(
                Prefetch("payments", queryset=Payment.objects.filter(kind=Payment.Kind.PAYMENT).order_by("received_at", "id")),
                # What was paid from a deposit counts in "paid": the bill lists it too.
                Prefetch(
                    "deposit_applications",
                    queryset=DepositApplication.objects.filter(released_at__isnull=True)
                    .select_related("deposit")
                    .order_by("applied_at", "id"),
                ),
            )
            .order_by("-issue_date", "-id")
        )


def still_to_pay(invoices) -> Decimal:
    """What the patient owes on these invoices (a cancelled one owes nothing)."""
    return sum((invoice.balance_due for invoice in invoices if invoice.status != Invoice.Status.CANCELLED), start=Decimal("0.00"))


def invoice(identity: PortalIdentity, invoice_id: int) -> Invoice:
    with scopes_disabled():
        return invoices(identity).get(pk=invoice_id)


def receipt(identity: PortalIdentity, payment_id: int) -> Payment:
    with scopes_disabled():
        return (
            Payment.objects.filter(patient_id__in=_chart_ids(identity), kind__in=(Payment.Kind.PAYMENT, Payment.Kind.DEPOSIT))
            .select_related("clinic", "patient", "invoice")
            .get(pk=payment_id)
        )


def documents(identity: PortalIdentity, patient: Patient | None = None):
    with scopes_disabled():
        return (
            Document.objects.filter(patient_id__in=_chart_ids(identity, patient), shared_with_patient=True, is_deleted=False)
            .select_related("clinic", "patient")
            .order_by("-uploaded_at", "-id")
        )


def document(identity: PortalIdentity, document_id: int) -> Document:
    with scopes_disabled():
        return documents(identity).get(pk=document_id)
