"""Reporting's reads: the reports a member may see, one report (404 outside the clinic or
the member's reports), and its files behind a permission check."""

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import FileResponse, Http404

from clinicos.audit import record_read
from clinicos.errors import Conflict
from clinicos.models import Membership
from clinicos.roles import REPORTS_ALL_ROLES, REPORTS_OF_EVERYONE_ROLES
from reporting import services
from reporting.models import Report

CONTENT_TYPES = {"pdf": "application/pdf", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def reports_for(*, membership: Membership, report_type: str = "") -> QuerySet[Report]:
    """Administrators see the clinic's reports; others the types they may ask for, and
    doctors only their own requests (a doctor's performance is theirs)."""
    reports = Report.objects.for_clinic(membership.clinic).select_related("requested_by")
    if not membership.has_any_role(REPORTS_ALL_ROLES):
        reports = reports.filter(report_type__in=services.types_for(membership))
        if not membership.has_any_role(REPORTS_OF_EVERYONE_ROLES):
            reports = reports.filter(requested_by=membership.user)
    if report_type:
        reports = reports.filter(report_type=report_type)
    return reports.order_by("-created_at", "-id")


def report_get(*, membership: Membership, pk) -> Report:
    """A report of the member's clinic (404 otherwise) that they may see (403 otherwise)."""
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        raise Http404
    report = Report.objects.for_clinic(membership.clinic).select_related("clinic", "requested_by").filter(pk=pk).first()
    if report is None:
        raise Http404("No such report.")
    if not reports_for(membership=membership).filter(pk=report.pk).exists():
        raise PermissionDenied("Your role does not see this report.")
    return report


def report_file_response(request, *, report: Report, file_format: str) -> FileResponse:
    if report.status != Report.Status.COMPLETED:
        raise Conflict(f"The report is {report.get_status_display().lower()}: its files come when it is completed.")
    stored = report.pdf_file if file_format == "pdf" else report.xlsx_file
    record_read(request, clinic=report.clinic, obj=report, action=f"download {file_format}")
    response = FileResponse(stored.open("rb"), content_type=CONTENT_TYPES[file_format], as_attachment=file_format == "xlsx")
    name = f"{report.report_type}-{report.start_date}-{report.end_date}.{file_format}"
    response["Content-Disposition"] = f'{"attachment" if file_format == "xlsx" else "inline"}; filename="{name}"'
    response["Cache-Control"] = "private, no-store"
    return response
