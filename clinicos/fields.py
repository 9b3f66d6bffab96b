"""Model fields of our own."""

from django.core.validators import MaxLengthValidator
from django.db import models


class BoundedTextField(models.TextField):
    """Free text with a limit that forms (``maxlength`` and a message) and ``full_clean``
    check; the column stays ``text``. A plan or an address has a sensible size, and a
    megabyte pasted into one should be a message, not a row."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.max_length is not None:
            self.validators.append(MaxLengthValidator(self.max_length))
