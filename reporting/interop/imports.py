"""Bringing another system's patients and appointments in (Settings → Import, and
``POST /api/v1/clinics/{code}/imports``).

A CSV or XLSX is read as rows of text under its header row; the clinic maps its columns to
ClinicOS's fields (guessed from the headers, remembered per clinic). Every row goes through
the same validation and services as the pages: ``PatientForm`` and ``patient_register``
(UHIDs in order, phones normalised, national IDs encrypted), ``appointment_book`` (no double
booking, only the clinic's doctors). The source system's id is kept (a patient's
``external_reference``, an appointment's ``external_reference``), so a second run of the same
file creates nothing twice: a known row is updated instead. A dry run reports each row's
problems and the likely duplicates and writes nothing."""

import csv
import datetime
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from clinicos.errors import REFUSALS, error_message
from clinicos.models import Clinic, DoctorProfile, User
from patients import identity
from patients import services as patient_services
from patients.forms import PatientForm
from patients.models import Patient
from reporting.models import DataImport, ImportKind, ImportMapping
from scheduling import services as scheduling_services
from scheduling.models import Appointment

MAX_PROBLEMS = 1000
MAX_ROWS = 200_000
MAX_BYTES = 50 * 1024 * 1024

# ClinicOS's fields of each kind: name -> (label, header spellings it is guessed from, required)
FIELDS: dict[str, dict[str, tuple[str, tuple[str, ...], bool]]] = {
    ImportKind.PATIENTS: {
        "source_id": (
            "Patient ID in the old system",
            ("id", "patientid", "mrn", "sourceid", "externalid", "patientno", "regno", "uhid"),
            True,
        ),
        "first_name": ("First name", ("firstname", "givenname", "forename", "first"), True),
        "last_name": ("Last name", ("lastname", "surname", "familyname", "last"), False),
        "mobile": ("Mobile", ("mobile", "phone", "mobileno", "phoneno", "contact", "cell", "telephone"), True),
        "email": ("Email", ("email", "emailaddress", "mail"), False),
        "gender": ("Sex", ("gender", "sex"), True),
        "date_of_birth": ("Birth date", ("dob", "dateofbirth", "birthdate", "birthday"), False),
        "age_years": ("Age (years)", ("age", "ageyears"), False),
        "city": ("City", ("city", "town"), False),
        "state": ("State", ("state", "province", "county"), False),
        "postal_code": ("Postal code", ("pincode", "postcode", "postalcode", "zip", "zipcode"), False),
        "national_id": ("National ID", ("aadhaar", "aadhar", "nationalid"), False),
        "abha_number": ("ABHA number", ("abha", "abhanumber", "healthid"), False),
        "nhs_number": ("NHS number", ("nhs", "nhsnumber"), False),
        "blood_group": ("Blood group", ("bloodgroup", "blood"), False),
    },
    ImportKind.APPOINTMENTS: {
        "source_id": ("Appointment ID in the old system", ("id", "appointmentid", "sourceid", "bookingid"), True),
        "patient": ("Patient (its ID in the old system, or UHID)", ("patientid", "patient", "mrn", "uhid"), True),
        "doctor": ("Doctor (name or email)", ("doctor", "doctorname", "provider", "practitioner", "consultant"), True),
        "start": ("Start (date and time)", ("start", "starttime", "datetime", "appointmenttime", "when", "date"), True),
        "duration_minutes": ("Minutes", ("duration", "minutes", "durationminutes", "length"), False),
        "type": ("Type", ("type", "appointmenttype", "visittype"), False),
        "reason": ("Reason", ("reason", "notes", "complaint", "purpose"), False),
    },
}
GENDERS = {"m": "male", "male": "male", "f": "female", "female": "female", "o": "other", "other": "other"}


def _key(header: str) -> str:
    return re.sub(r"[^a-z0-9]", "", header.lower())


def guess_mapping(kind: str, headers: list[str]) -> dict[str, str]:
    by_key = {_key(header): header for header in headers}
    mapping: dict[str, str] = {}
    for name, (_, spellings, _) in FIELDS[kind].items():
        found = next((by_key[s] for s in (_key(name), *spellings) if s in by_key), None)
        if found is not None and found not in mapping.values():
            mapping[name] = found
    return mapping


# --- Reading the file ---------------------------------------------------------------------------------


def read_table(content: bytes, name: str) -> tuple[list[str], list[list[str]]]:
    """(header, rows) of a CSV (comma, semicolon or tab; UTF-8 or Latin-1) or an XLSX (its first sheet)."""
    if name.lower().endswith(".xlsx"):
        from openpyxl import load_workbook

        try:
            sheet = load_workbook(io.BytesIO(content), read_only=True, data_only=True).worksheets[0]
        except Exception as error:
            raise ValidationError({"file": f"This is not a readable XLSX workbook ({error.__class__.__name__})."}) from None
        rows = [["" if cell is None else _cell_text(cell) for cell in row] for row in sheet.iter_rows(values_only=True)]
    else:
        try:
            text = content.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = content.decode("latin-1")
        if "\x00" in text:
            raise ValidationError({"file": "This file is not text: upload a CSV or an XLSX."})
        try:
            dialect = csv.Sniffer().sniff(text[:5000], delimiters=",;\t")
        except csv.Error:
            dialect = csv.excel
        rows = [row for row in csv.reader(io.StringIO(text), dialect)]
    rows = [row for row in rows if any(cell.strip() for cell in row)]
    if len(rows) < 2:
        raise ValidationError({"file": "The file needs a header row and at least one row of data."})
    if len(rows) - 1 > MAX_ROWS:
        raise ValidationError({"file": f"At most {MAX_ROWS:,} rows a file: split it."})
    header = [cell.strip() for cell in rows[0]]
    return header, rows[1:]


def _cell_text(value) -> str:
    if isinstance(value, datetime.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def check_mapping(kind: str, headers: list[str], mapping: dict[str, str]) -> dict[str, str]:
    unknown = [name for name in mapping if name not in FIELDS[kind]]
    missing_columns = [column for column in mapping.values() if column and column not in headers]
    required = [label for name, (label, _, needed) in FIELDS[kind].items() if needed and not mapping.get(name)]
    errors = {}
    if unknown:
        errors["mapping"] = f"Not fields of an import of {kind}: {', '.join(unknown)}."
    elif missing_columns:
        errors["mapping"] = f"The file has no column {', '.join(missing_columns)}."
    elif required:
        errors["mapping"] = f"Choose the column for: {', '.join(required)}."
    if errors:
        raise ValidationError(errors)
    return {name: column for name, column in mapping.items() if column}


# --- Rows ---------------------------------------------------------------------------------------------------


@dataclass
class Outcome:
    rows: int = 0
    created: int = 0
    updated: int = 0
    duplicates: int = 0
    problems: list[dict] = field(default_factory=list)
    duplicate_rows: list[dict] = field(default_factory=list)

    def problem(self, row: int, field_name: str, message: str) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append({"row": row, "field": field_name, "message": message})


def _values(header: list[str], row: list[str], mapping: dict[str, str]) -> dict[str, str]:
    index = {column: position for position, column in enumerate(header)}
    return {name: (row[index[column]] if index[column] < len(row) else "").strip() for name, column in mapping.items()}


def _patient_form_data(values: dict[str, str]) -> dict:
    data = {name: value for name, value in values.items() if name != "source_id"}
    if "gender" in data:
        data["gender"] = GENDERS.get(data["gender"].lower(), data["gender"].lower())
    if data.get("date_of_birth"):
        data["date_of_birth"] = _date_text(data["date_of_birth"])
    data["external_reference"] = values.get("source_id", "")
    return data


def _date_text(text: str) -> str:
    """Dates as other systems write them: 1990-01-31, 31/01/1990, 31-01-1990, 31.01.1990."""
    text = text.split(" ")[0].split("T")[0]
    for pattern in ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y"):
        try:
            return datetime.datetime.strptime(text, pattern).date().isoformat()
        except ValueError:
            continue
    return text


def values_mapped(values: dict[str, str]) -> set[str]:
    """The patient fields a row's mapped columns fill (the age fills the birth date)."""
    names = set(values) | {"external_reference"}
    return names | ({"date_of_birth"} if "age_years" in names else set())


class ImportPatientForm(PatientForm):
    """The chart's form, less the per-row unique-key queries: the import checks a batch's keys
    at once, and the database refuses whatever still clashes."""

    def validate_unique(self) -> None:
        return None


# Always on the import's form: what registration needs, whether or not the file has it.
IMPORT_FORM_CORE = {"first_name", "mobile", "gender", "date_of_birth", "age_years", "country", "external_reference"}


def import_form_class(mapped: set[str]) -> type[ImportPatientForm]:
    """The form with only the fields the file's columns fill (a form copies every field it
    has, for every row: thirty fields of which the file fills six cost a 100,000-row import
    minutes)."""
    keep = mapped | IMPORT_FORM_CORE
    form_class: type[ImportPatientForm] = type("MappedImportPatientForm", (ImportPatientForm,), {"__module__": __name__})
    form_class.base_fields = {name: field for name, field in ImportPatientForm.base_fields.items() if name in keep}
    return form_class


def _duplicates(clinic: Clinic, rows: list[dict]) -> dict[int, tuple[str, str]]:
    """For the rows of a batch: {index: (UHID, why)} of those already in the clinic — the same
    ABHA or NHS number or national ID, or the same phone, name and birth date."""
    patients = Patient.objects.for_clinic(clinic)
    by_id: dict[tuple[str, str], str] = {}
    for name, label in (("abha_number", "same ABHA number"), ("nhs_number", "same NHS number")):
        values = {row[name] for row in rows if row.get(name)}
        by_id |= (
            {(label, value): uhid for value, uhid in patients.filter(**{f"{name}__in": values}).values_list(name, "uhid")} if values else {}
        )
    hashes = {identity.national_id_hash(row["national_id"]): row["national_id"] for row in rows if row.get("national_id")}
    if hashes:
        found = patients.filter(national_id_hash__in=list(hashes)).values_list("national_id_hash", "uhid")
        by_id |= {("same national ID", hashes[h]): uhid for h, uhid in found}
    mobiles = {row["mobile"] for row in rows}
    people = {
        (m, n, d): uhid
        for m, n, d, uhid in patients.filter(mobile__in=mobiles).values_list("mobile", "search_name", "date_of_birth", "uhid")
    }
    found_rows = {}
    for index, row in enumerate(rows):
        for name, label in (("abha_number", "same ABHA number"), ("nhs_number", "same NHS number"), ("national_id", "same national ID")):
            if row.get(name) and (label, row[name]) in by_id:
                found_rows[index] = (by_id[(label, row[name])], label)
        person = (row["mobile"], identity.search_key(f"{row['first_name']} {row.get('last_name', '')}"), row.get("date_of_birth"))
        if index not in found_rows and person[2] and person in people:
            found_rows[index] = (people[person], "same phone, name and birth date")
    return found_rows


def _patient_update_row(existing: Patient, values: dict[str, str], number: int, outcome: Outcome) -> None:
    """A row imported before (its source id): what differs from the chart is updated."""
    # The form writes its values onto the instance it validates: remember the chart as it was.
    before = {name: getattr(existing, name) for name in patient_services.PATIENT_FIELDS}
    form = PatientForm(data=_patient_form_data(values), clinic=existing.clinic, instance=existing)
    if not form.is_valid():
        for name, messages in form.errors.items():
            outcome.problem(number, name if name != "__all__" else "", " ".join(str(message) for message in messages))
        return
    mapped = values_mapped(values)
    changes = {
        name: value
        for name, value in form.cleaned_data.items()
        if name in patient_services.PATIENT_FIELDS and name in mapped and before[name] != value
    }
    if changes:
        with transaction.atomic():
            patient_services.patient_update(patient=existing, changes=changes)
        outcome.updated += 1


def _patient_batch(clinic: Clinic, user: User, batch: list[tuple[int, dict[str, str]]], outcome: Outcome) -> None:
    sources = [values["source_id"] for _, values in batch if values.get("source_id")]
    existing = {p.external_reference: p for p in Patient.objects.for_clinic(clinic).filter(external_reference__in=sources)}
    checked: list[tuple[int, ImportPatientForm]] = []
    form_class = import_form_class(values_mapped(batch[0][1]) if batch else set())
    for number, values in batch:
        if values.get("source_id") in existing:
            _patient_update_row(existing[values["source_id"]], values, number, outcome)
            continue
        form = form_class(data=_patient_form_data(values), clinic=clinic)
        if form.is_valid():
            checked.append((number, form))
        else:
            for name, messages in form.errors.items():
                outcome.problem(number, name if name != "__all__" else "", " ".join(str(message) for message in messages))
    duplicates = _duplicates(clinic, [form.cleaned_data for _, form in checked])
    seen: dict[tuple, int] = {}
    fresh = []
    for index, (number, form) in enumerate(checked):
        data = form.cleaned_data
        person = (data["mobile"], identity.search_key(f"{data['first_name']} {data.get('last_name', '')}"), data.get("date_of_birth"))
        found = duplicates.get(index) or (
            (f"row {seen[person]}", "same phone, name and birth date") if person[2] and person in seen else None
        )
        if found is not None:
            outcome.duplicates += 1
            if len(outcome.duplicate_rows) < MAX_PROBLEMS:
                outcome.duplicate_rows.append({"row": number, "reason": found[1], "uhid": found[0]})
            continue
        seen[person] = number
        fresh.append((number, form))
    _register(clinic, user, fresh, outcome)


def _register(clinic: Clinic, user: User, fresh: list[tuple[int, ImportPatientForm]], outcome: Outcome) -> None:
    """The batch in one go; if a row clashes with a unique key, row by row so the others go in."""
    rows = [(form.patient_data(), form.cleaned_data.get("national_id")) for _, form in fresh]
    try:
        with transaction.atomic():
            patient_services.patients_register_many(clinic=clinic, user=user, rows=rows)
        outcome.created += len(rows)
        return
    except (IntegrityError, ValidationError):
        pass
    for (number, _), (data, national_id) in zip(fresh, rows, strict=True):
        try:
            with transaction.atomic():
                patient_services.patient_register(clinic=clinic, user=user, data=data, national_id=national_id, allow_duplicate=True)
            outcome.created += 1
        except IntegrityError:
            outcome.problem(number, "source_id", "Another row or patient already has this row's ID (its source ID, ABHA or NHS number).")
        except ValidationError as error:
            outcome.problem(number, "", " ".join(error.messages))


def _appointment_row(clinic: Clinic, user: User, values: dict[str, str], number: int, outcome: Outcome) -> None:
    source_id = values.get("source_id", "")
    if not source_id:
        outcome.problem(number, "source_id", "Every appointment needs its ID in the old system.")
        return
    if Appointment.objects.for_clinic(clinic).filter(external_reference=source_id).exists():
        return  # imported before: nothing twice
    patient_key = values.get("patient", "")
    patient = Patient.objects.for_clinic(clinic).filter(external_reference=patient_key).first() or (
        Patient.objects.for_clinic(clinic).filter(uhid=patient_key.upper()).first()
    )
    doctor_key = values.get("doctor", "").lower().removeprefix("dr ").removeprefix("dr. ")
    doctors = DoctorProfile.objects.for_clinic(clinic).select_related("user", "clinic")
    doctor = next((d for d in doctors if doctor_key in (d.user.email.lower(), d.user.full_name.lower())), None)
    start = _moment(values.get("start", ""), clinic)
    for problem, name in ((patient is None, "patient"), (doctor is None, "doctor"), (start is None, "start")):
        if problem:
            outcome.problem(
                number,
                name,
                {
                    "patient": "No patient of this clinic with this ID or UHID (import the patients first).",
                    "doctor": "No doctor of this clinic by this name or email.",
                    "start": "Give the start as 2026-12-07 10:30.",
                }[name],
            )
    if patient is None or doctor is None or start is None:
        return
    minutes = values.get("duration_minutes") or "30"
    try:
        with transaction.atomic():
            scheduling_services.appointment_book(
                clinic=clinic,
                user=user,
                membership=None,
                doctor=doctor,
                start=start,
                duration_minutes=int(minutes) if minutes.isdigit() else 0,
                type=values.get("type") or "consultation",
                reason=values.get("reason", ""),
                patient=patient,
                booked_via=Appointment.BookedVia.IMPORT,
                external_reference=source_id[:100],
            )
    except REFUSALS as error:
        outcome.problem(number, "start", error_message(error))
        return
    outcome.created += 1


def _moment(text: str, clinic: Clinic) -> datetime.datetime | None:
    text = text.strip().replace("T", " ")
    for pattern in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%d/%m/%Y %H:%M", "%d-%m-%Y %H:%M"):
        try:
            return datetime.datetime.strptime(text, pattern).replace(tzinfo=clinic.tzinfo)
        except ValueError:
            continue
    try:
        moment = datetime.datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if timezone.is_aware(moment) else moment.replace(tzinfo=clinic.tzinfo)


def _appointment_batch(clinic: Clinic, user: User, batch: list[tuple[int, dict[str, str]]], outcome: Outcome) -> None:
    for number, values in batch:
        with transaction.atomic():  # one booking: a refused row undoes only itself
            _appointment_row(clinic, user, values, number, outcome)


BATCH_HANDLERS = {ImportKind.PATIENTS: _patient_batch, ImportKind.APPOINTMENTS: _appointment_batch}
BATCH_SIZE = 500


def _batches(rows: Iterator[tuple[int, dict[str, str]]]) -> Iterator[list[tuple[int, dict[str, str]]]]:
    batch: list[tuple[int, dict[str, str]]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == BATCH_SIZE:
            yield batch
            batch = []
    if batch:
        yield batch


def rows_of(data_import: DataImport) -> tuple[list[str], Iterator[tuple[int, dict[str, str]]], int]:
    with data_import.file.open("rb") as source:
        header, rows = read_table(source.read(), data_import.original_name)
    mapping = check_mapping(data_import.kind, header, data_import.mapping)
    numbered = ((number, _values(header, row, mapping)) for number, row in enumerate(rows, start=2))  # row 1 is the header
    return header, numbered, len(rows)


# --- The services ---------------------------------------------------------------------------------------------


def import_upload(*, clinic: Clinic, user: User, kind: str, upload, mapping: dict[str, str] | None = None) -> DataImport:
    """Keep the file and guess (or take) its column mapping."""
    if kind not in ImportKind.values:
        raise ValidationError({"kind": "patients or appointments."})
    if upload.size > MAX_BYTES:
        raise ValidationError({"file": "At most 50 MB a file."})
    name = upload.name or "import.csv"
    if not name.lower().endswith((".csv", ".xlsx", ".txt")):
        raise ValidationError({"file": "Upload a CSV or an XLSX file."})
    content = upload.read()
    header, _ = read_table(content, name)
    saved = ImportMapping.objects.for_clinic(clinic).filter(kind=kind).first()
    guessed = {**guess_mapping(kind, header), **{k: v for k, v in (saved.mapping if saved else {}).items() if v in header}}
    chosen = check_mapping(kind, header, mapping) if mapping is not None else guessed
    upload.seek(0)
    data_import = DataImport(clinic=clinic, kind=kind, original_name=name[:255], mapping=chosen, requested_by=user)
    data_import.file.save(name, upload, save=False)
    data_import.save()
    return data_import


def import_remap(*, data_import: DataImport, mapping: dict[str, str]) -> DataImport:
    with data_import.file.open("rb") as source:
        header, _ = read_table(source.read(), data_import.original_name)
    data_import.mapping = check_mapping(data_import.kind, header, mapping)
    data_import.save(update_fields=["mapping"])
    ImportMapping.objects.update_or_create(clinic=data_import.clinic, kind=data_import.kind, defaults={"mapping": data_import.mapping})
    return data_import


def import_run(*, import_id: int, write: bool) -> DataImport:
    """Check (``write=False``: the dry run) or import every row, 500 at a time: new patients
    are registered a batch at once, and a row that fails undoes only itself; progress shows
    as it goes."""
    data_import = DataImport.objects.select_related("clinic", "requested_by").get(pk=import_id)
    clinic, user = data_import.clinic, data_import.requested_by
    _, rows, total = rows_of(data_import)
    handler = BATCH_HANDLERS[data_import.kind]
    outcome = Outcome(rows=total)
    if write:
        DataImport.objects.filter(pk=import_id).update(status=DataImport.Status.RUNNING, progress=0)
        for done, batch in enumerate(_batches(rows), 1):
            handler(clinic, user, batch, outcome)
            DataImport.objects.filter(pk=import_id).update(progress=min(99, done * BATCH_SIZE * 100 // max(total, 1)))
    else:
        # The dry run imports for real inside one transaction and rolls it all back: rows of
        # the same file that clash with each other (two bookings at 10:00) are found too.
        with transaction.atomic():
            for batch in _batches(rows):
                handler(clinic, user, batch, outcome)
            transaction.set_rollback(True)
    data_import.rows, data_import.created, data_import.updated, data_import.duplicates = (
        outcome.rows,
        outcome.created,
        outcome.updated,
        outcome.duplicates,
    )
    data_import.problems, data_import.duplicate_rows = outcome.problems, outcome.duplicate_rows
    data_import.dry_run = not write
    data_import.status = DataImport.Status.COMPLETED if write else DataImport.Status.CHECKED
    data_import.progress = 100 if write else 0
    data_import.completed_at = timezone.now() if write else None
    data_import.save()
    return data_import


def import_start(*, data_import: DataImport) -> DataImport:
    """Queue the import for the worker (after a dry run, or straight away from the API)."""
    from clinicos.tasks import enqueue_on_commit
    from reporting.tasks import run_data_import

    if data_import.status in (DataImport.Status.QUEUED, DataImport.Status.RUNNING, DataImport.Status.COMPLETED):
        return data_import
    data_import.status, data_import.dry_run = DataImport.Status.QUEUED, False
    data_import.save(update_fields=["status", "dry_run"])
    enqueue_on_commit(run_data_import, data_import.pk)
    return data_import
