from django import forms
from django.core.validators import MaxValueValidator

from clinicos.models import DoctorProfile
from patients.models import Patient
from portal import services
from portal.models import OnlineBooking
from scheduling.models import AppointmentType


class RequestCodeForm(forms.Form):
    login = forms.CharField(
        label="Your phone number or email",
        max_length=254,
        help_text="The one the clinic has on your record, e.g. 98765 43210 or you@example.com.",
        widget=forms.TextInput(attrs={"autocomplete": "username", "autofocus": True, "inputmode": "email"}),
    )

    def clean_login(self) -> str:
        login = self.cleaned_data["login"].strip()
        try:
            services.identity_from(**self.as_identity_kwargs(login))
        except forms.ValidationError as error:
            raise forms.ValidationError(error.messages[0] if hasattr(error, "messages") else str(error))
        return login

    @staticmethod
    def as_identity_kwargs(login: str) -> dict[str, str]:
        return {"email": login} if "@" in login else {"phone": login}


class VerifyCodeForm(forms.Form):
    code = forms.CharField(
        label="The 6-digit code",
        min_length=6,
        max_length=6,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "pattern": "[0-9]{6}", "autofocus": True}),
    )

    def clean_code(self) -> str:
        code = self.cleaned_data["code"].strip()
        if not code.isdigit():
            raise forms.ValidationError("The code is six digits.")
        return code


class NewPhoneForm(forms.Form):
    phone = forms.CharField(
        label="Your new phone number", max_length=40, widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"})
    )


class ProfileForm(forms.ModelForm):
    class Meta:
        model = Patient
        fields = list(services.PROFILE_FIELDS)
        labels = {
            "emergency_contact_phone": "Emergency contact's phone",
            "emergency_contact_name": "Emergency contact's name",
            "reminders_by_whatsapp": "Reminders by WhatsApp (I agree to messages on WhatsApp)",
            "preferred_language": "Language of my messages",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["preferred_language"].required = False  # an app that leaves it out keeps the one on record

    def clean_preferred_language(self) -> str:
        return self.cleaned_data.get("preferred_language") or self.instance.preferred_language


class OnlineBookingForm(forms.ModelForm):
    """A clinic's online-booking rules (Settings → Online booking)."""

    appointment_types = forms.MultipleChoiceField(
        choices=AppointmentType.choices, widget=forms.CheckboxSelectMultiple, required=False, help_text="What patients may book themselves."
    )

    class Meta:
        model = OnlineBooking
        fields = ["is_enabled", "doctors", "appointment_types", "days_ahead", "earliest_minutes", "notice_hours"]
        widgets = {"doctors": forms.CheckboxSelectMultiple}
        labels = {"is_enabled": "Patients may book in the portal", "earliest_minutes": "Earliest booking (minutes from now)"}

    def __init__(self, *args, clinic, **kwargs):
        super().__init__(*args, **kwargs)
        doctors = self.fields["doctors"]
        doctors.queryset = (
            DoctorProfile.objects.for_clinic(clinic).filter(is_active=True).select_related("user").order_by("user__full_name")
        )
        doctors.label_from_instance = lambda doctor: doctor.user.full_name
        self.fields["days_ahead"].validators.append(MaxValueValidator(365))
        self.fields["notice_hours"].validators.append(MaxValueValidator(24 * 14))
        self.fields["earliest_minutes"].validators.append(MaxValueValidator(24 * 60 * 7))

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("is_enabled") and not cleaned.get("doctors"):
            self.add_error("doctors", "Choose at least one doctor patients may book.")
        if cleaned.get("is_enabled") and not cleaned.get("appointment_types"):
            self.add_error("appointment_types", "Choose at least one appointment type.")
        if cleaned.get("days_ahead") == 0:
            self.add_error("days_ahead", "Let patients book at least one day ahead.")
        return cleaned
