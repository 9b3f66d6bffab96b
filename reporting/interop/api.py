"""FHIR in the JSON API (``application/fhir+json``): a patient's record as an R4 collection
Bundle (``patients/{id}/fhir``), and ABDM's documents: a visit's OP consultation record, a
prescription record, a lab order's diagnostic report record."""

import json

from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from ninja import File, Form, Router, Schema, Status
from ninja.files import UploadedFile

from clinical import selectors as clinical_selectors
from clinicos.api import Problem, clinic_context, field_problem
from clinicos.audit import record_read
from clinicos.roles import Perm
from patients.selectors import patient_get_for_user
from reporting.interop import abdm, fhir, imports
from reporting.models import DataImport

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


class ImportProblem(Schema):
    row: int
    field: str
    message: str


class ImportDuplicate(Schema):
    row: int
    reason: str
    uhid: str


class ImportOut(Schema):
    id: int
    kind: str
    status: str
    dry_run: bool
    progress: int
    rows: int
    created: int
    updated: int
    duplicates: int
    errors: list[ImportProblem]
    duplicate_rows: list[ImportDuplicate]
    mapping: dict[str, str]


def import_out(data_import: DataImport) -> dict:
    return {
        "id": data_import.pk,
        "kind": data_import.kind,
        "status": data_import.status,
        "dry_run": data_import.dry_run,
        "progress": data_import.progress,
        "rows": data_import.rows,
        "created": data_import.created,
        "updated": data_import.updated,
        "duplicates": data_import.duplicates,
        "errors": data_import.problems,
        "duplicate_rows": data_import.duplicate_rows,
        "mapping": data_import.mapping,
    }


@router.post("/{code}/imports", response={201: ImportOut, 202: ImportOut, 403: Problem, 422: Problem})
def import_create(request, code: str, file: File[UploadedFile], kind: Form[str], dry_run: Form[bool] = True, mapping: Form[str] = ""):
    """Import patients or appointments from a CSV or XLSX (multipart: ``file``, ``kind`` =
    patients | appointments, ``dry_run``, optional ``mapping`` as JSON ``{field: column}``;
    the columns are guessed from the headers otherwise). A dry run answers 201 with each row's
    problems and the duplicates found, and writes nothing; otherwise the worker imports the
    rows (202): follow it with ``GET imports/{id}``."""
    ctx = clinic_context(request, code, Perm.SETTINGS_MANAGE)
    chosen = None
    if mapping:
        try:
            chosen = json.loads(mapping)
        except ValueError:
            return field_problem("mapping", 'Give the mapping as JSON, e.g. {"first_name": "Given name"}.')
        if not isinstance(chosen, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in chosen.items()):
            return field_problem("mapping", 'Give the mapping as JSON, e.g. {"first_name": "Given name"}.')
    data_import = imports.import_upload(clinic=ctx.clinic, user=ctx.user, kind=kind, upload=file, mapping=chosen)
    if dry_run:
        return Status(201, import_out(imports.import_run(import_id=data_import.pk, write=False)))
    return Status(202, import_out(imports.import_start(data_import=data_import)))


@router.get("/{code}/imports/{import_id}", response={200: ImportOut, 403: Problem, 404: Problem})
def import_detail(request, code: str, import_id: int):
    """An import's progress and outcome: ``{status, rows, created, updated, duplicates, errors}``."""
    ctx = clinic_context(request, code, Perm.SETTINGS_MANAGE)
    return Status(200, import_out(get_object_or_404(DataImport.objects.for_clinic(ctx.clinic), pk=import_id)))
