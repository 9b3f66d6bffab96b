"""Lab orders and results: ordered → sample collected → in progress → completed, reference
ranges by sex and age, flags computed here, versions for corrections, and the critical-result
loop (notify at once, escalate until acknowledged)."""

import datetime
import os
import secrets
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from clinical.allergy_check import normalize as normalize_medicine
from clinical.inputs import LabResultInput
from clinical.models import (
    LabOrder,
    LabOrderSequence,
    LabOrderTest,
    LabResult,
    LabTest,
    ReferenceRange,
    Visit,
)
from clinical.services.visits import _doctor_profile
from clinicos.counters import counter_next
from clinicos.errors import Conflict, TransitionNotAllowed
from clinicos.models import Clinic, DoctorProfile, Notification, User
from clinicos.roles import Role
from clinicos.selectors import members_with_role
from clinicos.services import notify
from clinicos.tasks import enqueue_on_commit
from clinicos.text import check_no_nul
from clinicos.uploads import check_upload, safe_file_name
from patients.models import Patient
from scheduling import services as scheduling_services

# --- Lab orders and results -----------------------------------------------------------------

# One step at a time, never back (healthcare-management-system: "cannot skip status
# transitions"); cancelling is possible until the order is completed.
# An order at this limit still prints in a few seconds (tested).
MAX_TESTS_PER_ORDER = 50

LAB_ORDER_TRANSITIONS: dict[str, frozenset[str]] = {
    LabOrder.Status.ORDERED: frozenset({LabOrder.Status.SAMPLE_COLLECTED, LabOrder.Status.CANCELLED}),
    LabOrder.Status.SAMPLE_COLLECTED: frozenset({LabOrder.Status.IN_PROGRESS, LabOrder.Status.CANCELLED}),
    LabOrder.Status.IN_PROGRESS: frozenset({LabOrder.Status.COMPLETED, LabOrder.Status.CANCELLED}),
    LabOrder.Status.COMPLETED: frozenset(),
    LabOrder.Status.CANCELLED: frozenset(),
}
# Who and when of each step, on the order.
_STEP_FIELDS: dict[str, tuple[str, str]] = {
    LabOrder.Status.SAMPLE_COLLECTED: ("sample_collected_by", "sample_collected_at"),
    LabOrder.Status.IN_PROGRESS: ("started_by", "started_at"),
    LabOrder.Status.COMPLETED: ("completed_by", "completed_at"),
    LabOrder.Status.CANCELLED: ("cancelled_by", "cancelled_at"),
}
RESULTS_ALLOWED_IN = frozenset({LabOrder.Status.SAMPLE_COLLECTED, LabOrder.Status.IN_PROGRESS, LabOrder.Status.COMPLETED})
CRITICAL_FLAGS = frozenset({LabResult.Flag.CRITICAL_LOW, LabResult.Flag.CRITICAL_HIGH})
FINAL_STATUSES = frozenset({LabResult.Status.FINAL, LabResult.Status.AMENDED})


@transaction.atomic
def lab_order_create(
    *,
    patient: Patient,
    user: User,
    lab_tests: list[LabTest],
    urgency: str = LabOrder.Urgency.ROUTINE,
    visit: Visit | None = None,
    clinical_notes: str = "",
) -> LabOrder:
    """Order tests of the clinic's catalog for a patient (usually in a visit): doctors only."""
    clinic = patient.clinic
    doctor = _doctor_profile(clinic, user, action="order lab tests")
    errors: dict[str, str] = {}
    if not lab_tests:
        errors["tests"] = "Choose at least one test."
    elif len(lab_tests) > MAX_TESTS_PER_ORDER:
        errors["tests"] = f"At most {MAX_TESTS_PER_ORDER} tests on one order: make a second order."
    inactive = [test.code for test in lab_tests if not test.is_active or test.clinic_id != clinic.pk]
    if inactive:
        errors["tests"] = f"Not in this clinic's catalog: {', '.join(inactive)}."
    if len({test.pk for test in lab_tests}) != len(lab_tests):
        errors["tests"] = "Each test once."
    if urgency not in LabOrder.Urgency.values:
        errors["urgency"] = "Routine or urgent."
    if visit is not None and visit.patient_id != patient.pk:
        errors["visit_id"] = "This visit is another patient's."
    clinical_notes = (clinical_notes or "").strip()
    check_no_nul(clinical_notes=clinical_notes)
    if len(clinical_notes) > 500:
        errors["clinical_notes"] = "At most 500 characters."
    if errors:
        raise ValidationError(errors)
    order = LabOrder.objects.create(
        clinic=clinic,
        reference=f"{clinic.code}-L{counter_next(LabOrderSequence, clinic=clinic)}",
        patient=patient,
        visit=visit,
        ordering_doctor=doctor,
        urgency=urgency,
        clinical_notes=clinical_notes,
        ordered_by=user,
        ordered_at=timezone.now(),
    )
    LabOrderTest.objects.bulk_create([LabOrderTest(clinic=clinic, order=order, lab_test=test) for test in lab_tests])
    return order


def _set_step(order: LabOrder, to_status: str, user: User, now: datetime.datetime) -> None:
    order.status = to_status
    by_field, at_field = _STEP_FIELDS[to_status]
    setattr(order, by_field, user)
    setattr(order, at_field, now)


@transaction.atomic
def lab_order_set_status(*, order: LabOrder, user: User, to_status: str, reason: str = "") -> LabOrder:
    """Move the order one step on (or cancel it, with a reason, before it is completed).
    Completed follows from the results: every test needs a final one."""
    order = LabOrder.objects.select_for_update().get(pk=order.pk)
    if to_status not in LabOrder.Status.values:
        raise ValidationError({"status": f"One of: {', '.join(LabOrder.Status.values)}."})
    if to_status not in LAB_ORDER_TRANSITIONS[order.status]:
        current = order.get_status_display()
        target = LabOrder.Status(to_status).label
        if order.status in (LabOrder.Status.COMPLETED, LabOrder.Status.CANCELLED):
            raise TransitionNotAllowed(f"Order {order.reference} is {current.lower()}: its status can no longer change.")
        raise TransitionNotAllowed(f"Order {order.reference} is “{current}”: it cannot go to “{target}” (one step at a time, never back).")
    reason = (reason or "").strip()
    check_no_nul(reason=reason)
    if to_status == LabOrder.Status.CANCELLED:
        if not reason:
            raise ValidationError({"reason": "Say why the order is cancelled."})
        order.cancel_reason = reason[:250]
    if to_status == LabOrder.Status.COMPLETED and not _every_test_final(order):
        raise Conflict(f"Order {order.reference} is completed once every test has a final result.")
    _set_step(order, to_status, user, timezone.now())
    order.save()
    return order


def _every_test_final(order: LabOrder) -> bool:
    tests = LabOrderTest.objects.filter(order=order)
    finals = LabResult.objects.filter(order_test__order=order, is_current=True, status__in=FINAL_STATUSES)
    return tests.count() == finals.count()


# --- Reference ranges and flags ---


def applicable_range(lab_test: LabTest, *, sex: str, age_years: int | None, ranges=None) -> ReferenceRange | None:
    """The range that fits the patient: their sex before "any", then the narrowest age band.
    Without a known age, only bands that start at 0 and have no upper age apply."""
    candidates = []
    for reference in ranges if ranges is not None else lab_test.ranges.all():
        if reference.sex not in (ReferenceRange.Sex.ANY, sex):
            continue
        if age_years is None:
            if reference.age_min_years != 0 or reference.age_max_years is not None:
                continue
        elif age_years < reference.age_min_years or (reference.age_max_years is not None and age_years >= reference.age_max_years):
            continue
        width = (reference.age_max_years or 200) - reference.age_min_years
        candidates.append((reference.sex == ReferenceRange.Sex.ANY, width, reference.age_min_years, reference.pk, reference))
    return min(candidates)[-1] if candidates else None


def range_text(low, high, unit: str = "") -> str:
    def shown(value):
        return f"{Decimal(value).normalize():f}"

    suffix = f" {unit}" if unit else ""
    if low is not None and high is not None:
        return f"{shown(low)}–{shown(high)}{suffix}"
    if low is not None:
        return f"≥ {shown(low)}{suffix}"
    if high is not None:
        return f"≤ {shown(high)}{suffix}"
    return ""


def numeric_flag(value: Decimal, *, low=None, high=None, critical_low=None, critical_high=None) -> str:
    """At a bound is inside it: a value equal to ``high`` is normal, equal to
    ``critical_high`` is critical (the critical bound is the first critical value)."""
    if critical_low is not None and value <= critical_low:
        return LabResult.Flag.CRITICAL_LOW
    if critical_high is not None and value >= critical_high:
        return LabResult.Flag.CRITICAL_HIGH
    if low is not None and value < low:
        return LabResult.Flag.LOW
    if high is not None and value > high:
        return LabResult.Flag.HIGH
    return LabResult.Flag.NORMAL


def text_flag(value: str, normal_text: str) -> str:
    if not normal_text:
        return LabResult.Flag.NORMAL
    return LabResult.Flag.NORMAL if normalize_medicine(value) == normalize_medicine(normal_text) else LabResult.Flag.ABNORMAL


def _result_value(lab_test: LabTest, entry: LabResultInput, field: str) -> tuple[Decimal | None, str]:
    """The value the test's type takes: the text, or the number (to the column's places)."""
    if not entry.text:
        raise ValidationError({field: "Enter the result."})
    check_no_nul(value=entry.text)
    if lab_test.result_type == LabTest.ResultType.TEXT:
        if len(entry.text) > 250:
            raise ValidationError({field: "At most 250 characters."})
        return None, entry.text
    if entry.number is None:
        raise ValidationError({field: f"{lab_test.name} is a number (e.g. 4.2)."})
    return entry.number.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP), ""


@dataclass(frozen=True)
class _ResultEntry:
    """One result as entered, checked against its order test."""

    order_test: LabOrderTest
    value_numeric: Decimal | None
    value_text: str
    unit: str
    final: bool
    override: str
    override_reason: str


@transaction.atomic
def lab_results_enter(*, order: LabOrder, user: User, results: list[LabResultInput]) -> list[LabResult]:
    """Enter results (lab technicians), parsed at the edge (``clinical.inputs``). Only once the sample is collected (the order moves to In progress);
    the range that applies to the patient is copied onto the result and the flag computed;
    a result already entered gets a new version (a corrected final one is Amended). When
    every test has a final result the order is completed. Critical results start the
    critical-result loop."""
    order = _lock_order_for_results(order)
    if not results:
        raise ValidationError({"results": "Enter at least one result."})
    order_tests = {
        t.pk: t for t in LabOrderTest.objects.filter(order=order).select_related("lab_test").prefetch_related("lab_test__ranges")
    }
    entries = _clean_result_entries(order_tests, results)
    now = timezone.now()
    if order.status == LabOrder.Status.SAMPLE_COLLECTED:
        _set_step(order, LabOrder.Status.IN_PROGRESS, user, now)
    age = order.patient.age_on(timezone.localdate(now, timezone=order.clinic.tzinfo))
    saved = [_result_save(order, entry, age=age, user=user, now=now) for entry in entries]
    if order.status == LabOrder.Status.IN_PROGRESS and _every_test_final(order):
        _set_step(order, LabOrder.Status.COMPLETED, user, now)
        _notify_results_ready(order)
    order.save()
    for result in saved:
        if result.flag in CRITICAL_FLAGS:
            _start_critical_loop(order, result)
    return saved


def _lock_order_for_results(order: LabOrder) -> LabOrder:
    order = LabOrder.objects.select_for_update().select_related("patient", "clinic", "ordering_doctor__user").get(pk=order.pk)
    if order.status not in RESULTS_ALLOWED_IN:
        if order.status == LabOrder.Status.CANCELLED:
            raise Conflict(f"Order {order.reference} was cancelled.")
        raise Conflict(f"Order {order.reference} is “{order.get_status_display()}”: results are entered once the sample is collected.")
    return order


def _clean_result_entries(order_tests: dict[int, LabOrderTest], results: list[LabResultInput]) -> list[_ResultEntry]:
    """Every entry checked; all field problems at once (``results.<n>.<field>``)."""
    entries: list[_ResultEntry] = []
    errors: dict[str, str] = {}
    seen: set[int] = set()
    for index, raw in enumerate(results):
        try:
            entries.append(_clean_result_entry(order_tests, raw, f"results.{index}.", seen))
        except ValidationError as error:
            errors.update({key: " ".join(messages) for key, messages in error.message_dict.items()})
    if errors:
        raise ValidationError(errors)
    return entries


def _clean_result_entry(order_tests: dict[int, LabOrderTest], raw: LabResultInput, prefix: str, seen: set[int]) -> _ResultEntry:
    order_test = order_tests.get(raw.test_id)
    if order_test is None:
        raise ValidationError({f"{prefix}test_id": "Not a test of this order."})
    if raw.test_id in seen:
        raise ValidationError({f"{prefix}test_id": "Each test once."})
    seen.add(raw.test_id)
    lab_test = order_test.lab_test
    value_numeric, value_text = _result_value(lab_test, raw, f"{prefix}value")
    unit = raw.unit or lab_test.unit
    if lab_test.unit and unit.casefold() != lab_test.unit.casefold():
        raise ValidationError({f"{prefix}unit": f"Enter {lab_test.name} in {lab_test.unit}, the unit of the catalog and its ranges."})
    if raw.flag and raw.flag not in LabResult.Flag.values:
        raise ValidationError({f"{prefix}flag": f"One of: {', '.join(LabResult.Flag.values)}."})
    check_no_nul(flag_reason=raw.flag_reason)
    return _ResultEntry(order_test, value_numeric, value_text, unit, raw.final, raw.flag, raw.flag_reason[:250])


def _result_save(order: LabOrder, entry: _ResultEntry, *, age: int | None, user: User, now: datetime.datetime) -> LabResult:
    """A new current version of the test's result, with the range that applies to the
    patient copied onto it and its flag computed (or overridden, with a reason)."""
    lab_test = entry.order_test.lab_test
    current = LabResult.objects.select_for_update().filter(order_test=entry.order_test, is_current=True).first()
    corrects_final = current is not None and current.status in FINAL_STATUSES
    if corrects_final and not entry.final:
        raise ValidationError({"results": f"{lab_test.name} already has a final result: a correction is final too."})
    result = LabResult(
        clinic_id=order.clinic_id,
        order_test=entry.order_test,
        patient=order.patient,
        lab_test=lab_test,
        version=(current.version + 1) if current else 1,
        previous=current,
        value_numeric=entry.value_numeric,
        value_text=entry.value_text,
        unit=entry.unit,
        entered_by=user,
        entered_at=now,
    )
    if corrects_final:
        result.status = LabResult.Status.AMENDED
    else:
        result.status = LabResult.Status.FINAL if entry.final else LabResult.Status.PRELIMINARY
    reference = applicable_range(lab_test, sex=order.patient.gender, age_years=age, ranges=list(lab_test.ranges.all()))
    _copy_range(result, lab_test, reference)
    _set_flag(result, entry)
    if current is not None:
        current.is_current = False
        current.save(update_fields=["is_current"])
    result.save()
    return result


def _copy_range(result: LabResult, lab_test: LabTest, reference: ReferenceRange | None) -> None:
    """The range that applied when the result was entered stays with it."""
    if reference is not None:
        result.range_low, result.range_high = reference.low, reference.high
        result.range_critical_low, result.range_critical_high = reference.critical_low, reference.critical_high
        result.range_text = range_text(reference.low, reference.high, lab_test.unit)[:120]
    elif lab_test.result_type == LabTest.ResultType.TEXT and lab_test.normal_text:
        result.range_text = lab_test.normal_text


def _set_flag(result: LabResult, entry: _ResultEntry) -> None:
    """The flag computed here; one set by hand only with a reason."""
    if entry.value_numeric is not None:
        result.computed_flag = numeric_flag(
            entry.value_numeric,
            low=result.range_low,
            high=result.range_high,
            critical_low=result.range_critical_low,
            critical_high=result.range_critical_high,
        )
    else:
        result.computed_flag = text_flag(entry.value_text, result.lab_test.normal_text)
    result.flag = result.computed_flag
    if entry.override and entry.override != result.computed_flag:
        if not entry.override_reason:
            raise ValidationError({"results": f"Say why the flag of {result.lab_test.name} is changed from the computed one."})
        result.flag, result.flag_override_reason = entry.override, entry.override_reason


def _result_url(order: LabOrder) -> str:
    return reverse("lab_order_detail", args=[order.clinic.code, order.pk])


def _notify_results_ready(order: LabOrder) -> None:
    notify(
        clinic=order.clinic,
        recipients=[order.ordering_doctor.user_id],
        kind=Notification.Kind.LAB_RESULTS_READY,
        title=f"Results of {order.reference} for {order.patient.full_name} are ready to review",
        url=_result_url(order),
    )


def _start_critical_loop(order: LabOrder, result: LabResult) -> None:
    """Tell the ordering doctor at once; escalate later if nobody has acknowledged it."""
    from clinical.tasks import escalate_critical_result  # the task calls back into this module

    lab_test = result.lab_test
    notify(
        clinic=order.clinic,
        recipients=[order.ordering_doctor.user_id],
        kind=Notification.Kind.CRITICAL_RESULT,
        title=f"CRITICAL: {lab_test.name} {result.value_display} {result.unit} ({result.get_flag_display().lower()}) — "
        f"{order.patient.full_name}, {order.reference}",
        url=_result_url(order),
    )
    delay = datetime.timedelta(minutes=order.clinic.critical_result_escalation_minutes)
    # On commit: the worker must find the result it is asked to escalate (and none that rolled back).
    enqueue_on_commit(escalate_critical_result, result.pk, run_after=timezone.now() + delay)


def unacknowledged_critical_results(clinic: Clinic):
    return LabResult.objects.filter(clinic=clinic, is_current=True, flag__in=CRITICAL_FLAGS, acknowledged_at__isnull=True)


def doctors_on_duty(clinic: Clinic, at: datetime.datetime) -> list[DoctorProfile]:
    """The doctors whose working time (hours, extra sessions, less leave) covers ``at``."""
    day = timezone.localdate(at, timezone=clinic.tzinfo)
    doctors = DoctorProfile.objects.filter(clinic=clinic, is_active=True).select_related("clinic")
    return [
        doctor
        for doctor in doctors
        if any(start <= at < end for start, end in scheduling_services.availability_blocks(doctor=doctor, day=day))
    ]


@transaction.atomic
def critical_result_escalate(*, result_id: int) -> bool:
    """Run by the worker once the clinic's minutes have passed: when the critical result is
    still unacknowledged (and current), tell the administrators and the doctors on duty.
    Returns whether it escalated."""
    result = LabResult.objects.select_for_update().filter(pk=result_id).first()
    if result is None or not result.is_current or result.flag not in CRITICAL_FLAGS:
        return False
    if result.acknowledged_at is not None or result.escalated_at is not None:
        return False
    order = LabOrder.objects.select_related("clinic", "patient", "ordering_doctor__user").get(pk=result.order_test.order_id)
    clinic = order.clinic
    now = timezone.now()
    admins = [membership.user_id for membership in members_with_role(clinic_id=clinic.pk, role=Role.ADMIN)]
    on_duty = [doctor.user_id for doctor in doctors_on_duty(clinic, now)]
    minutes = clinic.critical_result_escalation_minutes
    notify(
        clinic=clinic,
        recipients={*admins, *on_duty, order.ordering_doctor.user_id},
        kind=Notification.Kind.CRITICAL_RESULT_ESCALATED,
        title=f"Not acknowledged for {minutes} min: CRITICAL {result.lab_test.name} {result.value_display} {result.unit} — "
        f"{order.patient.full_name}, ordered by {order.ordering_doctor}",
        url=_result_url(order),
    )
    result.escalated_at = now
    result.save(update_fields=["escalated_at"])
    return True


@transaction.atomic
def lab_result_acknowledge(*, result: LabResult, user: User, comment: str) -> LabResult:
    """A doctor acknowledges a critical result, always with a comment (what was done)."""
    comment = (comment or "").strip()
    check_no_nul(comment=comment)
    if not comment:
        raise ValidationError({"comment": "Say what was done about this critical result."})
    result = LabResult.objects.select_for_update().get(pk=result.pk)
    _doctor_profile(result.clinic, user, action="acknowledge a critical result")
    if result.flag not in CRITICAL_FLAGS:
        raise Conflict("Only critical results are acknowledged.")
    if not result.is_current:
        raise Conflict("A newer version of this result exists: acknowledge that one.")
    if result.acknowledged_at is not None:
        raise Conflict(f"Already acknowledged by {result.acknowledged_by.full_name if result.acknowledged_by else 'a doctor'}.")
    result.acknowledged_by, result.acknowledged_at, result.acknowledgement_comment = user, timezone.now(), comment[:2000]
    result.save(update_fields=["acknowledged_by", "acknowledged_at", "acknowledgement_comment"])
    return result


@transaction.atomic
def lab_order_review(*, order: LabOrder, user: User) -> LabOrder:
    """The doctor has read the completed order's results and signs them off."""
    _doctor_profile(order.clinic, user, action="sign off results")
    order = LabOrder.objects.select_for_update().get(pk=order.pk)
    if order.status != LabOrder.Status.COMPLETED:
        raise Conflict(f"Order {order.reference} is not completed yet.")
    if order.reviewed_at is not None:
        raise Conflict(f"Order {order.reference} was already signed off.")
    order.reviewed_by, order.reviewed_at = user, timezone.now()
    order.save(update_fields=["reviewed_by", "reviewed_at"])
    return order


LAB_REPORT_MAX_BYTES = 10 * 1024 * 1024


@transaction.atomic
def lab_report_attach(*, order: LabOrder, user: User, upload) -> LabOrder:
    """Attach the lab's report (PDF or image, checked by its content like documents)."""
    order = LabOrder.objects.select_for_update().get(pk=order.pk)
    if order.status in (LabOrder.Status.ORDERED, LabOrder.Status.CANCELLED):
        raise Conflict(f"Order {order.reference} is “{order.get_status_display()}”: attach the report once the sample is collected.")
    checked = check_upload(upload, max_bytes=LAB_REPORT_MAX_BYTES, field="report")
    name = safe_file_name(upload.name or "", checked.content_type, fallback="lab-report")
    order.report_file.save(f"{secrets.token_hex(16)}{os.path.splitext(name)[1]}", checked.file, save=False)
    order.report_file_name, order.report_content_type, order.report_size = name, checked.content_type, checked.size
    order.report_uploaded_by, order.report_uploaded_at, order.report_removed_at = user, timezone.now(), None
    order.save()
    return order


@transaction.atomic
def lab_report_remove(*, order: LabOrder, user: User) -> LabOrder:
    """Soft delete: the file stays in storage and in the history, no longer shown."""
    order = LabOrder.objects.select_for_update().get(pk=order.pk)
    if not order.report_file or order.report_removed_at is not None:
        raise Conflict("This order has no report attached.")
    order.report_removed_at = timezone.now()
    order.save(update_fields=["report_removed_at"])
    return order


@transaction.atomic
def lab_test_save(*, clinic: Clinic, form, formset) -> LabTest:
    """Save a catalog test and its reference ranges (the settings page's validated form and
    formset), in one transaction. Codes are kept in capitals."""
    lab_test = form.save(commit=False)
    lab_test.clinic = clinic
    lab_test.code = lab_test.code.strip().upper()
    try:
        with transaction.atomic():
            lab_test.save()
    except IntegrityError:
        raise ValidationError({"code": "The catalog already has a test with this code."}) from None
    formset.instance = lab_test
    for reference in formset.save(commit=False):
        reference.clinic = clinic
        reference.lab_test = lab_test
        reference.save()
    for reference in formset.deleted_objects:
        reference.delete()
    return lab_test
