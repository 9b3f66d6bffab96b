"""A report asked for by a member of staff, generated in the background (Django's tasks
framework, the database worker) into a PDF and an XLSX kept in storage per clinic."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from clinicos.models import ClinicOwnedModel, audited_history


def report_file_path(report, filename):
    # Unguessable and free of anything the requester chose: clinic/random.extension.
    extension = filename.rsplit(".", 1)[-1]
    return f"reports/{report.clinic_id}/{uuid.uuid4().hex}.{extension}"


class ReportType(models.TextChoices):
    PATIENT_STATISTICS = "patient_statistics", "Patient statistics"
    REVENUE = "revenue", "Revenue"
    APPOINTMENT_SUMMARY = "appointment_summary", "Appointment summary"
    SERVICE_UTILIZATION = "service_utilization", "Service utilization"
    DOCTOR_PERFORMANCE = "doctor_performance", "Doctor performance"
    BILLING_SUMMARY = "billing_summary", "Billing summary"
    OPERATIONAL_METRICS = "operational_metrics", "Operational metrics"
    LEAD_FUNNEL = "lead_funnel", "Lead funnel by source"
    SALES_REGISTER = "sales_register", "Sales register"
    DAY_BOOK = "day_book", "Day book"


class Report(ClinicOwnedModel):
    """Queued → Generating → Completed / Failed (healthcare-management-system's Report)."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        GENERATING = "generating", "Generating"
        COMPLETED = "completed", "Completed"
        FAILED = "failed", "Failed"

    PENDING = (Status.QUEUED, Status.GENERATING)

    report_type = models.CharField(max_length=30, choices=ReportType)
    status = models.CharField(max_length=12, choices=Status, default=Status.QUEUED)
    start_date = models.DateField()
    end_date = models.DateField()
    parameters = models.JSONField(default=dict, blank=True)
    # The parameters in one canonical form, so the same request can be recognised.
    parameters_key = models.CharField(max_length=500, blank=True, editable=False)
    progress = models.PositiveSmallIntegerField(default=0, help_text="Percent done while generating.")
    attempts = models.PositiveSmallIntegerField(default=0, help_text="Times a worker started it (a killed worker's report is retried).")
    error = models.TextField(blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    pdf_file = models.FileField(upload_to=report_file_path, max_length=255, blank=True)
    xlsx_file = models.FileField(upload_to=report_file_path, max_length=255, blank=True)

    history = audited_history()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # The same request while one is queued or generating is that one (the service
            # returns it; the database settles two asking at the same moment).
            models.UniqueConstraint(
                fields=["clinic", "report_type", "start_date", "end_date", "parameters_key"],
                condition=Q(status__in=["queued", "generating"]),
                name="report_one_pending_per_request",
            ),
            models.CheckConstraint(condition=Q(start_date__lte=models.F("end_date")), name="report_range_in_order"),
        ]
        indexes = [models.Index(fields=["clinic", "report_type", "-created_at"], name="report_type_created")]

    def __str__(self):
        return f"{self.get_report_type_display()} {self.start_date:%d %b %Y} – {self.end_date:%d %b %Y}"


def export_file_path(export, filename):
    return f"exports/{export.clinic_id}/{uuid.uuid4().hex}.zip"


class DataExport(ClinicOwnedModel):
    """Everything of one clinic in one ZIP (Settings → Data export): a CSV per table, FHIR
    NDJSON per resource type, and the documents themselves. Built by the worker."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Being built"
        COMPLETED = "completed", "Ready"
        FAILED = "failed", "Failed"

    status = models.CharField(max_length=12, choices=Status, default=Status.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0)
    file = models.FileField(upload_to=export_file_path, max_length=255, blank=True)
    size = models.PositiveBigIntegerField(default=0)
    counts = models.JSONField(default=dict, blank=True, help_text="Rows per file.")
    error = models.TextField(blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    history = audited_history()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["clinic"], condition=Q(status__in=["queued", "running"]), name="data_export_one_pending"),
        ]

    def __str__(self):
        return f"Data export of {self.created_at:%d %b %Y %H:%M}"
