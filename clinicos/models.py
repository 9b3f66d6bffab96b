"""Core models: users, clinics (the tenants), memberships and roles, doctors, departments,
resources, and the audit records."""

import datetime
import uuid
import zoneinfo
from decimal import Decimal

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.crypto import salted_hmac
from simple_history.models import HistoricalRecords

from clinicos.fields import BoundedTextField
from clinicos.roles import Role, permissions_for_roles, roles_have_permission
from clinicos.scoping import ClinicScopedManager


class AuditedHistoryModel(models.Model):
    """Base of every historical table: who changed it is simple-history's own
    ``history_user``; from where is recorded here (filled in by ``clinicos.audit``)."""

    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=500, blank=True, default="")

    class Meta:
        abstract = True


def audited_history(**kwargs) -> HistoricalRecords:
    return HistoricalRecords(bases=[AuditedHistoryModel], **kwargs)


# --- Users ----------------------------------------------------------------------------


class UserManager(BaseUserManager):
    use_in_migrations = True

    def get_by_natural_key(self, email):
        return self.get(email__iexact=email)

    def _create_user(self, email, password, **extra_fields):
        if not email:
            raise ValueError("Users need an email address.")
        user = self.model(email=self.normalize_email(email).lower(), **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra_fields)

    def create_superuser(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", True)
        extra_fields.setdefault("is_superuser", True)
        return self._create_user(email, password, **extra_fields)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who logs in. Email is the login; what they may do depends on their
    memberships, one per clinic."""

    email = models.EmailField(unique=True)
    full_name = models.CharField(max_length=150)
    phone = models.CharField(max_length=32, blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False, help_text="Platform administrators: may use the Django admin.")
    date_joined = models.DateTimeField(default=timezone.now)
    # Raised by ``services.user_sign_out_everywhere``: it is part of the session hash,
    # so every session and API token issued before it stops working at once.
    sign_out_generation = models.PositiveIntegerField(default=0, editable=False)

    history = audited_history(excluded_fields=["password", "last_login", "sign_out_generation"])

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["full_name"]

    class Meta:
        ordering = ["full_name"]
        constraints = [models.UniqueConstraint(Lower("email"), name="user_email_ci_unique")]

    def __str__(self):
        return self.full_name or self.email

    def clean(self):
        super().clean()
        self.email = self.__class__.objects.normalize_email(self.email).lower()

    def get_full_name(self):
        return self.full_name

    def get_short_name(self):
        return self.full_name.split(" ")[0] if self.full_name else self.email

    def _get_session_auth_hash(self, secret=None):
        # Django's hash covers the password only; ours also covers the sign-out
        # generation (left out while 0, so that existing sessions survive its arrival).
        if not self.sign_out_generation:
            return super()._get_session_auth_hash(secret=secret)
        key_salt = "clinicos.models.User.get_session_auth_hash"
        value = f"{self.password}|{self.sign_out_generation}"
        return salted_hmac(key_salt, value, secret=secret, algorithm="sha256").hexdigest()

    @property
    def has_pending_invitation(self) -> bool:
        """Invited by a clinic and has not yet set a password."""
        return not self.has_usable_password()


# --- Clinics and tenancy ---------------------------------------------------------------


def validate_timezone(value):
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"“{value}” is not a known time zone (e.g. Asia/Kolkata).")


def clinic_logo_path(clinic, filename):
    # Unguessable and free of anything the uploader chose.
    return f"clinics/{clinic.pk}/logo-{uuid.uuid4().hex}"


class Month(models.IntegerChoices):
    JANUARY = 1, "January"
    FEBRUARY = 2, "February"
    MARCH = 3, "March"
    APRIL = 4, "April"
    MAY = 5, "May"
    JUNE = 6, "June"
    JULY = 7, "July"
    AUGUST = 8, "August"
    SEPTEMBER = 9, "September"
    OCTOBER = 10, "October"
    NOVEMBER = 11, "November"
    DECEMBER = 12, "December"


class Clinic(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        INACTIVE = "inactive", "Inactive"
        SUSPENDED = "suspended", "Suspended"

    name = models.CharField(max_length=200)
    code = models.CharField(
        max_length=10,
        unique=True,
        validators=[RegexValidator(r"^[A-Z0-9]{3,10}$", "Use 3–10 upper-case letters or digits, e.g. ABC01.")],
        help_text="Short code used in every URL, e.g. ABC01.",
    )
    country = models.CharField(max_length=2, default="IN", help_text="ISO 3166 country code, e.g. IN, GB.")
    state = models.CharField(max_length=100, blank=True)
    city = models.CharField(max_length=100, blank=True)
    address = BoundedTextField(max_length=500, blank=True)
    phone = models.CharField(max_length=32, blank=True)
    email = models.EmailField(blank=True)
    timezone = models.CharField("time zone", max_length=64, default="UTC", validators=[validate_timezone])
    currency = models.CharField(
        max_length=3,
        default="INR",
        validators=[RegexValidator(r"^[A-Z]{3}$", "Use the three-letter ISO currency code, e.g. INR.")],
    )
    uhid_prefix = models.CharField(
        "UHID prefix",
        max_length=8,
        validators=[RegexValidator(r"^[A-Z0-9]{2,8}$", "Use 2–8 upper-case letters or digits, e.g. JAN.")],
        help_text="Start of every patient's UHID, e.g. JAN → JAN-2026-001.",
    )
    status = models.CharField(max_length=10, choices=Status, default=Status.ACTIVE, db_index=True)
    # Letterhead: printed at the top of prescriptions, receipts and reports.
    logo = models.FileField(upload_to=clinic_logo_path, max_length=255, blank=True)
    logo_content_type = models.CharField(max_length=60, blank=True, editable=False)
    registration_details = BoundedTextField(
        max_length=2000,
        blank=True,
        help_text="Clinical establishment registration and licences, as printed on the letterhead.",
    )
    tax_id = models.CharField(
        "tax registration",
        max_length=20,
        blank=True,
        help_text="GSTIN in India (15 characters, e.g. 29ABCDE1234F1Z5), VAT number in the United Kingdom.",
    )
    financial_year_start_month = models.PositiveSmallIntegerField(
        "financial year starts in",
        choices=Month,
        default=Month.APRIL,
        help_text="April in India, April in the UK (tax year), January elsewhere. Invoice numbers restart each year.",
    )
    require_admin_mfa = models.BooleanField(
        "require two-factor authentication for administrators",
        default=False,
        help_text="Administrators must set up an authenticator app before they can work in this clinic.",
    )
    require_clinical_mfa = models.BooleanField(
        "require two-factor authentication for clinical roles",
        default=False,
        help_text="Doctors, nurses, lab technicians and pharmacists must set up an authenticator app before they can work in this clinic.",
    )
    doctors_see_all_patients = models.BooleanField(default=True, help_text="When off, doctors see only the patients of their care team.")
    vitals_required_before_consultation = models.BooleanField(
        default=False, help_text="A doctor cannot start a visit until the patient's vital signs were recorded that day."
    )
    bmi_asian_cutoffs = models.BooleanField(
        "BMI categories with the Asian cut-offs",
        default=False,
        help_text="Overweight from 23 and obese from 27.5 (WHO expert consultation for Asian populations) instead of 25 and 30.",
    )
    critical_result_escalation_minutes = models.PositiveSmallIntegerField(
        "minutes before an unacknowledged critical result escalates",
        default=30,
        validators=[MinValueValidator(5), MaxValueValidator(240)],
        help_text="A critical lab result goes to the ordering doctor at once; if nobody acknowledges it in this time, "
        "the clinic's administrators and the doctors on duty are told too.",
    )
    invoice_requires_completed_visit = models.BooleanField(
        "an invoice for a visit is issued only once the visit is completed",
        default=True,
        help_text="The consultation is billed after it ends; drafts can be prepared before.",
    )
    invoice_due_days = models.PositiveSmallIntegerField(
        "days an invoice is due in",
        default=0,
        validators=[MaxValueValidator(365)],
        help_text="0: due on the day it is issued. After its due date an invoice with a balance is overdue.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = audited_history()

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return f"{self.name} ({self.code})"

    def save(self, *args, **kwargs):
        self.code = self.code.upper()
        self.uhid_prefix = self.uhid_prefix.upper()
        super().save(*args, **kwargs)

    @property
    def tzinfo(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)

    def today(self) -> datetime.date:
        """The date now in the clinic's timezone (a clinic's "today", whatever the server's)."""
        return timezone.localdate(timezone.now(), self.tzinfo)

    @property
    def is_enterable(self) -> bool:
        return self.status != self.Status.INACTIVE

    @property
    def is_read_only(self) -> bool:
        return self.status == self.Status.SUSPENDED

    def financial_year_of(self, day: datetime.date) -> tuple[datetime.date, datetime.date]:
        """The first and last day of the clinic's financial year that holds ``day``."""
        first_month = self.financial_year_start_month
        start_year = day.year if day.month >= first_month else day.year - 1
        start = datetime.date(start_year, first_month, 1)
        next_start = datetime.date(start_year + 1, first_month, 1)
        return start, next_start - datetime.timedelta(days=1)

    def financial_year_label(self, day: datetime.date) -> str:
        """``2026–27`` for a year that spans two calendar years, ``2026`` otherwise."""
        start, end = self.financial_year_of(day)
        return str(start.year) if start.year == end.year else f"{start.year}–{str(end.year)[2:]}"


class ClinicOwnedModel(models.Model):
    """Base for every row that belongs to one clinic: its queries need a clinic scope
    (``clinicos.scoping``)."""

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")

    objects = ClinicScopedManager()

    class Meta:
        abstract = True


def validate_roles(value):
    if not isinstance(value, list) or not value:
        raise ValidationError("Choose at least one role.")
    unknown = [role for role in value if role not in Role.values]
    if unknown:
        raise ValidationError(f"Unknown role(s): {', '.join(map(str, unknown))}.")
    if len(set(value)) != len(value):
        raise ValidationError("A role is listed twice.")


class Membership(ClinicOwnedModel):
    """A user's place in one clinic, with one or more roles."""

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="memberships")
    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="memberships")
    roles = models.JSONField(default=list, validators=[validate_roles])
    is_active = models.BooleanField(default=True)
    invited_at = models.DateTimeField(null=True, blank=True, help_text="When the last invitation email was sent.")
    invited_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = audited_history()

    class Meta:
        ordering = ["clinic__name", "user__full_name"]
        constraints = [models.UniqueConstraint(fields=["clinic", "user"], name="membership_one_per_clinic")]

    def __str__(self):
        return f"{self.user} at {self.clinic.code}: {self.roles_display}"

    @property
    def roles_display(self) -> str:
        return ", ".join(self.role_labels)

    @property
    def role_labels(self) -> list[str]:
        return [Role(role).label for role in self.roles if role in Role.values]

    def has_role(self, role: Role) -> bool:
        return role in self.roles

    def has_any_role(self, roles) -> bool:
        return any(role in self.roles for role in roles)

    def has_perm_in_clinic(self, perm) -> bool:
        return self.is_active and roles_have_permission(self.roles, perm)

    @property
    def permissions(self):
        return permissions_for_roles(self.roles) if self.is_active else frozenset()


color_validator = RegexValidator(r"^#[0-9a-fA-F]{6}$", "Use a colour like #2F6FDE.")


class Department(ClinicOwnedModel):
    """A clinical department (healthcare-management-system): doctors, rooms and services
    belong to one. A department in use is deactivated, never deleted."""

    name = models.CharField(max_length=120)
    description = BoundedTextField(max_length=2000, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = audited_history()

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["clinic", "name"], name="department_name_unique_per_clinic")]

    def __str__(self):
        return self.name


def doctor_signature_path(profile, filename):
    return f"clinics/{profile.clinic_id}/signatures/{uuid.uuid4().hex}"


class DoctorProfile(ClinicOwnedModel):
    """A doctor's professional details in one clinic (a doctor may work in several)."""

    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="doctor_profiles")
    # PROTECT: a department that still has doctors cannot be deleted (services say so).
    department = models.ForeignKey(Department, on_delete=models.PROTECT, null=True, blank=True)
    specialization = models.CharField(max_length=120)
    registration_number = models.CharField(max_length=60, help_text="Medical council registration / licence number.")
    registration_council = models.CharField(
        "registering council",
        max_length=120,
        blank=True,
        help_text="e.g. Karnataka Medical Council, General Medical Council. Printed on prescriptions and receipts.",
    )
    qualifications = models.CharField(max_length=250, blank=True)
    color = models.CharField(max_length=7, default="#2F6FDE", validators=[color_validator], help_text="Calendar colour.")
    consultation_fee = models.DecimalField(
        max_digits=10, decimal_places=2, default=Decimal("0.00"), validators=[MinValueValidator(Decimal("0"))]
    )
    is_public = models.BooleanField(default=True, help_text="Listed to patients (portal, website).")
    is_active = models.BooleanField(
        "takes appointments", default=True, help_text="Off while the doctor is away for good or no longer on the staff."
    )
    signature = models.FileField(upload_to=doctor_signature_path, max_length=255, blank=True)
    signature_content_type = models.CharField(max_length=60, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = audited_history()

    class Meta:
        verbose_name = "doctor"
        ordering = ["user__full_name"]
        constraints = [
            models.UniqueConstraint(fields=["clinic", "user"], name="doctor_profile_one_per_clinic"),
            models.CheckConstraint(condition=models.Q(consultation_fee__gte=0), name="doctor_fee_not_negative"),
        ]

    def __str__(self):
        return f"Dr. {self.user.full_name}"


class Resource(ClinicOwnedModel):
    """A room or a machine that appointments can book."""

    class Kind(models.TextChoices):
        ROOM = "room", "Room"
        MACHINE = "machine", "Machine"

    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=10, choices=Kind, default=Kind.ROOM)
    department = models.ForeignKey(Department, on_delete=models.PROTECT, null=True, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = audited_history()

    class Meta:
        verbose_name = "room or machine"
        verbose_name_plural = "rooms and machines"
        ordering = ["kind", "name"]
        constraints = [models.UniqueConstraint(fields=["clinic", "name"], name="resource_name_unique_per_clinic")]

    def __str__(self):
        return f"{self.name} ({self.get_kind_display()})"


# --- Audit ------------------------------------------------------------------------------


class AppendOnlyModel(models.Model):
    """Audit rows are written once and never changed or removed by the application."""

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise PermissionError("Audit records cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("Audit records cannot be deleted.")


class AuditLog(AppendOnlyModel):
    """One change of one audited row, with field-level old → new values (the
    healthcare-management-system ``audit_logs`` table), fed by django-simple-history."""

    class Action(models.TextChoices):
        CREATE = "create", "Created"
        UPDATE = "update", "Changed"
        DELETE = "delete", "Deleted"
        LOGIN = "login", "Signed in"
        LOGOUT = "logout", "Signed out"
        LOGIN_FAILED = "login_failed", "Failed sign-in"
        TOKEN = "token", "API token issued"

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    user = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    action = models.CharField(max_length=20, choices=Action)
    # The chart a change belongs to (the patient, or the row's patient), for one patient's trail.
    patient_id = models.BigIntegerField(null=True, blank=True)
    entity_type = models.CharField(max_length=100, help_text="app_label.model")
    entity_name = models.CharField(max_length=100, help_text="Human name of the model")
    entity_id = models.CharField(max_length=64)
    entity_repr = models.CharField(max_length=250)
    changes = models.JSONField(default=dict, help_text="{field: {label, old, new}}")
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=500, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)

    objects = ClinicScopedManager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["clinic", "-created_at"], name="auditlog_clinic_time"),
            models.Index(fields=["clinic", "user", "-created_at"], name="auditlog_clinic_user_time"),
            models.Index(fields=["clinic", "entity_type", "-created_at"], name="auditlog_clinic_entity_time"),
            models.Index(fields=["clinic", "patient_id", "-created_at"], name="auditlog_clinic_patient_time"),
        ]

    def __str__(self):
        return f"{self.get_action_display()} {self.entity_name} {self.entity_repr}"


class ReadAccessLog(AppendOnlyModel):
    """Who opened which record (a patient's chart, a document), when and from where."""

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    action = models.CharField(max_length=30, default="view", help_text="view, download, print, …")
    entity_type = models.CharField(max_length=100)
    entity_id = models.CharField(max_length=64)
    entity_repr = models.CharField(max_length=250)
    patient_id = models.BigIntegerField(null=True, blank=True, help_text="The patient whose record was read.")
    path = models.CharField(max_length=500, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=500, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)

    objects = ClinicScopedManager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["clinic", "-created_at"], name="readlog_clinic_time"),
            models.Index(fields=["clinic", "patient_id", "-created_at"], name="readlog_clinic_patient_time"),
            models.Index(fields=["clinic", "user", "-created_at"], name="readlog_clinic_user_time"),
        ]

    def __str__(self):
        return f"{self.user} {self.action} {self.entity_repr}"


# --- API tokens -------------------------------------------------------------------------


class ApiToken(models.Model):
    """A bearer token for the JSON API. Only its SHA-256 hash is stored."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    # The user's session hash (an HMAC of the password hash) when issued: a password
    # change makes it differ, which ends the token.
    password_fingerprint = models.CharField(max_length=128, default="", editable=False)

    class Meta:
        indexes = [models.Index(fields=["user", "expires_at"], name="apitoken_user_expiry")]

    def __str__(self):
        return f"API token of {self.user} (expires {self.expires_at:%Y-%m-%d %H:%M})"

    @property
    def is_usable(self) -> bool:
        return self.revoked_at is None and self.expires_at > timezone.now()


class Notification(ClinicOwnedModel):
    """A message to one member of staff in one clinic (the bell in the header): a patient
    checked in for their doctor, someone broke the glass for the admins… Later apps add
    their own kinds."""

    class Kind(models.TextChoices):
        PATIENT_CHECKED_IN = "patient_checked_in", "Patient checked in"
        BREAK_THE_GLASS = "break_the_glass", "Emergency access to a chart"
        CRITICAL_RESULT = "critical_result", "Critical lab result"
        CRITICAL_RESULT_ESCALATED = "critical_result_escalated", "Critical lab result not acknowledged"
        LAB_RESULTS_READY = "lab_results_ready", "Lab results ready"
        REPORT_READY = "report_ready", "Report ready"
        BOOKED_ONLINE = "booked_online", "Appointment booked online"
        CANCELLED_ONLINE = "cancelled_online", "Appointment cancelled online"
        MOVED_ONLINE = "moved_online", "Appointment moved online"
        MESSAGE_FAILED = "message_failed", "A message to a patient failed"
        WAITLIST_CLAIMED = "waitlist_claimed", "A waitlist offer was claimed"

    recipient = models.ForeignKey(User, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=40, choices=Kind)
    title = models.CharField(max_length=250)
    url = models.CharField(max_length=500, blank=True, help_text="Where the notification leads (a path in ClinicOS).")
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["clinic", "recipient", "-created_at"], name="notification_inbox"),
            models.Index(fields=["clinic", "recipient"], condition=models.Q(read_at__isnull=True), name="notification_unread"),
        ]

    def __str__(self):
        return self.title


# The outbox's models live with its code (clinicos/messaging) and register with this app.
from clinicos.messaging.models import MessageRules, OutboundMessage  # noqa: E402, F401
