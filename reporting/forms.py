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


class DashboardRangeForm(forms.Form):
    """The administrator dashboard's range: this month unless chosen, at most two years."""

    date_from = DayField(label="From")
    date_to = DayField(label="To")

    def clean(self):
        cleaned = super().clean()
        first, last = cleaned.get("date_from"), cleaned.get("date_to")
        if first and last:
            from reporting.services import MAX_RANGE_DAYS

            if first > last:
                self.add_error("date_to", "The last day is before the first.")
            elif (last - first).days >= MAX_RANGE_DAYS:
                self.add_error("date_to", "The dashboard covers at most two years.")
        return cleaned
