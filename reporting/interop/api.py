"""FHIR in the JSON API (``application/fhir+json``): a patient's record as an R4 collection
Bundle (``patients/{id}/fhir``), and ABDM's documents: a visit's OP consultation record, a
prescription record, a lab order's diagnostic report record."""

import json

from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpResponse
from ninja import Router, Status

from clinical import selectors as clinical_selectors
from clinicos.api import Problem, clinic_context
from clinicos.audit import record_read
from clinicos.roles import Perm
from patients.selectors import patient_get_for_user
from reporting.interop import abdm, fhir

router = Router(tags=["fhir"])
FHIR_JSON = "application/fhir+json"


def fhir_response(resource: dict) -> HttpResponse:
    return HttpResponse(json.dumps(resource, cls=DjangoJSONEncoder, ensure_ascii=False), content_type=f"{FHIR_JSON}; charset=utf-8")


@router.get(
    "/{code}/patients/{patient_id}/fhir",
    response={200: None, 403: Problem, 404: Problem},
    openapi_extra={
        "responses": {200: {"description": "A FHIR R4 Bundle (type collection)", "content": {FHIR_JSON: {"schema": {"type": "object"}}}}}
    },
)
def patient_fhir(request, code: str, patient_id: int):
    """The patient's record as FHIR R4 (4.0.1): Patient (UHID, ABHA, NHS number), Practitioners,
    an Encounter per visit, Conditions (ICD-10), AllergyIntolerances, vital-sign Observations
    (LOINC, UCUM), MedicationRequests, lab ServiceRequests, DiagnosticReports and Observations,
    issued Invoices. Every export is on the chart's read log."""
    ctx = clinic_context(request, code, Perm.CLINICAL_VIEW)
    patient = patient_get_for_user(user=ctx.user, clinic=ctx.clinic, pk=patient_id)
    record_read(request, clinic=ctx.clinic, obj=patient, action="fhir export", patient_id=patient.pk)
    return fhir_response(fhir.patient_bundle(patient))


def _document_responses(description: str) -> dict:
    return {"responses": {200: {"description": description, "content": {FHIR_JSON: {"schema": {"type": "object"}}}}}}


@router.get(
    "/{code}/visits/{visit_id}/fhir/op-consultation",
    response={200: None, 403: Problem, 404: Problem},
    openapi_extra=_document_responses("An ABDM OP consultation record (FHIR document Bundle)"),
)
def visit_op_consultation(request, code: str, visit_id: int):
    """The visit as an ABDM OP consultation record: a FHIR ``document`` Bundle whose first
    entry is the Composition (SNOMED CT 371530004)."""
    ctx = clinic_context(request, code, Perm.CLINICAL_VIEW)
    visit = clinical_selectors.visit_get_for_user(user=ctx.user, clinic=ctx.clinic, pk=visit_id)
    record_read(request, clinic=ctx.clinic, obj=visit, action="fhir export", patient_id=visit.patient_id)
    return fhir_response(abdm.op_consultation(visit))


@router.get(
    "/{code}/prescriptions/{prescription_id}/fhir",
    response={200: None, 403: Problem, 404: Problem, 409: Problem},
    openapi_extra=_document_responses("An ABDM prescription record (FHIR document Bundle)"),
)
def prescription_fhir(request, code: str, prescription_id: int):
    """A finalized prescription as an ABDM prescription record (SNOMED CT 440545006); 409 for a draft."""
    ctx = clinic_context(request, code, Perm.PRESCRIPTIONS_VIEW)
    prescription = clinical_selectors.prescription_get_for_user(user=ctx.user, clinic=ctx.clinic, pk=prescription_id)
    if prescription.status == "draft":
        return Status(409, {"detail": "A draft prescription is not a record yet: finalize it first."})
    record_read(request, clinic=ctx.clinic, obj=prescription, action="fhir export", patient_id=prescription.patient_id)
    return fhir_response(abdm.prescription_record(prescription))


@router.get(
    "/{code}/lab-orders/{order_id}/fhir",
    response={200: None, 403: Problem, 404: Problem},
    openapi_extra=_document_responses("An ABDM diagnostic report record (FHIR document Bundle)"),
)
def lab_order_fhir(request, code: str, order_id: int):
    """A lab order and its results as an ABDM diagnostic report record (SNOMED CT 721981007)."""
    ctx = clinic_context(request, code, Perm.LAB_ORDERS_VIEW)
    order = clinical_selectors.lab_order_get_for_user(user=ctx.user, clinic=ctx.clinic, pk=order_id)
    record_read(request, clinic=ctx.clinic, obj=order, action="fhir export", patient_id=order.patient_id)
    return fhir_response(abdm.diagnostic_report_record(order))
