"""Orders in the JSON API (/api/v1/clinics/{code}/prescriptions…, lab-tests, lab-orders…,
lab-results…). Doctors prescribe and order; pharmacists read and dispense prescriptions;
lab technicians work lab orders; front desk, CRO and billing are refused (403). The rules
are the services' (``clinical.services``); another clinic's id is a 404."""

import datetime
from decimal import Decimal

from ninja import Query, Router, Schema, Status

from clinical import pdf, selectors, services
from clinical.inputs import LabResultInput
from clinical.models import LabOrder, LabResult, LabTest, Prescription, Visit
from clinicos.api import Input, Problem, clinic_context, field_problem
from clinicos.audit import record_read
from clinicos.downloads import pdf_response
from clinicos.roles import Perm
from patients.selectors import patient_get_for_user

router = Router(tags=["orders"])


# --- Prescriptions ---------------------------------------------------------------------------


class PrescriptionItemIn(Input):
    medicine: str = ""
    dosage: str = ""
    frequency: str = ""
    duration: str = ""
    quantity: int | None = None
    route: str = "oral"
    instructions: str = ""
    formulary_item_id: int | None = None


class PrescriptionIn(Input):
    visit_id: int
    items: list[PrescriptionItemIn]
    notes: str = ""
    supersedes_id: int | None = None


class PrescriptionPatch(Input):
    items: list[PrescriptionItemIn] | None = None
    notes: str | None = None


class FinalizeIn(Input):
    allergy_override_reason: str = ""
    # The app asks the doctor to confirm an allergy list nobody has recorded; an integration
    # has no dialog, so it confirms unless it says otherwise (the prescription records it).
    allergies_unknown_confirmed: bool = True


class DispenseItemIn(Input):
    item_id: int
    quantity: int


class DispenseIn(Input):
    items: list[DispenseItemIn] | None = None
    notes: str = ""


class PrescriptionItemOut(Schema):
    id: int
    position: int
    medicine: str
    dosage: str
    frequency: str
    duration: str
    quantity: int
    route: str
    instructions: str
    dispensed: int
    left: int


class WarningOut(Schema):
    id: int
    item_index: int
    allergy: str
    match: str
    drug_class: str
    message: str
    acknowledged: bool
    override_reason: str


class PrescriptionOut(Schema):
    id: int
    reference: str
    status: str
    visit_id: int
    patient_id: int
    doctor_id: int
    supersedes_id: int | None
    notes: str
    created_at: datetime.datetime
    finalized_at: datetime.datetime | None
    valid_until: datetime.date | None
    valid: bool
    allergy_list_unknown: bool
    items: list[PrescriptionItemOut]
    warnings: list[WarningOut]


class DispensationOut(Schema):
    item_id: int
    quantity: int
    dispensed_by_id: int
    dispensed_at: datetime.datetime


def prescription_out(prescription: Prescription) -> dict:
    items = selectors.prescription_items(prescription)
    warnings = [services.warning_out(warning) for item in items for warning in item.warnings.all()]
    return {
        "id": prescription.pk,
        "reference": prescription.reference,
        "status": prescription.status,
        "visit_id": prescription.visit_id,
        "patient_id": prescription.patient_id,
        "doctor_id": prescription.doctor_id,
        "supersedes_id": prescription.supersedes_id,
        "notes": prescription.notes,
        "created_at": prescription.created_at,
        "finalized_at": prescription.finalized_at,
        "valid_until": prescription.valid_until,
        "valid": services.prescription_is_valid(prescription),
        "allergy_list_unknown": prescription.allergy_list_unknown,
        "items": [
            {
                **{field: getattr(item, field) for field in ("id", "position", *services.PRESCRIPTION_ITEM_FIELDS)},
                "dispensed": item.dispensed,
                "left": item.left,
            }
            for item in items
        ],
        "warnings": warnings,
    }


def _items(payload_items) -> list[dict]:
    return [item.model_dump(exclude_none=True) for item in payload_items]


@router.post("/{code}/prescriptions", response={201: PrescriptionOut, 404: Problem, 409: Problem, 422: Problem})
def prescription_create(request, code: str, payload: PrescriptionIn):
    """Write a draft prescription for a visit (doctors). The answer lists the allergy
    ``warnings`` of its items. 409 when the visit already has an active prescription (send
    ``supersedes_id`` to correct its finalized one)."""
    ctx = clinic_context(request, code, Perm.PRESCRIPTIONS_WRITE)
    visit = selectors.visit_get_for_user(user=ctx.user, clinic=ctx.clinic, pk=payload.visit_id)
    supersedes = None
    if payload.supersedes_id is not None:
        supersedes = Prescription.objects.for_clinic(ctx.clinic).filter(pk=payload.supersedes_id, visit=visit).first()
        if supersedes is None:
            return field_problem("supersedes_id", "Not a prescription of this visit.")
    prescription = services.prescription_create(
        visit=visit, user=ctx.user, items=_items(payload.items), notes=payload.notes, supersedes=supersedes
    )
    return Status(201, prescription_out(prescription))


@router.get("/{code}/prescriptions", response=list[PrescriptionOut])
def prescription_list(request, code: str, patient_id: int | None = None, dispensable: bool = False):
    """A patient's prescriptions (``patient_id``), or the pharmacy's worklist
    (``dispensable=1``: finalized, valid, something left to dispense)."""
    ctx = clinic_context(request, code, Perm.PRESCRIPTIONS_VIEW)
    if patient_id is not None:
        patient = patient_get_for_user(user=ctx.user, clinic=ctx.clinic, pk=patient_id)
        record_read(request, clinic=ctx.clinic, obj=patient, action="view prescriptions", patient_id=patient.pk)
        rows = selectors.prescriptions_of_patient(patient=patient)
    else:
        rows = selectors.pharmacy_worklist(clinic=ctx.clinic) if dispensable else Prescription.objects.for_clinic(ctx.clinic).none()
    return [prescription_out(p) for p in rows[:100]]


@router.get("/{code}/prescriptions/{prescription_id}", response=PrescriptionOut)
def prescription_detail(request, code: str, prescription_id: int):
    ctx = clinic_context(request, code, Perm.PRESCRIPTIONS_VIEW)
    prescription = selectors.prescription_get_for_user(user=ctx.user, clinic=ctx.clinic, pk=prescription_id)
    record_read(request, clinic=ctx.clinic, obj=prescription, patient_id=prescription.patient_id)
    return prescription_out(prescription)


@router.patch("/{code}/prescriptions/{prescription_id}", response={200: PrescriptionOut, 409: Problem, 422: Problem})
def prescription_patch(request, code: str, prescription_id: int, payload: PrescriptionPatch):
    """Change a draft (its items replace the old ones). 409 once finalized: it is immutable."""
    ctx = clinic_context(request, code, Perm.PRESCRIPTIONS_WRITE)
    prescription = selectors.prescription_get_for_user(user=ctx.user, clinic=ctx.clinic, pk=prescription_id)
    items = _items(payload.items) if payload.items is not None else None
    prescription = services.prescription_update(prescription=prescription, user=ctx.user, items=items, notes=payload.notes)
    return prescription_out(prescription)


@router.delete("/{code}/prescriptions/{prescription_id}", response={204: None, 409: Problem})
def prescription_delete(request, code: str, prescription_id: int):
    """Discard a draft. 409 for a finalized prescription: it is never deleted."""
    ctx = clinic_context(request, code, Perm.PRESCRIPTIONS_WRITE)
    prescription = selectors.prescription_get_for_user(user=ctx.user, clinic=ctx.clinic, pk=prescription_id)
    services.prescription_discard(prescription=prescription, user=ctx.user)
    return Status(204, None)


@router.post("/{code}/prescriptions/{prescription_id}/finalize", response={200: PrescriptionOut, 409: Problem, 422: Problem})
def prescription_finalize(request, code: str, prescription_id: int, payload: FinalizeIn):
    """Finalize: immutable from now on, valid for 30 days. With allergy warnings, send
    ``allergy_override_reason`` (kept with the prescription); without it, 409 with the
    ``warnings`` still to acknowledge. 409 too when it is already finalized."""
    ctx = clinic_context(request, code, Perm.PRESCRIPTIONS_WRITE)
    prescription = selectors.prescription_get_for_user(user=ctx.user, clinic=ctx.clinic, pk=prescription_id)
    prescription = services.prescription_finalize(
        prescription=prescription,
        user=ctx.user,
        override_reason=payload.allergy_override_reason,
        allergies_unknown_confirmed=payload.allergies_unknown_confirmed,
    )
    return prescription_out(prescription)


@router.get("/{code}/prescriptions/{prescription_id}/pdf", response={200: None, 409: Problem})
def prescription_pdf(request, code: str, prescription_id: int):
    """The printable prescription (A5 PDF); every print is logged. 409 for a draft."""
    ctx = clinic_context(request, code, Perm.PRESCRIPTIONS_VIEW)
    prescription = selectors.prescription_get_for_user(user=ctx.user, clinic=ctx.clinic, pk=prescription_id)
    content = pdf.prescription_pdf_for_request(request, prescription=prescription)
    return pdf_response(content, f"{prescription.reference}.pdf")


@router.post("/{code}/prescriptions/{prescription_id}/dispense", response={200: list[DispensationOut], 409: Problem, 422: Problem})
def prescription_dispense(request, code: str, prescription_id: int, payload: DispenseIn):
    """Dispense (pharmacists): ``items`` with the quantity handed over, or everything left
    when omitted. 409 for a prescription that is not valid (draft, superseded, expired)."""
    ctx = clinic_context(request, code, Perm.PRESCRIPTIONS_DISPENSE)
    prescription = selectors.prescription_get_for_user(user=ctx.user, clinic=ctx.clinic, pk=prescription_id)
    quantities = {item.item_id: item.quantity for item in payload.items} if payload.items is not None else None
    rows = services.prescription_dispense(prescription=prescription, user=ctx.user, quantities=quantities, notes=payload.notes)
    return [
        {"item_id": d.item_id, "quantity": d.quantity, "dispensed_by_id": d.dispensed_by_id, "dispensed_at": d.dispensed_at} for d in rows
    ]


# --- Lab tests, orders and results --------------------------------------------------------------


class RangeOut(Schema):
    sex: str
    age_min_years: int
    age_max_years: int | None
    low: Decimal | None
    high: Decimal | None
    critical_low: Decimal | None
    critical_high: Decimal | None
    label: str


class LabTestOut(Schema):
    id: int
    code: str
    name: str
    specimen: str
    unit: str
    result_type: str
    normal_text: str
    ranges: list[RangeOut]


@router.get("/{code}/lab-tests", response=list[LabTestOut])
def lab_test_list(request, code: str):
    """The clinic's lab catalog with its reference ranges by sex and age."""
    ctx = clinic_context(request, code, Perm.LAB_CATALOG_VIEW)
    return [
        {
            **{field: getattr(test, field) for field in ("id", "code", "name", "specimen", "unit", "result_type", "normal_text")},
            "ranges": [
                {
                    field: getattr(r, field)
                    for field in ("sex", "age_min_years", "age_max_years", "low", "high", "critical_low", "critical_high", "label")
                }
                for r in test.ranges.all()
            ],
        }
        for test in selectors.lab_catalog(clinic=ctx.clinic)
    ]


class LabOrderTestIn(Input):
    code: str


class LabOrderIn(Input):
    visit_id: int | None = None
    patient_id: int | None = None
    urgency: str = LabOrder.Urgency.ROUTINE.value
    tests: list[LabOrderTestIn]
    clinical_notes: str = ""


class LabStatusIn(Input):
    status: str
    reason: str = ""


class LabResultIn(Input):
    test_id: int
    value: str | int | float
    unit: str = ""
    final: bool = False
    flag: str = ""
    flag_reason: str = ""


class LabResultsIn(Input):
    results: list[LabResultIn]


class AcknowledgeIn(Input):
    comment: str = ""


class ReferenceRangeOut(Schema):
    low: Decimal | None
    high: Decimal | None
    critical_low: Decimal | None
    critical_high: Decimal | None
    text: str


class LabResultOut(Schema):
    id: int
    test_id: int
    order_id: int
    patient_id: int
    code: str
    name: str
    version: int
    status: str
    value: str
    unit: str
    flag: str
    computed_flag: str
    flag_override_reason: str
    reference_range: ReferenceRangeOut
    entered_by_id: int
    entered_at: datetime.datetime
    critical: bool
    acknowledged_by_id: int | None
    acknowledged_at: datetime.datetime | None
    acknowledgement_comment: str


class LabOrderTestOut(Schema):
    id: int
    code: str
    name: str
    unit: str
    result: LabResultOut | None


class LabOrderOut(Schema):
    id: int
    reference: str
    status: str
    urgency: str
    patient_id: int
    visit_id: int | None
    ordering_doctor_id: int
    clinical_notes: str
    ordered_at: datetime.datetime
    sample_collected_at: datetime.datetime | None
    started_at: datetime.datetime | None
    completed_at: datetime.datetime | None
    cancelled_at: datetime.datetime | None
    cancel_reason: str
    reviewed_at: datetime.datetime | None
    tests: list[LabOrderTestOut]


def result_out(result: LabResult, order_id: int | None = None) -> dict:
    return {
        "id": result.pk,
        "test_id": result.order_test_id,
        "order_id": order_id if order_id is not None else result.order_test.order_id,
        "patient_id": result.patient_id,
        "code": result.lab_test.code,
        "name": result.lab_test.name,
        "version": result.version,
        "status": result.status,
        "value": result.value_display,
        "unit": result.unit,
        "flag": result.flag,
        "computed_flag": result.computed_flag,
        "flag_override_reason": result.flag_override_reason,
        "reference_range": {
            "low": result.range_low,
            "high": result.range_high,
            "critical_low": result.range_critical_low,
            "critical_high": result.range_critical_high,
            "text": result.range_text,
        },
        "entered_by_id": result.entered_by_id,
        "entered_at": result.entered_at,
        "critical": result.is_critical,
        "acknowledged_by_id": result.acknowledged_by_id,
        "acknowledged_at": result.acknowledged_at,
        "acknowledgement_comment": result.acknowledgement_comment,
    }


def order_out(order: LabOrder, tests=None) -> dict:
    tests = tests if tests is not None else selectors.lab_order_tests(order)
    return {
        **{
            field: getattr(order, field)
            for field in (
                "reference",
                "status",
                "urgency",
                "patient_id",
                "visit_id",
                "ordering_doctor_id",
                "clinical_notes",
                "ordered_at",
                "sample_collected_at",
                "started_at",
                "completed_at",
                "cancelled_at",
                "cancel_reason",
                "reviewed_at",
            )
        },
        "id": order.pk,
        "tests": [
            {
                "id": test.pk,
                "code": test.lab_test.code,
                "name": test.lab_test.name,
                "unit": test.lab_test.unit,
                "result": result_out(test.current, order.pk) if test.current else None,
            }
            for test in tests
        ],
    }


@router.post("/{code}/lab-orders", response={201: LabOrderOut, 404: Problem, 422: Problem})
def lab_order_create(request, code: str, payload: LabOrderIn):
    """Order tests by catalog code for a visit (``visit_id``) or a patient (``patient_id``)."""
    ctx = clinic_context(request, code, Perm.LAB_ORDERS_CREATE)
    if (payload.visit_id is None) == (payload.patient_id is None):
        return field_problem("visit_id", "Send either visit_id or patient_id.")
    visit: Visit | None = None
    if payload.visit_id is not None:
        visit = selectors.visit_get_for_user(user=ctx.user, clinic=ctx.clinic, pk=payload.visit_id)
        patient = visit.patient
    else:
        patient = patient_get_for_user(user=ctx.user, clinic=ctx.clinic, pk=payload.patient_id)
    codes = [test.code.strip().upper() for test in payload.tests]
    catalog = {test.code.upper(): test for test in LabTest.objects.for_clinic(ctx.clinic).filter(is_active=True)}
    unknown = [code for code in codes if code not in catalog]
    if unknown:
        return field_problem("tests", f"Not in this clinic's catalog: {', '.join(unknown)}.")
    order = services.lab_order_create(
        patient=patient,
        user=ctx.user,
        lab_tests=[catalog[code] for code in codes],
        urgency=payload.urgency,
        visit=visit,
        clinical_notes=payload.clinical_notes,
    )
    return Status(201, order_out(order))


@router.get("/{code}/lab-orders", response={200: list[LabOrderOut], 422: Problem})
def lab_order_list(request, code: str, status: str | None = None, patient_id: int | None = None):
    """Lab orders by ``status`` (the worklist: open orders when omitted), or a patient's."""
    ctx = clinic_context(request, code, Perm.LAB_ORDERS_VIEW)
    if status and status not in LabOrder.Status.values:
        return field_problem("status", f"One of: {', '.join(LabOrder.Status.values)}.", location="query")
    if patient_id is not None:
        patient = patient_get_for_user(user=ctx.user, clinic=ctx.clinic, pk=patient_id)
        record_read(request, clinic=ctx.clinic, obj=patient, action="view lab orders", patient_id=patient.pk)
        orders = selectors.lab_orders_of_patient(patient=patient)
        if status:
            orders = orders.filter(status=status)
    else:
        orders = selectors.lab_orders_for_worklist(clinic=ctx.clinic, status=status)
    return [order_out(order) for order in orders[:100]]


@router.get("/{code}/lab-orders/{order_id}", response=LabOrderOut)
def lab_order_detail(request, code: str, order_id: int):
    ctx = clinic_context(request, code, Perm.LAB_ORDERS_VIEW)
    order = selectors.lab_order_get_for_user(user=ctx.user, clinic=ctx.clinic, pk=order_id)
    record_read(request, clinic=ctx.clinic, obj=order, patient_id=order.patient_id)
    return order_out(order)


@router.post("/{code}/lab-orders/{order_id}/status", response={200: LabOrderOut, 409: Problem, 422: Problem})
def lab_order_status(request, code: str, order_id: int, payload: LabStatusIn):
    """One step on: ``sample_collected``, ``in_progress``, ``completed`` (once every test has a
    final result), or ``cancelled`` with a ``reason`` before completion. 409 for a skip, a
    step back, or a cancel after completion."""
    ctx = clinic_context(request, code, Perm.LAB_WORK)
    order = selectors.lab_order_get_for_user(user=ctx.user, clinic=ctx.clinic, pk=order_id)
    order = services.lab_order_set_status(order=order, user=ctx.user, to_status=payload.status, reason=payload.reason)
    return order_out(order)


@router.post("/{code}/lab-orders/{order_id}/results", response={200: LabOrderOut, 409: Problem, 422: Problem})
def lab_order_results(request, code: str, order_id: int, payload: LabResultsIn):
    """Enter results: each gets the reference range that applied and a ``flag`` computed here.
    409 before the sample is collected. The order is ``completed`` once every test has a
    final result; a critical result notifies the ordering doctor at once."""
    ctx = clinic_context(request, code, Perm.LAB_WORK)
    order = selectors.lab_order_get_for_user(user=ctx.user, clinic=ctx.clinic, pk=order_id)
    results = [LabResultInput.of(**result.model_dump()) for result in payload.results]
    services.lab_results_enter(order=order, user=ctx.user, results=results)
    order.refresh_from_db()
    return order_out(order)


@router.get("/{code}/lab-orders/{order_id}/report.pdf", response={200: None, 409: Problem})
def lab_results_report(request, code: str, order_id: int):
    """The results report as a PDF: letterhead, patient, each test's final (or amended)
    value, unit, the range that applied, the flag, who entered it and who verified the
    order. 409 until a result is final; every print is logged."""
    ctx = clinic_context(request, code, Perm.LAB_ORDERS_VIEW)
    order = selectors.lab_order_get_for_user(user=ctx.user, clinic=ctx.clinic, pk=order_id)
    return pdf_response(pdf.lab_results_report_pdf(request, order=order), f"results-{order.reference}.pdf")


@router.post("/{code}/lab-orders/{order_id}/review", response={200: LabOrderOut, 409: Problem})
def lab_order_review(request, code: str, order_id: int):
    """The doctor signs off the completed order's results."""
    ctx = clinic_context(request, code, Perm.LAB_RESULTS_REVIEW)
    order = selectors.lab_order_get_for_user(user=ctx.user, clinic=ctx.clinic, pk=order_id)
    return order_out(services.lab_order_review(order=order, user=ctx.user))


class CriticalQuery(Schema):
    acknowledged: int | None = None


@router.get("/{code}/lab-results/critical", response=list[LabResultOut])
def critical_result_list(request, code: str, filters: Query[CriticalQuery]):
    """Critical results (current versions), ``acknowledged=0`` for those still waiting."""
    ctx = clinic_context(request, code, Perm.LAB_ORDERS_VIEW)
    acknowledged = None if filters.acknowledged is None else bool(filters.acknowledged)
    rows = selectors.critical_results(clinic=ctx.clinic, user=ctx.user, acknowledged=acknowledged)[:200]
    return [result_out(result) for result in rows]


@router.post("/{code}/lab-results/{result_id}/acknowledge", response={200: LabResultOut, 409: Problem, 422: Problem})
def lab_result_acknowledge(request, code: str, result_id: int, payload: AcknowledgeIn):
    """A doctor acknowledges a critical result; the ``comment`` (what was done) is required."""
    ctx = clinic_context(request, code, Perm.LAB_RESULTS_REVIEW)
    result = selectors.lab_result_get_for_user(user=ctx.user, clinic=ctx.clinic, pk=result_id)
    result = services.lab_result_acknowledge(result=result, user=ctx.user, comment=payload.comment)
    return result_out(result)
