"""Printable clinical documents, made with WeasyPrint from HTML templates: the patient's
one-page summary, prescriptions (A5) and lab requisitions. The clinic's letterhead on top."""

import segno
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from weasyprint import HTML

from clinical.models import Allergy, ClinicalNote, LabOrder, Prescription
from clinicos.audit import record_read
from clinicos.errors import Conflict
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


def _qr_data_uri(url: str) -> str:
    return segno.make(url, error="m").svg_data_uri(scale=3, border=1)


def prescription_verify_url(request, prescription: Prescription) -> str:
    return request.build_absolute_uri(reverse("prescription_verify", args=[prescription.verification_token]))


def prescription_pdf(*, prescription: Prescription, items, verify_url: str, printed_by: User) -> bytes:
    """A5, with the letterhead; what India's IMC Regulations 2002 (§1.4.1 registration
    number, §1.5 generic names in capitals) and, for UK clinics, the Human Medicines
    Regulations 2012 reg. 217 (prescriber's and patient's addresses) ask for."""
    clinic = prescription.clinic
    patient = prescription.patient
    issued = prescription.finalized_at or prescription.created_at
    context = {
        **letterhead_context(clinic),
        "prescription": prescription,
        "items": items,
        "patient": patient,
        "age": patient.age_on(timezone.localdate(issued, timezone=clinic.tzinfo)),
        "doctor": prescription.doctor,
        "signature_uri": image_data_uri(prescription.doctor.signature, prescription.doctor.signature_content_type),
        "issued_at": timezone.localtime(issued, clinic.tzinfo),
        "uk": clinic.country == "GB",
        **_prescription_safety(prescription),
        "qr_uri": _qr_data_uri(verify_url),
        "verify_url": verify_url,
        "printed_at": timezone.localtime(timezone.now(), clinic.tzinfo),
        "printed_by": printed_by,
    }
    return render_pdf("clinical/prescription_pdf.html", context)


def _prescription_safety(prescription: Prescription) -> dict:
    """What the pharmacist checks the medicines against: the visit's diagnosis (with its
    ICD-10 codes) and the patient's known allergies, or that none are known, or not asked."""
    from clinical.services import allergy_state

    note = ClinicalNote.objects.filter(visit_id=prescription.visit_id).first()
    allergies = list(
        Allergy.objects.filter(clinic_id=prescription.clinic_id, patient_id=prescription.patient_id, status=Allergy.Status.ACTIVE).order_by(
            "substance"
        )
    )
    return {
        "diagnosis": note.assessment if note else "",
        "diagnosis_codes": note.diagnosis_codes if note else [],
        "allergies": allergies,
        "allergy_state": "has_allergies" if allergies else allergy_state(patient=prescription.patient),
    }


def prescription_pdf_for_request(request, *, prescription: Prescription) -> bytes:
    """The PDF a member of staff prints (pages and API): drafts are not printed, and every
    print is logged."""
    from clinical import selectors

    if prescription.status == Prescription.Status.DRAFT:
        raise Conflict("Finalize the prescription before printing it.")
    record_read(request, clinic=prescription.clinic, obj=prescription, action="print", patient_id=prescription.patient_id)
    return prescription_pdf(
        prescription=prescription,
        items=selectors.prescription_items(prescription),
        verify_url=prescription_verify_url(request, prescription),
        printed_by=request.user,
    )


def lab_requisition_pdf(*, order: LabOrder, tests, printed_by: User) -> bytes:
    """The requisition that goes with the sample: patient, tests, specimens, urgency."""
    clinic = order.clinic
    context = {
        **letterhead_context(clinic),
        "order": order,
        "tests": tests,
        "patient": order.patient,
        "age": order.patient.age_on(timezone.localdate(order.ordered_at, timezone=clinic.tzinfo)),
        "ordered_at": timezone.localtime(order.ordered_at, clinic.tzinfo),
        "printed_at": timezone.localtime(timezone.now(), clinic.tzinfo),
        "printed_by": printed_by,
    }
    return render_pdf("clinical/lab_requisition_pdf.html", context)


def lab_results_report_pdf(request, *, order: LabOrder) -> bytes:
    """The results report from results entered here (pages and API): letterhead, patient,
    each test's final (or amended) value, unit, the range that applied and the flag, who
    entered it and who signed the order off. Preliminary results are not reported: 409
    until at least one result is final. Every print is logged."""
    from clinical import selectors

    every_test = selectors.lab_order_tests(order)
    tests = [test for test in every_test if selectors.result_is_reported(test)]
    if not tests:
        raise Conflict(f"Order {order.reference} has no final result yet: the report prints final results only.")
    record_read(request, clinic=order.clinic, obj=order, action="print results", patient_id=order.patient_id)
    clinic = order.clinic
    context = {
        **letterhead_context(clinic),
        "order": order,
        "tests": tests,
        "pending": len(every_test) - len(tests),
        "patient": order.patient,
        "age": order.patient.age_on(timezone.localdate(order.ordered_at, timezone=clinic.tzinfo)),
        "ordered_at": timezone.localtime(order.ordered_at, clinic.tzinfo),
        "reviewed_at": timezone.localtime(order.reviewed_at, clinic.tzinfo) if order.reviewed_at else None,
        "printed_at": timezone.localtime(timezone.now(), clinic.tzinfo),
        "printed_by": request.user,
        "zone": clinic.tzinfo,
    }
    return render_pdf("clinical/lab_results_pdf.html", context)
