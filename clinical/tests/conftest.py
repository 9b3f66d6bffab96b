"""Fixtures of the Orders tests: a doctor with a visit for a 34-year-old woman, the lab
catalog, a lab technician and a pharmacist."""

import datetime

import pytest

from clinical import lab_catalog, services
from clinical.models import LabTest
from clinicos.roles import Role
from clinicos.tests.factories import DoctorProfileFactory, UserFactory
from patients.tests.factories import PatientFactory


@pytest.fixture
def prescriber(clinic):
    return DoctorProfileFactory(
        clinic=clinic,
        user=UserFactory(full_name="Dr Kavya Rao"),
        registration_number="KMC-48213",
        registration_council="Karnataka Medical Council",
        qualifications="MBBS, MS (OBG)",
    )


@pytest.fixture
def order_patient(clinic):
    born = datetime.date.today().replace(day=1) - datetime.timedelta(days=int(34.5 * 365.25))
    return PatientFactory(clinic=clinic, first_name="Meera", last_name="Iyer", gender="female", date_of_birth=born)


@pytest.fixture
def order_visit(clinic, prescriber, order_patient):
    return services.visit_start(clinic=clinic, user=prescriber.user, patient=order_patient)


@pytest.fixture
def catalog(clinic):
    lab_catalog.install(clinic)
    return {test.code: test for test in LabTest.objects.filter(clinic=clinic).prefetch_related("ranges")}


@pytest.fixture
def lab_tech(make_member):
    return make_member(Role.LAB)


@pytest.fixture
def pharmacist(make_member):
    return make_member(Role.PHARMACIST)


def penicillin_allergy(patient, user):
    return services.history_item_save(kind="allergies", patient=patient, user=user, data={"substance": "Penicillin", "severity": "severe"})


AMOXICILLIN = {"medicine": "Amoxicillin", "dosage": "500 mg", "frequency": "Three times a day", "duration": "5 days", "quantity": 15}
FOLIC_ACID = {"medicine": "Folic acid", "dosage": "5 mg", "frequency": "Once a day", "duration": "30 days", "quantity": 30}
