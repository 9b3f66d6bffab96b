"""Prescriptions: items from the formulary, the offline allergy check that blocks finalizing
until acknowledged, finalizing once (then immutable; corrections supersede), 30 days'
validity and dispensing."""

import datetime
import secrets

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone

from clinical.allergy_check import check_medicine
from clinical.allergy_check import normalize as normalize_medicine
from clinical.models import (
    Allergy,
    AllergyWarning,
    Dispensation,
    FormularyItem,
    Prescription,
    PrescriptionItem,
    PrescriptionSequence,
    Route,
    Visit,
)
from clinical.services.history import AllergyState, allergy_state
from clinical.services.visits import _doctor_profile
from clinicos.counters import counter_next
from clinicos.errors import Conflict
from clinicos.models import Clinic, User
from clinicos.text import check_no_nul
from patients.models import Patient

# --- Prescriptions --------------------------------------------------------------------------

PRESCRIPTION_VALIDITY = datetime.timedelta(days=30)
PRESCRIPTION_ITEM_FIELDS = ("medicine", "dosage", "frequency", "duration", "quantity", "route", "instructions")
PRESCRIPTION_ITEM_REQUIRED = ("medicine", "dosage", "frequency", "duration")
MAX_ITEMS = 50  # a prescription at this limit still prints in a few seconds (tested)
MAX_QUANTITY = 10_000


class AllergyWarningsPending(Conflict):
    """Finalizing waits until each allergy warning is acknowledged with a reason (409)."""

    def __init__(self, warnings: list[AllergyWarning]):
        super().__init__(
            "Each allergy warning must be acknowledged with a reason before the prescription is finalized: "
            + " ".join(warning.message for warning in warnings)
        )
        self.warnings = warnings

    def problem_fields(self) -> dict:
        return {"warnings": [warning_out(warning) for warning in self.warnings]}


class AllergyListUnknown(Conflict):
    """Nobody has recorded the patient's allergies: the doctor confirms before finalizing."""


def warning_out(warning: AllergyWarning) -> dict:
    return {
        "id": warning.pk,
        "item_index": warning.item.position - 1,
        "allergy": warning.allergy_substance,
        "match": warning.match,
        "drug_class": warning.drug_class,
        "message": warning.message,
        "acknowledged": bool(warning.override_reason),
        "override_reason": warning.override_reason,
    }


def _clean_prescription_item(clinic: Clinic, raw: dict, prefix: str, errors: dict) -> dict:
    unknown = set(raw) - {*PRESCRIPTION_ITEM_FIELDS, "formulary_item_id"}
    if unknown:
        raise ValueError(f"Not prescription item fields: {', '.join(sorted(unknown))}")
    item: dict = {}
    for field in ("medicine", "dosage", "frequency", "duration", "instructions"):
        value = raw.get(field)
        value = "" if value is None else str(value).strip()
        limit = getattr(PrescriptionItem._meta.get_field(field), "max_length", None)
        if field in PRESCRIPTION_ITEM_REQUIRED and not value:
            errors[f"{prefix}{field}"] = "This field is required."
        elif limit and len(value) > limit:
            errors[f"{prefix}{field}"] = f"At most {limit} characters."
        item[field] = value
    check_no_nul(**{field: value for field, value in item.items()})
    quantity = raw.get("quantity")
    try:
        quantity = int(str(quantity).strip()) if quantity not in (None, "") and not isinstance(quantity, bool) else None
    except ValueError:
        quantity = None
        errors[f"{prefix}quantity"] = "Enter a whole number."
    if quantity is None:
        errors.setdefault(f"{prefix}quantity", "Enter how much to dispense.")
    elif not 1 <= quantity <= MAX_QUANTITY:
        errors[f"{prefix}quantity"] = f"Between 1 and {MAX_QUANTITY}."
    item["quantity"] = quantity
    route = raw.get("route") or Route.ORAL
    if route not in Route.values:
        errors[f"{prefix}route"] = f"One of: {', '.join(Route.values)}."
    item["route"] = route
    formulary_id = raw.get("formulary_item_id")
    item["formulary_item"] = None
    if formulary_id not in (None, ""):
        item["formulary_item"] = FormularyItem.objects.filter(clinic=clinic, pk=formulary_id, is_active=True).first()
        if item["formulary_item"] is None:
            errors[f"{prefix}formulary_item_id"] = "Not a medicine of this clinic's formulary."
    return item


def _clean_prescription_items(clinic: Clinic, items) -> list[dict]:
    errors: dict[str, str] = {}
    if not items:
        raise ValidationError({"items": "Add at least one medicine."})
    if len(items) > MAX_ITEMS:
        raise ValidationError({"items": f"At most {MAX_ITEMS} medicines on one prescription."})
    cleaned = [_clean_prescription_item(clinic, dict(raw), f"items.{index}.", errors) for index, raw in enumerate(items)]
    if errors:
        raise ValidationError(errors)
    return cleaned


def _lock_draft(prescription: Prescription) -> Prescription:
    prescription = Prescription.objects.select_for_update().select_related("patient", "visit").get(pk=prescription.pk)
    if prescription.status != Prescription.Status.DRAFT:
        raise Conflict(
            f"Prescription {prescription.reference} is {prescription.get_status_display().lower()} and can no longer be changed: "
            "write a correction instead."
        )
    return prescription


def _active_allergies(patient: Patient) -> list[Allergy]:
    return list(Allergy.objects.filter(clinic_id=patient.clinic_id, patient=patient, status=Allergy.Status.ACTIVE))


def _acknowledged_warnings(prescription: Prescription) -> dict:
    return {
        (normalize_medicine(warning.item.medicine), warning.allergy_id): warning
        for warning in AllergyWarning.objects.filter(item__prescription=prescription).exclude(override_reason="").select_related("item")
    }


def _check_allergies(prescription: Prescription, acknowledged: dict | None = None) -> list[AllergyWarning]:
    """(Re)check every item against the patient's active allergies. A warning already
    acknowledged for the same medicine and allergy keeps its reason."""
    allergies = _active_allergies(prescription.patient)
    items = list(prescription.items.all())
    previous = _acknowledged_warnings(prescription) if acknowledged is None else acknowledged
    AllergyWarning.objects.filter(item__prescription=prescription).delete()
    warnings = []
    for item in items:
        for match in check_medicine(item.medicine, allergies):
            before = previous.get((normalize_medicine(item.medicine), match.allergy.pk))
            warnings.append(
                AllergyWarning(
                    clinic_id=prescription.clinic_id,
                    item=item,
                    allergy=match.allergy,
                    allergy_substance=match.allergy.substance,
                    match=match.match,
                    drug_class=match.drug_class,
                    message=match.message[:300],
                    override_reason=before.override_reason if before else "",
                    acknowledged_by=before.acknowledged_by if before else None,
                    acknowledged_at=before.acknowledged_at if before else None,
                )
            )
    return AllergyWarning.objects.bulk_create(warnings)


def _create_items(prescription: Prescription, items: list[dict]) -> None:
    PrescriptionItem.objects.bulk_create(
        [
            PrescriptionItem(clinic_id=prescription.clinic_id, prescription=prescription, position=index, **item)
            for index, item in enumerate(items, 1)
        ]
    )


@transaction.atomic
def prescription_create(
    *, visit: Visit, user: User, items: list[dict], notes: str = "", supersedes: Prescription | None = None
) -> Prescription:
    """Write a draft prescription for the visit — one per visit, or a correction of its
    finalized one (``supersedes``). Every item is checked against the allergies at once."""
    clinic = visit.clinic
    doctor = _doctor_profile(clinic, user, action="prescribe")
    visit = Visit.objects.select_for_update().select_related("patient", "clinic").get(pk=visit.pk)
    existing = {
        p.status: p for p in Prescription.objects.filter(visit=visit, status__in=[Prescription.Status.DRAFT, Prescription.Status.FINALIZED])
    }
    if supersedes is None and existing:
        current = existing.get(Prescription.Status.DRAFT) or existing[Prescription.Status.FINALIZED]
        raise Conflict(
            f"Visit {visit.reference} already has prescription {current.reference} ({current.get_status_display().lower()}): "
            "change the draft, or correct the finalized one."
        )
    if supersedes is not None:
        supersedes = Prescription.objects.get(pk=supersedes.pk)  # its status as it is now
        if supersedes.visit_id != visit.pk or supersedes.status != Prescription.Status.FINALIZED:
            raise Conflict("Only the visit's finalized prescription can be corrected.")
        if Prescription.Status.DRAFT in existing:
            raise Conflict(f"A correction is already being written: {existing[Prescription.Status.DRAFT].reference}.")
    cleaned = _clean_prescription_items(clinic, items)
    notes = (notes or "").strip()
    check_no_nul(notes=notes)
    prescription = Prescription(
        clinic=clinic,
        reference=f"{clinic.code}-RX{counter_next(PrescriptionSequence, clinic=clinic)}",
        visit=visit,
        patient=visit.patient,
        doctor=doctor,
        supersedes=supersedes,
        notes=notes,
        verification_token=secrets.token_urlsafe(24),
        created_by=user,
    )
    try:
        with transaction.atomic():
            prescription.save()
    except IntegrityError:
        raise Conflict(f"Visit {visit.reference} already has a prescription being written.") from None
    _create_items(prescription, cleaned)
    _check_allergies(prescription)
    return prescription


@transaction.atomic
def prescription_update(
    *, prescription: Prescription, user: User, items: list[dict] | None = None, notes: str | None = None
) -> Prescription:
    """Change a draft: replace its items and/or its notes. A finalized prescription is
    immutable (409)."""
    _doctor_profile(prescription.clinic, user, action="prescribe")
    prescription = _lock_draft(prescription)
    if items is not None:
        cleaned = _clean_prescription_items(prescription.clinic, items)
        acknowledged = _acknowledged_warnings(prescription)
        AllergyWarning.objects.filter(item__prescription=prescription).delete()
        prescription.items.all().delete()
        _create_items(prescription, cleaned)
        _check_allergies(prescription, acknowledged=acknowledged)
    if notes is not None:
        check_no_nul(notes=notes)
        prescription.notes = notes.strip()
    prescription.save()
    return prescription


@transaction.atomic
def prescription_item_add(*, prescription: Prescription, user: User, data: dict) -> PrescriptionItem:
    """Add one medicine to a draft (the visit page's form)."""
    _doctor_profile(prescription.clinic, user, action="prescribe")
    prescription = _lock_draft(prescription)
    position = prescription.items.count() + 1
    if position > MAX_ITEMS:
        raise ValidationError({"medicine": f"At most {MAX_ITEMS} medicines on one prescription."})
    errors: dict[str, str] = {}
    cleaned = _clean_prescription_item(prescription.clinic, data, "", errors)
    if errors:
        raise ValidationError(errors)
    item = PrescriptionItem.objects.create(clinic_id=prescription.clinic_id, prescription=prescription, position=position, **cleaned)
    _check_allergies(prescription)
    prescription.save(update_fields=["updated_at"])
    return item


@transaction.atomic
def prescription_item_remove(*, prescription: Prescription, user: User, item: PrescriptionItem) -> None:
    _doctor_profile(prescription.clinic, user, action="prescribe")
    prescription = _lock_draft(prescription)
    AllergyWarning.objects.filter(item=item).delete()
    PrescriptionItem.objects.filter(pk=item.pk, prescription=prescription).delete()
    for position, remaining in enumerate(prescription.items.order_by("position", "id"), 1):
        if remaining.position != position:
            PrescriptionItem.objects.filter(pk=remaining.pk).update(position=position)
    prescription.save(update_fields=["updated_at"])


@transaction.atomic
def prescription_discard(*, prescription: Prescription, user: User) -> None:
    """Throw a draft away (a finalized prescription is never deleted)."""
    _doctor_profile(prescription.clinic, user, action="prescribe")
    prescription = _lock_draft(prescription)
    AllergyWarning.objects.filter(item__prescription=prescription).delete()
    prescription.items.all().delete()
    prescription.delete()


@transaction.atomic
def prescription_finalize(
    *,
    prescription: Prescription,
    user: User,
    override_reason: str = "",
    reasons: dict[int, str] | None = None,
    allergies_unknown_confirmed: bool = False,
) -> Prescription:
    """Finalize: from now on immutable and valid for 30 days. Blocked until every allergy
    warning carries a reason (one per warning, or one ``override_reason`` for all), and
    until the doctor confirms an allergy list nobody has recorded. A correction replaces
    the prescription it supersedes in the same transaction."""
    _doctor_profile(prescription.clinic, user, action="prescribe")
    prescription = _lock_draft(prescription)
    if not prescription.items.exists():
        raise ValidationError({"items": "Add at least one medicine."})
    check_no_nul(override_reason=override_reason or "", **{str(k): v for k, v in (reasons or {}).items()})
    now = timezone.now()
    # Reasons are given per warning id; rechecking replaces the rows, so match them by
    # medicine and allergy.
    reason_by_match = {
        (normalize_medicine(w.item.medicine), w.allergy_id): (reasons or {}).get(w.pk, "")
        for w in AllergyWarning.objects.filter(item__prescription=prescription).select_related("item")
    }
    warnings = _check_allergies(prescription)  # against the allergies as they are now
    pending = []
    for warning in warnings:
        given = reason_by_match.get((normalize_medicine(warning.item.medicine), warning.allergy_id), "")
        reason = (given or override_reason or "").strip()
        if not warning.override_reason and reason:
            warning.override_reason, warning.acknowledged_by, warning.acknowledged_at = reason[:2000], user, now
            warning.save(update_fields=["override_reason", "acknowledged_by", "acknowledged_at"])
        if not warning.override_reason:
            pending.append(warning)
    if pending:
        raise AllergyWarningsPending(pending)
    state = allergy_state(patient=prescription.patient)
    if state == AllergyState.UNKNOWN and not allergies_unknown_confirmed:
        raise AllergyListUnknown(
            "Nobody has recorded this patient's allergies yet: ask the patient and record them (or “No known allergies”), "
            "or confirm that you prescribe without knowing."
        )
    if prescription.supersedes_id is not None:
        Prescription.objects.filter(pk=prescription.supersedes_id, status=Prescription.Status.FINALIZED).update(
            status=Prescription.Status.SUPERSEDED, updated_at=now
        )
    prescription.status = Prescription.Status.FINALIZED
    prescription.finalized_at = now
    prescription.valid_until = timezone.localdate(now, timezone=prescription.clinic.tzinfo) + PRESCRIPTION_VALIDITY
    prescription.allergy_list_unknown = state == AllergyState.UNKNOWN
    prescription.save()
    return prescription


def prescription_is_valid(prescription: Prescription, today: datetime.date | None = None) -> bool:
    """Finalized, not superseded, and within its 30 days."""
    if prescription.status != Prescription.Status.FINALIZED or prescription.valid_until is None:
        return False
    today = today or timezone.localdate(timezone=prescription.clinic.tzinfo)
    return today <= prescription.valid_until


@transaction.atomic
def prescription_dispense(
    *, prescription: Prescription, user: User, quantities: dict[int, int] | None = None, notes: str = ""
) -> list[Dispensation]:
    """The pharmacist hands over medicines: ``quantities`` by item id (what is left of every
    item when omitted). Never more than prescribed, only while the prescription is valid."""
    prescription = Prescription.objects.select_for_update().select_related("clinic").get(pk=prescription.pk)
    if not prescription_is_valid(prescription):
        if prescription.status == Prescription.Status.FINALIZED:
            raise Conflict(f"Prescription {prescription.reference} expired on {prescription.valid_until:%d %b %Y}.")
        raise Conflict(f"Prescription {prescription.reference} is {prescription.get_status_display().lower()}: it cannot be dispensed.")
    check_no_nul(notes=notes or "")
    items = {item.pk: item for item in prescription.items.all()}
    dispensed = dispensed_quantities(item_ids=list(items))
    remaining = {pk: item.quantity - dispensed.get(pk, 0) for pk, item in items.items()}
    if quantities is None:
        quantities = {pk: left for pk, left in remaining.items() if left > 0}
    errors: dict[str, str] = {}
    for item_id, quantity in quantities.items():
        if item_id not in items:
            errors[f"items.{item_id}"] = "Not an item of this prescription."
        elif not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 0:
            errors[f"items.{item_id}.quantity"] = "Enter a whole number, 0 or more."
        elif quantity > remaining[item_id]:
            errors[f"items.{item_id}.quantity"] = f"Only {remaining[item_id]} left to dispense of {items[item_id].medicine}."
    if errors:
        raise ValidationError(errors)
    quantities = {pk: quantity for pk, quantity in quantities.items() if quantity}
    if not quantities:
        raise Conflict(f"Everything on {prescription.reference} has been dispensed already.")
    now = timezone.now()
    return Dispensation.objects.bulk_create(
        [
            Dispensation(
                clinic_id=prescription.clinic_id,
                item=items[pk],
                quantity=quantity,
                dispensed_by=user,
                dispensed_at=now,
                notes=notes.strip()[:250],
            )
            for pk, quantity in quantities.items()
        ]
    )


def dispensed_quantities(*, item_ids: list[int]) -> dict[int, int]:
    rows = Dispensation.objects.filter(item_id__in=item_ids).values("item_id").annotate(total=Sum("quantity"))
    return {row["item_id"]: row["total"] for row in rows}


@transaction.atomic
def formulary_item_save(*, clinic: Clinic, data: dict, item: FormularyItem | None = None) -> FormularyItem:
    """Add a medicine to the clinic's formulary, or change one (admins)."""
    item = item or FormularyItem(clinic=clinic)
    for field in ("generic_name", "strength", "form", "route", "default_frequency", "is_active"):
        if field in data:
            value = data[field]
            setattr(item, field, value.strip() if isinstance(value, str) else value)
    check_no_nul(generic_name=item.generic_name, strength=item.strength, form=item.form)
    item.full_clean(exclude=["clinic"], validate_constraints=False)
    duplicate = FormularyItem.objects.filter(clinic=clinic, generic_name__iexact=item.generic_name, strength__iexact=item.strength)
    if duplicate.exclude(pk=item.pk).exists():
        raise ValidationError({"generic_name": "This medicine and strength are already in the formulary."})
    try:
        with transaction.atomic():
            item.save()
    except IntegrityError:
        raise ValidationError({"generic_name": "This medicine and strength are already in the formulary."}) from None
    return item
