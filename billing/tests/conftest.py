"""Fixtures of the Billing tests: a Karnataka clinic with a GSTIN, its catalog (an exempt
consultation, a taxable cosmetic procedure, a pharmacy item), a billing officer, and
helpers to make issued invoices."""

from decimal import Decimal

import pytest

from billing import services
from billing.inputs import invoice_lines_parse
from billing.models import Service
from clinicos.roles import Role
from clinicos.tests.factories import DoctorProfileFactory, UserFactory
from patients.tests.factories import PatientFactory


@pytest.fixture
def gst_clinic(clinic):
    clinic.state = "Karnataka"
    clinic.tax_id = "29ABCDE1234F1Z5"
    clinic.save()
    return clinic


@pytest.fixture
def billing_officer(make_member):
    return make_member(Role.BILLING)


@pytest.fixture
def patient(gst_clinic):
    return PatientFactory(clinic=gst_clinic, first_name="Anita", last_name="Sharma", state="Karnataka")


@pytest.fixture
def doctor(gst_clinic):
    return DoctorProfileFactory(
        clinic=gst_clinic, user=UserFactory(full_name="Dr Kavya Rao"), registration_number="KMC-48213", consultation_fee=Decimal("800.00")
    )


@pytest.fixture
def catalog(gst_clinic, clinic_admin):
    def save(**data):
        return services.service_save(clinic=gst_clinic, user=clinic_admin, **data)

    return {
        "consultation": save(name="Consultation", service_type=Service.Type.CONSULTATION, price=Decimal("800.00"), hsn_sac="9993"),
        "scan": save(name="Pelvic ultrasound", service_type=Service.Type.IMAGING, price=Decimal("1500.00"), hsn_sac="9993"),
        "peel": save(
            name="Chemical peel",
            service_type=Service.Type.PROCEDURE,
            price=Decimal("2000.00"),
            tax_class="taxable",
            tax_rate=Decimal("18"),
            hsn_sac="9993",
        ),
        "folic": save(
            name="Folic acid 5 mg (30)",
            service_type=Service.Type.PHARMACY,
            price=Decimal("95.00"),
            tax_class="taxable",
            tax_rate=Decimal("12"),
            hsn_sac="3004",
        ),
    }


@pytest.fixture
def issued(gst_clinic, front_desk, patient, catalog):
    """issued(amount) -> an issued invoice of one free-text line of ``amount``."""

    def make(amount=Decimal("100.00"), **kwargs):
        invoice = services.invoice_create(
            clinic=gst_clinic,
            user=front_desk,
            patient=kwargs.pop("patient", patient),
            lines=invoice_lines_parse([{"description": "Dressing", "unit_price": amount}]),
            **kwargs,
        )
        return services.invoice_issue(invoice=invoice, user=front_desk)

    return make


@pytest.fixture
def unpriced_draft(gst_clinic, front_desk, patient, doctor):
    """A completed visit's draft: the doctor's fee and an AMH test the catalog does not price."""
    from clinical import lab_catalog
    from clinical import services as clinical_services
    from clinical.models import LabTest

    lab_catalog.install(gst_clinic)
    visit = clinical_services.visit_start(clinic=gst_clinic, user=doctor.user, patient=patient)
    clinical_services.lab_order_create(
        visit=visit, patient=patient, user=doctor.user, lab_tests=[LabTest.objects.get(clinic=gst_clinic, code="AMH")]
    )
    clinical_services.visit_complete(visit=visit, user=doctor.user)
    return services.invoice_draft_for_visit(visit=visit, user=front_desk)
