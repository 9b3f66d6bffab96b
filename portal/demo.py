"""Portal demo data for ``manage.py seed_demo``: both clinics book their doctors'
consultations and follow-ups online, and one demo person can log in to the portal:

- by email ``patient@abc01.example``: a Sunrise patient (with a prescription, results and a
  bill) who is registered at Lakeside too, so the portal shows both clinics;
- by that patient's phone: those charts plus their daughter's, registered on the same phone
  (a family profile).

Codes go to the console backends in development (printed where ``make run`` runs)."""

import datetime

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import Q

from billing.models import Invoice
from clinical.models import LabOrder, Prescription
from clinicos.models import Clinic, DoctorProfile, User
from patients import services as patient_services
from patients.demo import MINIMAL_PDF
from patients.models import Document, Patient
from portal.models import OnlineBooking

DEMO_EMAIL = "patient@abc01.example"
CHILD_REFERENCE = "DEMO-PORTAL-CHILD"
ELSEWHERE_REFERENCE = "DEMO-PORTAL-ELSEWHERE"
ONLINE_TYPES = ["consultation", "follow_up"]


def seed(stdout=None) -> None:
    clinics = {clinic.code: clinic for clinic in Clinic.objects.filter(code__in=["ABC01", "XYZ02"])}
    for clinic in clinics.values():
        _open_online_booking(clinic)
    if "ABC01" not in clinics:
        return
    main = _demo_patient(clinics["ABC01"])
    if main is None:
        return
    Patient.objects.filter(pk=main.pk).update(email=DEMO_EMAIL)
    main.email = DEMO_EMAIL
    if "XYZ02" in clinics:
        _register_elsewhere(main, clinics["XYZ02"])
    _register_child(main)
    _share_a_document(main)
    if stdout:
        stdout.write(f"  Portal: log in at /portal/ with {DEMO_EMAIL} or {main.mobile} (codes print in the server console)")


def _open_online_booking(clinic: Clinic) -> None:
    rules, _ = OnlineBooking.objects.get_or_create(clinic=clinic, defaults={"is_enabled": True, "appointment_types": ONLINE_TYPES})
    if not rules.doctors.exists():
        rules.doctors.set(DoctorProfile.objects.for_clinic(clinic).filter(is_active=True))


def _demo_patient(clinic: Clinic) -> Patient | None:
    """The Sunrise patient with the most to show: a prescription, results and a bill."""
    existing = Patient.objects.for_clinic(clinic).filter(email=DEMO_EMAIL).first()
    if existing is not None:
        return existing
    with_rx = set(Prescription.objects.for_clinic(clinic).filter(status=Prescription.Status.FINALIZED).values_list("patient_id", flat=True))
    with_results = set(LabOrder.objects.for_clinic(clinic).filter(status=LabOrder.Status.COMPLETED).values_list("patient_id", flat=True))
    with_bills = set(Invoice.objects.for_clinic(clinic).filter(~Q(status=Invoice.Status.DRAFT)).values_list("patient_id", flat=True))
    for candidates in (with_rx & with_results & with_bills, with_rx & with_results, with_rx & with_bills, with_rx, with_bills):
        if candidates:
            return Patient.objects.for_clinic(clinic).filter(pk__in=candidates, status=Patient.Status.ACTIVE).order_by("id").first()
    return Patient.objects.for_clinic(clinic).filter(status=Patient.Status.ACTIVE).order_by("id").first()


def _register_elsewhere(patient: Patient, clinic: Clinic) -> None:
    """The same person registered at a second clinic (same phone and email): the portal
    shows both charts, each clinic's apart."""
    if Patient.objects.for_clinic(clinic).filter(external_reference=ELSEWHERE_REFERENCE).exists():
        return
    desk = User.objects.get(email=f"frontdesk@{clinic.code.lower()}.example")
    patient_services.patient_register(
        clinic=clinic,
        user=desk,
        data={
            "first_name": patient.first_name,
            "last_name": patient.last_name,
            "gender": patient.gender,
            "date_of_birth": patient.date_of_birth,
            "mobile": patient.mobile,
            "email": patient.email,
            "external_reference": ELSEWHERE_REFERENCE,
        },
        allow_duplicate=True,
    )


def _register_child(parent: Patient) -> None:
    clinic = parent.clinic
    if Patient.objects.for_clinic(clinic).filter(external_reference=CHILD_REFERENCE).exists():
        return
    desk = User.objects.get(email=f"frontdesk@{clinic.code.lower()}.example")
    patient_services.patient_register(
        clinic=clinic,
        user=desk,
        data={
            "first_name": "Diya",
            "last_name": parent.last_name,
            "gender": "female",
            "date_of_birth": clinic.today() - datetime.timedelta(days=8 * 365 + 40),
            "relation": "D/o",
            "relative_name": parent.full_name,
            "mobile": parent.mobile,
            "city": parent.city,
            "state": parent.state,
            "external_reference": CHILD_REFERENCE,
        },
        allow_duplicate=True,
    )


def _share_a_document(patient: Patient) -> None:
    if Document.objects.for_clinic(patient.clinic).filter(patient=patient, shared_with_patient=True).exists():
        return
    desk = User.objects.get(email=f"frontdesk@{patient.clinic.code.lower()}.example")
    upload = SimpleUploadedFile("care-advice.pdf", MINIMAL_PDF, content_type="application/pdf")
    document = patient_services.document_upload(patient=patient, user=desk, upload=upload, name="Care advice", document_type="other")
    Document.objects.filter(pk=document.pk).update(shared_with_patient=True)
