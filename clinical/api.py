"""The clinical record in the JSON API (/api/v1/clinics/{code}/visits…, vital-signs,
patients/{id}/allergies…). Doctors and nurses read it; doctors write visits and notes;
nurses and doctors record vitals and the history. Everyone else: 403. The rules are the
services' (``clinical.services``)."""

import datetime
from decimal import Decimal

from django.http import Http404
from ninja import Field, Router, Schema, Status

from clinical import selectors, services
from clinical.inputs import VitalsInput
from clinical.models import Addendum, Allergy, AllergyStatement, ClinicalNote, Visit, VitalSigns
from clinicos.api import Input, Problem, clinic_context, field_problem
from clinicos.audit import record_read
from clinicos.roles import Perm
from patients import timeline
from patients.selectors import patient_get_for_user
from scheduling.models import Appointment

router = Router(tags=["clinical"])


# --- Visits -----------------------------------------------------------------------------------


class VisitStart(Input):
    appointment_id: int | None = None
    patient_id: int | None = None


class VisitOut(Schema):
    id: int
    reference: str
    status: str
    patient_id: int
    appointment_id: int | None
    doctor_id: int
    started_at: datetime.datetime
    completed_at: datetime.datetime | None


class NoteOut(Schema):
    chief_complaint: str
    subjective: str
    objective: str
    assessment: str
    diagnosis_codes: list[str]
    plan: str
    follow_up_required: bool
    follow_up_date: datetime.date | None
    updated_at: datetime.datetime
    editable: bool


class NoteIn(Input):
    chief_complaint: str | None = None
    subjective: str = ""
    objective: str = ""
    assessment: str = ""
    diagnosis_codes: list[str] = []
    plan: str = ""
    follow_up_required: bool | None = None
    follow_up_date: datetime.date | None = None


class AddendumIn(Input):
    text: str


class AddendumOut(Schema):
    id: int
    text: str
    author_id: int
    author_name: str
    created_at: datetime.datetime


class VitalsOut(Schema):
    id: int
    patient_id: int
    visit_id: int | None
    recorded_at: datetime.datetime
    recorded_by_id: int
    systolic_bp: int | None
    diastolic_bp: int | None
    pulse_rate: int | None
    temperature_celsius: Decimal | None
    respiratory_rate: int | None
    weight_kg: Decimal | None
    height_cm: Decimal | None
    oxygen_saturation: int | None
    bmi: Decimal | None
    bmi_category: str
    notes: str


class VisitDetail(VisitOut):
    note: NoteOut
    vitals: list[VitalsOut]
    addenda: list[AddendumOut]


def visit_out(visit: Visit) -> dict:
    return {
        "id": visit.pk,
        "reference": visit.reference,
        "status": visit.status,
        "patient_id": visit.patient_id,
        "appointment_id": visit.appointment_id,
        "doctor_id": visit.doctor_id,
        "started_at": visit.started_at,
        "completed_at": visit.completed_at,
    }


def note_out(note: ClinicalNote, visit: Visit) -> dict:
    fields = {field: getattr(note, field) for field in services.NOTE_FIELDS}
    return {**fields, "updated_at": note.updated_at, "editable": services.note_is_editable(visit)}


def addendum_out(addendum: Addendum) -> dict:
    return {
        "id": addendum.pk,
        "text": addendum.text,
        "author_id": addendum.author_id,
        "author_name": addendum.author.full_name,
        "created_at": addendum.created_at,
    }


def vitals_out(vitals: VitalSigns) -> dict:
    return {
        "id": vitals.pk,
        "patient_id": vitals.patient_id,
        "visit_id": vitals.visit_id,
        "recorded_at": vitals.recorded_at,
        "recorded_by_id": vitals.recorded_by_id,
        **{field: getattr(vitals, field) for field in services.VITAL_FIELDS},
        "bmi": vitals.bmi,
        "bmi_category": vitals.bmi_category,
    }


@router.post("/{code}/visits", response={201: VisitOut, 409: Problem, 422: Problem})
def visit_create(request, code: str, payload: VisitStart):
    """Start a visit from a checked-in appointment (``appointment_id``; it moves to In
    progress) or for a patient without one (``patient_id``). 409 when the appointment is
    not checked in, already has a visit, or the clinic requires vitals first and none were
    recorded today."""
    ctx = clinic_context(request, code, Perm.CLINICAL_EDIT)
    appointment = patient = None
    if (payload.appointment_id is None) == (payload.patient_id is None):
        return field_problem("appointment_id", "Send either appointment_id or patient_id.")
    if payload.appointment_id is not None:
        appointment = Appointment.objects.for_clinic(ctx.clinic).filter(pk=payload.appointment_id).first()
        if appointment is None:
            raise Http404
        if appointment.patient_id is not None:
            patient_get_for_user(user=ctx.user, clinic=ctx.clinic, pk=appointment.patient_id)  # the care-team rule
    else:
        patient = patient_get_for_user(user=ctx.user, clinic=ctx.clinic, pk=payload.patient_id)
    visit = services.visit_start(clinic=ctx.clinic, user=ctx.user, appointment=appointment, patient=patient)
    return Status(201, visit_out(visit))


@router.get("/{code}/visits/{visit_id}", response=VisitDetail)
def visit_detail(request, code: str, visit_id: int):
    """The visit with its SOAP note, vitals and addenda (the read is logged)."""
    ctx = clinic_context(request, code, Perm.CLINICAL_VIEW)
    visit = selectors.visit_get_for_user(user=ctx.user, clinic=ctx.clinic, pk=visit_id)
    record_read(request, clinic=ctx.clinic, obj=visit, patient_id=visit.patient_id)
    addenda = visit.addenda.select_related("author")
    return {
        **visit_out(visit),
        "note": note_out(visit.note, visit),
        "vitals": [vitals_out(v) for v in selectors.vitals_of_visit(visit=visit)],
        "addenda": [addendum_out(a) for a in addenda],
    }


@router.put("/{code}/visits/{visit_id}/note", response={200: NoteOut, 409: Problem, 422: Problem})
def visit_note_put(request, code: str, visit_id: int, payload: NoteIn):
    """Save the SOAP note (the app autosaves through the same rule). 409 once locked (24 hours
    after completion); 422 for a follow-up not after the visit or an unknown ICD-10 code."""
    ctx = clinic_context(request, code, Perm.CLINICAL_EDIT)
    visit = selectors.visit_get_for_user(user=ctx.user, clinic=ctx.clinic, pk=visit_id)
    data = payload.model_dump(exclude_none=True)
    data.setdefault("follow_up_date", None)
    if payload.follow_up_required is None and payload.follow_up_date is None:
        data["follow_up_required"] = False
    note = services.note_save(visit=visit, user=ctx.user, data=data)
    return note_out(note, visit)


@router.post("/{code}/visits/{visit_id}/complete", response={200: VisitOut, 409: Problem})
def visit_complete(request, code: str, visit_id: int):
    """Complete the visit and its appointment; the note stays editable for 24 hours."""
    ctx = clinic_context(request, code, Perm.CLINICAL_EDIT)
    visit = selectors.visit_get_for_user(user=ctx.user, clinic=ctx.clinic, pk=visit_id)
    return visit_out(services.visit_complete(visit=visit, user=ctx.user))


@router.post("/{code}/visits/{visit_id}/addenda", response={201: AddendumOut, 409: Problem, 422: Problem})
def visit_addendum_create(request, code: str, visit_id: int, payload: AddendumIn):
    """Add to a completed visit's note (the way to correct a locked note)."""
    ctx = clinic_context(request, code, Perm.CLINICAL_EDIT)
    visit = selectors.visit_get_for_user(user=ctx.user, clinic=ctx.clinic, pk=visit_id)
    return Status(201, addendum_out(services.addendum_add(visit=visit, user=ctx.user, text=payload.text)))


# --- Vital signs ----------------------------------------------------------------------------


class VitalsIn(Input):
    patient_id: int
    visit_id: int | None = None
    systolic_bp: float | None = None
    diastolic_bp: float | None = None
    pulse_rate: float | None = None
    temperature_celsius: float | None = None
    respiratory_rate: float | None = None
    weight_kg: float | None = None
    height_cm: float | None = None
    oxygen_saturation: float | None = None
    notes: str = ""


@router.post("/{code}/vital-signs", response={201: VitalsOut, 422: Problem})
def vital_signs_create(request, code: str, payload: VitalsIn):
    """Record vital signs (nurses, doctors). 422 with a message per field out of range;
    the answer has the server's ``bmi`` and ``bmi_category``."""
    ctx = clinic_context(request, code, Perm.VITALS_RECORD)
    patient = patient_get_for_user(user=ctx.user, clinic=ctx.clinic, pk=payload.patient_id)
    visit = None
    if payload.visit_id is not None:
        visit = Visit.objects.for_clinic(ctx.clinic).filter(pk=payload.visit_id).first()
        if visit is None:
            return field_problem("visit_id", "There is no such visit in this clinic.")
    measured = VitalsInput.parse(payload.model_dump(exclude={"patient_id", "visit_id"}))
    vitals = services.vitals_record(patient=patient, user=ctx.user, vitals=measured, visit=visit)
    return Status(201, vitals_out(vitals))


@router.get("/{code}/patients/{patient_id}/vital-signs", response=list[VitalsOut])
def vital_signs_list(request, code: str, patient_id: int):
    ctx = clinic_context(request, code, Perm.CLINICAL_VIEW)
    patient = patient_get_for_user(user=ctx.user, clinic=ctx.clinic, pk=patient_id)
    record_read(request, clinic=ctx.clinic, obj=patient, action="view vitals", patient_id=patient.pk)
    return [vitals_out(v) for v in selectors.vitals_of_patient(patient=patient)[:200]]


# --- The medical history ------------------------------------------------------------------


class AllergyIn(Input):
    substance: str
    reaction: str = ""
    severity: str = Allergy.Severity.MODERATE.value
    status: str = Allergy.Status.ACTIVE.value


class AllergyPatch(Input):
    substance: str | None = None
    reaction: str | None = None
    severity: str | None = None
    status: str | None = None


class ConditionIn(Input):
    name: str
    icd10_code: str = ""
    onset_date: datetime.date | None = None
    status: str = "active"
    notes: str = ""


class ConditionPatch(Input):
    name: str | None = None
    icd10_code: str | None = None
    onset_date: datetime.date | None = None
    status: str | None = None
    notes: str | None = None


class MedicationIn(Input):
    name: str
    dose: str = ""
    start_date: datetime.date | None = None
    end_date: datetime.date | None = None
    status: str = "active"
    notes: str = ""


class MedicationPatch(Input):
    name: str | None = None
    dose: str | None = None
    start_date: datetime.date | None = None
    end_date: datetime.date | None = None
    status: str | None = None
    notes: str | None = None


class ImmunizationIn(Input):
    vaccine: str
    dose_number: int | None = None
    given_on: datetime.date | None = None
    next_due: datetime.date | None = None
    status: str = "active"
    notes: str = ""


class ImmunizationPatch(Input):
    vaccine: str | None = None
    dose_number: int | None = None
    given_on: datetime.date | None = None
    next_due: datetime.date | None = None
    status: str | None = None
    notes: str | None = None


class ProcedureIn(Input):
    name: str
    performed_on: datetime.date | None = None
    status: str = "planned"
    notes: str = ""


class ProcedurePatch(Input):
    name: str | None = None
    performed_on: datetime.date | None = None
    status: str | None = None
    notes: str | None = None


class FamilyHistoryIn(Input):
    relation: str = Field(
        description="mother, father, sister, brother, daughter, son, grandmother, grandfather, aunt, uncle, cousin or other"
    )
    condition: str
    icd10_code: str = ""
    status: str = "active"
    notes: str = ""


class FamilyHistoryPatch(Input):
    relation: str | None = None
    condition: str | None = None
    icd10_code: str | None = None
    status: str | None = None
    notes: str | None = None


SCHEMAS = {
    "allergies": (AllergyIn, AllergyPatch),
    "conditions": (ConditionIn, ConditionPatch),
    "medications": (MedicationIn, MedicationPatch),
    "immunizations": (ImmunizationIn, ImmunizationPatch),
    "procedures": (ProcedureIn, ProcedurePatch),
    "family-history": (FamilyHistoryIn, FamilyHistoryPatch),
}


SINGULAR = {
    "allergies": "allergy",
    "conditions": "condition",
    "medications": "medication",
    "immunizations": "immunization",
    "procedures": "procedure",
    "family-history": "family_history",
}


def history_item_out(kind: str, item) -> dict:
    _model, fields = services.HISTORY_LISTS[kind]
    values = {field: getattr(item, field) for field in fields}
    for field, value in values.items():
        if isinstance(value, datetime.date):
            values[field] = value.isoformat()
    return {"id": item.pk, **values, "recorded_by_id": item.recorded_by_id, "updated_at": item.updated_at.isoformat()}


class HistoryList(Schema):
    items: list[dict]


class AllergyList(HistoryList):
    allergy_status: str


def _register_history_list(kind: str) -> None:
    """list / create / patch for one history list (the same shape for all five)."""
    create_schema, patch_schema = SCHEMAS[kind]
    list_schema = AllergyList if kind == "allergies" else HistoryList
    singular = SINGULAR[kind]

    def list_items(request, code: str, patient_id: int):
        ctx = clinic_context(request, code, Perm.CLINICAL_VIEW)
        patient = patient_get_for_user(user=ctx.user, clinic=ctx.clinic, pk=patient_id)
        record_read(request, clinic=ctx.clinic, obj=patient, action=f"view {kind}", patient_id=patient.pk)
        body: dict = {"items": [history_item_out(kind, item) for item in selectors.history_items(kind=kind, patient=patient)]}
        if kind == "allergies":
            body["allergy_status"] = services.allergy_state(patient=patient)
        return body

    def create_item(request, code: str, patient_id: int, payload: create_schema):  # type: ignore[valid-type]
        ctx = clinic_context(request, code, Perm.MEDICAL_HISTORY_EDIT)
        patient = patient_get_for_user(user=ctx.user, clinic=ctx.clinic, pk=patient_id)
        item = services.history_item_save(kind=kind, patient=patient, user=ctx.user, data=payload.model_dump())  # type: ignore[attr-defined]
        return Status(201, history_item_out(kind, item))

    list_items.__doc__ = f"The patient's {kind}" + (
        " with the list's state: unknown, no_known_allergies or has_allergies." if kind == "allergies" else "."
    )
    create_item.__doc__ = f"Add a {singular} (nurses, doctors)."
    router.get(
        f"/{{code}}/patients/{{patient_id}}/{kind}", response=list_schema, url_name=f"{singular}_list", operation_id=f"{singular}_list"
    )(list_items)
    router.post(
        f"/{{code}}/patients/{{patient_id}}/{kind}",
        response={201: dict, 422: Problem},
        url_name=f"{singular}_create",
        operation_id=f"{singular}_create",
    )(create_item)


# --- Timeline and summary -------------------------------------------------------------------


class TimelineEntryOut(Schema):
    at: datetime.datetime
    kind: str
    title: str
    detail: str
    url: str


class TimelineOut(Schema):
    count: int
    page: int
    pages: int
    kinds: list[str]
    items: list[TimelineEntryOut]


@router.get("/{code}/patients/{patient_id}/timeline", response={200: TimelineOut, 422: Problem})
def patient_timeline(request, code: str, patient_id: int, kind: str = "", page: int = 1):
    """Everything that happened to the patient, newest first, 25 a page: ``kind`` one of
    ``kinds`` (visits, vitals, appointments, documents…) or empty for all."""
    ctx = clinic_context(request, code, Perm.CLINICAL_VIEW)
    patient = patient_get_for_user(user=ctx.user, clinic=ctx.clinic, pk=patient_id)
    kinds = [value for value, _label in timeline.kinds_for(ctx.membership)]
    if kind and kind not in kinds:
        return field_problem("kind", f"Use one of: {', '.join(kinds)}.", location="query")
    if page < 1:
        return field_problem("page", "Pages start at 1.", location="query")
    record_read(request, clinic=ctx.clinic, obj=patient, action="view timeline", patient_id=patient.pk)
    current = timeline.timeline_page(patient=patient, membership=ctx.membership, kind=kind, page=page)
    return {
        "count": current.paginator.count,
        "page": current.number,
        "pages": current.paginator.num_pages,
        "kinds": kinds,
        "items": [entry.__dict__ for entry in current.object_list],
    }


class SummaryVisitOut(Schema):
    id: int
    reference: str
    status: str
    started_at: datetime.datetime
    doctor_id: int
    doctor_name: str
    assessment: str
    diagnosis_codes: list[str]


class SummaryAppointmentOut(Schema):
    id: int
    reference: str
    starts_at: datetime.datetime
    type: str
    status: str
    doctor_id: int
    doctor_name: str


class SummaryPrescribedOut(Schema):
    """An item of a valid finalized prescription: a current medication, as the chart's
    summary lists it beside the history's medications."""

    prescription_id: int
    prescription_reference: str
    valid_until: datetime.date | None
    until: datetime.date = Field(description='The course\'s last day (5 days from the prescription for "5 days"), at most valid_until.')
    medicine: str
    dosage: str
    frequency: str
    duration: str
    route: str


class SummaryOut(Schema):
    patient_id: int
    allergy_status: str
    allergies: list[dict]
    problems: list[dict]
    medications: list[dict]
    prescribed: list[SummaryPrescribedOut]
    last_vitals: VitalsOut | None
    recent_visits: list[SummaryVisitOut]
    upcoming_appointments: list[SummaryAppointmentOut]
    family_history: list[dict]


@router.get("/{code}/patients/{patient_id}/summary", response=SummaryOut)
def patient_summary(request, code: str, patient_id: int):
    """The one-page summary, as the chart shows it: active problems, allergies, current
    medications (recorded, and ``prescribed`` on valid finalized prescriptions), last vitals,
    recent visits and upcoming appointments."""
    ctx = clinic_context(request, code, Perm.CLINICAL_VIEW)
    patient = patient_get_for_user(user=ctx.user, clinic=ctx.clinic, pk=patient_id)
    record_read(request, clinic=ctx.clinic, obj=patient, action="view summary", patient_id=patient.pk)
    summary = selectors.patient_summary(patient=patient, family=True)
    return {
        "patient_id": patient.pk,
        "family_history": [history_item_out("family-history", entry) for entry in summary["family_history"]],
        "allergy_status": summary["allergy_status"],
        "allergies": [history_item_out("allergies", a) for a in summary["allergies"]],
        "problems": [history_item_out("conditions", c) for c in summary["problems"]],
        "medications": [history_item_out("medications", m) for m in summary["medications"]],
        "prescribed": [
            {
                "prescription_id": item.prescription_id,
                "prescription_reference": item.prescription.reference,
                "valid_until": item.prescription.valid_until,
                "until": item.until,
                "medicine": item.medicine,
                "dosage": item.dosage,
                "frequency": item.frequency,
                "duration": item.duration,
                "route": item.route,
            }
            for item in summary["prescribed"]
        ],
        "last_vitals": vitals_out(summary["last_vitals"]) if summary["last_vitals"] else None,
        "recent_visits": [
            {
                "id": v.pk,
                "reference": v.reference,
                "status": v.status,
                "started_at": v.started_at,
                "doctor_id": v.doctor_id,
                "doctor_name": str(v.doctor),
                "assessment": v.note.assessment if hasattr(v, "note") else "",
                "diagnosis_codes": v.note.diagnosis_codes if hasattr(v, "note") else [],
            }
            for v in summary["recent_visits"]
        ],
        "upcoming_appointments": [
            {
                "id": a.pk,
                "reference": a.reference,
                "starts_at": a.starts_at,
                "type": a.type,
                "status": a.status,
                "doctor_id": a.doctor_id,
                "doctor_name": str(a.doctor),
            }
            for a in summary["upcoming_appointments"]
        ],
    }


# Before "allergies/{allergy_id}", whose pattern would otherwise take "none".
class AllergyStatusOut(Schema):
    allergy_status: str
    recorded_at: datetime.datetime


@router.post("/{code}/patients/{patient_id}/allergies/none", response={200: AllergyStatusOut, 409: Problem})
def allergies_none(request, code: str, patient_id: int):
    """Record "No known allergies" (asked and none reported); 409 while an allergy is active."""
    ctx = clinic_context(request, code, Perm.MEDICAL_HISTORY_EDIT)
    patient = patient_get_for_user(user=ctx.user, clinic=ctx.clinic, pk=patient_id)
    statement: AllergyStatement = services.no_known_allergies_record(patient=patient, user=ctx.user)
    return {"allergy_status": services.allergy_state(patient=patient), "recorded_at": statement.recorded_at}


def _patch_history_item(request, code: str, kind: str, patient_id: int, item_id: int, payload: Input) -> dict:
    ctx = clinic_context(request, code, Perm.MEDICAL_HISTORY_EDIT)
    patient = patient_get_for_user(user=ctx.user, clinic=ctx.clinic, pk=patient_id)
    item = selectors.history_item_get(kind=kind, patient=patient, pk=item_id)
    item = services.history_item_save(kind=kind, patient=patient, user=ctx.user, data=payload.model_dump(exclude_unset=True), item=item)
    return history_item_out(kind, item)


@router.patch("/{code}/patients/{patient_id}/allergies/{allergy_id}", response={200: dict, 422: Problem})
def allergy_patch(request, code: str, patient_id: int, allergy_id: int, payload: AllergyPatch):
    """Change an allergy; ``status: inactive`` marks it inactive."""
    return _patch_history_item(request, code, "allergies", patient_id, allergy_id, payload)


@router.patch("/{code}/patients/{patient_id}/conditions/{condition_id}", response={200: dict, 422: Problem})
def condition_patch(request, code: str, patient_id: int, condition_id: int, payload: ConditionPatch):
    """Change a condition (status active, inactive or history_of)."""
    return _patch_history_item(request, code, "conditions", patient_id, condition_id, payload)


@router.patch("/{code}/patients/{patient_id}/medications/{medication_id}", response={200: dict, 422: Problem})
def medication_patch(request, code: str, patient_id: int, medication_id: int, payload: MedicationPatch):
    """Change a medication; ``status: inactive`` makes it a past medication."""
    return _patch_history_item(request, code, "medications", patient_id, medication_id, payload)


@router.patch("/{code}/patients/{patient_id}/immunizations/{immunization_id}", response={200: dict, 422: Problem})
def immunization_patch(request, code: str, patient_id: int, immunization_id: int, payload: ImmunizationPatch):
    """Change an immunization; ``status: inactive`` marks it entered in error."""
    return _patch_history_item(request, code, "immunizations", patient_id, immunization_id, payload)


@router.patch("/{code}/patients/{patient_id}/procedures/{procedure_id}", response={200: dict, 422: Problem})
def procedure_patch(request, code: str, patient_id: int, procedure_id: int, payload: ProcedurePatch):
    """Change a procedure (planned, done, or inactive for cancelled)."""
    return _patch_history_item(request, code, "procedures", patient_id, procedure_id, payload)


@router.patch("/{code}/patients/{patient_id}/family-history/{entry_id}", response={200: dict, 422: Problem})
def family_history_patch(request, code: str, patient_id: int, entry_id: int, payload: FamilyHistoryPatch):
    """Change a family history entry; ``status: inactive`` marks it entered in error."""
    return _patch_history_item(request, code, "family-history", patient_id, entry_id, payload)


# List and create, the same shape for each of the six lists.
for _kind in services.HISTORY_LISTS:
    _register_history_list(_kind)
