"""FHIR in the JSON API: ``GET /api/v1/clinics/{code}/patients/{id}/fhir`` answers the
patient's record as a FHIR R4 collection Bundle (``application/fhir+json``)."""

import json

from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpResponse
from ninja import Router

from clinicos.api import Problem, clinic_context
from clinicos.audit import record_read
from clinicos.roles import Perm
from patients.selectors import patient_get_for_user
from reporting.interop import fhir

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
