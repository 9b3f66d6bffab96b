from django import template

from patients.identity import phone_display

register = template.Library()


@register.filter
def phone(value: str) -> str:
    """+919845012345 -> +91 98450 12345"""
    return phone_display(value) if value else ""
