import zoneinfo

from django import forms

from clinicos.dates import DATE_ORDER_MESSAGE, DayField
from clinicos.models import Clinic, User
from clinicos.services import CLINIC_EDITABLE_FIELDS


def check_date_order(form: forms.Form, start_field: str, end_field: str) -> None:
    """Flag a reversed date range on the end field (filters, dashboards)."""
    start, end = form.cleaned_data.get(start_field), form.cleaned_data.get(end_field)
    if start and end and start > end:
        form.add_error(end_field, DATE_ORDER_MESSAGE)


class ClinicSettingsForm(forms.ModelForm):
    timezone = forms.ChoiceField(choices=[(tz, tz) for tz in sorted(zoneinfo.available_timezones())])

    class Meta:
        model = Clinic
        fields = CLINIC_EDITABLE_FIELDS
        widgets = {"address": forms.Textarea(attrs={"rows": 3})}


class AuditFilterForm(forms.Form):
    user = forms.ModelChoiceField(queryset=User.objects.none(), required=False, empty_label="Anyone")
    entity_type = forms.ChoiceField(required=False, label="Record type")
    date_from = DayField(required=False, label="From")
    date_to = DayField(required=False, label="To")

    def __init__(self, *args, clinic, entity_types, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = User.objects.filter(memberships__clinic=clinic).order_by("full_name")
        self.fields["entity_type"].choices = [("", "Any")] + list(entity_types)

    def clean(self):
        cleaned = super().clean()
        check_date_order(self, "date_from", "date_to")
        return cleaned
