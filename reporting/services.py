"""Reporting's rules: who may ask for which report, one job per identical request, and the
generation itself (run by the worker: ``reporting.tasks.generate_report``)."""

import datetime
import json
import logging

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from clinicos.models import DoctorProfile, Membership, Notification, User
from clinicos.roles import DOCTOR_PERFORMANCE_ANY_DOCTOR_ROLES
from clinicos.scoping import scope_of_row, scopes_disabled
from clinicos.services import notify
from clinicos.tasks import enqueue_on_commit
from clinicos.worker import MAX_ATTEMPTS, lease_cutoff
from reporting import files
from reporting.models import Report, ReportType
from reporting.reports import REPORTS

logger = logging.getLogger(__name__)
MAX_RANGE_DAYS = 731  # two years, a leap day included


def may_request(membership: Membership, report_type: str) -> bool:
    definition = REPORTS.get(report_type)
    return definition is not None and any(membership.has_role(role) for role in definition.roles)


def types_for(membership: Membership) -> list[str]:
    return [report_type for report_type in ReportType.values if may_request(membership, report_type)]


def _clean_parameters(membership: Membership, report_type: str, parameters: dict | None, user: User) -> dict:
    parameters = dict(parameters or {})
    allowed = REPORTS[report_type].filters
    unknown = set(parameters) - set(allowed)
    if unknown:
        raise ValidationError(
            {"parameters": f"This report takes {', '.join(allowed) or 'no parameters'}; not {', '.join(sorted(unknown))}."}
        )
    cleaned: dict = {}
    for name, value in parameters.items():
        if value in (None, ""):
            continue
        if name.endswith("_id"):
            if isinstance(value, bool) or not str(value).isdigit():
                raise ValidationError({"parameters": f"{name} is a number."})
            cleaned[name] = int(value)
        else:
            if not isinstance(value, str) or len(value) > 60 or "\x00" in value:
                raise ValidationError({"parameters": f"{name} is a short text."})
            cleaned[name] = value.strip()
    # A doctor's performance report is their own, whatever they ask for.
    if report_type == ReportType.DOCTOR_PERFORMANCE and not membership.has_any_role(DOCTOR_PERFORMANCE_ANY_DOCTOR_ROLES):
        own = DoctorProfile.objects.filter(clinic=membership.clinic, user=user).values_list("pk", flat=True).first()
        if own is None:
            raise PermissionDenied("Only a doctor with a profile in this clinic sees their performance.")
        cleaned["doctor_id"] = own
    return cleaned


def check_range(start_date, end_date) -> None:
    errors = {}
    if start_date is None:
        errors["start_date"] = "Choose the first day."
    if end_date is None:
        errors["end_date"] = "Choose the last day."
    if not errors and start_date > end_date:
        errors["end_date"] = "The last day is before the first."
    if not errors and (end_date - start_date).days >= MAX_RANGE_DAYS:
        errors["end_date"] = "A report covers at most two years."
    if errors:
        raise ValidationError(errors)


def parameters_key(parameters: dict) -> str:
    """The parameters in one canonical form: two requests with the same are the same."""
    return json.dumps(parameters, sort_keys=True, separators=(",", ":"))


def report_request(
    *, membership: Membership, user: User, report_type: str, start_date, end_date, parameters: dict | None = None
) -> tuple[Report, bool]:
    """Queue a report, or answer the same request already queued or generating. Returns
    (report, created)."""
    if report_type not in ReportType.values:
        raise ValidationError({"report_type": f"Unknown report type. Use one of: {', '.join(ReportType.values)}."})
    check_range(start_date, end_date)
    if not may_request(membership, report_type):
        raise PermissionDenied("Your role does not see this report.")
    clinic = membership.clinic
    cleaned = _clean_parameters(membership, report_type, parameters, user)
    key = parameters_key(cleaned)
    same = {"clinic": clinic, "report_type": report_type, "start_date": start_date, "end_date": end_date, "parameters_key": key}
    existing = Report.objects.filter(**same, status__in=Report.PENDING).first()
    if existing is not None and existing.status == Report.Status.GENERATING and existing.started_at < lease_cutoff():
        reports_recover_stuck(lease_cutoff())  # its worker died: queue it again now, not at the next sweep
        existing.refresh_from_db()
        existing = existing if existing.status in Report.PENDING else None  # failed for good: a new one
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            report = Report.objects.create(**same, parameters=cleaned, requested_by=user)
            _enqueue(report.pk)
    except IntegrityError:  # asked for at the same moment by someone else: theirs
        return Report.objects.get(**same, status__in=Report.PENDING), False
    return report, True


def _enqueue(report_id: int) -> None:
    from reporting.tasks import generate_report

    enqueue_on_commit(generate_report, report_id)


def report_generate(*, report_id: int) -> Report:
    """Queued → Generating → Completed with both files, or Failed with the error. The
    requester is told either way (the bell)."""
    report = Report.objects.select_related("clinic", "requested_by").get(pk=report_id)
    if report.status != Report.Status.QUEUED:
        return report
    report.status = Report.Status.GENERATING
    report.started_at = timezone.now()
    report.progress = 10
    report.attempts += 1
    report.save(update_fields=["status", "started_at", "progress", "attempts"])
    try:
        data = REPORTS[report.report_type].build(report.clinic, report.start_date, report.end_date, report.parameters)
        report.progress = 50
        report.save(update_fields=["progress"])
        stem = f"{report.report_type}-{report.start_date}-{report.end_date}"
        report.xlsx_file.save(f"{stem}.xlsx", ContentFile(files.xlsx(report, data)), save=False)
        report.progress = 75
        report.save(update_fields=["progress", "xlsx_file"])
        report.pdf_file.save(f"{stem}.pdf", ContentFile(files.pdf(report, data)), save=False)
    except Exception as error:  # the report says what went wrong; the worker carries on
        logger.exception("Report %s failed", report.pk)
        report.status = Report.Status.FAILED
        report.error = f"{type(error).__name__}: {error}"[:2000]
        report.completed_at = timezone.now()
        report.save(update_fields=["status", "error", "completed_at", "xlsx_file"])
        _tell(report, f"{report} could not be generated")
        return report
    report.status = Report.Status.COMPLETED
    report.progress = 100
    report.completed_at = timezone.now()
    report.save(update_fields=["status", "progress", "completed_at", "pdf_file"])
    _tell(report, f"{report} is ready")
    return report


def reports_recover_stuck(cutoff: datetime.datetime) -> int:
    """Reports a killed worker left "generating" (started before ``cutoff``): queued again
    for a worker, or failed (and their requester told) after ``MAX_ATTEMPTS``; either way
    the same report can be asked for again. Runs across clinics, each report in its own."""
    with scopes_disabled():
        stuck = list(Report.objects.filter(status=Report.Status.GENERATING, started_at__lt=cutoff).values_list("pk", flat=True))
    for report_id in stuck:
        with scope_of_row(Report, report_id), transaction.atomic():
            report = Report.objects.select_for_update().select_related("clinic").get(pk=report_id)
            if report.status != Report.Status.GENERATING:
                continue  # finished meanwhile
            if report.attempts >= MAX_ATTEMPTS:
                report.status = Report.Status.FAILED
                report.error = f"The worker stopped while generating it, {report.attempts} times. Ask for it again, or for a shorter range."
                report.completed_at = timezone.now()
                report.save(update_fields=["status", "error", "completed_at"])
                _tell(report, f"{report} could not be generated")
                continue
            report.status = Report.Status.QUEUED
            report.progress = 0
            report.save(update_fields=["status", "progress"])
            _enqueue(report_id)
    return len(stuck)


def _tell(report: Report, title: str) -> None:
    notify(
        clinic=report.clinic,
        recipients=[report.requested_by_id],
        kind=Notification.Kind.REPORT_READY,
        title=title,
        url=reverse("report_detail", args=[report.clinic.code, report.pk]),
    )
