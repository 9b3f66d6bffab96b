"""ABDM health documents: FHIR ``document`` Bundles as India's NRCeS implementation guide
lays them out — an OP consultation record, a prescription record, a diagnostic report record.

Each Bundle has an ``identifier``, a ``timestamp`` and ``meta.versionId``; its first entry is
the Composition, typed with SNOMED CT (371530004 / 440545006 / 721981007), whose sections
reference the other entries; every reference resolves inside the bundle, and the
Composition's narrative is escaped text."""

from django.utils import timezone
from django.utils.html import escape

from clinical.models import LabOrder, Prescription, Visit
from clinicos.models import Clinic
from reporting.interop import fhir
from reporting.interop.fhir import SNOMED, BundleBuilder, ref

OP_CONSULTATION = ("371530004", "Clinical consultation report")
PRESCRIPTION = ("440545006", "Prescription record")
DIAGNOSTIC_REPORT = ("721981007", "Diagnostic studies report")
SECTIONS = {
    "chief_complaints": ("422843007", "Chief complaint section"),
    "allergies": ("722446000", "Allergy record"),
    "vitals": ("425044008", "Physical exam section"),
    "diagnoses": ("375800000", "Diagnostic procedure"),
    "medications": ("721912009", "Medication summary document"),
    "investigations": ("721963009", "Order document"),
    "reports": ("721981007", "Diagnostic studies report"),
}


def _organization(builder: BundleBuilder, clinic: Clinic) -> dict:
    return builder.add(
        "Organization",
        clinic.pk,
        {
            "identifier": [{"system": fhir.identifier_system(clinic, "organization"), "value": clinic.code}],
            "name": clinic.name,
            "telecom": [{"system": "phone", "value": clinic.phone}, {"system": "email", "value": clinic.email}],
        },
    )


def _section(key: str, entries: list[dict]) -> dict:
    code, display = SECTIONS[key]
    return {
        "title": display,
        "code": {"coding": [{"system": SNOMED, "code": code, "display": display}]},
        "entry": [ref(e) for e in entries],
    }


def _narrative(lines: list[str]) -> dict:
    body = "".join(f"<p>{escape(line)}</p>" for line in lines if line)
    return {"status": "generated", "div": f'<div xmlns="http://www.w3.org/1999/xhtml">{body}</div>'}


def _composition(builder: BundleBuilder, key: str, kind: tuple[str, str], title: str) -> dict:
    """The Composition first (its sections are filled in once the entries exist)."""
    return builder.add(
        "Composition",
        key,
        {"status": "final", "type": {"coding": [{"system": SNOMED, "code": kind[0], "display": kind[1]}], "text": kind[1]}, "title": title},
    )


def _document(builder: BundleBuilder, key: str, version: int = 1) -> dict:
    return builder.bundle(
        key,
        bundle_type="document",
        identifier={"system": "https://ndhm.gov.in", "value": fhir.stable_id(builder.clinic, "Document", key)},
        meta={"versionId": str(version), "lastUpdated": timezone.now()},
    )


def op_consultation(visit: Visit) -> dict:
    clinic, patient = visit.clinic, visit.patient
    builder = BundleBuilder(clinic)
    composition = _composition(builder, f"op-{visit.pk}", OP_CONSULTATION, "Consultation Report")
    subject = fhir.patient_resource(builder, patient)
    encounter = fhir.encounter_resource(builder, visit, subject)
    encounters = {visit.pk: encounter}
    author = fhir.practitioner_resource(builder, visit.doctor)
    custodian = _organization(builder, clinic)
    diagnoses = fhir.condition_resources(builder, patient, subject, encounters, problems=False)
    allergies = fhir.allergy_resources(builder, patient, subject)
    vitals = fhir.vital_resources(builder, patient, subject, encounters, visit_only=True)
    prescriptions = list(Prescription.objects.for_clinic(clinic).filter(visit=visit).exclude(status="draft").values_list("pk", flat=True))
    medications = fhir.medication_resources(builder, patient, subject, encounters, prescription_ids=prescriptions)
    orders = list(LabOrder.objects.for_clinic(clinic).filter(visit=visit).values_list("pk", flat=True))
    investigations = fhir.lab_resources(builder, patient, subject, encounters, order_ids=orders)
    note = getattr(visit, "note", None)
    sections = [
        _section("allergies", allergies),
        _section("vitals", vitals),
        _section("diagnoses", diagnoses),
        _section("medications", medications),
        _section("investigations", investigations),
    ]
    composition.update(
        subject=ref(subject),
        encounter=ref(encounter),
        date=visit.completed_at or visit.started_at,
        author=[ref(author)],
        custodian=ref(custodian),
        text=_narrative(
            [
                f"{patient.full_name} ({patient.uhid}) seen by {visit.doctor.user.full_name} at {clinic.name}, visit {visit.reference}.",
                f"Chief complaint: {note.chief_complaint}" if note is not None and note.chief_complaint else "",
                f"Assessment: {note.assessment}" if note is not None and note.assessment else "",
                f"Plan: {note.plan}" if note is not None and note.plan else "",
            ]
        ),
        section=[section for section in sections if section["entry"]],
    )
    return _document(builder, f"op-{visit.pk}")


def prescription_record(prescription: Prescription) -> dict:
    clinic, patient, visit = prescription.clinic, prescription.patient, prescription.visit
    builder = BundleBuilder(clinic)
    composition = _composition(builder, f"rx-{prescription.pk}", PRESCRIPTION, "Prescription")
    subject = fhir.patient_resource(builder, patient)
    encounter = fhir.encounter_resource(builder, visit, subject)
    author = fhir.practitioner_resource(builder, prescription.doctor)
    custodian = _organization(builder, clinic)
    medications = fhir.medication_resources(builder, patient, subject, {visit.pk: encounter}, prescription_ids=[prescription.pk])
    composition.update(
        subject=ref(subject),
        encounter=ref(encounter),
        date=prescription.finalized_at or prescription.created_at,
        author=[ref(author)],
        custodian=ref(custodian),
        text=_narrative([f"Prescription {prescription.reference} for {patient.full_name} by {prescription.doctor.user.full_name}."]),
        section=[_section("medications", medications)],
    )
    return _document(builder, f"rx-{prescription.pk}")


def diagnostic_report_record(order: LabOrder) -> dict:
    clinic, patient = order.clinic, order.patient
    builder = BundleBuilder(clinic)
    composition = _composition(builder, f"lab-{order.pk}", DIAGNOSTIC_REPORT, "Diagnostic Report")
    subject = fhir.patient_resource(builder, patient)
    encounters = {order.visit.pk: fhir.encounter_resource(builder, order.visit, subject)} if order.visit is not None else {}
    author = fhir.practitioner_resource(builder, order.ordering_doctor)
    custodian = _organization(builder, clinic)
    reports = fhir.lab_resources(builder, patient, subject, encounters, order_ids=[order.pk])
    composition.update(
        subject=ref(subject),
        encounter=ref(encounters[order.visit_id]) if order.visit_id else None,
        date=order.completed_at or order.ordered_at,
        author=[ref(author)],
        custodian=ref(custodian),
        text=_narrative([f"Laboratory order {order.reference} for {patient.full_name}."]),
        section=[_section("reports", reports)],
    )
    return _document(builder, f"lab-{order.pk}")
