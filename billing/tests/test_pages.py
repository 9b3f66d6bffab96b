"""Billing's pages: what the front desk and the billing officer click through."""

import datetime
from decimal import Decimal

import time_machine
from django.utils import timezone

from billing import services
from billing.inputs import invoice_lines_parse
from billing.models import Invoice, Payment, Service
from clinical import services as clinical_services
from clinicos.roles import Role
from patients.tests.factories import PatientFactory
from scheduling.models import AppointmentStatus
from scheduling.tests.factories import AppointmentFactory

D = Decimal


def page(clinic, path=""):
    return f"/c/{clinic.code}/{path}"


def lines_post(rows, **header):
    data = {
        "lines-TOTAL_FORMS": str(len(rows)),
        "lines-INITIAL_FORMS": "0",
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "50",
        **header,
    }
    for index, row in enumerate(rows):
        for key, value in row.items():
            data[f"lines-{index}-{key}"] = value
    return data


def test_a_new_invoice_is_written_in_the_page_and_bad_lines_are_shown_on_their_fields(client, gst_clinic, front_desk, patient, catalog):
    client.force_login(front_desk)
    form = client.get(page(gst_clinic, f"billing/invoices/new/?patient={patient.pk}"))
    assert form.status_code == 200 and "Chemical peel" in form.content.decode()
    more = client.post(
        page(gst_clinic, "billing/invoices/new/"), {"patient": patient.pk, "add_line": "1", **lines_post([{"description": "A"}])}
    )
    assert more.status_code == 200 and 'name="lines-1-description"' in more.content.decode()
    bad = client.post(
        page(gst_clinic, "billing/invoices/new/"),
        {
            "patient": patient.pk,
            **lines_post(
                [{"service": catalog["peel"].pk, "quantity": "1"}, {"description": "Dressing", "unit_price": "12.345", "quantity": "1"}],
                discount_amount=Decimal("0"),
            ),
        },
    )
    assert bad.status_code == 422
    assert "Use at most 2 decimal places." in bad.content.decode() and not Invoice.objects.exists()
    too_much = client.post(
        page(gst_clinic, "billing/invoices/new/"),
        {
            "patient": patient.pk,
            **lines_post([{"description": "Dressing", "unit_price": "100", "quantity": "1"}], discount_amount=Decimal("150")),
        },
    )
    assert too_much.status_code == 422 and "cannot be more than the subtotal" in too_much.content.decode()
    saved = client.post(
        page(gst_clinic, "billing/invoices/new/"),
        {
            "patient": patient.pk,
            **lines_post(
                [{"service": catalog["peel"].pk, "quantity": "1"}, {"description": "Dressing", "unit_price": "150", "quantity": "2"}, {}],
                discount_amount=Decimal("0"),
            ),
        },
    )
    invoice = Invoice.objects.get()
    assert saved.status_code == 302 and saved.url == page(gst_clinic, f"billing/invoices/{invoice.pk}/")
    assert invoice.total_amount == D("2660.00") and invoice.lines.count() == 2


def test_issue_then_take_a_payment_in_the_page(client, gst_clinic, front_desk, patient, catalog):
    invoice = services.invoice_create(
        clinic=gst_clinic, user=front_desk, patient=patient, lines=invoice_lines_parse([{"service_id": catalog["consultation"].pk}])
    )
    client.force_login(front_desk)
    detail = client.get(page(gst_clinic, f"billing/invoices/{invoice.pk}/")).content.decode()
    assert "Issue bill of supply" in detail and "Take a payment" not in detail
    client.post(page(gst_clinic, f"billing/invoices/{invoice.pk}/issue/"))
    invoice.refresh_from_db()
    assert invoice.number == "ABC01/2627/00001"
    detail = client.get(page(gst_clinic, f"billing/invoices/{invoice.pk}/")).content.decode()
    assert 'value="800.00"' in detail and "Record payment" in detail and "Cancel this invoice" not in detail  # front desk does not cancel
    refused = client.post(page(gst_clinic, f"billing/invoices/{invoice.pk}/pay/"), {"amount": "900", "method": "cash"})
    assert refused.status_code == 422 and "cannot be more" in refused.content.decode() and not Payment.objects.exists()
    paid = client.post(
        page(gst_clinic, f"billing/invoices/{invoice.pk}/pay/"), {"amount": "800.00", "method": "upi", "reference": "UPI-1"}, follow=True
    )
    assert "receipt ABC01/R2627/0001" in paid.content.decode()
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID


def test_billing_officers_refund_and_cancel_in_the_page(client, gst_clinic, front_desk, billing_officer, issued):
    invoice = issued("500.00")
    payment = services.payment_record(invoice=invoice, user=front_desk, amount=Decimal("500"), method="cash")
    client.force_login(front_desk)
    assert client.get(page(gst_clinic, f"billing/payments/{payment.pk}/refund/")).status_code == 403
    client.force_login(billing_officer)
    assert (
        client.post(page(gst_clinic, f"billing/invoices/{invoice.pk}/cancel/"), {"reason": "Wrong"}).status_code == 422
    )  # paid: refund first
    bad = client.post(page(gst_clinic, f"billing/payments/{payment.pk}/refund/"), {"amount": "600", "method": "cash", "reason": "x"})
    assert bad.status_code == 422 and "refund at most that" in bad.content.decode()
    client.post(page(gst_clinic, f"billing/payments/{payment.pk}/refund/"), {"amount": "500", "method": "cash", "reason": "Billed twice"})
    done = client.post(page(gst_clinic, f"billing/invoices/{invoice.pk}/cancel/"), {"reason": "Billed twice"}, follow=True)
    assert "credit note ABC01/C2627/0001 issued" in done.content.decode()
    pdf = client.get(page(gst_clinic, f"billing/invoices/{invoice.pk}/pdf/?document=credit_note"))
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"


def test_todays_bill_button_opens_the_visits_draft(client, gst_clinic, front_desk, patient, doctor, catalog):
    # Mid-morning in the clinic: the appointment an hour ago is today's whenever the suite runs.
    morning = datetime.datetime.combine(gst_clinic.today(), datetime.time(10, 30), tzinfo=gst_clinic.tzinfo)
    with time_machine.travel(morning):
        bill_from_today(client, gst_clinic, front_desk, patient, doctor)


def bill_from_today(client, gst_clinic, front_desk, patient, doctor):
    start = timezone.now().replace(minute=0, second=0, microsecond=0)
    appointment = AppointmentFactory(
        clinic=gst_clinic,
        patient=patient,
        doctor=doctor,
        starts_at=start,
        ends_at=start + datetime.timedelta(minutes=15),
        status=AppointmentStatus.COMPLETED,
    )
    visit = clinical_services.visit_start(clinic=gst_clinic, user=doctor.user, patient=patient)
    visit.appointment = appointment
    visit.save()
    client.force_login(front_desk)
    today = client.get(page(gst_clinic, "schedule/today/")).content.decode()
    assert f"billing/appointments/{appointment.pk}/bill/" in today
    first = client.post(page(gst_clinic, f"billing/appointments/{appointment.pk}/bill/"))
    second = client.post(page(gst_clinic, f"billing/appointments/{appointment.pk}/bill/"))
    invoice = Invoice.objects.get()
    assert first.url == second.url == page(gst_clinic, f"billing/invoices/{invoice.pk}/")
    assert invoice.visit == visit and invoice.lines.get().unit_price == D("800.00")


def test_the_billing_tab_shows_the_ledger_to_billing_roles_only(client, gst_clinic, front_desk, make_member, patient, issued):
    invoice = issued("1200.00")
    services.payment_record(invoice=invoice, user=front_desk, amount=Decimal("200"), method="cash")
    client.force_login(front_desk)
    tab = client.get(page(gst_clinic, f"patients/{patient.pk}/tabs/billing/")).content.decode()
    assert invoice.number in tab and "1000.00" in tab and "Owes" in tab
    chart = client.get(page(gst_clinic, f"patients/{patient.pk}/")).content.decode()
    assert "tabs/billing/" in chart
    doctor = make_member(Role.DOCTOR)
    client.force_login(doctor)
    assert client.get(page(gst_clinic, f"patients/{patient.pk}/tabs/billing/")).status_code == 403
    assert "tabs/billing/" not in client.get(page(gst_clinic, f"patients/{patient.pk}/")).content.decode()
    client.force_login(front_desk)
    statement = client.get(page(gst_clinic, f"billing/patients/{patient.pk}/statement/"))
    assert statement.status_code == 200 and statement["Content-Type"] == "application/pdf"


def test_deposits_are_taken_in_the_page_with_bad_amounts_refused(client, gst_clinic, front_desk, patient):
    client.force_login(front_desk)
    bad = client.post(page(gst_clinic, f"billing/patients/{patient.pk}/deposit/"), {"amount": "abc", "method": "cash"})
    assert bad.status_code == 422 and not Payment.objects.exists()
    client.post(
        page(gst_clinic, f"billing/patients/{patient.pk}/deposit/"), {"amount": "20000", "method": "bank_transfer", "reference": "NEFT-4"}
    )
    assert services.deposit_available(patient=patient) == D("20000.00")


def test_the_day_close_sums_each_users_collections_by_method(client, gst_clinic, front_desk, billing_officer, issued, make_member):
    other_desk = make_member(Role.FRONT_DESK)
    services.payment_record(invoice=issued("300.00"), user=front_desk, amount=Decimal("300"), method="cash")
    services.payment_record(invoice=issued("200.00"), user=front_desk, amount=Decimal("200"), method="upi")
    services.payment_record(invoice=issued("150.00"), user=other_desk, amount=Decimal("150"), method="cash")
    client.force_login(billing_officer)
    close = client.get(page(gst_clinic, "billing/day-close/")).context["close"]
    assert [(m["method"], m["net"]) for m in close["by_method"]] == [("Cash", D("450.00")), ("UPI", D("200.00"))]
    assert close["net"] == D("650.00") and len(close["people"]) == 2
    client.force_login(front_desk)
    mine = client.get(page(gst_clinic, "billing/day-close/")).context["close"]
    assert mine["net"] == D("500.00") and len(mine["people"]) == 1
    assert client.get(page(gst_clinic, "billing/day-close/?day=not-a-date")).status_code == 200


def test_the_service_catalog_page_for_billing_officers(client, gst_clinic, billing_officer, front_desk):
    client.force_login(front_desk)
    assert client.get(page(gst_clinic, "billing/services/")).status_code == 403
    client.force_login(billing_officer)
    bad = client.post(
        page(gst_clinic, "billing/services/new/"),
        {"name": "Laser", "service_type": "procedure", "price": "1.005", "tax_class": "taxable", "tax_rate": ""},
    )
    assert bad.status_code == 422 and not Service.objects.exists()
    client.post(
        page(gst_clinic, "billing/services/new/"),
        {
            "name": "Laser",
            "service_type": "procedure",
            "price": "3500",
            "tax_class": "taxable",
            "tax_rate": "18",
            "hsn_sac": "9993",
            "is_active": "on",
        },
    )
    service = Service.objects.get()
    assert service.tax_rate == D("18.00") and service.price == D("3500.00")


def test_the_invoice_list_filters_and_its_query_count_is_bounded(client, gst_clinic, front_desk, issued, django_assert_max_num_queries):
    for _ in range(30):
        issued("100.00", patient=PatientFactory(clinic=gst_clinic))
    client.force_login(front_desk)
    with django_assert_max_num_queries(12):
        response = client.get(page(gst_clinic, "billing/?status=open"))
    assert response.status_code == 200 and len(response.context["page"]) == 25
    assert client.get(page(gst_clinic, "billing/?status=overdue")).context["page"].paginator.count == 0
    assert client.get(page(gst_clinic, "billing/?date_from=2030-13-01")).status_code == 200


def test_the_dashboard_shows_the_snapshot_to_billing_officers_only(client, gst_clinic, front_desk, billing_officer, issued):
    services.payment_record(invoice=issued("400.00"), user=front_desk, amount=Decimal("150"), method="cash")
    client.force_login(billing_officer)
    body = client.get(page(gst_clinic)).content.decode()
    assert "Collected today" in body and "150.00" in body and "250.00" in body
    client.force_login(front_desk)
    assert "Collected today" not in client.get(page(gst_clinic)).content.decode()


def test_checkout_in_two_taps_issue_and_take_upi_for_the_balance(client, gst_clinic, front_desk, patient, catalog):
    invoice = services.invoice_create(
        clinic=gst_clinic, user=front_desk, patient=patient, lines=invoice_lines_parse([{"service_id": catalog["consultation"].pk}])
    )
    client.force_login(front_desk)
    assert "Issue + UPI" in client.get(page(gst_clinic, f"billing/invoices/{invoice.pk}/")).content.decode()
    done = client.post(page(gst_clinic, f"billing/invoices/{invoice.pk}/issue/"), {"pay_method": "upi"}, follow=True)
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID and invoice.payments.get().method == "upi"
    assert "INR 800.00 received (UPI), receipt ABC01/R2627/0001" in done.content.decode()


def test_no_quick_payment_while_the_visit_is_in_progress(client, gst_clinic, front_desk, patient, doctor):
    visit = clinical_services.visit_start(clinic=gst_clinic, user=doctor.user, patient=patient)
    invoice = services.invoice_draft_for_visit(visit=visit, user=front_desk)
    client.force_login(front_desk)
    detail = client.get(page(gst_clinic, f"billing/invoices/{invoice.pk}/")).content.decode()
    assert "Issue + cash" not in detail and "still in progress" in detail
    refused = client.post(page(gst_clinic, f"billing/invoices/{invoice.pk}/issue/"), {"pay_method": "cash"}, follow=True)
    assert "still in progress" in refused.content.decode()
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.DRAFT and not Payment.objects.exists()


def test_the_invoice_list_finds_by_number_uhid_and_name(client, gst_clinic, front_desk, patient, issued):
    mine = issued("100.00")
    issued("100.00", patient=PatientFactory(clinic=gst_clinic, first_name="Zoya", last_name="Khan"))
    client.force_login(front_desk)
    for query in (mine.number.lower(), patient.uhid, "anita"):
        found = list(client.get(page(gst_clinic, "billing/"), {"q": query}).context["page"])
        assert found == [mine], query
