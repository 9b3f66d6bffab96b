import zoneinfo

from django import forms
from django.db.models import Q

from clinicos.dates import DATE_ORDER_MESSAGE, DayField
from clinicos.models import Clinic, Department, DoctorProfile, Resource, User
from clinicos.roles import Role
from clinicos.services import (
    CLINIC_EDITABLE_FIELDS,
    CLINIC_RULE_FIELDS,
    DEPARTMENT_FIELDS,
    DOCTOR_PROFILE_FIELDS,
    DOCTOR_SELF_EDITABLE_FIELDS,
    RESOURCE_FIELDS,
)
from clinicos.tax import tax_id_label

IMAGE_ACCEPT = "image/png,image/jpeg,image/webp"


def check_date_order(form: forms.Form, start_field: str, end_field: str) -> None:
    """Flag a reversed date range on the end field (filters, dashboards)."""
    start, end = form.cleaned_data.get(start_field), form.cleaned_data.get(end_field)
    if start and end and start > end:
        form.add_error(end_field, DATE_ORDER_MESSAGE)


class ClinicSettingsForm(forms.ModelForm):
    timezone = forms.ChoiceField(choices=[(tz, tz) for tz in sorted(zoneinfo.available_timezones())])
    logo = forms.FileField(
        required=False,
        help_text="PNG, JPEG or WebP, up to 2 MB. Printed at the top of prescriptions and receipts.",
        widget=forms.ClearableFileInput(attrs={"accept": IMAGE_ACCEPT}),
    )
    remove_logo = forms.BooleanField(required=False, label="Remove the logo")

    class Meta:
        model = Clinic
        fields = CLINIC_EDITABLE_FIELDS
        widgets = {
            "address": forms.Textarea(attrs={"rows": 3}),
            "registration_details": forms.Textarea(attrs={"rows": 2}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["tax_id"].label = tax_id_label(self.instance.country)
        self.fields["logo"].widget = forms.FileInput(attrs={"accept": IMAGE_ACCEPT})

    @property
    def rule_fields(self) -> list:
        return [self[name] for name in CLINIC_RULE_FIELDS]

    @property
    def setting_changes(self) -> dict:
        return {field: self.cleaned_data[field] for field in self.changed_data if field in CLINIC_EDITABLE_FIELDS}


ROLE_HELP = {
    Role.ADMIN: "Settings, staff, reports and the audit trail.",
    Role.DOCTOR: "Consultations, notes and prescriptions; their own schedule.",
    Role.NURSE: "Vitals, check-in, clinical records.",
    Role.FRONT_DESK: "Registration, booking, check-in, basic billing, leads.",
    Role.CRO: "The lead pipeline and lead bookings.",
    Role.BILLING: "Invoices, payments and financial reports.",
    Role.LAB: "Lab orders and results.",
    Role.PHARMACIST: "Prescriptions to dispense.",
}


class RolesField(forms.MultipleChoiceField):
    widget = forms.CheckboxSelectMultiple

    def __init__(self, **kwargs):
        super().__init__(choices=Role.choices, error_messages={"required": "Choose at least one role."}, **kwargs)


class RolesMixin:
    @property
    def roles_with_help(self) -> list:
        """Each role's checkbox with a line on what the role does."""
        return [(choice, ROLE_HELP[Role(choice.data["value"])]) for choice in self["roles"]]  # type: ignore[index]


class StaffInviteForm(RolesMixin, forms.Form):
    email = forms.EmailField(max_length=254, help_text="They log in with this address.")
    full_name = forms.CharField(max_length=150, required=False, help_text="Not needed if they already have a ClinicOS account.")
    roles = RolesField()


class StaffEditForm(RolesMixin, forms.Form):
    roles = RolesField()
    is_active = forms.BooleanField(
        required=False,
        label="Active member of the staff",
        help_text="Switching this off signs the person out at once, ends their API tokens and takes them out of bookings and lead round-robin.",
    )


class DoctorProfileForm(forms.ModelForm):
    signature = forms.FileField(
        required=False,
        help_text="A scan of the signature (PNG, JPEG or WebP, up to 2 MB), printed on prescriptions.",
        widget=forms.FileInput(attrs={"accept": IMAGE_ACCEPT}),
    )
    remove_signature = forms.BooleanField(required=False, label="Remove the signature")

    class Meta:
        model = DoctorProfile
        fields = DOCTOR_PROFILE_FIELDS
        widgets = {"color": forms.TextInput(attrs={"type": "color"})}
        labels = {"is_public": "Listed publicly", "color": "Calendar colour"}
        help_texts = {"color": "How this doctor's appointments look in the calendar."}

    def __init__(self, *args, clinic: Clinic, full_access: bool, **kwargs):
        super().__init__(*args, **kwargs)
        current = self.instance.department_id if self.instance.pk else None
        department_field = self.fields["department"]
        assert isinstance(department_field, forms.ModelChoiceField)
        department_field.queryset = Department.objects.for_clinic(clinic).filter(Q(is_active=True) | Q(pk=current))
        department_field.empty_label = "No department"
        if not full_access:
            for name in set(DOCTOR_PROFILE_FIELDS) - set(DOCTOR_SELF_EDITABLE_FIELDS):
                del self.fields[name]

    @property
    def profile_changes(self) -> dict:
        return {field: self.cleaned_data[field] for field in self.fields if field in DOCTOR_PROFILE_FIELDS}


class DepartmentForm(forms.ModelForm):
    class Meta:
        model = Department
        fields = DEPARTMENT_FIELDS
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}
        labels = {"is_active": "Active"}
        help_texts = {"is_active": "An inactive department leaves the pickers; its doctors and rooms keep it."}

    def validate_unique(self):
        pass  # the service checks names (case-insensitively) and says so on the field


class ResourceForm(forms.ModelForm):
    class Meta:
        model = Resource
        fields = RESOURCE_FIELDS
        labels = {"is_active": "Active"}

    def __init__(self, *args, clinic: Clinic, **kwargs):
        super().__init__(*args, **kwargs)
        current = self.instance.department_id if self.instance.pk else None
        department_field = self.fields["department"]
        assert isinstance(department_field, forms.ModelChoiceField)
        department_field.queryset = Department.objects.for_clinic(clinic).filter(Q(is_active=True) | Q(pk=current))
        department_field.empty_label = "No department"

    def validate_unique(self):
        pass  # the service checks names (case-insensitively) and says so on the field


class AuditFilterForm(forms.Form):
    patient = forms.CharField(
        required=False,
        max_length=30,
        label="Patient (UHID)",
        help_text="One patient's trail: every change to their records and every read.",
    )
    user = forms.ModelChoiceField(queryset=User.objects.none(), required=False, empty_label="Anyone")
    entity_type = forms.ChoiceField(required=False, label="Record type")
    date_from = DayField(required=False, label="From")
    date_to = DayField(required=False, label="To")

    def __init__(self, *args, clinic, entity_types, **kwargs):
        super().__init__(*args, **kwargs)
        self.clinic = clinic
        self.fields["user"].queryset = User.objects.filter(memberships__clinic=clinic).order_by("full_name")
        self.fields["entity_type"].choices = [("", "Any")] + list(entity_types)

    def clean_patient(self):
        """The UHID typed → the patient's id in this clinic (None when blank)."""
        from django.apps import apps

        uhid = self.cleaned_data["patient"].strip()
        if not uhid:
            return None
        patient_id = (
            apps.get_model("patients", "Patient")
            .objects.for_clinic(self.clinic)
            .filter(uhid__iexact=uhid)
            .values_list("pk", flat=True)
            .first()
        )
        if patient_id is None:
            raise forms.ValidationError(f"No patient of this clinic has the UHID {uhid}.")
        return patient_id

    def clean(self):
        cleaned = super().clean()
        check_date_order(self, "date_from", "date_to")
        return cleaned
