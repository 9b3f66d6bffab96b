"""An invoice has a size limit, and an invoice at its limit still prints in a few seconds
(CPU seconds of this process: the time it costs a server, whatever else the machine runs)."""

import time
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from billing import pdf, services
from billing.inputs import InvoiceLineInput
from billing.models import Invoice
from billing.services.invoices import MAX_LINES_PER_INVOICE

pytestmark = pytest.mark.security


def _lines(count: int) -> list[InvoiceLineInput]:
    return [
        InvoiceLineInput(description=f"{index:03d} " + "Procedure with a long name " * 7, quantity=3, unit_price=Decimal("1234.56"))
        for index in range(count)
    ]


def test_an_invoice_holds_at_most_its_limit(gst_clinic, front_desk, patient):
    with pytest.raises(ValidationError, match=f"At most {MAX_LINES_PER_INVOICE} lines"):
        services.invoice_create(clinic=gst_clinic, user=front_desk, patient=patient, lines=_lines(MAX_LINES_PER_INVOICE + 1))
    assert not Invoice.objects.filter(clinic=gst_clinic).exists()


@pytest.mark.timing
def test_an_invoice_at_its_limit_prints_in_a_few_seconds(gst_clinic, front_desk, patient):
    invoice = services.invoice_create(
        clinic=gst_clinic, user=front_desk, patient=patient, lines=_lines(MAX_LINES_PER_INVOICE), notes="Note " * 400
    )
    invoice = services.invoice_issue(invoice=invoice, user=front_desk)
    started = time.process_time()
    content = pdf.invoice_pdf(invoice=invoice, printed_by=front_desk)
    elapsed = time.process_time() - started
    print(f"invoice PDF at {MAX_LINES_PER_INVOICE} lines: {elapsed:.2f} s")
    assert content.startswith(b"%PDF") and elapsed < 5.0
