"""The waitlist: patients who want a time with a doctor (or any doctor of a department)
between two dates. When an appointment is cancelled or moved, its freed slot is offered to
the first three matching entries — urgent first, then the longest waiting — each with a
claim link held for 15 minutes; the first to claim is booked (the booking rules and the
doctor's lock settle a race: one winner), the others read "taken, we keep you on the list".
When nobody claims, the next three are offered. An entry leaves the list when its patient books."""

import datetime
import hashlib
import secrets
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone

from clinicos import services as clinicos_services
from clinicos.errors import Conflict
from clinicos.messaging import services as messaging
from clinicos.messaging.choices import MessageKind
from clinicos.messaging.wording import clinic_time
from clinicos.models import Clinic, Department, DoctorProfile, Notification, User
from clinicos.roles import Perm
from clinicos.scoping import scope, scopes_disabled
from clinicos.selectors import members_with_perm
from clinicos.text import check_no_nul
from patients.models import Patient
from scheduling.models import RELEASED_STATUSES, Appointment, PartOfDay, WaitlistEntry, WaitlistOffer
from scheduling.services.messages import recipient_of_patient

SUBJECT = "waitlist_offer"
OFFER_MINUTES = 15
OFFERS_PER_ROUND = 3
# A slot about to start is not worth offering: nobody could get there.
TOO_SOON = datetime.timedelta(minutes=45)
NOON = datetime.time(12)


@dataclass(frozen=True)
class WaitlistInput:
    patient: Patient
    earliest_date: datetime.date
    latest_date: datetime.date
    doctor: DoctorProfile | None = None
    department: Department | None = None
    part_of_day: str = PartOfDay.ANY
    urgent: bool = False
    note: str = ""


def _check_entry(clinic: Clinic, data: WaitlistInput) -> None:
    errors: dict[str, str] = {}
    if data.patient.clinic_id != clinic.pk:
        errors["patient_id"] = "No such patient in this clinic."
    if data.doctor is None and data.department is None:
        errors["doctor_id"] = "Choose a doctor, or a department for any of its doctors."
    if data.doctor is not None and data.doctor.clinic_id != clinic.pk:
        errors["doctor_id"] = "No such doctor in this clinic."
    if data.department is not None and data.department.clinic_id != clinic.pk:
        errors["department_id"] = "No such department in this clinic."
    if data.latest_date < data.earliest_date:
        errors["latest_date"] = "The last day comes on or after the first."
    elif data.latest_date < clinic.today():
        errors["latest_date"] = "The last day has passed."
    elif (data.latest_date - data.earliest_date).days > 180:
        errors["latest_date"] = "At most six months of dates."
    if data.part_of_day not in PartOfDay.values:
        errors["part_of_day"] = "Mornings, afternoons or any time."
    if errors:
        raise ValidationError(errors)
    check_no_nul(note=data.note)


@transaction.atomic
def waitlist_add(*, clinic: Clinic, data: WaitlistInput, user: User | None, via: str = "desk") -> WaitlistEntry:
    _check_entry(clinic, data)
    return WaitlistEntry.objects.create(
        clinic=clinic,
        patient=data.patient,
        doctor=data.doctor,
        department=data.department if data.doctor is None else data.doctor.department,
        earliest_date=max(data.earliest_date, clinic.today()),
        latest_date=data.latest_date,
        part_of_day=data.part_of_day,
        urgent=data.urgent,
        note=data.note.strip()[:200],
        added_via=via,
        created_by=user,
    )


@transaction.atomic
def waitlist_remove(*, entry: WaitlistEntry) -> WaitlistEntry:
    entry = WaitlistEntry.objects.select_for_update().get(pk=entry.pk)
    if entry.status != WaitlistEntry.Status.WAITING:
        raise Conflict("This patient is no longer on the waitlist.")
    entry.status, entry.closed_at = WaitlistEntry.Status.REMOVED, timezone.now()
    entry.save()
    return entry


def leave_on_booking(appointment: Appointment) -> int:
    """The patient booked: they leave the list (each entry saved, so the audit trail has it)."""
    if appointment.patient_id is None:
        return 0
    entries = list(
        WaitlistEntry.objects.for_clinic(appointment.clinic).filter(patient_id=appointment.patient_id, status=WaitlistEntry.Status.WAITING)
    )
    for entry in entries:
        entry.status, entry.appointment, entry.closed_at = WaitlistEntry.Status.BOOKED, appointment, timezone.now()
        entry.save()
    return len(entries)


def _token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def claim_url(raw: str) -> str:
    from django.conf import settings

    return f"{settings.MESSAGING_PUBLIC_URL.rstrip('/')}/m/w/{raw}/"


def _matching_entries(clinic: Clinic, doctor: DoctorProfile, start: datetime.datetime, excluding_patient: int | None):
    local = timezone.localtime(start, clinic.tzinfo)
    part = PartOfDay.MORNING if local.time() < NOON else PartOfDay.AFTERNOON
    already = WaitlistOffer.objects.for_clinic(clinic).filter(doctor=doctor, starts_at=start).values("entry_id")
    who = Q(doctor=doctor) | Q(doctor__isnull=True, department_id=doctor.department_id) if doctor.department_id else Q(doctor=doctor)
    entries = (
        WaitlistEntry.objects.for_clinic(clinic)
        .filter(who, status=WaitlistEntry.Status.WAITING, earliest_date__lte=local.date(), latest_date__gte=local.date())
        .filter(part_of_day__in=[PartOfDay.ANY, part])
        .exclude(pk__in=already)
        .select_related("patient")
        .order_by("-urgent", "created_at", "id")
    )
    if excluding_patient is not None:
        entries = entries.exclude(patient_id=excluding_patient)
    return entries


def _slot_taken(clinic: Clinic, doctor: DoctorProfile, start: datetime.datetime, end: datetime.datetime) -> bool:
    holding = Appointment.objects.for_clinic(clinic).filter(doctor=doctor, starts_at__lt=end, ends_at__gt=start)
    return holding.exclude(status__in=RELEASED_STATUSES).exists()


def offer_freed_slot(
    *, clinic: Clinic, doctor: DoctorProfile, start: datetime.datetime, end: datetime.datetime, excluding_patient: int | None = None
) -> list[WaitlistOffer]:
    """Offer a freed slot to the next three waiting patients who match it."""
    now = timezone.now()
    if start < now + TOO_SOON or _slot_taken(clinic, doctor, start, end):
        return []
    entries = list(_matching_entries(clinic, doctor, start, excluding_patient)[:OFFERS_PER_ROUND])
    if not entries:
        return []
    last_round = WaitlistOffer.objects.for_clinic(clinic).filter(doctor=doctor, starts_at=start).aggregate(r=Max("round"))["r"] or 0
    rules = messaging.rules_of(clinic)
    offers = []
    for entry in entries:
        raw = secrets.token_urlsafe(24)
        offer = WaitlistOffer.objects.create(
            clinic=clinic,
            entry=entry,
            doctor=doctor,
            starts_at=start,
            ends_at=end,
            round=last_round + 1,
            token_hash=_token_hash(raw),
            expires_at=now + datetime.timedelta(minutes=OFFER_MINUTES),
        )
        messaging.queue(
            clinic=clinic,
            recipient=recipient_of_patient(entry.patient),
            rules=rules,
            message=messaging.Message(
                kind=MessageKind.WAITLIST_OFFER,
                key=f"waitlist-offer:{offer.pk}",
                due=now,
                not_after=offer.expires_at,
                subject_type=SUBJECT,
                subject_id=offer.pk,
                values={
                    "doctor": f"Dr {doctor.user.full_name}",
                    "when": clinic_time(start, clinic.tzinfo),
                    "link": claim_url(raw),
                    "minutes": OFFER_MINUTES,
                },
            ),
        )
        offers.append(offer)
    messaging.send_soon(clinic)
    return offers


def appointment_freed(appointment: Appointment, *, start: datetime.datetime, end: datetime.datetime, doctor: DoctorProfile) -> None:
    """An appointment left this slot (cancelled or moved): offer it to the waitlist."""
    offer_freed_slot(clinic=appointment.clinic, doctor=doctor, start=start, end=end, excluding_patient=appointment.patient_id)


# --- Claiming ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClaimAnswer:
    outcome: str  # "booked", "taken", "expired", "unknown"
    offer: WaitlistOffer | None = None
    appointment: Appointment | None = None


def offer_by_token(raw: str) -> WaitlistOffer | None:
    """The offer a link names, across clinics (the link is the only key the patient has)."""
    if not raw or len(raw) > 64:
        return None
    with scopes_disabled():
        return WaitlistOffer.objects.filter(token_hash=_token_hash(raw)).select_related("clinic", "doctor__user", "entry__patient").first()


def offer_claim(*, raw: str) -> ClaimAnswer:
    offer = offer_by_token(raw)
    if offer is None:
        return ClaimAnswer("unknown")
    with scope(clinic=offer.clinic):
        return _claim(offer)


def _claim(offer: WaitlistOffer) -> ClaimAnswer:
    from scheduling import services as scheduling_services

    clinic = offer.clinic
    with transaction.atomic():
        # Every offer of this slot is locked, in one order, before anything else: two claims
        # queue here (the second then reads "taken") instead of deadlocking on each other's rows.
        slot = WaitlistOffer.objects.for_clinic(clinic).filter(doctor_id=offer.doctor_id, starts_at=offer.starts_at)
        list(slot.select_for_update().order_by("pk").values_list("pk", flat=True))
        offer = WaitlistOffer.objects.select_related("clinic", "doctor__user", "entry__patient").get(pk=offer.pk)
        if offer.status == WaitlistOffer.Status.CLAIMED:
            return ClaimAnswer("booked", offer, offer.appointment)
        if offer.status == WaitlistOffer.Status.TAKEN:
            return ClaimAnswer("taken", offer)
        if offer.status == WaitlistOffer.Status.EXPIRED or offer.expires_at <= timezone.now():
            offer.status = WaitlistOffer.Status.EXPIRED
            offer.save(update_fields=["status"])
            return ClaimAnswer("expired", offer)
        try:
            with transaction.atomic():
                booking = scheduling_services.appointment_book(
                    clinic=clinic,
                    user=None,
                    membership=None,
                    doctor=offer.doctor,
                    start=offer.starts_at,
                    duration_minutes=int((offer.ends_at - offer.starts_at).total_seconds() // 60),
                    patient=offer.entry.patient,
                    reason="From the waitlist",
                    booked_via=Appointment.BookedVia.WAITLIST,
                )
        except (scheduling_services.SlotTaken, ValidationError):
            offer.status = WaitlistOffer.Status.TAKEN
            offer.save(update_fields=["status"])
            return ClaimAnswer("taken", offer)
        offer.status, offer.appointment = WaitlistOffer.Status.CLAIMED, booking.appointment
        offer.save(update_fields=["status", "appointment"])
        WaitlistOffer.objects.for_clinic(clinic).filter(
            doctor=offer.doctor, starts_at=offer.starts_at, status=WaitlistOffer.Status.OFFERED
        ).update(status=WaitlistOffer.Status.TAKEN)
        messaging.cancel_pending(clinic=clinic, subject_type=SUBJECT, subject_id=offer.pk)
        _tell_front_desk(offer, booking.appointment)
        return ClaimAnswer("booked", offer, booking.appointment)


def _tell_front_desk(offer: WaitlistOffer, appointment: Appointment) -> None:
    clinic = offer.clinic
    when = timezone.localtime(offer.starts_at, clinic.tzinfo)
    clinicos_services.notify(
        clinic=clinic,
        recipients=[m.user_id for m in members_with_perm(clinic_id=clinic.pk, perm=Perm.RECALLS_WORK)],
        kind=Notification.Kind.WAITLIST_CLAIMED,
        title=f"{offer.entry.patient.full_name} took the freed {when:%d %b %H:%M} slot from the waitlist",
        url=f"/c/{clinic.code}/schedule/appointments/{appointment.pk}/",
    )


# --- The next round ------------------------------------------------------------------------------


def offer_next_rounds(now: datetime.datetime | None = None) -> int:
    """Slots whose offers all lapsed unclaimed go to the next three (every worker runs this;
    the offers' unique (entry, slot) keeps two of them from offering a slot twice)."""
    now = now or timezone.now()
    with scopes_disabled():
        lapsed = list(
            WaitlistOffer.objects.filter(status=WaitlistOffer.Status.OFFERED, expires_at__lte=now)
            .values_list("clinic_id", "doctor_id", "starts_at", "ends_at")
            .distinct()[:500]
        )
    offered = 0
    for clinic_id, doctor_id, start, end in lapsed:
        clinic = Clinic.objects.get(pk=clinic_id)
        with scope(clinic=clinic), transaction.atomic():
            slot = WaitlistOffer.objects.for_clinic(clinic).filter(doctor_id=doctor_id, starts_at=start)
            slot.filter(status=WaitlistOffer.Status.OFFERED, expires_at__lte=now).update(status=WaitlistOffer.Status.EXPIRED)
            if slot.filter(status__in=[WaitlistOffer.Status.OFFERED, WaitlistOffer.Status.CLAIMED]).exists():
                continue  # someone still holds a live offer, or it is claimed
            doctor = DoctorProfile.objects.for_clinic(clinic).select_related("user").get(pk=doctor_id)
            offered += len(offer_freed_slot(clinic=clinic, doctor=doctor, start=start, end=end))
    return offered
