"""The administrator's dashboard and the figures of ``GET dashboard/stats``: computed by the
same functions as the reports (``reporting.reports``), so a report and the dashboard agree
for the same range. Every figure is one aggregate query; the page issues a bounded number
of them whatever the clinic's size."""

import datetime

from django.urls import reverse

from clinical.charts import svg_data_uri
from clinicos.models import Clinic, DoctorProfile
from leads import selectors as lead_selectors
from patients.models import Patient
from reporting import reports
from reporting.files import render_chart
from reporting.models import ReportType
from scheduling.models import AppointmentStatus

TOP_SERVICES = 5


def new_patients(clinic: Clinic, first: datetime.date | None, last: datetime.date | None) -> int:
    patients = Patient.objects.for_clinic(clinic)
    if first:
        patients = patients.filter(registration_date__gte=first)
    if last:
        patients = patients.filter(registration_date__lte=last)
    return patients.count()


def period_figures(clinic: Clinic, first: datetime.date | None, last: datetime.date | None, *, with_revenue: bool = True) -> dict:
    """Revenue (payments less refunds), appointments by status, the no-show rate and the new
    patients of the range: four queries (two without the revenue)."""
    appointments = reports.appointment_counts(clinic, first, last)
    return {
        "revenue": reports.revenue_between(clinic, first, last) if with_revenue else None,
        "appointments_by_status": appointments["by_status"],
        "appointments_due": appointments["due"],
        "no_show_rate": appointments["no_show_rate"],
        "new_patients": new_patients(clinic, first, last),
    }


def doctor_utilization_rows(clinic: Clinic, first: datetime.date, last: datetime.date) -> list[dict]:
    doctors = list(
        DoctorProfile.objects.for_clinic(clinic).filter(is_active=True).select_related("user", "clinic").order_by("user__full_name")
    )
    hours = reports.doctor_utilization(clinic, first, last, doctors)
    return [{"doctor": doctor, **hours[doctor.pk]} for doctor in doctors]


def admin_dashboard(clinic: Clinic, first: datetime.date, last: datetime.date) -> dict:
    code = clinic.code
    figures = period_figures(clinic, first, last)
    trend = reports.revenue_by_month(clinic, last)
    stats = lead_selectors.dashboard_stats(clinic=clinic, date_from=first, date_to=last)
    funnel = lead_selectors.dashboard_funnel(clinic=clinic, date_from=first, date_to=last)
    top_services = reports.service_utilization(clinic, first, last, {}).rows[:TOP_SERVICES]
    labels = dict(AppointmentStatus.choices)
    range_query = f"start_date={first:%Y-%m-%d}&end_date={last:%Y-%m-%d}"

    def report_url(report_type: str) -> str:
        return f"{reverse('report_list', args=[code])}?report_type={report_type}&{range_query}"

    return {
        "first": first,
        "last": last,
        **figures,
        "appointments_total": sum(figures["appointments_by_status"].values()),
        "appointments": [
            {"status": status, "label": labels[status], "count": count} for status, count in figures["appointments_by_status"].items()
        ],
        "trend_chart": svg_data_uri(
            render_chart(
                {
                    "title": "Revenue per month",
                    "labels": [row["month"].strftime("%b %y") for row in trend],
                    "series": [("Revenue", [float(row["net"]) for row in trend])],
                },
                height=300,
            )
        ),
        "trend": trend,
        "collections": reports.collections_by_method(clinic, first, last),
        "leads": stats,
        "funnel_chart": svg_data_uri(
            render_chart(
                {
                    "title": "Leads reaching each stage",
                    "labels": [row["label"] for row in funnel["by_stage_reached"]],
                    "series": [("Leads", [row["count"] for row in funnel["by_stage_reached"]])],
                },
                horizontal=True,
                height=260,
            )
        ),
        "funnel": funnel["by_stage_reached"],
        "utilization": doctor_utilization_rows(clinic, first, last),
        "top_services": top_services,
        "links": {
            "revenue": report_url(ReportType.REVENUE),
            "day_book": report_url(ReportType.DAY_BOOK),
            "appointments": report_url(ReportType.APPOINTMENT_SUMMARY),
            "doctors": report_url(ReportType.DOCTOR_PERFORMANCE),
            "services": report_url(ReportType.SERVICE_UTILIZATION),
            "leads": f"{reverse('lead_dashboard', args=[code])}?date_from={first:%Y-%m-%d}&date_to={last:%Y-%m-%d}",
            "patients": f"{reverse('patient_list', args=[code])}?registered_from={first:%Y-%m-%d}&registered_to={last:%Y-%m-%d}&sort=-registered",
        },
    }
