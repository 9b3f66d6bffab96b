"""The outbox in the JSON API, under /api/v1/clinics/{code}/: what was sent to patients
(``messages``), sending a failed one again, and the clinic's message rules
(``settings/messages``). Message texts are not returned: a list shows what, when, to whom
and how it went."""

import datetime

from django.utils import timezone
from ninja import Field, Router, Schema, Status

from clinicos.api import Input, Problem, clinic_context, field_problem
from clinicos.messaging import selectors, services
from clinicos.messaging.choices import MessageKind, MessageStatus
from clinicos.messaging.models import MessageRules, OutboundMessage
from clinicos.roles import Perm

router = Router(tags=["messages"])
LIST_LIMIT = 500


class MessageOut(Schema):
    id: int
    kind: str
    channel: str
    status: str
    scheduled_for: datetime.datetime
    sent_at: datetime.datetime | None
    delivered_at: datetime.datetime | None
    attempts: int
    error: str
    skip_reason: str
    recipient: str
    patient_id: int | None
    appointment_id: int | None


def message_out(message: OutboundMessage) -> dict:
    tz = message.clinic.tzinfo
    local = lambda moment: timezone.localtime(moment, tz) if moment else None  # noqa: E731
    return {
        "id": message.pk,
        "kind": message.kind,
        "channel": message.channel,
        "status": message.status,
        "scheduled_for": local(message.scheduled_for),
        "sent_at": local(message.sent_at),
        "delivered_at": local(message.delivered_at),
        "attempts": message.attempts,
        "error": message.last_error,
        "skip_reason": message.skip_reason,
        "recipient": message.recipient,
        "patient_id": message.patient_id,
        "appointment_id": message.subject_id if message.subject_type == "appointment" else None,
    }


@router.get("/{code}/messages", response={200: list[MessageOut], 422: Problem})
def message_list(
    request,
    code: str,
    patient_id: int | None = None,
    appointment_id: int | None = None,
    status: str | None = None,
    kind: str | None = None,
):
    """Messages to patients, newest first (at most 500): filter by patient, appointment,
    status (scheduled, sending, sent, delivered, failed, undelivered, cancelled, skipped) or kind."""
    ctx = clinic_context(request, code, Perm.MESSAGES_VIEW)
    if status is not None and status not in MessageStatus.values:
        return field_problem("status", f"One of {', '.join(MessageStatus.values)}.", location="query")
    if kind is not None and kind not in MessageKind.values:
        return field_problem("kind", f"One of {', '.join(MessageKind.values)}.", location="query")
    found = selectors.messages_of_clinic(
        clinic=ctx.clinic,
        status=status,
        kind=kind,
        patient_id=patient_id,
        subject=("appointment", appointment_id) if appointment_id is not None else None,
    )
    return Status(200, [message_out(message) for message in found[:LIST_LIMIT]])


@router.post("/{code}/messages/{message_id}/retry", response={200: MessageOut, 409: Problem})
def message_retry(request, code: str, message_id: int):
    """Send a failed or undelivered message again (409 for any other)."""
    ctx = clinic_context(request, code, Perm.MESSAGES_RESEND)
    message = selectors.message_get(clinic=ctx.clinic, pk=message_id)
    return Status(200, message_out(services.message_send_again(message=message, user=ctx.user)))


class MessageRulesOut(Schema):
    sms_enabled: bool
    email_enabled: bool
    whatsapp_enabled: bool
    confirmations_enabled: bool
    reminder_lead_minutes: list[int]
    confirmation_delay_minutes: int
    cancel_notice_hours: int
    quiet_start: str | None = Field(None, description="HH:MM in the clinic's time; null for no quiet hours.")
    quiet_end: str | None = Field(None, description="HH:MM in the clinic's time.")
    sender_name: str
    templates: dict[str, dict[str, str]]
    dlt_entity_id: str
    dlt_header: str
    dlt_template_ids: dict[str, str]
    whatsapp_templates: dict[str, str]


class MessageRulesPatch(Input):
    sms_enabled: bool | None = None
    email_enabled: bool | None = None
    whatsapp_enabled: bool | None = None
    confirmations_enabled: bool | None = None
    reminder_lead_minutes: list[int] | None = None
    confirmation_delay_minutes: int | None = None
    cancel_notice_hours: int | None = None
    quiet_start: str | None = Field(None, pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$", description="HH:MM, or null")
    quiet_end: str | None = Field(None, pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$", description="HH:MM, or null")
    sender_name: str | None = None
    templates: dict[str, dict[str, str]] | None = None
    dlt_entity_id: str | None = None
    dlt_header: str | None = None
    dlt_template_ids: dict[str, str] | None = None
    whatsapp_templates: dict[str, str] | None = None


def rules_out(rules: MessageRules) -> dict:
    out = {name: getattr(rules, name) for name in services.RULE_FIELDS}
    for name in ("quiet_start", "quiet_end"):
        out[name] = out[name].strftime("%H:%M") if out[name] is not None else None
    return out


@router.get("/{code}/settings/messages", response=MessageRulesOut)
def message_rules(request, code: str):
    ctx = clinic_context(request, code, Perm.SETTINGS_MANAGE)
    return rules_out(services.rules_of(ctx.clinic))


@router.patch("/{code}/settings/messages", response={200: MessageRulesOut, 422: Problem})
def message_rules_patch(request, code: str, payload: MessageRulesPatch):
    """Change some rules; quiet hours are cleared with both ends null."""
    ctx = clinic_context(request, code, Perm.SETTINGS_MANAGE)
    changes = {name: value for name, value in payload.dict(exclude_unset=True).items()}
    for name, value in list(changes.items()):
        if value is None and name in ("sender_name", "dlt_entity_id", "dlt_header"):
            changes[name] = ""
        elif value is None and name not in ("quiet_start", "quiet_end"):
            return field_problem(name, "Give a value, not null.")
        elif value is not None and name in ("quiet_start", "quiet_end"):
            changes[name] = datetime.time.fromisoformat(value)
    rules = services.message_rules_save(clinic=ctx.clinic, **changes)
    return Status(200, rules_out(rules))
