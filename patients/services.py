"""Every write of patient data: registration (with its UHID), edits, archiving,
documents, insurers. Views and the API call these; neither saves models directly."""

import datetime
import os

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from guardian.shortcuts import assign_perm

from clinicos import services as clinicos_services
from clinicos.audit import audit_bulk_created
from clinicos.counters import counter_next, counter_next_block
from clinicos.errors import Conflict
from clinicos.models import Clinic, DoctorProfile, Notification, User
from clinicos.text import check_no_nul
from clinicos.uploads import DOCUMENT_TYPES, UploadCheck, check_upload, safe_file_name
from patients import identity
from patients.hooks import PATIENT_REGISTRATION_STEPS
from patients.models import BreakGlassAccess, Document, InsuranceProvider, Patient, PatientNameKey, Person, UhidSequence

PATIENT_FIELDS = (
    "first_name",
    "last_name",
    "relation",
    "relative_name",
    "marital_status",
    "gender",
    "date_of_birth",
    "date_of_birth_is_estimated",
    "blood_group",
    "mobile",
    "email",
    "house",
    "street",
    "area",
    "city",
    "district",
    "state",
    "postal_code",
    "country",
    "emergency_contact_name",
    "emergency_contact_phone",
    "emergency_contact_relation",
    "assigned_doctor",
    "referring_doctor",
    "hospital_address",
    "insurance_provider",
    "insurance_policy_number",
    "external_reference",
    "abha_number",
    "abha_address",
    "nhs_number",
    "registration_date",
)


# Set by the service, never typed into a form.
DERIVED_PATIENT_FIELDS = ("date_of_birth_is_estimated", "registration_date")


class DuplicatePatient(Conflict):
    """A patient with the same phone, or the same name and birth date, already exists."""

    def __init__(self, matches: list[Patient]):
        self.matches = matches
        super().__init__("A patient with the same phone number or the same name and birth date is already registered.")

    def problem_fields(self) -> dict:
        return {"duplicates": [{"id": p.pk, "uhid": p.uhid, "full_name": p.full_name} for p in self.matches]}


# --- UHID -----------------------------------------------------------------------------


def uhid_next(*, clinic: Clinic, year: int) -> str:
    """The next UHID of a clinic's year, e.g. JAN-2026-007. Call inside the registering
    transaction: the sequence row stays locked until it commits, so numbers are gap-free
    and never repeat, even for concurrent registrations."""
    return f"{clinic.uhid_prefix}-{year}-{counter_next(UhidSequence, clinic=clinic, year=year):03d}"


# --- Patients -------------------------------------------------------------------------


def find_duplicates(*, clinic: Clinic, mobile: str, first_name: str, last_name: str, date_of_birth, exclude_pk=None) -> list[Patient]:
    same_name = identity.search_key(f"{first_name} {last_name}")
    query = Q(mobile=mobile)
    if date_of_birth:
        query |= Q(search_name=same_name, date_of_birth=date_of_birth)
    matches = Patient.objects.for_clinic(clinic).filter(query)
    if exclude_pk:
        matches = matches.exclude(pk=exclude_pk)
    return list(matches.order_by("uhid")[:5])


def _apply_derived_fields(patient: Patient) -> None:
    patient.search_name = identity.search_key(f"{patient.first_name} {patient.last_name}")
    patient.search_name_last_first = identity.search_key(f"{patient.last_name} {patient.first_name}")
    patient.mobile_digits_reversed = identity.digits_reversed(patient.mobile)


def _remember_name(patient: Patient) -> None:
    """Add the patient's name to the clinic's distinct names, which the fuzzy search ranks."""
    PatientNameKey.objects.bulk_create(
        [PatientNameKey(clinic_id=patient.clinic_id, search_name=patient.search_name)], ignore_conflicts=True
    )


def _set_national_id(patient: Patient, national_id: str | None) -> None:
    if national_id is None:
        return
    value = identity.normalize_national_id(national_id)
    if not value:
        patient.national_id_encrypted = patient.national_id_hash = patient.national_id_last4 = ""
        return
    patient.national_id_encrypted = identity.encrypt_national_id(value)
    patient.national_id_hash = identity.national_id_hash(value)
    patient.national_id_last4 = value[-4:]


def _person_for(mobile: str) -> Person:
    person, _ = Person.objects.get_or_create(phone=mobile)
    return person


@transaction.atomic
def patient_register(*, clinic: Clinic, user: User, data: dict, national_id: str | None = None, allow_duplicate: bool = False) -> Patient:
    """Register a patient from validated data (``PatientForm.cleaned_data``), giving them
    the clinic's next UHID. Refuses a likely duplicate unless ``allow_duplicate``."""
    if not allow_duplicate:
        matches = find_duplicates(
            clinic=clinic,
            mobile=data["mobile"],
            first_name=data["first_name"],
            last_name=data.get("last_name", ""),
            date_of_birth=data.get("date_of_birth"),
        )
        if matches:
            raise DuplicatePatient(matches)
    patient = Patient(clinic=clinic, created_by=user, **{key: value for key, value in data.items() if key in PATIENT_FIELDS})
    if not data.get("registration_date"):
        patient.registration_date = clinic.today()
    if not patient.country:
        patient.country = clinic.country
    _apply_derived_fields(patient)
    _set_national_id(patient, national_id)
    patient.person = _person_for(patient.mobile)
    patient.uhid = uhid_next(clinic=clinic, year=patient.registration_date.year)
    patient.full_clean(exclude=["assigned_doctor", "insurance_provider"])
    patient.save()
    _remember_name(patient)
    if patient.assigned_doctor_id:
        care_team_add(patient=patient, doctor=patient.assigned_doctor)
    PATIENT_REGISTRATION_STEPS.run(patient=patient)
    return patient


@transaction.atomic
def patients_register_many(*, clinic: Clinic, user: User, rows: list[tuple[dict, str | None]]) -> list[Patient]:
    """Register many validated patients at once (an import): the same derived fields, UHIDs in
    order, persons, name keys, history, audit lines and registration steps as
    ``patient_register``, in a few queries for the whole batch. A row that breaks a unique rule
    raises ``IntegrityError`` for the batch (the caller then goes row by row)."""
    today = clinic.today()
    patients = []
    for data, national_id in rows:
        patient = Patient(clinic=clinic, created_by=user, **{key: value for key, value in data.items() if key in PATIENT_FIELDS})
        patient.registration_date = patient.registration_date if data.get("registration_date") else today
        patient.country = patient.country or clinic.country
        _apply_derived_fields(patient)
        _set_national_id(patient, national_id)
        # The keys this service sets itself are not looked up again, row by row.
        patient.full_clean(
            exclude=["clinic", "created_by", "assigned_doctor", "insurance_provider", "person", "uhid"],
            validate_unique=False,
            validate_constraints=False,
        )
        patients.append(patient)
    phones = {patient.mobile for patient in patients}
    Person.objects.bulk_create([Person(phone=phone) for phone in phones], ignore_conflicts=True)
    persons = dict(Person.objects.filter(phone__in=phones).values_list("phone", "pk"))
    for year in sorted({patient.registration_date.year for patient in patients}):
        of_year = [patient for patient in patients if patient.registration_date.year == year]
        first = counter_next_block(UhidSequence, len(of_year), clinic=clinic, year=year)
        for number, patient in enumerate(of_year, start=first):
            patient.uhid = f"{clinic.uhid_prefix}-{year}-{number:03d}"
    for patient in patients:
        patient.person_id = persons[patient.mobile]
    Patient.objects.bulk_create(patients)
    PatientNameKey.objects.bulk_create(
        [PatientNameKey(clinic_id=clinic.pk, search_name=name) for name in {p.search_name for p in patients}], ignore_conflicts=True
    )
    history = Patient.history.bulk_history_create(patients, default_user=user, default_change_reason="Imported")
    audit_bulk_created(patients, history, user)
    for patient in patients:
        if patient.assigned_doctor_id:
            care_team_add(patient=patient, doctor=patient.assigned_doctor)
        PATIENT_REGISTRATION_STEPS.run(patient=patient)
    return patients


@transaction.atomic
def patient_update(*, patient: Patient, changes: dict, national_id: str | None = None, status: str | None = None) -> Patient:
    """Change a patient's details (and, with ``status``, archive or restore them) in one
    transaction; history records who changed what."""
    patient = Patient.objects.select_for_update().get(pk=patient.pk)
    for field, value in changes.items():
        if field not in PATIENT_FIELDS:
            raise ValueError(f"{field} cannot be changed here")
        setattr(patient, field, value)
    if "date_of_birth" in changes and "date_of_birth_is_estimated" not in changes:
        patient.date_of_birth_is_estimated = False  # a date typed in is a known date
    _apply_derived_fields(patient)
    _set_national_id(patient, national_id)
    if "mobile" in changes:
        patient.person = _person_for(patient.mobile)
    if status is not None:
        if status not in Patient.Status.values:
            raise ValidationError({"status": f"Use one of: {', '.join(Patient.Status.values)}."})
        patient.status = Patient.Status(status)
    patient.full_clean(exclude=["assigned_doctor", "insurance_provider"])
    patient.save()
    if "first_name" in changes or "last_name" in changes:
        _remember_name(patient)
    if "assigned_doctor" in changes and patient.assigned_doctor_id:
        care_team_add(patient=patient, doctor=patient.assigned_doctor)
    return patient


@transaction.atomic
def patient_set_status(*, patient: Patient, status: str) -> Patient:
    """Archive (instead of deleting) or bring back a patient."""
    patient = Patient.objects.select_for_update().get(pk=patient.pk)
    if patient.status != status:
        patient.status = Patient.Status(status)
        patient.save()
    return patient


# --- Documents ------------------------------------------------------------------------


def document_check(upload: UploadedFile) -> UploadCheck:
    return check_upload(upload, allowed=DOCUMENT_TYPES, max_bytes=settings.DOCUMENT_MAX_UPLOAD_BYTES)


@transaction.atomic
def document_upload(*, patient: Patient, user: User, upload: UploadedFile, name: str, document_type: str) -> Document:
    if document_type not in Document.Type.values:
        raise ValidationError({"document_type": f"Choose one of: {', '.join(Document.Type.values)}."})
    check_no_nul(name=name)
    checked = document_check(upload)
    original_name = safe_file_name(upload.name or "document", checked.content_type)
    document = Document(
        clinic_id=patient.clinic_id,
        patient=patient,
        name=(name or "").strip()[:200] or os.path.splitext(original_name)[0],
        document_type=document_type,
        original_name=original_name,
        content_type=checked.content_type,
        size=checked.size,
        checksum_sha256=checked.checksum,
        uploaded_by=user,
    )
    document.file.save(original_name, checked.file, save=False)
    try:
        document.save()
    except Exception:
        document.file.delete(save=False)
        raise
    return document


@transaction.atomic
def document_soft_delete(*, document: Document, user: User) -> Document:
    """Hide a document from the chart; the file and its record stay for the audit."""
    document = Document.objects.select_for_update().get(pk=document.pk)
    if not document.is_deleted:
        document.is_deleted = True
        document.deleted_by = user
        document.deleted_at = timezone.now()
        document.save()
    return document


@transaction.atomic
def document_set_shared(*, document: Document, shared: bool) -> Document:
    """Share a document with the patient (they download it in the portal), or stop sharing it."""
    document = Document.objects.select_for_update().get(pk=document.pk)
    if document.shared_with_patient != shared and not document.is_deleted:
        document.shared_with_patient = shared
        document.save(update_fields=["shared_with_patient"])
    return document


# --- Insurance providers ----------------------------------------------------------------

INSURER_FIELDS = ("name", "contact_person", "phone", "email", "address", "coverage_policy", "is_active")


INSURER_NAME_TAKEN = "This clinic already has an insurer with this name."


@transaction.atomic
def insurance_provider_save(*, clinic: Clinic, data: dict, provider: InsuranceProvider | None = None) -> InsuranceProvider:
    """Add or change an insurer. Names are unique per clinic whatever their case
    (checked here for a clear message; the database constraint settles races)."""
    provider = provider or InsuranceProvider(clinic=clinic)
    for field in INSURER_FIELDS:
        if field in data:
            setattr(provider, field, data[field])
    provider.name = " ".join((provider.name or "").split())
    clash = InsuranceProvider.objects.for_clinic(clinic).filter(name__iexact=provider.name)
    if provider.pk:
        clash = clash.exclude(pk=provider.pk)
    if clash.exists():
        raise ValidationError({"name": INSURER_NAME_TAKEN})
    provider.full_clean(validate_constraints=False)
    try:
        with transaction.atomic():
            provider.save()
    except IntegrityError:
        raise ValidationError({"name": INSURER_NAME_TAKEN})
    return provider


# --- The care team and breaking the glass ---------------------------------------------------

CARE_TEAM_PERMISSION = "patients.care_for_patient"
BREAK_GLASS_DURATION = datetime.timedelta(hours=4)


def care_team_add(*, patient: Patient, doctor: DoctorProfile | None = None, user: User | None = None) -> None:
    """Put a doctor in the patient's care team (assigned, booked or seen by them): a
    django-guardian object permission, read when the clinic restricts doctors to their
    own patients. Granting twice changes nothing; grants are never taken back (a doctor
    who saw a patient stays in the care team)."""
    member = user or (doctor.user if doctor is not None else None)
    if member is not None:
        assign_perm(CARE_TEAM_PERMISSION, member, patient)


@transaction.atomic
def break_the_glass(*, clinic: Clinic, user: User, uhid: str, reason: str) -> BreakGlassAccess:
    """Emergency access to a chart outside the user's care team: for four hours, with a
    reason, the clinic's admins notified, and a line in the audit trail (the history of
    ``BreakGlassAccess``)."""
    reason = (reason or "").strip()
    uhid = (uhid or "").strip().upper()
    check_no_nul(reason=reason, uhid=uhid)
    errors = {}
    if len(reason) < 10:
        errors["reason"] = "Say why you need this chart (at least 10 characters): the administrators will read it."
    patient = Patient.objects.for_clinic(clinic).filter(uhid=uhid).first() if uhid else None
    if patient is None:
        errors["uhid"] = "No patient of this clinic has this UHID."
    if errors:
        raise ValidationError(errors)
    assert patient is not None
    now = timezone.now()
    access = BreakGlassAccess.objects.create(
        clinic=clinic, patient=patient, user=user, reason=reason, granted_at=now, expires_at=now + BREAK_GLASS_DURATION
    )
    clinicos_services.notify_admins(
        clinic=clinic,
        kind=Notification.Kind.BREAK_THE_GLASS,
        title=f"{user.full_name or user.email} used emergency access to {patient.full_name} ({patient.uhid}): {reason}",
        url=reverse("audit_log", args=[clinic.code]) + "?entity_type=patients.breakglassaccess",
    )
    return access


# How the patient wants to hear from the clinic (the chart's Messages tab, the portal).
MESSAGE_PREFERENCE_FIELDS = ("preferred_language", "reminders_by_sms", "reminders_by_email", "reminders_by_whatsapp")


@transaction.atomic
def message_preferences_set(*, patient: Patient, changes: dict, reason: str) -> Patient:
    unknown = set(changes) - set(MESSAGE_PREFERENCE_FIELDS)
    if unknown:
        raise ValidationError({name: "Not a message preference." for name in sorted(unknown)})
    patient = Patient.objects.select_for_update().get(pk=patient.pk)
    changed = [name for name, value in changes.items() if getattr(patient, name) != value]
    for name in changed:
        setattr(patient, name, changes[name])
    patient.full_clean(exclude=[f.name for f in Patient._meta.fields if f.name not in changed])
    if changed:
        patient._change_reason = reason  # type: ignore[attr-defined]  # django-simple-history reads it
        patient.save(update_fields=[*changed, "updated_at"])
    return patient


@transaction.atomic
def email_opt_out(*, patient: Patient) -> Patient:
    """The opt-out link in an email: no more emails to this chart (history says how)."""
    patient = Patient.objects.select_for_update().get(pk=patient.pk)
    if patient.reminders_by_email:
        patient.reminders_by_email = False
        patient._change_reason = "Opted out of emails by the link in an email"  # type: ignore[attr-defined]
        patient.save(update_fields=["reminders_by_email", "updated_at"])
    return patient
