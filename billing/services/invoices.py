"""Invoices: drafts (lines, discounts and tax computed here), issuing (numbered, frozen) and
cancelling by a credit note."""

import datetime
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F, Sum
from django.utils import timezone

from billing import arithmetic
from billing.arithmetic import ZERO
from billing.inputs import InvoiceLineInput, amount_problem
from billing.models import (
    CreditNote,
    DepositApplication,
    DocumentSequence,
    Invoice,
    InvoiceLine,
    Payment,
    Service,
    TaxClass,
)
from billing.services.amounts import INVOICE_LIMIT
from billing.services.numbers import next_document_number
from clinical.models import LabOrder, LabOrderTest, Visit
from clinicos.errors import Conflict, TransitionNotAllowed
from clinicos.models import Clinic, User
from clinicos.roles import Perm
from clinicos.text import check_no_nul
from patients.models import Patient

# --- Invoices: drafts ------------------------------------------------------------------------

# An invoice at this limit still prints in a few seconds (tested); 5,000 lines took 37 s.
MAX_LINES_PER_INVOICE = 200


def _clean_lines(clinic: Clinic, lines: list[InvoiceLineInput]) -> list[dict]:
    """Typed lines → the values a line row takes, or one ValidationError naming each
    problem as ``lines.<index>.<field>``. A line of the catalog takes its description, price
    and tax from the service unless they are given."""
    errors: dict[str, str] = {}
    cleaned = []
    if not lines:
        raise ValidationError({"lines": "Add at least one line."})
    if len(lines) > MAX_LINES_PER_INVOICE:
        raise ValidationError({"lines": f"At most {MAX_LINES_PER_INVOICE} lines on one invoice: split it."})
    service_ids = {line.service_id for line in lines} - {None}
    services = {service.pk: service for service in Service.objects.filter(clinic=clinic, pk__in=service_ids)}
    for index, line in enumerate(lines):
        prefix = f"lines.{index}."
        service = services.get(line.service_id) if line.service_id else None
        if line.service_id and service is None:
            errors[prefix + "service_id"] = "No such service in this clinic's catalog."
            continue
        cleaned.append(_clean_line(clinic, line, service, prefix, errors))
    if errors:
        raise ValidationError(errors)
    return cleaned


def _clean_line(clinic: Clinic, line: InvoiceLineInput, service: Service | None, prefix: str, errors: dict[str, str]) -> dict:
    """One line's values; its problems are added to ``errors``."""
    description = _clean_description(line, service, prefix, errors)
    quantity = _clean_quantity(line.quantity, prefix, errors)
    free_reason = _clean_free_reason(line, prefix, errors)
    unit_price, price_missing = _line_price(line, service, free_reason)
    if unit_price is None:
        errors[prefix + "unit_price"] = "Enter an amount."
    for field, amount in (("unit_price", unit_price), ("discount", line.discount)):
        problem = amount_problem(amount) if amount is not None else None
        if problem:
            errors[prefix + field] = problem
    if any(key.startswith(prefix) for key in errors):
        return {}  # not a line to compute with (NaN does not compare); the caller raises
    assert unit_price is not None
    _check_line_amounts(quantity, unit_price, line.discount, free_reason, prefix, errors)
    return {
        "service": service,
        "description": description,
        "hsn_sac": service.hsn_sac if service else "9993" if clinic.country == "IN" else "",
        "quantity": quantity,
        "unit_price": arithmetic.money(unit_price),
        "discount": arithmetic.money(line.discount),
        "tax_class": service.tax_class if service else TaxClass.EXEMPT,
        "tax_rate": service.tax_rate if service else ZERO,
        "price_missing": price_missing,
        "free_reason": free_reason,
    }


def _clean_quantity(quantity: int, prefix: str, errors: dict[str, str]) -> int:
    if quantity < 1:
        errors[prefix + "quantity"] = "The quantity must be at least 1."
    elif quantity > 10000:
        errors[prefix + "quantity"] = "The quantity can be at most 10,000."
    return quantity


def _line_price(line: InvoiceLineInput, service: Service | None, free_reason: str) -> tuple[Decimal | None, bool]:
    """The unit price (typed, else the service's) and whether the line is still unpriced:
    it came without a price, and neither a price nor a reason to give it free since."""
    unit_price = line.unit_price if line.unit_price is not None else service.price if service else None
    if unit_price is None and (line.price_missing or free_reason):
        unit_price = ZERO  # unpriced so far, or given free
    return unit_price, bool(line.price_missing and not free_reason and not unit_price)


def _check_line_amounts(
    quantity: int, unit_price: Decimal, discount: Decimal, free_reason: str, prefix: str, errors: dict[str, str]
) -> None:
    if quantity * unit_price > INVOICE_LIMIT:
        errors[prefix + "unit_price"] = "This line is too large for one invoice."
    elif discount > quantity * unit_price:
        errors[prefix + "discount"] = "The line discount cannot be more than the line's amount."
    if free_reason and unit_price:
        errors[prefix + "free_reason"] = "A line given free has no price: clear the price or the reason."


def _clean_free_reason(line: InvoiceLineInput, prefix: str, errors: dict[str, str]) -> str:
    reason = " ".join(line.free_reason.split())
    check_no_nul(free_reason=reason)
    if len(reason) > 200:
        errors[prefix + "free_reason"] = "Use at most 200 characters."
    return reason


def _clean_description(line: InvoiceLineInput, service: Service | None, prefix: str, errors: dict[str, str]) -> str:
    description = line.description or (service.name if service else "")
    check_no_nul(description=description)
    if not description:
        errors[prefix + "description"] = "Describe the line or choose a service."
    elif len(description) > 200:
        errors[prefix + "description"] = "Use at most 200 characters."
    return description


def _tax_scheme(invoice: Invoice) -> str:
    clinic = invoice.clinic
    return arithmetic.tax_scheme_for(clinic_country=clinic.country, clinic_state=clinic.state, patient_state=invoice.patient.state)


def _write_lines(invoice: Invoice, lines: list[dict]) -> None:
    """Replace the invoice's lines and compute every amount (``billing.arithmetic``)."""
    amounts = arithmetic.compute(
        [
            arithmetic.LineInput(
                quantity=line["quantity"],
                unit_price=line["unit_price"],
                discount=line["discount"],
                taxable=line["tax_class"] == TaxClass.TAXABLE,
                tax_rate=line["tax_rate"],
            )
            for line in lines
        ],
        discount=invoice.discount_amount,
        tax_scheme=_tax_scheme(invoice),
    )
    # Lines are updated in place (position by position) and saved one by one, so the
    # audit trail shows what changed on a line, not a delete and a create.
    existing = list(invoice.lines.order_by("position", "id")) if invoice.pk else []
    for position, (line, computed) in enumerate(zip(lines, amounts.lines, strict=True), start=1):
        values = {
            "position": position,
            "service": line["service"],
            "description": line["description"],
            "hsn_sac": line["hsn_sac"],
            "quantity": line["quantity"],
            "unit_price": line["unit_price"],
            "discount": line["discount"],
            "tax_class": line["tax_class"],
            "tax_rate": line["tax_rate"],
            "line_total": computed.line_total,
            "invoice_discount_share": computed.invoice_discount_share,
            "taxable_value": computed.taxable_value,
            "cgst_amount": computed.cgst,
            "sgst_amount": computed.sgst,
            "igst_amount": computed.igst,
            "vat_amount": computed.vat,
            "tax_amount": computed.tax,
            "price_missing": line["price_missing"],
            "free_reason": line["free_reason"],
        }
        record = existing[position - 1] if position <= len(existing) else InvoiceLine(clinic=invoice.clinic, invoice=invoice)
        if record.pk is None or any(getattr(record, field) != value for field, value in values.items()):
            for field, value in values.items():
                setattr(record, field, value)
            record.save()
    for stale in existing[len(lines) :]:
        stale.delete()
    invoice.subtotal = amounts.subtotal
    invoice.tax_amount = amounts.tax
    invoice.total_amount = amounts.total
    invoice.interstate = _tax_scheme(invoice) == "gst_inter"
    invoice.document_type = Invoice.DocumentType.TAX_INVOICE if amounts.tax_invoice else Invoice.DocumentType.BILL_OF_SUPPLY


def _current_lines(invoice: Invoice) -> list[InvoiceLineInput]:
    return [InvoiceLineInput.of_row(line) for line in invoice.lines.all()]


def _apply_header(
    invoice: Invoice, *, due_date=None, discount_amount: Decimal | None = None, notes: str | None = None, errors: dict
) -> None:
    if discount_amount is not None:
        problem = amount_problem(discount_amount)
        if problem:
            errors["discount_amount"] = problem
        else:
            invoice.discount_amount = arithmetic.money(discount_amount)
    if notes is not None:
        check_no_nul(notes=notes)
        if len(notes) > 2000:
            errors["notes"] = "Use at most 2,000 characters."
        invoice.notes = notes.strip()
    if due_date is not None:
        invoice.due_date = due_date
        if invoice.due_date < invoice.clinic.today() - datetime.timedelta(days=365):
            errors["due_date"] = "The due date is more than a year ago."


def _check_discount(invoice: Invoice, lines: list[dict]) -> None:
    subtotal = sum((arithmetic.line_total(line["quantity"], line["unit_price"], line["discount"]) for line in lines), ZERO)
    if subtotal > INVOICE_LIMIT:
        raise ValidationError({"lines": "These lines add up to more than one invoice can hold: split them."})
    if invoice.discount_amount > subtotal:
        raise ValidationError({"discount_amount": f"The discount cannot be more than the subtotal ({subtotal})."})
    # Provisional, until the lines are written: the row must satisfy its checks when saved.
    invoice.subtotal = subtotal
    invoice.total_amount = subtotal - invoice.discount_amount


@transaction.atomic
def invoice_create(
    *,
    clinic: Clinic,
    user: User,
    patient: Patient,
    lines: list[InvoiceLineInput],
    visit: Visit | None = None,
    due_date: datetime.date | None = None,
    discount_amount: Decimal | None = None,
    notes: str = "",
) -> Invoice:
    if patient.clinic_id != clinic.pk or (visit is not None and visit.clinic_id != clinic.pk):
        raise ValueError("The patient and visit must be of the clinic.")
    if visit is not None and visit.patient_id != patient.pk:
        raise ValidationError({"visit_id": "This visit is another patient's."})
    invoice = Invoice(clinic=clinic, patient=patient, visit=visit, doctor=visit.doctor if visit else None, created_by=user)
    cleaned = _clean_header_and_lines(invoice, lines, due_date=due_date, discount_amount=discount_amount, notes=notes)
    invoice.save()
    _write_lines(invoice, cleaned)
    invoice.save()
    return invoice


def _clean_header_and_lines(
    invoice: Invoice, lines: list[InvoiceLineInput], *, due_date, discount_amount: Decimal | None, notes: str | None
) -> list[dict]:
    """The header set on ``invoice`` and the lines checked: every problem of both at once."""
    errors: dict[str, str] = {}
    _apply_header(invoice, due_date=due_date, discount_amount=discount_amount, notes=notes, errors=errors)
    try:
        cleaned = _clean_lines(invoice.clinic, lines)
    except ValidationError as error:
        errors.update({field: messages[0] for field, messages in error.message_dict.items()})
        cleaned = []
    if errors:
        raise ValidationError(errors)
    _check_discount(invoice, cleaned)
    return cleaned


def _lock_invoice(invoice: Invoice) -> Invoice:
    return Invoice.objects.select_for_update().select_related("clinic", "patient").get(pk=invoice.pk)


def _only_draft(invoice: Invoice, action: str) -> None:
    if invoice.status != Invoice.Status.DRAFT:
        raise TransitionNotAllowed(f"Invoice {invoice.number} is {invoice.get_status_display().lower()}: it can no longer be {action}.")


@transaction.atomic
def invoice_update(
    *,
    invoice: Invoice,
    user: User,
    lines: list[InvoiceLineInput] | None = None,
    due_date: datetime.date | None = None,
    discount_amount: Decimal | None = None,
    notes: str | None = None,
) -> Invoice:
    invoice = _lock_invoice(invoice)
    _only_draft(invoice, "changed")
    lines = lines if lines is not None else _current_lines(invoice)
    cleaned = _clean_header_and_lines(invoice, lines, due_date=due_date, discount_amount=discount_amount, notes=notes)
    _write_lines(invoice, cleaned)
    invoice.save()
    return invoice


@transaction.atomic
def invoice_delete(*, invoice: Invoice, user: User) -> None:
    invoice = _lock_invoice(invoice)
    _only_draft(invoice, "deleted")
    invoice.lines.all().delete()
    invoice.delete()


def suggested_lines_for_visit(visit: Visit) -> list[InvoiceLineInput]:
    """The visit's consultation (the doctor's fee, with the catalog's consultation service
    of the doctor's department when there is one) and the lab tests ordered in it (priced
    from the catalog's service for each test)."""
    clinic = visit.clinic
    consultations = Service.objects.filter(clinic=clinic, is_active=True, service_type=Service.Type.CONSULTATION)
    consultation = consultations.filter(department_id=visit.doctor.department_id).first() or consultations.first()
    fee = visit.doctor.consultation_fee
    lines = [
        InvoiceLineInput(
            service_id=consultation.pk if consultation else None,
            description=f"Consultation — {visit.doctor}",
            unit_price=fee if fee > 0 or consultation is None else consultation.price,
        )
    ]
    tests = list(
        LabOrderTest.objects.filter(order__visit=visit).exclude(order__status=LabOrder.Status.CANCELLED).select_related("lab_test")
    )
    test_services = {
        service.lab_test_id: service
        for service in Service.objects.filter(clinic=clinic, is_active=True, lab_test_id__in=[t.lab_test_id for t in tests])
    }
    for order_test in tests:
        service = test_services.get(order_test.lab_test_id)
        lines.append(
            InvoiceLineInput(
                service_id=service.pk if service else None,
                description=service.name if service else f"Lab test — {order_test.lab_test.name}",
                unit_price=service.price if service else None,
                price_missing=service is None,
            )
        )
    return lines


@transaction.atomic
def invoice_draft_for_visit(*, visit: Visit, user: User) -> Invoice:
    """The visit's bill: its invoice if it has one (not cancelled), or a new draft
    pre-filled from the visit. Two taps at once still make one draft (a database
    constraint allows one draft per visit)."""
    Visit.objects.select_for_update().filter(pk=visit.pk).first()
    existing = (
        Invoice.objects.filter(clinic=visit.clinic, visit=visit).exclude(status=Invoice.Status.CANCELLED).order_by("created_at").first()
    )
    if existing is not None:
        return existing
    return invoice_create(clinic=visit.clinic, user=user, patient=visit.patient, visit=visit, lines=suggested_lines_for_visit(visit))


# --- Invoices: issue and cancel --------------------------------------------------------------


def _refuse_unpriced(lines: list[dict]) -> None:
    unpriced = [f"line {position} ({line['description']})" for position, line in enumerate(lines, start=1) if line["price_missing"]]
    if unpriced:
        raise Conflict(
            f"No price in the catalog for {', '.join(unpriced)}: enter the price, or mark the line free with a reason, before issuing."
        )


@transaction.atomic
def invoice_issue(*, invoice: Invoice, user: User, when: datetime.datetime | None = None) -> Invoice:
    """Draft → Issued: numbered from the clinic's counter for the financial year of the
    issue date; its amounts are computed again and frozen. Any refusal happens before the
    number is taken, and an error after it rolls the counter back: no gaps."""
    invoice = _lock_invoice(invoice)
    _only_draft(invoice, "issued")
    clinic = invoice.clinic
    if clinic.invoice_requires_completed_visit and invoice.visit_id:
        visit = Visit.objects.get(pk=invoice.visit_id)
        if visit.status != Visit.Status.COMPLETED:
            raise Conflict(
                f"Visit {visit.reference} is still in progress: the clinic issues a visit's invoice once the visit is completed."
            )
    lines = _current_lines(invoice)
    if not lines:
        raise ValidationError({"lines": "Add at least one line before issuing."})
    cleaned = _clean_lines(clinic, lines)
    _refuse_unpriced(cleaned)
    _write_lines(invoice, cleaned)
    now = when or timezone.now()
    today = timezone.localdate(now, clinic.tzinfo)
    if invoice.due_date is None:
        invoice.due_date = today + datetime.timedelta(days=clinic.invoice_due_days)
    elif invoice.due_date < today:
        raise ValidationError({"due_date": "The due date is before today, the day it is issued."})
    invoice.place_of_supply = (invoice.patient.state if invoice.interstate else clinic.state) or ""
    invoice.issue_date = today
    invoice.issued_at = now
    invoice.issued_by = user
    invoice.number = next_document_number(clinic=clinic, series=DocumentSequence.Series.INVOICE, day=today)
    invoice.status = Invoice.Status.ISSUED
    invoice.save()
    return _settle(invoice)


@transaction.atomic
def invoice_cancel(*, invoice: Invoice, user: User, membership, reason: str, when: datetime.datetime | None = None) -> CreditNote:
    """Cancel an issued invoice with a credit note (its own number, the reason). Deposits
    applied to it go back to the deposit; money paid in must be refunded first."""
    if not membership.has_perm_in_clinic(Perm.BILLING_REFUND):
        raise PermissionDenied("Only billing officers and administrators cancel issued invoices.")
    reason = (reason or "").strip()
    check_no_nul(reason=reason)
    if not reason:
        raise ValidationError({"reason": "Say why the invoice is cancelled (it is printed on the credit note)."})
    invoice = _lock_invoice(invoice)
    if invoice.status == Invoice.Status.DRAFT:
        raise TransitionNotAllowed("A draft is not cancelled: delete it instead.")
    if invoice.status == Invoice.Status.CANCELLED:
        raise TransitionNotAllowed(f"Invoice {invoice.number} is already cancelled.")
    paid_in = arithmetic.money(invoice.payments.aggregate(net=Sum(F("amount") - F("refunded_amount")))["net"] or ZERO)
    if paid_in > 0:
        raise Conflict(
            f"{invoice.clinic.currency} {paid_in} was paid on invoice {invoice.number}: refund it first, then cancel the invoice."
        )
    now = when or timezone.now()
    for application in invoice.deposit_applications.filter(released_at__isnull=True).select_for_update():
        deposit = Payment.objects.select_for_update().get(pk=application.deposit_id)
        deposit.applied_amount -= application.amount
        deposit.save(update_fields=["applied_amount"])
        application.released_at = now
        application.save(update_fields=["released_at"])
    today = timezone.localdate(now, invoice.clinic.tzinfo)
    credit_note = CreditNote.objects.create(
        clinic=invoice.clinic,
        invoice=invoice,
        number=next_document_number(clinic=invoice.clinic, series=DocumentSequence.Series.CREDIT_NOTE, day=today),
        issue_date=today,
        reason=reason,
        taxable_value=invoice.subtotal - invoice.discount_amount,
        tax_amount=invoice.tax_amount,
        total_amount=invoice.total_amount,
        issued_by=user,
        issued_at=now,
    )
    invoice.status = Invoice.Status.CANCELLED
    invoice.amount_paid = ZERO
    invoice.save()
    return credit_note


def _settle(invoice: Invoice) -> Invoice:
    """Derive the invoice's paid amount and status from its money entries (the invoice
    row is locked by the caller). The database refuses an overpaid invoice."""
    if invoice.status in (Invoice.Status.DRAFT, Invoice.Status.CANCELLED):
        return invoice
    paid = Payment.objects.filter(invoice=invoice).aggregate(net=Sum(F("amount") - F("refunded_amount")))["net"] or ZERO
    applied = DepositApplication.objects.filter(invoice=invoice, released_at__isnull=True).aggregate(total=Sum("amount"))["total"] or ZERO
    invoice.amount_paid = arithmetic.money(paid + applied)
    if invoice.amount_paid >= invoice.total_amount:
        invoice.status = Invoice.Status.PAID
    elif invoice.amount_paid > 0:
        invoice.status = Invoice.Status.PARTIALLY_PAID
    else:
        invoice.status = Invoice.Status.ISSUED
    invoice.save(update_fields=["amount_paid", "status", "updated_at"])
    return invoice
