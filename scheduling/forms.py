import datetime

from django import forms
from django.utils import timezone

from clinicos.choices import Gender
from clinicos.dates import DayField
from clinicos.models import Clinic, DoctorProfile, Resource
from leads.models import Lead
from patients.models import Patient
from scheduling.models import AppointmentType, AvailabilityException, PartOfDay, WorkingHours
from scheduling.services import DEFAULT_MINUTES, MAX_MINUTES, MIN_MINUTES, clinic_wall_time


class BookingForm(forms.Form):
    WHO = [("patient", "Registered patient"), ("lead", "Lead"), ("walk_in", "Walk-in (not registered)")]

    who = forms.ChoiceField(choices=WHO, initial="patient", widget=forms.RadioSelect, label="Who is coming")
    # Typed to search (name, phone or UHID); the match picked arrives as ``patient`` (its id).
    # An exact UHID typed and not picked still books (a chart's "Book" prefills it).
    patient_uhid = forms.CharField(required=False, max_length=100, label="Find the patient", help_text="Name, phone or UHID")
    patient = forms.IntegerField(required=False, widget=forms.HiddenInput)
    lead = forms.IntegerField(required=False, widget=forms.HiddenInput)
    # A "next free" time tapped after a clash: books that start instead of the typed one.
    slot = forms.CharField(required=False, max_length=40, widget=forms.HiddenInput)
    walk_in_name = forms.CharField(required=False, max_length=150, label="Name")
    walk_in_phone = forms.CharField(required=False, max_length=30, label="Phone")
    walk_in_dob = DayField(required=False, label="Birth date")
    walk_in_sex = forms.ChoiceField(required=False, choices=[("", "—")] + Gender.choices, label="Sex")
    doctor = forms.ModelChoiceField(queryset=DoctorProfile.objects.none())
    date = DayField()
    time = forms.TimeField(widget=forms.TimeInput(attrs={"type": "time", "step": 300}, format="%H:%M"))
    duration_minutes = forms.IntegerField(min_value=MIN_MINUTES, max_value=MAX_MINUTES, initial=DEFAULT_MINUTES, label="Minutes")
    type = forms.ChoiceField(choices=AppointmentType.choices, initial=AppointmentType.CONSULTATION)
    resource = forms.ModelChoiceField(
        queryset=Resource.objects.none(), required=False, empty_label="No room or machine", label="Room / machine"
    )
    reason = forms.CharField(required=False, max_length=250, label="Reason for visit")
    override_reason = forms.CharField(
        required=False,
        max_length=200,
        label="Reason to book outside availability",
        help_text="Only for emergencies: admins and front desk.",
    )

    def __init__(self, *args, clinic: Clinic, **kwargs):
        super().__init__(*args, **kwargs)
        self.clinic = clinic
        self.fields["doctor"].queryset = DoctorProfile.objects.for_clinic(clinic).filter(is_active=True).select_related("user")
        self.fields["resource"].queryset = Resource.objects.for_clinic(clinic).filter(is_active=True)

    def clean(self):
        cleaned = super().clean()
        who = cleaned.get("who")
        picked_id = cleaned.get("patient")
        cleaned["patient"] = cleaned["lead_obj"] = cleaned["walk_in"] = None
        if who == "patient":
            cleaned["patient"] = self._patient(picked_id, cleaned.get("patient_uhid") or "")
        elif who == "lead":
            lead = Lead.objects.for_clinic(self.clinic).filter(pk=cleaned.get("lead")).first() if cleaned.get("lead") else None
            if lead is None:
                self.add_error(None, "Open the booking from the lead's page to book for a lead.")
            cleaned["lead_obj"] = lead
        elif who == "walk_in":
            # Checked and normalised by the booking service (scheduling.services.walk_in_clean).
            cleaned["walk_in"] = {
                "name": cleaned.get("walk_in_name") or "",
                "phone": cleaned.get("walk_in_phone") or "",
                "dob": cleaned.get("walk_in_dob"),
                "sex": cleaned.get("walk_in_sex") or "",
            }
        if cleaned.get("slot"):
            self._take_slot(cleaned)
        elif cleaned.get("date") and cleaned.get("time"):
            cleaned["start"] = clinic_wall_time(self.clinic, cleaned["date"], cleaned["time"])
        return cleaned

    def _patient(self, picked_id: int | None, typed: str) -> Patient | None:
        patients = Patient.objects.for_clinic(self.clinic)
        if picked_id:
            patient = patients.filter(pk=picked_id).first()
            if patient is None:
                self.add_error("patient_uhid", "That patient is not in this clinic: search again.")
            return patient
        typed = typed.strip().upper()
        patient = patients.filter(uhid=typed).first() if typed else None
        if patient is None:
            self.add_error(
                "patient_uhid",
                "Pick the patient from the matches (search by name, phone or UHID)." if typed else "Find the patient to book.",
            )
        return patient

    def _take_slot(self, cleaned) -> None:
        try:
            start = datetime.datetime.fromisoformat(cleaned["slot"])
        except ValueError:
            start = None
        if start is None or timezone.is_naive(start):
            self.add_error(None, "That free time could not be read: choose the time again.")
            return
        local = start.astimezone(self.clinic.tzinfo)
        cleaned["date"], cleaned["time"] = local.date(), local.time().replace(tzinfo=None)
        cleaned["start"] = clinic_wall_time(self.clinic, cleaned["date"], cleaned["time"])


class RescheduleForm(forms.Form):
    doctor = forms.ModelChoiceField(queryset=DoctorProfile.objects.none())
    date = DayField()
    time = forms.TimeField(widget=forms.TimeInput(attrs={"type": "time", "step": 300}, format="%H:%M"))
    duration_minutes = forms.IntegerField(min_value=MIN_MINUTES, max_value=MAX_MINUTES, label="Minutes")
    override_reason = forms.CharField(required=False, max_length=200, label="Reason to book outside availability")

    def __init__(self, *args, clinic: Clinic, **kwargs):
        super().__init__(*args, **kwargs)
        self.clinic = clinic
        self.fields["doctor"].queryset = DoctorProfile.objects.for_clinic(clinic).filter(is_active=True).select_related("user")

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("date") and cleaned.get("time"):
            cleaned["start"] = clinic_wall_time(self.clinic, cleaned["date"], cleaned["time"])
        return cleaned


class WorkingHoursForm(forms.ModelForm):
    class Meta:
        model = WorkingHours
        fields = ("weekday", "start_time", "end_time", "slot_minutes")
        widgets = {"start_time": forms.TimeInput(attrs={"type": "time"}), "end_time": forms.TimeInput(attrs={"type": "time"})}

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("start_time") and cleaned.get("end_time") and cleaned["end_time"] <= cleaned["start_time"]:
            self.add_error("end_time", "The block must end after it starts.")
        return cleaned


class ExceptionForm(forms.ModelForm):
    class Meta:
        model = AvailabilityException
        fields = ("kind", "date", "start_time", "end_time", "reason")
        widgets = {
            "date": forms.DateInput(attrs={"type": "date"}),
            "start_time": forms.TimeInput(attrs={"type": "time"}),
            "end_time": forms.TimeInput(attrs={"type": "time"}),
        }


class _PatientByUhid(forms.Form):
    """A patient named by UHID (the chart's buttons prefill it)."""

    uhid = forms.CharField(max_length=30, label="Patient (UHID)")

    def __init__(self, *args, clinic: Clinic, **kwargs):
        super().__init__(*args, **kwargs)
        self.clinic = clinic

    def clean_uhid(self) -> Patient:
        uhid = self.cleaned_data["uhid"].strip().upper()
        patient = Patient.objects.for_clinic(self.clinic).filter(uhid=uhid).first()
        if patient is None:
            raise forms.ValidationError("No patient of this clinic has this UHID.")
        return patient


class RecallForm(_PatientByUhid):
    due_date = DayField(label="Due by")
    reason = forms.CharField(max_length=200, label="What for", help_text="e.g. “Review of thyroid results”")
    doctor = forms.ModelChoiceField(queryset=DoctorProfile.objects.none(), required=False, empty_label="Any doctor")

    def __init__(self, *args, clinic: Clinic, **kwargs):
        super().__init__(*args, clinic=clinic, **kwargs)
        self.fields["doctor"].queryset = DoctorProfile.objects.for_clinic(clinic).filter(is_active=True).select_related("user")


class WaitlistForm(_PatientByUhid):
    doctor = forms.ModelChoiceField(queryset=DoctorProfile.objects.none(), required=False, empty_label="Any doctor of the department")
    department: forms.ModelChoiceField = forms.ModelChoiceField(queryset=None, required=False, empty_label="—")
    earliest_date = DayField(label="From")
    latest_date = DayField(label="Until")
    part_of_day = forms.ChoiceField(choices=PartOfDay.choices, initial=PartOfDay.ANY, label="When in the day")
    urgent = forms.BooleanField(required=False, label="Urgent (offered first)")
    note = forms.CharField(max_length=200, required=False)

    def __init__(self, *args, clinic: Clinic, **kwargs):
        from clinicos.models import Department

        super().__init__(*args, clinic=clinic, **kwargs)
        self.fields["doctor"].queryset = DoctorProfile.objects.for_clinic(clinic).filter(is_active=True).select_related("user")
        self.fields["department"].queryset = Department.objects.for_clinic(clinic).order_by("name")

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("doctor") and not cleaned.get("department") and "doctor" not in self.errors:
            self.add_error("doctor", "Choose a doctor, or a department for any of its doctors.")
        return cleaned


class MessagePreferencesForm(forms.ModelForm):
    class Meta:
        model = Patient
        fields = ["preferred_language", "reminders_by_sms", "reminders_by_email", "reminders_by_whatsapp"]
        labels = {"reminders_by_whatsapp": "WhatsApp (the patient agreed to it)"}
