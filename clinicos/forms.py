import zoneinfo

from django import forms

from clinicos.models import Clinic, User
from clinicos.services import CLINIC_EDITABLE_FIELDS


class ClinicSettingsForm(forms.ModelForm):
    timezone = forms.ChoiceField(choices=[(tz, tz) for tz in sorted(zoneinfo.available_timezones())])

    class Meta:
        model = Clinic
        fields = CLINIC_EDITABLE_FIELDS
        widgets = {"address": forms.Textarea(attrs={"rows": 3})}


class AuditFilterForm(forms.Form):
    user = forms.ModelChoiceField(queryset=User.objects.none(), required=False, empty_label="Anyone")
    entity_type = forms.ChoiceField(required=False, label="Record type")
    date_from = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}), label="From")
    date_to = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}), label="To")

    def __init__(self, *args, clinic, entity_types, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = User.objects.filter(memberships__clinic=clinic).order_by("full_name")
        self.fields["entity_type"].choices = [("", "Any")] + list(entity_types)

    def clean(self):
        cleaned = super().clean()
        date_from, date_to = cleaned.get("date_from"), cleaned.get("date_to")
        if date_from and date_to and date_from > date_to:
            self.add_error("date_to", "The end date must be on or after the start date.")
        return cleaned
