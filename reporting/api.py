"""Reports in the JSON API (/api/v1/clinics/{code}/reports…): ask for one (202, queued for
the worker), follow it, download its PDF or XLSX once completed (409 before)."""

import datetime
from typing import Any

from django.core.paginator import Paginator
from ninja import Router, Schema, Status

from clinicos.api import Day, Input, Problem, check_query_days, clinic_context, field_problem
from clinicos.roles import Perm
from leads.selectors import dashboard_stats as lead_stats
from reporting import selectors, services
from reporting.dashboards import period_figures
from reporting.models import Report, ReportType

router = Router(tags=["reports", "dashboard"])
PAGE_SIZE = 25


class ReportIn(Input):
    report_type: str
    start_date: datetime.date | None = None
    end_date: datetime.date | None = None
    parameters: dict[str, Any] = {}


class ReportOut(Schema):
    id: int
    report_type: str
    status: str
    progress: int
    start_date: datetime.date
    end_date: datetime.date
    parameters: dict
    error: str
    requested_by: str
    created_at: datetime.datetime
    completed_at: datetime.datetime | None


class ReportPage(Schema):
    count: int
    page: int
    page_size: int
    results: list[ReportOut]


def report_out(report: Report) -> dict:
    return {
        "id": report.pk,
        "report_type": report.report_type,
        "status": report.status,
        "progress": report.progress,
        "start_date": report.start_date,
        "end_date": report.end_date,
        "parameters": report.parameters,
        "error": report.error,
        "requested_by": report.requested_by.full_name,
        "created_at": report.created_at,
        "completed_at": report.completed_at,
    }


@router.post("/{code}/reports/generate", response={202: ReportOut, 422: Problem})
def report_generate(request, code: str, payload: ReportIn):
    """Queue a report; the same request while one is queued or generating answers that one."""
    ctx = clinic_context(request, code, Perm.REPORTS_VIEW)
    report, _created = services.report_request(
        membership=ctx.membership,
        user=ctx.user,
        report_type=payload.report_type,
        start_date=payload.start_date,
        end_date=payload.end_date,
        parameters=payload.parameters,
    )
    return Status(202, report_out(report))


@router.get("/{code}/reports", response={200: ReportPage, 422: Problem})
def report_list(request, code: str, report_type: str = "", page: int = 1):
    """The reports this member may see, newest first."""
    ctx = clinic_context(request, code, Perm.REPORTS_VIEW)
    if report_type and report_type not in ReportType.values:
        return field_problem("report_type", f"Use one of: {', '.join(ReportType.values)}.", location="query")
    current = Paginator(selectors.reports_for(membership=ctx.membership, report_type=report_type), PAGE_SIZE).get_page(page)
    return {"count": current.paginator.count, "page": current.number, "page_size": PAGE_SIZE, "results": [report_out(r) for r in current]}


@router.get("/{code}/reports/{report_id}", response=ReportOut)
def report_detail(request, code: str, report_id: int):
    ctx = clinic_context(request, code, Perm.REPORTS_VIEW)
    return report_out(selectors.report_get(membership=ctx.membership, pk=report_id))


@router.get("/{code}/reports/{report_id}/download", response={200: None, 409: Problem, 422: Problem})
def report_download(request, code: str, report_id: int, format: str = "pdf"):
    """The report's PDF or XLSX (``format``); 409 until it is completed. Logged."""
    ctx = clinic_context(request, code, Perm.REPORTS_VIEW)
    if format not in ("pdf", "xlsx"):
        return field_problem("format", "Use pdf or xlsx.", location="query")
    report = selectors.report_get(membership=ctx.membership, pk=report_id)
    return selectors.report_file_response(request, report=report, file_format=format)


# --- The dashboard's figures ------------------------------------------------------------------


class StatsOut(Schema):
    date_from: datetime.date | None
    date_to: datetime.date | None
    total_leads: int
    converted: int
    conversion_rate: float
    cro_queue: int
    by_source: list[dict]
    revenue: str | None
    appointments_by_status: dict[str, int]
    no_show_rate: float
    new_patients: int


@router.get("/{code}/dashboard/stats", response={200: StatsOut, 422: Problem})
def dashboard_stats(request, code: str, date_from: Day | None = None, date_to: Day | None = None):
    """The clinic's figures for the range (open ends are not bounded): leads added, converted
    and the conversion rate (converted ÷ added × 100), the current CRO queue; revenue
    (payments less refunds, two decimals; null for a role that may not see the clinic's
    money), appointments by status, the no-show rate (no-shows ÷ appointments not
    cancelled × 100) and the patients registered. The same figures as the dashboard and
    the reports for the same range."""
    ctx = clinic_context(request, code, Perm.LEADS_WORK)
    check_query_days(date_from=date_from, date_to=date_to)
    stats = lead_stats(clinic=ctx.clinic, date_from=date_from, date_to=date_to)
    figures = period_figures(ctx.clinic, date_from, date_to, with_revenue=ctx.membership.has_perm_in_clinic(Perm.FINANCIALS_VIEW))
    return Status(
        200,
        {
            **stats,
            "conversion_rate": float(stats["conversion_rate"]),
            "revenue": None if figures["revenue"] is None else f"{figures['revenue']:.2f}",
            "appointments_by_status": figures["appointments_by_status"],
            "no_show_rate": float(figures["no_show_rate"]),
            "new_patients": figures["new_patients"],
        },
    )
