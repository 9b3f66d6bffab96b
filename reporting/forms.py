from django import forms

from clinicos.dates import DayField
from clinicos.forms import check_date_order
from reporting.models import ReportType


class ReportRequestForm(forms.Form):
    report_type = forms.ChoiceField(label="Report")
    start_date = DayField(label="From")
    end_date = DayField(label="To")
    doctor_id = forms.IntegerField(required=False, widget=forms.Select, label="Doctor")
    department_id = forms.IntegerField(required=False, widget=forms.Select, label="Department")
    service_id = forms.IntegerField(required=False, widget=forms.Select, label="Service")
    source = forms.CharField(required=False, max_length=60, label="Lead source")

    def __init__(self, *args, types, doctors=(), departments=(), services=(), **kwargs):
        super().__init__(*args, **kwargs)
        labels = dict(ReportType.choices)
        self.fields["report_type"].choices = [(value, labels[value]) for value in types]
        self.fields["doctor_id"].widget.choices = [("", "All doctors"), *((d.pk, str(d)) for d in doctors)]
        self.fields["department_id"].widget.choices = [("", "All departments"), *((d.pk, d.name) for d in departments)]
        self.fields["service_id"].widget.choices = [("", "All services"), *((s.pk, s.name) for s in services)]

    def clean(self):
        cleaned = super().clean()
        check_date_order(self, "start_date", "end_date")
        return cleaned

    def parameters(self) -> dict:
        return {
            name: self.cleaned_data[name] for name in ("doctor_id", "department_id", "service_id", "source") if self.cleaned_data.get(name)
        }
