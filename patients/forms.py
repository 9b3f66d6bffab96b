"""Validation of patient input, shared by the pages and the API (the API feeds its JSON
through these forms, so a rule is written once)."""

import datetime

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from clinicos.choices import MAX_AGE_YEARS
from clinicos.dates import DayField
from clinicos.forms import check_date_order
from clinicos.models import Clinic, DoctorProfile
from patients import identity, services
from patients.models import Document, InsuranceProvider, Patient

QUICK_FIELDS = ("first_name", "last_name", "mobile", "gender", "date_of_birth")
FULL_SECTIONS = (
    (
        "Identity",
        (
            "first_name",
            "last_name",
            "gender",
            "date_of_birth",
            "age_years",
            "relation",
            "relative_name",
            "marital_status",
            "blood_group",
            "national_id",
        ),
    ),
    ("Contact", ("mobile", "email", "house", "street", "area", "city", "district", "state", "postal_code", "country")),
    ("Emergency contact", ("emergency_contact_name", "emergency_contact_phone", "emergency_contact_relation")),
    ("National health IDs", ("abha_number", "abha_address", "nhs_number")),
    (
        "Care and insurance",
        ("assigned_doctor", "referring_doctor", "hospital_address", "insurance_provider", "insurance_policy_number", "external_reference"),
    ),
)


class PatientForm(forms.ModelForm):
    """All patient fields. ``quick=True`` keeps only the essentials the front desk needs
    to register someone standing at the desk."""

    age_years = forms.IntegerField(
        required=False,
        min_value=0,
        max_value=MAX_AGE_YEARS,
        label="Age (years)",
        help_text="When the birth date is not known.",
    )
    national_id = forms.CharField(required=False, max_length=20, label="National ID (e.g. Aadhaar)")

    class Meta:
        model = Patient
        # What the service lets a person change, less what it derives (estimated birth
        # date, registration date).
        fields = tuple(field for field in services.PATIENT_FIELDS if field not in services.DERIVED_PATIENT_FIELDS)
        widgets = {
            "date_of_birth": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "hospital_address": forms.Textarea(attrs={"rows": 2}),
            "mobile": forms.TextInput(attrs={"type": "tel", "autocomplete": "off"}),
            "emergency_contact_phone": forms.TextInput(attrs={"type": "tel"}),
        }

    def __init__(self, *args, clinic: Clinic, quick: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.clinic = clinic
        self.quick = quick
        if "assigned_doctor" in self.fields:  # an import's form keeps only the columns it maps
            self.fields["assigned_doctor"].queryset = DoctorProfile.objects.for_clinic(clinic).filter(is_active=True).select_related("user")
        if "insurance_provider" in self.fields:
            self.fields["insurance_provider"].queryset = InsuranceProvider.objects.for_clinic(clinic).filter(is_active=True)
        self.fields["mobile"].help_text = f"Local numbers are read as {clinic.country} numbers."
        for name in ("abha_number", "nhs_number"):  # typed with dashes or spaces, stored as digits
            if name in self.fields:
                self.fields[name].max_length, self.fields[name].validators = 30, []
                self.fields[name].widget.attrs.update(maxlength="30", inputmode="numeric")
        if "abha_number" in self.fields:
            self.fields["abha_number"].help_text = "14 digits, e.g. 91-1234-5678-9012."
        if quick:
            for name in list(self.fields):
                if name not in QUICK_FIELDS + ("age_years",):
                    del self.fields[name]
        if self.instance.pk and "age_years" in self.fields:
            del self.fields["age_years"]

    def sections(self):
        # A clinic in India records ABHA, one in the UK the NHS number; elsewhere both are offered.
        hidden = {"IN": {"nhs_number"}, "GB": {"abha_number", "abha_address"}}.get(self.clinic.country, set())
        for title, names in FULL_SECTIONS:
            yield title, [self[name] for name in names if name in self.fields and name not in hidden]

    def _unique_in_clinic(self, field: str, value: str, label: str) -> str:
        if value and Patient.objects.for_clinic(self.clinic).filter(**{field: value}).exclude(pk=self.instance.pk).exists():
            raise ValidationError(f"Another patient of this clinic has this {label}.")
        return value

    def clean_abha_number(self):
        return self._unique_in_clinic(
            "abha_number", identity.normalize_abha_number(self.cleaned_data.get("abha_number", "")), "ABHA number"
        )

    def clean_abha_address(self):
        return self._unique_in_clinic(
            "abha_address", identity.normalize_abha_address(self.cleaned_data.get("abha_address", "")), "ABHA address"
        )

    def clean_nhs_number(self):
        return self._unique_in_clinic("nhs_number", identity.normalize_nhs_number(self.cleaned_data.get("nhs_number", "")), "NHS number")

    def clean_mobile(self):
        return identity.normalize_phone(self.cleaned_data["mobile"], default_region=self.clinic.country)

    def clean_emergency_contact_phone(self):
        value = self.cleaned_data.get("emergency_contact_phone", "")
        return identity.normalize_phone(value, default_region=self.clinic.country) if value else ""

    def clean_date_of_birth(self):
        value = self.cleaned_data.get("date_of_birth")
        today = timezone.localdate(timezone.now(), self.clinic.tzinfo)
        if value and value > today:
            raise ValidationError("The birth date cannot be in the future.")
        if value and value < today.replace(year=today.year - MAX_AGE_YEARS):
            raise ValidationError(f"The birth date is more than {MAX_AGE_YEARS} years ago.")
        return value

    def clean_national_id(self):
        value = identity.normalize_national_id(self.cleaned_data.get("national_id", ""))
        if value and not value.isalnum():
            raise ValidationError("Use only letters and digits.")
        if value and len(value) < 4:
            raise ValidationError("This ID looks too short.")
        return value

    def clean_country(self):
        return (self.cleaned_data.get("country") or "").upper()

    def clean(self):
        cleaned = super().clean()
        age = cleaned.pop("age_years", None)
        if not self.instance.pk and not cleaned.get("date_of_birth") and "date_of_birth" not in self.errors:
            if age is None:
                self.add_error("date_of_birth", "Enter the birth date, or the age when the birth date is not known.")
            else:
                today = timezone.localdate(timezone.now(), self.clinic.tzinfo)
                cleaned["date_of_birth"] = _years_before(today, age)
                cleaned["date_of_birth_is_estimated"] = True
        elif cleaned.get("date_of_birth") and "date_of_birth" in self.changed_data:
            cleaned["date_of_birth_is_estimated"] = False
        return cleaned

    def patient_data(self) -> dict:
        """The cleaned values the services take (national ID apart: it is handled separately)."""
        return {key: value for key, value in self.cleaned_data.items() if key != "national_id"}


def _years_before(day: datetime.date, years: int) -> datetime.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


class PatientFilterForm(forms.Form):
    SORTS = {
        "name": ("search_name", "id"),
        "-registered": ("-registration_date", "-id"),
        "registered": ("registration_date", "id"),
        "uhid": ("uhid",),
    }
    q = forms.CharField(required=False, label="Search", max_length=100)
    status = forms.ChoiceField(required=False, choices=[("active", "Active"), ("archived", "Archived"), ("all", "All")], initial="active")
    doctor = forms.ModelChoiceField(queryset=DoctorProfile.objects.none(), required=False, empty_label="Any doctor")
    registered_from = DayField(required=False, label="Registered from")
    registered_to = DayField(required=False, label="to")
    sort = forms.ChoiceField(
        required=False,
        choices=[("name", "Name"), ("-registered", "Newest first"), ("registered", "Oldest first"), ("uhid", "UHID")],
    )

    def __init__(self, *args, clinic: Clinic, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["doctor"].queryset = DoctorProfile.objects.for_clinic(clinic).select_related("user")

    def clean(self):
        cleaned = super().clean()
        check_date_order(self, "registered_from", "registered_to")
        return cleaned


class DocumentUploadForm(forms.Form):
    file = forms.FileField()
    name = forms.CharField(max_length=200, required=False, help_text="Defaults to the file name.")
    document_type = forms.ChoiceField(choices=Document.Type.choices, label="Type")


class InsuranceProviderForm(forms.ModelForm):
    class Meta:
        model = InsuranceProvider
        fields = ("name", "contact_person", "phone", "email", "address", "coverage_policy", "is_active")
        widgets = {"address": forms.Textarea(attrs={"rows": 2}), "coverage_policy": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, clinic: Clinic, **kwargs):
        super().__init__(*args, **kwargs)
        self.clinic = clinic
