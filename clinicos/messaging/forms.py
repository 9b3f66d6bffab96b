"""Settings → Messages: the clinic's rules as a form. Lead times are typed in hours
("24, 2"); each kind of message has its English and Hindi wording, its DLT template ID and
its WhatsApp template SID, all optional (the shipped wording is used when empty)."""

from decimal import Decimal, InvalidOperation

from django import forms

from clinicos.messaging import wording
from clinicos.messaging.choices import MessageKind
from clinicos.messaging.models import MessageRules

LANGUAGES = (("en", "English"), ("hi", "Hindi"))


def _field_name(kind: str, part: str) -> str:
    return f"{kind}__{part}"


class MessageRulesForm(forms.ModelForm):
    reminder_hours = forms.CharField(
        label="Reminders, hours before the appointment",
        max_length=40,
        required=False,
        help_text="Comma-separated, e.g. “24, 2”; empty for no reminders.",
    )

    class Meta:
        model = MessageRules
        fields = [
            "sms_enabled",
            "email_enabled",
            "whatsapp_enabled",
            "confirmations_enabled",
            "confirmation_delay_minutes",
            "cancel_notice_hours",
            "quiet_start",
            "quiet_end",
            "sender_name",
            "dlt_entity_id",
            "dlt_header",
        ]
        labels = {
            "confirmation_delay_minutes": "Confirmation waits (minutes)",
            "cancel_notice_hours": "Cancelling from a reminder allowed until (hours before)",
            "quiet_start": "Quiet hours from",
            "quiet_end": "Quiet hours until",
        }
        widgets = {"quiet_start": forms.TimeInput(attrs={"type": "time"}), "quiet_end": forms.TimeInput(attrs={"type": "time"})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        rules = self.instance
        self.fields["reminder_hours"].initial = ", ".join(_hours(m) for m in rules.reminder_lead_minutes)
        self.kind_rows = []
        for kind in wording.EDITABLE_KINDS:
            names = []
            for language, label in LANGUAGES:
                name = _field_name(kind, language)
                self.fields[name] = forms.CharField(
                    label=f"{label} wording",
                    required=False,
                    max_length=600,
                    widget=forms.Textarea(attrs={"rows": 2, "placeholder": wording.SHIPPED[kind][language]}),
                    initial=rules.templates.get(kind, {}).get(language, ""),
                )
                names.append(name)
            dlt, sid = _field_name(kind, "dlt"), _field_name(kind, "whatsapp")
            self.fields[dlt] = forms.CharField(
                label="DLT template ID", required=False, max_length=30, initial=rules.dlt_template_ids.get(kind, "")
            )
            self.fields[sid] = forms.CharField(
                label="WhatsApp template SID", required=False, max_length=40, initial=rules.whatsapp_templates.get(kind, "")
            )
            placeholders = ", ".join("{" + p + "}" for p in sorted(wording.PLACEHOLDERS[kind]))
            self.kind_rows.append(
                {"label": MessageKind(kind).label, "fields": [self[n] for n in [*names, dlt, sid]], "placeholders": placeholders}
            )

    def clean_reminder_hours(self) -> list[int]:
        text = self.cleaned_data["reminder_hours"].strip()
        minutes = []
        for part in filter(None, (p.strip() for p in text.replace(";", ",").split(","))):
            try:
                hours = Decimal(part.removesuffix("h").strip())
            except InvalidOperation:
                hours = Decimal("NaN")
            if not hours.is_finite() or not 0 < hours <= 14 * 24:
                raise forms.ValidationError(f"“{part[:20]}” is not a number of hours (up to 336, two weeks).")
            minutes.append(int(hours * 60))
        return minutes

    def clean(self):
        cleaned = super().clean()
        for kind in wording.EDITABLE_KINDS:
            for language, _ in LANGUAGES:
                name = _field_name(kind, language)
                text = (cleaned.get(name) or "").strip()
                if text:
                    try:
                        wording.check_wording(kind, text)
                    except forms.ValidationError as error:
                        self.add_error(name, error.messages[0])
        return cleaned

    @property
    def rule_changes(self) -> dict:
        data = {name: self.cleaned_data[name] for name in self.Meta.fields}
        data["reminder_lead_minutes"] = self.cleaned_data["reminder_hours"]
        data["templates"] = {
            kind: texts
            for kind in wording.EDITABLE_KINDS
            if (
                texts := {
                    lang: self.cleaned_data[_field_name(kind, lang)].strip()
                    for lang, _ in LANGUAGES
                    if self.cleaned_data[_field_name(kind, lang)].strip()
                }
            )
        }
        data["dlt_template_ids"] = {k: v for k in wording.EDITABLE_KINDS if (v := self.cleaned_data[_field_name(k, "dlt")].strip())}
        data["whatsapp_templates"] = {k: v for k in wording.EDITABLE_KINDS if (v := self.cleaned_data[_field_name(k, "whatsapp")].strip())}
        return data


def _hours(minutes: int) -> str:
    hours = Decimal(minutes) / 60
    return f"{hours.normalize():f}"
