"""The portal's rules, shared by its pages and its API: one-time codes, portal tokens,
whose charts an identity opens, and self-booking under each clinic's online rules.

Portal requests have no staff user and cross clinics on purpose (one person, several
clinics): every read here says so with ``scopes_disabled()`` and then confines itself to
the identity's own charts, so another patient's row is never found (404)."""

import datetime
import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db import transaction
from django.db.models import F
from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from simple_history.utils import update_change_reason

from clinicos import services as clinicos_services
from clinicos.errors import Conflict
from clinicos.messaging import services as messaging
from clinicos.messaging.choices import Channel as OutboxChannel
from clinicos.messaging.choices import MessageKind
from clinicos.models import Clinic, DoctorProfile, Notification
from clinicos.roles import Role
from clinicos.scoping import scope, scopes_disabled
from clinicos.selectors import members_with_role
from patients import identity as patient_identity
from patients import services as patient_services
from patients.models import Patient, Person
from portal.models import Channel, LoginCode, OnlineBooking, PortalToken
from scheduling import services as scheduling_services
from scheduling.models import Appointment, AppointmentStatus, WaitlistEntry, WorkingHours
from scheduling.services import waitlist

logger = logging.getLogger(__name__)

CODE_LIFETIME = datetime.timedelta(minutes=10)
CODE_MAX_TRIES = 5
# Codes sent per phone or email, and asked for per IP address, in the last hour: past
# these nothing more is sent (the answer stays the same, so it tells nothing).
CODES_PER_ADDRESS_PER_HOUR = 5
CODES_PER_IP_PER_HOUR = 30
# Wrong codes per IP address in a quarter of an hour before every try is refused.
FAILED_TRIES_PER_IP = 30
FAILED_TRIES_WINDOW_SECONDS = 15 * 60

PORTAL_CANCEL_REASON = "Cancelled by the patient in the portal"


@dataclass(frozen=True)
class PortalIdentity:
    """Who a portal request is: the phone or email a code reached."""

    channel: str
    address: str

    @property
    def is_phone(self) -> bool:
        return self.channel == Channel.PHONE


class CodeRejected(Exception):
    """A wrong, used or expired code (401). Never says which."""


class TooManyTries(Exception):
    """Past a limit (429): five tries of one code, or too many wrong codes from one place."""


# --- Identities -----------------------------------------------------------------------------


def identity_from(*, phone: str | None = None, email: str | None = None) -> PortalIdentity:
    """The identity a phone or email names, normalised as charts store them (E.164, lower
    case). Raises ``ValidationError`` for anything that is neither."""
    phone, email = (phone or "").strip(), (email or "").strip()
    if phone and email:
        raise ValidationError({"phone": "Give your phone or your email, not both."})
    if phone:
        if "\x00" in phone or len(phone) > 40:
            raise ValidationError({"phone": "Enter a valid phone number."})
        return PortalIdentity(Channel.PHONE, patient_identity.normalize_phone(phone, default_region=settings.PORTAL_DEFAULT_REGION))
    if email:
        if "\x00" in email or len(email) > 254 or "@" not in email.strip("@"):
            raise ValidationError({"email": "Enter a valid email address."})
        return PortalIdentity(Channel.EMAIL, email.lower())
    raise ValidationError({"phone": "Give the phone number or the email address the clinic has on your record."})


def patients_of(identity: PortalIdentity) -> list[Patient]:
    """Every active chart, in every open clinic, that records this phone or email: the
    person's own and, for a family's shared phone, their children's too."""
    with scopes_disabled():
        charts = Patient.objects.filter(status=Patient.Status.ACTIVE).exclude(clinic__status=Clinic.Status.INACTIVE)
        if identity.is_phone:
            charts = charts.filter(person__phone=identity.address)
        else:
            charts = charts.filter(email__iexact=identity.address)
        return list(charts.select_related("clinic").order_by("clinic__name", "first_name", "last_name", "id"))


def own_row_or_404(lookup, *args):
    """Look up one of the identity's own rows; anyone else's (or none) is a 404."""
    try:
        return lookup(*args)
    except ObjectDoesNotExist:
        raise Http404


def patient_of(identity: PortalIdentity, patient_id: int) -> Patient:
    """One of the identity's charts, or ``Patient.DoesNotExist`` (a 404) for anyone else's."""
    for patient in patients_of(identity):
        if patient.pk == patient_id:
            return patient
    raise Patient.DoesNotExist


# --- One-time codes ----------------------------------------------------------------------


def _code_hash(address: str, code: str) -> str:
    key = f"{settings.SECRET_KEY}:portal-login-code".encode()
    return hmac.new(key, f"{address}:{code}".encode(), hashlib.sha256).hexdigest()


def sender_name(identity: PortalIdentity) -> str:
    """Who the code comes from, as the patient knows it: their clinic's name (or two), not
    the software's."""
    names = list(dict.fromkeys(patient.clinic.name for patient in patients_of(identity)))
    if len(names) == 1:
        return names[0]
    if len(names) == 2:
        return f"{names[0]} and {names[1]}"
    return "your clinic"


def _deliver(identity: PortalIdentity, code: str, login_code: LoginCode, clinic: Clinic | None) -> None:
    """Through the outbox, from the clinic of the patient's (first) chart, under its name(s)
    (a new phone being proven has no chart yet: the clinic whose chart changes); the worker
    sends it once this request's transaction commits."""
    patients = patients_of(identity)
    clinic = clinic or patients[0].clinic
    with scope(clinic=clinic):
        messaging.queue_now(
            clinic=clinic,
            channel=OutboxChannel.SMS if identity.is_phone else OutboxChannel.EMAIL,
            to=identity.address,
            kind=MessageKind.LOGIN_CODE,
            values={
                "clinic": sender_name(identity) if patients else clinic.name,
                "code": code,
                "minutes": int(CODE_LIFETIME.total_seconds() // 60),
            },
            key=f"login-code:{login_code.pk}",
            secret=True,
        )


def _within_code_limits(address: str, ip: str | None, now: datetime.datetime) -> bool:
    hour_ago = now - datetime.timedelta(hours=1)
    if LoginCode.objects.filter(address=address, created_at__gte=hour_ago).count() >= CODES_PER_ADDRESS_PER_HOUR:
        logger.info("Portal code not sent: hourly limit for one address")
        return False
    if ip and LoginCode.objects.filter(requested_ip=ip, created_at__gte=hour_ago).count() >= CODES_PER_IP_PER_HOUR:
        logger.info("Portal code not sent: hourly limit for one IP address")
        return False
    return True


def _issue_code(identity: PortalIdentity, *, deliver: bool, ip: str | None, now: datetime.datetime, clinic: Clinic | None = None) -> None:
    code = f"{secrets.randbelow(1_000_000):06d}"
    login_code = LoginCode.objects.create(
        channel=identity.channel,
        address=identity.address,
        code_hash=_code_hash(identity.address, code),
        is_deliverable=deliver,
        requested_ip=ip,
        created_at=now,
        expires_at=now + CODE_LIFETIME,
    )
    if deliver:
        # Written to the outbox and sent by the worker after the answer: a known address
        # answers as fast as an unknown one (the provider's round trip would tell).
        _deliver(identity, code, login_code, clinic)


def login_code_request(*, phone: str | None = None, email: str | None = None, ip: str | None = None) -> None:
    """Send a login code if a chart knows the phone or email. Whatever happens — unknown
    address, malformed input, past a limit — the caller learns nothing."""
    try:
        identity = identity_from(phone=phone, email=email)
    except ValidationError:
        return
    now = timezone.now()
    # Codes are kept a day (the hourly limits read them, the admin shows who asked), then go.
    LoginCode.objects.filter(address=identity.address, created_at__lt=now - datetime.timedelta(days=1)).delete()
    if _within_code_limits(identity.address, ip, now):
        _issue_code(identity, deliver=bool(patients_of(identity)), ip=ip, now=now)


def _failed_tries_key(ip: str | None) -> str:
    return f"portal:failed-tries:{ip or 'unknown'}"


def _count_failed_try(ip: str | None) -> None:
    key = _failed_tries_key(ip)
    if cache.add(key, 1, FAILED_TRIES_WINDOW_SECONDS):
        return
    try:
        cache.incr(key)
    except ValueError:  # expired in between
        cache.add(key, 1, FAILED_TRIES_WINDOW_SECONDS)


def login_code_verify(*, phone: str | None = None, email: str | None = None, code: str = "", ip: str | None = None) -> PortalIdentity:
    """The identity a code proves, once. Raises ``CodeRejected`` for a wrong, used or
    expired code (or an unknown address: the same answer), ``TooManyTries`` past five
    tries of the code or too many wrong codes from one IP address."""
    if (cache.get(_failed_tries_key(ip)) or 0) >= FAILED_TRIES_PER_IP:
        raise TooManyTries("Too many wrong codes from here. Wait a quarter of an hour, then ask for a new code.")
    try:
        identity = identity_from(phone=phone, email=email)
    except ValidationError:
        _count_failed_try(ip)
        raise CodeRejected
    _consume_code(identity, code, ip)
    if identity.is_phone:  # the phone is proven: the person's link across clinics is verified
        Person.objects.filter(phone=identity.address, phone_verified_at__isnull=True).update(phone_verified_at=timezone.now())
    return identity


def _consume_code(identity: PortalIdentity, code: str, ip: str | None) -> None:
    """Use the address's latest code, or count a failed try against it (and the IP)."""
    code = (code or "").strip()
    now = timezone.now()
    with transaction.atomic():
        login_code = LoginCode.objects.select_for_update().filter(address=identity.address).order_by("-created_at", "-id").first()
        if login_code is None or login_code.used_at is not None or login_code.expires_at <= now:
            outcome = "rejected"
        elif login_code.attempts >= CODE_MAX_TRIES:
            outcome = "exhausted"
        elif login_code.is_deliverable and constant_time_compare(_code_hash(identity.address, code), login_code.code_hash):
            LoginCode.objects.filter(pk=login_code.pk).update(used_at=now, attempts=F("attempts") + 1)
            outcome = "accepted"
        else:
            LoginCode.objects.filter(pk=login_code.pk).update(attempts=F("attempts") + 1)
            outcome = "rejected"
    if outcome == "exhausted":
        raise TooManyTries("This code was tried too many times. Ask for a new one.")
    if outcome == "rejected":
        _count_failed_try(ip)
        raise CodeRejected


# --- A new phone, proven by a code sent to it ------------------------------------------------


def phone_change_request(*, identity: PortalIdentity, patient: Patient, new_phone: str, ip: str | None = None) -> str:
    """Send a code to the new phone a patient gives (within the same limits as logins);
    returns the phone as it will be stored. Raises ``ValidationError`` for a bad number."""
    if patient.pk not in {chart.pk for chart in patients_of(identity)}:
        raise Patient.DoesNotExist
    if "\x00" in new_phone or len(new_phone) > 40:
        raise ValidationError({"phone": "Enter a valid phone number."})
    phone = patient_identity.normalize_phone(new_phone, default_region=patient.clinic.country or settings.PORTAL_DEFAULT_REGION)
    if phone == patient.mobile:
        raise ValidationError({"phone": "This is the phone already on your record."})
    now = timezone.now()
    if _within_code_limits(phone, ip, now):
        _issue_code(PortalIdentity(Channel.PHONE, phone), deliver=True, ip=ip, now=now, clinic=patient.clinic)
    return phone


def phone_change_confirm(*, identity: PortalIdentity, patient: Patient, new_phone: str, code: str, ip: str | None = None) -> Patient:
    """The code proves the new phone: it replaces the chart's mobile (and its link across
    clinics), recorded in the chart's history as changed in the portal."""
    if patient.pk not in {chart.pk for chart in patients_of(identity)}:
        raise Patient.DoesNotExist
    if (cache.get(_failed_tries_key(ip)) or 0) >= FAILED_TRIES_PER_IP:
        raise TooManyTries("Too many wrong codes from here. Wait a quarter of an hour, then ask for a new code.")
    _consume_code(PortalIdentity(Channel.PHONE, new_phone), code, ip)
    with scopes_disabled(), transaction.atomic():
        updated = patient_services.patient_update(patient=patient, changes={"mobile": new_phone})
        update_change_reason(updated, "Phone changed by the patient in the portal (proven by a code)")
        Person.objects.filter(phone=new_phone).update(phone_verified_at=timezone.now())
    updated.clinic = patient.clinic
    return updated


# --- Portal tokens (the API) -------------------------------------------------------------


def _token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def token_issue(identity: PortalIdentity) -> tuple[str, PortalToken]:
    raw = "p_" + secrets.token_urlsafe(32)
    token = PortalToken.objects.create(
        key_hash=_token_hash(raw),
        channel=identity.channel,
        address=identity.address,
        expires_at=timezone.now() + settings.PORTAL_TOKEN_LIFETIME,
    )
    return raw, token


def token_authenticate(raw: str) -> PortalIdentity | None:
    token = PortalToken.objects.filter(key_hash=_token_hash(raw or "")).first()
    if token is None or not token.is_usable:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > datetime.timedelta(minutes=1):
        PortalToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return PortalIdentity(token.channel, token.address)


def token_revoke(raw: str) -> None:
    PortalToken.objects.filter(key_hash=_token_hash(raw or ""), revoked_at__isnull=True).update(revoked_at=timezone.now())


# --- Self-booking ------------------------------------------------------------------------


@transaction.atomic
def online_booking_save(
    *,
    clinic: Clinic,
    is_enabled: bool,
    doctors: list[DoctorProfile],
    appointment_types: list[str],
    days_ahead: int,
    earliest_minutes: int,
    notice_hours: int,
) -> OnlineBooking:
    """Settings → Online booking: what patients of ``clinic`` may book themselves."""
    if any(doctor.clinic_id != clinic.pk for doctor in doctors):
        raise ValidationError({"doctors": "Choose doctors of this clinic."})
    rules = OnlineBooking.objects.select_for_update().filter(clinic=clinic).first() or OnlineBooking(clinic=clinic)
    rules.is_enabled = is_enabled
    rules.appointment_types = list(appointment_types)
    rules.days_ahead = days_ahead
    rules.earliest_minutes = earliest_minutes
    rules.notice_hours = notice_hours
    rules.save()
    rules.doctors.set(doctors)
    return rules


def online_booking(clinic: Clinic) -> OnlineBooking | None:
    """The clinic's online-booking rules, when it takes bookings online at all."""
    with scope(clinic=clinic):
        rules = OnlineBooking.objects.filter(clinic=clinic, is_enabled=True).first()
    return rules if rules is not None and clinic.status == Clinic.Status.ACTIVE else None


def bookable_doctors(clinic: Clinic) -> list[DoctorProfile]:
    rules = online_booking(clinic)
    if rules is None:
        return []
    with scopes_disabled():
        return list(
            rules.doctors.filter(clinic=clinic, is_active=True, user__is_active=True)
            .select_related("user", "department")
            .order_by("user__full_name", "id")
        )


def _rules_or_refuse(clinic: Clinic) -> OnlineBooking:
    rules = online_booking(clinic)
    if rules is None:
        raise Conflict(f"{clinic.name} does not take bookings online. Please call the clinic.")
    return rules


def _bookable_doctor(clinic: Clinic, doctor_id: int | None) -> DoctorProfile:
    for doctor in bookable_doctors(clinic):
        if doctor.pk == doctor_id:
            return doctor
    raise ValidationError({"doctor_id": "Choose one of the doctors this clinic lets you book online."})


def booking_window(clinic: Clinic, rules: OnlineBooking) -> tuple[datetime.datetime, datetime.date]:
    """The earliest start a patient may book, and the last day they may book on."""
    earliest = timezone.now() + datetime.timedelta(minutes=rules.earliest_minutes)
    return earliest, clinic.today() + datetime.timedelta(days=rules.days_ahead)


def bookable_slots(*, clinic: Clinic, doctor_id: int | None, day: datetime.date) -> list[dict]:
    """The free slots a patient may book with a doctor on a day: the staff's free-slot rules,
    within the clinic's online window."""
    rules = _rules_or_refuse(clinic)
    doctor = _bookable_doctor(clinic, doctor_id)
    earliest, last_day = booking_window(clinic, rules)
    if day < clinic.today() or day > last_day:
        return []
    with scopes_disabled():
        slots = scheduling_services.free_slots(clinic=clinic, day=day, doctor=doctor, limit=200)
    return [slot for slot in slots if slot["start"] >= earliest]


def _staff_to_tell(appointment: Appointment) -> list[int]:
    """The front desk of the clinic and the appointment's doctor."""
    front_desk = [membership.user_id for membership in members_with_role(clinic_id=appointment.clinic_id, role=Role.FRONT_DESK)]
    return [*front_desk, appointment.doctor.user_id]


def _tell_staff(appointment: Appointment, kind: str, what: str) -> None:
    clinic = appointment.clinic
    at = timezone.localtime(appointment.starts_at, clinic.tzinfo)
    clinicos_services.notify(
        clinic=clinic,
        recipients=_staff_to_tell(appointment),
        kind=kind,
        title=f"{appointment.who} {what} online: {at:%a %d %b %H:%M} with {appointment.doctor.user.full_name}",
        url=reverse("appointment_detail", args=[clinic.code, appointment.pk]),
    )


@transaction.atomic
def online_appointment_book(
    *, identity: PortalIdentity, patient: Patient, doctor_id: int | None, start: datetime.datetime, type: str = "consultation"
) -> Appointment:
    """A patient books themselves (or a child on their phone) a free slot. The same
    guarantees as the front desk's booking: one doctor's bookings queue on a lock and the
    database refuses an overlap, so a slot taken a moment earlier answers 409 with the next
    free ones."""
    clinic = patient.clinic
    if patient.pk not in {chart.pk for chart in patients_of(identity)}:
        raise Patient.DoesNotExist
    rules = _rules_or_refuse(clinic)
    doctor = _bookable_doctor(clinic, doctor_id)
    if type not in rules.appointment_types:
        allowed = ", ".join(rules.appointment_types) or "none"
        raise ValidationError({"type": f"This clinic takes these appointment types online: {allowed}."})
    if timezone.is_naive(start):
        raise ValidationError({"start": "Give the start with its time zone."})
    earliest, last_day = booking_window(clinic, rules)
    if start < earliest:
        raise ValidationError({"start": f"Online bookings start {rules.earliest_minutes} minutes from now at the earliest."})
    if start.astimezone(clinic.tzinfo).date() > last_day:
        raise ValidationError({"start": f"This clinic takes online bookings up to {rules.days_ahead} days ahead."})
    day = start.astimezone(clinic.tzinfo).date()
    with scopes_disabled():
        offered = {slot["start"]: slot for slot in scheduling_services.free_slots(clinic=clinic, day=day, doctor=doctor, limit=200)}
        slot = offered.get(start)
        minutes = int((slot["end"] - slot["start"]).total_seconds() // 60) if slot else _slot_minutes(doctor, day)
        booking = scheduling_services.appointment_book(
            clinic=clinic,
            user=None,  # no staff member: the patient booked
            membership=None,
            doctor=doctor,
            start=start,
            duration_minutes=minutes,
            type=type,
            patient=patient,
            booked_via=Appointment.BookedVia.PORTAL,
        )
        appointment = booking.appointment
        appointment.clinic = clinic
        appointment.doctor = doctor
        _tell_staff(appointment, Notification.Kind.BOOKED_ONLINE, "booked")
    return appointment


def _slot_minutes(doctor: DoctorProfile, day: datetime.date) -> int:
    block = WorkingHours.objects.filter(doctor=doctor, weekday=day.weekday()).order_by("start_time").first()
    return block.slot_minutes if block else scheduling_services.DEFAULT_MINUTES


def appointments_of(identity: PortalIdentity):
    """The identity's appointments in every clinic (patients' own, never walk-ins)."""
    ids = [patient.pk for patient in patients_of(identity)]
    with scopes_disabled():
        return (
            Appointment.objects.filter(patient_id__in=ids)
            .select_related("clinic", "doctor__user", "doctor__department", "patient")
            .order_by("-starts_at", "-id")
        )


def appointment_of(identity: PortalIdentity, appointment_id: int) -> Appointment:
    with scopes_disabled():
        return appointments_of(identity).get(pk=appointment_id)


DEFAULT_NOTICE_HOURS = 24


def _notice_hours(clinic_ids) -> dict[int, int]:
    """Each clinic's notice period for cancelling or moving online (one query, across the
    clinics of one person's appointments)."""
    with scopes_disabled():
        found = dict(OnlineBooking.objects.filter(clinic_id__in=set(clinic_ids)).values_list("clinic_id", "notice_hours"))
    return {clinic_id: found.get(clinic_id, DEFAULT_NOTICE_HOURS) for clinic_id in clinic_ids}


def _refusal_to_change(appointment: Appointment, verb: str, notice_hours: int) -> str | None:
    if appointment.status not in scheduling_services.PRE_ARRIVAL:
        return f"A {appointment.get_status_display().lower()} appointment cannot be {verb}."
    if appointment.starts_at - timezone.now() < datetime.timedelta(hours=notice_hours):
        return f"Appointments can be {verb} online up to {notice_hours} hours before they start. Please call {appointment.clinic.name}."
    return None


def _check_may_change(appointment: Appointment, verb: str) -> None:
    refusal = _refusal_to_change(appointment, verb, _notice_hours([appointment.clinic_id])[appointment.clinic_id])
    if refusal:
        raise Conflict(refusal)


def appointments_changeable(appointments) -> set[int]:
    """The ids of the appointments the portal offers to cancel or move (the rule ``cancel``
    and ``reschedule`` apply), in one query whatever their number."""
    appointments = list(appointments)
    hours = _notice_hours([appointment.clinic_id for appointment in appointments])
    return {a.pk for a in appointments if _refusal_to_change(a, "changed", hours[a.clinic_id]) is None}


@transaction.atomic
def online_appointment_cancel(*, identity: PortalIdentity, appointment_id: int, reason: str = "") -> Appointment:
    appointment = appointment_of(identity, appointment_id)
    _check_may_change(appointment, "cancelled")
    why = PORTAL_CANCEL_REASON + (f": {reason.strip()}" if reason.strip() else "")
    with scopes_disabled():
        cancelled = scheduling_services.appointment_set_status(
            appointment=appointment,
            to_status=AppointmentStatus.CANCELLED,
            user=None,
            reason=why[:250],
        )
        _tell_staff(appointment, Notification.Kind.CANCELLED_ONLINE, "cancelled")
    appointment.status, appointment.cancel_reason = cancelled.status, cancelled.cancel_reason
    return appointment


@transaction.atomic
def online_appointment_reschedule(*, identity: PortalIdentity, appointment_id: int, start: datetime.datetime) -> Appointment:
    appointment = appointment_of(identity, appointment_id)
    _check_may_change(appointment, "moved")
    clinic = appointment.clinic
    rules = _rules_or_refuse(clinic)
    _bookable_doctor(clinic, appointment.doctor_id)
    if timezone.is_naive(start):
        raise ValidationError({"start": "Give the start with its time zone."})
    earliest, last_day = booking_window(clinic, rules)
    if start < earliest or start.astimezone(clinic.tzinfo).date() > last_day:
        raise ValidationError({"start": "Choose one of the free slots offered."})
    with scopes_disabled():
        booking = scheduling_services.appointment_reschedule(
            appointment=appointment,
            user=None,  # type: ignore[arg-type]
            membership=None,
            start=start,
        )
        moved = booking.appointment
        moved.clinic, moved.doctor, moved.patient = clinic, appointment.doctor, appointment.patient
        _tell_staff(moved, Notification.Kind.MOVED_ONLINE, "moved their appointment")
    return moved


# --- Profile -------------------------------------------------------------------------------

PROFILE_FIELDS = (
    "email",
    "house",
    "street",
    "area",
    "city",
    "district",
    "state",
    "postal_code",
    "emergency_contact_name",
    "emergency_contact_phone",
    "emergency_contact_relation",
    "reminders_by_sms",
    "reminders_by_email",
    "reminders_by_whatsapp",
    "preferred_language",
)


@transaction.atomic
def profile_update(*, identity: PortalIdentity, patient: Patient, changes: dict) -> Patient:
    """The patient's own contact details (the phone changes only through a new code).
    Recorded in the chart's history as changed in the portal."""
    if patient.pk not in {chart.pk for chart in patients_of(identity)}:
        raise Patient.DoesNotExist
    unknown = set(changes) - set(PROFILE_FIELDS)
    if unknown:
        raise ValidationError({field: "This field cannot be changed in the portal." for field in sorted(unknown)})
    errors: dict[str, str] = {}
    cleaned = dict(changes)
    if "emergency_contact_phone" in cleaned and cleaned["emergency_contact_phone"]:
        try:
            cleaned["emergency_contact_phone"] = patient_identity.normalize_phone(
                str(cleaned["emergency_contact_phone"]), default_region=patient.clinic.country
            )
        except ValidationError as error:
            errors["emergency_contact_phone"] = error.messages[0]
    for field, value in cleaned.items():
        if isinstance(value, str):
            cleaned[field] = value.strip()
            if "\x00" in value:
                errors[field] = "Remove the NUL character."
    if errors:
        raise ValidationError(errors)
    with scopes_disabled():
        locked = Patient.objects.select_for_update().get(pk=patient.pk)
        for field, value in cleaned.items():
            setattr(locked, field, value)
        try:
            locked.full_clean(exclude=[f.name for f in Patient._meta.fields if f.name not in cleaned])
        except ValidationError as error:
            raise ValidationError(error.message_dict)
        changed = [field for field in cleaned if getattr(patient, field) != getattr(locked, field)]
        if changed:
            locked._change_reason = "Changed by the patient in the portal"
            locked.save(update_fields=[*changed, "updated_at"])
    locked.clinic = patient.clinic
    return locked


def waitlist_join(
    *, identity: PortalIdentity, patient: Patient, doctor_id: int | None, earliest: datetime.date, latest: datetime.date, part_of_day: str
) -> WaitlistEntry:
    """The patient asks to be offered an earlier or a freed time with a doctor the clinic
    lets patients book online (the desk sees the entry on its waitlist)."""
    if patient.pk not in {chart.pk for chart in patients_of(identity)}:
        raise Patient.DoesNotExist
    clinic = patient.clinic
    _rules_or_refuse(clinic)
    doctor = _bookable_doctor(clinic, doctor_id)
    with scope(clinic=clinic):
        data = waitlist.WaitlistInput(patient=patient, doctor=doctor, earliest_date=earliest, latest_date=latest, part_of_day=part_of_day)
        return waitlist.waitlist_add(clinic=clinic, data=data, user=None, via="portal")
