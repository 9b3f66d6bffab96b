"""Patients in the JSON API: /api/v1/clinics/{code}/patients…

Input goes through the same ``PatientForm`` as the pages, so the rules (phone in E.164,
no birth date in the future, …) are written once; its errors become 422 field messages.
"""

import datetime

from django.core.paginator import Paginator
from django.forms.models import model_to_dict
from django.http import FileResponse
from ninja import Field, File, Form, Router, Schema, Status
from ninja.files import UploadedFile

from clinicos.api import Input, Problem, clinic_context, field_problem, form_error_detail
from clinicos.audit import record_read
from clinicos.pagination import CachedCountPaginator
from clinicos.roles import Perm
from patients import identity, selectors, services
from patients.forms import PatientForm
from patients.models import Document, Patient

router = Router(tags=["patients"])
PAGE_SIZE = 25


class PatientWrite(Input):
    first_name: str | None = None
    last_name: str | None = None
    relation: str | None = None
    relative_name: str | None = None
    marital_status: str | None = None
    gender: str | None = None
    date_of_birth: datetime.date | None = None
    age_years: int | None = None
    blood_group: str | None = None
    national_id: str | None = None
    mobile: str | None = None
    email: str | None = None
    house: str | None = None
    street: str | None = None
    area: str | None = None
    city: str | None = None
    district: str | None = None
    state: str | None = None
    postal_code: str | None = None
    country: str | None = None
    emergency_contact_name: str | None = None
    emergency_contact_phone: str | None = None
    emergency_contact_relation: str | None = None
    assigned_doctor_id: int | None = None
    referring_doctor: str | None = None
    hospital_address: str | None = None
    insurance_provider_id: int | None = None
    insurance_policy_number: str | None = None
    external_reference: str | None = None
    abha_number: str | None = None
    abha_address: str | None = None
    nhs_number: str | None = None


class PatientCreate(PatientWrite):
    allow_duplicate: bool = False


class PatientPatch(PatientWrite):
    status: str | None = None


class PatientOut(Schema):
    id: int
    uhid: str
    first_name: str
    last_name: str
    relation: str
    relative_name: str
    marital_status: str
    gender: str
    date_of_birth: datetime.date | None
    date_of_birth_is_estimated: bool
    age: int | None
    blood_group: str
    national_id: str
    mobile: str
    email: str
    house: str
    street: str
    area: str
    city: str
    district: str
    state: str
    postal_code: str
    country: str
    emergency_contact_name: str
    emergency_contact_phone: str
    emergency_contact_relation: str
    assigned_doctor_id: int | None
    referring_doctor: str
    hospital_address: str
    insurance_provider_id: int | None
    insurance_policy_number: str
    external_reference: str
    abha_number: str = Field(description="14 digits, shown XX-XXXX-XXXX-XXXX")
    abha_address: str
    nhs_number: str
    registration_date: datetime.date
    status: str
    created_at: datetime.datetime
    updated_at: datetime.datetime


class PatientPage(Schema):
    count: int
    page: int
    page_size: int
    results: list[PatientOut]


class DocumentOut(Schema):
    id: int
    patient_id: int
    name: str
    document_type: str
    original_name: str
    content_type: str
    size: int
    checksum_sha256: str
    uploaded_by: str
    uploaded_at: datetime.datetime


def patient_out(patient: Patient, *, ctx) -> dict:
    data = {field: getattr(patient, field) for field in PatientOut.model_fields if hasattr(patient, field)}
    data["age"] = patient.age_on(datetime.datetime.now(ctx.clinic.tzinfo).date())
    data["national_id"] = (
        identity.decrypt_national_id(patient.national_id_encrypted)
        if ctx.membership.has_perm_in_clinic(Perm.NATIONAL_ID_VIEW)
        else patient.national_id_masked
    )
    return data


def document_out(document: Document) -> dict:
    data = {field: getattr(document, field) for field in DocumentOut.model_fields if field != "uploaded_by"}
    data["uploaded_by"] = str(document.uploaded_by)
    return data


def patient_form_data(payload: PatientWrite, base: dict | None = None) -> dict:
    """JSON fields -> form fields (``assigned_doctor_id`` -> ``assigned_doctor``)."""
    data = dict(base or {})
    for key, value in payload.dict(exclude_unset=True).items():
        if key in ("allow_duplicate", "status"):
            continue
        form_key = key.removesuffix("_id") if key in ("assigned_doctor_id", "insurance_provider_id") else key
        data[form_key] = "" if value is None else value
    return data


def patient_form_errors(form) -> dict:
    return form_error_detail(form, {"assigned_doctor": "assigned_doctor_id", "insurance_provider": "insurance_provider_id"})


@router.get("/{code}/patients", response=PatientPage)
def patient_list(request, code: str, search: str = "", status: str = "active", page: int = 1):
    """Patients of the clinic, searched by name, UHID or the last 4+ digits of a phone."""
    ctx = clinic_context(request, code, Perm.PATIENTS_VIEW)
    filters = {"q": search, "status": status if status in ("active", "archived", "all") else "active"}
    patients = selectors.patient_list(user=ctx.user, clinic=ctx.clinic, filters=filters)
    # A search's matches are counted once a minute (a common prefix matches tens of
    # thousands); the plain listing keeps an exact count, which integrations page by.
    paginator = (CachedCountPaginator if search.strip() else Paginator)(patients, PAGE_SIZE)
    current = paginator.get_page(page)
    return {
        "count": paginator.count,
        "page": current.number,
        "page_size": PAGE_SIZE,
        "results": [patient_out(patient, ctx=ctx) for patient in current],
    }


@router.post("/{code}/patients", response={201: PatientOut, 409: Problem, 422: Problem})
def patient_create(request, code: str, payload: PatientCreate):
    """Register a patient; answers 201 with the new ``id`` and ``uhid``. A likely duplicate
    (same mobile, or same name and birth date) answers 409 unless ``allow_duplicate``."""
    ctx = clinic_context(request, code, Perm.PATIENTS_EDIT)
    form = PatientForm(data=patient_form_data(payload), clinic=ctx.clinic)
    if not form.is_valid():
        return Status(422, patient_form_errors(form))
    patient = services.patient_register(
        clinic=ctx.clinic,
        user=ctx.user,
        data=form.patient_data(),
        national_id=form.cleaned_data.get("national_id"),
        allow_duplicate=payload.allow_duplicate,
    )
    return Status(201, patient_out(patient, ctx=ctx))


@router.get("/{code}/patients/{patient_id}", response=PatientOut)
def patient_detail(request, code: str, patient_id: int):
    ctx = clinic_context(request, code, Perm.PATIENTS_VIEW)
    patient = selectors.patient_get_for_user(user=ctx.user, clinic=ctx.clinic, pk=patient_id)
    record_read(request, clinic=ctx.clinic, obj=patient, action="api_view", patient_id=patient.pk)
    return patient_out(patient, ctx=ctx)


@router.patch("/{code}/patients/{patient_id}", response={200: PatientOut, 422: Problem})
def patient_patch(request, code: str, patient_id: int, payload: PatientPatch):
    """Change some fields; ``status`` archives (``archived``) or restores (``active``)."""
    ctx = clinic_context(request, code, Perm.PATIENTS_EDIT)
    patient = selectors.patient_get_for_user(user=ctx.user, clinic=ctx.clinic, pk=patient_id)
    if payload.status is not None and payload.status not in Patient.Status.values:
        return field_problem("status", "Use active or archived.")
    current = model_to_dict(patient, fields=PatientForm.Meta.fields)
    current["national_id"] = identity.decrypt_national_id(patient.national_id_encrypted)
    form = PatientForm(data=patient_form_data(payload, base=current), instance=patient, clinic=ctx.clinic, initial=current)
    if not form.is_valid():
        return Status(422, patient_form_errors(form))
    changes = {field: form.cleaned_data[field] for field in form.changed_data if field in services.PATIENT_FIELDS}
    national_id = form.cleaned_data["national_id"] if "national_id" in form.changed_data else None
    patient = services.patient_update(patient=patient, changes=changes, national_id=national_id, status=payload.status)
    return Status(200, patient_out(patient, ctx=ctx))


@router.get("/{code}/patients/{patient_id}/documents", response=list[DocumentOut])
def document_list(request, code: str, patient_id: int):
    ctx = clinic_context(request, code, Perm.DOCUMENTS_VIEW)
    patient = selectors.patient_get_for_user(user=ctx.user, clinic=ctx.clinic, pk=patient_id)
    return [document_out(document) for document in selectors.documents_of_patient(patient=patient)]


@router.post("/{code}/patients/{patient_id}/documents", response={201: DocumentOut, 422: Problem})
def document_create(request, code: str, patient_id: int, file: File[UploadedFile], document_type: Form[str], name: Form[str] = ""):
    """Upload a PDF, JPEG, PNG or WebP (multipart: ``file``, ``name``, ``document_type``)."""
    ctx = clinic_context(request, code, Perm.DOCUMENTS_UPLOAD)
    patient = selectors.patient_get_for_user(user=ctx.user, clinic=ctx.clinic, pk=patient_id)
    document = services.document_upload(patient=patient, user=ctx.user, upload=file, name=name, document_type=document_type)
    return Status(201, document_out(document))


@router.get(
    "/{code}/patients/{patient_id}/documents/{document_id}/download",
    openapi_extra={"responses": {"200": {"description": "The file", "content": {"application/octet-stream": {}}}}},
)
def document_download(request, code: str, patient_id: int, document_id: int):
    ctx = clinic_context(request, code, Perm.DOCUMENTS_VIEW)
    patient = selectors.patient_get_for_user(user=ctx.user, clinic=ctx.clinic, pk=patient_id)
    document = selectors.document_get_for_patient(patient=patient, pk=document_id)
    record_read(request, clinic=ctx.clinic, obj=document, action="api_download", patient_id=patient.pk)
    response = FileResponse(
        document.file.open("rb"), as_attachment=True, filename=document.original_name, content_type=document.content_type
    )
    response["Cache-Control"] = "private, no-store"
    return response


@router.delete("/{code}/patients/{patient_id}/documents/{document_id}", response={204: None})
def document_delete(request, code: str, patient_id: int, document_id: int):
    """Remove a document from the chart (soft delete: the record and file are kept)."""
    ctx = clinic_context(request, code, Perm.DOCUMENTS_UPLOAD)
    patient = selectors.patient_get_for_user(user=ctx.user, clinic=ctx.clinic, pk=patient_id)
    document = selectors.document_get_for_patient(patient=patient, pk=document_id)
    services.document_soft_delete(document=document, user=ctx.user)
    return Status(204, None)
