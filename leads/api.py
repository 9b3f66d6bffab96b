"""Leads in the JSON API: the clinic's pipeline, conversion, the dashboard figures, and the
public endpoint a clinic's website posts enquiries to with its API key."""

import datetime

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.forms.models import model_to_dict
from django.http import HttpResponse
from ninja import Field, Header, Router, Schema, Status

from clinicos.api import Day, Input, Problem, check_query_days, clinic_context, field_problem, form_error_detail, optional_body
from clinicos.roles import Perm
from clinicos.scoping import enter_clinic_scope
from leads import selectors, services
from leads.forms import LeadForm
from leads.hooks import InstantBooking
from leads.models import Lead, LeadApiKey, LeadStatus
from patients.api import PatientCreate, patient_form_data, patient_form_errors
from patients.forms import PatientForm

router = Router(tags=["leads"])
public_router = Router(tags=["public"])
PAGE_SIZE = 25
PUBLIC_RATE = 30  # enquiries per minute per key and address


class LeadWrite(Input):
    name: str | None = None
    phone: str | None = None
    email: str | None = None
    age: int | None = None
    gender: str | None = None
    source: str | None = None
    inquiry: str | None = None
    problem: str | None = None
    treatment_doctor: str | None = None
    treatment_suggested: str | None = None
    next_follow_up: datetime.date | None = None


class PreferredTimeIn(Input):
    preferred_start: datetime.datetime | None = Field(
        None, description="A time the enquirer asks for, with its offset: booked at once when free, else the answer gives next_free."
    )
    doctor_id: int | None = Field(None, description="The doctor asked for (a doctor profile of the clinic); empty: any doctor free then.")


class LeadCreate(LeadWrite, PreferredTimeIn):
    pass


class LeadPatch(LeadWrite):
    status: str | None = None
    note: str | None = None
    lost_reason: str | None = None
    cro_id: int | None = None


class LeadOut(Schema):
    id: int
    name: str
    phone: str
    email: str
    age: int | None
    gender: str
    source: str
    inquiry: str
    problem: str
    treatment_doctor: str
    treatment_suggested: str
    status: str
    status_label: str
    assigned_to_id: int | None
    assigned_to_name: str | None
    lost_reason: str
    next_follow_up: datetime.date | None
    converted_patient_id: int | None
    duplicate_of_lead_id: int | None
    duplicate_of_patient_id: int | None
    date_added: datetime.datetime
    updated_at: datetime.datetime


class InstantAppointmentOut(Schema):
    id: int
    reference: str
    start: datetime.datetime
    doctor_id: int


class FreeTimeOut(Schema):
    start: datetime.datetime
    doctor_id: int


class LeadCreatedOut(LeadOut):
    """The lead, and what its preferred time gave: the appointment, or the next free times."""

    appointment: InstantAppointmentOut | None
    next_free: list[FreeTimeOut]


class LeadPage(Schema):
    count: int
    page: int
    page_size: int
    results: list[LeadOut]


class ConvertedPatient(Schema):
    id: int
    uhid: str


class ConvertOut(Schema):
    patient: ConvertedPatient
    lead: LeadOut


class FunnelOut(Schema):
    date_from: datetime.date | None
    date_to: datetime.date | None
    by_status: list[dict]
    by_stage_reached: list[dict]


def lead_out(lead: Lead) -> dict:
    data = {field: getattr(lead, field) for field in LeadOut.model_fields if hasattr(lead, field)}
    data["status_label"] = lead.get_status_display()
    data["assigned_to_name"] = str(lead.assigned_to) if lead.assigned_to_id else None
    return data


def _lead_form(payload: Schema, clinic, instance=None) -> LeadForm:
    base = model_to_dict(instance, fields=LeadForm.Meta.fields) if instance else {}
    # A PATCH changes only what was sent; a create takes the schema's defaults too.
    sent = payload.dict(exclude_unset=instance is not None)
    data = {**base, **{k: ("" if v is None else v) for k, v in sent.items() if k in LeadForm.Meta.fields}}
    return LeadForm(data=data, instance=instance, clinic=clinic)


@router.get("/{code}/leads", response=LeadPage)
def lead_list(request, code: str, status: str = "", search: str = "", page: int = 1):
    ctx = clinic_context(request, code, Perm.LEADS_WORK)
    filters = {"q": search, "status": status if status in LeadStatus.values else None}
    leads = selectors.leads_filtered(clinic=ctx.clinic, filters=filters).order_by("-date_added", "-id")
    paginator = Paginator(leads, PAGE_SIZE)
    current = paginator.get_page(page)
    return {"count": paginator.count, "page": current.number, "page_size": PAGE_SIZE, "results": [lead_out(lead) for lead in current]}


def _create_lead(*, clinic, user, membership, payload: PreferredTimeIn, data: dict, created_via: str):
    """The lead alone, or the lead and its preferred time: (lead, InstantBooking)."""
    if payload.preferred_start is None:
        if payload.doctor_id is not None:
            raise ValidationError({"preferred_start": "Give the preferred time to book with this doctor."})
        return services.lead_create(clinic=clinic, user=user, data=data, created_via=created_via), InstantBooking()
    preferred = services.PreferredTime(payload.preferred_start, payload.doctor_id)
    return services.lead_create_and_book(
        clinic=clinic, user=user, membership=membership, data=data, preferred=preferred, created_via=created_via
    )


def booking_out(booking: InstantBooking, clinic) -> dict:
    tz = clinic.tzinfo
    appointment = (
        {
            "id": booking.appointment_id,
            "reference": booking.reference,
            "start": booking.start.astimezone(tz),
            "doctor_id": booking.doctor_id,
        }
        if booking.appointment_id and booking.start
        else None
    )
    return {
        "appointment": appointment,
        "next_free": [{"start": start.astimezone(tz), "doctor_id": doctor} for start, doctor in booking.next_free],
    }


@router.post("/{code}/leads", response={201: LeadCreatedOut, 403: Problem, 422: Problem})
def lead_create(request, code: str, payload: LeadCreate):
    """Add an enquiry (status New Inquiry). A phone matching an open lead or a patient is
    flagged in ``duplicate_of_lead_id`` / ``duplicate_of_patient_id``. With
    ``preferred_start`` (and optionally ``doctor_id``) the lead is booked then if the time
    is free (``appointment``), else ``next_free`` lists the next free times."""
    ctx = clinic_context(request, code, Perm.LEADS_WORK)
    form = _lead_form(payload, ctx.clinic)
    if not form.is_valid():
        return Status(422, form_error_detail(form))
    lead, booking = _create_lead(
        clinic=ctx.clinic, user=ctx.user, membership=ctx.membership, payload=payload, data=form.cleaned_data, created_via="api"
    )
    return Status(201, {**lead_out(lead), **booking_out(booking, ctx.clinic)})


@router.get("/{code}/leads/{lead_id}", response=LeadOut)
def lead_detail(request, code: str, lead_id: int):
    ctx = clinic_context(request, code, Perm.LEADS_WORK)
    return lead_out(selectors.lead_get(clinic=ctx.clinic, pk=lead_id))


@router.patch("/{code}/leads/{lead_id}", response={200: LeadOut, 403: Problem, 409: Problem, 422: Problem})
def lead_patch(request, code: str, lead_id: int, payload: LeadPatch):
    """Change fields and/or move the lead (``status`` with ``note``, ``lost_reason``,
    ``cro_id``). A move the flow forbids answers 409."""
    ctx = clinic_context(request, code, Perm.LEADS_WORK)
    lead = selectors.lead_get(clinic=ctx.clinic, pk=lead_id)
    if payload.status is not None and payload.status not in LeadStatus.values:
        return field_problem("status", f"Use one of: {', '.join(LeadStatus.values)}.")
    form = _lead_form(payload, ctx.clinic, instance=lead)
    if not form.is_valid():
        return Status(422, form_error_detail(form))
    cro = None
    if payload.cro_id is not None:
        cro = next((user for user in services.active_cros(clinic=ctx.clinic) if user.pk == payload.cro_id), None)
        if cro is None:
            return field_problem("cro_id", "Choose an active CRO of this clinic.")
    lead = services.lead_change(
        lead=lead,
        user=ctx.user,
        membership=ctx.membership,
        changes={f: form.cleaned_data[f] for f in form.changed_data},
        to_status=payload.status,
        note=payload.note or "",
        lost_reason=payload.lost_reason or "",
        cro=cro,
    )
    return Status(200, lead_out(selectors.lead_get(clinic=ctx.clinic, pk=lead.pk)))


@router.post(
    "/{code}/leads/{lead_id}/convert",
    response={201: ConvertOut, 409: Problem, 422: Problem},
    openapi_extra={
        "requestBody": {"required": False, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/PatientCreate"}}}}
    },
)
def lead_convert(request, code: str, lead_id: int):
    """Register the lead as a patient and mark it Converted, in one transaction. The body
    (optional) holds registration fields (as for creating a patient) that complete or
    override what the lead has."""
    ctx = clinic_context(request, code, Perm.LEADS_WORK)
    payload = optional_body(request, PatientCreate)
    lead = selectors.lead_get(clinic=ctx.clinic, pk=lead_id)
    if lead.converted_patient_id:
        return Status(409, {"detail": "This lead has already been converted."})
    defaults = {k: v for k, v in services.registration_defaults(lead).items() if v not in (None, "")}
    data = patient_form_data(payload, base=defaults) if payload is not None else defaults
    form = PatientForm(data=data, clinic=ctx.clinic)
    if not form.is_valid():
        return Status(422, patient_form_errors(form))
    result = services.lead_convert(
        lead=lead,
        user=ctx.user,
        registration=form.patient_data(),
        national_id=form.cleaned_data.get("national_id"),
        membership=ctx.membership,
    )
    return Status(201, {"patient": {"id": result.patient.pk, "uhid": result.patient.uhid}, "lead": lead_out(result.lead)})


@router.get("/{code}/dashboard/funnel", response={200: FunnelOut, 422: Problem})
def dashboard_funnel(request, code: str, date_from: Day | None = None, date_to: Day | None = None):
    ctx = clinic_context(request, code, Perm.LEADS_WORK)
    check_query_days(date_from=date_from, date_to=date_to)
    return Status(200, selectors.dashboard_funnel(clinic=ctx.clinic, date_from=date_from, date_to=date_to))


# --- Website capture ------------------------------------------------------------------------


class PublicLeadIn(PreferredTimeIn):
    name: str
    phone: str
    email: str | None = None
    age: int | None = None
    gender: str | None = None
    source: str | None = "Website"
    inquiry: str | None = "General"
    problem: str | None = None


class PublicLeadOut(Schema):
    id: int
    status: str
    appointment: InstantAppointmentOut | None
    next_free: list[FreeTimeOut]


def _cors(response: HttpResponse, origin: str | None) -> HttpResponse:
    if origin:
        response["Access-Control-Allow-Origin"] = origin
        response["Vary"] = "Origin"
        response["Access-Control-Allow-Headers"] = "Content-Type, X-Api-Key"
        response["Access-Control-Allow-Methods"] = "POST, OPTIONS"
        response["Access-Control-Max-Age"] = "600"
    return response


def _rate_limited(key: LeadApiKey, request) -> bool:
    bucket = f"public-leads:{key.pk}:{request.META.get('REMOTE_ADDR')}:{int(datetime.datetime.now().timestamp() // 60)}"
    cache.add(bucket, 0, timeout=70)
    return cache.incr(bucket) > PUBLIC_RATE


@public_router.api_operation(["OPTIONS"], "/leads", auth=None, include_in_schema=False)
def public_lead_preflight(request):
    """CORS preflight for browsers posting from an origin some key allows."""
    origin = request.headers.get("Origin")
    return _cors(HttpResponse(status=204), origin if services.origin_allowed_by_any_key(origin) else None)


@public_router.post("/leads", auth=None, response={201: PublicLeadOut, 401: Problem, 403: Problem, 422: Problem, 429: Problem})
def public_lead_create(request, response: HttpResponse, payload: PublicLeadIn, x_api_key: str = Header("", alias="X-Api-Key")):
    """An enquiry from a clinic's website. Send the clinic's key in ``X-Api-Key``."""
    key = services.api_key_authenticate(raw=x_api_key)
    if key is None:
        return Status(401, {"detail": "A valid X-Api-Key header is required."})
    origin = request.headers.get("Origin")
    if origin and origin.rstrip("/") not in key.origins:
        return Status(403, {"detail": "This origin may not use this key: add it to the key's allowed origins."})
    _cors(response, origin)
    if _rate_limited(key, request):
        return Status(429, {"detail": "Too many enquiries from this address; please try again in a minute."})
    if key.clinic.is_read_only:
        return Status(403, {"detail": "This clinic is not taking enquiries right now."})
    enter_clinic_scope(request, key.clinic)  # the key decides the clinic, as a code in a URL would
    form = _lead_form(payload, key.clinic)
    if not form.is_valid():
        return Status(422, form_error_detail(form))
    lead, booking = _create_lead(
        clinic=key.clinic, user=None, membership=None, payload=payload, data=form.cleaned_data, created_via="website"
    )
    return Status(201, {"id": lead.pk, "status": lead.status, **booking_out(booking, key.clinic)})
