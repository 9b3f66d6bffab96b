"""Shared by the reporting tests: a day of known money, and the real database worker."""

import datetime
from decimal import Decimal

import pytest
import time_machine
from django.core.management import call_command

from billing import services as billing
from billing.inputs import invoice_lines_parse
from clinicos.models import Membership
from clinicos.roles import Role
from patients.tests.factories import PatientFactory

D = Decimal
AT = datetime.datetime(2026, 11, 10, 6, 0, tzinfo=datetime.UTC)  # 11:30 in Kolkata


@pytest.fixture
def run_worker(monkeypatch):
    monkeypatch.setattr("django_tasks_db.management.commands.db_worker.close_old_connections", lambda: None)
    return lambda: call_command("worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)


@pytest.fixture
def money_day(clinic, front_desk, make_member):
    """On 10 Nov: an invoice of 1000 + 18 % GST = 1180 paid (600 cash + 580 UPI) then 100 of
    the cash refunded, an invoice of 500 cancelled, and a 250 deposit."""
    clinic.state = "Karnataka"
    clinic.save()
    officer = make_member(Role.BILLING)
    officer_membership = Membership.objects.get(user=officer, clinic=clinic)
    patient = PatientFactory(clinic=clinic, state="Karnataka")
    with time_machine.travel(AT):
        service = billing.service_save(
            clinic=clinic, user=officer, name="Chemical peel", price=D("1000.00"), tax_class="taxable", tax_rate=D("18"), hsn_sac="999722"
        )
        first = billing.invoice_issue(
            invoice=billing.invoice_create(
                clinic=clinic, user=front_desk, patient=patient, lines=invoice_lines_parse([{"service_id": service.pk}])
            ),
            user=front_desk,
        )
        cash = billing.payment_record(invoice=first, user=front_desk, amount=Decimal("600"), method="cash")
        billing.payment_record(invoice=first, user=front_desk, amount=first.total_amount - D("600"), method="upi")
        billing.refund_record(payment=cash, user=officer, membership=officer_membership, amount=Decimal("100"), reason="Goodwill")
        second = billing.invoice_issue(
            invoice=billing.invoice_create(
                clinic=clinic,
                user=front_desk,
                patient=patient,
                lines=invoice_lines_parse([{"description": "Dressing", "unit_price": "500"}]),
            ),
            user=front_desk,
        )
        billing.invoice_cancel(invoice=second, user=officer, membership=officer_membership, reason="Not done")
        billing.deposit_record(clinic=clinic, patient=patient, user=front_desk, amount=Decimal("250"), method="bank_transfer")
    return {"first": first, "second": second, "officer": officer}
