"""The clinical record: visits with their SOAP note and addenda, vital signs, and the
complete medical history (allergies with the list's own state, conditions, medications,
immunizations, procedures). Every model keeps its history (the audit trail)."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from clinicos.fields import BoundedTextField
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
    subjective = BoundedTextField(max_length=10000, blank=True, help_text="History of present illness, what the patient reports.")
    objective = BoundedTextField(max_length=10000, blank=True, help_text="Examination findings.")
    assessment = BoundedTextField(max_length=10000, blank=True, help_text="Diagnosis.")
    diagnosis_codes = models.JSONField(default=list, blank=True, help_text="ICD-10 codes, e.g. N97.9")
    plan = BoundedTextField(max_length=10000, blank=True, help_text="Treatment plan.")
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
    text = BoundedTextField(max_length=5000)
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
    notes = BoundedTextField(max_length=2000, blank=True)
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
        # No patient id, and the clinic's time when the clinic is at hand (the audit trail
        # shows this text to people, who read the clinic's clock, not UTC).
        when = self.recorded_at
        if when and self._state.fields_cache.get("clinic") is not None:
            when = when.astimezone(self._state.fields_cache["clinic"].tzinfo)
        return f"Vital signs, {when:%d %b %Y %H:%M}" if when else "Vital signs"


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
    notes = BoundedTextField(max_length=2000, blank=True)
    # The visit whose diagnosis put it on the problem list (none when recorded by hand).
    source_visit = models.ForeignKey(Visit, on_delete=models.PROTECT, null=True, blank=True, related_name="+")

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
    notes = BoundedTextField(max_length=2000, blank=True)

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
    notes = BoundedTextField(max_length=2000, blank=True)

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
    notes = BoundedTextField(max_length=2000, blank=True)

    history = audited_history()

    class Meta:
        ordering = ["status", "-performed_on"]
        indexes = [models.Index(fields=["clinic", "patient", "status"], name="procedure_patient_status")]

    def __str__(self):
        return self.name


class FamilyHistory(HistoryItem):
    """A condition in the patient's family: who (the relation), what (ICD-10 optional)."""

    class Relation(models.TextChoices):
        MOTHER = "mother", "Mother"
        FATHER = "father", "Father"
        SISTER = "sister", "Sister"
        BROTHER = "brother", "Brother"
        DAUGHTER = "daughter", "Daughter"
        SON = "son", "Son"
        GRANDMOTHER = "grandmother", "Grandmother"
        GRANDFATHER = "grandfather", "Grandfather"
        AUNT = "aunt", "Aunt"
        UNCLE = "uncle", "Uncle"
        COUSIN = "cousin", "Cousin"
        OTHER = "other", "Other relative"

    class Status(models.TextChoices):
        ACTIVE = "active", "Recorded"
        INACTIVE = "inactive", "Entered in error"

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="family_history")
    relation = models.CharField(max_length=12, choices=Relation)
    condition = models.CharField(max_length=200)
    icd10_code = models.CharField("ICD-10 code", max_length=10, blank=True)
    notes = BoundedTextField(max_length=2000, blank=True)
    status = models.CharField(max_length=10, choices=Status, default=Status.ACTIVE)

    history = audited_history()

    class Meta:
        ordering = ["status", "relation", "condition"]
        verbose_name_plural = "family history"
        indexes = [models.Index(fields=["clinic", "patient", "status"], name="family_history_patient_status")]

    def __str__(self):
        return f"{self.get_relation_display()}: {self.condition}"


# --- Prescriptions (Orders) ------------------------------------------------------------------


class Route(models.TextChoices):
    ORAL = "oral", "Oral"
    SUBLINGUAL = "sublingual", "Sublingual"
    TOPICAL = "topical", "Topical"
    INHALED = "inhaled", "Inhaled"
    NASAL = "nasal", "Nasal"
    EYE = "eye", "Eye drops / ointment"
    EAR = "ear", "Ear drops"
    VAGINAL = "vaginal", "Vaginal"
    RECTAL = "rectal", "Rectal"
    SUBCUTANEOUS = "subcutaneous", "Subcutaneous injection"
    INTRAMUSCULAR = "intramuscular", "Intramuscular injection"
    INTRAVENOUS = "intravenous", "Intravenous"
    OTHER = "other", "Other"


class FormularyItem(ClinicOwnedModel):
    """A medicine the clinic prescribes often: picked from a list while prescribing (free
    text stays allowed). Generic names, as the prescribing rules ask."""

    generic_name = models.CharField(max_length=120)
    strength = models.CharField(max_length=60, blank=True, help_text="e.g. 500 mg, 5 mg/5 ml")
    form = models.CharField(max_length=40, blank=True, help_text="e.g. tablet, capsule, syrup, injection")
    route = models.CharField(max_length=20, choices=Route, default=Route.ORAL)
    default_frequency = models.CharField(max_length=60, blank=True)
    is_active = models.BooleanField(default=True)

    history = audited_history()

    class Meta:
        ordering = ["generic_name", "strength"]
        constraints = [
            models.UniqueConstraint(
                models.functions.Lower("generic_name"),
                models.functions.Lower("strength"),
                "clinic",
                name="formulary_item_unique",
                violation_error_message="This medicine and strength are already in the formulary.",
            )
        ]

    def __str__(self):
        return " ".join(part for part in (self.generic_name, self.strength, self.form) if part)


class PrescriptionSequence(models.Model):
    """The last prescription number of a clinic (ABC01-RX1001, …), locked while used."""

    clinic = models.OneToOneField("clinicos.Clinic", on_delete=models.CASCADE, related_name="+")
    last_number = models.PositiveIntegerField(default=1000)

    objects = ClinicScopedManager()

    def __str__(self):
        return f"Prescription numbers of clinic {self.clinic_id}: last {self.last_number}"


class Prescription(ClinicOwnedModel):
    """One per visit (a draft or a finalized one at a time). Finalized once, then
    immutable and valid for 30 days; a correction is a new prescription that supersedes
    it, and both are kept."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        FINALIZED = "finalized", "Finalized"
        SUPERSEDED = "superseded", "Superseded"

    reference = models.CharField(max_length=30, editable=False, help_text="e.g. ABC01-RX1234")
    visit = models.ForeignKey(Visit, on_delete=models.PROTECT, related_name="prescriptions")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="prescriptions")
    doctor = models.ForeignKey(DoctorProfile, on_delete=models.PROTECT, related_name="prescriptions")
    status = models.CharField(max_length=12, choices=Status, default=Status.DRAFT)
    supersedes = models.OneToOneField(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="superseded_by",
        help_text="The prescription this one corrects.",
    )
    notes = BoundedTextField(max_length=2000, blank=True, help_text="Advice printed under the items.")
    allergy_list_unknown = models.BooleanField(
        default=False, editable=False, help_text="Finalized while the patient's allergy list was unknown (confirmed by the doctor)."
    )
    # A random token in the QR code: the verification page shows only whether it is genuine and current.
    verification_token = models.CharField(max_length=40, unique=True, editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    finalized_at = models.DateTimeField(null=True, blank=True)
    valid_until = models.DateField(null=True, blank=True)

    history = audited_history()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["clinic", "reference"], name="prescription_reference_unique"),
            # At most one draft and one finalized prescription per visit: the database decides.
            models.UniqueConstraint(fields=["visit", "status"], condition=Q(status="draft"), name="prescription_one_draft_per_visit"),
            models.UniqueConstraint(fields=["visit", "status"], condition=Q(status="finalized"), name="prescription_one_final_per_visit"),
        ]
        indexes = [
            models.Index(fields=["clinic", "patient", "-created_at"], name="prescription_patient_time"),
            models.Index(fields=["clinic", "status", "valid_until"], name="prescription_status_valid"),
        ]

    def __str__(self):
        return self.reference


class PrescriptionItem(ClinicOwnedModel):
    prescription = models.ForeignKey(Prescription, on_delete=models.CASCADE, related_name="items")
    position = models.PositiveSmallIntegerField(default=1)
    formulary_item = models.ForeignKey(FormularyItem, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    medicine = models.CharField(max_length=120, help_text="Generic name, e.g. AMOXICILLIN")
    dosage = models.CharField(max_length=80, help_text="Strength and dose, e.g. 500 mg, 1 tablet")
    frequency = models.CharField(max_length=80, help_text="e.g. three times a day, 1-0-1")
    duration = models.CharField(max_length=60, help_text="e.g. 5 days")
    quantity = models.PositiveIntegerField(help_text="How much to dispense, e.g. 15 (tablets)")
    route = models.CharField(max_length=20, choices=Route, default=Route.ORAL)
    instructions = models.CharField(max_length=250, blank=True, help_text="e.g. after food")

    history = audited_history()

    class Meta:
        ordering = ["position", "id"]
        constraints = [models.CheckConstraint(condition=Q(quantity__gte=1), name="prescription_item_quantity_positive")]

    def __str__(self):
        return f"{self.medicine} {self.dosage}"


class AllergyWarning(ClinicOwnedModel):
    """An item's match against one of the patient's active allergies (the offline check).
    Finalizing waits until each is acknowledged with a reason, kept with the prescription."""

    class Match(models.TextChoices):
        EXACT = "exact", "Same substance"
        CLASS = "class", "Same drug class"

    item = models.ForeignKey(PrescriptionItem, on_delete=models.CASCADE, related_name="warnings")
    allergy = models.ForeignKey(Allergy, on_delete=models.PROTECT, related_name="+")
    allergy_substance = models.CharField(max_length=120)
    match = models.CharField(max_length=10, choices=Match)
    drug_class = models.CharField(max_length=80, blank=True)
    message = models.CharField(max_length=300)
    override_reason = BoundedTextField(max_length=2000, blank=True)
    acknowledged_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    acknowledged_at = models.DateTimeField(null=True, blank=True)

    history = audited_history()

    class Meta:
        ordering = ["item__position", "id"]

    def __str__(self):
        return self.message


class Dispensation(ClinicOwnedModel):
    """The pharmacist hands over (part of) an item: how much, who, when."""

    item = models.ForeignKey(PrescriptionItem, on_delete=models.PROTECT, related_name="dispensations")
    quantity = models.PositiveIntegerField()
    dispensed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    dispensed_at = models.DateTimeField()
    notes = models.CharField(max_length=250, blank=True)

    history = audited_history()

    class Meta:
        ordering = ["dispensed_at", "id"]
        constraints = [models.CheckConstraint(condition=Q(quantity__gte=1), name="dispensation_quantity_positive")]

    def __str__(self):
        return f"{self.quantity} × {self.item}"


# --- Lab orders and results (Orders) ---------------------------------------------------------


class LabTest(ClinicOwnedModel):
    """An entry of the clinic's lab catalog; its reference ranges depend on sex and age."""

    class ResultType(models.TextChoices):
        NUMERIC = "numeric", "Number"
        TEXT = "text", "Text"

    code = models.CharField(max_length=20, help_text="Short code, e.g. TSH")
    name = models.CharField(max_length=120)
    specimen = models.CharField(max_length=60, help_text="e.g. Serum, Whole blood (EDTA), Semen")
    unit = models.CharField(max_length=30, blank=True, help_text="e.g. mIU/L")
    result_type = models.CharField(max_length=10, choices=ResultType, default=ResultType.NUMERIC)
    normal_text = models.CharField(
        max_length=60, blank=True, help_text="For text results: the normal answer (e.g. Negative); anything else is flagged abnormal."
    )
    is_active = models.BooleanField(default=True)

    history = audited_history()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                models.functions.Upper("code"),
                "clinic",
                name="lab_test_code_unique",
                violation_error_message="The catalog already has a test with this code.",
            )
        ]

    def __str__(self):
        return f"{self.name} ({self.code})"


class ReferenceRange(ClinicOwnedModel):
    """Normal and critical bounds for one sex and age band (OpenMRS/Marley model). The most
    specific range that fits the patient applies: their sex before "any"."""

    class Sex(models.TextChoices):
        ANY = "any", "Any"
        MALE = "male", "Male"
        FEMALE = "female", "Female"

    lab_test = models.ForeignKey(LabTest, on_delete=models.CASCADE, related_name="ranges")
    sex = models.CharField(max_length=8, choices=Sex, default=Sex.ANY)
    age_min_years = models.PositiveSmallIntegerField(default=0)
    age_max_years = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Up to (not including); empty: no upper age.")
    low = models.DecimalField(max_digits=12, decimal_places=3, null=True, blank=True)
    high = models.DecimalField(max_digits=12, decimal_places=3, null=True, blank=True)
    critical_low = models.DecimalField(max_digits=12, decimal_places=3, null=True, blank=True)
    critical_high = models.DecimalField(max_digits=12, decimal_places=3, null=True, blank=True)
    label = models.CharField(max_length=60, blank=True, help_text="e.g. Follicular phase")

    history = audited_history()

    class Meta:
        ordering = ["lab_test", "sex", "age_min_years"]
        constraints = [
            models.CheckConstraint(
                condition=Q(low__isnull=True) | Q(high__isnull=True) | Q(low__lte=models.F("high")), name="range_low_le_high"
            ),
            models.CheckConstraint(
                condition=Q(age_max_years__isnull=True) | Q(age_max_years__gt=models.F("age_min_years")), name="range_age_band"
            ),
        ]

    def __str__(self):
        return f"{self.lab_test_id} {self.sex} {self.age_min_years}–{self.age_max_years or ''}"


class LabOrderSequence(models.Model):
    clinic = models.OneToOneField("clinicos.Clinic", on_delete=models.CASCADE, related_name="+")
    last_number = models.PositiveIntegerField(default=1000)

    objects = ClinicScopedManager()

    def __str__(self):
        return f"Lab order numbers of clinic {self.clinic_id}: last {self.last_number}"


class LabOrder(ClinicOwnedModel):
    """Tests ordered for a patient (usually in a visit). Ordered → Sample collected → In
    progress → Completed, one step at a time and never back; Cancelled (with a reason)
    before completion. Each step records who and when."""

    class Status(models.TextChoices):
        ORDERED = "ordered", "Ordered"
        SAMPLE_COLLECTED = "sample_collected", "Sample collected"
        IN_PROGRESS = "in_progress", "In progress"
        COMPLETED = "completed", "Completed"
        CANCELLED = "cancelled", "Cancelled"

    class Urgency(models.TextChoices):
        ROUTINE = "routine", "Routine"
        URGENT = "urgent", "Urgent"

    reference = models.CharField(max_length=30, editable=False, help_text="e.g. ABC01-L1234")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="lab_orders")
    visit = models.ForeignKey(Visit, on_delete=models.PROTECT, null=True, blank=True, related_name="lab_orders")
    ordering_doctor = models.ForeignKey(DoctorProfile, on_delete=models.PROTECT, related_name="lab_orders")
    urgency = models.CharField(max_length=10, choices=Urgency, default=Urgency.ROUTINE)
    clinical_notes = models.CharField(max_length=500, blank=True, help_text="What the lab should know, e.g. day 3 of cycle.")
    status = models.CharField(max_length=20, choices=Status, default=Status.ORDERED)
    ordered_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    ordered_at = models.DateTimeField()
    sample_collected_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    sample_collected_at = models.DateTimeField(null=True, blank=True)
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    started_at = models.DateTimeField(null=True, blank=True)
    completed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    completed_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.CharField(max_length=250, blank=True)
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    reviewed_at = models.DateTimeField(null=True, blank=True)
    # The lab's report (multi-clinic-platform: file metadata, soft delete), checked like documents.
    report_file = models.FileField(upload_to="lab-reports/%Y/%m/", max_length=255, blank=True)
    report_file_name = models.CharField(max_length=200, blank=True)
    report_content_type = models.CharField(max_length=60, blank=True)
    report_size = models.PositiveIntegerField(null=True, blank=True)
    report_uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    report_uploaded_at = models.DateTimeField(null=True, blank=True)
    report_removed_at = models.DateTimeField(null=True, blank=True)

    history = audited_history()

    class Meta:
        ordering = ["-ordered_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["clinic", "reference"], name="lab_order_reference_unique")]
        indexes = [
            models.Index(fields=["clinic", "status", "-ordered_at"], name="lab_order_status_time"),
            models.Index(fields=["clinic", "patient", "-ordered_at"], name="lab_order_patient_time"),
            models.Index(fields=["clinic", "ordering_doctor", "status"], name="lab_order_doctor_status"),
        ]

    def __str__(self):
        return self.reference


class LabOrderTest(ClinicOwnedModel):
    """One test of an order (the API's ``test_id``)."""

    order = models.ForeignKey(LabOrder, on_delete=models.CASCADE, related_name="tests")
    lab_test = models.ForeignKey(LabTest, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["order", "lab_test"], name="lab_order_test_once")]

    def __str__(self):
        return f"{self.lab_test_id} in {self.order_id}"


class LabResult(ClinicOwnedModel):
    """A result of one ordered test. The reference range that applied is copied onto it;
    the flag is computed on the server (and may be overridden with a reason). A correction
    is a new version: the old one stays, no longer current."""

    class Flag(models.TextChoices):
        NORMAL = "normal", "Normal"
        LOW = "low", "Low"
        HIGH = "high", "High"
        CRITICAL_LOW = "critical_low", "Critical low"
        CRITICAL_HIGH = "critical_high", "Critical high"
        ABNORMAL = "abnormal", "Abnormal"

    class Status(models.TextChoices):
        PRELIMINARY = "preliminary", "Preliminary"
        FINAL = "final", "Final"
        AMENDED = "amended", "Amended"

    order_test = models.ForeignKey(LabOrderTest, on_delete=models.PROTECT, related_name="results")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="lab_results")
    lab_test = models.ForeignKey(LabTest, on_delete=models.PROTECT, related_name="+")
    version = models.PositiveSmallIntegerField(default=1)
    is_current = models.BooleanField(default=True)
    previous = models.OneToOneField("self", on_delete=models.PROTECT, null=True, blank=True, related_name="next_version")
    value_numeric = models.DecimalField(max_digits=14, decimal_places=4, null=True, blank=True)
    value_text = models.CharField(max_length=250, blank=True)
    unit = models.CharField(max_length=30, blank=True)
    status = models.CharField(max_length=12, choices=Status, default=Status.PRELIMINARY)
    # The range that applied when the result was entered (a later catalog change leaves it alone).
    range_low = models.DecimalField(max_digits=12, decimal_places=3, null=True, blank=True)
    range_high = models.DecimalField(max_digits=12, decimal_places=3, null=True, blank=True)
    range_critical_low = models.DecimalField(max_digits=12, decimal_places=3, null=True, blank=True)
    range_critical_high = models.DecimalField(max_digits=12, decimal_places=3, null=True, blank=True)
    range_text = models.CharField(max_length=120, blank=True)
    computed_flag = models.CharField(max_length=16, choices=Flag, blank=True)
    flag = models.CharField(max_length=16, choices=Flag, blank=True)
    flag_override_reason = models.CharField(max_length=250, blank=True)
    entered_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    entered_at = models.DateTimeField()
    acknowledged_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledgement_comment = BoundedTextField(max_length=2000, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)

    history = audited_history()

    class Meta:
        ordering = ["order_test_id", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["order_test"], condition=Q(is_current=True), name="lab_result_one_current"),
            models.UniqueConstraint(fields=["order_test", "version"], name="lab_result_version_unique"),
        ]
        indexes = [
            models.Index(fields=["clinic", "patient", "lab_test", "-entered_at"], name="lab_result_trend"),
            models.Index(
                fields=["clinic", "-entered_at"],
                condition=Q(is_current=True, flag__in=["critical_low", "critical_high"], acknowledged_at__isnull=True),
                name="lab_result_unacknowledged",
            ),
        ]

    def __str__(self):
        # What the audit trail shows people: the test's name when it is at hand (never a bare id).
        test = self._state.fields_cache.get("lab_test")
        value = self.value_text or (f"{self.value_numeric.normalize():f}" if self.value_numeric is not None else "")
        return f"{test.name if test else 'Lab result'}: {value} {self.unit}".rstrip() + f" (v{self.version})"

    @property
    def is_critical(self) -> bool:
        return self.flag in (self.Flag.CRITICAL_LOW, self.Flag.CRITICAL_HIGH)

    @property
    def value_display(self) -> str:
        if self.value_numeric is not None:
            return f"{self.value_numeric.normalize():f}"
        return self.value_text
