"""Every write of lead data: capture, the status flow, CRO round-robin, the activity log,
conversion to a patient and website API keys."""

import datetime
import hashlib
import secrets
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from clinicos.errors import TransitionNotAllowed
from clinicos.models import Clinic, Membership, User
from clinicos.roles import Perm, Role
from clinicos.scoping import scopes_disabled
from clinicos.selectors import members_with_role
from clinicos.tenancy import membership_of
from clinicos.text import check_no_nul
from leads.hooks import LEAD_CONVERSION_STEPS, LEAD_INSTANT_BOOKING, InstantBooking
from leads.models import (
    DEFAULT_INQUIRIES,
    DEFAULT_SOURCES,
    OPEN_STATUSES,
    CroRotation,
    Lead,
    LeadActivity,
    LeadApiKey,
    LeadOption,
    LeadStatus,
)
from patients import identity
from patients import services as patient_services
from patients.models import Patient

# The flow (janmasethu §3.2). Lost can be reopened, but only by an admin or a CRO.
ALLOWED_MOVES: dict[str, frozenset[str]] = {
    LeadStatus.NEW: frozenset({LeadStatus.CONTACTED, LeadStatus.CONVERTED, LeadStatus.LOST}),
    LeadStatus.CONTACTED: frozenset({LeadStatus.STALLING, LeadStatus.CONVERTED, LeadStatus.LOST}),
    LeadStatus.STALLING: frozenset({LeadStatus.CONTACTED, LeadStatus.CONVERTED, LeadStatus.LOST}),
    LeadStatus.CONVERTED: frozenset(),
    LeadStatus.LOST: frozenset({LeadStatus.CONTACTED}),
}


class AlreadyConverted(TransitionNotAllowed):
    pass


FOLLOW_UP_IN_PAST = "The follow-up date cannot be in the past."


def _check_follow_up(clinic: Clinic, day) -> None:
    if day and day < clinic.today():
        raise ValidationError({"next_follow_up": FOLLOW_UP_IN_PAST})


def can_move(from_status: str, to_status: str) -> bool:
    return to_status in ALLOWED_MOVES[from_status]


def move_refusal(from_status: str, to_status: str) -> str:
    return f"A lead cannot move from “{LeadStatus(from_status).label}” to “{LeadStatus(to_status).label}”."


# --- Options ----------------------------------------------------------------------------


def lead_options(*, clinic: Clinic, kind: str) -> list[str]:
    """Built-in sources (or inquiries) plus the clinic's own active ones."""
    return lead_options_by_kind(clinic=clinic)[kind]


def lead_options_by_kind(*, clinic: Clinic) -> dict[str, list[str]]:
    """Both kinds of options in one query (the lead form and the filters offer both)."""
    extras: dict[str, list[str]] = {kind: [] for kind in LeadOption.Kind.values}
    for kind, label in LeadOption.objects.for_clinic(clinic).filter(is_active=True).values_list("kind", "label"):
        extras[kind].append(label)
    options = {}
    for kind, defaults in ((LeadOption.Kind.SOURCE, DEFAULT_SOURCES), (LeadOption.Kind.INQUIRY, DEFAULT_INQUIRIES)):
        options[kind.value] = list(defaults) + [label for label in extras[kind] if label not in defaults]
    return options


@transaction.atomic
def lead_option_add(*, clinic: Clinic, kind: str, label: str) -> LeadOption:
    label = " ".join(label.split())
    if not label:
        raise ValidationError({"label": "Enter a name."})
    if label.casefold() in (option.casefold() for option in lead_options(clinic=clinic, kind=kind)):
        raise ValidationError({"label": "This option exists already."})
    option = LeadOption(clinic=clinic, kind=kind, label=label)
    option.full_clean()
    option.save()
    return option


# --- Capture ----------------------------------------------------------------------------


def find_duplicate(*, clinic: Clinic, phone: str, exclude_pk=None) -> tuple[Lead | None, Patient | None]:
    open_leads = Lead.objects.for_clinic(clinic).filter(phone=phone, status__in=OPEN_STATUSES)
    if exclude_pk:
        open_leads = open_leads.exclude(pk=exclude_pk)
    patient = Patient.objects.for_clinic(clinic).filter(mobile=phone).order_by("pk").first()
    return open_leads.order_by("date_added").first(), patient


@transaction.atomic
def lead_create(*, clinic: Clinic, user: User | None, data: dict, created_via: str = "desk") -> Lead:
    """Record a new enquiry (status New Inquiry). A phone that matches an open lead or a
    patient of the clinic is flagged and linked, never silently duplicated."""
    for field, kind in (("source", LeadOption.Kind.SOURCE), ("inquiry", LeadOption.Kind.INQUIRY)):
        if data.get(field) not in lead_options(clinic=clinic, kind=kind):
            raise ValidationError({field: f"Choose one of: {', '.join(lead_options(clinic=clinic, kind=kind))}."})
    _check_follow_up(clinic, data.get("next_follow_up"))
    lead = Lead(clinic=clinic, created_by=user, created_via=created_via, **data)
    lead.phone_digits_reversed = identity.digits_reversed(lead.phone)
    lead.duplicate_of_lead, lead.duplicate_of_patient = find_duplicate(clinic=clinic, phone=lead.phone)
    lead.full_clean(exclude=["assigned_to", "converted_patient", "duplicate_of_lead", "duplicate_of_patient"])
    lead.save()
    LeadActivity.objects.create(
        clinic=clinic,
        lead=lead,
        kind=LeadActivity.Kind.STATUS,
        to_status=LeadStatus.NEW,
        created_by=user,
        note=f"Added ({created_via}).",
    )
    return lead


@dataclass(frozen=True)
class PreferredTime:
    """The time a new enquiry asks for (aware), and the doctor if they named one."""

    start: datetime.datetime
    doctor_id: int | None = None


@transaction.atomic
def lead_create_and_book(
    *, clinic: Clinic, user: User | None, membership: Membership | None, data: dict, preferred: PreferredTime, created_via: str
) -> tuple[Lead, InstantBooking]:
    """A new enquiry that asks for a time (the API, the website form): the lead, booked at
    that time when it is free (scheduling's booking rules, as the lead page's one tap), else
    told the next free times. A bad time or doctor stores nothing, not even the lead."""
    if timezone.is_naive(preferred.start):
        raise ValidationError({"preferred_start": "Give the time with its time zone (e.g. 2026-12-07T10:30:00+05:30)."})
    if preferred.start < timezone.now():
        raise ValidationError({"preferred_start": "That time has passed: choose a time to come."})
    lead = lead_create(clinic=clinic, user=user, data=data, created_via=created_via)
    booking = LEAD_INSTANT_BOOKING(lead=lead, user=user, membership=membership, start=preferred.start, doctor_id=preferred.doctor_id)
    return lead, booking


LEAD_EDITABLE_FIELDS = (
    "name",
    "phone",
    "email",
    "age",
    "gender",
    "source",
    "inquiry",
    "problem",
    "treatment_doctor",
    "treatment_suggested",
    "next_follow_up",
)


@transaction.atomic
def lead_update(*, lead: Lead, changes: dict) -> Lead:
    lead = Lead.objects.select_for_update().get(pk=lead.pk)
    for field, value in changes.items():
        if field not in LEAD_EDITABLE_FIELDS:
            raise ValueError(f"{field} cannot be changed here")
        setattr(lead, field, value)
    if "next_follow_up" in changes:
        _check_follow_up(lead.clinic, changes["next_follow_up"])
    lead.phone_digits_reversed = identity.digits_reversed(lead.phone)
    lead.full_clean(exclude=["assigned_to", "converted_patient", "duplicate_of_lead", "duplicate_of_patient"])
    lead.save()
    return lead


# --- CRO round-robin ---------------------------------------------------------------------


def active_cros(*, clinic: Clinic) -> list[User]:
    return [membership.user for membership in members_with_role(clinic_id=clinic.pk, role=Role.CRO)]


def _next_cro(clinic: Clinic) -> User | None:
    """The CRO after the last one given a lead. The rotation row stays locked until the
    calling transaction commits, so concurrent hand-offs are served one after another."""
    cros = active_cros(clinic=clinic)
    if not cros:
        return None
    rotation, _ = CroRotation.objects.select_for_update().get_or_create(clinic=clinic)
    after = rotation.last_assigned_id or 0
    chosen = next((cro for cro in cros if cro.pk > after), cros[0])
    rotation.last_assigned = chosen
    rotation.save(update_fields=["last_assigned"])
    return chosen


# --- The status flow ----------------------------------------------------------------------


@transaction.atomic
def lead_move(
    *,
    lead: Lead,
    to_status: str,
    user: User,
    membership: Membership | None = None,
    note: str = "",
    lost_reason: str = "",
    cro: User | None = None,
) -> Lead:
    """Move a lead along the flow. Sending to CRO assigns a CRO (round-robin unless one is
    chosen); Lost needs a reason; only an admin or a CRO may reopen a lost lead; moving to
    Converted runs the conversion with what the lead holds."""
    to_status = LeadStatus(to_status)
    if to_status == LeadStatus.CONVERTED:
        return lead_convert(lead=lead, user=user, registration={}).lead
    lead = Lead.objects.select_for_update().get(pk=lead.pk)
    if not can_move(lead.status, to_status):
        raise TransitionNotAllowed(move_refusal(lead.status, to_status))
    if lead.status == LeadStatus.LOST and not (membership and membership.has_perm_in_clinic(Perm.LEADS_REOPEN)):
        raise PermissionDenied("Only an administrator or a CRO can reopen a lost lead.")
    check_no_nul(note=note, lost_reason=lost_reason)
    if to_status == LeadStatus.LOST and not lost_reason.strip():
        raise ValidationError({"lost_reason": "Say why the lead was lost."})
    now = timezone.now()
    previous = lead.status
    lead.status = to_status
    if to_status == LeadStatus.CONTACTED:
        lead.contacted_at = lead.contacted_at or now
        lead.sent_to_cro_at = None
    elif to_status == LeadStatus.STALLING:
        if cro is not None and cro not in active_cros(clinic=lead.clinic):
            raise ValidationError({"cro": "Choose an active CRO of this clinic."})
        lead.assigned_to = cro or _next_cro(lead.clinic)
        lead.sent_to_cro_at = now
        lead.reached_cro_at = lead.reached_cro_at or now
    elif to_status == LeadStatus.LOST:
        lead.lost_reason = lost_reason.strip()[:250]
        lead.lost_at = now
        lead.sent_to_cro_at = None
    lead.save()
    detail = note.strip()
    if to_status == LeadStatus.STALLING:
        detail = f"Assigned to {lead.assigned_to or 'nobody (no active CRO)'}. {detail}".strip()
    if to_status == LeadStatus.LOST:
        detail = f"Reason: {lead.lost_reason}. {detail}".strip()
    LeadActivity.objects.create(
        clinic=lead.clinic,
        lead=lead,
        kind=LeadActivity.Kind.STATUS,
        from_status=previous,
        to_status=to_status,
        note=detail,
        created_by=user,
    )
    return lead


@transaction.atomic
def lead_change(
    *,
    lead: Lead,
    user: User,
    membership: Membership | None,
    changes: dict,
    to_status: str | None = None,
    note: str = "",
    lost_reason: str = "",
    cro: User | None = None,
) -> Lead:
    """Change a lead's details and move it, together or not at all (the API's PATCH)."""
    if changes:
        lead = lead_update(lead=lead, changes=changes)
    if to_status is not None and to_status != lead.status:
        lead = lead_move(lead=lead, to_status=to_status, user=user, membership=membership, note=note, lost_reason=lost_reason, cro=cro)
    return lead


@transaction.atomic
def lead_log_activity(*, lead: Lead, user: User, kind: str, outcome: str = "", note: str = "", next_follow_up=None) -> LeadActivity:
    if kind not in (LeadActivity.Kind.CALL, LeadActivity.Kind.NOTE):
        raise ValidationError({"kind": "Log a call or a note."})
    check_no_nul(note=note)
    if not note.strip() and not outcome:
        raise ValidationError({"note": "Write what happened."})
    _check_follow_up(lead.clinic, next_follow_up)
    lead = Lead.objects.select_for_update().get(pk=lead.pk)
    activity = LeadActivity.objects.create(
        clinic=lead.clinic,
        lead=lead,
        kind=kind,
        outcome=outcome,
        note=note.strip(),
        next_follow_up=next_follow_up,
        created_by=user,
    )
    if next_follow_up:
        lead.next_follow_up = next_follow_up
        lead.save(update_fields=["next_follow_up", "updated_at"])
    return activity


# --- Conversion ---------------------------------------------------------------------------


def registration_defaults(lead: Lead) -> dict:
    """What the patient registration form starts from."""
    first, _, last = lead.name.strip().partition(" ")
    return {
        "first_name": first,
        "last_name": last,
        "mobile": lead.phone,
        "email": lead.email,
        "gender": lead.gender,
        "age_years": lead.age,
    }


@dataclass(frozen=True)
class ConversionResult:
    patient: Patient
    lead: Lead


@transaction.atomic
def lead_convert(
    *, lead: Lead, user: User, registration: dict, national_id: str | None = None, membership: Membership | None = None
) -> ConversionResult:
    """Register the lead as a patient (with a UHID) and mark it Converted, in one
    transaction. The lead row is locked first, so two clicks cannot convert it twice.

    ``registration`` is validated patient data (``PatientForm.cleaned_data``); an empty
    dict means "with what the lead holds", which is validated the same way.
    """
    from patients.forms import PatientForm

    if national_id:
        membership = membership or membership_of(user, lead.clinic)
        if membership is None or not membership.has_perm_in_clinic(Perm.NATIONAL_ID_RECORD):
            raise PermissionDenied("Your role may not record national ID numbers: leave the ID for the front desk.")
    lead = Lead.objects.select_for_update().get(pk=lead.pk)
    if lead.status == LeadStatus.CONVERTED or lead.converted_patient_id:
        raise AlreadyConverted("This lead has already been converted.")
    if not can_move(lead.status, LeadStatus.CONVERTED):
        raise TransitionNotAllowed(move_refusal(lead.status, LeadStatus.CONVERTED))
    if not registration:
        form = PatientForm(
            data={k: v for k, v in registration_defaults(lead).items() if v not in (None, "")}, clinic=lead.clinic, quick=True
        )
        if not form.is_valid():
            raise ValidationError({field: list(messages) for field, messages in form.errors.items()})
        registration = form.patient_data()
    patient = patient_services.patient_register(
        clinic=lead.clinic, user=user, data=registration, national_id=national_id, allow_duplicate=True
    )
    previous = lead.status
    lead.status = LeadStatus.CONVERTED
    lead.converted_patient = patient
    lead.converted_at = timezone.now()
    lead.sent_to_cro_at = None
    lead.save()
    LeadActivity.objects.create(
        clinic=lead.clinic,
        lead=lead,
        kind=LeadActivity.Kind.STATUS,
        from_status=previous,
        to_status=LeadStatus.CONVERTED,
        note=f"Registered as patient {patient.uhid}.",
        created_by=user,
    )
    LEAD_CONVERSION_STEPS.run(lead=lead, patient=patient)
    return ConversionResult(patient, lead)


# --- Website API keys ----------------------------------------------------------------------

API_KEY_PREFIX = "lk_"


def hash_api_key(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def api_key_create(*, clinic: Clinic, user: User, name: str, allowed_origins: str = "") -> tuple[LeadApiKey, str]:
    """Make a key; the raw key is returned once and never stored."""
    raw = API_KEY_PREFIX + secrets.token_urlsafe(32)
    key = LeadApiKey(
        clinic=clinic,
        name=name.strip(),
        prefix=raw[:10],
        key_hash=hash_api_key(raw),
        allowed_origins=allowed_origins.strip(),
        created_by=user,
    )
    key.full_clean()
    key.save()
    return key, raw


@transaction.atomic
def api_key_revoke(*, key: LeadApiKey) -> LeadApiKey:
    key = LeadApiKey.objects.select_for_update().get(pk=key.pk)
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save()
    return key


def api_key_authenticate(*, raw: str) -> LeadApiKey | None:
    """The key's row (and so its clinic), found across clinics by its hash: the key is
    what tells which clinic the request is for."""
    with scopes_disabled():
        key = (
            LeadApiKey.objects.select_related("clinic")
            .filter(key_hash=hash_api_key(raw or ""), revoked_at__isnull=True)
            .exclude(clinic__status=Clinic.Status.INACTIVE)
            .first()
        )
        if key is not None:
            LeadApiKey.objects.filter(pk=key.pk).update(last_used_at=timezone.now())
    return key


def origin_allowed_by_any_key(origin: str | None) -> bool:
    """CORS preflight: whether some clinic's active key lists this browser origin."""
    origin = (origin or "").rstrip("/")
    if not origin or "\n" in origin:
        return False
    with scopes_disabled():  # a preflight names no clinic: only keys that mention the origin are read
        keys = list(LeadApiKey.objects.filter(revoked_at__isnull=True, allowed_origins__contains=origin).only("allowed_origins")[:20])
    return any(origin in key.origins for key in keys)
