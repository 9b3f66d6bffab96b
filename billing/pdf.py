"""Billing's documents as A4 PDFs (WeasyPrint), with the clinic's letterhead and tax
registration: the invoice (a *Tax invoice* or a *Bill of supply*, CGST Rules 46 and 49),
the credit note, the receipt and the patient's statement. Totals are written out in words
(num2words; Indian numbering — lakh, crore — for rupees)."""

import re
from decimal import Decimal

from django.http import HttpResponse
from django.utils import timezone
from num2words import num2words

from billing import selectors
from billing.models import Invoice, Payment
from clinical.pdf import letterhead_context, render_pdf
from clinicos import downloads
from clinicos.audit import record_read
from clinicos.errors import Conflict
from clinicos.models import User
from patients.models import Patient

# The language the amount is written in, by currency (the clinic's language follows its
# money: rupees in Indian English, pounds in British English).
WORDS_LANGUAGE = {"INR": "en_IN", "GBP": "en"}


def amount_in_words(amount: Decimal, currency: str) -> str:
    """``INR 1,25,000.50`` → "One lakh, twenty-five thousand rupees, fifty paise only"."""
    language = WORDS_LANGUAGE.get(currency, "en")
    try:
        words = num2words(amount, lang=language, to="currency", currency=currency)
        words = re.sub(r", zero \w+$", "", words)  # "…rupees, zero paise" → "…rupees"
    except NotImplementedError:
        whole = int(amount)
        cents = int((amount - whole) * 100)
        words = f"{num2words(whole, lang=language)} {currency}" + (f" and {cents:02d}/100" if cents else "")
    return words[:1].upper() + words[1:] + " only"


def pdf_response(content: bytes, number: str) -> HttpResponse:
    """A billing document's PDF, named after its number."""
    return downloads.pdf_response(content, f"{file_name(number)}.pdf")


def file_name(number: str) -> str:
    return re.sub(r"[^A-Za-z0-9-]+", "-", number).strip("-")


def _common(clinic, printed_by: User) -> dict:
    return {
        **letterhead_context(clinic),
        "printed_at": timezone.localtime(timezone.now(), clinic.tzinfo),
        "printed_by": printed_by,
        "india": clinic.country == "IN",
    }


def invoice_pdf(*, invoice: Invoice, printed_by: User) -> bytes:
    lines = selectors.invoice_lines(invoice)
    clinic = invoice.clinic
    context = {
        **_common(clinic, printed_by),
        "invoice": invoice,
        "patient": invoice.patient,
        "lines": lines,
        "split": selectors.tax_split(invoice, lines),
        "payments": selectors.invoice_payments(invoice),
        "applications": selectors.invoice_deposit_applications(invoice),
        "total_in_words": amount_in_words(invoice.total_amount, clinic.currency),
        "overdue": invoice.is_overdue_on(clinic.today()),
        "credit_note": selectors.invoice_credit_note(invoice),
    }
    return render_pdf("billing/invoice_pdf.html", context)


def credit_note_pdf(*, invoice: Invoice, printed_by: User) -> bytes:
    note = selectors.invoice_credit_note(invoice)
    if note is None:
        raise Conflict("This invoice has no credit note.")
    lines = selectors.invoice_lines(invoice)
    context = {
        **_common(invoice.clinic, printed_by),
        "invoice": invoice,
        "note": note,
        "patient": invoice.patient,
        "lines": lines,
        "split": selectors.tax_split(invoice, lines),
        "total_in_words": amount_in_words(note.total_amount, invoice.clinic.currency),
    }
    return render_pdf("billing/credit_note_pdf.html", context)


def receipt_pdf(*, payment: Payment, printed_by: User) -> bytes:
    clinic = payment.clinic
    invoice = payment.invoice
    context = {
        **_common(clinic, printed_by),
        "payment": payment,
        "patient": payment.patient,
        "invoice": invoice,
        # IMC Regulations 2002 §1.4.1: the doctor's registration number on receipts.
        "doctor": invoice.doctor if invoice else None,
        "refunds": list(payment.refunds.select_related("refunded_by")),
        "received_at": timezone.localtime(payment.received_at, clinic.tzinfo),
        "amount_in_words": amount_in_words(payment.amount, clinic.currency),
        "deposit_left": payment.refundable if payment.kind == Payment.Kind.DEPOSIT else None,
    }
    return render_pdf("billing/receipt_pdf.html", context)


def statement_pdf(*, patient: Patient, printed_by: User) -> bytes:
    entries, balance = selectors.patient_ledger(patient=patient)
    clinic = patient.clinic
    context = {
        **_common(clinic, printed_by),
        "patient": patient,
        "entries": [{**entry.__dict__, "at": timezone.localtime(entry.at, clinic.tzinfo)} for entry in entries],
        "balance": balance,
        "owed": max(balance, Decimal("0")),
        "credit": max(-balance, Decimal("0")),
    }
    return render_pdf("billing/statement_pdf.html", context)


def invoice_pdf_for_request(request, *, invoice: Invoice, document: str = "invoice") -> bytes:
    """What staff print (pages and API); every print is logged. Drafts print marked DRAFT."""
    record_read(request, clinic=invoice.clinic, obj=invoice, action="print", patient_id=invoice.patient_id)
    if document == "credit_note":
        return credit_note_pdf(invoice=invoice, printed_by=request.user)
    return invoice_pdf(invoice=invoice, printed_by=request.user)


def receipt_pdf_for_request(request, *, payment: Payment) -> bytes:
    record_read(request, clinic=payment.clinic, obj=payment, action="print", patient_id=payment.patient_id)
    return receipt_pdf(payment=payment, printed_by=request.user)
