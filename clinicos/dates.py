"""The calendar days ClinicOS accepts anywhere (filters, pages, bookings).

Python's dates stop at 9999-12-31 and PostgreSQL's timestamps at 4713 BC: a day near
either edge overflows as soon as code adds a day or a timezone offset to it. Every date a
person or an integration sends is checked against one sane range first.
"""

import datetime

from django import forms
from django.core.exceptions import ValidationError

FIRST_DAY = datetime.date(1900, 1, 1)
LAST_DAY = datetime.date(2199, 12, 31)
OUT_OF_RANGE_MESSAGE = f"Choose a date between {FIRST_DAY:%d %b %Y} and {LAST_DAY:%d %b %Y}."
DATE_ORDER_MESSAGE = "The end date must be on or after the start date."


def check_day(day: datetime.date | None, field: str) -> None:
    if day is not None and not FIRST_DAY <= day <= LAST_DAY:
        raise ValidationError({field: OUT_OF_RANGE_MESSAGE})


def check_moment(moment: datetime.datetime | None, field: str) -> None:
    if moment is not None:
        check_day(moment.date(), field)


def check_day_range(date_from: datetime.date | None, date_to: datetime.date | None, *, names=("date_from", "date_to")) -> None:
    """Both days in range, and the range not reversed (field messages on the end)."""
    errors: dict[str, str] = {}
    for day, name in zip((date_from, date_to), names, strict=True):
        if day is not None and not FIRST_DAY <= day <= LAST_DAY:
            errors[name] = OUT_OF_RANGE_MESSAGE
    if not errors and date_from and date_to and date_from > date_to:
        errors[names[1]] = DATE_ORDER_MESSAGE
    if errors:
        raise ValidationError(errors)


def parse_day(value: str | None, default: datetime.date) -> tuple[datetime.date, str | None]:
    """A ``?date=`` of a page: the day asked for, or ``default`` with the reason why not."""
    if not value:
        return default, None
    try:
        day = datetime.date.fromisoformat(value)
    except ValueError:
        return default, "That is not a date (use YYYY-MM-DD): showing today instead."
    if not FIRST_DAY <= day <= LAST_DAY:
        return default, f"{OUT_OF_RANGE_MESSAGE} Showing today instead."
    return day, None


class DayField(forms.DateField):
    """A date a form accepts: a calendar picker, within the accepted range."""

    widget = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.widget.attrs.update({"min": FIRST_DAY.isoformat(), "max": LAST_DAY.isoformat()})

    def validate(self, value):
        super().validate(value)
        if value is not None and not FIRST_DAY <= value <= LAST_DAY:
            raise ValidationError(OUT_OF_RANGE_MESSAGE, code="out_of_range")
