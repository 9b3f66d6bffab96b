"""Domain errors, and the one place each kind of answer is built from them.

Services raise Django's ``ValidationError`` for bad input (field by field), Django's
``PermissionDenied`` for a role that may not, and a ``DomainError`` subclass for a rule
that refuses the request as it stands (a taken slot, a status move the flow forbids, a
likely duplicate). Its HTTP status is a property of its class, never read from its words.

- Pages: ``add_error_to_form`` puts any of them on the form being shown.
- The API: ``clinicos.api`` registers one exception handler per kind, all answering the
  same ``Problem`` JSON shape; endpoints let these errors propagate.
"""

from typing import Any

from django import forms
from django.core.exceptions import PermissionDenied, ValidationError


class DomainError(Exception):
    """A business rule refused the request (HTML: a message; API: ``status_code``)."""

    status_code = 409

    def problem_fields(self) -> dict[str, Any]:
        """Extra members of the JSON problem beyond ``detail`` (e.g. the next free slots)."""
        return {}


class Conflict(DomainError):
    """The request clashes with the current state of the records (409)."""


class TransitionNotAllowed(Conflict):
    """A status move the flow forbids."""


def field_problems(error: ValidationError, location: str = "body") -> list[dict[str, Any]]:
    """Field messages in the same shape as django-ninja's own 422s: [{loc, msg, type}]."""
    if hasattr(error, "error_dict"):
        return [
            {"loc": [location, field] if field != "__all__" else [location], "msg": message, "type": "value_error"}
            for field, messages in error.message_dict.items()
            for message in messages
        ]
    return [{"loc": [location], "msg": message, "type": "value_error"} for message in error.messages]


def form_problems(form: forms.BaseForm, rename: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """A bound form's errors as field problems, naming fields as the JSON does."""
    rename = rename or {}
    return [
        {"loc": ["body", rename.get(field, field)] if field != "__all__" else ["body"], "msg": message, "type": "value_error"}
        for field, messages in form.errors.items()
        for message in messages
    ]


def add_error_to_form(form: forms.BaseForm, error: Exception) -> None:
    """Show a service's refusal on the form: field messages on their fields (or on top
    when the form has no such field), anything else as a message on top of the form."""
    if isinstance(error, ValidationError) and hasattr(error, "error_dict"):
        for field, messages in error.message_dict.items():
            form.add_error(field if field in form.fields else None, messages)
    elif isinstance(error, ValidationError):
        form.add_error(None, error.messages)
    elif isinstance(error, (DomainError, PermissionDenied)):
        form.add_error(None, str(error) or "This is not allowed.")
    else:
        raise TypeError(f"Not a domain error: {error!r}")


def error_message(error: Exception) -> str:
    """A refusal as one line, for a flash message after a redirect."""
    if isinstance(error, ValidationError):
        return " ".join(error.messages)
    return str(error) or "This is not allowed."


# Everything a service may refuse with: views catch this tuple.
REFUSALS = (ValidationError, PermissionDenied, DomainError)
