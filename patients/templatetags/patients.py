from django import template

from patients.identity import phone_display

register = template.Library()


@register.filter
def phone(value: str) -> str:
    """+919845012345 -> +91 98450 12345"""
    return phone_display(value) if value else ""


@register.inclusion_tag("components/patient_alerts.html")
def patient_alerts(patient):
    """The banner's alerts (allergies…), from the providers the apps register."""
    from patients.alerts import alerts_for

    return {"alerts": alerts_for(patient)}
