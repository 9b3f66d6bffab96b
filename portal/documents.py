"""The files a patient downloads from the portal: the same PDFs the clinic prints, and the
files it shared, streamed after the portal's own check (the caller looked them up through
``portal.selectors``, which only finds the identity's own). Each PDF is made inside the
scope of the clinic the document belongs to, as the clinic's own page makes it."""

from dataclasses import dataclass

from django.http import FileResponse, Http404, HttpResponse

from billing import pdf as billing_pdf
from billing.models import Invoice, Payment
from clinical import pdf as clinical_pdf
from clinical import selectors as clinical_selectors
from clinical.models import LabOrder, Prescription
from clinicos.downloads import pdf_response
from clinicos.scoping import scope
from patients.models import Document


@dataclass(frozen=True)
class PortalReader:
    """Who printed a PDF, as its footer says, when the patient downloaded it."""

    full_name: str = "the patient, from the portal"
    email: str = ""


READER = PortalReader()


def _file(field, *, filename: str, content_type: str, inline: bool = True) -> FileResponse:
    response = FileResponse(field.open("rb"), as_attachment=not inline, filename=filename, content_type=content_type)
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def prescription_pdf(request, prescription: Prescription) -> HttpResponse:
    with scope(clinic=prescription.clinic):
        content = clinical_pdf.prescription_pdf(
            prescription=prescription,
            items=clinical_selectors.prescription_items(prescription),
            verify_url=clinical_pdf.prescription_verify_url(request, prescription),
            printed_by=READER,  # type: ignore[arg-type]
        )
    return pdf_response(content, f"{prescription.reference}.pdf")


def invoice_pdf(invoice: Invoice) -> HttpResponse:
    with scope(clinic=invoice.clinic):
        content = billing_pdf.invoice_pdf(invoice=invoice, printed_by=READER)  # type: ignore[arg-type]
    return billing_pdf.pdf_response(content, invoice.number)


def receipt_pdf(payment: Payment) -> HttpResponse:
    with scope(clinic=payment.clinic):
        content = billing_pdf.receipt_pdf(payment=payment, printed_by=READER)  # type: ignore[arg-type]
    return billing_pdf.pdf_response(content, payment.receipt_number)


def lab_report(order: LabOrder) -> FileResponse:
    if not order.report_file or order.report_removed_at is not None:
        raise Http404
    return _file(order.report_file, filename=order.report_file_name, content_type=order.report_content_type)


def shared_document(document: Document) -> FileResponse:
    return _file(document.file, filename=document.original_name, content_type=document.content_type)
