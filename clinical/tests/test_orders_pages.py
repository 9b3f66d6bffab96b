"""The Orders pages: prescribing in the visit panel (warning, reasons, finalize), the PDF,
the QR code's check page, the pharmacy, the lab's order page and critical results, the
chart tabs; bad input in the page; bounded queries on the worklists."""

import io

import pytest
from pypdf import PdfReader

from clinical import services
from clinical.inputs import LabResultInput
from clinical.models import LabOrder, LabResult, Prescription
from clinical.tests.conftest import AMOXICILLIN, FOLIC_ACID, penicillin_allergy
from clinicos.models import ReadAccessLog

pytestmark = pytest.mark.django_db


def page(clinic, path):
    return f"/c/{clinic.code}/{path}"


def test_the_doctor_prescribes_in_the_visit_and_must_give_a_reason_for_the_warning(client, clinic, prescriber, order_visit, order_patient):
    penicillin_allergy(order_patient, prescriber.user)
    client.force_login(prescriber.user)
    panel = client.get(page(clinic, f"visits/{order_visit.pk}/prescription/"))
    assert panel.status_code == 200 and b"Add a medicine" in panel.content

    bad = client.post(page(clinic, f"visits/{order_visit.pk}/prescription/items/"), {**AMOXICILLIN, "quantity": "0"})
    assert bad.status_code == 422 and b"greater than or equal to 1" in bad.content
    assert not Prescription.objects.exists()

    added = client.post(page(clinic, f"visits/{order_visit.pk}/prescription/items/"), {**AMOXICILLIN, "route": "oral"})
    assert added.status_code == 200 and "Amoxicillin is a penicillin" in added.content.decode()
    prescription = Prescription.objects.get()
    warning = prescription.items.get().warnings.get()

    refused = client.post(page(clinic, f"prescriptions/{prescription.pk}/finalize/"), {"notes": ""})
    assert refused.status_code == 409 and b"reason for each allergy warning" in refused.content
    finalized = client.post(
        page(clinic, f"prescriptions/{prescription.pk}/finalize/"),
        {f"reason_{warning.pk}": "Tolerated it in 2024", "notes": "Plenty of fluids"},
    )
    assert finalized.status_code == 200 and b"Print (PDF)" in finalized.content
    prescription.refresh_from_db()
    assert prescription.status == "finalized" and prescription.notes == "Plenty of fluids"

    document = client.get(page(clinic, f"prescriptions/{prescription.pk}/print.pdf"))
    assert document.status_code == 200 and document["Content-Type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(document.content))
    text = "".join(p.extract_text() for p in reader.pages)
    assert "KMC-48213" in text and "AMOXICILLIN" in text and order_patient.uhid in text and "Karnataka Medical Council" in text
    assert f"/rx/{prescription.verification_token}/" in "".join(text.split())  # the QR code's target (may wrap)
    assert "Allergies: Penicillin (severe)" in text and "Diagnosis: not recorded" in text
    width_mm = float(reader.pages[0].mediabox.width) / 72 * 25.4
    assert round(width_mm) == 148  # A5
    assert ReadAccessLog.objects.filter(action="print", entity_id=str(prescription.pk)).count() == 1


def test_the_unknown_allergy_list_is_confirmed_in_the_page(client, clinic, prescriber, order_visit):
    client.force_login(prescriber.user)
    client.post(page(clinic, f"visits/{order_visit.pk}/prescription/items/"), {**FOLIC_ACID, "route": "oral"})
    prescription = Prescription.objects.get()
    asked = client.post(page(clinic, f"prescriptions/{prescription.pk}/finalize/"), {"notes": ""})
    assert asked.status_code == 409 and b"Nobody has recorded this patient" in asked.content
    confirmed = client.post(page(clinic, f"prescriptions/{prescription.pk}/finalize/"), {"allergies_unknown_confirmed": "on"})
    assert confirmed.status_code == 200
    assert Prescription.objects.get().status == "finalized"


def test_the_qr_check_page_says_genuine_and_current_and_nothing_else(client, clinic, prescriber, order_visit, order_patient):
    services.no_known_allergies_record(patient=order_patient, user=prescriber.user)
    prescription = services.prescription_create(visit=order_visit, user=prescriber.user, items=[AMOXICILLIN])
    services.prescription_finalize(prescription=prescription, user=prescriber.user)
    shown = client.get(f"/rx/{prescription.verification_token}/")  # no login
    body = shown.content.decode()
    assert shown.status_code == 200 and "Genuine and current" in body and prescription.reference in body
    assert order_patient.first_name not in body and "Amoxicillin" not in body and "AMOXICILLIN" not in body
    correction = services.prescription_create(visit=order_visit, user=prescriber.user, items=[FOLIC_ACID], supersedes=prescription)
    services.prescription_finalize(prescription=correction, user=prescriber.user)
    assert "Replaced by a newer prescription" in client.get(f"/rx/{prescription.verification_token}/").content.decode()
    assert client.get("/rx/not-a-token/").status_code == 404


def test_the_pharmacist_dispenses_from_the_worklist(
    client, clinic, prescriber, order_visit, order_patient, pharmacist, django_assert_max_num_queries
):
    services.no_known_allergies_record(patient=order_patient, user=prescriber.user)
    prescription = services.prescription_create(visit=order_visit, user=prescriber.user, items=[FOLIC_ACID, AMOXICILLIN])
    services.prescription_finalize(prescription=prescription, user=prescriber.user)
    client.force_login(pharmacist)
    with django_assert_max_num_queries(14):
        worklist = client.get(page(clinic, "pharmacy/"))
    assert prescription.reference in worklist.content.decode()
    folic, amoxicillin = prescription.items.order_by("position")
    too_many = client.post(page(clinic, f"prescriptions/{prescription.pk}/dispense/"), {f"quantity_{folic.pk}": "31"})
    assert too_many.status_code == 422 and b"Only 30 left" in too_many.content
    done = client.post(
        page(clinic, f"prescriptions/{prescription.pk}/dispense/"), {f"quantity_{folic.pk}": "30", f"quantity_{amoxicillin.pk}": "15"}
    )
    assert done.status_code == 302
    assert b"Nothing waiting to be dispensed" in client.get(page(clinic, "pharmacy/")).content
    assert client.get(page(clinic, f"visits/{order_visit.pk}/")).status_code == 403  # no notes for pharmacists


def test_the_lab_moves_an_order_and_a_critical_result_reaches_the_doctor(client, clinic, prescriber, order_visit, catalog, lab_tech):
    client.force_login(prescriber.user)
    ordered = client.post(
        page(clinic, f"visits/{order_visit.pk}/lab-orders/"), {"tests": [catalog["K"].pk, catalog["TSH"].pk], "urgency": "urgent"}
    )
    assert ordered.status_code == 200 and b"sent to the lab" in ordered.content
    assert client.post(page(clinic, f"visits/{order_visit.pk}/lab-orders/"), {"urgency": "routine"}).status_code == 422
    order = LabOrder.objects.get()

    client.force_login(lab_tech)
    early = client.post(page(clinic, f"lab/orders/{order.pk}/results/"), {"test_id": [t.pk for t in order.tests.all()]})
    assert early.status_code == 409
    skip = client.post(page(clinic, f"lab/orders/{order.pk}/status/"), {"status": "in_progress"})
    assert skip.status_code == 409 and b"one step at a time" in skip.content
    assert client.post(page(clinic, f"lab/orders/{order.pk}/status/"), {"status": "cancelled", "reason": ""}).status_code == 422
    assert client.post(page(clinic, f"lab/orders/{order.pk}/status/"), {"status": "sample_collected"}).status_code == 302
    potassium, tsh = order.tests.get(lab_test__code="K"), order.tests.get(lab_test__code="TSH")
    bad = client.post(page(clinic, f"lab/orders/{order.pk}/results/"), {"test_id": [potassium.pk], f"value_{potassium.pk}": "lots"})
    assert bad.status_code == 422 and b"is a number" in bad.content
    saved = client.post(
        page(clinic, f"lab/orders/{order.pk}/results/"),
        {
            "test_id": [potassium.pk, tsh.pk],
            f"value_{potassium.pk}": "7.2",
            f"final_{potassium.pk}": "on",
            f"value_{tsh.pk}": "",
            f"final_{tsh.pk}": "on",
        },
    )
    assert saved.status_code == 302
    assert LabResult.objects.get().flag == "critical_high"

    client.force_login(prescriber.user)
    critical = client.get(page(clinic, "lab/critical/"))
    assert b"Potassium 7.2" in critical.content
    result = LabResult.objects.get()
    client.post(page(clinic, f"lab/results/{result.pk}/acknowledge/"), {"comment": ""})
    result.refresh_from_db()
    assert result.acknowledged_at is None
    client.post(page(clinic, f"lab/results/{result.pk}/acknowledge/"), {"comment": "Called the patient in"})
    result.refresh_from_db()
    assert result.acknowledgement_comment == "Called the patient in"


def test_the_worklist_and_the_tabs_keep_their_queries_bounded(
    client, clinic, prescriber, order_patient, catalog, lab_tech, django_assert_max_num_queries
):
    for _ in range(6):
        order = services.lab_order_create(patient=order_patient, user=prescriber.user, lab_tests=[catalog["TSH"], catalog["HB"]])
        services.lab_order_set_status(order=order, user=lab_tech, to_status="sample_collected")
        services.lab_results_enter(
            order=order, user=lab_tech, results=[LabResultInput.of(test_id=t.pk, value="3", final=True) for t in order.tests.all()]
        )
    client.force_login(lab_tech)
    with django_assert_max_num_queries(14):
        assert client.get(page(clinic, "lab/?status=completed")).status_code == 200
    client.force_login(prescriber.user)
    with django_assert_max_num_queries(20):
        labs = client.get(page(clinic, f"patients/{order_patient.pk}/tabs/labs/"))
    assert labs.status_code == 200 and b"data:image/svg+xml" in labs.content  # the trend chart
    with django_assert_max_num_queries(16):
        assert client.get(page(clinic, f"patients/{order_patient.pk}/tabs/prescriptions/")).status_code == 200


def test_admins_keep_the_catalog_and_the_formulary(client, clinic, clinic_admin, catalog):
    client.force_login(clinic_admin)
    assert b"Anti-M" in client.get(page(clinic, "settings/lab-tests/")).content
    form = {
        "code": "vitd",
        "name": "Vitamin D (25-OH)",
        "specimen": "Serum",
        "unit": "ng/mL",
        "result_type": "numeric",
        "is_active": "on",
        "ranges-TOTAL_FORMS": "1",
        "ranges-INITIAL_FORMS": "0",
        "ranges-0-sex": "any",
        "ranges-0-age_min_years": "0",
        "ranges-0-low": "30",
        "ranges-0-high": "100",
        "ranges-0-critical_low": "",
        "ranges-0-critical_high": "",
    }
    assert client.post(page(clinic, "settings/lab-tests/new/"), form).status_code == 302
    vitamin_d = catalog["TSH"].__class__.objects.get(clinic=clinic, code="VITD")
    assert vitamin_d.ranges.get().low == 30
    again = client.post(page(clinic, "settings/lab-tests/new/"), {**form, "code": "VITD"})
    assert again.status_code == 422 and b"already has a test with this code" in again.content
    upside_down = client.post(page(clinic, "settings/lab-tests/new/"), {**form, "code": "X1", "ranges-0-low": "100", "ranges-0-high": "30"})
    assert upside_down.status_code == 422

    assert (
        client.post(
            page(clinic, "settings/formulary/new/"),
            {"generic_name": "Doxycycline", "strength": "100 mg", "route": "oral", "is_active": "on"},
        ).status_code
        == 302
    )
    duplicate = client.post(
        page(clinic, "settings/formulary/new/"), {"generic_name": "doxycycline", "strength": "100 MG", "route": "oral", "is_active": "on"}
    )
    assert duplicate.status_code == 422 and b"already in the formulary" in duplicate.content


def test_a_valid_prescription_feeds_the_current_medications(client, clinic, prescriber, order_visit, order_patient, api_client):
    """On the chart's summary and in the API's, alike."""
    services.no_known_allergies_record(patient=order_patient, user=prescriber.user)
    prescription = services.prescription_create(visit=order_visit, user=prescriber.user, items=[FOLIC_ACID])
    api = api_client(prescriber.user)  # before the page's login: the API client logs its session out
    client.force_login(prescriber.user)
    summary = page(clinic, f"patients/{order_patient.pk}/tabs/summary/")
    summary_api = f"/api/v1/clinics/{clinic.code}/patients/{order_patient.pk}/summary"
    assert b"FOLIC ACID" not in client.get(summary).content  # a draft is not taken yet
    assert api.get(summary_api).json()["prescribed"] == []
    services.prescription_finalize(prescription=prescription, user=prescriber.user)
    assert b"FOLIC ACID" in client.get(summary).content
    (prescribed,) = api.get(summary_api).json()["prescribed"]
    prescription.refresh_from_db()
    assert prescribed["medicine"].upper() == "FOLIC ACID" and prescribed["prescription_reference"] == prescription.reference
    assert prescribed["valid_until"] == prescription.valid_until.isoformat()


def test_the_prescription_prints_the_diagnosis_and_that_no_allergies_are_known(clinic, prescriber, order_visit):
    from clinical import pdf, selectors

    services.note_save(
        visit=order_visit, user=prescriber.user, data={"assessment": "Iron deficiency anaemia", "diagnosis_codes": ["D50.9"]}
    )
    services.no_known_allergies_record(patient=order_visit.patient, user=prescriber.user)
    prescription = services.prescription_create(visit=order_visit, user=prescriber.user, items=[FOLIC_ACID])
    services.prescription_finalize(prescription=prescription, user=prescriber.user)
    content = pdf.prescription_pdf(
        prescription=prescription,
        items=selectors.prescription_items(prescription),
        verify_url="https://x.example/v",
        printed_by=prescriber.user,
    )
    text = " ".join("".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages).split())
    assert "Diagnosis: Iron deficiency anaemia (D50.9)" in text and "Allergies: No known allergies" in text
