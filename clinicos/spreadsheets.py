"""Cells the product writes to a spreadsheet (XLSX or CSV): text is neutralised so that a
patient named ``=HYPERLINK(…)`` stays text in Excel, LibreOffice or Google Sheets (OWASP's
CSV-injection advice: a leading ``'`` before ``=``, ``+``, ``-``, ``@``, tab or CR), and
characters XLSX cannot hold are dropped instead of failing the whole file."""

from typing import Any

from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """``value`` as a cell: numbers, dates and None as they are; text neutralised."""
    if not isinstance(value, str):
        return value
    text = ILLEGAL_CHARACTERS_RE.sub("", value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def safe_row(values) -> list:
    return [safe_cell(value) for value in values]
