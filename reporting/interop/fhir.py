"""A patient's record as a FHIR R4 (4.0.1) Bundle of type ``collection``.

Every resource's id is a UUID derived from the clinic, the resource type and the row's
primary key (``stable_id``): the same record has the same id on every export, and each
``fullUrl`` is ``urn:uuid:<id>``. References point only at resources inside the bundle.
Empty elements are dropped (FHIR forbids ``""``, ``[]`` and ``{}``)."""

import datetime
import uuid
from decimal import Decimal

from django.conf import settings
from django.utils import timezone

from billing.models import Invoice
from clinical import icd10
from clinical.models import Allergy, AllergyStatement, ClinicalNote, Condition, LabOrder, LabResult, PrescriptionItem, Visit, VitalSigns
from clinicos.models import Clinic, DoctorProfile
from patients.identity import abha_number_display
from patients.models import Patient

FHIR_VERSION = "4.0.1"
NAMESPACE = uuid.UUID("5d7f1b0e-7c1e-4b8e-9d57-3f2c0a6c1e11")  # never change: ids must stay stable
ICD10 = "http://hl7.org/fhir/sid/icd-10"
LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
UCUM = "http://unitsofmeasure.org"
ABHA_SYSTEM = "https://healthid.ndhm.gov.in"
NHS_SYSTEM = "https://fhir.nhs.uk/Id/nhs-number"
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
FLAG_CODES = {
    "high": ("H", "High"),
    "low": ("L", "Low"),
    "critical_high": ("HH", "Critical high"),
    "critical_low": ("LL", "Critical low"),
    "abnormal": ("A", "Abnormal"),
    "normal": ("N", "Normal"),
}
# (vital sign field, LOINC code, display, UCUM unit)
VITALS = (
    ("pulse_rate", "8867-4", "Heart rate", "/min"),
    ("temperature_celsius", "8310-5", "Body temperature", "Cel"),
    ("respiratory_rate", "9279-1", "Respiratory rate", "/min"),
    ("oxygen_saturation", "59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry", "%"),
    ("weight_kg", "29463-7", "Body weight", "kg"),
    ("height_cm", "8302-2", "Body height", "cm"),
    ("bmi", "39156-5", "Body mass index (BMI) [Ratio]", "kg/m2"),
)


def stable_id(clinic: Clinic, resource_type: str, key: object) -> str:
    return str(uuid.uuid5(NAMESPACE, f"{clinic.code}/{resource_type}/{key}"))


def ref(resource: dict) -> dict:
    return {"reference": f"urn:uuid:{resource['id']}"}


def pruned(value):
    """The value without empty elements (None, "", [], {}), recursively."""
    if isinstance(value, dict):
        kept = {key: pruned(item) for key, item in value.items()}
        return {key: item for key, item in kept.items() if item not in (None, "", [], {})}
    if isinstance(value, list):
        return [item for item in (pruned(item) for item in value) if item not in (None, "", [], {})]
    if isinstance(value, Decimal):
        return float(value) if value != value.to_integral_value() else int(value)
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    return value


def identifier_system(clinic: Clinic, kind: str) -> str:
    base = getattr(settings, "FHIR_IDENTIFIER_BASE", "").rstrip("/") or f"{settings.MESSAGING_PUBLIC_URL.rstrip('/')}/fhir/sid"
    return f"{base}/{clinic.code.lower()}/{kind}"


class BundleBuilder:
    """Collects resources once each (by type and key) and answers references to them."""

    def __init__(self, clinic: Clinic):
        self.clinic = clinic
        self.entries: dict[tuple[str, object], dict] = {}

    def add(self, resource_type: str, key: object, body: dict) -> dict:
        found = self.entries.get((resource_type, key))
        if found is None:
            found = {"resourceType": resource_type, "id": stable_id(self.clinic, resource_type, key), **body}
            self.entries[(resource_type, key)] = found
        return found

    def bundle(self, bundle_key: str, bundle_type: str = "collection", **extra) -> dict:
        return pruned(
            {
                "resourceType": "Bundle",
                "id": stable_id(self.clinic, "Bundle", bundle_key),
                "meta": {"lastUpdated": timezone.now()},
                "type": bundle_type,
                "timestamp": timezone.now(),
                **extra,
                "entry": [{"fullUrl": f"urn:uuid:{resource['id']}", "resource": resource} for resource in self.entries.values()],
            }
        )


# --- The resources ---------------------------------------------------------------------------------


def patient_resource(builder: BundleBuilder, patient: Patient) -> dict:
    clinic = builder.clinic
    identifiers: list[dict] = [{"use": "usual", "system": identifier_system(clinic, "uhid"), "value": patient.uhid}]
    if patient.abha_number:
        identifiers.append({"system": ABHA_SYSTEM, "value": abha_number_display(patient.abha_number), "type": {"text": "ABHA number"}})
    if patient.abha_address:
        identifiers.append({"system": f"{ABHA_SYSTEM}/address", "value": patient.abha_address, "type": {"text": "ABHA address"}})
    if patient.nhs_number:
        identifiers.append({"system": NHS_SYSTEM, "value": patient.nhs_number})
    gender = {"male": "male", "female": "female", "other": "other"}.get(patient.gender, "unknown")
    return builder.add(
        "Patient",
        patient.pk,
        {
            "identifier": identifiers,
            "active": patient.status == Patient.Status.ACTIVE,
            "name": [{"use": "official", "family": patient.last_name, "given": [patient.first_name], "text": patient.full_name}],
            "telecom": [
                {"system": "phone", "value": patient.mobile, "use": "mobile"},
                {"system": "email", "value": patient.email} if patient.email else None,
            ],
            "gender": gender,
            "birthDate": patient.date_of_birth,
            "address": [
                {
                    "line": [part for part in (patient.house, patient.street, patient.area) if part],
                    "city": patient.city,
                    "district": patient.district,
                    "state": patient.state,
                    "postalCode": patient.postal_code,
                    "country": patient.country,
                }
            ],
        },
    )


def practitioner_resource(builder: BundleBuilder, doctor: DoctorProfile) -> dict:
    user = doctor.user
    given, _, family = user.full_name.removeprefix("Dr ").removeprefix("Dr. ").rpartition(" ")
    registration = getattr(doctor, "registration_number", "")
    return builder.add(
        "Practitioner",
        doctor.pk,
        {
            "identifier": [{"system": identifier_system(builder.clinic, "registration"), "value": registration}] if registration else [],
            "name": [{"text": user.full_name, "family": family or given, "given": [given] if given and family else [], "prefix": ["Dr"]}],
            "telecom": [{"system": "email", "value": user.email}],
        },
    )


def encounter_resource(builder: BundleBuilder, visit: Visit, subject: dict) -> dict:
    doctor = practitioner_resource(builder, visit.doctor)
    note = getattr(visit, "note", None)
    return builder.add(
        "Encounter",
        visit.pk,
        {
            "identifier": [{"system": identifier_system(builder.clinic, "visit"), "value": visit.reference}],
            "status": "finished" if visit.status == Visit.Status.COMPLETED else "in-progress",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB", "display": "ambulatory"},
            "subject": ref(subject),
            "participant": [{"individual": ref(doctor)}],
            "period": {"start": visit.started_at, "end": visit.completed_at},
            "reasonCode": [{"text": note.chief_complaint}] if note is not None and note.chief_complaint else [],
        },
    )


def _icd10(code: str, text: str = "") -> dict:
    return {
        "coding": [{"system": ICD10, "code": code, "display": icd10.description(code) or text}],
        "text": text or icd10.description(code),
    }


def condition_resources(
    builder: BundleBuilder, patient: Patient, subject: dict, encounters: dict[int, dict], problems: bool = True
) -> list[dict]:
    """The problem list (unless ``problems`` is off) and the visits' diagnoses; answers the diagnoses."""
    clinical_status = {"active": "active", "inactive": "resolved", "history_of": "resolved"}
    conditions = Condition.objects.for_clinic(builder.clinic).filter(patient=patient) if problems else Condition.objects.none()
    for condition in conditions.order_by("pk"):
        code = _icd10(condition.icd10_code, condition.name) if condition.icd10_code else {"text": condition.name}
        builder.add(
            "Condition",
            f"problem-{condition.pk}",
            {
                "clinicalStatus": _coded(
                    "http://terminology.hl7.org/CodeSystem/condition-clinical", clinical_status.get(condition.status, "active")
                ),
                "verificationStatus": _coded("http://terminology.hl7.org/CodeSystem/condition-ver-status", "confirmed"),
                "category": [_coded("http://terminology.hl7.org/CodeSystem/condition-category", "problem-list-item", "Problem List Item")],
                "code": code,
                "subject": ref(subject),
                "encounter": ref(encounters[condition.source_visit_id]) if condition.source_visit_id in encounters else None,
                "onsetDateTime": condition.onset_date,
                "note": [{"text": condition.notes}] if condition.notes else [],
            },
        )
    diagnoses = []
    notes = ClinicalNote.objects.for_clinic(builder.clinic).filter(visit_id__in=list(encounters)).order_by("visit_id")
    for note in notes:
        for code in note.diagnosis_codes or []:
            diagnoses.append(
                builder.add(
                    "Condition",
                    f"diagnosis-{note.visit_id}-{code}",
                    {
                        "clinicalStatus": _coded("http://terminology.hl7.org/CodeSystem/condition-clinical", "active"),
                        "verificationStatus": _coded("http://terminology.hl7.org/CodeSystem/condition-ver-status", "confirmed"),
                        "category": [
                            _coded("http://terminology.hl7.org/CodeSystem/condition-category", "encounter-diagnosis", "Encounter Diagnosis")
                        ],
                        "code": _icd10(code),
                        "subject": ref(subject),
                        "encounter": ref(encounters[note.visit_id]),
                    },
                )
            )
    return diagnoses


def _coded(system: str, code: str, display: str = "") -> dict:
    return {"coding": [{"system": system, "code": code, "display": display}]}


def allergy_resources(builder: BundleBuilder, patient: Patient, subject: dict) -> list[dict]:
    clinical = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
    verification = "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification"
    allergies = list(Allergy.objects.for_clinic(builder.clinic).filter(patient=patient).order_by("pk"))
    added = []
    for allergy in allergies:
        severity = {"mild": "mild", "moderate": "moderate", "severe": "severe", "life_threatening": "severe"}.get(allergy.severity, "")
        added.append(
            builder.add(
                "AllergyIntolerance",
                allergy.pk,
                {
                    "clinicalStatus": _coded(clinical, "active" if allergy.status == "active" else "inactive"),
                    "verificationStatus": _coded(verification, "confirmed"),
                    "code": {"text": allergy.substance},
                    "patient": ref(subject),
                    "reaction": [{"manifestation": [{"text": allergy.reaction}], "severity": severity}] if allergy.reaction else [],
                },
            )
        )
    statement = AllergyStatement.objects.for_clinic(builder.clinic).filter(patient=patient, no_known_allergies=True).first()
    if statement is not None and not any(a.status == "active" for a in allergies):
        added.append(
            builder.add(
                "AllergyIntolerance",
                "no-known-allergies",
                {
                    "clinicalStatus": _coded(clinical, "active"),
                    "verificationStatus": _coded(verification, "confirmed"),
                    "code": {
                        "coding": [{"system": SNOMED, "code": "716186003", "display": "No known allergy"}],
                        "text": "No known allergies",
                    },
                    "patient": ref(subject),
                    "recordedDate": statement.recorded_at,
                },
            )
        )
    return added


def _quantity(value, unit: str) -> dict:
    return {"value": value, "unit": unit, "system": UCUM, "code": unit}


def vital_resources(
    builder: BundleBuilder, patient: Patient, subject: dict, encounters: dict[int, dict], visit_only: bool = False
) -> list[dict]:
    category = [_coded("http://terminology.hl7.org/CodeSystem/observation-category", "vital-signs", "Vital Signs")]
    added = []
    rows = VitalSigns.objects.for_clinic(builder.clinic).filter(patient=patient)
    if visit_only:
        rows = rows.filter(visit_id__in=list(encounters))
    for vitals in rows.order_by("recorded_at", "pk"):
        common = {
            "status": "final",
            "category": category,
            "subject": ref(subject),
            "encounter": ref(encounters[vitals.visit_id]) if vitals.visit_id in encounters else None,
            "effectiveDateTime": vitals.recorded_at,
        }
        if vitals.systolic_bp is not None and vitals.diastolic_bp is not None:
            added.append(
                builder.add(
                    "Observation",
                    f"vitals-{vitals.pk}-bp",
                    {
                        **common,
                        "code": {
                            "coding": [{"system": LOINC, "code": "85354-9", "display": "Blood pressure panel with all children optional"}]
                        },
                        "component": [
                            {
                                "code": {"coding": [{"system": LOINC, "code": "8480-6", "display": "Systolic blood pressure"}]},
                                "valueQuantity": _quantity(vitals.systolic_bp, "mm[Hg]"),
                            },
                            {
                                "code": {"coding": [{"system": LOINC, "code": "8462-4", "display": "Diastolic blood pressure"}]},
                                "valueQuantity": _quantity(vitals.diastolic_bp, "mm[Hg]"),
                            },
                        ],
                    },
                )
            )
        for field, code, display, unit in VITALS:
            value = getattr(vitals, field)
            if value is None:
                continue
            added.append(
                builder.add(
                    "Observation",
                    f"vitals-{vitals.pk}-{field}",
                    {
                        **common,
                        "code": {"coding": [{"system": LOINC, "code": code, "display": display}], "text": display},
                        "valueQuantity": _quantity(value, unit),
                    },
                )
            )
    return added


def medication_resources(
    builder: BundleBuilder, patient: Patient, subject: dict, encounters: dict[int, dict], prescription_ids: list[int] | None = None
) -> list[dict]:
    added = []
    items = PrescriptionItem.objects.for_clinic(builder.clinic).filter(prescription__patient=patient)
    if prescription_ids is not None:
        items = items.filter(prescription_id__in=prescription_ids)
    items = items.exclude(prescription__status="draft").select_related("prescription__doctor__user").order_by("prescription_id", "position")
    statuses = {"finalized": "active", "superseded": "stopped"}
    for item in items:
        prescription = item.prescription
        requester = practitioner_resource(builder, prescription.doctor)
        added.append(
            builder.add(
                "MedicationRequest",
                item.pk,
                {
                    "identifier": [
                        {"system": identifier_system(builder.clinic, "prescription"), "value": f"{prescription.reference}/{item.position}"}
                    ],
                    "status": statuses.get(prescription.status, "completed"),
                    "intent": "order",
                    "medicationCodeableConcept": {"text": item.medicine},
                    "subject": ref(subject),
                    "encounter": ref(encounters[prescription.visit_id]) if prescription.visit_id in encounters else None,
                    "authoredOn": prescription.finalized_at,
                    "requester": ref(requester),
                    "dosageInstruction": [
                        {
                            "text": " · ".join(part for part in (item.dosage, item.frequency, item.duration, item.instructions) if part),
                            "route": {"text": item.route} if item.route else None,
                        }
                    ],
                    "dispenseRequest": {"quantity": {"value": item.quantity}} if item.quantity else None,
                },
            )
        )
    return added


def lab_resources(
    builder: BundleBuilder, patient: Patient, subject: dict, encounters: dict[int, dict], order_ids: list[int] | None = None
) -> list[dict]:
    """ServiceRequests per ordered test and a DiagnosticReport (with its Observations) per
    order with results; answers the reports (and the requests of orders without results)."""
    added: list[dict] = []
    orders = LabOrder.objects.for_clinic(builder.clinic).filter(patient=patient).select_related("ordering_doctor__user").order_by("pk")
    if order_ids is not None:
        orders = orders.filter(pk__in=order_ids)
    results_by_order: dict[int, list[LabResult]] = {}
    current = LabResult.objects.for_clinic(builder.clinic).filter(patient=patient, is_current=True).select_related("lab_test", "order_test")
    for result in current.order_by("pk"):
        results_by_order.setdefault(result.order_test.order_id, []).append(result)
    category = [_coded("http://terminology.hl7.org/CodeSystem/observation-category", "laboratory", "Laboratory")]
    request_status = {"cancelled": "revoked", "completed": "completed"}
    for order in orders.prefetch_related("tests__lab_test"):
        requester = practitioner_resource(builder, order.ordering_doctor)
        encounter = ref(encounters[order.visit_id]) if order.visit_id in encounters else None
        requests = [
            builder.add(
                "ServiceRequest",
                order_test.pk,
                {
                    "identifier": [
                        {"system": identifier_system(builder.clinic, "lab-order"), "value": f"{order.reference}/{order_test.lab_test.code}"}
                    ],
                    "status": request_status.get(order.status, "active"),
                    "intent": "order",
                    "priority": "urgent" if order.urgency == LabOrder.Urgency.URGENT else "routine",
                    "code": {
                        "coding": [{"system": identifier_system(builder.clinic, "lab-test"), "code": order_test.lab_test.code}],
                        "text": order_test.lab_test.name,
                    },
                    "subject": ref(subject),
                    "encounter": encounter,
                    "authoredOn": order.ordered_at,
                    "requester": ref(requester),
                },
            )
            for order_test in order.tests.all()
        ]
        observations = [_lab_observation(builder, result, subject, encounter, category) for result in results_by_order.get(order.pk, [])]
        if not observations:
            added.extend(requests)
        else:
            added.append(
                builder.add(
                    "DiagnosticReport",
                    order.pk,
                    {
                        "identifier": [{"system": identifier_system(builder.clinic, "lab-order"), "value": order.reference}],
                        "basedOn": [ref(request) for request in requests],
                        "status": "final" if all(o["status"] in ("final", "amended") for o in observations) else "preliminary",
                        "category": [_coded("http://terminology.hl7.org/CodeSystem/v2-0074", "LAB", "Laboratory")],
                        "code": {"text": f"Laboratory report {order.reference}"},
                        "subject": ref(subject),
                        "encounter": encounter,
                        "issued": order.completed_at or max(o["issued"] for o in observations),
                        "result": [ref(observation) for observation in observations],
                    },
                )
            )
    return added


def _lab_observation(builder: BundleBuilder, result: LabResult, subject: dict, encounter: dict | None, category: list) -> dict:
    test = result.lab_test
    value: dict = (
        {"valueQuantity": {"value": result.value_numeric, "unit": result.unit}}
        if result.value_numeric is not None
        else {"valueString": result.value_text}
    )
    reference_range = {
        "low": {"value": result.range_low, "unit": result.unit} if result.range_low is not None else None,
        "high": {"value": result.range_high, "unit": result.unit} if result.range_high is not None else None,
        "text": result.range_text,
    }
    flag = FLAG_CODES.get(result.flag)
    return builder.add(
        "Observation",
        f"lab-{result.pk}",
        {
            "status": {"final": "final", "amended": "amended"}.get(result.status, "preliminary"),
            "category": category,
            "code": {
                "coding": [{"system": identifier_system(builder.clinic, "lab-test"), "code": test.code, "display": test.name}],
                "text": test.name,
            },
            "subject": ref(subject),
            "encounter": encounter,
            "effectiveDateTime": result.entered_at,
            "issued": result.entered_at,
            **value,
            "interpretation": [{"coding": [{"system": INTERPRETATION, "code": flag[0], "display": flag[1]}]}] if flag else [],
            "referenceRange": [reference_range],
        },
    )


def invoice_resources(builder: BundleBuilder, patient: Patient, subject: dict) -> None:
    currency = builder.clinic.currency
    invoices = (
        Invoice.objects.for_clinic(builder.clinic).filter(patient=patient, issued_at__isnull=False).prefetch_related("lines").order_by("pk")
    )
    statuses = {"cancelled": "cancelled", "paid": "balanced"}
    for invoice in invoices:
        builder.add(
            "Invoice",
            invoice.pk,
            {
                "identifier": [{"system": identifier_system(builder.clinic, "invoice"), "value": invoice.number}],
                "status": statuses.get(invoice.status, "issued"),
                "subject": ref(subject),
                "date": invoice.issued_at,
                "lineItem": [
                    {
                        "sequence": line.position,
                        "chargeItemCodeableConcept": {"text": line.description},
                        "priceComponent": [{"type": "base", "amount": {"value": line.line_total, "currency": currency}}],
                    }
                    for line in invoice.lines.all()
                ],
                "totalNet": {"value": invoice.subtotal - invoice.discount_amount, "currency": currency},
                "totalGross": {"value": invoice.total_amount, "currency": currency},
            },
        )


def patient_bundle(patient: Patient) -> dict:
    """Everything ClinicOS holds about the patient's care, as one R4 collection Bundle."""
    builder = BundleBuilder(patient.clinic)
    subject = patient_resource(builder, patient)
    visits = (
        Visit.objects.for_clinic(builder.clinic).filter(patient=patient).select_related("doctor__user", "note").order_by("started_at", "pk")
    )
    encounters = {visit.pk: encounter_resource(builder, visit, subject) for visit in visits}
    condition_resources(builder, patient, subject, encounters)
    allergy_resources(builder, patient, subject)
    vital_resources(builder, patient, subject, encounters)
    medication_resources(builder, patient, subject, encounters)
    lab_resources(builder, patient, subject, encounters)
    invoice_resources(builder, patient, subject)
    return builder.bundle(f"patient-{patient.pk}-{timezone.now().isoformat()}")
