"""Vital-sign charts, drawn on the server as SVG with pygal (no JavaScript charting), so
the same chart can go into PDFs. Sized and lettered to be read on a tablet."""

import base64

import pygal
from django.utils import timezone
from pygal.style import Style

from clinical.models import VitalSigns

VITALS_CHART_POINTS = 30  # the last 30 sets of measurements

STYLE = Style(
    background="white",
    plot_background="white",
    foreground="#1c2733",
    foreground_strong="#1c2733",
    foreground_subtle="#dde3ea",
    colors=("#1f6f78", "#b42318", "#8a5a00", "#4a5a6a"),
    font_family="system-ui, sans-serif",
    label_font_size=15,
    major_label_font_size=15,
    legend_font_size=16,
    title_font_size=19,
    value_font_size=14,
    tooltip_font_size=15,
)


def _line_chart(title: str, labels: list[str], series: list[tuple[str, list]]) -> str | None:
    if not any(value is not None for _name, values in series for value in values):
        return None
    chart = pygal.Line(
        style=STYLE,
        width=640,
        height=300,
        title=title,
        show_dots=True,
        dots_size=4,
        x_label_rotation=0,
        show_minor_x_labels=False,
        x_labels_major_count=6,
        legend_at_bottom=True,
        allow_interruptions=True,
        print_values=False,
        disable_xml_declaration=True,
        js=[],  # no script: the CSP forbids it, and the chart reads without it
        explicit_size=False,
    )
    chart.x_labels = labels
    for name, values in series:
        chart.add(name, values)
    return chart.render(is_unicode=True)


def vitals_charts(vitals: list[VitalSigns]) -> list[dict]:
    """BP, pulse, weight and BMI over time (oldest first): [{title, svg}] of those with data."""
    labels = [f"{timezone.localtime(v.recorded_at):%d %b}" for v in vitals]

    def numbers(field: str) -> list:
        return [float(getattr(v, field)) if getattr(v, field) is not None else None for v in vitals]

    charts = [
        ("Blood pressure (mmHg)", [("Systolic", numbers("systolic_bp")), ("Diastolic", numbers("diastolic_bp"))]),
        ("Pulse (bpm)", [("Pulse", numbers("pulse_rate"))]),
        ("Weight (kg)", [("Weight", numbers("weight_kg"))]),
        ("BMI", [("BMI", numbers("bmi"))]),
    ]
    drawn = []
    for title, series in charts:
        svg = _line_chart(title, labels, series)
        if svg:
            drawn.append({"title": title, "uri": svg_data_uri(svg), "alt": _alt_text(title, labels, series)})
    return drawn


def svg_data_uri(svg: str) -> str:
    """The chart as an image: the page's Content-Security-Policy forbids inline styles and
    scripts, while an SVG image keeps its own styles (and never runs a script)."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


def _alt_text(title: str, labels: list[str], series: list[tuple[str, list]]) -> str:
    """What the chart shows, for a screen reader: the latest value of each line."""
    latest = []
    for name, values in series:
        known = [(label, value) for label, value in zip(labels, values, strict=True) if value is not None]
        if known:
            latest.append(f"{name} {known[-1][1]:g} on {known[-1][0]}")
    return f"{title}, {len(labels)} readings; latest: {', '.join(latest)}"


LAB_TREND_POINTS = 20


def lab_trend_chart(lab_test, results) -> dict | None:
    """One test's current results over time (oldest first), with the normal range of the
    latest result as two dashed lines."""
    numeric = [r for r in results if r.value_numeric is not None][-LAB_TREND_POINTS:]
    if not numeric:
        return None
    labels = [f"{timezone.localtime(r.entered_at):%d %b %y}" for r in numeric]
    title = f"{lab_test.name}{f' ({lab_test.unit})' if lab_test.unit else ''}"
    series: list[tuple[str, list]] = [(lab_test.code, [float(r.value_numeric) for r in numeric])]
    latest = numeric[-1]
    if latest.range_low is not None:
        series.append(("Low limit", [float(latest.range_low)] * len(numeric)))
    if latest.range_high is not None:
        series.append(("High limit", [float(latest.range_high)] * len(numeric)))
    svg = _line_chart(title, labels, series)
    if svg is None:
        return None
    return {"title": title, "uri": svg_data_uri(svg), "alt": _alt_text(title, labels, series[:1])}
