"""The outbox's rows and each clinic's rules for messages. Registered with the ``clinicos``
app (``clinicos.models`` imports them); the migrations live in ``clinicos/migrations``."""

import datetime

from django.conf import settings
from django.db import models

from clinicos.messaging.choices import Channel, Language, MessageKind, MessageStatus
from clinicos.models import ClinicOwnedModel, audited_history
from clinicos.scoping import ClinicScopedManager


class OutboundMessage(ClinicOwnedModel):
    """One message to one person on one channel. ``subject_type``/``subject_id`` name what
    it is about (an appointment, a recall, a waitlist offer) without the core depending on
    the apps that own them; ``patient_id`` likewise (as on the audit trail)."""

    patient_id = models.BigIntegerField(null=True, blank=True)
    subject_type = models.CharField(max_length=30, blank=True)
    subject_id = models.BigIntegerField(null=True, blank=True)
    kind = models.CharField(max_length=20, choices=MessageKind)
    channel = models.CharField(max_length=10, choices=Channel)
    language = models.CharField(max_length=5, choices=Language, default=Language.ENGLISH)
    recipient = models.CharField(max_length=254, help_text="A phone number in E.164 or an email address.")
    subject = models.CharField(max_length=200, blank=True, help_text="An email's subject line.")
    body = models.TextField()
    # A login code's text is replaced by a masked one once it has left: nobody reads codes here.
    is_secret = models.BooleanField(default=False)
    provider_params = models.JSONField(default=dict, blank=True, help_text="DLT ids, a WhatsApp template and its variables.")
    dedup_key = models.CharField(max_length=200)
    scheduled_for = models.DateTimeField()
    not_after = models.DateTimeField(null=True, blank=True, help_text="Never sent from this moment on (an appointment's start).")
    status = models.CharField(max_length=12, choices=MessageStatus, default=MessageStatus.SCHEDULED)
    skip_reason = models.CharField(max_length=200, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)
    provider_id = models.CharField(max_length=64, blank=True)
    lease_token = models.CharField(max_length=32, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-scheduled_for", "-id"]
        constraints = [
            # The same message is written once: a cancelled one does not hold its key (the
            # appointment moved back to that time gets its reminder again).
            models.UniqueConstraint(fields=["clinic", "dedup_key"], condition=~models.Q(status="cancelled"), name="outbound_message_dedup"),
        ]
        indexes = [
            # The dispatcher: what is due, oldest first, per clinic.
            models.Index(fields=["clinic", "scheduled_for"], condition=models.Q(status="scheduled"), name="outbound_message_due"),
            models.Index(fields=["scheduled_for"], condition=models.Q(status="scheduled"), name="outbound_message_due_all"),
            models.Index(fields=["lease_until"], condition=models.Q(status="sending"), name="outbound_message_leased"),
            models.Index(fields=["provider_id"], condition=~models.Q(provider_id=""), name="outbound_message_provider_id"),
            models.Index(fields=["clinic", "patient_id", "-scheduled_for"], name="outbound_message_patient"),
            models.Index(fields=["clinic", "subject_type", "subject_id"], name="outbound_message_subject"),
            models.Index(fields=["clinic", "status", "-scheduled_for"], name="outbound_message_status"),
            models.Index(fields=["clinic", "kind", "-scheduled_for"], name="outbound_message_kind"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} by {self.get_channel_display()} to {self.masked_recipient}"

    @property
    def masked_recipient(self) -> str:
        if "@" in self.recipient:
            name, _, domain = self.recipient.partition("@")
            return f"{name[:2]}…@{domain}"
        return f"…{self.recipient[-4:]}" if len(self.recipient) > 4 else self.recipient

    @property
    def can_be_sent_again(self) -> bool:
        return self.status in (MessageStatus.FAILED, MessageStatus.UNDELIVERED) and self.kind != MessageKind.LOGIN_CODE


def default_lead_minutes() -> list[int]:
    return [24 * 60, 2 * 60]


class MessageRules(models.Model):
    """What a clinic sends and how (Settings → Messages): channels, reminder lead times,
    quiet hours in its timezone, the sender's name, its own wording per kind and language,
    India's DLT registration for SMS, and WhatsApp's approved templates."""

    clinic = models.OneToOneField("clinicos.Clinic", on_delete=models.CASCADE, related_name="message_rules")
    sms_enabled = models.BooleanField("send SMS", default=True)
    email_enabled = models.BooleanField("send email", default=True)
    whatsapp_enabled = models.BooleanField("send WhatsApp", default=False, help_text="Only to patients who opted in.")
    confirmations_enabled = models.BooleanField("send booking confirmations", default=True)
    reminder_lead_minutes = models.JSONField(default=default_lead_minutes, help_text="Minutes before the appointment.")
    cancel_notice_hours = models.PositiveSmallIntegerField(
        default=24, help_text="A reminder's link lets the patient cancel until this many hours before the appointment."
    )
    confirmation_delay_minutes = models.PositiveSmallIntegerField(
        default=2, help_text="The confirmation waits this long, so a booking undone at once sends nothing."
    )
    quiet_start = models.TimeField(null=True, blank=True, default=datetime.time(21, 0))
    quiet_end = models.TimeField(null=True, blank=True, default=datetime.time(8, 0))
    sender_name = models.CharField(max_length=60, blank=True, help_text="How messages sign off; the clinic's name when empty.")
    templates = models.JSONField(default=dict, blank=True, help_text="{kind: {language: text}}: the clinic's own wording.")
    dlt_entity_id = models.CharField("DLT principal entity ID", max_length=30, blank=True)
    dlt_header = models.CharField("DLT header (sender ID)", max_length=11, blank=True)
    dlt_template_ids = models.JSONField(default=dict, blank=True, help_text="{kind: DLT content template ID}.")
    whatsapp_templates = models.JSONField(default=dict, blank=True, help_text="{kind: approved content template SID}.")
    updated_at = models.DateTimeField(auto_now=True)

    objects = ClinicScopedManager()
    history = audited_history()

    class Meta:
        verbose_name = "message rules"
        verbose_name_plural = "message rules"

    def __str__(self):
        return f"Message rules of {self.clinic}"
