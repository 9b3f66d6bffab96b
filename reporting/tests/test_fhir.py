"""The FHIR R4 export of a patient: a patient with visits, vitals, allergies, a prescription,
a critical lab result and an invoice exports to a Bundle that fhirclient's R4 models parse
(strictly) resource by resource, whose references all resolve inside it, with the codes and
systems integrations expect, and the same ids on every export."""

import json
from decimal import Decimal

import pytest
from fhirclient.models.bundle import Bundle

from clinical import services as clinical_services
from clinical.inputs import VitalsInput
from clinicos.models import ReadAccessLog
from reporting.interop import fhir
from reporting.tests.test_task_tenancy import busy_clinic

pytestmark = pytest.mark.django_db


@pytest.fixture
def record(clinic):
    """busy_clinic's patient (a paid invoice, a visit, a critical potassium of 7), plus vitals,
    an allergy, a problem, a diagnosis, a finalized prescription and the national IDs."""
    made = busy_clinic(clinic, "Meera")
    result = made["result"]
    patient = result.patient
    patient.abha_number, patient.nhs_number = "91123456789012", "9434765919"
    patient.save()
    doctor = made["doctor"]
    visit = result.order_test.order.visit
    clinical_services.vitals_record(
        patient=patient,
        user=doctor.user,
        visit=visit,
        vitals=VitalsInput(
            systolic_bp=Decimal(128),
            diastolic_bp=Decimal(84),
            pulse_rate=Decimal(76),
            temperature_celsius=Decimal("37.2"),
            weight_kg=Decimal(62),
            height_cm=Decimal(160),
            oxygen_saturation=Decimal(98),
        ),
    )
    clinical_services.history_item_save(
        kind="allergies", patient=patient, user=doctor.user, data={"substance": "Penicillin", "reaction": "Hives", "severity": "moderate"}
    )
    clinical_services.history_item_save(
        kind="conditions", patient=patient, user=doctor.user, data={"name": "Hypothyroidism", "icd10_code": "E03.9"}
    )
    clinical_services.note_save(visit=visit, user=doctor.user, data={"chief_complaint": "Tiredness", "diagnosis_codes": ["E87.5"]})
    prescription = clinical_services.prescription_create(
        visit=visit,
        user=doctor.user,
        items=[
            {"medicine": "Levothyroxine 50 mcg", "dosage": "1 tablet", "frequency": "once daily", "duration": "30 days", "quantity": 30}
        ],
    )
    clinical_services.prescription_finalize(prescription=prescription, user=doctor.user)
    return patient


def test_the_bundle_parses_as_r4_and_every_reference_resolves(record):
    bundle = fhir.patient_bundle(record)
    parsed = Bundle(json.loads(json.dumps(bundle)), strict=True)  # raises on any element R4 does not know
    assert parsed.type == "collection" and len(parsed.entry) == len(bundle["entry"])
    full_urls = {entry["fullUrl"] for entry in bundle["entry"]}
    assert all(url.startswith("urn:uuid:") for url in full_urls) and len(full_urls) == len(bundle["entry"])

    def references(value):
        if isinstance(value, dict):
            if "reference" in value:
                yield value["reference"]
            for item in value.values():
                yield from references(item)
        elif isinstance(value, list):
            for item in value:
                yield from references(item)

    dangling = [reference for reference in references(bundle) if reference not in full_urls]
    assert not dangling

    def no_empty(value):
        if isinstance(value, dict):
            assert value and all(no_empty(item) is None for item in value.values())
        elif isinstance(value, list):
            assert value and all(no_empty(item) is None for item in value)
        else:
            assert value not in ("", None)

    no_empty(bundle)
    kinds = {entry["resource"]["resourceType"] for entry in bundle["entry"]}
    assert kinds >= {
        "Patient",
        "Practitioner",
        "Encounter",
        "Condition",
        "AllergyIntolerance",
        "Observation",
        "MedicationRequest",
        "ServiceRequest",
        "DiagnosticReport",
        "Invoice",
    }


def resources(bundle, kind):
    return [entry["resource"] for entry in bundle["entry"] if entry["resource"]["resourceType"] == kind]


def test_codes_systems_and_identifiers(record):
    bundle = fhir.patient_bundle(record)
    (patient,) = resources(bundle, "Patient")
    systems = {identifier["system"]: identifier["value"] for identifier in patient["identifier"]}
    assert systems["https://healthid.ndhm.gov.in"] == "91-1234-5678-9012"
    assert systems["https://fhir.nhs.uk/Id/nhs-number"] == "9434765919"
    assert record.uhid in systems.values()
    observations = resources(bundle, "Observation")
    loinc = {coding["code"] for o in observations for coding in o["code"].get("coding", []) if coding["system"] == "http://loinc.org"}
    assert {"85354-9", "8867-4", "8310-5", "59408-5", "29463-7", "8302-2", "39156-5"} <= loinc
    bp = next(o for o in observations if o["code"]["coding"][0]["code"] == "85354-9")
    assert [c["code"]["coding"][0]["code"] for c in bp["component"]] == ["8480-6", "8462-4"]
    assert bp["component"][0]["valueQuantity"] == {"value": 128, "unit": "mm[Hg]", "system": "http://unitsofmeasure.org", "code": "mm[Hg]"}
    potassium = next(o for o in observations if o.get("valueQuantity", {}).get("value") == 7)
    assert potassium["interpretation"][0]["coding"][0]["code"] == "HH" and potassium["referenceRange"]
    conditions = resources(bundle, "Condition")
    icd = {c["code"]["coding"][0]["code"]: c["category"][0]["coding"][0]["code"] for c in conditions if "coding" in c["code"]}
    assert icd["E03.9"] == "problem-list-item" and icd["E87.5"] == "encounter-diagnosis"
    (allergy,) = resources(bundle, "AllergyIntolerance")
    assert allergy["code"]["text"] == "Penicillin" and allergy["reaction"][0]["severity"] == "moderate"
    (medication,) = resources(bundle, "MedicationRequest")
    assert medication["status"] == "active" and medication["medicationCodeableConcept"]["text"] == "Levothyroxine 50 mcg"
    (invoice,) = resources(bundle, "Invoice")
    assert invoice["status"] == "balanced" and invoice["totalGross"] == {"value": 700, "currency": "INR"}


def test_the_same_record_has_the_same_ids_on_every_export(record):
    first = {entry["fullUrl"] for entry in fhir.patient_bundle(record)["entry"]}
    second = {entry["fullUrl"] for entry in fhir.patient_bundle(record)["entry"]}
    assert first == second


def test_no_known_allergies_in_its_coded_form(clinic, clinician):
    from patients.tests.factories import PatientFactory

    patient = PatientFactory(clinic=clinic)
    clinical_services.no_known_allergies_record(patient=patient, user=clinician)
    (allergy,) = resources(fhir.patient_bundle(patient), "AllergyIntolerance")
    assert allergy["code"]["coding"][0] == {"system": "http://snomed.info/sct", "code": "716186003", "display": "No known allergy"}


def test_the_api_answers_fhir_json_to_clinicians_and_logs_the_read(
    record, api_client, clinician, front_desk, make_member, other_clinic, clinic
):
    from clinicos.roles import Role

    url = f"/api/v1/clinics/{clinic.code}/patients/{record.pk}/fhir"
    answer = api_client(clinician).get(url)
    assert answer.status_code == 200 and answer["Content-Type"].startswith("application/fhir+json")
    assert answer.json()["resourceType"] == "Bundle"
    assert ReadAccessLog.objects.filter(action="fhir export", patient_id=record.pk).exists()
    assert api_client(front_desk).get(url).status_code == 403  # clinical content: clinical roles only
    doctor_elsewhere = make_member(Role.DOCTOR, in_clinic=other_clinic)
    assert api_client(doctor_elsewhere).get(f"/api/v1/clinics/XYZ02/patients/{record.pk}/fhir").status_code == 404


def all_references(value):
    if isinstance(value, dict):
        if "reference" in value:
            yield value["reference"]
        for item in value.values():
            yield from all_references(item)
    elif isinstance(value, list):
        for item in value:
            yield from all_references(item)


@pytest.mark.parametrize(
    ("path", "snomed"),
    [
        ("visits/{visit}/fhir/op-consultation", "371530004"),
        ("prescriptions/{prescription}/fhir", "440545006"),
        ("lab-orders/{order}/fhir", "721981007"),
    ],
)
def test_abdm_documents_are_document_bundles_led_by_their_composition(record, api_client, clinician, clinic, path, snomed):
    from clinical.models import LabOrder, Prescription

    order = LabOrder.objects.get(patient=record)
    ids = {"visit": order.visit_id, "prescription": Prescription.objects.get(patient=record).pk, "order": order.pk}
    answer = api_client(clinician).get(f"/api/v1/clinics/{clinic.code}/" + path.format(**ids))
    assert answer.status_code == 200 and answer["Content-Type"].startswith("application/fhir+json")
    bundle = answer.json()
    Bundle(bundle, strict=True)
    assert bundle["type"] == "document" and bundle["identifier"]["value"] and bundle["timestamp"] and bundle["meta"]["versionId"] == "1"
    composition = bundle["entry"][0]["resource"]
    assert composition["resourceType"] == "Composition" and composition["type"]["coding"][0] == {
        "system": "http://snomed.info/sct",
        "code": snomed,
        "display": composition["type"]["coding"][0]["display"],
    }
    full_urls = {entry["fullUrl"] for entry in bundle["entry"]}
    assert set(all_references(bundle)) <= full_urls and composition["section"] and composition["author"]
    assert composition["text"]["div"].startswith('<div xmlns="http://www.w3.org/1999/xhtml">')


def test_the_narrative_is_escaped(record, clinician):
    from clinical.models import LabOrder, Visit
    from reporting.interop import abdm

    visit = Visit.objects.get(pk=LabOrder.objects.get(patient=record).visit_id)
    clinical_services.note_save(visit=visit, user=visit.doctor.user, data={"plan": "<script>alert(1)</script> & rest"})
    div = abdm.op_consultation(Visit.objects.select_related("clinic", "patient", "doctor__user", "note").get(pk=visit.pk))["entry"][0][
        "resource"
    ]["text"]["div"]
    assert "<script>" not in div and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; rest" in div
