"""A report's two files: an XLSX with typed cells (dates as dates, money as numbers with 2
decimals, a totals row, the header frozen) and an A4 PDF with the clinic's letterhead and
the report's chart (pygal SVG, the same as on screen)."""

import datetime
import io
import math
from decimal import Decimal

import pygal
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from clinical.charts import STYLE, svg_data_uri
from clinical.pdf import letterhead_context, render_pdf
from clinicos.spreadsheets import safe_cell, safe_row
from reporting.reports import ReportData

NUMBER_FORMATS = {"money": "#,##0.00", "percent": "0.00", "number": "0.00", "int": "0", "date": "dd mmm yyyy"}
NUMERIC_KINDS = ("money", "int", "percent", "number", "mixed")


def _cell_value(value):
    if isinstance(value, Decimal):
        return float(value)  # openpyxl writes numbers; the 2-decimal format shows the cents
    return safe_cell(value)


def xlsx(report, data: ReportData) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = report.get_report_type_display()[:31]
    sheet.append(safe_row(column.label for column in data.columns))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    rows = list(data.rows) + ([data.totals] if data.totals else [])
    # Row numbers are counted here: ``sheet.max_row`` scans the sheet (quadratic over a
    # month's sales register).
    for number, row in enumerate(rows, start=2):
        sheet.append([_cell_value(row.get(column.key)) for column in data.columns])
        for index, column in enumerate(data.columns, start=1):
            kind = row.get("kind", column.kind) if column.kind == "mixed" else column.kind
            if kind in NUMBER_FORMATS:
                sheet.cell(row=number, column=index).number_format = NUMBER_FORMATS[kind]
    if data.totals:
        for cell in sheet[len(rows) + 1]:
            cell.font = Font(bold=True)
    sheet.freeze_panes = "A2"
    for index, column in enumerate(data.columns, start=1):
        width = max([len(column.label), *(len(str(row.get(column.key, ""))) for row in rows[:200])]) + 2
        sheet.column_dimensions[get_column_letter(index)].width = min(max(width, 10), 50)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def chart_svg(data: ReportData) -> str | None:
    return render_chart(data.chart) if data.chart else None


def render_chart(spec: dict, *, horizontal: bool = False, width: int = 720, height: int = 320) -> str:
    """A bar chart as SVG (no script): the same drawing on the dashboard, on the report's
    page and in its PDF. ``spec``: {"title", "labels", "series": [(name, values)]}."""
    chart = (pygal.HorizontalBar if horizontal else pygal.Bar)(
        style=STYLE,
        width=width,
        height=height,
        title=spec["title"],
        legend_at_bottom=True,
        x_label_rotation=0 if horizontal else 30,
        show_legend=len(spec["series"]) > 1,
        disable_xml_declaration=True,
        js=[],
        explicit_size=False,
        print_values=False,
    )
    labels = spec["labels"]
    if len(labels) > 14 and not horizontal:  # a label every few bars, so that they stay readable
        chart.x_labels_major_every = -(-len(labels) // 10)
        chart.show_minor_x_labels = False
    chart.x_labels = labels
    highest = max([value or 0 for _, values in spec["series"] for value in values] or [0])
    chart.y_labels = value_ticks(highest)
    chart.value_formatter = lambda value: f"{value:,.0f}"
    for name, values in spec["series"]:
        chart.add(name, values)
    return chart.render(is_unicode=True)


def value_ticks(highest: float, count: int = 5) -> list[int]:
    """About ``count`` round whole-number ticks from 0 to at least ``highest`` (1, 2 or 5
    times a power of ten apart): a readable axis for counts and money alike."""
    if highest <= 0:
        return [0, 1]
    raw = highest / count
    magnitude = 10 ** max(len(str(int(raw))) - 1, 0)
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    step = max(int(step), 1)
    top = math.ceil(highest / step) * step
    return list(range(0, top + step, step))


def display(value, kind: str) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime.date):
        return value.strftime("%d %b %Y")
    if kind == "money" and isinstance(value, Decimal):
        return f"{value:,.2f}"
    if kind == "number" and isinstance(value, Decimal):
        return f"{value:,.2f}"
    if kind == "percent" and isinstance(value, Decimal):
        return f"{value:.2f} %"
    return str(value)


# The page and the PDF show this many rows at most (a month's sales register of a busy
# clinic has thousands, and a PDF of them takes minutes to lay out); the XLSX has them all,
# and the totals always count every row.
SHOWN_ROWS = 500


def table(data: ReportData, limit: int = SHOWN_ROWS) -> dict:
    """Rows as display strings, for the page and the PDF (the first ``limit``)."""

    def cells(row):
        return [
            {
                "text": display(row.get(column.key), row.get("kind", column.kind) if column.kind == "mixed" else column.kind),
                "numeric": column.kind in NUMERIC_KINDS,
            }
            for column in data.columns
        ]

    return {
        "headers": [{"label": column.label, "numeric": column.kind in NUMERIC_KINDS} for column in data.columns],
        "rows": [cells(row) for row in data.rows[:limit]],
        "row_count": len(data.rows),
        "cut": len(data.rows) > limit,
        "limit": limit,
        "totals": cells(data.totals) if data.totals else None,
    }


def pdf(report, data: ReportData) -> bytes:
    from django.utils import timezone

    svg = chart_svg(data)
    context = {
        **letterhead_context(report.clinic),
        "report": report,
        "table": table(data),
        "notes": [note for note in data.notes if note],
        "chart_uri": svg_data_uri(svg) if svg else None,
        "generated_at": timezone.localtime(timezone.now(), report.clinic.tzinfo),
    }
    return render_pdf("reporting/report_pdf.html", context)
