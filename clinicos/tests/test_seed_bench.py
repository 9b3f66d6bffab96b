"""``seed_bench`` at a small size: what it loads is what the services would have written,
and the app numbers on after it."""

import datetime

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from billing.models import DocumentSequence, Invoice, Payment
from billing.services import next_document_number
from clinicos.bench import Sizes, seed
from clinicos.models import Clinic, User
from leads.models import Lead
from patients import identity
from patients.models import CareTeamGrant, Patient
from patients.services import uhid_next
from reporting import reports
from scheduling.models import Appointment, AppointmentStatus
from scheduling.services import _next_reference

SMALL = Sizes(patients=2000, appointments=3000, doctors=3, leads=200, invoices=1500)


def _index_names(table: str) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = %s", [table])
        return {row[0] for row in cursor.fetchall()}


@pytest.mark.skipif(connection.vendor != "postgresql", reason="seed_bench loads with PostgreSQL's COPY")
@pytest.mark.django_db
def test_seed_bench_loads_what_the_services_would_write():
    indexes_before = _index_names("patients_patient")
    messages: list[str] = []
    clinic = seed(SMALL, log=messages.append)
    assert clinic.code == "BENCH" and str(clinic.tzinfo) == "Asia/Kolkata"
    assert Patient.objects.filter(clinic=clinic).count() == 2000
    assert Appointment.objects.filter(clinic=clinic).count() == 3000
    assert Lead.objects.filter(clinic=clinic).count() == 200
    assert Invoice.objects.filter(clinic=clinic).count() == Payment.objects.filter(clinic=clinic).count() == 1500
    assert _index_names("patients_patient") == indexes_before  # dropped for the load, built again
    # Derived columns as the services compute them
    for patient in Patient.objects.filter(clinic=clinic)[:50]:
        assert patient.search_name == identity.search_key(f"{patient.first_name} {patient.last_name}")
        assert patient.mobile_digits_reversed == identity.digits_reversed(patient.mobile)
    lead = Lead.objects.filter(clinic=clinic).first()
    assert lead.phone_digits_reversed == identity.digits_reversed(lead.phone)
    # Each doctor is in the care team of the patients booked with them
    booked = Appointment.objects.filter(clinic=clinic).values("doctor__user", "patient").distinct().count()
    assert CareTeamGrant.objects.filter(content_object__clinic=clinic).count() == booked
    # No overlap per doctor; the past is settled, the future booked
    today = datetime.date.today()
    assert not Appointment.objects.filter(clinic=clinic, starts_at__date__gt=today, status=AppointmentStatus.COMPLETED).exists()
    # The app numbers on after the loaded rows, without a clash
    year = today.year
    new_uhid = uhid_next(clinic=clinic, year=year)
    assert not Patient.objects.filter(clinic=clinic, uhid=new_uhid).exists()
    assert not Appointment.objects.filter(clinic=clinic, reference=_next_reference(clinic)).exists()
    number = next_document_number(clinic=clinic, series=DocumentSequence.Series.INVOICE, day=today)
    assert not Invoice.objects.filter(clinic=clinic, number=number).exists()
    receipt = next_document_number(clinic=clinic, series=DocumentSequence.Series.RECEIPT, day=today)
    assert not Payment.objects.filter(clinic=clinic, receipt_number=receipt).exists()
    # The logins work, and the reports read the data
    assert authenticate(email="frontdesk@bench.example", password="Demo-Clinic-2025!") is not None
    first = Invoice.objects.filter(clinic=clinic).order_by("issue_date").first().issue_date
    assert reports.revenue_between(clinic, first, today) == 1500 * 800
    assert any("indexes built" in message for message in messages)
    with pytest.raises(CommandError, match="exists already"):
        seed(SMALL, log=messages.append)


@pytest.mark.skipif(connection.vendor == "postgresql", reason="the refusal is SQLite's")
@pytest.mark.django_db
def test_seed_bench_refuses_sqlite():
    with pytest.raises(CommandError, match="PostgreSQL"):
        call_command("seed_bench", "--patients", "10", "--appointments", "10", "--doctors", "1", "--leads", "1", "--invoices", "1")
    assert not Clinic.objects.filter(code="BENCH").exists()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the benchmark runs on PostgreSQL")
@pytest.mark.django_db
def test_every_benchmarked_request_answers_and_its_sql_is_measured(client):
    from clinicos import benchmark

    clinic = seed(Sizes(patients=300, appointments=600, doctors=2, leads=50, invoices=100), log=lambda message: None)
    for probe in benchmark.probes(clinic):
        client.force_login(User.objects.get(email=f"{probe.user}@bench.example"))
        if probe.api:
            token = client.post(
                "/api/v1/auth/login",
                {"email": f"{probe.user}@bench.example", "password": "Demo-Clinic-2025!"},
                content_type="application/json",
            ).json()["token"]
            response = client.get(probe.path, HTTP_AUTHORIZATION=f"Bearer {token}")
        else:
            response = client.get(probe.path)
        assert response.status_code == 200, (probe.name, response.status_code)
    measured = benchmark.measure_sql(benchmark.probes(clinic)[2], "frontdesk@bench.example", "")
    assert measured["queries"] > 0 and measured["slowest_sql"] and "Scan" in measured["explain"]
    assert benchmark._percentile([1, 2, 3, 4, 100], 99) == 100 and benchmark._percentile([5.0], 50) == 5.0
