"""Leads: enquiries of prospective patients, from first contact to conversion (or loss)."""

from django.conf import settings
from django.core.validators import MaxValueValidator
from django.db import models
from django.utils import timezone

from clinicos.choices import MAX_AGE_YEARS, Gender
from clinicos.fields import BoundedTextField
from clinicos.models import Clinic, ClinicOwnedModel, audited_history
from clinicos.scoping import ClinicScopedManager
from patients.models import Patient

DEFAULT_SOURCES = ("Walk-In", "Google Ads", "Facebook/Instagram", "Website", "Referral", "Sakhi App", "Camp", "Phone", "Other")
DEFAULT_INQUIRIES = ("IVF", "IUI", "ICSI", "Egg Freezing", "General", "Other")


class LeadStatus(models.TextChoices):
    NEW = "new", "New Inquiry"
    CONTACTED = "contacted", "Contacted"
    STALLING = "stalling", "Stalling – Sent to CRO"
    CONVERTED = "converted", "Converted – Active Patient"
    LOST = "lost", "Lost"


OPEN_STATUSES = (LeadStatus.NEW, LeadStatus.CONTACTED, LeadStatus.STALLING)


class LeadOption(ClinicOwnedModel):
    """A source or an inquiry type a clinic adds to the built-in ones."""

    class Kind(models.TextChoices):
        SOURCE = "source", "Source"
        INQUIRY = "inquiry", "Inquiry"

    kind = models.CharField(max_length=10, choices=Kind)
    label = models.CharField(max_length=60)
    is_active = models.BooleanField(default=True)

    history = audited_history()

    class Meta:
        ordering = ["kind", "label"]
        constraints = [models.UniqueConstraint(fields=["clinic", "kind", "label"], name="lead_option_unique")]

    def __str__(self):
        return f"{self.get_kind_display()}: {self.label}"


class Lead(ClinicOwnedModel):
    name = models.CharField(max_length=150)
    phone = models.CharField(max_length=20, help_text="E.164")
    phone_digits_reversed = models.CharField(max_length=20, editable=False)
    email = models.EmailField(blank=True)
    age = models.PositiveSmallIntegerField(null=True, blank=True, validators=[MaxValueValidator(MAX_AGE_YEARS)])
    gender = models.CharField(max_length=10, choices=Gender, blank=True)
    source = models.CharField(max_length=60)
    inquiry = models.CharField(max_length=60)
    problem = BoundedTextField(max_length=5000, blank=True)
    treatment_doctor = models.CharField(max_length=150, blank=True, help_text="For camp leads.")
    treatment_suggested = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=10, choices=LeadStatus, default=LeadStatus.NEW)
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="assigned_leads"
    )
    lost_reason = models.CharField(max_length=250, blank=True)
    next_follow_up = models.DateField(null=True, blank=True)
    converted_patient = models.OneToOneField(Patient, on_delete=models.PROTECT, null=True, blank=True, related_name="source_lead")
    duplicate_of_lead = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    duplicate_of_patient = models.ForeignKey(Patient, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    # When each stage was first reached: the funnel counts "reached", not only "is in".
    contacted_at = models.DateTimeField(null=True, blank=True)
    reached_cro_at = models.DateTimeField(null=True, blank=True, help_text="First time it was sent to a CRO.")
    sent_to_cro_at = models.DateTimeField(null=True, blank=True, help_text="Start of the current CRO wait.")
    converted_at = models.DateTimeField(null=True, blank=True)
    lost_at = models.DateTimeField(null=True, blank=True)
    date_added = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_via = models.CharField(max_length=20, default="desk", help_text="desk, api or website")

    history = audited_history(excluded_fields=["phone_digits_reversed"])

    class Meta:
        ordering = ["-date_added", "-id"]
        indexes = [
            models.Index(fields=["clinic", "status", "-date_added"], name="lead_status_added"),
            models.Index(fields=["clinic", "-date_added"], name="lead_added"),
            models.Index(fields=["clinic", "assigned_to", "status"], name="lead_assignee_status"),
            models.Index(fields=["clinic", "phone"], name="lead_phone"),
            models.Index(fields=["clinic", "phone_digits_reversed"], opclasses=["", "varchar_pattern_ops"], name="lead_phone_suffix"),
            models.Index(fields=["clinic", "source", "-date_added"], name="lead_source_added"),
            models.Index(fields=["clinic", "inquiry", "-date_added"], name="lead_inquiry_added"),
            models.Index(fields=["clinic", "next_follow_up"], name="lead_follow_up"),
        ]

    def __str__(self):
        return f"{self.name} ({self.get_status_display()})"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class LeadActivity(ClinicOwnedModel):
    """The lead's timeline: calls, notes and every status change."""

    class Kind(models.TextChoices):
        CALL = "call", "Call"
        NOTE = "note", "Note"
        STATUS = "status", "Status change"
        ASSIGNMENT = "assignment", "Assignment"

    class Outcome(models.TextChoices):
        REACHED = "reached", "Reached"
        NO_ANSWER = "no_answer", "No answer"
        CALL_BACK = "call_back", "Asked to call back"
        INTERESTED = "interested", "Interested"
        NOT_INTERESTED = "not_interested", "Not interested"

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="activities")
    kind = models.CharField(max_length=12, choices=Kind)
    outcome = models.CharField(max_length=16, choices=Outcome, blank=True)
    note = BoundedTextField(max_length=5000, blank=True)
    from_status = models.CharField(max_length=10, choices=LeadStatus, blank=True)
    to_status = models.CharField(max_length=10, choices=LeadStatus, blank=True)
    next_follow_up = models.DateField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["lead", "-created_at"], name="lead_activity_timeline")]


class CroRotation(models.Model):
    """Whose turn it is: the last CRO given a lead in round-robin. Locked while assigning,
    so two leads sent at the same moment go to two different CROs."""

    clinic = models.OneToOneField(Clinic, on_delete=models.CASCADE, related_name="+")
    last_assigned = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")

    objects = ClinicScopedManager()

    def __str__(self):
        return f"CRO round-robin of clinic {self.clinic_id}"


class LeadApiKey(ClinicOwnedModel):
    """A key a clinic's website uses to send leads. Only its hash is stored."""

    name = models.CharField(max_length=100, help_text="Where it is used, e.g. “Main website”.")
    prefix = models.CharField(max_length=12, editable=False, help_text="The first characters, to recognise it.")
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    allowed_origins = BoundedTextField(
        max_length=2000, blank=True, help_text="Browser origins allowed to post with this key, one per line (e.g. https://clinic.example)."
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    history = audited_history(excluded_fields=["key_hash"])

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"

    @property
    def origins(self) -> list[str]:
        return [line.strip().rstrip("/") for line in self.allowed_origins.splitlines() if line.strip()]
