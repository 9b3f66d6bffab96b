"""Password rules of the healthcare-management-system spec (§12 Password Validation)."""

import string

from django.core.exceptions import ValidationError

RULES = (
    (str.isupper, "an upper-case letter"),
    (str.islower, "a lower-case letter"),
    (str.isdigit, "a digit"),
    (lambda ch: ch in string.punctuation or (not ch.isalnum() and not ch.isspace()), "a special character such as ! or #"),
)


class ComplexityValidator:
    def validate(self, password, user=None):
        missing = [label for test, label in RULES if not any(test(ch) for ch in password)]
        if missing:
            raise ValidationError(
                "Your password needs " + ", ".join(missing) + ".",
                code="password_too_simple",
            )

    def get_help_text(self):
        return "Use upper- and lower-case letters, a digit and a special character."
