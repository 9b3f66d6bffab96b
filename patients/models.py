"""Patients: the chart's identity, contacts, insurance, documents and the UHID sequence."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower, Upper
from django.utils import timezone
from guardian.models import UserObjectPermissionBase

from clinicos.choices import Gender
from clinicos.fields import BoundedTextField
from clinicos.messaging.choices import Language
from clinicos.models import Clinic, ClinicOwnedModel, DoctorProfile, audited_history
from clinicos.scoping import ClinicScopedManager


class InsuranceProvider(ClinicOwnedModel):
    """An insurer the clinic accepts (healthcare-management-system ``insurance_providers``)."""

    name = models.CharField(max_length=200)
    contact_person = models.CharField(max_length=150, blank=True)
    phone = models.CharField(max_length=32, blank=True)
    email = models.EmailField(blank=True)
    address = BoundedTextField(max_length=500, blank=True)
    coverage_policy = BoundedTextField(max_length=5000, blank=True, help_text="What the clinic's agreement with this insurer covers.")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = audited_history()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint("clinic", Lower("name"), name="insurer_name_ci_unique_per_clinic"),
        ]

    def __str__(self):
        return self.name


class Person(models.Model):
    """One human across clinics, keyed by phone: the patient portal shows a person all
    their charts. Each clinic's chart stays separate; this row only links them."""

    phone = models.CharField(max_length=20, unique=True, help_text="E.164, e.g. +919876543210")
    phone_verified_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return self.phone


class UhidSequence(models.Model):
    """The last UHID number used per clinic and year. Registration locks this row, so
    two receptionists registering at once get consecutive numbers, never the same one."""

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    year = models.PositiveIntegerField()
    last_number = models.PositiveIntegerField(default=0)

    objects = ClinicScopedManager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["clinic", "year"], name="uhid_sequence_per_clinic_year")]

    def __str__(self):
        return f"UHIDs {self.year} of clinic {self.clinic_id}: last {self.last_number}"


class PatientNameKey(models.Model):
    """Every distinct name (``Patient.search_name``) a clinic has registered. Names repeat:
    a million patients share far fewer names, so the fuzzy search ranks this small table
    by trigram distance and then reads the patients of the closest names from their index,
    instead of comparing every patient's name. A row outlives a renamed patient; it then
    finds no one, which costs nothing."""

    # The unique constraint's index starts with the clinic: no index of its own.
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+", db_index=False)
    search_name = models.CharField(max_length=210)

    objects = ClinicScopedManager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["clinic", "search_name"], name="patient_name_key_unique")]

    def __str__(self):
        return self.search_name


class Patient(ClinicOwnedModel):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        ARCHIVED = "archived", "Archived"

    class MaritalStatus(models.TextChoices):
        SINGLE = "single", "Single"
        MARRIED = "married", "Married"
        DIVORCED = "divorced", "Divorced"
        WIDOWED = "widowed", "Widowed"
        SEPARATED = "separated", "Separated"

    class BloodGroup(models.TextChoices):
        A_POS = "A+", "A+"
        A_NEG = "A-", "A−"
        B_POS = "B+", "B+"
        B_NEG = "B-", "B−"
        AB_POS = "AB+", "AB+"
        AB_NEG = "AB-", "AB−"
        O_POS = "O+", "O+"
        O_NEG = "O-", "O−"

    class Relation(models.TextChoices):
        SON_OF = "S/o", "S/o (son of)"
        DAUGHTER_OF = "D/o", "D/o (daughter of)"
        WIFE_OF = "W/o", "W/o (wife of)"
        HUSBAND_OF = "H/o", "H/o (husband of)"
        CARE_OF = "C/o", "C/o (care of)"

    uhid = models.CharField("UHID", max_length=30, editable=False)
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100, blank=True)
    relation = models.CharField(max_length=3, choices=Relation, blank=True)
    relative_name = models.CharField(max_length=150, blank=True, help_text="e.g. the husband's name for “W/o”.")
    marital_status = models.CharField(max_length=10, choices=MaritalStatus, blank=True)
    gender = models.CharField(max_length=10, choices=Gender)
    date_of_birth = models.DateField(null=True, blank=True)
    date_of_birth_is_estimated = models.BooleanField(default=False, help_text="Only the age was known; the birth date is approximate.")
    blood_group = models.CharField(max_length=3, choices=BloodGroup, blank=True)
    # National ID (e.g. Aadhaar): encrypted at rest, findable by exact match through a keyed hash.
    national_id_encrypted = models.TextField(blank=True, editable=False)
    national_id_hash = models.CharField(max_length=64, blank=True, editable=False)
    national_id_last4 = models.CharField(max_length=4, blank=True, editable=False)
    mobile = models.CharField(max_length=20, help_text="E.164, e.g. +919876543210")
    mobile_digits_reversed = models.CharField(max_length=20, editable=False)
    email = models.EmailField(blank=True)
    house = models.CharField("house / flat", max_length=100, blank=True)
    street = models.CharField(max_length=150, blank=True)
    area = models.CharField("area / locality", max_length=150, blank=True)
    city = models.CharField(max_length=100, blank=True)
    district = models.CharField(max_length=100, blank=True)
    state = models.CharField(max_length=100, blank=True)
    postal_code = models.CharField(max_length=12, blank=True)
    country = models.CharField(max_length=2, blank=True, help_text="ISO 3166 code, e.g. IN")
    emergency_contact_name = models.CharField(max_length=150, blank=True)
    emergency_contact_phone = models.CharField(max_length=20, blank=True)
    emergency_contact_relation = models.CharField(max_length=60, blank=True)
    assigned_doctor = models.ForeignKey(DoctorProfile, on_delete=models.SET_NULL, null=True, blank=True, related_name="assigned_patients")
    referring_doctor = models.CharField(max_length=150, blank=True)
    hospital_address = BoundedTextField(max_length=500, blank=True)
    insurance_provider = models.ForeignKey(InsuranceProvider, on_delete=models.SET_NULL, null=True, blank=True, related_name="patients")
    insurance_policy_number = models.CharField(max_length=60, blank=True)
    external_reference = models.CharField(max_length=100, blank=True, help_text="ID of this patient in another system.")
    # National health identifiers (patients.identity checks and formats them).
    abha_number = models.CharField("ABHA number", max_length=14, blank=True, help_text="India's 14-digit health ID.")
    abha_address = models.CharField("ABHA address", max_length=60, blank=True, help_text="e.g. name@abdm")
    nhs_number = models.CharField("NHS number", max_length=10, blank=True)
    registration_date = models.DateField(default=timezone.localdate)
    status = models.CharField(max_length=10, choices=Status, default=Status.ACTIVE)
    person = models.ForeignKey(Person, on_delete=models.SET_NULL, null=True, blank=True, related_name="patients")
    # Communication preferences the patient keeps in the portal (reminders read them).
    reminders_by_sms = models.BooleanField("reminders by SMS", default=True)
    reminders_by_email = models.BooleanField("reminders by email", default=True)
    reminders_by_whatsapp = models.BooleanField(
        "reminders by WhatsApp", default=False, help_text="Only with the patient's consent (WhatsApp's rules): off until they opt in."
    )
    preferred_language = models.CharField("language for messages", max_length=5, choices=Language, default=Language.ENGLISH)
    # Lower-case, accent-free "first last" and "last first", kept by the service for search.
    search_name = models.CharField(max_length=210, editable=False)
    search_name_last_first = models.CharField(max_length=210, editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, editable=False, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = audited_history(
        excluded_fields=["national_id_encrypted", "national_id_hash", "search_name", "search_name_last_first", "mobile_digits_reversed"]
    )

    class Meta:
        ordering = ["search_name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["clinic", "uhid"], name="patient_uhid_unique_per_clinic"),
            models.UniqueConstraint(
                fields=["clinic", "external_reference"],
                condition=~Q(external_reference=""),
                name="patient_external_reference_unique_per_clinic",
            ),
            models.UniqueConstraint(fields=["clinic", "abha_number"], condition=~Q(abha_number=""), name="patient_abha_number_unique"),
            models.UniqueConstraint(fields=["clinic", "abha_address"], condition=~Q(abha_address=""), name="patient_abha_address_unique"),
            models.UniqueConstraint(fields=["clinic", "nhs_number"], condition=~Q(nhs_number=""), name="patient_nhs_number_unique"),
        ]
        # Prefix searches use LIKE 'abc%': varchar_pattern_ops makes PostgreSQL use these
        # B-trees whatever the database collation (ignored on SQLite). The trigram index for
        # fuzzy search is created by migration 0002 on PostgreSQL only.
        indexes = [
            models.Index(fields=["clinic", "search_name"], opclasses=["", "varchar_pattern_ops"], name="patient_name_prefix"),
            models.Index(
                fields=["clinic", "search_name_last_first"], opclasses=["", "varchar_pattern_ops"], name="patient_lastname_prefix"
            ),
            models.Index(fields=["clinic", "mobile_digits_reversed"], opclasses=["", "varchar_pattern_ops"], name="patient_phone_suffix"),
            # The duplicate check on registration (and on a new lead) looks the mobile up exactly.
            models.Index(fields=["clinic", "mobile"], name="patient_mobile"),
            models.Index(fields=["clinic", "uhid"], opclasses=["", "varchar_pattern_ops"], name="patient_uhid_prefix"),
            models.Index(fields=["clinic", "national_id_hash"], name="patient_national_id"),
            models.Index(fields=["clinic", "status", "registration_date"], name="patient_status_registered"),
            models.Index(fields=["clinic", "assigned_doctor", "registration_date"], name="patient_doctor_registered"),
            models.Index(fields=["clinic", "registration_date"], name="patient_registered"),
            models.Index(fields=["clinic", "date_of_birth"], name="patient_birth_date"),
            # The portal finds a person's charts in every clinic by their email, in any case.
            models.Index(Upper("email"), name="patient_email_ci"),
        ]
        # The care team as a django-guardian object permission (``CareTeamGrant``).
        permissions = [("care_for_patient", "Is in the patient's care team")]

    def __str__(self):
        return f"{self.full_name} ({self.uhid})"

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def is_archived(self) -> bool:
        return self.status == self.Status.ARCHIVED

    def age_on(self, day) -> int | None:
        if self.date_of_birth is None:
            return None
        dob = self.date_of_birth
        return day.year - dob.year - ((day.month, day.day) < (dob.month, dob.day))

    @property
    def address_line(self) -> str:
        parts = [self.house, self.street, self.area, self.city, self.district, self.state]
        line = ", ".join(part for part in parts if part)
        return f"{line} {self.postal_code}".strip() if self.postal_code else line

    @property
    def age_label(self) -> str:
        """'34 y', or '~34 y' when only the age was known; in the active (clinic's) timezone."""
        age = self.age_on(timezone.localdate())
        if age is None:
            return ""
        return f"{'~' if self.date_of_birth_is_estimated else ''}{age} y"

    @property
    def abha_number_display(self) -> str:
        from patients.identity import abha_number_display

        return abha_number_display(self.abha_number)

    @property
    def nhs_number_display(self) -> str:
        from patients.identity import nhs_number_display

        return nhs_number_display(self.nhs_number)

    @property
    def national_id_masked(self) -> str:
        return f"XXXX-XXXX-{self.national_id_last4}" if self.national_id_last4 else ""


def document_upload_path(document, filename):
    # Unguessable and free of anything the uploader chose: clinic/patient/random.
    return f"documents/{document.clinic_id}/{document.patient_id}/{uuid.uuid4().hex}"


class Document(ClinicOwnedModel):
    class Type(models.TextChoices):
        INSURANCE = "insurance", "Insurance"
        CONSENT = "consent", "Consent"
        LAB_REPORT = "lab_report", "Lab report"
        PREVIOUS_HISTORY = "previous_history", "Previous history"
        IMAGING = "imaging", "Imaging"
        OTHER = "other", "Other"

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="documents")
    name = models.CharField(max_length=200)
    document_type = models.CharField(max_length=20, choices=Type)
    file = models.FileField(upload_to=document_upload_path, max_length=255)
    original_name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=60)
    size = models.PositiveBigIntegerField()
    checksum_sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(auto_now_add=True)
    is_deleted = models.BooleanField(default=False)
    shared_with_patient = models.BooleanField(default=False, help_text="The patient may download it in the portal.")
    deleted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    deleted_at = models.DateTimeField(null=True, blank=True)

    history = audited_history()

    class Meta:
        ordering = ["-uploaded_at", "-id"]
        indexes = [models.Index(fields=["clinic", "patient", "is_deleted", "-uploaded_at"], name="document_patient_list")]

    def __str__(self):
        return f"{self.name} ({self.get_document_type_display()})"


class CareTeamGrant(UserObjectPermissionBase):
    """django-guardian's object permission ``patients.care_for_patient``, with a real
    foreign key to the patient (fast joins, no generic object ids). Granted by the
    services when a doctor is assigned to a patient, books one, or sees one in a visit;
    read when the clinic restricts doctors to their care team."""

    content_object = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="care_team_grants")

    class Meta(UserObjectPermissionBase.Meta):
        constraints = [models.UniqueConstraint(fields=["user", "permission", "content_object"], name="care_team_grant_unique")]

    def __str__(self):
        return f"{self.user_id} cares for patient {self.content_object_id}"


class BreakGlassAccess(ClinicOwnedModel):
    """A doctor outside the care team opened a chart in an emergency: with a reason, for
    four hours, the clinic's admins told, and kept in the audit trail."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="break_glass_accesses")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reason = BoundedTextField(max_length=2000)
    granted_at = models.DateTimeField()
    expires_at = models.DateTimeField()

    history = audited_history()

    class Meta:
        ordering = ["-granted_at", "-id"]
        verbose_name = "emergency access (break the glass)"
        verbose_name_plural = "emergency accesses (break the glass)"
        indexes = [models.Index(fields=["clinic", "user", "expires_at"], name="break_glass_user_expiry")]

    def __str__(self):
        return f"Emergency access to patient {self.patient_id} by user {self.user_id}"
