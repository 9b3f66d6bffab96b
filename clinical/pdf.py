"""Printable clinical documents, made with WeasyPrint from HTML templates: the patient's
one-page summary (the Orders issue adds prescriptions). The clinic's letterhead on top."""

from django.template.loader import render_to_string
from django.utils import timezone
from weasyprint import HTML

from clinicos.models import User
from clinicos.tax import tax_id_label
from clinicos.uploads import image_data_uri
from patients.models import Patient


def letterhead_context(clinic) -> dict:
    return {
        "clinic": clinic,
        "logo_uri": image_data_uri(clinic.logo, clinic.logo_content_type),
        "tax_id_label": tax_id_label(clinic.country),
    }


def render_pdf(template: str, context: dict) -> bytes:
    html = render_to_string(template, context)
    # No base URL: the documents hold everything they show (images as data: URIs), so
    # WeasyPrint never fetches anything.
    return HTML(string=html).write_pdf()


def summary_pdf(*, patient: Patient, summary: dict, printed_by: User) -> bytes:
    clinic = patient.clinic
    context = {
        **letterhead_context(clinic),
        "patient": patient,
        "summary": summary,
        "printed_at": timezone.localtime(timezone.now(), clinic.tzinfo),
        "printed_by": printed_by,
    }
    return render_pdf("clinical/summary_pdf.html", context)
