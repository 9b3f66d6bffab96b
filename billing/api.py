"""Billing in the JSON API, under /api/v1/clinics/{code}/: services, invoices, payments,
deposits, refunds, the patient's financials and the clinic's snapshot. Amounts are strings
with 2 decimals. Front desk, billing officers and administrators bill; refunds and credit
notes are billing officers' and administrators'; clinical roles are refused (403). The
rules are ``billing.services``'; another clinic's id is a 404."""

import datetime
from decimal import Decimal

from django.core.paginator import Paginator
from ninja import Field, Router, Schema, Status

from billing import pdf, selectors, services
from billing.inputs import InvoiceLineInput
from billing.models import Invoice, Payment, Service
from clinicos.api import Input, Problem, clinic_context, field_problem, optional_body
from clinicos.audit import record_read
from clinicos.roles import Perm
from patients.selectors import patient_get_for_user

router = Router(tags=["billing"])
PAGE_SIZE = 25


def amount(value: Decimal) -> str:
    return f"{value:.2f}"


# --- Services ---------------------------------------------------------------------------------


class ServiceIn(Input):
    name: str
    service_type: str = Service.Type.CONSULTATION
    department_id: int | None = None
    lab_test_id: int | None = None
    price: Decimal
    default_duration_minutes: int | None = None
    tax_class: str = "exempt"
    tax_rate: Decimal = Decimal("0")
    hsn_sac: str = ""
    is_active: bool = True


class ServicePatch(Input):
    name: str | None = None
    service_type: str | None = None
    department_id: int | None = None
    lab_test_id: int | None = None
    price: Decimal | None = None
    default_duration_minutes: int | None = None
    tax_class: str | None = None
    tax_rate: Decimal | None = None
    hsn_sac: str | None = None
    is_active: bool | None = None


class ServiceOut(Schema):
    id: int
    name: str
    service_type: str
    department_id: int | None
    lab_test_id: int | None
    price: str
    default_duration_minutes: int | None
    tax_class: str
    tax_rate: str
    hsn_sac: str
    is_active: bool


def service_out(service: Service) -> dict:
    return {
        "id": service.pk,
        "name": service.name,
        "service_type": service.service_type,
        "department_id": service.department_id,
        "lab_test_id": service.lab_test_id,
        "price": amount(service.price),
        "default_duration_minutes": service.default_duration_minutes,
        "tax_class": service.tax_class,
        "tax_rate": amount(service.tax_rate),
        "hsn_sac": service.hsn_sac,
        "is_active": service.is_active,
    }


def _service_data(payload: Schema) -> dict:
    data = payload.dict(exclude_unset=True)
    for key in ("department_id", "lab_test_id"):
        if key in data:
            data[key.removesuffix("_id")] = data.pop(key)
    return data


def _resolve_service_relations(ctx, data: dict) -> dict:
    from clinical.models import LabTest
    from clinicos.models import Department

    if data.get("department") is not None:
        data["department"] = Department.objects.for_clinic(ctx.clinic).filter(pk=data["department"]).first()
        if data["department"] is None:
            raise _unprocessable("department_id", "No such department in this clinic.")
    if data.get("lab_test") is not None:
        data["lab_test"] = LabTest.objects.for_clinic(ctx.clinic).filter(pk=data["lab_test"]).first()
        if data["lab_test"] is None:
            raise _unprocessable("lab_test_id", "No such test in this clinic's lab catalog.")
    if "service_type" in data and data["service_type"] not in Service.Type.values:
        raise _unprocessable("service_type", f"Use one of: {', '.join(Service.Type.values)}.")
    if "tax_class" in data and data["tax_class"] not in ("exempt", "taxable"):
        raise _unprocessable("tax_class", "Use exempt or taxable.")
    return data


def _unprocessable(field: str, message: str):
    from django.core.exceptions import ValidationError

    return ValidationError({field: message})


@router.get("/{code}/services", response=list[ServiceOut])
def service_list(request, code: str, active: bool | None = None, service_type: str = ""):
    """The clinic's service catalog (``active=true`` for what can be billed now)."""
    ctx = clinic_context(request, code, Perm.BILLING_VIEW)
    return [service_out(s) for s in selectors.services_of_clinic(clinic=ctx.clinic, active_only=bool(active), service_type=service_type)]


@router.post("/{code}/services", response={201: ServiceOut, 422: Problem})
def service_create(request, code: str, payload: ServiceIn):
    ctx = clinic_context(request, code, Perm.SERVICES_MANAGE)
    data = _resolve_service_relations(ctx, _service_data(payload))
    return Status(201, service_out(services.service_save(clinic=ctx.clinic, user=ctx.user, **data)))


@router.patch("/{code}/services/{service_id}", response={200: ServiceOut, 422: Problem})
def service_patch(request, code: str, service_id: int, payload: ServicePatch):
    ctx = clinic_context(request, code, Perm.SERVICES_MANAGE)
    service = selectors.service_get(clinic=ctx.clinic, pk=service_id)
    data = _resolve_service_relations(ctx, _service_data(payload))
    return service_out(services.service_save(clinic=ctx.clinic, user=ctx.user, service=service, **data))


# --- Invoices -------------------------------------------------------------------------------


class LineIn(Input):
    service_id: int | None = None
    description: str = ""
    quantity: int = 1
    unit_price: Decimal | None = None
    discount: Decimal = Decimal("0")
    free_reason: str = Field("", description="Why the line is given free (its price then 0).")


class InvoiceIn(Input):
    patient_id: int
    visit_id: int | None = None
    due_date: datetime.date | None = None
    discount_amount: Decimal = Decimal("0")
    notes: str = ""
    lines: list[LineIn]


class InvoicePatch(Input):
    due_date: datetime.date | None = None
    discount_amount: Decimal | None = None
    notes: str | None = None
    lines: list[LineIn] | None = None


class CancelIn(Input):
    reason: str


class LineOut(Schema):
    id: int
    position: int
    service_id: int | None
    description: str
    hsn_sac: str
    quantity: int
    unit_price: str
    discount: str
    line_total: str
    tax_class: str
    tax_rate: str
    invoice_discount_share: str
    taxable_value: str
    cgst: str
    sgst: str
    igst: str
    vat: str
    tax_amount: str
    price_missing: bool = Field(description="No price in the catalog: issuing refuses the invoice until the line is priced or free.")
    free_reason: str


class CreditNoteOut(Schema):
    id: int
    number: str
    issue_date: datetime.date
    reason: str
    total_amount: str


class InvoiceSummaryOut(Schema):
    id: int
    number: str | None
    status: str
    overdue: bool
    document_type: str
    patient_id: int
    patient_name: str
    visit_id: int | None
    issue_date: datetime.date | None
    due_date: datetime.date | None
    total_amount: str
    amount_paid: str
    balance_due: str
    created_at: datetime.datetime


class InvoiceOut(InvoiceSummaryOut):
    """An invoice whole: the summary's fields and its lines, taxes and credit note."""

    place_of_supply: str
    interstate: bool
    lines: list[LineOut]
    subtotal: str
    discount_amount: str
    tax_amount: str
    cgst: str
    sgst: str
    igst: str
    vat: str
    notes: str
    credit_note: CreditNoteOut | None
    credit_note_number: str | None


class InvoicePage(Schema):
    count: int
    page: int
    page_size: int
    results: list[InvoiceSummaryOut]


class RefundOut(Schema):
    id: int
    payment_id: int
    amount: str
    method: str
    reason: str
    refunded_by: str
    refunded_at: datetime.datetime


class PaymentOut(Schema):
    id: int
    kind: str
    receipt_number: str
    amount: str
    method: str
    reference: str
    received_by: str
    received_at: datetime.datetime
    refunded_amount: str


class DepositApplicationOut(Schema):
    deposit_id: int
    receipt_number: str
    amount: str
    applied_at: datetime.datetime
    released: bool


class InvoiceDetailsOut(InvoiceOut):
    payments: list[PaymentOut]
    refunds: list[RefundOut]
    deposits_applied: list[DepositApplicationOut]


def line_out(line) -> dict:
    return {
        "id": line.pk,
        "position": line.position,
        "service_id": line.service_id,
        "description": line.description,
        "hsn_sac": line.hsn_sac,
        "quantity": line.quantity,
        "unit_price": amount(line.unit_price),
        "discount": amount(line.discount),
        "line_total": amount(line.line_total),
        "tax_class": line.tax_class,
        "tax_rate": amount(line.tax_rate),
        "invoice_discount_share": amount(line.invoice_discount_share),
        "taxable_value": amount(line.taxable_value),
        "cgst": amount(line.cgst_amount),
        "sgst": amount(line.sgst_amount),
        "igst": amount(line.igst_amount),
        "vat": amount(line.vat_amount),
        "tax_amount": amount(line.tax_amount),
        "price_missing": line.price_missing,
        "free_reason": line.free_reason,
    }


def invoice_summary_out(invoice: Invoice, today: datetime.date) -> dict:
    return {
        "id": invoice.pk,
        "number": invoice.number or None,
        "status": invoice.status,
        "overdue": invoice.is_overdue_on(today),
        "document_type": invoice.document_type,
        "patient_id": invoice.patient_id,
        "patient_name": invoice.patient.full_name,
        "visit_id": invoice.visit_id,
        "issue_date": invoice.issue_date,
        "due_date": invoice.due_date,
        "total_amount": amount(invoice.total_amount),
        "amount_paid": amount(invoice.amount_paid),
        "balance_due": amount(invoice.balance_due),
        "created_at": invoice.created_at,
    }


def invoice_out(invoice: Invoice) -> dict:
    lines = selectors.invoice_lines(invoice)
    split = selectors.tax_split(invoice, lines)
    note = selectors.invoice_credit_note(invoice)
    return {
        **invoice_summary_out(invoice, invoice.clinic.today()),
        "place_of_supply": invoice.place_of_supply,
        "interstate": invoice.interstate,
        "lines": [line_out(line) for line in lines],
        "subtotal": amount(invoice.subtotal),
        "discount_amount": amount(invoice.discount_amount),
        "tax_amount": amount(invoice.tax_amount),
        "cgst": amount(split.cgst),
        "sgst": amount(split.sgst),
        "igst": amount(split.igst),
        "vat": amount(split.vat),
        "notes": invoice.notes,
        "credit_note": (
            {
                "id": note.pk,
                "number": note.number,
                "issue_date": note.issue_date,
                "reason": note.reason,
                "total_amount": amount(note.total_amount),
            }
            if note
            else None
        ),
        "credit_note_number": note.number if note else None,
    }


def payment_out(payment: Payment) -> dict:
    return {
        "id": payment.pk,
        "kind": payment.kind,
        "receipt_number": payment.receipt_number,
        "amount": amount(payment.amount),
        "method": payment.method,
        "reference": payment.reference,
        "received_by": payment.received_by.full_name,
        "received_at": payment.received_at,
        "refunded_amount": amount(payment.refunded_amount),
    }


def _lines(payload_lines: list[LineIn]) -> list[InvoiceLineInput]:
    return [
        InvoiceLineInput(
            service_id=line.service_id,
            description=line.description.strip(),
            quantity=line.quantity,
            unit_price=line.unit_price,
            discount=line.discount,
            free_reason=line.free_reason,
        )
        for line in payload_lines
    ]


def _visit_of(ctx, visit_id: int | None):
    if visit_id is None:
        return None
    from clinical.models import Visit

    visit = Visit.objects.for_clinic(ctx.clinic).filter(pk=visit_id).select_related("doctor").first()
    if visit is None:
        raise _unprocessable("visit_id", "No such visit in this clinic.")
    return visit


@router.post("/{code}/invoices", response={201: InvoiceOut, 422: Problem})
def invoice_create(request, code: str, payload: InvoiceIn):
    """A draft invoice (no number yet). 422 with field messages for bad lines."""
    ctx = clinic_context(request, code, Perm.BILLING_EDIT)
    patient = patient_get_for_user(user=ctx.user, clinic=ctx.clinic, pk=payload.patient_id)
    invoice = services.invoice_create(
        clinic=ctx.clinic,
        user=ctx.user,
        patient=patient,
        visit=_visit_of(ctx, payload.visit_id),
        due_date=payload.due_date,
        discount_amount=payload.discount_amount,
        notes=payload.notes,
        lines=_lines(payload.lines),
    )
    return Status(201, invoice_out(selectors.invoice_get(clinic=ctx.clinic, pk=invoice.pk)))


@router.get("/{code}/invoices", response={200: InvoicePage, 422: Problem})
def invoice_list(request, code: str, status: str = "", patient_id: int | None = None, page: int = 1):
    """Invoices, newest first; ``status`` is a status, ``open`` or ``overdue``."""
    ctx = clinic_context(request, code, Perm.BILLING_VIEW)
    if status and status not in selectors.INVOICE_STATUS_FILTERS:
        return field_problem("status", f"Use one of: {', '.join(sorted(selectors.INVOICE_STATUS_FILTERS))}.", location="query")
    patient = patient_get_for_user(user=ctx.user, clinic=ctx.clinic, pk=patient_id) if patient_id is not None else None
    paginator = Paginator(selectors.invoice_list(clinic=ctx.clinic, status=status, patient=patient), PAGE_SIZE)
    current = paginator.get_page(page)
    today = ctx.clinic.today()
    return {
        "count": paginator.count,
        "page": current.number,
        "page_size": PAGE_SIZE,
        "results": [invoice_summary_out(i, today) for i in current],
    }


@router.get("/{code}/invoices/{invoice_id}", response=InvoiceOut)
def invoice_detail(request, code: str, invoice_id: int):
    ctx = clinic_context(request, code, Perm.BILLING_VIEW)
    return invoice_out(selectors.invoice_get(clinic=ctx.clinic, pk=invoice_id))


@router.get("/{code}/invoices/{invoice_id}/details", response=InvoiceDetailsOut)
def invoice_details(request, code: str, invoice_id: int):
    """The invoice with its lines, payments, refunds and the deposits applied to it."""
    ctx = clinic_context(request, code, Perm.BILLING_VIEW)
    invoice = selectors.invoice_get(clinic=ctx.clinic, pk=invoice_id)
    payments = selectors.invoice_payments(invoice)
    return {
        **invoice_out(invoice),
        "payments": [payment_out(p) for p in payments],
        "refunds": [
            {
                "id": refund.pk,
                "payment_id": payment.pk,
                "amount": amount(refund.amount),
                "method": refund.method,
                "reason": refund.reason,
                "refunded_by": refund.refunded_by.full_name,
                "refunded_at": refund.refunded_at,
            }
            for payment in payments
            for refund in payment.refunds.all()
        ],
        "deposits_applied": [
            {
                "deposit_id": a.deposit_id,
                "receipt_number": a.deposit.receipt_number,
                "amount": amount(a.amount),
                "applied_at": a.applied_at,
                "released": a.released_at is not None,
            }
            for a in selectors.invoice_deposit_applications(invoice)
        ],
    }


@router.patch("/{code}/invoices/{invoice_id}", response={200: InvoiceOut, 409: Problem, 422: Problem})
def invoice_patch(request, code: str, invoice_id: int, payload: InvoicePatch):
    """Change a draft (lines sent replace the old ones). 409 once issued: it is immutable."""
    ctx = clinic_context(request, code, Perm.BILLING_EDIT)
    invoice = selectors.invoice_get(clinic=ctx.clinic, pk=invoice_id)
    data = payload.dict(exclude_unset=True)
    services.invoice_update(
        invoice=invoice,
        user=ctx.user,
        lines=_lines(payload.lines) if payload.lines is not None else None,
        due_date=data.get("due_date"),
        discount_amount=data.get("discount_amount"),
        notes=data.get("notes"),
    )
    return invoice_out(selectors.invoice_get(clinic=ctx.clinic, pk=invoice.pk))


@router.delete("/{code}/invoices/{invoice_id}", response={204: None, 409: Problem})
def invoice_delete(request, code: str, invoice_id: int):
    """Delete a draft; an issued invoice is never deleted (cancel it: 409)."""
    ctx = clinic_context(request, code, Perm.BILLING_EDIT)
    services.invoice_delete(invoice=selectors.invoice_get(clinic=ctx.clinic, pk=invoice_id), user=ctx.user)
    return Status(204, None)


class IssueIn(Input):
    pay_method: str | None = None


@router.post("/{code}/invoices/{invoice_id}/issue", response={200: InvoiceOut, 400: Problem, 409: Problem, 415: Problem, 422: Problem})
def invoice_issue(request, code: str, invoice_id: int):
    """Number the invoice and make it immutable. 409 when its visit must be completed first.
    An optional body ``{"pay_method": "cash"|"upi"}`` also takes the whole balance, as the
    checkout's quick buttons do: both happen, or neither."""
    ctx = clinic_context(request, code, Perm.BILLING_EDIT)
    payload = optional_body(request, IssueIn)
    invoice = selectors.invoice_get(clinic=ctx.clinic, pk=invoice_id)
    if payload is not None and payload.pay_method:
        invoice, _payment = services.invoice_issue_and_collect(invoice=invoice, user=ctx.user, method=payload.pay_method)
    else:
        invoice = services.invoice_issue(invoice=invoice, user=ctx.user)
    return invoice_out(selectors.invoice_get(clinic=ctx.clinic, pk=invoice.pk))


@router.post("/{code}/invoices/{invoice_id}/cancel", response={200: InvoiceOut, 409: Problem, 422: Problem})
def invoice_cancel(request, code: str, invoice_id: int, payload: CancelIn):
    """Cancel an issued invoice with a credit note (billing officers and administrators)."""
    ctx = clinic_context(request, code, Perm.BILLING_REFUND)
    invoice = selectors.invoice_get(clinic=ctx.clinic, pk=invoice_id)
    services.invoice_cancel(invoice=invoice, user=ctx.user, membership=ctx.membership, reason=payload.reason)
    return invoice_out(selectors.invoice_get(clinic=ctx.clinic, pk=invoice.pk))


@router.get("/{code}/invoices/{invoice_id}/pdf", response={200: None, 409: Problem})
def invoice_pdf(request, code: str, invoice_id: int):
    """The invoice (or bill of supply) as an A4 PDF; a cancelled invoice's credit note
    is ``?document=credit_note``."""
    ctx = clinic_context(request, code, Perm.BILLING_VIEW)
    invoice = selectors.invoice_get(clinic=ctx.clinic, pk=invoice_id)
    content = pdf.invoice_pdf_for_request(request, invoice=invoice)
    return pdf.pdf_response(content, invoice.number or f"draft-{invoice.pk}")


# --- Payments, deposits, refunds ------------------------------------------------------------


class PaymentIn(Input):
    invoice_id: int
    amount: Decimal
    method: str
    reference: str = ""


class InvoiceState(Schema):
    id: int
    status: str
    amount_paid: str
    balance_due: str


class PaymentRecordedOut(Schema):
    id: int
    receipt_number: str
    amount: str
    method: str
    reference: str
    received_at: datetime.datetime
    invoice: InvoiceState


class RefundIn(Input):
    amount: Decimal
    reason: str
    method: str | None = None


class RefundRecordedOut(RefundOut):
    invoice: InvoiceState | None
    deposit_left: str | None


class DepositIn(Input):
    patient_id: int
    amount: Decimal
    method: str
    reference: str = ""


class DepositOut(Schema):
    id: int
    receipt_number: str
    patient_id: int
    amount: str
    method: str
    reference: str
    received_at: datetime.datetime
    available: str


class ApplyDepositIn(Input):
    amount: Decimal


def _invoice_state(invoice: Invoice) -> dict:
    return {
        "id": invoice.pk,
        "status": invoice.status,
        "amount_paid": amount(invoice.amount_paid),
        "balance_due": amount(invoice.balance_due),
    }


def _invoice_for_payment(ctx, invoice_id: int) -> Invoice:
    invoice = Invoice.objects.for_clinic(ctx.clinic).filter(pk=invoice_id).first()
    if invoice is None:
        raise _unprocessable("invoice_id", "No such invoice in this clinic.")
    return invoice


@router.post("/{code}/payments/process", response={201: PaymentRecordedOut, 409: Problem, 422: Problem})
def payment_process(request, code: str, payload: PaymentIn):
    """Take a payment for an issued invoice: at most its balance (422 above it, or with 3
    decimals; 409 for a draft or cancelled invoice). Answers with the receipt number."""
    ctx = clinic_context(request, code, Perm.BILLING_EDIT)
    invoice = _invoice_for_payment(ctx, payload.invoice_id)
    payment = services.payment_record(
        invoice=invoice, user=ctx.user, amount=payload.amount, method=payload.method, reference=payload.reference
    )
    invoice.refresh_from_db()
    return Status(
        201,
        {
            "id": payment.pk,
            "receipt_number": payment.receipt_number,
            "amount": amount(payment.amount),
            "method": payment.method,
            "reference": payment.reference,
            "received_at": payment.received_at,
            "invoice": _invoice_state(invoice),
        },
    )


@router.post("/{code}/payments/{payment_id}/refund", response={201: RefundRecordedOut, 409: Problem, 422: Problem})
def payment_refund(request, code: str, payment_id: int, payload: RefundIn):
    """Give back (part of) a payment or deposit, with a reason; never more than was paid."""
    ctx = clinic_context(request, code, Perm.BILLING_REFUND)
    payment = selectors.payment_get(clinic=ctx.clinic, pk=payment_id)
    refund = services.refund_record(
        payment=payment, user=ctx.user, membership=ctx.membership, amount=payload.amount, reason=payload.reason, method=payload.method
    )
    payment.refresh_from_db()
    invoice = Invoice.objects.get(pk=payment.invoice_id) if payment.invoice_id else None
    return Status(
        201,
        {
            "id": refund.pk,
            "payment_id": payment.pk,
            "amount": amount(refund.amount),
            "method": refund.method,
            "reason": refund.reason,
            "refunded_by": ctx.user.full_name,
            "refunded_at": refund.refunded_at,
            "invoice": _invoice_state(invoice) if invoice else None,
            "deposit_left": amount(payment.refundable) if payment.kind == Payment.Kind.DEPOSIT else None,
        },
    )


@router.get("/{code}/payments/{payment_id}/receipt", response={200: None})
def payment_receipt(request, code: str, payment_id: int):
    """The receipt of a payment or deposit, as an A4 PDF."""
    ctx = clinic_context(request, code, Perm.BILLING_VIEW)
    payment = selectors.payment_get(clinic=ctx.clinic, pk=payment_id)
    return pdf.pdf_response(pdf.receipt_pdf_for_request(request, payment=payment), payment.receipt_number)


@router.post("/{code}/deposits", response={201: DepositOut, 422: Problem})
def deposit_create(request, code: str, payload: DepositIn):
    """Money taken in advance, held on the patient's account with a receipt."""
    ctx = clinic_context(request, code, Perm.BILLING_EDIT)
    patient = patient_get_for_user(user=ctx.user, clinic=ctx.clinic, pk=payload.patient_id)
    deposit = services.deposit_record(
        clinic=ctx.clinic, patient=patient, user=ctx.user, amount=payload.amount, method=payload.method, reference=payload.reference
    )
    return Status(
        201,
        {
            "id": deposit.pk,
            "receipt_number": deposit.receipt_number,
            "patient_id": patient.pk,
            "amount": amount(deposit.amount),
            "method": deposit.method,
            "reference": deposit.reference,
            "received_at": deposit.received_at,
            "available": amount(services.deposit_available(patient=patient)),
        },
    )


@router.post("/{code}/invoices/{invoice_id}/apply-deposit", response={200: InvoiceOut, 409: Problem, 422: Problem})
def invoice_apply_deposit(request, code: str, invoice_id: int, payload: ApplyDepositIn):
    """Pay (part of) the invoice from the patient's deposits, oldest first."""
    ctx = clinic_context(request, code, Perm.BILLING_EDIT)
    invoice = selectors.invoice_get(clinic=ctx.clinic, pk=invoice_id)
    services.deposit_apply(invoice=invoice, user=ctx.user, amount=payload.amount)
    return invoice_out(selectors.invoice_get(clinic=ctx.clinic, pk=invoice.pk))


# --- Ledger and snapshot -----------------------------------------------------------------------


class LedgerEntryOut(Schema):
    date: datetime.datetime
    kind: str
    reference: str
    description: str
    debit: str
    credit: str
    balance: str


class FinancialsOut(Schema):
    entries: list[LedgerEntryOut]
    balance: str
    deposit_available: str


@router.get("/{code}/patients/{patient_id}/financials", response=FinancialsOut)
def patient_financials(request, code: str, patient_id: int):
    """The patient's ledger in date order with the running balance (above 0: owed)."""
    ctx = clinic_context(request, code, Perm.BILLING_VIEW)
    patient = patient_get_for_user(user=ctx.user, clinic=ctx.clinic, pk=patient_id)
    record_read(request, clinic=ctx.clinic, obj=patient, action="view ledger", patient_id=patient.pk)
    entries, balance = selectors.patient_ledger(patient=patient)
    return {
        "entries": [
            {
                "date": entry.at,
                "kind": entry.kind,
                "reference": entry.reference,
                "description": entry.label,
                "debit": amount(entry.debit),
                "credit": amount(entry.credit),
                "balance": amount(entry.balance),
            }
            for entry in entries
        ],
        "balance": amount(balance),
        "deposit_available": amount(services.deposit_available(patient=patient)),
    }


class TopServiceOut(Schema):
    name: str
    quantity: int
    revenue: str


class SnapshotOut(Schema):
    today_collections: str
    month_collections: str
    outstanding: str
    overdue: str
    outstanding_count: int
    overdue_count: int
    top_services: list[TopServiceOut]


@router.get("/{code}/financials/snapshot", response=SnapshotOut)
def financial_snapshot(request, code: str):
    """Today's and this month's collections (less refunds), outstanding and overdue
    balances, and the month's top services."""
    ctx = clinic_context(request, code, Perm.FINANCIALS_VIEW)
    snapshot = selectors.financial_snapshot(clinic=ctx.clinic)
    return {
        **{key: amount(snapshot[key]) for key in ("today_collections", "month_collections", "outstanding", "overdue")},
        "outstanding_count": snapshot["outstanding_count"],
        "overdue_count": snapshot["overdue_count"],
        "top_services": [{"name": s["name"], "quantity": s["quantity"], "revenue": amount(s["revenue"])} for s in snapshot["top_services"]],
    }
