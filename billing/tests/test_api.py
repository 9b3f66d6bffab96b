"""Billing's API as integrations call it: a bearer token from POST /api/v1/auth/login."""

import io
from decimal import Decimal

import pytest
from pypdf import PdfReader

from billing.models import Invoice, Payment
from clinicos.roles import Role
from patients.tests.factories import PatientFactory

D = Decimal


def url(clinic, path):
    return f"/api/v1/clinics/{clinic.code}/{path}"


@pytest.fixture
def desk_api(api_client, front_desk):
    return api_client(front_desk)


@pytest.fixture
def officer_api(api_client, billing_officer):
    return api_client(billing_officer)


def test_services_are_listed_and_created_with_amounts_as_strings(gst_clinic, catalog, officer_api, desk_api):
    listed = desk_api.get(url(gst_clinic, "services?active=true"))
    assert listed.status_code == 200
    peel = next(s for s in listed.json() if s["name"] == "Chemical peel")
    assert peel["price"] == "2000.00" and peel["tax_class"] == "taxable" and peel["tax_rate"] == "18.00" and peel["hsn_sac"] == "9993"
    created = officer_api.post(
        url(gst_clinic, "services"),
        {
            "name": "Hair removal (laser)",
            "service_type": "procedure",
            "price": "3500",
            "tax_class": "taxable",
            "tax_rate": "18",
            "hsn_sac": "9993",
            "is_active": True,
        },
    )
    assert created.status_code == 201, created.content
    assert created.json()["price"] == "3500.00"
    assert desk_api.post(url(gst_clinic, "services"), {"name": "X", "price": "1"}).status_code == 403
    bad = officer_api.post(url(gst_clinic, "services"), {"name": "Y", "price": "1.001", "tax_class": "taxable", "tax_rate": "0"})
    assert bad.status_code == 422
    assert {tuple(p["loc"]) for p in bad.json()["detail"]} >= {("body", "price"), ("body", "tax_rate")}


def test_the_invoice_contract_from_draft_to_paid(gst_clinic, catalog, patient, desk_api):
    created = desk_api.post(
        url(gst_clinic, "invoices"),
        {
            "patient_id": patient.pk,
            "discount_amount": "100.00",
            "notes": "Package",
            "lines": [
                {"service_id": catalog["consultation"].pk},
                {"service_id": catalog["peel"].pk},
                {"service_id": catalog["folic"].pk, "quantity": 3, "discount": "15"},
            ],
        },
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["number"] is None and body["status"] == "draft" and body["document_type"] == "tax_invoice"
    assert (
        body["subtotal"],
        body["discount_amount"],
        body["tax_amount"],
        body["total_amount"],
        body["amount_paid"],
        body["balance_due"],
    ) == ("3070.00", "100.00", "379.62", "3349.62", "0.00", "0.00")
    assert [line["line_total"] for line in body["lines"]] == ["800.00", "2000.00", "270.00"]
    assert (body["cgst"], body["sgst"], body["igst"]) == ("189.81", "189.81", "0.00")

    patched = desk_api.patch(url(gst_clinic, f"invoices/{body['id']}"), {"notes": "Package (3 sessions)"})
    assert patched.status_code == 200 and patched.json()["notes"] == "Package (3 sessions)"

    issued = desk_api.post(url(gst_clinic, f"invoices/{body['id']}/issue"))
    assert issued.status_code == 200, issued.content
    assert (
        issued.json()["status"] == "issued" and issued.json()["number"].startswith("ABC01/") and issued.json()["balance_due"] == "3349.62"
    )
    assert desk_api.patch(url(gst_clinic, f"invoices/{body['id']}"), {"notes": "late"}).status_code == 409
    assert desk_api.delete(url(gst_clinic, f"invoices/{body['id']}")).status_code == 409
    assert desk_api.post(url(gst_clinic, f"invoices/{body['id']}/issue")).status_code == 409

    paid = desk_api.post(
        url(gst_clinic, "payments/process"), {"invoice_id": body["id"], "amount": "3000", "method": "upi", "reference": "UPI-77"}
    )
    assert paid.status_code == 201, paid.content
    assert paid.json()["receipt_number"].startswith("ABC01/R") and paid.json()["amount"] == "3000.00"
    assert paid.json()["invoice"] == {"id": body["id"], "status": "partially_paid", "amount_paid": "3000.00", "balance_due": "349.62"}
    for amount in ("0", "-1", "349.63", "1.005"):
        refused = desk_api.post(url(gst_clinic, "payments/process"), {"invoice_id": body["id"], "amount": amount, "method": "cash"})
        assert refused.status_code == 422, amount
        assert refused.json()["detail"][0]["loc"] == ["body", "amount"]
    assert (
        desk_api.post(url(gst_clinic, "payments/process"), {"invoice_id": body["id"], "amount": "349.62", "method": "cash"}).json()[
            "invoice"
        ]["status"]
        == "paid"
    )

    details = desk_api.get(url(gst_clinic, f"invoices/{body['id']}/details")).json()
    assert [p["amount"] for p in details["payments"]] == ["3000.00", "349.62"] and details["refunds"] == []
    listed = desk_api.get(url(gst_clinic, f"invoices?status=paid&patient_id={patient.pk}")).json()
    assert listed["count"] == 1 and listed["results"][0]["id"] == body["id"]
    assert desk_api.get(url(gst_clinic, "invoices?status=nonsense")).status_code == 422


@pytest.mark.parametrize(
    ("lines", "discount", "loc"),
    [
        ([{"description": "X", "unit_price": "10", "quantity": 0}], "0", ["body", "lines.0.quantity"]),
        ([{"description": "X", "unit_price": "-10"}], "0", ["body", "lines.0.unit_price"]),
        ([{"description": "X", "unit_price": "10.123"}], "0", ["body", "lines.0.unit_price"]),
        ([{"description": "X", "unit_price": "10"}], "10.01", ["body", "discount_amount"]),
        ([], "0", ["body", "lines"]),
    ],
)
def test_bad_invoices_are_422_with_field_messages_and_store_nothing(gst_clinic, patient, desk_api, lines, discount, loc):
    response = desk_api.post(url(gst_clinic, "invoices"), {"patient_id": patient.pk, "discount_amount": discount, "lines": lines})
    assert response.status_code == 422, response.content
    assert loc in [problem["loc"] for problem in response.json()["detail"]]
    assert not Invoice.objects.filter(clinic=gst_clinic).exists()


def test_a_visit_invoice_is_issued_only_once_the_visit_is_completed(gst_clinic, patient, doctor, desk_api):
    from clinical import services as clinical_services

    visit = clinical_services.visit_start(clinic=gst_clinic, user=doctor.user, patient=patient)
    draft = desk_api.post(
        url(gst_clinic, "invoices"),
        {"patient_id": patient.pk, "visit_id": visit.pk, "lines": [{"description": "Consultation", "unit_price": "800"}]},
    )
    assert draft.status_code == 201
    refused = desk_api.post(url(gst_clinic, f"invoices/{draft.json()['id']}/issue"))
    assert refused.status_code == 409 and "in progress" in refused.json()["detail"]
    clinical_services.visit_complete(visit=visit, user=doctor.user)
    assert desk_api.post(url(gst_clinic, f"invoices/{draft.json()['id']}/issue")).status_code == 200


def test_a_draft_or_cancelled_invoice_is_409_for_payments(gst_clinic, patient, desk_api, officer_api):
    draft = desk_api.post(
        url(gst_clinic, "invoices"), {"patient_id": patient.pk, "lines": [{"description": "X", "unit_price": "100"}]}
    ).json()
    assert (
        desk_api.post(url(gst_clinic, "payments/process"), {"invoice_id": draft["id"], "amount": "10", "method": "cash"}).status_code == 409
    )
    desk_api.post(url(gst_clinic, f"invoices/{draft['id']}/issue"))
    assert desk_api.post(url(gst_clinic, f"invoices/{draft['id']}/cancel"), {"reason": "Wrong"}).status_code == 403
    cancelled = officer_api.post(url(gst_clinic, f"invoices/{draft['id']}/cancel"), {"reason": "Wrong patient"})
    assert cancelled.status_code == 200, cancelled.content
    assert cancelled.json()["status"] == "cancelled" and cancelled.json()["credit_note_number"].startswith("ABC01/C")
    assert (
        desk_api.post(url(gst_clinic, "payments/process"), {"invoice_id": draft["id"], "amount": "10", "method": "cash"}).status_code == 409
    )


def test_issuing_with_a_pay_method_takes_the_whole_balance_or_nothing(gst_clinic, patient, desk_api):
    """The checkout's quick buttons, for integrations: one call issues and takes the balance."""
    from billing.models import Invoice, Payment

    def draft():
        lines = [{"description": "Consultation", "unit_price": "800.00"}]
        return desk_api.post(url(gst_clinic, "invoices"), {"patient_id": patient.pk, "lines": lines}).json()["id"]

    refused = draft()
    answer = desk_api.post(url(gst_clinic, f"invoices/{refused}/issue"), {"pay_method": "cheque"})
    assert answer.status_code == 422 and answer.json()["detail"][0]["loc"] == ["body", "pay_method"]
    assert Invoice.objects.get(pk=refused).status == Invoice.Status.DRAFT and not Payment.objects.exists()
    garbled = desk_api.post(url(gst_clinic, f"invoices/{refused}/issue"), b"\xff\xfe{", content_type="application/json")
    assert garbled.status_code == 400 and Invoice.objects.get(pk=refused).status == Invoice.Status.DRAFT

    paid = draft()
    answer = desk_api.post(url(gst_clinic, f"invoices/{paid}/issue"), {"pay_method": "upi"})
    assert answer.status_code == 200, answer.content
    assert answer.json()["status"] == "paid" and answer.json()["balance_due"] == "0.00"
    (payment,) = Payment.objects.filter(invoice_id=paid)
    assert payment.method == "upi" and str(payment.amount) == answer.json()["total_amount"] == answer.json()["amount_paid"]
    # Without a body (or with an empty one) it only issues, as before.
    plain = draft()
    assert desk_api.post(url(gst_clinic, f"invoices/{plain}/issue")).json()["status"] == "issued"


def test_refunds_deposits_and_the_patients_financials(gst_clinic, patient, desk_api, officer_api):
    deposit = desk_api.post(
        url(gst_clinic, "deposits"), {"patient_id": patient.pk, "amount": "5000", "method": "bank_transfer", "reference": "NEFT-9"}
    )
    assert deposit.status_code == 201 and deposit.json()["available"] == "5000.00" and deposit.json()["receipt_number"].endswith("/0001")
    invoice = desk_api.post(
        url(gst_clinic, "invoices"), {"patient_id": patient.pk, "lines": [{"description": "IUI", "unit_price": "6000"}]}
    ).json()
    desk_api.post(url(gst_clinic, f"invoices/{invoice['id']}/issue"))
    applied = desk_api.post(url(gst_clinic, f"invoices/{invoice['id']}/apply-deposit"), {"amount": "5000"})
    assert applied.status_code == 200 and applied.json()["balance_due"] == "1000.00" and applied.json()["status"] == "partially_paid"
    assert desk_api.post(url(gst_clinic, f"invoices/{invoice['id']}/apply-deposit"), {"amount": "1"}).status_code == 422
    payment = desk_api.post(url(gst_clinic, "payments/process"), {"invoice_id": invoice["id"], "amount": "1000", "method": "cash"}).json()
    assert desk_api.post(url(gst_clinic, f"payments/{payment['id']}/refund"), {"amount": "100", "reason": "x"}).status_code == 403
    assert officer_api.post(url(gst_clinic, f"payments/{payment['id']}/refund"), {"amount": "1000.01", "reason": "x"}).status_code == 422
    refund = officer_api.post(url(gst_clinic, f"payments/{payment['id']}/refund"), {"amount": "250", "reason": "Agreed discount"})
    assert refund.status_code == 201 and refund.json()["invoice"]["balance_due"] == "250.00"

    ledger = desk_api.get(url(gst_clinic, f"patients/{patient.pk}/financials")).json()
    assert [(e["kind"], e["debit"], e["credit"], e["balance"]) for e in ledger["entries"]] == [
        ("deposit", "0.00", "5000.00", "-5000.00"),
        ("invoice", "6000.00", "0.00", "1000.00"),
        ("payment", "0.00", "1000.00", "0.00"),
        ("refund", "250.00", "0.00", "250.00"),
    ]
    assert ledger["balance"] == "250.00"
    assert all(set(e) >= {"date", "kind", "reference", "debit", "credit", "balance"} for e in ledger["entries"])


def test_the_financial_snapshot_is_for_billing_and_admins(gst_clinic, patient, catalog, desk_api, officer_api):
    invoice = desk_api.post(url(gst_clinic, "invoices"), {"patient_id": patient.pk, "lines": [{"service_id": catalog["scan"].pk}]}).json()
    desk_api.post(url(gst_clinic, f"invoices/{invoice['id']}/issue"))
    desk_api.post(url(gst_clinic, "payments/process"), {"invoice_id": invoice["id"], "amount": "500", "method": "upi"})
    assert desk_api.get(url(gst_clinic, "financials/snapshot")).status_code == 403
    snapshot = officer_api.get(url(gst_clinic, "financials/snapshot")).json()
    assert snapshot["today_collections"] == "500.00" and snapshot["month_collections"] == "500.00"
    assert snapshot["outstanding"] == "1000.00"
    assert snapshot["top_services"] == [{"name": "Pelvic ultrasound", "quantity": 1, "revenue": "1500.00"}]


def test_pdfs_open_and_show_the_number_the_tax_split_and_the_words(gst_clinic, patient, catalog, desk_api):
    invoice = desk_api.post(
        url(gst_clinic, "invoices"),
        {"patient_id": patient.pk, "lines": [{"service_id": catalog["consultation"].pk}, {"service_id": catalog["peel"].pk}]},
    ).json()
    number = desk_api.post(url(gst_clinic, f"invoices/{invoice['id']}/issue")).json()["number"]
    response = desk_api.get(url(gst_clinic, f"invoices/{invoice['id']}/pdf"))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    text = " ".join(PdfReader(io.BytesIO(response.content)).pages[0].extract_text().split())
    assert "TAX INVOICE" in text and number in text and "CGST" in text and "SGST" in text and "9993" in text
    assert "Three thousand, one hundred and sixty rupees only" in text  # 800 + 2000 + 18% of 2000
    assert "29ABCDE1234F1Z5" in text
    payment = desk_api.post(url(gst_clinic, "payments/process"), {"invoice_id": invoice["id"], "amount": "160", "method": "cash"}).json()
    receipt = desk_api.get(url(gst_clinic, f"payments/{payment['id']}/receipt"))
    receipt_text = " ".join(PdfReader(io.BytesIO(receipt.content)).pages[0].extract_text().split())
    assert payment["receipt_number"] in receipt_text and "One hundred and sixty rupees only" in receipt_text
    receipt_page = PdfReader(io.BytesIO(receipt.content)).pages[0]
    assert round(float(receipt_page.mediabox.width) / 72 * 25.4) == 148  # A5: a receipt is a few lines


def test_clinical_roles_are_refused_and_another_clinics_invoice_is_404(
    gst_clinic, other_clinic, patient, make_member, api_client, desk_api
):
    invoice = desk_api.post(
        url(gst_clinic, "invoices"), {"patient_id": patient.pk, "lines": [{"description": "X", "unit_price": "1"}]}
    ).json()
    for role in (Role.DOCTOR, Role.NURSE, Role.LAB, Role.PHARMACIST, Role.CRO):
        api = api_client(make_member(role))
        assert api.get(url(gst_clinic, f"invoices/{invoice['id']}")).status_code == 403, role
        assert api.get(url(gst_clinic, f"patients/{patient.pk}/financials")).status_code == 403, role
    stranger = api_client(make_member(Role.BILLING, in_clinic=other_clinic))
    assert stranger.get(url(other_clinic, f"invoices/{invoice['id']}")).status_code == 404
    other_patient = PatientFactory(clinic=other_clinic)
    response = desk_api.post(
        url(gst_clinic, "invoices"), {"patient_id": other_patient.pk, "lines": [{"description": "X", "unit_price": "1"}]}
    )
    assert response.status_code == 404
    assert Payment.objects.count() == 0 and Invoice.objects.filter(clinic=other_clinic).count() == 0
    assert D("0") == 0
