from django import forms

from patients.models import Patient
from portal import services


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


class ProfileForm(forms.ModelForm):
    class Meta:
        model = Patient
        fields = list(services.PROFILE_FIELDS)
        labels = {"emergency_contact_phone": "Emergency contact's phone", "emergency_contact_name": "Emergency contact's name"}
