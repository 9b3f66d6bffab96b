"""The Orders API as integrations call it (bearer tokens from POST /api/v1/auth/login):
the contracts of prescriptions, lab orders, results and critical results, and the access
matrix by role and clinic."""

import io

import pytest
from pypdf import PdfReader

from clinical import services
from clinical.inputs import LabResultInput
from clinical.models import LabOrder, Prescription
from clinical.tests.conftest import AMOXICILLIN, FOLIC_ACID, penicillin_allergy
from clinicos.models import ReadAccessLog
from clinicos.roles import Role

pytestmark = pytest.mark.django_db


def url(clinic, path):
    return f"/api/v1/clinics/{clinic.code}/{path}"


def test_prescribing_with_an_allergy_warning_through_the_api(api_client, clinic, prescriber, order_visit, order_patient):
    penicillin_allergy(order_patient, prescriber.user)
    api = api_client(prescriber.user)
    created = api.post(url(clinic, "prescriptions"), {"visit_id": order_visit.pk, "items": [FOLIC_ACID, AMOXICILLIN]})
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["status"] == "draft" and [item["medicine"] for item in body["items"]] == ["Folic acid", "Amoxicillin"]
    assert [(w["item_index"], w["allergy"], w["match"]) for w in body["warnings"]] == [(1, "Penicillin", "class")]
    assert "penicillin" in body["warnings"][0]["message"]

    again = api.post(url(clinic, "prescriptions"), {"visit_id": order_visit.pk, "items": [FOLIC_ACID]})
    assert again.status_code == 409

    blocked = api.post(url(clinic, f"prescriptions/{body['id']}/finalize"), {})
    assert blocked.status_code == 409
    assert blocked.json()["warnings"][0]["allergy"] == "Penicillin" and blocked.json()["detail"]

    finalized = api.post(url(clinic, f"prescriptions/{body['id']}/finalize"), {"allergy_override_reason": "Tolerated it last year"})
    assert finalized.status_code == 200, finalized.content
    assert finalized.json()["status"] == "finalized" and finalized.json()["valid_until"]
    assert finalized.json()["warnings"][0]["override_reason"] == "Tolerated it last year"

    assert api.patch(url(clinic, f"prescriptions/{body['id']}"), {"notes": "changed"}).status_code == 409
    assert api.post(url(clinic, f"prescriptions/{body['id']}/finalize"), {}).status_code == 409
    assert api.delete(url(clinic, f"prescriptions/{body['id']}")).status_code == 409

    read = api.get(url(clinic, f"prescriptions/{body['id']}"))
    assert read.status_code == 200 and read.json()["items"][1]["medicine"] == "Amoxicillin"
    document = api.get(url(clinic, f"prescriptions/{body['id']}/pdf"))
    assert document.status_code == 200 and document["Content-Type"] == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(document.content)).pages)
    assert "KMC-48213" in text and "AMOXICILLIN" in text and "FOLIC ACID" in text
    assert ReadAccessLog.objects.filter(action="print", entity_id=str(body["id"])).exists()


def test_bad_prescription_input_is_a_422_and_stores_nothing(api_client, clinic, prescriber, order_visit):
    api = api_client(prescriber.user)
    bad = api.post(url(clinic, "prescriptions"), {"visit_id": order_visit.pk, "items": [{**FOLIC_ACID, "quantity": 0, "medicine": ""}]})
    assert bad.status_code == 422
    fields = {problem["loc"][-1] for problem in bad.json()["detail"]}
    assert {"items.0.quantity", "items.0.medicine"} <= fields
    assert api.post(url(clinic, "prescriptions"), {"visit_id": order_visit.pk, "items": []}).status_code == 422
    assert api.post(url(clinic, "prescriptions"), {"visit_id": order_visit.pk}).status_code == 422
    assert not Prescription.objects.exists()


def test_the_pharmacist_sees_and_dispenses_prescriptions_but_no_notes(
    api_client, clinic, prescriber, order_visit, order_patient, pharmacist
):
    services.no_known_allergies_record(patient=order_patient, user=prescriber.user)
    prescription = services.prescription_create(visit=order_visit, user=prescriber.user, items=[FOLIC_ACID])
    api = api_client(pharmacist)
    assert api.post(url(clinic, f"prescriptions/{prescription.pk}/dispense"), {}).status_code == 409  # a draft
    services.prescription_finalize(prescription=prescription, user=prescriber.user)
    worklist = api.get(url(clinic, "prescriptions?dispensable=1"))
    assert [row["id"] for row in worklist.json()] == [prescription.pk]
    item_id = prescription.items.get().pk
    too_many = api.post(url(clinic, f"prescriptions/{prescription.pk}/dispense"), {"items": [{"item_id": item_id, "quantity": 31}]})
    assert too_many.status_code == 422
    done = api.post(url(clinic, f"prescriptions/{prescription.pk}/dispense"), {"items": [{"item_id": item_id, "quantity": 30}]})
    assert done.status_code == 200 and done.json()[0]["quantity"] == 30
    assert api.get(url(clinic, "prescriptions?dispensable=1")).json() == []
    assert api.get(url(clinic, f"visits/{order_visit.pk}")).status_code == 403  # never the note
    assert api.get(url(clinic, "lab-orders")).status_code == 403


def test_a_lab_order_through_its_steps_with_a_critical_result_and_its_acknowledgement(
    api_client, clinic, prescriber, order_visit, catalog, lab_tech
):
    doctor = api_client(prescriber.user)
    created = doctor.post(
        url(clinic, "lab-orders"), {"visit_id": order_visit.pk, "urgency": "urgent", "tests": [{"code": "tsh"}, {"code": "K"}]}
    )
    assert created.status_code == 201, created.content
    order = created.json()
    assert order["status"] == "ordered" and [t["code"] for t in order["tests"]] == ["TSH", "K"]
    tsh_id, k_id = (t["id"] for t in order["tests"])
    assert doctor.post(url(clinic, "lab-orders"), {"patient_id": order_visit.patient_id, "tests": [{"code": "NOPE"}]}).status_code == 422
    assert doctor.post(url(clinic, "lab-orders"), {"tests": [{"code": "TSH"}]}).status_code == 422

    lab = api_client(lab_tech)
    early = lab.post(
        url(clinic, f"lab-orders/{order['id']}/results"), {"results": [{"test_id": tsh_id, "value": 2.2, "unit": "mIU/L", "final": True}]}
    )
    assert early.status_code == 409
    skip = lab.post(url(clinic, f"lab-orders/{order['id']}/status"), {"status": "in_progress"})
    assert skip.status_code == 409
    assert lab.post(url(clinic, f"lab-orders/{order['id']}/status"), {"status": "sample_collected"}).json()["status"] == "sample_collected"
    back = lab.post(url(clinic, f"lab-orders/{order['id']}/status"), {"status": "ordered"})
    assert back.status_code == 409
    assert lab.post(url(clinic, f"lab-orders/{order['id']}/status"), {"status": "teleported"}).status_code == 422

    entered = lab.post(
        url(clinic, f"lab-orders/{order['id']}/results"),
        {
            "results": [
                {"test_id": tsh_id, "value": 2.2, "unit": "mIU/L", "final": True},
                {"test_id": k_id, "value": "7.1", "unit": "mmol/L", "final": True},
            ]
        },
    )
    assert entered.status_code == 200, entered.content
    body = entered.json()
    assert body["status"] == "completed"
    tsh, potassium = (t["result"] for t in body["tests"])
    assert tsh["flag"] == "normal" and tsh["reference_range"]["low"] == "0.400" and tsh["reference_range"]["text"] == "0.4–4 mIU/L"
    assert potassium["flag"] == "critical_high" and potassium["critical"]
    assert lab.post(url(clinic, f"lab-orders/{order['id']}/status"), {"status": "cancelled", "reason": "x"}).status_code == 409

    waiting = doctor.get(url(clinic, "lab-results/critical?acknowledged=0"))
    assert [r["id"] for r in waiting.json()] == [potassium["id"]]
    assert doctor.post(url(clinic, f"lab-results/{potassium['id']}/acknowledge"), {}).status_code == 422
    assert doctor.post(url(clinic, f"lab-results/{potassium['id']}/acknowledge"), {"comment": ""}).status_code == 422
    assert lab.post(url(clinic, f"lab-results/{potassium['id']}/acknowledge"), {"comment": "seen"}).status_code == 403
    acknowledged = doctor.post(url(clinic, f"lab-results/{potassium['id']}/acknowledge"), {"comment": "Patient sent to emergency"})
    assert acknowledged.status_code == 200 and acknowledged.json()["acknowledgement_comment"] == "Patient sent to emergency"
    assert doctor.get(url(clinic, "lab-results/critical?acknowledged=0")).json() == []
    assert [o["id"] for o in lab.get(url(clinic, "lab-orders?status=completed")).json()] == [order["id"]]
    assert lab.get(url(clinic, "lab-orders?status=bogus")).status_code == 422


def test_the_catalog_lists_tests_with_their_ranges(api_client, clinic, catalog, lab_tech):
    tests = {t["code"]: t for t in api_client(lab_tech).get(url(clinic, "lab-tests")).json()}
    assert {"FSH", "LH", "AMH", "E2", "TSH", "PRL", "HBA1C", "HB", "WBC", "PLT", "FBS", "CREAT", "SCONC", "BHCG"} <= set(tests)
    assert {r["sex"] for r in tests["HB"]["ranges"]} == {"female", "male"}


ORDER_ENDPOINTS = [
    ("post", "prescriptions", {"visit_id": 0, "items": []}),
    ("get", "prescriptions/{rx}", None),
    ("get", "prescriptions/{rx}/pdf", None),
    ("post", "prescriptions/{rx}/finalize", {}),
    ("post", "prescriptions/{rx}/dispense", {}),
    ("get", "lab-tests", None),
    ("post", "lab-orders", {"patient_id": 0, "tests": []}),
    ("get", "lab-orders", None),
    ("post", "lab-orders/{order}/status", {"status": "sample_collected"}),
    ("post", "lab-orders/{order}/results", {"results": []}),
    ("post", "lab-results/{result}/acknowledge", {"comment": "x"}),
    ("get", "lab-results/critical?acknowledged=0", None),
]
# Who may call each endpoint (beyond 403): the role matrix of the issue.
MAY = {
    "post prescriptions": {Role.DOCTOR},
    "get prescriptions/{rx}": {Role.DOCTOR, Role.NURSE, Role.PHARMACIST},
    "get prescriptions/{rx}/pdf": {Role.DOCTOR, Role.NURSE, Role.PHARMACIST},
    "post prescriptions/{rx}/finalize": {Role.DOCTOR},
    "post prescriptions/{rx}/dispense": {Role.PHARMACIST},
    "get lab-tests": {Role.DOCTOR, Role.NURSE, Role.LAB, Role.ADMIN},
    "post lab-orders": {Role.DOCTOR},
    "get lab-orders": {Role.DOCTOR, Role.NURSE, Role.LAB},
    "post lab-orders/{order}/status": {Role.LAB},
    "post lab-orders/{order}/results": {Role.LAB},
    "post lab-results/{result}/acknowledge": {Role.DOCTOR},
    "get lab-results/critical?acknowledged=0": {Role.DOCTOR, Role.NURSE, Role.LAB},
}


@pytest.fixture
def order_records(clinic, prescriber, order_visit, order_patient, catalog, lab_tech):
    services.no_known_allergies_record(patient=order_patient, user=prescriber.user)
    prescription = services.prescription_create(visit=order_visit, user=prescriber.user, items=[FOLIC_ACID])
    services.prescription_finalize(prescription=prescription, user=prescriber.user)
    order = services.lab_order_create(patient=order_patient, user=prescriber.user, lab_tests=[catalog["K"]], visit=order_visit)
    services.lab_order_set_status(order=order, user=lab_tech, to_status="sample_collected")
    (result,) = services.lab_results_enter(
        order=order, user=lab_tech, results=[LabResultInput.of(test_id=order.tests.get().pk, value="7", final=False)]
    )
    return {"rx": prescription.pk, "order": order.pk, "result": result.pk}


@pytest.mark.parametrize("role", [Role.FRONT_DESK, Role.CRO, Role.BILLING, Role.LAB, Role.PHARMACIST, Role.NURSE, Role.ADMIN])
def test_the_access_matrix_by_role(role, api_client, clinic, make_member, order_records):
    api = api_client(make_member(role))
    for method, path, data in ORDER_ENDPOINTS:
        target = path.format(**order_records)
        response = getattr(api, method)(url(clinic, target), data) if data is not None else getattr(api, method)(url(clinic, target))
        allowed = role in MAY[f"{method} {path}"]
        if allowed:
            assert response.status_code != 403, (role, method, target, response.content)
        else:
            assert response.status_code == 403, (role, method, target, response.status_code)


def test_another_clinics_orders_are_404_even_under_the_users_own_clinic(api_client, clinic, other_clinic, order_records, make_member):
    from clinicos.tests.factories import DoctorProfileFactory

    outsider_doctor = DoctorProfileFactory(clinic=other_clinic).user
    api = api_client(outsider_doctor)
    for path in ("prescriptions/{rx}", "prescriptions/{rx}/pdf", "lab-orders/{order}"):
        target = path.format(**order_records)
        assert api.get(url(other_clinic, target)).status_code == 404
        assert api.get(url(clinic, target)).status_code == 404
    assert api.post(url(other_clinic, "lab-results/{result}/acknowledge".format(**order_records)), {"comment": "x"}).status_code == 404
    assert LabOrder.objects.get(pk=order_records["order"]).status == "in_progress"


def test_the_results_report_prints_final_results_with_ranges_flags_and_who(
    api_client, clinic, prescriber, order_visit, catalog, lab_tech, make_member
):
    order = services.lab_order_create(
        patient=order_visit.patient, user=prescriber.user, lab_tests=[catalog["TSH"], catalog["K"]], visit=order_visit
    )
    api = api_client(prescriber.user)
    assert api.get(url(clinic, f"lab-orders/{order.pk}/report.pdf")).status_code == 409  # nothing final yet
    services.lab_order_set_status(order=order, user=lab_tech, to_status="sample_collected")
    tsh, potassium = order.tests.get(lab_test__code="TSH"), order.tests.get(lab_test__code="K")
    services.lab_results_enter(
        order=order,
        user=lab_tech,
        results=[LabResultInput.of(test_id=tsh.pk, value="5.2", final=True), LabResultInput.of(test_id=potassium.pk, value="4.0")],
    )
    services.lab_results_enter(order=order, user=lab_tech, results=[LabResultInput.of(test_id=tsh.pk, value="5.6", final=True)])  # amended
    answer = api.get(url(clinic, f"lab-orders/{order.pk}/report.pdf"))
    assert answer.status_code == 200 and answer["Content-Type"] == "application/pdf"
    text = " ".join("".join(page.extract_text() for page in PdfReader(io.BytesIO(answer.content)).pages).split())
    assert "Laboratory results" in text and order_visit.patient.uhid in text
    assert "5.6" in text and "Amended (v2)" in text and "mIU/L" in text and "High" in text and lab_tech.full_name in text
    assert "Potassium" not in text and "1 test of this order has no final result yet" in text  # preliminary: not reported
    assert "Not yet verified" in text
    from clinicos.models import ReadAccessLog

    assert ReadAccessLog.objects.filter(action="print results", entity_id=str(order.pk)).exists()
    assert api_client(make_member(Role.FRONT_DESK)).get(url(clinic, f"lab-orders/{order.pk}/report.pdf")).status_code == 403


def test_the_order_page_offers_the_results_report_once_a_result_is_final(client, clinic, prescriber, order_visit, catalog, lab_tech):
    order = services.lab_order_create(patient=order_visit.patient, user=prescriber.user, lab_tests=[catalog["TSH"]], visit=order_visit)
    client.force_login(prescriber.user)
    page = f"/c/{clinic.code}/lab/orders/{order.pk}/"
    assert "Results report (PDF)" not in client.get(page).content.decode()
    assert client.get(page + "results.pdf").status_code == 409
    services.lab_order_set_status(order=order, user=lab_tech, to_status="sample_collected")
    services.lab_results_enter(
        order=order, user=lab_tech, results=[LabResultInput.of(test_id=order.tests.get().pk, value="2.0", final=True)]
    )
    assert "Results report (PDF)" in client.get(page).content.decode()
    assert client.get(page + "results.pdf")["Content-Type"] == "application/pdf"
