"""Every write of scheduling data, and the availability rules the writes obey.

Double booking of a doctor or a resource is impossible: the service checks for overlap
with the doctor's *user* row locked (so bookings for one doctor queue, whichever clinic
they are made in: a doctor working in two clinics is one person), and on PostgreSQL an
exclusion constraint refuses any overlapping pair within a clinic that would still slip
through. On SQLite every write transaction is IMMEDIATE, so the check and the insert are
serialized. Another clinic's appointments are read only as busy intervals (start, end):
one clinic never learns who the doctor sees elsewhere.
"""

import datetime
import hashlib
import secrets
from dataclasses import dataclass, field
from types import EllipsisType

import icalendar
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from clinicos import services as clinicos_services
from clinicos.choices import MAX_AGE_YEARS, Gender
from clinicos.counters import counter_next
from clinicos.dates import check_moment
from clinicos.errors import Conflict, TransitionNotAllowed
from clinicos.models import Clinic, DoctorProfile, Membership, Notification, Resource, User
from clinicos.roles import Perm
from clinicos.scoping import scopes_disabled
from clinicos.text import check_no_nul
from leads.hooks import InstantBooking
from leads.models import Lead
from patients import identity
from patients import services as patient_services
from patients.models import Patient
from scheduling.models import (
    PRE_ARRIVAL_STATUSES,
    RELEASED_STATUSES,
    Appointment,
    AppointmentStatus,
    AppointmentType,
    AvailabilityException,
    CalendarFeed,
    ReferenceSequence,
    WorkingHours,
)

MIN_MINUTES, MAX_MINUTES, DEFAULT_MINUTES = 15, 480, 30
PRE_ARRIVAL = PRE_ARRIVAL_STATUSES

# The status flow; each step records its time. Cancelled and No-show only before arrival.
# Checking in someone not yet marked arrived is the desk's one tap: it records both.
_ON_ARRIVAL = {AppointmentStatus.ARRIVED, AppointmentStatus.CHECKED_IN, AppointmentStatus.CANCELLED, AppointmentStatus.NO_SHOW}
ALLOWED_MOVES: dict[str, frozenset[str]] = {
    AppointmentStatus.EXPECTED: frozenset({AppointmentStatus.CONFIRMED, *_ON_ARRIVAL}),
    AppointmentStatus.SCHEDULED: frozenset({AppointmentStatus.CONFIRMED, *_ON_ARRIVAL}),
    AppointmentStatus.CONFIRMED: frozenset(_ON_ARRIVAL),
    AppointmentStatus.ARRIVED: frozenset({AppointmentStatus.CHECKED_IN}),
    AppointmentStatus.CHECKED_IN: frozenset({AppointmentStatus.IN_PROGRESS}),
    AppointmentStatus.IN_PROGRESS: frozenset({AppointmentStatus.COMPLETED}),
    AppointmentStatus.COMPLETED: frozenset(),
    AppointmentStatus.CANCELLED: frozenset(),
    AppointmentStatus.NO_SHOW: frozenset(),
}
STATUS_TIMESTAMPS = {
    AppointmentStatus.CONFIRMED: "confirmed_at",
    AppointmentStatus.ARRIVED: "arrived_at",
    AppointmentStatus.CHECKED_IN: "checked_in_at",
    AppointmentStatus.IN_PROGRESS: "started_at",
    AppointmentStatus.COMPLETED: "completed_at",
    AppointmentStatus.CANCELLED: "cancelled_at",
    AppointmentStatus.NO_SHOW: "no_show_at",
}


class SlotTaken(Conflict):
    """The slot overlaps another appointment of the doctor or the resource; carries the
    next free slots (a list of ``{"start", "end", "doctor"}``)."""

    def __init__(self, message: str, next_free: list[dict], clinic: Clinic | None = None):
        super().__init__(message)
        self.next_free = next_free
        self.clinic = clinic

    def problem_fields(self) -> dict:
        tz = self.clinic.tzinfo if self.clinic else datetime.UTC
        return {
            "next_free": [
                {"start": slot["start"].astimezone(tz).isoformat(), "end": slot["end"].astimezone(tz).isoformat()}
                for slot in self.next_free
            ]
        }


SLOT_TAKEN_MESSAGE = "That slot was just taken."


@dataclass
class Booking:
    appointment: Appointment
    warnings: list[str] = field(default_factory=list)


# --- Time in the clinic -------------------------------------------------------------------


def clinic_datetime(clinic: Clinic, day: datetime.date, time: datetime.time) -> datetime.datetime:
    """That wall-clock time in the clinic, as an instant in UTC (arithmetic on instants
    stays right across daylight-saving changes; on wall-clock times it does not)."""
    return datetime.datetime.combine(day, time, tzinfo=clinic.tzinfo).astimezone(datetime.UTC)


def clinic_wall_time(clinic: Clinic, day: datetime.date, time: datetime.time) -> datetime.datetime:
    """What a person typed, still in the clinic's zone, so that a time the clocks skip
    can be recognised (``check_wall_time_exists``)."""
    return datetime.datetime.combine(day, time, tzinfo=clinic.tzinfo)


def check_wall_time_exists(clinic: Clinic, moment: datetime.datetime) -> None:
    """A local time skipped by a daylight-saving change (e.g. 01:30 on the last Sunday of
    March in London) does not exist; refuse it rather than guess."""
    local = moment.astimezone(clinic.tzinfo)
    naive = moment.replace(tzinfo=None) if moment.tzinfo == clinic.tzinfo else local.replace(tzinfo=None)
    round_trip = naive.replace(tzinfo=clinic.tzinfo).astimezone(datetime.UTC).astimezone(clinic.tzinfo).replace(tzinfo=None)
    if round_trip != naive:
        raise ValidationError({"start": f"{naive:%H:%M} does not exist on {naive:%d %b %Y} in {clinic.timezone}: the clocks change."})


# --- Availability -------------------------------------------------------------------------


def availability_blocks(
    *, doctor: DoctorProfile, day: datetime.date, exceptions=None, hours=None
) -> list[tuple[datetime.datetime, datetime.datetime]]:
    """The doctor's working time on ``day`` in the clinic's timezone: weekly hours plus
    extra sessions, less leave and clinic holidays. ``exceptions``/``hours`` may be passed
    in pre-fetched (the calendar does) to avoid a query per doctor."""
    clinic = doctor.clinic
    if exceptions is None:
        exceptions = list(
            AvailabilityException.objects.for_clinic(clinic).filter(date=day).filter(Q(doctor=doctor) | Q(doctor__isnull=True))
        )
    else:
        exceptions = [e for e in exceptions if e.date == day and e.doctor_id in (doctor.pk, None)]
    if hours is None:
        hours = list(WorkingHours.objects.for_clinic(clinic).filter(doctor=doctor, weekday=day.weekday()))
    else:
        hours = [h for h in hours if h.doctor_id == doctor.pk and h.weekday == day.weekday()]
    blocks = [(clinic_datetime(clinic, day, h.start_time), clinic_datetime(clinic, day, h.end_time)) for h in hours]
    blocks += [
        (clinic_datetime(clinic, day, e.start_time), clinic_datetime(clinic, day, e.end_time))
        for e in exceptions
        if e.kind == AvailabilityException.Kind.EXTRA and e.start_time and e.end_time
    ]
    for away in (e for e in exceptions if e.kind in (AvailabilityException.Kind.LEAVE, AvailabilityException.Kind.HOLIDAY)):
        if away.start_time is None or away.end_time is None:
            return []
        blocks = _subtract(blocks, clinic_datetime(clinic, day, away.start_time), clinic_datetime(clinic, day, away.end_time))
    return sorted(blocks)


def _subtract(blocks, start, end):
    result = []
    for block_start, block_end in blocks:
        if block_end <= start or block_start >= end:
            result.append((block_start, block_end))
            continue
        if block_start < start:
            result.append((block_start, start))
        if block_end > end:
            result.append((end, block_end))
    return result


def within_availability(*, doctor: DoctorProfile, start: datetime.datetime, end: datetime.datetime) -> bool:
    day = start.astimezone(doctor.clinic.tzinfo).date()
    return any(block_start <= start and end <= block_end for block_start, block_end in availability_blocks(doctor=doctor, day=day))


def overlaps(start_a, end_a, start_b, end_b) -> bool:
    """Half-open ranges: back-to-back appointments do not overlap."""
    return start_a < end_b and start_b < end_a


def _overlapping(start, end) -> dict:
    """The filter for appointments overlapping [start, end), bounded below by the longest
    appointment there can be (the duration constraint), so that the (…, starts_at) indexes
    read a few hours of a doctor's diary rather than every appointment since the first."""
    return {"starts_at__lt": end, "starts_at__gt": start - datetime.timedelta(minutes=MAX_MINUTES), "ends_at__gt": start}


def _clashing(queryset, start, end, exclude_pk=None):
    clashes = queryset.filter(**_overlapping(start, end)).exclude(status__in=RELEASED_STATUSES)
    return clashes.exclude(pk=exclude_pk) if exclude_pk else clashes


def busy_elsewhere(
    *, clinic: Clinic, doctors, start: datetime.datetime, end: datetime.datetime
) -> list[tuple[int, datetime.datetime, datetime.datetime]]:
    """(doctor profile id *in this clinic*, start, end) of the times these doctors are booked
    in their other clinics between ``start`` and ``end``. Crosses clinics on purpose and
    reads only the intervals: no patient, no reference leaves the query. A doctor who works
    in one clinic only (most) costs one small read of profiles and no appointment read."""
    profile_here = {doctor.user_id: doctor.pk for doctor in doctors}
    if not profile_here:
        return []
    with scopes_disabled():
        elsewhere = list(
            DoctorProfile.objects.filter(user_id__in=profile_here).exclude(clinic=clinic).values_list("clinic_id", "pk", "user_id")
        )
        if not elsewhere:
            return []
        their_diaries = Q()
        for clinic_id, profile_id, _user_id in elsewhere:  # each on its (clinic, doctor, starts_at) index
            their_diaries |= Q(clinic_id=clinic_id, doctor_id=profile_id)
        here_of = {profile_id: profile_here[user_id] for _clinic_id, profile_id, user_id in elsewhere}
        rows = (
            Appointment.objects.filter(their_diaries, **_overlapping(start, end))
            .exclude(status__in=RELEASED_STATUSES)
            .values_list("doctor_id", "starts_at", "ends_at")
        )
        return [(here_of[doctor_id], starts_at, ends_at) for doctor_id, starts_at, ends_at in rows]


def free_slots(
    *,
    clinic: Clinic,
    day: datetime.date,
    doctor: DoctorProfile | None = None,
    duration_minutes: int | None = None,
    limit: int = 50,
    exclude_appointment_pk=None,
) -> list[dict]:
    """Free slots on ``day`` (never in the past), for one doctor or any active doctor."""
    doctors = [doctor] if doctor else list(DoctorProfile.objects.for_clinic(clinic).filter(is_active=True).select_related("user", "clinic"))
    now = timezone.now()
    booked = list(
        Appointment.objects.for_clinic(clinic)
        .filter(doctor__in=doctors)
        .filter(
            **_overlapping(
                clinic_datetime(clinic, day, datetime.time.min),
                clinic_datetime(clinic, day + datetime.timedelta(days=1), datetime.time.min),
            )
        )
        .exclude(status__in=RELEASED_STATUSES)
        .exclude(pk=exclude_appointment_pk)
        .values_list("doctor_id", "starts_at", "ends_at")
    )
    booked += busy_elsewhere(
        clinic=clinic,
        doctors=doctors,
        start=clinic_datetime(clinic, day, datetime.time.min),
        end=clinic_datetime(clinic, day + datetime.timedelta(days=1), datetime.time.min),
    )
    exceptions = list(AvailabilityException.objects.for_clinic(clinic).filter(date=day))
    hours = list(WorkingHours.objects.for_clinic(clinic).filter(doctor__in=doctors, weekday=day.weekday()))
    slots = []
    for candidate in doctors:
        step_by_block = {(h.start_time, h.end_time): h.slot_minutes for h in hours if h.doctor_id == candidate.pk}
        default_step = next(iter(step_by_block.values()), DEFAULT_MINUTES)
        length = datetime.timedelta(minutes=duration_minutes or default_step)
        for block_start, block_end in availability_blocks(doctor=candidate, day=day, exceptions=exceptions, hours=hours):
            step = datetime.timedelta(minutes=default_step)
            start = block_start
            while start + length <= block_end:
                end = start + length
                taken = any(d == candidate.pk and overlaps(start, end, s, e) for d, s, e in booked)
                if start >= now and not taken:
                    slots.append({"start": start, "end": end, "doctor": candidate})
                start += step
    slots.sort(key=lambda slot: (slot["start"], slot["doctor"].pk))  # type: ignore[union-attr]
    return slots[:limit]


def next_free_slots(
    *, clinic: Clinic, doctor: DoctorProfile | None, after: datetime.datetime, duration_minutes: int, count: int = 5, days: int = 14
) -> list[dict]:
    found = []
    day = after.astimezone(clinic.tzinfo).date()
    for offset in range(days):
        for slot in free_slots(clinic=clinic, day=day + datetime.timedelta(days=offset), doctor=doctor, duration_minutes=duration_minutes):
            if slot["start"] >= after:
                found.append(slot)
                if len(found) == count:
                    return found
    return found


# --- Booking --------------------------------------------------------------------------------


def lock_doctor(doctor: DoctorProfile) -> None:
    """Bookings for one doctor queue here, in every clinic they work in: the lock is on
    the person (their user row), not on one clinic's profile. NO KEY UPDATE: rows that
    merely point at the user (audit entries, notes they sign) are not held up."""
    User.objects.select_for_update(no_key=True).only("pk").get(pk=doctor.user_id)


def _next_reference(clinic: Clinic) -> str:
    return f"{clinic.code}-A{counter_next(ReferenceSequence, clinic=clinic)}"


def _validate_slot(*, clinic, doctor, start, duration_minutes, membership, override_reason, resource, allow_past=False):
    errors = {}
    if not isinstance(duration_minutes, int) or not MIN_MINUTES <= duration_minutes <= MAX_MINUTES:
        errors["duration_minutes"] = f"The duration must be between {MIN_MINUTES} and {MAX_MINUTES} minutes."
    if timezone.is_naive(start):
        errors["start"] = "Give the start with its time zone."
    if doctor.clinic_id != clinic.pk or not doctor.is_active or not doctor.user.is_active:
        errors["doctor"] = "Choose an active doctor of this clinic."
    if resource is not None and (resource.clinic_id != clinic.pk or not resource.is_active):
        errors["resource"] = "Choose an active room or machine of this clinic."
    if errors:
        raise ValidationError(errors)
    check_moment(start, "start")
    check_wall_time_exists(clinic, start)
    start = start.astimezone(datetime.UTC)
    if not allow_past and start < timezone.now():
        raise ValidationError({"start": "An appointment cannot start in the past."})
    end = start + datetime.timedelta(minutes=duration_minutes)
    if not within_availability(doctor=doctor, start=start, end=end):
        may_override = membership is not None and membership.has_perm_in_clinic(Perm.SCHEDULE_OVERRIDE)
        if not override_reason.strip():
            raise ValidationError(
                {
                    "start": "This time is outside the doctor's availability."
                    + (" Give a reason to book it anyway (e.g. an emergency)." if may_override else "")
                }
            )
        if not may_override:
            raise PermissionDenied("Only an administrator or the front desk may book outside a doctor's availability.")
    return start, end


def _raise_if_taken(*, clinic, doctor, resource, start, end, duration_minutes, exclude_pk=None):
    doctor_clash = _clashing(Appointment.objects.for_clinic(clinic).filter(doctor=doctor), start, end, exclude_pk).exists() or bool(
        busy_elsewhere(clinic=clinic, doctors=[doctor], start=start, end=end)
    )
    resource_clash = (
        resource is not None
        and _clashing(Appointment.objects.for_clinic(clinic).filter(resource=resource), start, end, exclude_pk).exists()
    )
    if doctor_clash or resource_clash:
        what = "the doctor" if doctor_clash else str(resource)
        raise SlotTaken(
            f"{SLOT_TAKEN_MESSAGE} ({what} is busy then.)",
            next_free_slots(clinic=clinic, doctor=doctor, after=start, duration_minutes=duration_minutes),
            clinic,
        )


def _save_or_slot_taken(appointment, clinic, doctor, start, duration_minutes):
    """The exclusion constraint's refusal (a concurrent booking won) as a SlotTaken."""
    try:
        with transaction.atomic():
            appointment.save()
    except IntegrityError as error:
        if "overlap" not in str(error):
            raise
        raise SlotTaken(
            SLOT_TAKEN_MESSAGE, next_free_slots(clinic=clinic, doctor=doctor, after=start, duration_minutes=duration_minutes), clinic
        )
    if appointment.patient_id is not None:  # booked with them: the doctor joins the care team
        patient_services.care_team_add(patient=appointment.patient, doctor=doctor)


BOOKING_REFUSALS = {
    True: (Perm.SCHEDULE_BOOK_LEADS, "Your role may not book appointments for leads."),
    False: (Perm.SCHEDULE_BOOK_PATIENTS, "Your role books appointments for leads only."),
}


def check_may_book(membership: Membership | None, *, for_lead: bool) -> None:
    """Booking (or moving) a lead's appointment and a patient's or walk-in's are
    separate rows of the role matrix (CROs book leads only)."""
    perm, message = BOOKING_REFUSALS[for_lead]
    if membership is not None and not membership.has_perm_in_clinic(perm):
        raise PermissionDenied(message)


WALK_IN_NAME_MAX = 150


def walk_in_clean(*, clinic: Clinic, walk_in: dict) -> dict:
    """A walk-in's details as stored: name required, phone in E.164 (so that the walk-in
    attaches to the patient they become), a known sex, a plausible birth date."""
    name = " ".join(str(walk_in.get("name") or "").split())
    phone = str(walk_in.get("phone") or "").strip()
    sex = walk_in.get("sex") or ""
    dob = walk_in.get("dob")
    errors: dict[str, str] = {}
    check_no_nul(walk_in_name=name, walk_in_phone=phone)
    if not name:
        errors["walk_in_name"] = "Give the walk-in's name."
    elif len(name) > WALK_IN_NAME_MAX:
        errors["walk_in_name"] = f"Use at most {WALK_IN_NAME_MAX} characters."
    if phone:
        try:
            phone = identity.normalize_phone(phone[:40], default_region=clinic.country)
        except ValidationError as error:
            errors["walk_in_phone"] = error.messages[0]
    if sex and sex not in Gender.values:
        errors["walk_in_sex"] = f"Choose one of: {', '.join(Gender.values)}."
    if dob:
        today = clinic.today()
        if dob > today:
            errors["walk_in_dob"] = "The birth date cannot be in the future."
        elif dob.year < today.year - MAX_AGE_YEARS:
            errors["walk_in_dob"] = f"The birth date is more than {MAX_AGE_YEARS} years ago."
    if errors:
        raise ValidationError(errors)
    return {"name": name, "phone": phone, "dob": dob, "sex": sex}


def _check_who_is_booked(*, clinic: Clinic, type: str, patient: Patient | None, lead: Lead | None, walk_in: dict | None) -> None:
    if sum(x is not None and x != {} for x in (patient, lead, walk_in)) != 1:
        raise ValidationError({"patient": "Book for exactly one of: a patient, a lead, or a walk-in."})
    if type not in AppointmentType.values:
        raise ValidationError({"type": f"Choose one of: {', '.join(AppointmentType.values)}."})
    if patient is not None and (patient.clinic_id != clinic.pk or patient.is_archived):
        raise ValidationError({"patient": "Only active patients of this clinic can be booked."})
    if lead is not None and (lead.clinic_id != clinic.pk or not lead.is_open):
        raise ValidationError({"lead": "Only open leads of this clinic can be booked."})


def _copy_snapshot(appointment: Appointment, *, lead: Lead | None, walk_in: dict | None) -> None:
    """A lead's or a walk-in's name, phone and sex stay on the appointment (the front desk's
    list shows them before anyone registers)."""
    if lead is not None:
        appointment.walk_in_name, appointment.walk_in_phone = lead.name, lead.phone
        appointment.walk_in_sex = lead.gender
    if walk_in:
        appointment.walk_in_name = walk_in["name"]
        appointment.walk_in_phone = walk_in["phone"]
        appointment.walk_in_dob = walk_in["dob"]
        appointment.walk_in_sex = walk_in["sex"]


@transaction.atomic
def appointment_book(
    *,
    clinic: Clinic,
    user: User | None,
    membership: Membership | None,
    doctor: DoctorProfile,
    start: datetime.datetime,
    duration_minutes: int = DEFAULT_MINUTES,
    type: str = AppointmentType.CONSULTATION,
    reason: str = "",
    notes: str = "",
    patient: Patient | None = None,
    lead: Lead | None = None,
    walk_in: dict | None = None,
    resource: Resource | None = None,
    override_reason: str = "",
    booked_via: str = Appointment.BookedVia.DESK,
    external_reference: str = "",
) -> Booking:
    """Book a patient, a lead or a walk-in with a doctor (and optionally a room or machine)."""
    _check_who_is_booked(clinic=clinic, type=type, patient=patient, lead=lead, walk_in=walk_in)
    check_may_book(membership, for_lead=lead is not None)
    check_no_nul(reason=reason, notes=notes, override_reason=override_reason)
    if walk_in is not None:
        walk_in = walk_in_clean(clinic=clinic, walk_in=walk_in)
    lock_doctor(doctor)
    start, end = _validate_slot(
        clinic=clinic,
        doctor=doctor,
        start=start,
        duration_minutes=duration_minutes,
        membership=membership,
        override_reason=override_reason,
        resource=resource,
    )
    _raise_if_taken(clinic=clinic, doctor=doctor, resource=resource, start=start, end=end, duration_minutes=duration_minutes)
    appointment = Appointment(
        clinic=clinic,
        doctor=doctor,
        resource=resource,
        department=doctor.department,
        starts_at=start,
        ends_at=end,
        duration_minutes=duration_minutes,
        type=type,
        reason=reason.strip()[:250],
        notes=notes,
        booked_by=user,
        booked_via=booked_via,
        availability_override_reason=override_reason.strip()[:200],
        patient=patient,
        lead=lead,
        status=AppointmentStatus.SCHEDULED if patient else AppointmentStatus.EXPECTED,
        external_reference=external_reference,
    )
    _copy_snapshot(appointment, lead=lead, walk_in=walk_in)
    appointment.reference = _next_reference(clinic)
    _save_or_slot_taken(appointment, clinic, doctor, start, duration_minutes)
    _after_booking(appointment, user)
    return Booking(appointment, _patient_clash_warnings(appointment))


def _after_booking(appointment: Appointment, user: User | None) -> None:
    """What a booking sets off: its messages; the patient's recalls close and they leave the waitlist."""
    from scheduling.services import messages, recalls, waitlist

    if appointment.booked_via == Appointment.BookedVia.IMPORT:
        messages.appointment_reminders_queue(appointment)  # booked in the old system: it confirmed them
    else:
        messages.appointment_booked(appointment, user=user)
    recalls.close_on_booking(appointment)
    waitlist.leave_on_booking(appointment)


def instant_booking_of_new_lead(
    *, lead: Lead, user: User | None, membership: Membership | None, start: datetime.datetime, doctor_id: int | None
) -> InstantBooking:
    """A new lead's preferred time, booked if free with the doctor named (or the first
    doctor free then), by the booking rules every booking follows; else the next free times.
    A doctor not of the clinic is a ValidationError (the caller's transaction stores nothing)."""
    clinic = lead.clinic
    doctors = DoctorProfile.objects.for_clinic(clinic).filter(is_active=True, user__is_active=True).select_related("user", "clinic")
    named = None
    if doctor_id is not None:
        named = doctors.filter(pk=doctor_id).first()
        if named is None:
            raise ValidationError({"doctor_id": "Choose a doctor of this clinic who takes appointments."})
    for candidate in [named] if named else list(doctors):
        try:
            with transaction.atomic():  # a refused try leaves nothing behind
                booking = appointment_book(
                    clinic=clinic,
                    user=user,  # None: the website books as nobody
                    membership=membership,
                    doctor=candidate,
                    start=start,
                    lead=lead,
                    type=AppointmentType.CONSULTATION,
                    reason=f"Enquiry: {lead.inquiry}"[:250],
                    booked_via=Appointment.BookedVia.LEAD_INSTANT,
                )
        except (SlotTaken, ValidationError):
            continue  # taken, or outside the doctor's hours: not free then
        appointment = booking.appointment
        return InstantBooking(appointment.pk, appointment.reference, appointment.starts_at, appointment.doctor_id)
    free = next_free_slots(clinic=clinic, doctor=named, after=start, duration_minutes=DEFAULT_MINUTES, count=3)
    return InstantBooking(next_free=tuple((slot["start"], slot["doctor"].pk) for slot in free))


def _patient_clash_warnings(appointment: Appointment) -> list[str]:
    """A patient booked twice at once is allowed (two doctors, say), but said."""
    patient = appointment.patient
    if patient is None:
        return []
    others = Appointment.objects.for_clinic(appointment.clinic).filter(patient=patient)
    if _clashing(others, appointment.starts_at, appointment.ends_at, appointment.pk).exists():
        return [f"{patient.full_name} has another appointment at the same time."]
    return []


@transaction.atomic
def appointment_reschedule(
    *,
    appointment: Appointment,
    user: User,
    membership: Membership | None,
    start: datetime.datetime,
    duration_minutes: int | None = None,
    doctor: DoctorProfile | None = None,
    resource: Resource | None | EllipsisType = ...,
    override_reason: str = "",
) -> Booking:
    """Move an appointment under the same rules as booking; history keeps the old time."""
    appointment = Appointment.objects.select_for_update().select_related("clinic").get(pk=appointment.pk)
    check_may_book(membership, for_lead=appointment.patient_id is None and appointment.lead_id is not None)
    if appointment.status not in PRE_ARRIVAL:
        raise TransitionNotAllowed(f"A {appointment.get_status_display().lower()} appointment cannot be moved.")
    clinic = appointment.clinic
    doctor = doctor or appointment.doctor
    resource = appointment.resource if resource is ... else resource
    duration_minutes = duration_minutes or appointment.duration_minutes
    lock_doctor(doctor)
    start, end = _validate_slot(
        clinic=clinic,
        doctor=doctor,
        start=start,
        duration_minutes=duration_minutes,
        membership=membership,
        override_reason=override_reason,
        resource=resource,
    )
    _raise_if_taken(
        clinic=clinic, doctor=doctor, resource=resource, start=start, end=end, duration_minutes=duration_minutes, exclude_pk=appointment.pk
    )
    freed = (appointment.doctor, appointment.starts_at, appointment.ends_at)
    appointment.doctor, appointment.resource = doctor, resource
    appointment.starts_at, appointment.ends_at, appointment.duration_minutes = start, end, duration_minutes
    if override_reason.strip():
        appointment.availability_override_reason = override_reason.strip()[:200]
    _save_or_slot_taken(appointment, clinic, doctor, start, duration_minutes)
    if (freed[0].pk, freed[1]) != (doctor.pk, start):
        _after_move(appointment, user, freed)
    return Booking(appointment, [])


def _after_move(appointment: Appointment, user: User | None, freed: tuple[DoctorProfile, datetime.datetime, datetime.datetime]) -> None:
    from scheduling.services import messages, waitlist

    messages.appointment_moved(appointment, user=user)
    waitlist.appointment_freed(appointment, doctor=freed[0], start=freed[1], end=freed[2])


@transaction.atomic
def appointment_set_status(*, appointment: Appointment, to_status: str, user: User | None, reason: str = "") -> Appointment:
    appointment = (
        Appointment.objects.select_for_update(of=("self",))
        .select_related("clinic", "doctor__user", "patient", "lead")
        .get(pk=appointment.pk)
    )
    if to_status not in AppointmentStatus.values or to_status not in ALLOWED_MOVES[appointment.status]:
        label = AppointmentStatus(to_status).label if to_status in AppointmentStatus.values else to_status
        raise TransitionNotAllowed(f"An appointment cannot go from “{appointment.get_status_display()}” to “{label}”.")
    check_no_nul(reason=reason)
    if to_status == AppointmentStatus.CANCELLED:
        if not reason.strip():
            raise ValidationError({"reason": "Say why the appointment is cancelled."})
        appointment.cancel_reason = reason.strip()[:250]
        appointment.cancelled_by = user
    now = timezone.now()
    if to_status == AppointmentStatus.CHECKED_IN and appointment.arrived_at is None:
        appointment.arrived_at = now  # checked in in one tap: they arrived then too
    appointment.status = to_status
    setattr(appointment, STATUS_TIMESTAMPS[AppointmentStatus(to_status)], now)
    appointment.save()
    if to_status == AppointmentStatus.CHECKED_IN:
        _notify_doctor_of_check_in(appointment)
    _after_status_change(appointment, user)
    return appointment


def _after_status_change(appointment: Appointment, user: User | None) -> None:
    """A cancellation tells the patient and offers the slot to the waitlist; once the
    patient is in (or did not come) nothing about the appointment is pending."""
    from scheduling.services import messages, waitlist

    if appointment.status == AppointmentStatus.CANCELLED:
        messages.appointment_cancelled(appointment, user=user)
        waitlist.appointment_freed(appointment, doctor=appointment.doctor, start=appointment.starts_at, end=appointment.ends_at)
    elif appointment.status not in PRE_ARRIVAL:
        messages.appointment_over(appointment)


def cancel_by_patient(appointment: Appointment) -> Appointment:
    """The patient cancels from a reminder's link, within the clinic's notice."""
    from scheduling.services import messages

    if appointment.status not in PRE_ARRIVAL:
        raise TransitionNotAllowed("This appointment can no longer be cancelled.")
    if timezone.now() >= messages.cancel_deadline(appointment, appointment.clinic):
        raise Conflict("It is too close to the appointment to cancel online: please call the clinic.")
    return appointment_set_status(
        appointment=appointment, to_status=AppointmentStatus.CANCELLED, user=None, reason="Cancelled by the patient from a reminder"
    )


def _notify_doctor_of_check_in(appointment: Appointment) -> None:
    """Tell the doctor their patient is here (the bell; My schedule updates by itself)."""
    doctor = DoctorProfile.objects.filter(pk=appointment.doctor_id).only("user_id", "clinic_id").first()
    if doctor is None:
        return
    clinic = Clinic.objects.get(pk=appointment.clinic_id)
    at = timezone.localtime(appointment.starts_at, clinic.tzinfo)
    clinicos_services.notify(
        clinic=clinic,
        recipients=[doctor.user_id],
        kind=Notification.Kind.PATIENT_CHECKED_IN,
        title=f"{appointment.who} checked in for {at:%H:%M}",
        url=reverse("my_schedule", args=[clinic.code]),
    )


# --- Attaching walk-ins and leads to their patient -----------------------------------------


def attach_to_patient(*, patient: Patient, lead: Lead | None = None) -> int:
    """When a walk-in registers or a lead converts, their appointments become the patient's."""
    unattached = Appointment.objects.for_clinic(patient.clinic).filter(patient__isnull=True)
    matching = unattached.filter(lead=lead) if lead is not None else unattached.filter(lead__isnull=True, walk_in_phone=patient.mobile)
    count = 0
    for appointment in matching.select_related("doctor__user"):  # one by one, so that history records each change
        appointment.patient = patient
        if appointment.status == AppointmentStatus.EXPECTED:
            appointment.status = AppointmentStatus.SCHEDULED
        appointment.save()
        patient_services.care_team_add(patient=patient, user=appointment.doctor.user)
        count += 1
    return count


# --- Availability editing -----------------------------------------------------------------------


@transaction.atomic
def working_hours_add(*, doctor: DoctorProfile, weekday: int, start_time, end_time, slot_minutes: int = DEFAULT_MINUTES) -> WorkingHours:
    clash = WorkingHours.objects.filter(doctor=doctor, weekday=weekday, start_time__lt=end_time, end_time__gt=start_time).exists()
    if clash:
        raise ValidationError({"start_time": "This block overlaps another block on the same day."})
    block = WorkingHours(
        clinic_id=doctor.clinic_id, doctor=doctor, weekday=weekday, start_time=start_time, end_time=end_time, slot_minutes=slot_minutes
    )
    block.full_clean()
    block.save()
    return block


@transaction.atomic
def working_hours_remove(*, block: WorkingHours) -> None:
    block.delete()


@transaction.atomic
def exception_add(
    *, clinic: Clinic, doctor: DoctorProfile | None, kind: str, date, start_time=None, end_time=None, reason=""
) -> AvailabilityException:
    if kind == AvailabilityException.Kind.EXTRA and not (start_time and end_time):
        raise ValidationError({"start_time": "An extra session needs its start and end."})
    if (start_time is None) != (end_time is None) or (start_time and end_time and end_time <= start_time):
        raise ValidationError({"end_time": "Give both times, the end after the start (or neither for the whole day)."})
    if kind == AvailabilityException.Kind.HOLIDAY:
        doctor = None
    elif doctor is None:
        raise ValidationError({"doctor": "Choose the doctor."})
    exception = AvailabilityException(
        clinic=clinic, doctor=doctor, kind=kind, date=date, start_time=start_time, end_time=end_time, reason=reason
    )
    exception.full_clean()
    exception.save()
    return exception


# --- Calendar feeds -------------------------------------------------------------------------


def _hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def calendar_feed_renew(*, doctor: DoctorProfile) -> str:
    """A new secret feed URL token for the doctor; older ones stop working."""
    CalendarFeed.objects.filter(doctor=doctor, revoked_at__isnull=True).update(revoked_at=timezone.now())
    raw = secrets.token_urlsafe(24)
    CalendarFeed.objects.create(clinic_id=doctor.clinic_id, doctor=doctor, token_hash=_hash_token(raw))
    return raw


@transaction.atomic
def calendar_feed_revoke(*, doctor: DoctorProfile) -> None:
    CalendarFeed.objects.filter(doctor=doctor, revoked_at__isnull=True).update(revoked_at=timezone.now())


def calendar_feed_doctor(*, raw: str) -> DoctorProfile | None:
    """The doctor whose feed this token opens, found across clinics: the token is what
    tells the clinic (the caller then enters that clinic's scope)."""
    with scopes_disabled():
        feed = (
            CalendarFeed.objects.select_related("doctor__clinic", "doctor__user")
            .filter(token_hash=_hash_token(raw), revoked_at__isnull=True)
            .first()
        )
    return feed.doctor if feed and feed.doctor.is_active else None


def ical_feed_text(*, clinic: Clinic, doctor: DoctorProfile, appointments) -> bytes:
    """iCalendar (RFC 5545) of a doctor's appointments, times in UTC. The ``icalendar``
    library escapes text (commas, semicolons, line breaks) and folds long lines."""
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//ClinicOS//Schedule//EN")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", f"{clinic.name} – {doctor}")
    stamp = timezone.now()
    for appointment in appointments:
        event = icalendar.Event()
        event.add("uid", f"{appointment.reference}@clinicos")
        event.add("dtstamp", stamp)
        event.add("dtstart", appointment.starts_at.astimezone(datetime.UTC))
        event.add("dtend", appointment.ends_at.astimezone(datetime.UTC))
        event.add("summary", f"{appointment.get_type_display()}: {appointment.who}")
        event.add("description", appointment.reason or "")
        event.add("location", clinic.name)
        calendar.add_component(event)
    return calendar.to_ical()
