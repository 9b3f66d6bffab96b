"""The patient portal: one-time login codes, portal tokens, and each clinic's online-booking
rules. Patients have no user account: who they are is the phone or email a code reached,
and what they see is every chart that phone or email is recorded on."""

from django.db import models
from django.utils import timezone

from clinicos.models import Clinic, DoctorProfile, audited_history
from clinicos.scoping import ClinicScopedManager


class Channel(models.TextChoices):
    PHONE = "phone", "Phone (SMS)"
    EMAIL = "email", "Email"


class LoginCode(models.Model):
    """A six-digit code sent to a phone or an email. Only an HMAC of it is kept; it works
    once, for ten minutes, and for at most five tries. A code is recorded (never sent) for
    an address no chart knows too, so that nothing a caller sees tells the two apart."""

    channel = models.CharField(max_length=5, choices=Channel)
    address = models.CharField(max_length=254, help_text="E.164 phone or lower-case email.")
    code_hash = models.CharField(max_length=64)
    is_deliverable = models.BooleanField(default=False, help_text="A chart knows the address (the code was sent).")
    requested_ip = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["address", "-created_at"], name="login_code_address_time"),
            models.Index(fields=["requested_ip", "-created_at"], name="login_code_ip_time"),
        ]

    def __str__(self):
        return f"Code for {self.address} ({self.created_at:%Y-%m-%d %H:%M})"


class PortalToken(models.Model):
    """A portal session for the API (bearer token). Only its SHA-256 hash is stored; it
    opens the charts of one phone or email and nothing of the staff API."""

    key_hash = models.CharField(max_length=64, unique=True)
    channel = models.CharField(max_length=5, choices=Channel)
    address = models.CharField(max_length=254)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"Portal token of {self.address} (expires {self.expires_at:%Y-%m-%d %H:%M})"

    @property
    def is_usable(self) -> bool:
        return self.revoked_at is None and self.expires_at > timezone.now()


def default_online_types() -> list[str]:
    return ["consultation"]


class OnlineBooking(models.Model):
    """What a clinic lets patients book themselves: which doctors, which appointment types,
    how far ahead, and until when before the start they may still cancel or move it."""

    clinic = models.OneToOneField(Clinic, on_delete=models.CASCADE, related_name="online_booking")
    is_enabled = models.BooleanField(default=False, help_text="Patients may book in the portal.")
    doctors = models.ManyToManyField(DoctorProfile, blank=True, related_name="+", help_text="Doctors patients may book online.")
    appointment_types = models.JSONField(default=default_online_types, help_text="Appointment types patients may book.")
    days_ahead = models.PositiveSmallIntegerField(default=30, help_text="How many days ahead patients may book.")
    earliest_minutes = models.PositiveSmallIntegerField(
        default=60, help_text="The earliest a patient may book: this many minutes from now."
    )
    notice_hours = models.PositiveSmallIntegerField(
        default=24, help_text="Patients may cancel or move an appointment until this many hours before it."
    )
    updated_at = models.DateTimeField(auto_now=True)

    objects = ClinicScopedManager()
    history = audited_history()

    class Meta:
        verbose_name = "online booking"

    def __str__(self):
        return f"Online booking at {self.clinic}"
