"""Billing's reads: invoices with their money, the patient ledger, the day close and the
financial snapshot. Sums are the database's (``aggregate`` / ``annotate``); a page never
loops over a clinic's rows in Python."""

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, DecimalField, F, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce
from django.http import Http404

from billing.arithmetic import ZERO, money
from billing.models import CreditNote, DepositApplication, Invoice, InvoiceLine, Method, Payment, Refund, Service
from clinicos.models import Clinic, User
from patients.identity import search_key
from patients.models import Patient

MONEY_FIELD = DecimalField(max_digits=14, decimal_places=2)


def _money_sum(expression) -> Coalesce:
    return Coalesce(Sum(expression), Value(ZERO), output_field=MONEY_FIELD)


def _day_bounds(clinic: Clinic, first: datetime.date, last: datetime.date) -> tuple[datetime.datetime, datetime.datetime]:
    start = datetime.datetime.combine(first, datetime.time.min, tzinfo=clinic.tzinfo)
    end = datetime.datetime.combine(last + datetime.timedelta(days=1), datetime.time.min, tzinfo=clinic.tzinfo)
    return start, end


# --- The catalog --------------------------------------------------------------------------------


def services_of_clinic(*, clinic: Clinic, active_only: bool = False, service_type: str = "") -> QuerySet[Service]:
    services = Service.objects.for_clinic(clinic).select_related("department", "lab_test")
    if active_only:
        services = services.filter(is_active=True)
    if service_type:
        services = services.filter(service_type=service_type)
    return services


def service_get(*, clinic: Clinic, pk) -> Service:
    service = Service.objects.for_clinic(clinic).filter(pk=pk).first()
    if service is None:
        raise Http404("No such service.")
    return service


# --- Invoices ---------------------------------------------------------------------------------

INVOICE_STATUS_FILTERS = {*Invoice.Status.values, "overdue", "open"}


def invoice_list(
    *, clinic: Clinic, status: str = "", patient: Patient | None = None, q: str = "", date_from=None, date_to=None
) -> QuerySet[Invoice]:
    invoices = Invoice.objects.for_clinic(clinic).select_related("patient")
    if status == "overdue":
        invoices = invoices.filter(status__in=Invoice.OPEN_STATUSES, due_date__lt=clinic.today())
    elif status == "open":
        invoices = invoices.filter(status__in=Invoice.OPEN_STATUSES)
    elif status:
        invoices = invoices.filter(status=status)
    if patient is not None:
        invoices = invoices.filter(patient=patient)
    q = q.strip()
    if q:
        invoices = invoices.filter(Q(number=q.upper()) | Q(patient__uhid=q.upper()) | Q(patient__search_name__contains=search_key(q)))
    if date_from:
        invoices = invoices.filter(created_at__gte=_day_bounds(clinic, date_from, date_from)[0])
    if date_to:
        invoices = invoices.filter(created_at__lt=_day_bounds(clinic, date_to, date_to)[1])
    return invoices.order_by("-created_at", "-id")


def invoice_get(*, clinic: Clinic, pk) -> Invoice:
    """An invoice of this clinic, or 404 (also for another clinic's id)."""
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        raise Http404
    invoice = (
        Invoice.objects.for_clinic(clinic)
        .select_related("clinic", "patient", "visit", "doctor__user", "created_by", "issued_by")
        .filter(pk=pk)
        .first()
    )
    if invoice is None:
        raise Http404("No such invoice.")
    return invoice


def invoice_lines(invoice: Invoice) -> list[InvoiceLine]:
    return list(invoice.lines.select_related("service"))


def invoice_payments(invoice: Invoice) -> list[Payment]:
    return list(invoice.payments.select_related("received_by").prefetch_related("refunds__refunded_by").order_by("received_at", "id"))


def invoice_deposit_applications(invoice: Invoice) -> list[DepositApplication]:
    return list(invoice.deposit_applications.select_related("deposit", "applied_by"))


def invoice_credit_note(invoice: Invoice) -> CreditNote | None:
    return CreditNote.objects.filter(invoice=invoice).select_related("issued_by").first()


@dataclass
class TaxSplit:
    cgst: Decimal
    sgst: Decimal
    igst: Decimal
    vat: Decimal
    rates: list[dict]


def tax_split(invoice: Invoice, lines: list[InvoiceLine]) -> TaxSplit:
    """The tax per kind, and per rate (what Rule 46 prints: taxable value and tax by rate)."""
    by_rate: dict[Decimal, dict] = {}
    for line in lines:
        if line.tax_amount == 0:
            continue
        row = by_rate.setdefault(
            line.tax_rate, {"rate": line.tax_rate, "taxable": ZERO, "cgst": ZERO, "sgst": ZERO, "igst": ZERO, "vat": ZERO}
        )
        row["taxable"] += line.taxable_value
        row["cgst"] += line.cgst_amount
        row["sgst"] += line.sgst_amount
        row["igst"] += line.igst_amount
        row["vat"] += line.vat_amount
    return TaxSplit(
        cgst=sum((line.cgst_amount for line in lines), ZERO),
        sgst=sum((line.sgst_amount for line in lines), ZERO),
        igst=sum((line.igst_amount for line in lines), ZERO),
        vat=sum((line.vat_amount for line in lines), ZERO),
        rates=sorted(by_rate.values(), key=lambda row: row["rate"]),
    )


def payment_get(*, clinic: Clinic, pk) -> Payment:
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        raise Http404
    payment = (
        Payment.objects.for_clinic(clinic).select_related("clinic", "patient", "invoice__doctor__user", "received_by").filter(pk=pk).first()
    )
    if payment is None:
        raise Http404("No such payment.")
    return payment


def open_invoices_of_patient(*, patient: Patient) -> QuerySet[Invoice]:
    return Invoice.objects.filter(clinic=patient.clinic_id, patient=patient, status__in=Invoice.OPEN_STATUSES).order_by("issue_date", "id")


def deposits_of_patient(*, patient: Patient) -> QuerySet[Payment]:
    return Payment.objects.filter(clinic=patient.clinic_id, patient=patient, kind=Payment.Kind.DEPOSIT).order_by("-received_at")


# --- The patient ledger -----------------------------------------------------------------------


@dataclass
class LedgerEntry:
    at: datetime.datetime
    kind: str
    label: str
    reference: str
    debit: Decimal
    credit: Decimal
    balance: Decimal = ZERO
    url_name: str = ""
    url_id: int | None = None


def patient_ledger(*, patient: Patient) -> tuple[list[LedgerEntry], Decimal]:
    """Invoices issued (debit), payments and deposits (credit), refunds (debit) and credit
    notes (credit) in date order with the running balance: above 0 the patient owes,
    below 0 the clinic holds the patient's money (deposits not yet applied). Applying a
    deposit moves money within the account and changes no balance."""
    clinic_id = patient.clinic_id
    entries: list[LedgerEntry] = []
    for invoice in (
        Invoice.objects.filter(clinic=clinic_id, patient=patient)
        .exclude(status=Invoice.Status.DRAFT)
        .only("id", "number", "issued_at", "total_amount", "document_type")
    ):
        label = "Tax invoice" if invoice.document_type == Invoice.DocumentType.TAX_INVOICE else "Bill of supply"
        entries.append(
            LedgerEntry(
                invoice.issued_at,
                "invoice",
                label,
                invoice.number,
                invoice.total_amount,
                ZERO,
                url_name="invoice_detail",
                url_id=invoice.pk,
            )
        )
    for payment in (
        Payment.objects.filter(clinic=clinic_id, patient=patient)
        .select_related("invoice")
        .only("id", "kind", "receipt_number", "received_at", "amount", "method", "invoice__number")
    ):
        if payment.kind == Payment.Kind.DEPOSIT:
            label = f"Deposit ({payment.get_method_display()})"
        else:
            label = f"Payment of {payment.invoice.number} ({payment.get_method_display()})"
        entries.append(
            LedgerEntry(
                payment.received_at,
                payment.kind,
                label,
                payment.receipt_number,
                ZERO,
                payment.amount,
                url_name="payment_receipt",
                url_id=payment.pk,
            )
        )
    for refund in Refund.objects.filter(clinic=clinic_id, payment__patient=patient).select_related("payment"):
        entries.append(
            LedgerEntry(
                refund.refunded_at, "refund", f"Refund: {refund.reason}", f"Refund of {refund.payment.receipt_number}", refund.amount, ZERO
            )
        )
    for note in CreditNote.objects.filter(clinic=clinic_id, invoice__patient=patient).select_related("invoice"):
        entries.append(
            LedgerEntry(
                note.issued_at,
                "credit_note",
                f"Credit note for {note.invoice.number}",
                note.number,
                ZERO,
                note.total_amount,
                url_name="invoice_detail",
                url_id=note.invoice_id,
            )
        )
    entries.sort(key=lambda entry: entry.at)
    balance = ZERO
    for entry in entries:
        balance += entry.debit - entry.credit
        entry.balance = balance
    return entries, balance


# --- The day close and the snapshot ------------------------------------------------------------


def day_close(*, clinic: Clinic, day: datetime.date, user: User | None = None) -> dict:
    """Each user's collections and refunds of the day by method, for the evening cash
    count (``user``: only theirs)."""
    start, end = _day_bounds(clinic, day, day)
    payments = Payment.objects.for_clinic(clinic).filter(received_at__gte=start, received_at__lt=end)
    refunds = Refund.objects.for_clinic(clinic).filter(refunded_at__gte=start, refunded_at__lt=end)
    if user is not None:
        payments = payments.filter(received_by=user)
        refunds = refunds.filter(refunded_by=user)
    rows: dict[tuple[int, str], dict] = {}
    names: dict[int, str] = {}
    for row in payments.values("received_by", "received_by__full_name", "method").annotate(total=Sum("amount"), count=Count("id")):
        names[row["received_by"]] = row["received_by__full_name"]
        rows[(row["received_by"], row["method"])] = {"collected": money(row["total"]), "receipts": row["count"], "refunded": ZERO}
    for row in refunds.values("refunded_by", "refunded_by__full_name", "method").annotate(total=Sum("amount")):
        names[row["refunded_by"]] = row["refunded_by__full_name"]
        rows.setdefault((row["refunded_by"], row["method"]), {"collected": ZERO, "receipts": 0, "refunded": ZERO})["refunded"] = money(
            row["total"]
        )
    labels = dict(Method.choices)
    people = []
    for user_id in sorted(names, key=lambda pk: names[pk]):
        methods = [
            {"method": labels[method], "method_value": method, **values, "net": values["collected"] - values["refunded"]}
            for (uid, method), values in sorted(rows.items(), key=lambda item: list(labels).index(item[0][1]))
            if uid == user_id
        ]
        people.append(
            {
                "name": names[user_id],
                "methods": methods,
                "collected": sum((m["collected"] for m in methods), ZERO),
                "refunded": sum((m["refunded"] for m in methods), ZERO),
                "net": sum((m["net"] for m in methods), ZERO),
            }
        )
    by_method = []
    for method, label in Method.choices:
        collected = sum((v["collected"] for (_, m), v in rows.items() if m == method), ZERO)
        refunded = sum((v["refunded"] for (_, m), v in rows.items() if m == method), ZERO)
        if collected or refunded:
            by_method.append(
                {"method": label, "method_value": method, "collected": collected, "refunded": refunded, "net": collected - refunded}
            )
    return {
        "people": people,
        "by_method": by_method,
        "collected": sum((m["collected"] for m in by_method), ZERO),
        "refunded": sum((m["refunded"] for m in by_method), ZERO),
        "net": sum((m["net"] for m in by_method), ZERO),
    }


def financial_snapshot(*, clinic: Clinic, top: int = 5) -> dict:
    """Today's and this month's collections, what is outstanding and overdue, and the
    month's top services by billed value (janmasethu's financial snapshot)."""
    today = clinic.today()
    month_start = today.replace(day=1)
    open_invoices = Invoice.objects.for_clinic(clinic).filter(status__in=Invoice.OPEN_STATUSES)
    balance = _money_sum(F("total_amount") - F("amount_paid"))
    owed = open_invoices.aggregate(
        outstanding=balance,
        outstanding_count=Count("id"),
        overdue=Coalesce(Sum(F("total_amount") - F("amount_paid"), filter=Q(due_date__lt=today)), Value(ZERO), output_field=MONEY_FIELD),
        overdue_count=Count("id", filter=Q(due_date__lt=today)),
    )
    top_services = list(
        InvoiceLine.objects.for_clinic(clinic)
        .filter(invoice__issue_date__gte=month_start, invoice__issue_date__lte=today)
        .exclude(invoice__status__in=[Invoice.Status.DRAFT, Invoice.Status.CANCELLED])
        .values("service__name")
        .annotate(quantity=Sum("quantity"), revenue=_money_sum("taxable_value"))
        .exclude(service__name=None)
        .order_by("-revenue")[:top]
    )
    # Received and refunded, today and this month: one query for each table.
    day_start, day_end = _day_bounds(clinic, today, today)
    month_start_at = _day_bounds(clinic, month_start, month_start)[0]
    received = (
        Payment.objects.for_clinic(clinic)
        .filter(received_at__gte=month_start_at, received_at__lt=day_end)
        .aggregate(
            month=_money_sum("amount"),
            today=Coalesce(Sum("amount", filter=Q(received_at__gte=day_start)), Value(ZERO), output_field=MONEY_FIELD),
        )
    )
    refunded = (
        Refund.objects.for_clinic(clinic)
        .filter(refunded_at__gte=month_start_at, refunded_at__lt=day_end)
        .aggregate(
            month=_money_sum("amount"),
            today=Coalesce(Sum("amount", filter=Q(refunded_at__gte=day_start)), Value(ZERO), output_field=MONEY_FIELD),
        )
    )
    return {
        "today": today,
        "today_collections": money(received["today"] - refunded["today"]),
        "month_collections": money(received["month"] - refunded["month"]),
        "outstanding": money(owed["outstanding"]),
        "outstanding_count": owed["outstanding_count"],
        "overdue": money(owed["overdue"]),
        "overdue_count": owed["overdue_count"],
        "top_services": [
            {"name": row["service__name"], "quantity": row["quantity"], "revenue": money(row["revenue"])} for row in top_services
        ],
    }


def to_settle_today(*, clinic: Clinic) -> dict:
    """The front desk's billing for the day: today's invoices still open (balance to
    collect) and today's drafts still to issue — three queries."""
    today = clinic.today()
    open_today = invoice_list(clinic=clinic, status="open", date_from=today, date_to=today)
    totals = open_today.aggregate(count=Count("id"), balance=_money_sum(F("total_amount") - F("amount_paid")))
    drafts = invoice_list(clinic=clinic, status=Invoice.Status.DRAFT, date_from=today, date_to=today).count()
    return {
        "today": today,
        "open_count": totals["count"],
        "balance": money(totals["balance"]),
        "drafts": drafts,
        "open": list(open_today.order_by("created_at", "id")[:5]),
    }


def day_close_today(*, clinic: Clinic) -> dict:
    today = clinic.today()
    return {"today": today, **day_close(clinic=clinic, day=today)}
