"""What an appointment tells its patient, through the outbox (``clinicos.messaging``): a
confirmation after a short grace period, reminders at the clinic's lead times, a change
notice when it moves, a cancellation when it is cancelled — and nothing pending once it is
over. Each reminder carries a signed link to confirm or cancel (``appointment_link``)."""

import datetime

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.utils import timezone

from clinicos.errors import Conflict
from clinicos.messaging import services as messaging
from clinicos.messaging.choices import MessageKind
from clinicos.messaging.models import MessageRules
from clinicos.messaging.wording import clinic_time
from clinicos.models import Clinic, User
from patients.models import Patient
from scheduling.models import PRE_ARRIVAL_STATUSES, Appointment, AppointmentStatus

SUBJECT = "appointment"
LINK_SALT = "scheduling.appointment-link"


def recipient_of_patient(patient: Patient) -> messaging.Recipient:
    return messaging.Recipient(
        patient_id=patient.pk,
        first_name=patient.first_name,
        phone=patient.mobile,
        email=patient.email,
        language=patient.preferred_language,
        sms_ok=patient.reminders_by_sms,
        email_ok=patient.reminders_by_email,
        whatsapp_ok=patient.reminders_by_whatsapp,
    )


def recipient_of(appointment: Appointment) -> messaging.Recipient | None:
    """The patient; else the lead (their enquiry's phone and email); else the walk-in's phone."""
    if appointment.patient is not None:
        return recipient_of_patient(appointment.patient)
    if appointment.lead is not None:
        first = appointment.lead.name.split(" ")[0]
        return messaging.Recipient(patient_id=None, first_name=first, phone=appointment.lead.phone, email=appointment.lead.email)
    if appointment.walk_in_phone:
        return messaging.Recipient(patient_id=None, first_name=appointment.walk_in_name.split(" ")[0], phone=appointment.walk_in_phone)
    return None


def _start_key(appointment: Appointment) -> str:
    return appointment.starts_at.astimezone(datetime.UTC).strftime("%Y%m%dT%H%M")


def _values(appointment: Appointment, **more) -> dict:
    return {
        "doctor": f"Dr {appointment.doctor.user.full_name}".replace("Dr Dr ", "Dr "),
        "when": clinic_time(appointment.starts_at, appointment.clinic.tzinfo),
        "reference": appointment.reference,
        **more,
    }


def appointment_link(appointment: Appointment) -> str:
    token = signing.dumps({"a": appointment.pk, "c": appointment.clinic_id}, salt=LINK_SALT, compress=True)
    return f"{settings.MESSAGING_PUBLIC_URL.rstrip('/')}/m/a/{token}/"


def appointment_from_link(token: str) -> tuple[int, int] | None:
    """(clinic id, appointment id) of a genuine link; None for anything else."""
    try:
        data = signing.loads(token, salt=LINK_SALT)
        return int(data["c"]), int(data["a"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return None


def _queue(appointment: Appointment, recipient: messaging.Recipient, rules: MessageRules, **message) -> None:
    messaging.queue(
        clinic=appointment.clinic,
        recipient=recipient,
        rules=rules,
        message=messaging.Message(subject_type=SUBJECT, subject_id=appointment.pk, **message),
    )


def _queue_reminders(appointment: Appointment, recipient: messaging.Recipient, rules: MessageRules, now: datetime.datetime) -> None:
    for lead_minutes in rules.reminder_lead_minutes:
        due = appointment.starts_at - datetime.timedelta(minutes=lead_minutes)
        if due <= now:
            continue  # booked inside this lead time: the confirmation says it all
        _queue(
            appointment,
            recipient,
            rules,
            kind=MessageKind.REMINDER,
            key=f"appt:{appointment.pk}:reminder:{lead_minutes}:{_start_key(appointment)}",
            due=due,
            not_after=appointment.starts_at,
            values=_values(appointment, link=appointment_link(appointment)),
        )


def appointment_reminders_queue(appointment: Appointment) -> None:
    """Only the reminders still to come (the demo's appointments, booked "long ago")."""
    recipient = recipient_of(appointment)
    if recipient is not None:
        _queue_reminders(appointment, recipient, messaging.rules_of(appointment.clinic), timezone.now())


def appointment_booked(appointment: Appointment, *, user: User | None) -> None:
    """A confirmation after the grace period (an undo within it sends nothing), and reminders."""
    recipient = recipient_of(appointment)
    if recipient is None:
        return
    rules = messaging.rules_of(appointment.clinic)
    now = timezone.now()
    if rules.confirmations_enabled:
        _queue(
            appointment,
            recipient,
            rules,
            kind=MessageKind.CONFIRMATION,
            key=f"appt:{appointment.pk}:confirmation:{_start_key(appointment)}",
            due=now + datetime.timedelta(minutes=rules.confirmation_delay_minutes),
            not_after=appointment.starts_at,
            values=_values(appointment, link=appointment_link(appointment)),
            created_by=user,
        )
    _queue_reminders(appointment, recipient, rules, now)


def appointment_moved(appointment: Appointment, *, user: User | None) -> None:
    """What was pending is cancelled; a change notice with the new time, and new reminders."""
    messaging.cancel_pending(clinic=appointment.clinic, subject_type=SUBJECT, subject_id=appointment.pk)
    recipient = recipient_of(appointment)
    if recipient is None:
        return
    rules = messaging.rules_of(appointment.clinic)
    now = timezone.now()
    _queue(
        appointment,
        recipient,
        rules,
        kind=MessageKind.CHANGE,
        key=f"appt:{appointment.pk}:change:{_start_key(appointment)}",
        due=now,
        not_after=appointment.starts_at,
        values=_values(appointment, link=appointment_link(appointment)),
        created_by=user,
    )
    _queue_reminders(appointment, recipient, rules, now)
    messaging.send_soon(appointment.clinic)


def appointment_cancelled(appointment: Appointment, *, user: User | None) -> None:
    """Pending messages are cancelled and a cancellation goes — unless the booking is undone
    within the grace period before anything left: then the patient heard of nothing."""
    clinic = appointment.clinic
    told = messaging.anything_left(clinic=clinic, subject_type=SUBJECT, subject_id=appointment.pk)
    messaging.cancel_pending(clinic=clinic, subject_type=SUBJECT, subject_id=appointment.pk)
    rules = messaging.rules_of(clinic)
    in_grace = timezone.now() < appointment.created_at + datetime.timedelta(minutes=rules.confirmation_delay_minutes)
    recipient = recipient_of(appointment)
    if recipient is None or (in_grace and not told):
        return
    _queue(
        appointment,
        recipient,
        rules,
        kind=MessageKind.CANCELLATION,
        key=f"appt:{appointment.pk}:cancellation",
        due=timezone.now(),
        values=_values(appointment),
        created_by=user,
    )
    messaging.send_soon(clinic)


def appointment_over(appointment: Appointment) -> None:
    """Arrived, seen, completed or a no-show: nothing about it is pending any more."""
    messaging.cancel_pending(clinic=appointment.clinic, subject_type=SUBJECT, subject_id=appointment.pk)


# --- The reminder's link: the patient confirms or cancels ---------------------------------------


def cancel_deadline(appointment: Appointment, clinic: Clinic) -> datetime.datetime:
    return appointment.starts_at - datetime.timedelta(hours=messaging.rules_of(clinic).cancel_notice_hours)


@transaction.atomic
def confirm_by_patient(appointment: Appointment) -> Appointment:
    appointment = Appointment.objects.select_for_update().select_related("clinic").get(pk=appointment.pk)
    if appointment.status not in PRE_ARRIVAL_STATUSES or appointment.starts_at <= timezone.now():
        raise Conflict("This appointment can no longer be confirmed.")
    if appointment.status != AppointmentStatus.CONFIRMED:
        appointment.status, appointment.confirmed_at = AppointmentStatus.CONFIRMED, timezone.now()
    appointment.confirmed_by_patient = True
    appointment.save()
    return appointment
