"""Money: payments, deposits, refunds, and issuing with the whole balance taken. Each locks
the invoice (or the deposit) first; the paid amount and status are derived again from the
money entries (``_settle``), never typed in."""

import datetime
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F, Sum
from django.utils import timezone

from billing import arithmetic
from billing.arithmetic import ZERO
from billing.inputs import checked_amount
from billing.models import (
    DepositApplication,
    DocumentSequence,
    Invoice,
    Method,
    Payment,
    Refund,
)
from billing.services.invoices import _lock_invoice, _settle, invoice_issue
from billing.services.numbers import next_document_number
from clinicos.errors import TransitionNotAllowed
from clinicos.models import Clinic, User
from clinicos.roles import Perm
from clinicos.text import check_no_nul
from patients.models import Patient

# --- Money ------------------------------------------------------------------------------------


def _clean_money_entry(*, amount: Decimal, method, reference: str) -> tuple[Decimal, str]:
    errors: dict[str, str] = {}
    parsed = checked_amount(amount, "amount", allow_zero=False, errors=errors)
    if method not in Method.values:
        errors["method"] = f"Choose a method: {', '.join(Method.labels)}."
    reference = (reference or "").strip()
    check_no_nul(reference=reference)
    if len(reference) > 100:
        errors["reference"] = "Use at most 100 characters."
    if errors:
        raise ValidationError(errors)
    assert parsed is not None
    return parsed, reference


def _receipt_number(clinic: Clinic, when: datetime.datetime) -> str:
    return next_document_number(clinic=clinic, series=DocumentSequence.Series.RECEIPT, day=timezone.localdate(when, clinic.tzinfo))


# The checkout's quick buttons: issue and take the whole balance in one of these.
COLLECT_ON_ISSUE_METHODS = (Method.CASH, Method.UPI)


@transaction.atomic
def invoice_issue_and_collect(*, invoice: Invoice, user: User, method: str) -> tuple[Invoice, Payment | None]:
    """Issue the draft and take its whole balance with ``method`` (cash or UPI): both
    happen, or neither. No payment when nothing is due (a fully discounted invoice)."""
    if method not in COLLECT_ON_ISSUE_METHODS:
        raise ValidationError({"pay_method": "Take the whole balance in cash or by UPI, or issue without a payment."})
    invoice = invoice_issue(invoice=invoice, user=user)
    if invoice.balance_due <= 0:
        return invoice, None
    return invoice, payment_record(invoice=invoice, user=user, amount=invoice.balance_due, method=method)


@transaction.atomic
def payment_record(
    *, invoice: Invoice, user: User, amount: Decimal, method: str, reference: str = "", when: datetime.datetime | None = None
) -> Payment:
    """Take a payment for an issued invoice, never above its balance: the invoice row is
    locked first, so of two payments recorded at the same moment the second sees the
    first (and the database refuses an overpaid invoice in any case)."""
    amount, reference = _clean_money_entry(amount=amount, method=method, reference=reference)
    invoice = _lock_invoice(invoice)
    if invoice.status == Invoice.Status.PAID:
        raise ValidationError({"amount": f"Invoice {invoice.number} is already paid in full."})
    if invoice.status not in Invoice.OPEN_STATUSES:
        raise TransitionNotAllowed(
            "Issue the invoice before taking a payment."
            if invoice.status == Invoice.Status.DRAFT
            else f"Invoice {invoice.number} is cancelled."
        )
    if amount > invoice.balance_due:
        raise ValidationError({"amount": f"The balance of invoice {invoice.number} is {invoice.balance_due}: the payment cannot be more."})
    payment = Payment.objects.create(
        clinic=invoice.clinic,
        kind=Payment.Kind.PAYMENT,
        patient=invoice.patient,
        invoice=invoice,
        amount=amount,
        method=method,
        reference=reference,
        receipt_number=_receipt_number(invoice.clinic, when or timezone.now()),
        received_by=user,
        received_at=when or timezone.now(),
    )
    _settle(invoice)
    return payment


@transaction.atomic
def deposit_record(
    *,
    clinic: Clinic,
    patient: Patient,
    user: User,
    amount: Decimal,
    method: str,
    reference: str = "",
    when: datetime.datetime | None = None,
) -> Payment:
    """Money taken in advance (e.g. for a fertility package): held on the patient's
    account with a receipt, applied to later invoices."""
    if patient.clinic_id != clinic.pk:
        raise ValueError("The patient must be of the clinic.")
    amount, reference = _clean_money_entry(amount=amount, method=method, reference=reference)
    return Payment.objects.create(
        clinic=clinic,
        kind=Payment.Kind.DEPOSIT,
        patient=patient,
        amount=amount,
        method=method,
        reference=reference,
        receipt_number=_receipt_number(clinic, when or timezone.now()),
        received_by=user,
        received_at=when or timezone.now(),
    )


def deposit_available(*, patient: Patient) -> Decimal:
    """The patient's deposits not yet applied or refunded."""
    left = Payment.objects.filter(clinic=patient.clinic_id, patient=patient, kind=Payment.Kind.DEPOSIT).aggregate(
        left=Sum(F("amount") - F("refunded_amount") - F("applied_amount"))
    )["left"]
    return arithmetic.money(left or ZERO)  # SQLite sums decimals as floats: back to cents


@transaction.atomic
def deposit_apply(*, invoice: Invoice, user: User, amount: Decimal, when: datetime.datetime | None = None) -> list[DepositApplication]:
    """Pay (part of) an invoice from the patient's deposits, oldest deposit first."""
    amount = checked_amount(amount, "amount", allow_zero=False)
    invoice = _lock_invoice(invoice)
    if invoice.status not in Invoice.OPEN_STATUSES:
        raise TransitionNotAllowed("Deposits are applied to issued invoices with a balance.")
    if amount > invoice.balance_due:
        raise ValidationError({"amount": f"The balance of invoice {invoice.number} is {invoice.balance_due}: apply at most that."})
    deposits = list(
        Payment.objects.select_for_update()
        .filter(clinic=invoice.clinic, patient=invoice.patient_id, kind=Payment.Kind.DEPOSIT)
        .order_by("received_at", "id")
    )
    available = sum((deposit.refundable for deposit in deposits), ZERO)
    if amount > available:
        raise ValidationError({"amount": f"The patient's deposits hold {available}: apply at most that."})
    applications = []
    left = amount
    now = when or timezone.now()
    for deposit in deposits:
        take = min(left, deposit.refundable)
        if take <= 0:
            continue
        # Exact decimals computed here on the locked row (SQLite would add floats).
        deposit.applied_amount += take
        deposit.save(update_fields=["applied_amount"])
        applications.append(
            DepositApplication.objects.create(
                clinic=invoice.clinic, deposit=deposit, invoice=invoice, amount=take, applied_by=user, applied_at=now
            )
        )
        left -= take
        if left == 0:
            break
    _settle(invoice)
    return applications


@transaction.atomic
def refund_record(
    *,
    payment: Payment,
    user: User,
    membership,
    amount: Decimal,
    reason: str,
    method: str | None = None,
    when: datetime.datetime | None = None,
) -> Refund:
    """Give money back from a payment (re-opening its invoice's balance) or from what is
    left of a deposit: never more than was paid in and not already refunded or applied."""
    if not membership.has_perm_in_clinic(Perm.BILLING_REFUND):
        raise PermissionDenied("Only billing officers and administrators refund.")
    reason = (reason or "").strip()
    check_no_nul(reason=reason)
    errors: dict[str, str] = {}
    parsed = checked_amount(amount, "amount", allow_zero=False, errors=errors)
    if not reason:
        errors["reason"] = "Say why the money is refunded."
    method = method or payment.method
    if method not in Method.values:
        errors["method"] = "Choose a method."
    if errors:
        raise ValidationError(errors)
    assert parsed is not None
    invoice = _lock_invoice(payment.invoice) if payment.invoice is not None else None
    payment = Payment.objects.select_for_update().get(pk=payment.pk)
    if parsed > payment.refundable:
        what = "is left of this deposit" if payment.kind == Payment.Kind.DEPOSIT else "was paid and not yet refunded"
        raise ValidationError({"amount": f"{payment.clinic.currency} {payment.refundable} {what}: refund at most that."})
    refund = Refund.objects.create(
        clinic=payment.clinic,
        payment=payment,
        amount=parsed,
        method=method,
        reason=reason,
        refunded_by=user,
        refunded_at=when or timezone.now(),
    )
    payment.refunded_amount += parsed
    payment.save(update_fields=["refunded_amount"])
    if invoice is not None:
        _settle(invoice)
    return refund
