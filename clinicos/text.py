"""Free text as services accept it."""

import re
from typing import Any

from django.core.exceptions import ValidationError

NUL_MESSAGE = "Text may not contain NUL (\\x00) characters."
SURROGATE_MESSAGE = "Text may not contain lone surrogate characters (\\ud800–\\udfff): send valid Unicode."
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def has_surrogate(text: str) -> bool:
    """A lone UTF-16 surrogate (JSON can carry one as ``"\\ud800"``): no encoder, hash or
    database takes it."""
    return _SURROGATE.search(text) is not None


def first_surrogate_path(data: Any, path: tuple = ()) -> list | None:
    """Where in parsed JSON the first string (key or value) with a lone surrogate is."""
    if isinstance(data, str):
        return list(path) if has_surrogate(data) else None
    if isinstance(data, dict):
        for key, value in data.items():
            if has_surrogate(key):
                return [*path, key.encode("utf-8", "backslashreplace").decode()]
            found = first_surrogate_path(value, (*path, key))
            if found is not None:
                return found
    if isinstance(data, list):
        for index, value in enumerate(data):
            found = first_surrogate_path(value, (*path, index))
            if found is not None:
                return found
    return None


def check_no_nul(**texts: str | None) -> None:
    """Refuse NUL characters in free text (PostgreSQL cannot store them). Forms and API
    schemas already refuse them; services check again for callers that bypass both."""
    errors = {field: NUL_MESSAGE for field, text in texts.items() if text and "\x00" in text}
    errors |= {field: SURROGATE_MESSAGE for field, text in texts.items() if text and has_surrogate(text)}
    if errors:
        raise ValidationError(errors)
