"""The full export of a clinic (Settings → Data export): one ZIP with a CSV per table, FHIR
R4 NDJSON per resource type (every patient's record, ``fhir.patient_bundle``), and the
documents themselves under ``documents/``. Every CSV cell is formula-safe
(``clinicos.spreadsheets``). Built by the worker, with progress; the request and each
download are on the audit trail."""

import csv
import io
import json
import tempfile
import zipfile
from collections.abc import Callable, Iterable

from django.core.files import File
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.utils import timezone

from billing.models import Invoice, Payment
from clinical.models import ClinicalNote, LabResult, PrescriptionItem, VitalSigns
from clinicos.errors import Conflict
from clinicos.models import Clinic, User
from clinicos.spreadsheets import safe_row
from patients.models import Document, Patient
from reporting.interop import fhir
from reporting.models import DataExport
from scheduling.models import Appointment

# file name -> (header, rows of a clinic)
TABLES: dict[str, tuple[tuple[str, ...], Callable[[Clinic], Iterable[tuple]]]] = {
    "patients.csv": (
        ("uhid", "first_name", "last_name", "gender", "date_of_birth", "mobile", "email", "city", "state", "postal_code", "country",
         "abha_number", "abha_address", "nhs_number", "external_reference", "registration_date", "status"),
        lambda clinic: Patient.objects.for_clinic(clinic).order_by("pk").values_list(
            "uhid", "first_name", "last_name", "gender", "date_of_birth", "mobile", "email", "city", "state", "postal_code", "country",
            "abha_number", "abha_address", "nhs_number", "external_reference", "registration_date", "status"),
    ),
    "appointments.csv": (
        ("reference", "patient_uhid", "doctor", "starts_at", "ends_at", "type", "status", "reason", "booked_via"),
        lambda clinic: Appointment.objects.for_clinic(clinic).order_by("starts_at", "pk").values_list(
            "reference", "patient__uhid", "doctor__user__full_name", "starts_at", "ends_at", "type", "status", "reason", "booked_via"),
    ),
    "visits_and_notes.csv": (
        ("visit", "patient_uhid", "doctor", "status", "started_at", "completed_at", "chief_complaint", "subjective", "objective",
         "assessment", "diagnosis_codes", "plan", "follow_up_date"),
        lambda clinic: ClinicalNote.objects.for_clinic(clinic).order_by("visit__started_at", "pk").values_list(
            "visit__reference", "visit__patient__uhid", "visit__doctor__user__full_name", "visit__status", "visit__started_at",
            "visit__completed_at", "chief_complaint", "subjective", "objective", "assessment", "diagnosis_codes", "plan", "follow_up_date"),
    ),
    "vitals.csv": (
        ("patient_uhid", "recorded_at", "systolic_bp", "diastolic_bp", "pulse_rate", "temperature_celsius", "respiratory_rate",
         "oxygen_saturation", "weight_kg", "height_cm", "bmi"),
        lambda clinic: VitalSigns.objects.for_clinic(clinic).order_by("recorded_at", "pk").values_list(
            "patient__uhid", "recorded_at", "systolic_bp", "diastolic_bp", "pulse_rate", "temperature_celsius", "respiratory_rate",
            "oxygen_saturation", "weight_kg", "height_cm", "bmi"),
    ),
    "prescriptions.csv": (
        ("prescription", "patient_uhid", "doctor", "status", "finalized_at", "medicine", "dosage", "frequency", "duration", "quantity"),
        lambda clinic: PrescriptionItem.objects.for_clinic(clinic).order_by("prescription_id", "position").values_list(
            "prescription__reference", "prescription__patient__uhid", "prescription__doctor__user__full_name", "prescription__status",
            "prescription__finalized_at", "medicine", "dosage", "frequency", "duration", "quantity"),
    ),
    "lab_results.csv": (
        ("order", "patient_uhid", "test_code", "test", "version", "current", "value", "value_text", "unit", "range_low", "range_high",
         "flag", "status", "entered_at"),
        lambda clinic: LabResult.objects.for_clinic(clinic).order_by("pk").values_list(
            "order_test__order__reference", "patient__uhid", "lab_test__code", "lab_test__name", "version", "is_current",
            "value_numeric", "value_text", "unit", "range_low", "range_high", "flag", "status", "entered_at"),
    ),
    "invoices.csv": (
        ("number", "patient_uhid", "status", "issue_date", "subtotal", "discount", "tax", "total", "paid"),
        lambda clinic: Invoice.objects.for_clinic(clinic).exclude(number="").order_by("pk").values_list(
            "number", "patient__uhid", "status", "issue_date", "subtotal", "discount_amount", "tax_amount", "total_amount", "amount_paid"),
    ),
    "payments.csv": (
        ("receipt", "patient_uhid", "invoice", "kind", "method", "amount", "reference", "received_at"),
        lambda clinic: Payment.objects.for_clinic(clinic).order_by("pk").values_list(
            "receipt_number", "patient__uhid", "invoice__number", "kind", "method", "amount", "reference", "received_at"),
    ),
    "documents.csv": (
        ("file", "patient_uhid", "name", "type", "original_name", "content_type", "size", "sha256", "uploaded_at"),
        lambda clinic: (
            (_document_path(d), d.patient.uhid, d.name, d.document_type, d.original_name, d.content_type, d.size, d.checksum_sha256,
             d.uploaded_at)
            for d in Document.objects.for_clinic(clinic).select_related("patient").order_by("pk")
        ),
    ),
}  # fmt: skip


def _document_path(document: Document) -> str:
    safe_name = "".join(c if c.isalnum() or c in "._-" else "_" for c in document.original_name)[:80]
    return f"documents/{document.patient.uhid}/{document.pk}-{safe_name}"


def _csv_bytes(header: tuple[str, ...], rows: Iterable[tuple]) -> tuple[bytes, int]:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    count = 0
    for row in rows:
        writer.writerow(safe_row(_plain(value) for value in row))
        count += 1
    return out.getvalue().encode("utf-8-sig"), count


def _plain(value):
    if isinstance(value, list):
        return " ".join(str(item) for item in value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def data_export_request(*, clinic: Clinic, user: User) -> tuple[DataExport, bool]:
    """Queue a full export, or answer the one already queued or being built."""
    from clinicos.tasks import enqueue_on_commit
    from reporting.tasks import build_data_export

    pending = DataExport.objects.for_clinic(clinic).filter(status__in=[DataExport.Status.QUEUED, DataExport.Status.RUNNING]).first()
    if pending is not None:
        return pending, False
    try:
        with transaction.atomic():
            export = DataExport.objects.create(clinic=clinic, requested_by=user)
            enqueue_on_commit(build_data_export, export.pk)
    except IntegrityError:  # asked at the same moment by another administrator: theirs
        return DataExport.objects.for_clinic(clinic).get(status__in=[DataExport.Status.QUEUED, DataExport.Status.RUNNING]), False
    return export, True


def _progress(export: DataExport, percent: int) -> None:
    DataExport.objects.filter(pk=export.pk).update(progress=min(percent, 99))


def data_export_build(*, export_id: int) -> DataExport:
    export = DataExport.objects.select_related("clinic").get(pk=export_id)
    if export.status == DataExport.Status.COMPLETED:
        return export
    export.status, export.started_at = DataExport.Status.RUNNING, timezone.now()
    export.save(update_fields=["status", "started_at"])
    clinic = export.clinic
    counts: dict[str, int] = {}
    try:
        with tempfile.TemporaryFile() as spool:
            with zipfile.ZipFile(spool, "w", compression=zipfile.ZIP_DEFLATED) as archive:
                for index, (name, (header, rows)) in enumerate(TABLES.items()):
                    content, counts[name] = _csv_bytes(header, rows(clinic))
                    archive.writestr(name, content)
                    _progress(export, 5 + index * 3)
                counts.update(_write_fhir(archive, export, clinic))
                counts["documents/"] = _write_documents(archive, clinic)
                archive.writestr("README.txt", _readme(clinic, counts))
            spool.seek(0)
            export.file.save(f"{clinic.code}.zip", File(spool), save=False)
            export.size = export.file.size
    except Exception as error:  # recorded for the administrator, who can ask again
        export.status, export.error, export.completed_at = DataExport.Status.FAILED, f"The export failed: {error}", timezone.now()
        export.save(update_fields=["status", "error", "completed_at"])
        raise
    export.status, export.progress, export.counts, export.completed_at = DataExport.Status.COMPLETED, 100, counts, timezone.now()
    export.save(update_fields=["status", "progress", "counts", "completed_at", "file", "size"])
    return export


def _write_fhir(archive: zipfile.ZipFile, export: DataExport, clinic: Clinic) -> dict[str, int]:
    """Every patient's record, one resource per line, a file per resource type (a resource
    shared by several patients — a doctor — once)."""
    seen: set[str] = set()
    lines: dict[str, list[str]] = {}
    patients = Patient.objects.for_clinic(clinic).order_by("pk")
    total = max(patients.count(), 1)
    for done, patient in enumerate(patients.iterator(chunk_size=200), 1):
        for entry in fhir.patient_bundle(patient)["entry"]:
            resource = entry["resource"]
            if resource["id"] in seen:
                continue
            seen.add(resource["id"])
            lines.setdefault(resource["resourceType"], []).append(json.dumps(resource, cls=DjangoJSONEncoder, ensure_ascii=False))
        if done % 50 == 0:
            _progress(export, 30 + done * 60 // total)
    counts = {}
    for resource_type, rows in sorted(lines.items()):
        archive.writestr(f"fhir/{resource_type}.ndjson", "\n".join(rows) + "\n")
        counts[f"fhir/{resource_type}.ndjson"] = len(rows)
    return counts


def _write_documents(archive: zipfile.ZipFile, clinic: Clinic) -> int:
    count = 0
    for document in Document.objects.for_clinic(clinic).select_related("patient").order_by("pk").iterator(chunk_size=100):
        with document.file.open("rb") as source, archive.open(_document_path(document), "w") as target:
            while chunk := source.read(1024 * 1024):
                target.write(chunk)
        count += 1
    return count


def _readme(clinic: Clinic, counts: dict[str, int]) -> str:
    lines = [
        f"{clinic.name} ({clinic.code}) — everything ClinicOS holds, exported {timezone.now().isoformat()}.",
        "CSV files: UTF-8, one header row; a cell that would start a spreadsheet formula starts with a quote.",
        "fhir/: FHIR R4 (4.0.1) resources, one JSON per line, ids stable across exports.",
        "documents/: the uploaded files, by patient UHID (documents.csv indexes them).",
        "",
        *(f"{name}: {count}" for name, count in counts.items()),
    ]
    return "\n".join(lines) + "\n"


def download_allowed(export: DataExport) -> None:
    if export.status != DataExport.Status.COMPLETED or not export.file:
        raise Conflict("This export is not ready yet.")
