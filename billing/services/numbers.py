"""Document numbers: gap-free per clinic, series and financial year (``ABC01/2627/00001``,
at most 16 characters, CGST Rule 46(b))."""

import datetime

from billing.models import (
    DocumentSequence,
)
from clinicos.counters import counter_next
from clinicos.models import Clinic

MAX_NUMBER_LENGTH = 16  # CGST Rule 46(b): at most 16 characters
SERIES_LETTER: dict[str, str] = {
    DocumentSequence.Series.INVOICE: "",
    DocumentSequence.Series.CREDIT_NOTE: "C",
    DocumentSequence.Series.RECEIPT: "R",
}
SERIES_DIGITS: dict[str, int] = {
    DocumentSequence.Series.INVOICE: 5,
    DocumentSequence.Series.CREDIT_NOTE: 4,
    DocumentSequence.Series.RECEIPT: 4,
}


# --- Numbers ----------------------------------------------------------------------------------


def financial_year_code(clinic: Clinic, day: datetime.date) -> str:
    """``2627`` for April 2026 – March 2027; ``2026`` for a calendar financial year."""
    start, end = clinic.financial_year_of(day)
    if start.year == end.year:
        return str(start.year)
    return f"{start.year % 100:02d}{end.year % 100:02d}"


def format_document_number(*, code: str, series: str, year_code: str, number: int) -> str:
    """``ABC01/2627/00001``, ``ABC01/C2627/0001``, ``ABC01/R2627/0001``: letters, digits and
    ``/`` only, at most 16 characters (the clinic code is shortened when it would not fit)."""
    tail = f"/{SERIES_LETTER[series]}{year_code}/{number:0{SERIES_DIGITS[series]}d}"
    return code[: max(1, MAX_NUMBER_LENGTH - len(tail))] + tail


def next_document_number(*, clinic: Clinic, series: str, day: datetime.date) -> str:
    """The next number of a series for the financial year of ``day``, from a counter row
    locked until the transaction ends: concurrent issues get consecutive numbers, and a
    transaction that fails gives its number back (the increment rolls back with it)."""
    year_start, _ = clinic.financial_year_of(day)
    number = counter_next(DocumentSequence, clinic=clinic, series=series, year_start=year_start)
    return format_document_number(code=clinic.code, series=series, year_code=financial_year_code(clinic, day), number=number)
