"""The outbox's vocabularies, importable without the models (patients reads ``Language``)."""

from django.db import models


class MessageKind(models.TextChoices):
    CONFIRMATION = "confirmation", "Booking confirmation"
    REMINDER = "reminder", "Reminder"
    CHANGE = "change", "Change of time"
    CANCELLATION = "cancellation", "Cancellation"
    RECALL = "recall", "Recall"
    WAITLIST_OFFER = "waitlist_offer", "Waitlist offer"
    LOGIN_CODE = "login_code", "Portal login code"


class Channel(models.TextChoices):
    SMS = "sms", "SMS"
    EMAIL = "email", "Email"
    WHATSAPP = "whatsapp", "WhatsApp"


class MessageStatus(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"
    UNDELIVERED = "undelivered", "Undelivered"
    CANCELLED = "cancelled", "Cancelled"
    SKIPPED = "skipped", "Skipped"


# How far along a message is: a delivery callback only ever moves a message to a higher
# rank (a late "sent" never undoes "delivered"). Cancelled and skipped never left.
STATUS_RANK = {
    MessageStatus.SCHEDULED: 0,
    MessageStatus.SENDING: 1,
    MessageStatus.SENT: 2,
    MessageStatus.DELIVERED: 3,
    MessageStatus.UNDELIVERED: 3,
    MessageStatus.FAILED: 3,
}
PENDING_STATUSES = (MessageStatus.SCHEDULED, MessageStatus.SENDING)
LEFT_STATUSES = (MessageStatus.SENDING, MessageStatus.SENT, MessageStatus.DELIVERED, MessageStatus.UNDELIVERED)


class Language(models.TextChoices):
    ENGLISH = "en", "English"
    HINDI = "hi", "हिन्दी (Hindi)"
