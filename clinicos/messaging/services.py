"""The outbox's rules: writing messages (channels, opt-outs, quiet hours, wording, one row per
dedup key), sending what is due under a lease, retrying with backoff, recovering what a dead
worker held, delivery reports, and sending a failed message again."""

import datetime
import logging
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from clinicos.errors import Conflict
from clinicos.messaging import wording
from clinicos.messaging.choices import STATUS_RANK, Channel, MessageKind, MessageStatus
from clinicos.messaging.models import MessageRules, OutboundMessage
from clinicos.messaging.providers import CannotTell, Outgoing, ProviderError, provider_for
from clinicos.models import Clinic, User

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
LEASE = datetime.timedelta(minutes=5)
BATCH_SIZE = 200
# Before the second and the third try.
BACKOFF = (datetime.timedelta(minutes=1), datetime.timedelta(minutes=5))
# "Just before quiet hours start" leaves this much room.
BEFORE_QUIET = datetime.timedelta(minutes=15)

SKIPPED_OPTED_OUT = "Opted out"
SKIPPED_TOO_LATE = "Too late: the appointment had started"


# --- Writing messages ---------------------------------------------------------------------


@dataclass(frozen=True)
class Recipient:
    """A patient as the outbox needs them: addresses, what they accept, their language."""

    patient_id: int | None
    first_name: str
    phone: str = ""
    email: str = ""
    language: str = "en"
    sms_ok: bool = True
    email_ok: bool = True
    whatsapp_ok: bool = False


@dataclass(frozen=True)
class Message:
    """What to say and when: ``key`` makes it unique (with the channel), ``values`` fill the
    wording, nothing goes at or after ``not_after``."""

    kind: str
    key: str
    due: datetime.datetime
    values: dict = field(default_factory=dict)
    subject_type: str = ""
    subject_id: int | None = None
    not_after: datetime.datetime | None = None
    created_by: User | None = None


def rules_of(clinic: Clinic) -> MessageRules:
    """The clinic's rules, or the defaults (not saved) for a clinic that never set any."""
    return MessageRules.objects.filter(clinic=clinic).first() or MessageRules(clinic=clinic)


def sender_of(clinic: Clinic, rules: MessageRules) -> str:
    return rules.sender_name or clinic.name


def _channels(rules: MessageRules, recipient: Recipient, kind: str) -> list[tuple[str, str, str]]:
    """(channel, address, reason to skip) for each channel this message goes by. WhatsApp,
    where the patient opted in and the kind has an approved template, replaces the SMS."""
    chosen: list[tuple[str, str, str]] = []
    whatsapp = rules.whatsapp_enabled and recipient.whatsapp_ok and bool(recipient.phone) and bool(rules.whatsapp_templates.get(kind))
    if whatsapp:
        chosen.append((Channel.WHATSAPP, recipient.phone, ""))
    elif rules.sms_enabled and recipient.phone:
        chosen.append((Channel.SMS, recipient.phone, "" if recipient.sms_ok else SKIPPED_OPTED_OUT))
    if rules.email_enabled and recipient.email:
        chosen.append((Channel.EMAIL, recipient.email, "" if recipient.email_ok else SKIPPED_OPTED_OUT))
    return chosen


def outside_quiet_hours(
    rules: MessageRules, tz: datetime.tzinfo, due: datetime.datetime, not_after: datetime.datetime | None, now: datetime.datetime
) -> datetime.datetime:
    """A message due inside the clinic's quiet hours goes when they end, if that is still
    before ``not_after``; otherwise just before they start (or now, if that has passed)."""
    start, end = rules.quiet_start, rules.quiet_end
    if start is None or end is None or start == end:
        return due
    local = due.astimezone(tz)
    day, time = local.date(), local.time()
    wraps = start > end  # 21:00–08:00
    if wraps:
        inside = time >= start or time < end
        began = day if time >= start else day - datetime.timedelta(days=1)
    else:
        inside = start <= time < end
        began = day
    if not inside:
        return due
    ends_on = began + datetime.timedelta(days=1) if wraps else began
    quiet_from = datetime.datetime.combine(began, start, tzinfo=tz)
    quiet_until = datetime.datetime.combine(ends_on, end, tzinfo=tz)
    if not_after is None or quiet_until < not_after:
        return quiet_until
    return max(quiet_from - BEFORE_QUIET, now)


def _provider_params(rules: MessageRules, kind: str, channel: str, values: dict) -> dict:
    if channel == Channel.WHATSAPP:
        names = sorted(wording.PLACEHOLDERS[kind])
        return {
            "content_sid": rules.whatsapp_templates[kind],
            "variables": {str(i): str(values.get(n, "")) for i, n in enumerate(names, 1)},
        }
    if channel == Channel.SMS and (rules.dlt_entity_id or rules.dlt_template_ids.get(kind)):
        return {
            "dlt_entity_id": rules.dlt_entity_id,
            "dlt_template_id": rules.dlt_template_ids.get(kind, ""),
            "dlt_header": rules.dlt_header,
        }
    return {}


def queue(*, clinic: Clinic, recipient: Recipient, message: Message, rules: MessageRules | None = None) -> list[OutboundMessage]:
    """Write the message for each channel it goes by, in the caller's transaction. A key
    already written (and not cancelled) is not written again."""
    rules = rules or rules_of(clinic)
    now = timezone.now()
    values = {"clinic": sender_of(clinic, rules), "patient": recipient.first_name, **message.values}
    subject, body = wording.render(message.kind, recipient.language, values, rules.templates)
    scheduled_for = outside_quiet_hours(rules, clinic.tzinfo, message.due, message.not_after, now)
    rows = []
    for channel, address, skip_reason in _channels(rules, recipient, message.kind):
        if not skip_reason and message.not_after is not None and scheduled_for >= message.not_after:
            skip_reason = SKIPPED_TOO_LATE
        rows.append(
            OutboundMessage(
                clinic=clinic,
                patient_id=recipient.patient_id,
                subject_type=message.subject_type,
                subject_id=message.subject_id,
                kind=message.kind,
                channel=channel,
                language=recipient.language,
                recipient=address,
                subject=subject,
                body=body + _opt_out_footer(clinic, recipient, channel),
                provider_params=_provider_params(rules, message.kind, channel, values),
                dedup_key=f"{message.key}:{channel}"[:200],
                scheduled_for=scheduled_for,
                not_after=message.not_after,
                status=MessageStatus.SKIPPED if skip_reason else MessageStatus.SCHEDULED,
                skip_reason=skip_reason,
                created_by=message.created_by,
            )
        )
    OutboundMessage.objects.bulk_create(rows, ignore_conflicts=True)
    keys = [row.dedup_key for row in rows]
    return list(OutboundMessage.objects.filter(clinic=clinic, dedup_key__in=keys).exclude(status=MessageStatus.CANCELLED))


def queue_now(*, clinic: Clinic, channel: str, to: str, kind: str, values: dict, key: str, secret: bool = False) -> OutboundMessage:
    """A message the person asked for this moment (a login code): the channel they asked
    for, no quiet hours, sent as soon as the transaction commits."""
    rules = rules_of(clinic)
    subject, body = wording.render(kind, "en", {"clinic": sender_of(clinic, rules), **values})
    message = OutboundMessage.objects.create(
        clinic=clinic,
        kind=kind,
        channel=channel,
        recipient=to,
        subject=subject,
        body=body,
        is_secret=secret,
        dedup_key=key[:200],
        scheduled_for=timezone.now(),
    )
    send_soon(clinic)
    return message


def send_soon(clinic: Clinic) -> None:
    """What is due now leaves once the transaction commits (in-line in the tests)."""
    if settings.MESSAGES_SEND_INLINE:
        send_due(clinic=clinic)
        return
    from clinicos.messaging.tasks import send_due_messages
    from clinicos.tasks import enqueue_on_commit

    enqueue_on_commit(send_due_messages, clinic.pk)


def cancel_pending(*, clinic: Clinic, subject_type: str, subject_id: int, kinds: Iterable[str] | None = None) -> int:
    """Cancel what has not left yet about this subject (a moved or cancelled appointment)."""
    pending = OutboundMessage.objects.filter(
        clinic=clinic, subject_type=subject_type, subject_id=subject_id, status=MessageStatus.SCHEDULED
    )
    if kinds is not None:
        pending = pending.filter(kind__in=list(kinds))
    return pending.update(status=MessageStatus.CANCELLED, updated_at=timezone.now())


def anything_left(*, clinic: Clinic, subject_type: str, subject_id: int) -> bool:
    """Has the patient been told anything about this subject (or is it on its way)?"""
    return (
        OutboundMessage.objects.filter(clinic=clinic, subject_type=subject_type, subject_id=subject_id)
        .exclude(status__in=[MessageStatus.SCHEDULED, MessageStatus.CANCELLED, MessageStatus.SKIPPED])
        .exists()
    )


# --- The email opt-out link ------------------------------------------------------------------

OPT_OUT_SALT = "clinicos.messaging.opt-out"


def _opt_out_footer(clinic: Clinic, recipient: Recipient, channel: str) -> str:
    if channel != Channel.EMAIL or recipient.patient_id is None:
        return ""
    return f"\n\n—\nNo more emails from {clinic.name}: {opt_out_url(clinic, recipient.patient_id)}"


def opt_out_url(clinic: Clinic, patient_id: int) -> str:
    token = signing.dumps({"c": clinic.pk, "p": patient_id}, salt=OPT_OUT_SALT, compress=True)
    return f"{settings.MESSAGING_PUBLIC_URL.rstrip('/')}/m/opt-out/{token}/"


def opt_out_target(token: str) -> tuple[int, int] | None:
    """(clinic id, patient id) of a genuine opt-out link; None for anything else."""
    try:
        data = signing.loads(token, salt=OPT_OUT_SALT)
        return int(data["c"]), int(data["p"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return None


# --- Sending ---------------------------------------------------------------------------------


def _outgoing(message: OutboundMessage, sender: str) -> Outgoing:
    headers = {}
    if message.channel == Channel.EMAIL and message.patient_id is not None:
        headers["List-Unsubscribe"] = f"<{opt_out_url(message.clinic, message.patient_id)}>"
    return Outgoing(
        message_id=message.pk,
        channel=message.channel,
        to=message.recipient,
        body=message.body,
        subject=message.subject,
        sender=sender,
        params=message.provider_params,
        headers=headers,
    )


def _claim(clinic: Clinic, now: datetime.datetime, batch: int) -> list[OutboundMessage]:
    """Take up to ``batch`` due messages for this worker alone: rows another worker is
    claiming are skipped (PostgreSQL's SKIP LOCKED), and the lease token tells them apart on
    engines without it."""
    token = secrets.token_hex(16)
    with transaction.atomic():
        due = (
            OutboundMessage.objects.filter(clinic=clinic, status=MessageStatus.SCHEDULED, scheduled_for__lte=now)
            .order_by("scheduled_for", "id")
            .select_for_update(skip_locked=True)
            .values_list("pk", flat=True)[:batch]
        )
        ids = list(due)
        if not ids:
            return []
        OutboundMessage.objects.filter(pk__in=ids, status=MessageStatus.SCHEDULED).update(
            status=MessageStatus.SENDING, lease_token=token, lease_until=now + LEASE, attempts=F("attempts") + 1, updated_at=now
        )
    return list(OutboundMessage.objects.filter(clinic=clinic, lease_token=token).select_related("clinic").order_by("scheduled_for", "id"))


def _settle(message: OutboundMessage, **fields) -> bool:
    """Record the outcome of this worker's try, if the message is still this worker's."""
    fields.setdefault("lease_token", "")
    fields.setdefault("lease_until", None)
    return bool(
        OutboundMessage.objects.filter(pk=message.pk, status=MessageStatus.SENDING, lease_token=message.lease_token).update(
            updated_at=timezone.now(), **fields
        )
    )


def _tell_front_desk(message: OutboundMessage) -> None:
    from clinicos import services as clinicos_services
    from clinicos.models import Notification
    from clinicos.roles import Perm
    from clinicos.selectors import members_with_perm

    recipients = [m.user_id for m in members_with_perm(clinic_id=message.clinic_id, perm=Perm.MESSAGES_RESEND)]
    clinicos_services.notify(
        clinic=message.clinic,
        recipients=recipients,
        kind=Notification.Kind.MESSAGE_FAILED,
        title=f"A {message.get_kind_display().lower()} by {message.get_channel_display()} to {message.masked_recipient} failed",
        url=f"/c/{message.clinic.code}/messages/?status=failed",
    )


def _failed_try(message: OutboundMessage, error: str, now: datetime.datetime) -> None:
    retry_at = now + BACKOFF[min(message.attempts, len(BACKOFF)) - 1] if message.attempts < MAX_ATTEMPTS else None
    if retry_at is not None and (message.not_after is None or retry_at < message.not_after):
        _settle(message, status=MessageStatus.SCHEDULED, scheduled_for=retry_at, last_error=error[:500])
        return
    if _settle(message, status=MessageStatus.FAILED, last_error=error[:500]):
        message.status = MessageStatus.FAILED
        _tell_front_desk(message)


def _mask_secret(message: OutboundMessage) -> dict:
    return {"body": "(a login code: not kept)"} if message.is_secret else {}


def send_one(message: OutboundMessage, *, sender: str) -> str:
    """Hand one claimed message to its provider and record the outcome; the status it ends in."""
    now = timezone.now()
    if message.not_after is not None and now >= message.not_after:
        _settle(message, status=MessageStatus.SKIPPED, skip_reason=SKIPPED_TOO_LATE)
        return MessageStatus.SKIPPED
    if message.lease_until is not None and now >= message.lease_until - datetime.timedelta(seconds=30):
        # Too close to the lease's end to start: the recovery may take it; leave it to the next round.
        _settle(message, status=MessageStatus.SCHEDULED, attempts=F("attempts") - 1)
        return MessageStatus.SCHEDULED
    try:
        provider_id = provider_for(message.channel).send(_outgoing(message, sender))
    except ProviderError as error:
        _failed_try(message, str(error), now)
        return MessageStatus.FAILED
    _settle(
        message, status=MessageStatus.SENT, provider_id=provider_id[:64], sent_at=timezone.now(), last_error="", **_mask_secret(message)
    )
    return MessageStatus.SENT


def send_due(*, clinic: Clinic, now: datetime.datetime | None = None, batch: int = BATCH_SIZE, max_batches: int | None = None) -> int:
    """Send what is due at this clinic, batch after batch; how many were handed to a provider."""
    sender = sender_of(clinic, rules_of(clinic))
    handed = 0
    rounds = 0
    while max_batches is None or rounds < max_batches:
        claimed = _claim(clinic, now or timezone.now(), batch)
        if not claimed:
            break
        rounds += 1
        handed += sum(send_one(message, sender=sender) == MessageStatus.SENT for message in claimed)
    return handed


def clinics_with_due_messages(now: datetime.datetime | None = None) -> list[int]:
    """Which clinics have something due: the one read across clinics (the due index)."""
    with scopes_disabled():
        due = OutboundMessage.objects.filter(status=MessageStatus.SCHEDULED, scheduled_for__lte=now or timezone.now())
        return sorted(set(due.values_list("clinic_id", flat=True)[:10_000]))


def recover_expired_leases(now: datetime.datetime | None = None) -> int:
    """Messages a dead worker held: sent if the provider has them, due again if it has not,
    failed (for a person to look at) when the provider cannot tell — never sent twice."""
    now = now or timezone.now()
    with scopes_disabled():
        clinic_ids = set(
            OutboundMessage.objects.filter(status=MessageStatus.SENDING, lease_until__lt=now).values_list("clinic_id", flat=True)
        )
    touched = 0
    for clinic in Clinic.objects.filter(pk__in=clinic_ids):
        with scope(clinic=clinic):
            sender = sender_of(clinic, rules_of(clinic))
            stuck = OutboundMessage.objects.filter(clinic=clinic, status=MessageStatus.SENDING, lease_until__lt=now).select_related(
                "clinic"
            )
            for message in stuck:
                touched += _recover(message, sender)
    return touched


def _recover(message: OutboundMessage, sender: str) -> int:
    try:
        provider_id = provider_for(message.channel).find(_outgoing(message, sender))
    except CannotTell:
        error = "The worker stopped while sending and the provider cannot tell whether it went out: check before sending again."
        if _settle(message, status=MessageStatus.FAILED, last_error=error):
            message.status = MessageStatus.FAILED
            _tell_front_desk(message)
        return 1
    if provider_id:
        return int(
            _settle(message, status=MessageStatus.SENT, provider_id=provider_id[:64], sent_at=message.updated_at, **_mask_secret(message))
        )
    return int(_settle(message, status=MessageStatus.SCHEDULED, scheduled_for=timezone.now()))


# --- Delivery reports, sending again ------------------------------------------------------------

# Twilio's message statuses, read as ours.
PROVIDER_STATUSES = {
    "accepted": MessageStatus.SENT,
    "queued": MessageStatus.SENT,
    "sending": MessageStatus.SENT,
    "sent": MessageStatus.SENT,
    "delivered": MessageStatus.DELIVERED,
    "read": MessageStatus.DELIVERED,
    "undelivered": MessageStatus.UNDELIVERED,
    "failed": MessageStatus.FAILED,
}


def delivery_report(*, provider_id: str, provider_status: str, error_code: str = "") -> bool:
    """Move the message the provider reports on — forward only: a late "sent" never undoes
    "delivered", and a report on a message already final changes nothing."""
    status = PROVIDER_STATUSES.get(provider_status.lower())
    if status is None or not provider_id:
        return False
    with scopes_disabled():
        found = OutboundMessage.objects.filter(provider_id=provider_id).values_list("pk", "clinic_id").first()
    if found is None:
        return False
    pk, clinic_id = found
    lower = [s for s, rank in STATUS_RANK.items() if rank < STATUS_RANK[status]]
    changes: dict = {"status": status, "updated_at": timezone.now()}
    if status == MessageStatus.DELIVERED:
        changes["delivered_at"] = timezone.now()
    if status in (MessageStatus.UNDELIVERED, MessageStatus.FAILED):
        changes["last_error"] = f"The provider reported it {provider_status.lower()}" + (f" (error {error_code})." if error_code else ".")
    with scope(clinic=clinic_id):
        moved = OutboundMessage.objects.filter(pk=pk, clinic_id=clinic_id, status__in=lower).update(**changes)
        if moved and status in (MessageStatus.UNDELIVERED, MessageStatus.FAILED):
            _tell_front_desk(OutboundMessage.objects.select_related("clinic").get(pk=pk))
    return bool(moved)


@transaction.atomic
def message_send_again(*, message: OutboundMessage, user: User) -> OutboundMessage:
    """A failed or undelivered message, due again now (three more tries)."""
    message = OutboundMessage.objects.select_for_update().select_related("clinic").get(pk=message.pk)
    if not message.can_be_sent_again:
        raise Conflict(f"Only a failed or undelivered message can be sent again; this one is {message.get_status_display().lower()}.")
    now = timezone.now()
    if message.not_after is not None and now >= message.not_after:
        raise Conflict("The appointment has started: this message would come too late.")
    message.status, message.scheduled_for, message.attempts = MessageStatus.SCHEDULED, now, 0
    message.provider_id, message.delivered_at, message.sent_at = "", None, None
    message.created_by = message.created_by or user
    message.save()
    send_soon(message.clinic)
    message.refresh_from_db()
    return message


# --- Rules -------------------------------------------------------------------------------------


def _check_templates(templates: dict) -> None:
    problems = []
    for kind, by_language in templates.items():
        if kind not in wording.EDITABLE_KINDS or not isinstance(by_language, dict):
            problems.append(f"“{kind}” is not a kind of message a clinic words itself.")
            continue
        for language, text in by_language.items():
            if language not in ("en", "hi") or not isinstance(text, str):
                problems.append(f"{kind}: “{language}” is not a language messages are written in (en, hi).")
                continue
            try:
                wording.check_wording(kind, text)
            except ValidationError as error:
                problems.append(f"{MessageKind(kind).label} ({language}): {error.messages[0]}")
    if problems:
        raise ValidationError({"templates": problems})


def _check_lead_minutes(minutes: list[int]) -> None:
    if len(minutes) > 4 or any(not 15 <= m <= 14 * 24 * 60 for m in minutes) or len(set(minutes)) != len(minutes):
        raise ValidationError({"reminder_lead_minutes": "Up to four different lead times, each between 15 minutes and 14 days."})


RULE_FIELDS = (
    "sms_enabled",
    "email_enabled",
    "whatsapp_enabled",
    "confirmations_enabled",
    "reminder_lead_minutes",
    "confirmation_delay_minutes",
    "cancel_notice_hours",
    "quiet_start",
    "quiet_end",
    "sender_name",
    "templates",
    "dlt_entity_id",
    "dlt_header",
    "dlt_template_ids",
    "whatsapp_templates",
)


@transaction.atomic
def message_rules_save(*, clinic: Clinic, **changes) -> MessageRules:
    """Save the clinic's message rules (only the fields given change)."""
    unknown = set(changes) - set(RULE_FIELDS)
    if unknown:
        raise ValidationError({name: "Not a message rule." for name in unknown})
    rules = MessageRules.objects.select_for_update().filter(clinic=clinic).first() or MessageRules(clinic=clinic)
    for name, value in changes.items():
        setattr(rules, name, value)
    rules.reminder_lead_minutes = sorted(set(rules.reminder_lead_minutes), reverse=True)
    _check_lead_minutes(rules.reminder_lead_minutes)
    _check_templates(rules.templates)
    if (rules.quiet_start is None) != (rules.quiet_end is None):
        raise ValidationError({"quiet_end": "Give both ends of the quiet hours, or neither."})
    if rules.confirmation_delay_minutes > 60:
        raise ValidationError({"confirmation_delay_minutes": "At most 60 minutes."})
    bad_kinds = [k for k in {**rules.dlt_template_ids, **rules.whatsapp_templates} if k not in wording.EDITABLE_KINDS]
    if bad_kinds:
        raise ValidationError({"whatsapp_templates": f"Unknown kind of message: {', '.join(sorted(bad_kinds))}."})
    if rules.whatsapp_enabled and not any(rules.whatsapp_templates.values()):
        raise ValidationError({"whatsapp_templates": "WhatsApp sends only approved templates: give at least one template's SID."})
    rules.full_clean(exclude=["clinic", "templates", "reminder_lead_minutes", "dlt_template_ids", "whatsapp_templates"])
    rules.save()
    return rules
