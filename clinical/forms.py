"""Forms of the clinical pages: they parse what was typed; the rules (ranges, the lock,
ICD-10 codes, dates) are the services'."""

from django import forms

from clinical.models import (
    Allergy,
    Condition,
    FamilyHistory,
    FormularyItem,
    Immunization,
    LabOrder,
    LabTest,
    Medication,
    Procedure,
    ReferenceRange,
    Route,
)
from clinical.services import HISTORY_LISTS, VITAL_RANGES
from clinicos.dates import DayField


class NoteForm(forms.Form):
    chief_complaint = forms.CharField(required=False, max_length=250, label="Chief complaint")
    subjective = forms.CharField(
        required=False, max_length=10000, label="History of present illness", widget=forms.Textarea(attrs={"rows": 4})
    )
    objective = forms.CharField(required=False, max_length=10000, label="Examination findings", widget=forms.Textarea(attrs={"rows": 4}))
    assessment = forms.CharField(required=False, max_length=10000, label="Diagnosis", widget=forms.Textarea(attrs={"rows": 3}))
    plan = forms.CharField(required=False, max_length=10000, label="Treatment plan", widget=forms.Textarea(attrs={"rows": 4}))
    follow_up_required = forms.BooleanField(required=False, label="Follow-up needed")
    follow_up_date = DayField(required=False, label="Follow-up on")

    def note_data(self, diagnosis_codes: list[str]) -> dict:
        return {**self.cleaned_data, "diagnosis_codes": diagnosis_codes}


class VitalsForm(forms.Form):
    """Raw values: the service checks each against the spec's range and says so."""

    systolic_bp = forms.CharField(required=False, label="Systolic BP (mmHg)")
    diastolic_bp = forms.CharField(required=False, label="Diastolic BP (mmHg)")
    pulse_rate = forms.CharField(required=False, label="Pulse (bpm)")
    temperature_celsius = forms.CharField(required=False, label="Temperature (°C)")
    respiratory_rate = forms.CharField(required=False, label="Respiratory rate (/min)")
    oxygen_saturation = forms.CharField(required=False, label="SpO₂ (%)")
    weight_kg = forms.CharField(required=False, label="Weight (kg)")
    height_cm = forms.CharField(required=False, label="Height (cm)")
    notes = forms.CharField(required=False, max_length=2000, label="Notes", widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # No min/max in the page: the service's message names the range and its unit.
        for name in VITAL_RANGES:
            self.fields[name].widget = forms.NumberInput(attrs={"step": "any", "inputmode": "decimal"})


class AddendumForm(forms.Form):
    text = forms.CharField(label="Addendum", widget=forms.Textarea(attrs={"rows": 3}), max_length=5000)


class BreakGlassForm(forms.Form):
    uhid = forms.CharField(label="Patient's UHID", max_length=30)
    reason = forms.CharField(
        label="Why you need this chart now",
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=1000,
        help_text="Your access lasts 4 hours. The clinic's administrators are told, and it stays in the audit trail.",
    )


DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
HISTORY_LABELS = {
    "allergies": ("Allergies", "allergy"),
    "conditions": ("Conditions", "condition"),
    "medications": ("Medications", "medication"),
    "immunizations": ("Immunizations", "immunization"),
    "procedures": ("Procedures", "procedure"),
    "family-history": ("Family history", "family history entry"),
}
_MODELS = {
    "allergies": Allergy,
    "conditions": Condition,
    "medications": Medication,
    "immunizations": Immunization,
    "procedures": Procedure,
    "family-history": FamilyHistory,
}


def history_form_class(kind: str) -> type[forms.ModelForm]:
    """A form for one history list (its fields are the service's)."""
    model, fields = HISTORY_LISTS[kind]
    date_fields = {f.name for f in model._meta.get_fields() if f.get_internal_type() == "DateField"}
    widgets: dict[str, type[forms.Widget] | forms.Widget] = {name: DATE_WIDGET for name in fields if name in date_fields}
    widgets.update({name: forms.Textarea(attrs={"rows": 2}) for name in fields if name == "notes"})
    return forms.modelform_factory(_MODELS[kind], fields=fields, widgets=widgets)


# --- Orders ----------------------------------------------------------------------------------

COMMON_FREQUENCIES = (
    "Once a day (1-0-0)",
    "Twice a day (1-0-1)",
    "Three times a day (1-1-1)",
    "Four times a day",
    "At bedtime (0-0-1)",
    "Every 8 hours",
    "As needed (SOS)",
    "Once a week",
)


class PrescriptionItemForm(forms.Form):
    medicine = forms.CharField(
        max_length=120, label="Medicine (generic name)", widget=forms.TextInput(attrs={"list": "formulary", "autocomplete": "off"})
    )
    dosage = forms.CharField(max_length=80, label="Strength / dose", help_text="e.g. 500 mg, 1 tablet")
    frequency = forms.CharField(max_length=80, widget=forms.TextInput(attrs={"list": "frequencies", "autocomplete": "off"}))
    duration = forms.CharField(max_length=60, help_text="e.g. 5 days")
    quantity = forms.IntegerField(min_value=1, max_value=10_000, help_text="to dispense")
    route = forms.ChoiceField(choices=Route.choices, initial=Route.ORAL)
    instructions = forms.CharField(max_length=250, required=False, help_text="e.g. after food")


class PrescriptionFinalizeForm(forms.Form):
    notes = forms.CharField(
        required=False,
        max_length=2000,
        label="Advice (printed)",
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="e.g. plenty of fluids; review in a week",
    )
    allergies_unknown_confirmed = forms.BooleanField(
        required=False, label="I confirm I prescribe without a recorded allergy history for this patient."
    )


class LabOrderForm(forms.Form):
    tests = forms.ModelMultipleChoiceField(queryset=LabTest.objects.none(), widget=forms.CheckboxSelectMultiple, label="Tests")
    urgency = forms.ChoiceField(choices=LabOrder.Urgency.choices, initial=LabOrder.Urgency.ROUTINE, widget=forms.RadioSelect)
    clinical_notes = forms.CharField(max_length=500, required=False, label="Notes for the lab", help_text="e.g. day 3 of cycle, fasting")

    def __init__(self, *args, catalog=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["tests"].queryset = catalog if catalog is not None else LabTest.objects.none()
        self.fields["tests"].label_from_instance = lambda test: f"{test.name} ({test.code}) · {test.specimen}"


class LabCancelForm(forms.Form):
    reason = forms.CharField(max_length=250, label="Why is the order cancelled?")


class AcknowledgeForm(forms.Form):
    comment = forms.CharField(
        max_length=2000, widget=forms.Textarea(attrs={"rows": 2}), label="What was done", help_text="e.g. patient called, admitted"
    )


class LabReportForm(forms.Form):
    report = forms.FileField(label="Report file (PDF or image)")


class FormularyItemForm(forms.ModelForm):
    class Meta:
        model = FormularyItem
        fields = ["generic_name", "strength", "form", "route", "default_frequency", "is_active"]


class LabTestForm(forms.ModelForm):
    class Meta:
        model = LabTest
        fields = ["code", "name", "specimen", "unit", "result_type", "normal_text", "is_active"]


ReferenceRangeFormSet = forms.inlineformset_factory(
    LabTest,
    ReferenceRange,
    fields=["sex", "age_min_years", "age_max_years", "low", "high", "critical_low", "critical_high", "label"],
    extra=2,
    can_delete=True,
)
