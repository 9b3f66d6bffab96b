"""Free text as services accept it."""

from django.core.exceptions import ValidationError

NUL_MESSAGE = "Text may not contain NUL (\\x00) characters."


def check_no_nul(**texts: str | None) -> None:
    """Refuse NUL characters in free text (PostgreSQL cannot store them). Forms and API
    schemas already refuse them; services check again for callers that bypass both."""
    errors = {field: NUL_MESSAGE for field, text in texts.items() if text and "\x00" in text}
    if errors:
        raise ValidationError(errors)
