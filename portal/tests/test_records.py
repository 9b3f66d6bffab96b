"""What a patient sees in the portal — finalized prescriptions, completed final results,
issued invoices and their receipts, shared documents — and that two patients crawling each
other's ids find nothing (404) and read nothing of each other's in any answer."""

import io

import pytest
from pypdf import PdfReader

from clinical import lab_catalog
from clinical.models import LabTest
from clinicos.roles import Role
from portal.tests.conftest import MOTHER_EMAIL, MOTHER_PHONE, STRANGER_PHONE, last_code
from portal.tests.records import make_records


@pytest.fixture
def catalog(clinic):
    lab_catalog.install(clinic)
    return {test.code: test for test in LabTest.objects.filter(clinic=clinic)}


@pytest.fixture
def records(mother, stranger, daughter, doctor, catalog, make_member):
    lab_user, desk_user = make_member(Role.LAB), make_member(Role.FRONT_DESK)
    return {
        "mother": make_records(mother, doctor=doctor, lab_user=lab_user, desk_user=desk_user, catalog=catalog),
        "stranger": make_records(stranger, doctor=doctor, lab_user=lab_user, desk_user=desk_user, catalog=catalog),
    }


def test_the_lists_show_only_what_is_final_and_the_patients_own(portal_api, records, mother):
    mine = records["mother"]
    portal = portal_api(phone=MOTHER_PHONE)

    prescriptions = portal.get("prescriptions").json()
    assert [rx["reference"] for rx in prescriptions] == [mine.prescription.reference]  # not the draft correction
    assert prescriptions[0]["items"][0]["medicine"] == "Folic acid" and prescriptions[0]["patient_id"] == mother.pk

    orders = portal.get("lab-results").json()
    assert [order["order_id"] for order in orders] == [mine.lab_order.pk]  # not the open order
    result = orders[0]["results"][0]
    assert result["code"] == "TSH" and result["value"] == "7.9" and result["flag"] == "high" and result["range_high"] is not None

    invoices = portal.get("invoices").json()
    assert [invoice["number"] for invoice in invoices] == [mine.invoice.number]  # not the draft
    assert invoices[0]["total"] == "800.00" and invoices[0]["paid"] == "300.00" and invoices[0]["balance"] == "500.00"
    assert [receipt["number"] for receipt in invoices[0]["receipts"]] == [mine.payment.receipt_number]

    documents = portal.get("documents").json()
    assert [document["id"] for document in documents] == [mine.shared_document.pk]

    # The daughter's profile (same phone) has nothing yet.
    daughter_id = next(p["id"] for p in portal.get("patients").json() if p["name"].startswith("Diya"))
    assert portal.get("prescriptions", {"patient_id": daughter_id}).json() == []


def test_the_pdfs_are_real_documents(portal_api, records):
    mine = records["mother"]
    portal = portal_api(phone=MOTHER_PHONE)
    for path, text in [
        (f"prescriptions/{mine.prescription.pk}/pdf", mine.prescription.reference),
        (f"invoices/{mine.invoice.pk}/pdf", mine.invoice.number),
        (f"receipts/{mine.payment.pk}/pdf", mine.payment.receipt_number),
    ]:
        answer = portal.get(path)
        assert answer.status_code == 200 and answer["Content-Type"] == "application/pdf", path
        content = b"".join(answer.streaming_content) if answer.streaming else answer.content
        words = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)
        assert text in words and "patient, from the portal" in words
    assert portal.get(f"documents/{mine.shared_document.pk}/file").status_code == 200


def test_two_patients_crawling_each_others_ids_find_nothing(client, portal_api, records, mother, stranger):
    theirs, mine = records["stranger"], records["mother"]
    portal = portal_api(phone=MOTHER_PHONE)
    crawl = [
        f"prescriptions/{theirs.prescription.pk}/pdf",
        f"prescriptions/{mine.draft_prescription.pk}/pdf",  # my own draft is not mine to print
        f"lab-results/{theirs.lab_order.pk}/report",
        f"invoices/{theirs.invoice.pk}/pdf",
        f"invoices/{mine.draft_invoice.pk}/pdf",
        f"receipts/{theirs.payment.pk}/pdf",
        f"documents/{theirs.shared_document.pk}/file",
        f"documents/{mine.private_document.pk}/file",
        f"patients/{stranger.pk}/profile",
    ]
    for path in crawl:
        assert portal.get(path).status_code == 404, path
    for path in ["prescriptions", "lab-results", "invoices", "documents", "appointments"]:
        assert portal.get(path, {"patient_id": stranger.pk}).status_code == 404, path
        body = portal.get(path).content.decode()
        assert "Ravi" not in body and theirs.prescription.reference not in body and theirs.invoice.number not in body, path

    # The same in the pages, as the stranger this time.
    client.post("/portal/login/", {"login": STRANGER_PHONE})
    client.post("/portal/login/code/", {"code": last_code(STRANGER_PHONE)})
    for path in [
        f"/portal/prescriptions/{mine.prescription.pk}/pdf/",
        f"/portal/results/{mine.lab_order.pk}/report/",
        f"/portal/invoices/{mine.invoice.pk}/pdf/",
        f"/portal/receipts/{mine.payment.pk}/pdf/",
        f"/portal/documents/{mine.shared_document.pk}/file/",
    ]:
        assert client.get(path).status_code == 404, path
    assert client.post(f"/portal/profiles/{mother.pk}/use/").status_code == 404
    for path in [
        "/portal/",
        "/portal/prescriptions/",
        "/portal/results/",
        "/portal/invoices/",
        "/portal/documents/",
        "/portal/appointments/",
    ]:
        page = client.get(path)
        assert page.status_code == 200 and "Meera" not in page.content.decode(), path


def test_the_pages_show_the_records(client, records, mother):
    mine = records["mother"]
    client.post("/portal/login/", {"login": MOTHER_PHONE})
    page = client.post("/portal/login/code/", {"code": last_code(MOTHER_PHONE)})
    assert page.status_code == 302 and page["Location"] == "/portal/profiles/"  # a family phone: pick a profile
    client.post(f"/portal/profiles/{mother.pk}/use/")
    assert mine.prescription.reference in client.get("/portal/prescriptions/").content.decode()
    results = client.get("/portal/results/").content.decode()
    assert "7.9" in results and "High" in results
    invoices = client.get("/portal/invoices/").content.decode()
    assert mine.invoice.number in invoices and "500.00" in invoices and mine.payment.receipt_number in invoices
    assert mine.draft_invoice.number == "" and "Draft" not in invoices
    documents = client.get("/portal/documents/").content.decode()
    assert mine.shared_document.name in documents and mine.private_document.name not in documents
    pdf = client.get(f"/portal/prescriptions/{mine.prescription.pk}/pdf/")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


def test_no_staff_page_opens_with_a_portal_login(client, mother, clinic):
    client.post("/portal/login/", {"login": MOTHER_PHONE})
    client.post("/portal/login/code/", {"code": last_code(MOTHER_PHONE)})
    assert client.get("/portal/").status_code == 200
    for path in ["/c/ABC01/", f"/c/ABC01/patients/{mother.pk}/", "/clinics/"]:
        answer = client.get(path)
        assert answer.status_code == 302 and "/accounts/login/" in answer["Location"], path
    assert client.get("/api/v1/clinics/ABC01/patients").status_code == 401


def test_the_portal_pages_and_lists_keep_their_queries_bounded(client, portal_api, records, mother, django_assert_max_num_queries):
    from scheduling.tests.factories import AppointmentFactory

    for _ in range(5):
        AppointmentFactory(clinic=mother.clinic, patient=mother)
    portal = portal_api(phone=MOTHER_PHONE)
    for path in ["appointments", "prescriptions", "lab-results", "invoices", "documents"]:
        with django_assert_max_num_queries(8):
            assert portal.get(path).status_code == 200, path
    client.post("/portal/login/", {"login": MOTHER_EMAIL})
    client.post("/portal/login/code/", {"code": last_code(MOTHER_EMAIL)})
    for path in [
        "/portal/",
        "/portal/appointments/",
        "/portal/prescriptions/",
        "/portal/results/",
        "/portal/invoices/",
        "/portal/documents/",
    ]:
        with django_assert_max_num_queries(12):
            assert client.get(path).status_code == 200, path


def test_another_patients_appointment_cannot_be_moved_or_cancelled(client, portal_api, records, mother, stranger, doctor):
    from scheduling.tests.factories import AppointmentFactory

    theirs = AppointmentFactory(clinic=stranger.clinic, patient=stranger, doctor=doctor)
    portal = portal_api(phone=MOTHER_PHONE)
    assert portal.post(f"appointments/{theirs.pk}/cancel").status_code == 404
    assert portal.post(f"appointments/{theirs.pk}/reschedule", {"start": theirs.starts_at.isoformat()}).status_code == 404
    client.post("/portal/login/", {"login": MOTHER_EMAIL})
    client.post("/portal/login/code/", {"code": last_code(MOTHER_EMAIL)})
    assert client.post(f"/portal/appointments/{theirs.pk}/cancel/").status_code == 404
    assert client.get(f"/portal/appointments/{theirs.pk}/move/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == "scheduled"


def test_a_portal_request_keeps_clinic_scopes_on_and_opens_them_per_block(portal_api, records, mother, client, monkeypatch):
    """The portal never turns scopes off for a whole request: a read of another clinic's
    rows outside its own block raises, as on a staff page; the lists still answer."""
    from django_scopes import get_scope

    from portal import selectors

    seen = []
    original = selectors.invoices

    def watching(*args, **kwargs):
        seen.append(get_scope().get("_enabled"))
        return original(*args, **kwargs)

    monkeypatch.setattr(selectors, "invoices", watching)
    portal = portal_api(phone=MOTHER_PHONE)
    assert portal.get("invoices").status_code == 200
    assert seen == [True]


def test_the_bill_lists_what_was_paid_from_a_deposit_too(client, mother, stranger, clinic, make_member):
    from decimal import Decimal

    from billing import services as billing
    from billing.inputs import InvoiceLineInput

    desk = make_member(Role.FRONT_DESK)
    deposit = billing.deposit_record(clinic=clinic, patient=mother, user=desk, amount=Decimal("500.00"), method="upi")
    invoice = billing.invoice_issue(
        invoice=billing.invoice_create(
            clinic=clinic, user=desk, patient=mother, lines=[InvoiceLineInput(description="Scan", unit_price=Decimal("800.00"))]
        ),
        user=desk,
    )
    billing.deposit_apply(invoice=invoice, user=desk, amount=Decimal("500.00"))
    billing.payment_record(invoice=invoice, user=desk, amount=Decimal("300.00"), method="cash")
    client.post("/portal/login/", {"login": MOTHER_PHONE})
    client.post("/portal/login/code/", {"code": last_code(MOTHER_PHONE)})
    page = client.get("/portal/invoices/").content.decode()
    assert "paid 800.00" in page and "300.00 (Cash)" in page
    assert f"Deposit {deposit.receipt_number}" in page and "500.00 (paid from your deposit)" in page
    assert client.get(f"/portal/receipts/{deposit.pk}/pdf/").status_code == 200
