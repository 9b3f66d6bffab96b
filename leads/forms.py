from django import forms
from django.core.exceptions import ValidationError

from clinicos.choices import MAX_AGE_YEARS
from clinicos.dates import DayField
from clinicos.forms import check_date_order
from clinicos.models import Clinic, User
from leads import services
from leads.models import Lead, LeadActivity, LeadOption, LeadStatus
from patients import identity


class LeadForm(forms.ModelForm):
    """A new or edited enquiry. Source and inquiry offer the built-in choices plus the
    clinic's own."""

    source = forms.ChoiceField()
    inquiry = forms.ChoiceField()

    class Meta:
        model = Lead
        fields = services.LEAD_EDITABLE_FIELDS  # what the service lets a person change
        widgets = {
            "phone": forms.TextInput(attrs={"type": "tel"}),
            "problem": forms.Textarea(attrs={"rows": 3}),
            "next_follow_up": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        }

    def __init__(self, *args, clinic: Clinic, **kwargs):
        super().__init__(*args, **kwargs)
        self.clinic = clinic
        options = services.lead_options_by_kind(clinic=clinic)
        self.fields["source"].choices = [("", "Choose…")] + [(o, o) for o in options[LeadOption.Kind.SOURCE]]
        self.fields["inquiry"].choices = [("", "Choose…")] + [(o, o) for o in options[LeadOption.Kind.INQUIRY]]
        self.fields["age"].widget.attrs.update({"min": 0, "max": MAX_AGE_YEARS})
        self.fields["phone"].help_text = f"Local numbers are read as {clinic.country} numbers."

    def clean_phone(self):
        return identity.normalize_phone(self.cleaned_data["phone"], default_region=self.clinic.country)


class LeadFilterForm(forms.Form):
    q = forms.CharField(required=False, label="Search", max_length=100)
    status = forms.ChoiceField(required=False, choices=[("", "Any status")] + LeadStatus.choices)
    source = forms.ChoiceField(required=False)
    inquiry = forms.ChoiceField(required=False)
    assignee = forms.ModelChoiceField(queryset=User.objects.none(), required=False, empty_label="Anyone", label="Assigned to")
    date_from = DayField(required=False, label="Added from")
    date_to = DayField(required=False, label="to")
    sort = forms.ChoiceField(
        required=False, choices=[("newest", "Newest first"), ("oldest", "Oldest first"), ("name", "Name"), ("status", "Status")]
    )

    def __init__(self, *args, clinic: Clinic, **kwargs):
        super().__init__(*args, **kwargs)
        options = services.lead_options_by_kind(clinic=clinic)
        self.fields["source"].choices = [("", "Any source")] + [(o, o) for o in options[LeadOption.Kind.SOURCE]]
        self.fields["inquiry"].choices = [("", "Any inquiry")] + [(o, o) for o in options[LeadOption.Kind.INQUIRY]]
        self.fields["assignee"].queryset = User.objects.filter(pk__in=[u.pk for u in services.active_cros(clinic=clinic)])

    def clean(self):
        cleaned = super().clean()
        check_date_order(self, "date_from", "date_to")
        return cleaned


class DateRangeForm(forms.Form):
    date_from = DayField(required=False, label="From")
    date_to = DayField(required=False, label="To")

    def clean(self):
        cleaned = super().clean()
        check_date_order(self, "date_from", "date_to")
        return cleaned


class MoveForm(forms.Form):
    to_status = forms.ChoiceField(choices=LeadStatus.choices, label="Move to")
    lost_reason = forms.CharField(required=False, max_length=250, label="Reason (for Lost)")
    cro = forms.ModelChoiceField(queryset=User.objects.none(), required=False, empty_label="Next CRO in turn", label="CRO")
    note = forms.CharField(required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, clinic: Clinic, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["cro"].queryset = User.objects.filter(pk__in=[u.pk for u in services.active_cros(clinic=clinic)])


class ActivityForm(forms.Form):
    kind = forms.ChoiceField(choices=[(LeadActivity.Kind.CALL, "Call"), (LeadActivity.Kind.NOTE, "Note")])
    outcome = forms.ChoiceField(required=False, choices=[("", "—")] + LeadActivity.Outcome.choices)
    note = forms.CharField(required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 2}))
    next_follow_up = DayField(required=False, label="Next follow-up")


class ApiKeyForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="Where it is used, e.g. “Main website”.")
    allowed_origins = forms.CharField(
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Browser origins allowed to send leads, one per line, e.g. https://sunrise-fertility.example",
    )

    def clean_allowed_origins(self):
        lines = [line.strip().rstrip("/") for line in self.cleaned_data["allowed_origins"].splitlines() if line.strip()]
        for line in lines:
            if not line.startswith(("https://", "http://")) or "/" in line.split("://", 1)[1]:
                raise ValidationError(f"“{line}” is not an origin like https://clinic.example")
        return "\n".join(lines)


class OptionForm(forms.Form):
    kind = forms.ChoiceField(choices=LeadOption.Kind.choices)
    label = forms.CharField(max_length=60)
