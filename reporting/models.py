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


def import_file_path(data_import, filename):
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else "csv"
    return f"imports/{data_import.clinic_id}/{uuid.uuid4().hex}.{extension}"


class ImportKind(models.TextChoices):
    PATIENTS = "patients", "Patients"
    APPOINTMENTS = "appointments", "Appointments"


class DataImport(ClinicOwnedModel):
    """A CSV or XLSX from another system, its columns mapped to ClinicOS's fields: a dry run
    reports each row's problems and the duplicates, then the worker imports the rows through
    the same services as the pages. A row already imported (its source id) is never created
    twice."""

    class Status(models.TextChoices):
        UPLOADED = "uploaded", "Uploaded"
        CHECKED = "checked", "Checked (dry run)"
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Importing"
        COMPLETED = "completed", "Imported"
        FAILED = "failed", "Failed"

    kind = models.CharField(max_length=20, choices=ImportKind)
    file = models.FileField(upload_to=import_file_path, max_length=255)
    original_name = models.CharField(max_length=255)
    mapping = models.JSONField(default=dict, blank=True, help_text="{ClinicOS field: the file's column}")
    status = models.CharField(max_length=12, choices=Status, default=Status.UPLOADED)
    dry_run = models.BooleanField(default=True)
    progress = models.PositiveSmallIntegerField(default=0)
    rows = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    duplicates = models.PositiveIntegerField(default=0)
    problems = models.JSONField(default=list, blank=True, help_text="[{row, field, message}], the first 1,000")
    duplicate_rows = models.JSONField(default=list, blank=True, help_text="[{row, reason, uhid}], the first 1,000")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    history = audited_history(excluded_fields=["problems", "duplicate_rows"])

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"Import of {self.original_name} ({self.get_kind_display().lower()})"


class ImportMapping(ClinicOwnedModel):
    """How this clinic's files name the columns, remembered for the next import."""

    kind = models.CharField(max_length=20, choices=ImportKind)
    mapping = models.JSONField(default=dict)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["clinic", "kind"], name="import_mapping_one_per_kind")]

    def __str__(self):
        return f"Column mapping for {self.get_kind_display().lower()}"
