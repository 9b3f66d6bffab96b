"""The reports: what each one computes, who may ask for it, and its columns. Every figure is
aggregated by the database (``values().annotate()``), never by looping over a clinic's rows.

A builder takes the clinic, the first and last day (the clinic's days) and its parameters,
and answers a ``ReportData``: typed columns, rows, a totals row and an optional chart."""

import datetime
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, DecimalField, F, Q, Sum, Value
from django.db.models.functions import Coalesce, TruncDate, TruncMonth

from billing.arithmetic import ZERO, money
from billing.models import CreditNote, Invoice, InvoiceLine, Payment, Refund
from clinicos.models import Clinic, DoctorProfile
from clinicos.roles import REPORT_ROLES_CLINIC_WIDE, REPORT_ROLES_DOCTOR_PERFORMANCE, REPORT_ROLES_FINANCIAL, REPORT_ROLES_LEAD_FUNNEL
from leads.models import Lead
from patients.models import Patient
from reporting.models import ReportType
from scheduling.models import Appointment, AppointmentStatus

MONEY_FIELD = DecimalField(max_digits=14, decimal_places=2)
FINANCIAL = REPORT_ROLES_FINANCIAL
ADMIN_ONLY = REPORT_ROLES_CLINIC_WIDE


@dataclass
class Column:
    key: str
    label: str
    kind: str = "text"  # text | date | int | number (2 decimals) | money | percent | mixed (per row)


@dataclass
class ReportData:
    columns: list[Column]
    rows: list[dict]
    totals: dict | None = None
    chart: dict | None = None  # {"title", "labels", "series": [(name, values)]}
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ReportDefinition:
    report_type: str
    description: str
    roles: frozenset
    build: Callable[..., ReportData]
    filters: tuple[str, ...] = ()


def _bounds(clinic: Clinic, first: datetime.date, last: datetime.date) -> tuple[datetime.datetime, datetime.datetime]:
    start = datetime.datetime.combine(first, datetime.time.min, tzinfo=clinic.tzinfo)
    end = datetime.datetime.combine(last + datetime.timedelta(days=1), datetime.time.min, tzinfo=clinic.tzinfo)
    return start, end


def _sum(expression, **kwargs) -> Coalesce:
    return Coalesce(Sum(expression, **kwargs), Value(ZERO), output_field=MONEY_FIELD)


def _total(rows: list[dict], keys: list[str], label_key: str, label: str = "Total") -> dict:
    totals: dict = {label_key: label}
    for key in keys:
        totals[key] = sum((row[key] for row in rows), ZERO if isinstance(rows[0][key] if rows else ZERO, Decimal) else 0)
    return totals


def _int_param(parameters: dict, name: str) -> int | None:
    value = parameters.get(name)
    return int(value) if isinstance(value, int) or (isinstance(value, str) and value.isdigit()) else None


# --- Money ------------------------------------------------------------------------------------


def revenue(clinic: Clinic, first: datetime.date, last: datetime.date, parameters: dict) -> ReportData:
    """Money received (payments and deposits) less refunds, per day — revenue as janmasethu
    counts it, the same figure as the dashboard's."""
    start, end = _bounds(clinic, first, last)
    received = dict(
        Payment.objects.for_clinic(clinic)
        .filter(received_at__gte=start, received_at__lt=end)
        .annotate(day=TruncDate("received_at", tzinfo=clinic.tzinfo))
        .values_list("day")
        .annotate(total=_sum("amount"))
    )
    refunded = dict(
        Refund.objects.for_clinic(clinic)
        .filter(refunded_at__gte=start, refunded_at__lt=end)
        .annotate(day=TruncDate("refunded_at", tzinfo=clinic.tzinfo))
        .values_list("day")
        .annotate(total=_sum("amount"))
    )
    rows = []
    for day in sorted(set(received) | set(refunded)):
        collected, back = money(received.get(day, ZERO)), money(refunded.get(day, ZERO))
        rows.append({"day": day, "collected": collected, "refunded": back, "net": collected - back})
    columns = [
        Column("day", "Day", "date"),
        Column("collected", "Collected", "money"),
        Column("refunded", "Refunded", "money"),
        Column("net", "Revenue", "money"),
    ]
    totals = (
        _total(rows, ["collected", "refunded", "net"], "day")
        if rows
        else {"day": "Total", "collected": ZERO, "refunded": ZERO, "net": ZERO}
    )
    chart = {
        "title": "Revenue per day",
        "labels": [row["day"].strftime("%d %b") for row in rows],
        "series": [("Revenue", [float(row["net"]) for row in rows])],
    }
    return ReportData(columns, rows, totals, chart if rows else None)


def _received(clinic: Clinic, first: datetime.date | None, last: datetime.date | None):
    """Payments and refunds in the range (an open end is not bounded)."""
    payments, refunds = Payment.objects.for_clinic(clinic), Refund.objects.for_clinic(clinic)
    if first:
        start = _bounds(clinic, first, first)[0]
        payments, refunds = payments.filter(received_at__gte=start), refunds.filter(refunded_at__gte=start)
    if last:
        end = _bounds(clinic, last, last)[1]
        payments, refunds = payments.filter(received_at__lt=end), refunds.filter(refunded_at__lt=end)
    return payments, refunds


def revenue_between(clinic: Clinic, first: datetime.date | None, last: datetime.date | None) -> Decimal:
    """Revenue in the range: money received less money refunded (two queries) — the revenue
    report's total for the same range."""
    payments, refunds = _received(clinic, first, last)
    received = payments.aggregate(total=_sum("amount"))["total"]
    refunded = refunds.aggregate(total=_sum("amount"))["total"]
    return money(received) - money(refunded)


def revenue_by_month(clinic: Clinic, last: datetime.date, months: int = 12) -> list[dict]:
    """Revenue of each of the ``months`` calendar months ending with ``last``'s: two queries."""
    first = last.replace(day=1)
    for _ in range(months - 1):
        first = (first - datetime.timedelta(days=1)).replace(day=1)
    payments, refunds = _received(clinic, first, last)
    received = dict(
        payments.annotate(month=TruncMonth("received_at", tzinfo=clinic.tzinfo)).values_list("month").annotate(total=_sum("amount"))
    )
    refunded = dict(
        refunds.annotate(month=TruncMonth("refunded_at", tzinfo=clinic.tzinfo)).values_list("month").annotate(total=_sum("amount"))
    )
    received = {_month_key(key): value for key, value in received.items()}
    refunded = {_month_key(key): value for key, value in refunded.items()}
    rows, month = [], first
    while month <= last:
        rows.append({"month": month, "net": money(received.get(month, ZERO)) - money(refunded.get(month, ZERO))})
        month = (month + datetime.timedelta(days=32)).replace(day=1)
    return rows


def _month_key(value) -> datetime.date:
    # TruncMonth answers a date on SQLite and an aware datetime on PostgreSQL.
    return value.date() if isinstance(value, datetime.datetime) else value


def collections_by_method(clinic: Clinic, first: datetime.date, last: datetime.date) -> list[dict]:
    """Collected, refunded and net per payment method in the range — the day book's
    figures summed over days and users: two queries."""
    payments, refunds = _received(clinic, first, last)
    collected = dict(payments.values_list("method").annotate(total=_sum("amount")))
    refunded = dict(refunds.values_list("method").annotate(total=_sum("amount")))
    labels = dict(Payment._meta.get_field("method").choices)  # type: ignore[arg-type]
    rows = []
    for method, label in labels.items():
        if method in collected or method in refunded:
            came, went = money(collected.get(method, ZERO)), money(refunded.get(method, ZERO))
            rows.append({"method": method, "label": label, "collected": came, "refunded": went, "net": came - went})
    return sorted(rows, key=lambda row: -row["net"])


def billing_summary(clinic: Clinic, first: datetime.date, last: datetime.date, parameters: dict) -> ReportData:
    """Invoices issued in the range by status: count, billed, paid, balance."""
    rows = list(
        Invoice.objects.for_clinic(clinic)
        .filter(issue_date__gte=first, issue_date__lte=last)
        .values("status")
        .annotate(
            invoices=Count("id"), billed=_sum("total_amount"), paid=_sum("amount_paid"), balance=_sum(F("total_amount") - F("amount_paid"))
        )
        .order_by("status")
    )
    labels = dict(Invoice.Status.choices)
    for row in rows:
        row["status"] = labels[row["status"]]
        for key in ("billed", "paid", "balance"):
            row[key] = money(row[key])
        if row["status"] == labels[Invoice.Status.CANCELLED]:
            row["paid"] = row["balance"] = ZERO  # a cancelled invoice owes nothing
    columns = [
        Column("status", "Status"),
        Column("invoices", "Invoices", "int"),
        Column("billed", "Billed", "money"),
        Column("paid", "Paid", "money"),
        Column("balance", "Balance", "money"),
    ]
    totals = _total(rows, ["invoices", "billed", "paid", "balance"], "status") if rows else None
    return ReportData(columns, rows, totals)


def sales_register(clinic: Clinic, first: datetime.date, last: datetime.date, parameters: dict) -> ReportData:
    """One row per document issued (invoices, and credit notes as negatives): what an
    accountant files from."""
    invoices = (
        Invoice.objects.for_clinic(clinic)
        .filter(issue_date__gte=first, issue_date__lte=last)
        .exclude(number="")
        .values(
            "id", "number", "issue_date", "document_type", "patient__first_name", "patient__last_name", "patient__uhid", "place_of_supply"
        )
        .annotate(
            taxable=_sum("lines__taxable_value"),
            cgst=_sum("lines__cgst_amount"),
            sgst=_sum("lines__sgst_amount"),
            igst=_sum("lines__igst_amount"),
            vat=_sum("lines__vat_amount"),
        )
        .order_by("issue_date", "number")
    )
    codes: dict[int, set] = {}
    for invoice_id, code in (
        InvoiceLine.objects.for_clinic(clinic)
        .filter(invoice__issue_date__gte=first, invoice__issue_date__lte=last)
        .values_list("invoice_id", "hsn_sac")
        .distinct()
    ):
        if code:
            codes.setdefault(invoice_id, set()).add(code)
    rows = []
    for row in invoices:
        amounts = {key: money(row[key]) for key in ("taxable", "cgst", "sgst", "igst", "vat")}
        rows.append(
            {
                "number": row["number"],
                "date": row["issue_date"],
                "document": "Tax invoice" if row["document_type"] == Invoice.DocumentType.TAX_INVOICE else "Bill of supply",
                "patient": f"{row['patient__first_name']} {row['patient__last_name']} ({row['patient__uhid']})",
                "hsn_sac": ", ".join(sorted(codes.get(row["id"], ()))),
                "place_of_supply": row["place_of_supply"],
                **amounts,
                "total": amounts["taxable"] + amounts["cgst"] + amounts["sgst"] + amounts["igst"] + amounts["vat"],
            }
        )
    notes = list(
        CreditNote.objects.for_clinic(clinic)
        .filter(issue_date__gte=first, issue_date__lte=last)
        .select_related("invoice__patient")
        .order_by("issue_date", "number")
    )
    splits = {
        row.pop("invoice"): row
        for row in InvoiceLine.objects.for_clinic(clinic)
        .filter(invoice__in=[note.invoice_id for note in notes])
        .values("invoice")
        .annotate(cgst=_sum("cgst_amount"), sgst=_sum("sgst_amount"), igst=_sum("igst_amount"), vat=_sum("vat_amount"))
    }
    no_tax = {"cgst": ZERO, "sgst": ZERO, "igst": ZERO, "vat": ZERO}
    for note in notes:
        split = splits.get(note.invoice_id, no_tax)
        rows.append(
            {
                "number": note.number,
                "date": note.issue_date,
                "document": f"Credit note for {note.invoice.number}",
                "patient": f"{note.invoice.patient.full_name} ({note.invoice.patient.uhid})",
                "hsn_sac": "",
                "place_of_supply": note.invoice.place_of_supply,
                "taxable": -note.taxable_value,
                **{key: -money(value) for key, value in split.items()},
                "total": -note.total_amount,
            }
        )
    rows.sort(key=lambda row: (row["date"], row["number"]))
    money_keys = ["taxable", "cgst", "sgst", "igst", "vat", "total"]
    columns = [
        Column("number", "Number"),
        Column("date", "Date", "date"),
        Column("document", "Document"),
        Column("patient", "Patient"),
        Column("hsn_sac", "HSN/SAC"),
        Column("place_of_supply", "Place of supply"),
        Column("taxable", "Taxable value", "money"),
        Column("cgst", "CGST", "money"),
        Column("sgst", "SGST", "money"),
        Column("igst", "IGST", "money"),
        Column("vat", "VAT", "money"),
        Column("total", "Total", "money"),
    ]
    totals = _total(rows, money_keys, "number") if rows else None
    return ReportData(columns, rows, totals)


def day_book(clinic: Clinic, first: datetime.date, last: datetime.date, parameters: dict) -> ReportData:
    """Collections and refunds by day, method and user."""
    start, end = _bounds(clinic, first, last)
    keyed: dict[tuple, dict] = {}
    for row in (
        Payment.objects.for_clinic(clinic)
        .filter(received_at__gte=start, received_at__lt=end)
        .annotate(day=TruncDate("received_at", tzinfo=clinic.tzinfo))
        .values("day", "method", "received_by__full_name")
        .annotate(total=_sum("amount"), receipts=Count("id"))
    ):
        entry = keyed.setdefault(
            (row["day"], row["method"], row["received_by__full_name"]), {"collected": ZERO, "receipts": 0, "refunded": ZERO}
        )
        entry.update(collected=money(row["total"]), receipts=row["receipts"])
    for row in (
        Refund.objects.for_clinic(clinic)
        .filter(refunded_at__gte=start, refunded_at__lt=end)
        .annotate(day=TruncDate("refunded_at", tzinfo=clinic.tzinfo))
        .values("day", "method", "refunded_by__full_name")
        .annotate(total=_sum("amount"))
    ):
        keyed.setdefault((row["day"], row["method"], row["refunded_by__full_name"]), {"collected": ZERO, "receipts": 0, "refunded": ZERO})[
            "refunded"
        ] = money(row["total"])
    labels = dict(Payment._meta.get_field("method").choices)  # type: ignore[arg-type]
    rows = [
        {"day": day, "method": labels.get(method, method), "user": user, **values, "net": values["collected"] - values["refunded"]}
        for (day, method, user), values in sorted(keyed.items(), key=lambda item: (item[0][0], item[0][1], item[0][2]))
    ]
    columns = [
        Column("day", "Day", "date"),
        Column("method", "Method"),
        Column("user", "Received by"),
        Column("receipts", "Receipts", "int"),
        Column("collected", "Collected", "money"),
        Column("refunded", "Refunded", "money"),
        Column("net", "Net", "money"),
    ]
    totals = _total(rows, ["receipts", "collected", "refunded", "net"], "day") if rows else None
    return ReportData(columns, rows, totals)


def service_utilization(clinic: Clinic, first: datetime.date, last: datetime.date, parameters: dict) -> ReportData:
    """What was billed, by service (issued invoices, cancelled ones left out)."""
    lines = (
        InvoiceLine.objects.for_clinic(clinic)
        .filter(invoice__issue_date__gte=first, invoice__issue_date__lte=last)
        .exclude(invoice__status__in=[Invoice.Status.DRAFT, Invoice.Status.CANCELLED])
    )
    service_id = _int_param(parameters, "service_id")
    if service_id:
        lines = lines.filter(service_id=service_id)
    rows = [
        {
            "service": row["service__name"] or "Free-text lines",
            "quantity": row["quantity"],
            "invoices": row["invoices"],
            "billed": money(row["billed"]),
        }
        for row in lines.values("service__name")
        .annotate(quantity=Sum("quantity"), invoices=Count("invoice", distinct=True), billed=_sum("taxable_value"))
        .order_by("-billed")
    ]
    columns = [
        Column("service", "Service"),
        Column("quantity", "Quantity", "int"),
        Column("invoices", "Invoices", "int"),
        Column("billed", "Billed (before tax)", "money"),
    ]
    totals = _total(rows, ["quantity", "billed"], "service") if rows else None
    chart = (
        {
            "title": "Billed by service",
            "labels": [row["service"][:24] for row in rows[:10]],
            "series": [("Billed", [float(row["billed"]) for row in rows[:10]])],
        }
        if rows
        else None
    )
    return ReportData(columns, rows, totals, chart, notes=["One service only."] if service_id else [])


# --- Activity ---------------------------------------------------------------------------------


def _appointments(clinic: Clinic, first: datetime.date, last: datetime.date, parameters: dict):
    start, end = _bounds(clinic, first, last)
    return _filtered_appointments(Appointment.objects.for_clinic(clinic).filter(starts_at__gte=start, starts_at__lt=end), parameters)


def _filtered_appointments(appointments, parameters: dict):
    doctor_id = _int_param(parameters, "doctor_id")
    if doctor_id:
        appointments = appointments.filter(doctor_id=doctor_id)
    department_id = _int_param(parameters, "department_id")
    if department_id:
        appointments = appointments.filter(doctor__department_id=department_id)
    return appointments


def no_show_rate(no_shows: int, counted: int) -> Decimal:
    """No-shows ÷ appointments that were due (cancelled ones left out) × 100."""
    return money(Decimal(no_shows) * 100 / counted) if counted else ZERO


def appointment_counts(clinic: Clinic, first: datetime.date | None, last: datetime.date | None, parameters: dict | None = None) -> dict:
    """Appointments starting in the range, per status (every status, zero when none), and
    the no-show rate: one query. An open end (None) is not bounded."""
    appointments = Appointment.objects.for_clinic(clinic)
    if first:
        appointments = appointments.filter(starts_at__gte=_bounds(clinic, first, first)[0])
    if last:
        appointments = appointments.filter(starts_at__lt=_bounds(clinic, last, last)[1])
    appointments = _filtered_appointments(appointments, parameters or {})
    found = dict(appointments.order_by().values_list("status").annotate(n=Count("id")))
    counts = {status: found.get(status, 0) for status in AppointmentStatus.values}
    due = sum(counts.values()) - counts[AppointmentStatus.CANCELLED]
    return {"by_status": counts, "due": due, "no_show_rate": no_show_rate(counts[AppointmentStatus.NO_SHOW], due)}


def appointment_summary(clinic: Clinic, first: datetime.date, last: datetime.date, parameters: dict) -> ReportData:
    counts = appointment_counts(clinic, first, last, parameters)["by_status"]
    labels = dict(AppointmentStatus.choices)
    total = sum(counts.values())
    rows = [
        {
            "status": labels[status],
            "appointments": counts.get(status, 0),
            "share": money(Decimal(counts.get(status, 0)) * 100 / total) if total else ZERO,
        }
        for status in AppointmentStatus.values
    ]
    due = total - counts.get(AppointmentStatus.CANCELLED, 0)
    columns = [Column("status", "Status"), Column("appointments", "Appointments", "int"), Column("share", "Share", "percent")]
    chart = (
        {
            "title": "Appointments by status",
            "labels": [row["status"] for row in rows],
            "series": [("Appointments", [row["appointments"] for row in rows])],
        }
        if total
        else None
    )
    return ReportData(
        columns,
        rows,
        {"status": "Total", "appointments": total, "share": Decimal("100.00") if total else ZERO},
        chart,
        notes=[f"No-show rate: {no_show_rate(counts.get(AppointmentStatus.NO_SHOW, 0), due)} % of {due} appointments due."],
    )


def patient_statistics(clinic: Clinic, first: datetime.date, last: datetime.date, parameters: dict) -> ReportData:
    """Patients registered in the range, by sex, and how many came (an appointment in the range)."""
    start, end = _bounds(clinic, first, last)
    registered = dict(
        Patient.objects.for_clinic(clinic)
        .filter(registration_date__gte=first, registration_date__lte=last)
        .values_list("gender")
        .annotate(n=Count("id"))
    )
    seen = dict(
        Patient.objects.for_clinic(clinic)
        .filter(appointments__starts_at__gte=start, appointments__starts_at__lt=end, appointments__status=AppointmentStatus.COMPLETED)
        .values_list("gender")
        .annotate(n=Count("id", distinct=True))
    )
    labels = dict(Patient._meta.get_field("gender").choices)  # type: ignore[arg-type]
    rows = [
        {"group": labels.get(gender, gender), "new": registered.get(gender, 0), "seen": seen.get(gender, 0)}
        for gender in sorted(set(registered) | set(seen))
    ]
    columns = [Column("group", "Sex"), Column("new", "New patients", "int"), Column("seen", "Patients seen", "int")]
    totals = {"group": "Total", "new": sum(registered.values()), "seen": sum(row["seen"] for row in rows)}
    return ReportData(columns, rows, totals)


def doctor_utilization(clinic: Clinic, first: datetime.date, last: datetime.date, doctors: list[DoctorProfile]) -> dict[int, dict]:
    """Per doctor: hours booked (appointments not cancelled), hours available (working hours
    and extra sessions less leave and holidays) and utilization = booked ÷ available × 100."""
    from scheduling.selectors import available_minutes, booked_minutes

    available = available_minutes(clinic=clinic, doctors=doctors, first=first, last=last)
    booked = booked_minutes(clinic=clinic, first=first, last=last)
    result = {}
    for doctor in doctors:
        booked_hours = money(Decimal(booked.get(doctor.pk) or 0) / 60)
        available_hours = money(Decimal(available.get(doctor.pk, 0)) / 60)
        result[doctor.pk] = {
            "booked_hours": booked_hours,
            "available_hours": available_hours,
            "utilization": money(booked_hours * 100 / available_hours) if available_hours else ZERO,
        }
    return result


def doctor_performance(clinic: Clinic, first: datetime.date, last: datetime.date, parameters: dict) -> ReportData:
    """Per doctor: appointments, completed, no-shows, the no-show rate, and what their
    visits billed (issued invoices)."""
    appointments = _appointments(clinic, first, last, parameters)
    counts = {
        row["doctor"]: row
        for row in appointments.values("doctor").annotate(
            booked=Count("id", filter=~Q(status=AppointmentStatus.CANCELLED)),
            completed=Count("id", filter=Q(status=AppointmentStatus.COMPLETED)),
            no_shows=Count("id", filter=Q(status=AppointmentStatus.NO_SHOW)),
        )
    }
    billed = dict(
        Invoice.objects.for_clinic(clinic)
        .filter(issue_date__gte=first, issue_date__lte=last, doctor__isnull=False)
        .exclude(status=Invoice.Status.CANCELLED)
        .values_list("doctor")
        .annotate(total=_sum("total_amount"))
    )
    doctors = list(
        DoctorProfile.objects.for_clinic(clinic)
        .filter(pk__in=set(counts) | set(billed))
        .select_related("user", "clinic")
        .order_by("user__full_name")
    )
    hours = doctor_utilization(clinic, first, last, doctors)
    rows = []
    for doctor in doctors:
        row = counts.get(doctor.pk, {"booked": 0, "completed": 0, "no_shows": 0})
        rows.append(
            {
                "doctor": str(doctor),
                "booked": row["booked"],
                "completed": row["completed"],
                "no_shows": row["no_shows"],
                "no_show_rate": no_show_rate(row["no_shows"], row["booked"]),
                **hours[doctor.pk],
                "billed": money(billed.get(doctor.pk, ZERO)),
            }
        )
    columns = [
        Column("doctor", "Doctor"),
        Column("booked", "Appointments", "int"),
        Column("completed", "Completed", "int"),
        Column("no_shows", "No-shows", "int"),
        Column("no_show_rate", "No-show rate", "percent"),
        Column("booked_hours", "Hours booked", "number"),
        Column("available_hours", "Hours available", "number"),
        Column("utilization", "Utilization", "percent"),
        Column("billed", "Billed", "money"),
    ]
    totals = _total(rows, ["booked", "completed", "no_shows", "booked_hours", "available_hours", "billed"], "doctor") if rows else None
    if totals:
        totals["no_show_rate"] = no_show_rate(totals["no_shows"], totals["booked"])
        available = totals["available_hours"]
        totals["utilization"] = money(totals["booked_hours"] * 100 / available) if available else ZERO
    return ReportData(columns, rows, totals)


def operational_metrics(clinic: Clinic, first: datetime.date, last: datetime.date, parameters: dict) -> ReportData:
    """The clinic's key figures for the range, one per row."""
    from clinical.models import LabOrder, Prescription, Visit

    start, end = _bounds(clinic, first, last)
    appointments = _appointments(clinic, first, last, parameters).aggregate(
        total=Count("id"),
        cancelled=Count("id", filter=Q(status=AppointmentStatus.CANCELLED)),
        no_shows=Count("id", filter=Q(status=AppointmentStatus.NO_SHOW)),
        completed=Count("id", filter=Q(status=AppointmentStatus.COMPLETED)),
    )
    due = appointments["total"] - appointments["cancelled"]
    figures = [
        ("Appointments booked", appointments["total"], "int"),
        ("Appointments completed", appointments["completed"], "int"),
        ("No-show rate (%)", no_show_rate(appointments["no_shows"], due), "percent"),
        ("Visits completed", Visit.objects.for_clinic(clinic).filter(completed_at__gte=start, completed_at__lt=end).count(), "int"),
        (
            "Prescriptions finalized",
            Prescription.objects.for_clinic(clinic).filter(finalized_at__gte=start, finalized_at__lt=end).count(),
            "int",
        ),
        ("Lab orders", LabOrder.objects.for_clinic(clinic).filter(ordered_at__gte=start, ordered_at__lt=end).count(), "int"),
        (
            "New patients",
            Patient.objects.for_clinic(clinic).filter(registration_date__gte=first, registration_date__lte=last).count(),
            "int",
        ),
        ("Revenue", revenue_between(clinic, first, last), "money"),
    ]
    rows = [{"metric": label, "value": value, "kind": kind} for label, value, kind in figures]
    return ReportData([Column("metric", "Metric"), Column("value", "Value", "mixed")], rows)


def lead_funnel(clinic: Clinic, first: datetime.date, last: datetime.date, parameters: dict) -> ReportData:
    """Leads added in the range by source: how many reached each stage; conversion =
    converted ÷ added × 100 (as the leads dashboard counts it)."""
    from leads.models import LeadStatus

    start, end = _bounds(clinic, first, last)
    leads = Lead.objects.for_clinic(clinic).filter(date_added__gte=start, date_added__lt=end)
    source = parameters.get("source")
    if isinstance(source, str) and source:
        leads = leads.filter(source=source)
    per_status = {status: Count("id", filter=Q(status=status)) for status in LeadStatus.values}
    rows = []
    for row in leads.values("source").annotate(added=Count("id"), **per_status).order_by("-added", "source"):
        converted = row[LeadStatus.CONVERTED]
        rows.append(
            {
                "source": row["source"],
                "added": row["added"],
                **{status: row[status] for status in LeadStatus.values},
                "conversion": money(Decimal(converted) * 100 / row["added"]) if row["added"] else ZERO,
            }
        )
    columns = [
        Column("source", "Source"),
        Column("added", "Added", "int"),
        *[Column(value, label, "int") for value, label in LeadStatus.choices],
        Column("conversion", "Conversion", "percent"),
    ]
    totals = None
    if rows:
        totals = _total(rows, ["added", *LeadStatus.values], "source")
        converted_total = totals[LeadStatus.CONVERTED]
        totals["conversion"] = money(Decimal(converted_total) * 100 / totals["added"]) if totals["added"] else ZERO
    return ReportData(columns, rows, totals)


REPORTS: dict[str, ReportDefinition] = {
    definition.report_type: definition
    for definition in (
        ReportDefinition(ReportType.PATIENT_STATISTICS, "New patients and patients seen, by sex.", ADMIN_ONLY, patient_statistics),
        ReportDefinition(ReportType.REVENUE, "Money received less refunds, per day.", FINANCIAL, revenue),
        ReportDefinition(
            ReportType.APPOINTMENT_SUMMARY,
            "Appointments by status and the no-show rate.",
            ADMIN_ONLY,
            appointment_summary,
            ("doctor_id", "department_id"),
        ),
        ReportDefinition(ReportType.SERVICE_UTILIZATION, "What was billed, by service.", FINANCIAL, service_utilization, ("service_id",)),
        ReportDefinition(
            ReportType.DOCTOR_PERFORMANCE,
            "Appointments, no-shows and billing per doctor.",
            REPORT_ROLES_DOCTOR_PERFORMANCE,
            doctor_performance,
            ("doctor_id", "department_id"),
        ),
        ReportDefinition(ReportType.BILLING_SUMMARY, "Invoices issued, by status.", FINANCIAL, billing_summary),
        ReportDefinition(ReportType.OPERATIONAL_METRICS, "The clinic's key figures.", ADMIN_ONLY, operational_metrics),
        ReportDefinition(
            ReportType.LEAD_FUNNEL,
            "Leads by source and stage, and conversion.",
            REPORT_ROLES_LEAD_FUNNEL,
            lead_funnel,
            ("source",),
        ),
        ReportDefinition(ReportType.SALES_REGISTER, "One row per invoice and credit note, with the tax split.", FINANCIAL, sales_register),
        ReportDefinition(ReportType.DAY_BOOK, "Collections and refunds by day, method and user.", FINANCIAL, day_book),
    )
}
assert set(REPORTS) == set(ReportType.values), "every report type needs a definition"
