"""Choice sets shared by several apps (patients, leads and walk-in appointments all
record a gender)."""

from django.db import models


class Gender(models.TextChoices):
    MALE = "male", "Male"
    FEMALE = "female", "Female"
    OTHER = "other", "Other"


# The oldest age anyone records, for patients and leads alike.
MAX_AGE_YEARS = 130
