"""The clinical record: visits with their SOAP note and addenda, vital signs, and the
complete medical history (allergies with the list's own state, conditions, medications,
immunizations, procedures). Every model keeps its history (the audit trail)."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from clinicos.models import ClinicOwnedModel, DoctorProfile, audited_history
from clinicos.scoping import ClinicScopedManager
from patients.models import Patient
from scheduling.models import Appointment


class Visit(ClinicOwnedModel):
    """The specs' consultation, visit, encounter and medical record: one thing. Started by a
    doctor from a checked-in appointment (at most one visit per appointment, a database
    constraint) or for a walk-in patient; In progress → Completed."""

    class Status(models.TextChoices):
        IN_PROGRESS = "in_progress", "In progress"
        COMPLETED = "completed", "Completed"

    reference = models.CharField(max_length=30, editable=False, help_text="e.g. ABC01-V1234")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="visits")
    appointment = models.OneToOneField(Appointment, on_delete=models.PROTECT, null=True, blank=True, related_name="visit")
    doctor = models.ForeignKey(DoctorProfile, on_delete=models.PROTECT, related_name="visits")
    status = models.CharField(max_length=12, choices=Status, default=Status.IN_PROGRESS)
    started_at = models.DateTimeField()
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    completed_at = models.DateTimeField(null=True, blank=True)

    history = audited_history()

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["clinic", "reference"], name="visit_reference_unique")]
        indexes = [
            models.Index(fields=["clinic", "patient", "-started_at"], name="visit_patient_time"),
            models.Index(fields=["clinic", "doctor", "status", "-started_at"], name="visit_doctor_status_time"),
        ]

    def __str__(self):
        return self.reference


class VisitSequence(models.Model):
    """The last visit number of a clinic (ABC01-V1001, V1002, …), locked while used."""

    clinic = models.OneToOneField("clinicos.Clinic", on_delete=models.CASCADE, related_name="+")
    last_number = models.PositiveIntegerField(default=1000)

    objects = ClinicScopedManager()

    def __str__(self):
        return f"Visit references of clinic {self.clinic_id}: last {self.last_number}"


class ClinicalNote(ClinicOwnedModel):
    """The visit's SOAP note (healthcare-management-system's consultation fields map onto
    it). Autosaved while the doctor types; every save is a version in the history."""

    visit = models.OneToOneField(Visit, on_delete=models.PROTECT, related_name="note")
    chief_complaint = models.CharField(max_length=250, blank=True)
    subjective = models.TextField(blank=True, help_text="History of present illness, what the patient reports.")
    objective = models.TextField(blank=True, help_text="Examination findings.")
    assessment = models.TextField(blank=True, help_text="Diagnosis.")
    diagnosis_codes = models.JSONField(default=list, blank=True, help_text="ICD-10 codes, e.g. N97.9")
    plan = models.TextField(blank=True, help_text="Treatment plan.")
    follow_up_required = models.BooleanField(default=False)
    follow_up_date = models.DateField(null=True, blank=True)
    follow_up_appointment = models.OneToOneField(
        Appointment, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", help_text="The follow-up booked from the note."
    )
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = audited_history()

    def __str__(self):
        return f"Note of {self.visit.reference}" if self.visit_id else "Note"


class Addendum(ClinicOwnedModel):
    """Text added to a note after it is locked: who, when, never changed."""

    visit = models.ForeignKey(Visit, on_delete=models.PROTECT, related_name="addenda")
    text = models.TextField()
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    history = audited_history()

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name_plural = "addenda"

    def __str__(self):
        return f"Addendum to {self.visit.reference}" if self.visit_id else "Addendum"


class VitalSigns(ClinicOwnedModel):
    """One set of measurements (healthcare-management-system's Vitalsign), checked against
    the spec's ranges by the service; BMI computed on the server."""

    class BmiCategory(models.TextChoices):
        UNDERWEIGHT = "underweight", "Underweight"
        NORMAL = "normal", "Normal"
        OVERWEIGHT = "overweight", "Overweight"
        OBESE = "obese", "Obese"

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="vital_signs")
    visit = models.ForeignKey(Visit, on_delete=models.PROTECT, null=True, blank=True, related_name="vital_signs")
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField()
    systolic_bp = models.PositiveSmallIntegerField("systolic BP (mmHg)", null=True, blank=True)
    diastolic_bp = models.PositiveSmallIntegerField("diastolic BP (mmHg)", null=True, blank=True)
    pulse_rate = models.PositiveSmallIntegerField("pulse (bpm)", null=True, blank=True)
    temperature_celsius = models.DecimalField("temperature (°C)", max_digits=4, decimal_places=1, null=True, blank=True)
    respiratory_rate = models.PositiveSmallIntegerField("respiratory rate (/min)", null=True, blank=True)
    weight_kg = models.DecimalField("weight (kg)", max_digits=5, decimal_places=2, null=True, blank=True)
    height_cm = models.DecimalField("height (cm)", max_digits=5, decimal_places=1, null=True, blank=True)
    oxygen_saturation = models.PositiveSmallIntegerField("SpO₂ (%)", null=True, blank=True)
    bmi = models.DecimalField("BMI", max_digits=4, decimal_places=1, null=True, blank=True, editable=False)
    bmi_category = models.CharField(max_length=12, choices=BmiCategory, blank=True, editable=False)
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = audited_history()

    class Meta:
        verbose_name_plural = "vital signs"
        ordering = ["-recorded_at", "-id"]
        indexes = [models.Index(fields=["clinic", "patient", "-recorded_at"], name="vitals_patient_time")]
        constraints = [
            models.CheckConstraint(
                condition=Q(systolic_bp__isnull=True) | Q(diastolic_bp__isnull=True) | Q(systolic_bp__gt=models.F("diastolic_bp")),
                name="vitals_systolic_above_diastolic",
            ),
        ]

    def __str__(self):
        return f"Vital signs of {self.patient_id} at {self.recorded_at:%Y-%m-%d %H:%M}"


# --- The complete medical history (clinicflow) ---------------------------------------------


class HistoryItem(ClinicOwnedModel):
    """An entry of one of the patient's history lists: who recorded it and when."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="+")
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class AllergyStatement(ClinicOwnedModel):
    """The allergy list's own state. Without a statement and without allergies the list is
    *unknown*; "No known allergies" is an explicit statement by a clinician — never the
    same as nobody having asked (OpenMRS keeps them apart)."""

    patient = models.OneToOneField(Patient, on_delete=models.PROTECT, related_name="allergy_statement")
    no_known_allergies = models.BooleanField(default=False)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField()

    history = audited_history()

    def __str__(self):
        return "No known allergies" if self.no_known_allergies else "Allergies unknown"


class Allergy(HistoryItem):
    class Severity(models.TextChoices):
        MILD = "mild", "Mild"
        MODERATE = "moderate", "Moderate"
        SEVERE = "severe", "Severe"
        LIFE_THREATENING = "life_threatening", "Life-threatening"

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        INACTIVE = "inactive", "Inactive"

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="allergies")
    substance = models.CharField(max_length=120)
    reaction = models.CharField(max_length=250, blank=True)
    severity = models.CharField(max_length=20, choices=Severity, default=Severity.MODERATE)
    status = models.CharField(max_length=10, choices=Status, default=Status.ACTIVE)

    history = audited_history()

    class Meta:
        verbose_name_plural = "allergies"
        ordering = ["status", "substance"]
        indexes = [models.Index(fields=["clinic", "patient", "status"], name="allergy_patient_status")]

    def __str__(self):
        return self.substance


class Condition(HistoryItem):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        INACTIVE = "inactive", "Inactive"
        HISTORY_OF = "history_of", "History of"

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="conditions")
    name = models.CharField(max_length=200)
    icd10_code = models.CharField("ICD-10 code", max_length=10, blank=True)
    onset_date = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=12, choices=Status, default=Status.ACTIVE)
    notes = models.TextField(blank=True)

    history = audited_history()

    class Meta:
        ordering = ["status", "name"]
        indexes = [models.Index(fields=["clinic", "patient", "status"], name="condition_patient_status")]

    def __str__(self):
        return self.name


class Medication(HistoryItem):
    class Status(models.TextChoices):
        ACTIVE = "active", "Current"
        INACTIVE = "inactive", "Past"

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="medications")
    name = models.CharField(max_length=200)
    dose = models.CharField(max_length=120, blank=True, help_text="e.g. 500 mg twice a day")
    start_date = models.DateField(null=True, blank=True)
    end_date = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status, default=Status.ACTIVE)
    notes = models.TextField(blank=True)

    history = audited_history()

    class Meta:
        ordering = ["status", "name"]
        indexes = [models.Index(fields=["clinic", "patient", "status"], name="medication_patient_status")]

    def __str__(self):
        return self.name


class Immunization(HistoryItem):
    class Status(models.TextChoices):
        ACTIVE = "active", "Recorded"
        INACTIVE = "inactive", "Entered in error"

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="immunizations")
    vaccine = models.CharField(max_length=200)
    dose_number = models.PositiveSmallIntegerField(null=True, blank=True)
    given_on = models.DateField(null=True, blank=True)
    next_due = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status, default=Status.ACTIVE)
    notes = models.TextField(blank=True)

    history = audited_history()

    class Meta:
        ordering = ["status", "-given_on"]
        indexes = [models.Index(fields=["clinic", "patient", "status"], name="immunization_patient_status")]

    def __str__(self):
        return self.vaccine


class Procedure(HistoryItem):
    class Status(models.TextChoices):
        PLANNED = "planned", "Planned"
        DONE = "done", "Done"
        INACTIVE = "inactive", "Cancelled"

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="procedures")
    name = models.CharField(max_length=200)
    performed_on = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status, default=Status.PLANNED)
    notes = models.TextField(blank=True)

    history = audited_history()

    class Meta:
        ordering = ["status", "-performed_on"]
        indexes = [models.Index(fields=["clinic", "patient", "status"], name="procedure_patient_status")]

    def __str__(self):
        return self.name
