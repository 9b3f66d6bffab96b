"""Every background task runs inside the clinic of the row it works on, never with scopes
off for the whole job: run here by the real worker, with a second clinic's data present,
nothing of that clinic reaches the first one's reports or notifications."""

import datetime
import importlib
import io
from decimal import Decimal
from pathlib import Path

import pytest
import time_machine
from django.apps import apps
from django.tasks import Task
from django.utils import timezone
from openpyxl import load_workbook

from billing import services as billing_services
from billing.inputs import invoice_lines_parse
from clinical import lab_catalog
from clinical import services as clinical_services
from clinical.inputs import LabResultInput
from clinical.models import LabTest
from clinicos.models import Membership, Notification
from clinicos.roles import Role
from clinicos.tests.factories import DoctorProfileFactory
from leads.tests.factories import LeadFactory
from patients.tests.factories import PatientFactory
from reporting.models import Report, ReportType
from reporting.tasks import generate_report
from scheduling.tests.factories import AppointmentFactory

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]

# Each task and the test below that runs it; a new task must be added here.
COVERED_TASKS = {
    "clinical.tasks.escalate_critical_result",
    "reporting.tasks.generate_report",
    "reporting.tasks.build_data_export",
    "reporting.tasks.run_data_import",
    "clinicos.messaging.tasks.send_due_messages",
}


def test_every_task_of_the_project_is_covered_here():
    found = set()
    for app in apps.get_app_configs():
        if not app.path.startswith(str(ROOT)):
            continue  # the project's own apps, not the libraries'
        for path in Path(app.path).glob("**/tasks.py"):  # clinicos/messaging/tasks.py too
            dotted = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            module = importlib.import_module(dotted)
            found |= {f"{module.__name__}.{name}" for name, value in vars(module).items() if isinstance(value, Task)}
    assert found == COVERED_TASKS


def busy_clinic(clinic, name: str) -> dict:
    """A patient named ``name`` with a paid invoice, an appointment, a lead and an
    unacknowledged critical potassium of 7 — in ``clinic``."""
    doctor = DoctorProfileFactory(clinic=clinic)
    lab = Membership.objects.create(clinic=clinic, user=_user(f"lab-{clinic.code}"), roles=[Role.LAB.value]).user
    clerk = Membership.objects.create(clinic=clinic, user=_user(f"billing-{clinic.code}"), roles=[Role.BILLING.value]).user
    patient = PatientFactory(clinic=clinic, first_name=name, last_name="Marker")
    service = billing_services.service_save(clinic=clinic, user=clerk, name=f"{name} consultation", price=Decimal("700.00"))
    invoice = billing_services.invoice_create(
        clinic=clinic, user=clerk, patient=patient, lines=invoice_lines_parse([{"service_id": service.pk}])
    )
    billing_services.invoice_issue(invoice=invoice, user=clerk)
    billing_services.payment_record(invoice=invoice, user=clerk, amount=Decimal("700.00"), method="cash")
    AppointmentFactory(clinic=clinic, patient=patient, doctor=doctor, starts_at=timezone.now() - datetime.timedelta(days=1))
    LeadFactory(clinic=clinic, name=f"{name} Lead")
    visit = clinical_services.visit_start(clinic=clinic, user=doctor.user, patient=patient)
    lab_catalog.install(clinic)
    potassium = LabTest.objects.get(clinic=clinic, code="K")
    order = clinical_services.lab_order_create(patient=patient, user=doctor.user, lab_tests=[potassium], visit=visit)
    clinical_services.lab_order_set_status(order=order, user=lab, to_status="sample_collected")
    (result,) = clinical_services.lab_results_enter(
        order=order, user=lab, results=[LabResultInput.of(test_id=order.tests.get().pk, value="7", final=True)]
    )
    invoice.refresh_from_db()
    return {"doctor": doctor, "invoice_number": invoice.number, "result": result}


def _user(prefix):
    from clinicos.tests.factories import UserFactory

    return UserFactory(email=f"{prefix.lower()}@example.test")


def _workbook_text(report: Report) -> str:
    report.xlsx_file.open("rb")
    with report.xlsx_file:
        book = load_workbook(io.BytesIO(report.xlsx_file.read()), read_only=True)
    return " ".join(str(cell) for sheet in book.worksheets for row in sheet.iter_rows(values_only=True) for cell in row if cell is not None)


def test_tasks_run_in_their_rows_clinic_and_nothing_of_another_clinic_crosses(
    clinic, other_clinic, clinic_admin, outsider, run_worker, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):  # the escalations are enqueued on commit
        mine = busy_clinic(clinic, "Alphonsa")
        theirs = busy_clinic(other_clinic, "Bronwyn")
    today = timezone.localdate()
    reports = []
    for report_type in ReportType.values:
        parameters = {"doctor_id": mine["doctor"].pk} if report_type == ReportType.DOCTOR_PERFORMANCE else {}
        report = Report.objects.create(
            clinic=clinic,
            report_type=report_type,
            start_date=today - datetime.timedelta(days=30),
            end_date=today + datetime.timedelta(days=1),
            parameters=parameters,
            requested_by=clinic_admin,
        )
        generate_report.enqueue(report.pk)
        reports.append(report)
    later = timezone.now() + datetime.timedelta(minutes=max(clinic.critical_result_escalation_minutes, 30) + 1)
    with time_machine.travel(later, tick=False):
        run_worker()  # the reports, and both clinics' escalations

    for report in reports:
        report.refresh_from_db()
        assert report.status == Report.Status.COMPLETED, (report.report_type, report.error)
        text = _workbook_text(report)
        assert "Bronwyn" not in text and theirs["invoice_number"] not in text, report.report_type
    sales = _workbook_text(next(r for r in reports if r.report_type == ReportType.SALES_REGISTER))
    assert mine["invoice_number"] in sales  # the check above can see an invoice number

    escalations = Notification.objects.filter(kind=Notification.Kind.CRITICAL_RESULT_ESCALATED)
    assert {(n.clinic_id, n.recipient_id) for n in escalations if n.recipient_id in {clinic_admin.pk, outsider.pk}} == {
        (clinic.pk, clinic_admin.pk),
        (other_clinic.pk, outsider.pk),
    }
    for notification in escalations:
        assert Membership.objects.filter(clinic_id=notification.clinic_id, user_id=notification.recipient_id).exists()
        assert ("Alphonsa" in notification.title) == (notification.clinic_id == clinic.pk)
    report_ready = Notification.objects.filter(kind=Notification.Kind.REPORT_READY)
    assert report_ready.count() == len(reports) and {n.recipient_id for n in report_ready} == {clinic_admin.pk}


def test_each_task_works_inside_its_rows_clinic_scope(clinic, other_clinic, clinic_admin, monkeypatch):
    """Not merely right figures: the scope itself is the row's clinic, so a query that
    forgets its clinic stays in it (or raises) instead of reading every clinic."""
    from django_scopes import get_scope

    from clinical import tasks as clinical_tasks
    from reporting import tasks as reporting_tasks

    seen = []
    monkeypatch.setattr(reporting_tasks.services, "report_generate", lambda report_id: seen.append(dict(get_scope())) or Report())
    monkeypatch.setattr(clinical_tasks.services, "critical_result_escalate", lambda result_id: seen.append(dict(get_scope())) or True)
    report = Report.objects.create(
        clinic=clinic,
        report_type=ReportType.REVENUE,
        start_date=timezone.localdate(),
        end_date=timezone.localdate(),
        requested_by=clinic_admin,
    )
    result = busy_clinic(other_clinic, "Bronwyn")["result"]
    reporting_tasks.generate_report.call(report.pk)
    clinical_tasks.escalate_critical_result.call(result.pk)
    assert [(scope["_enabled"], scope.get("clinic")) for scope in seen] == [(True, clinic), (True, other_clinic)]
    # A row that is gone: nothing runs, in no scope.
    assert reporting_tasks.generate_report.call(report.pk + 1000) == "missing"
    assert clinical_tasks.escalate_critical_result.call(result.pk + 1000) is False
    assert len(seen) == 2


def test_the_outbox_task_sends_inside_its_clinics_scope(clinic, other_clinic, monkeypatch):
    from django_scopes import get_scope

    from clinicos.messaging import tasks as messaging_tasks

    seen = []
    monkeypatch.setattr(messaging_tasks.services, "send_due", lambda clinic: seen.append(dict(get_scope())) or 0)
    messaging_tasks.send_due_messages.call(other_clinic.pk)
    assert [(scope["_enabled"], scope.get("clinic")) for scope in seen] == [(True, other_clinic)]
    assert messaging_tasks.send_due_messages.call(other_clinic.pk + 1000) == 0 and len(seen) == 1  # no such clinic: nothing runs
