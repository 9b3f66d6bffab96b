"""A patient's records as the clinic makes them (through the services): a finalized
prescription and a draft correction, a completed lab order with a final result and an open
one, an issued and part-paid invoice and a draft, a shared and an unshared document."""

from dataclasses import dataclass
from decimal import Decimal

from django.core.files.uploadedfile import SimpleUploadedFile

from billing import services as billing_services
from billing.inputs import invoice_lines_parse
from billing.models import Invoice, Payment
from clinical import services as clinical_services
from clinical.inputs import LabResultInput
from clinical.models import LabOrder, LabOrderTest, Prescription
from patients import services as patient_services
from patients.models import Document, Patient
from patients.tests.factories import MINIMAL_PDF

FOLIC_ACID = {"medicine": "Folic acid", "dosage": "5 mg", "frequency": "Once a day", "duration": "30 days", "quantity": 30}


@dataclass
class Records:
    prescription: Prescription
    draft_prescription: Prescription
    lab_order: LabOrder
    open_lab_order: LabOrder
    invoice: Invoice
    draft_invoice: Invoice
    payment: Payment
    shared_document: Document
    private_document: Document


def make_records(patient: Patient, *, doctor, lab_user, desk_user, catalog) -> Records:
    clinic = patient.clinic
    visit = clinical_services.visit_start(clinic=clinic, user=doctor.user, patient=patient)
    clinical_services.no_known_allergies_record(patient=patient, user=doctor.user)
    prescription = clinical_services.prescription_create(visit=visit, user=doctor.user, items=[FOLIC_ACID])
    clinical_services.prescription_finalize(prescription=prescription, user=doctor.user)
    draft = clinical_services.prescription_create(visit=visit, user=doctor.user, items=[FOLIC_ACID], supersedes=prescription)

    order = clinical_services.lab_order_create(patient=patient, user=doctor.user, lab_tests=[catalog["TSH"]], visit=visit)
    clinical_services.lab_order_set_status(order=order, user=lab_user, to_status="sample_collected")
    order_test = LabOrderTest.objects.get(order=order)
    clinical_services.lab_results_enter(
        order=order, user=lab_user, results=[LabResultInput.of(test_id=order_test.pk, value="7.9", final=True)]
    )
    open_order = clinical_services.lab_order_create(patient=patient, user=doctor.user, lab_tests=[catalog["PRL"]], visit=visit)

    line = {"description": "Consultation", "quantity": 1, "unit_price": "800.00"}
    invoice = billing_services.invoice_create(clinic=clinic, user=desk_user, patient=patient, lines=invoice_lines_parse([line]))
    invoice = billing_services.invoice_issue(invoice=invoice, user=desk_user)
    payment = billing_services.payment_record(invoice=invoice, user=desk_user, amount=Decimal("300.00"), method="cash")
    draft_invoice = billing_services.invoice_create(clinic=clinic, user=desk_user, patient=patient, lines=invoice_lines_parse([line]))

    def upload(name):
        file = SimpleUploadedFile(f"{name}.pdf", MINIMAL_PDF, content_type="application/pdf")
        return patient_services.document_upload(patient=patient, user=desk_user, upload=file, name=name, document_type="other")

    shared = upload(f"Care advice for {patient.first_name}")
    Document.objects.filter(pk=shared.pk).update(shared_with_patient=True)
    private = upload(f"Internal referral for {patient.first_name}")
    return Records(
        prescription=prescription,
        draft_prescription=draft,
        lab_order=LabOrder.objects.get(pk=order.pk),
        open_lab_order=open_order,
        invoice=Invoice.objects.get(pk=invoice.pk),
        draft_invoice=draft_invoice,
        payment=payment,
        shared_document=shared,
        private_document=private,
    )
