"""Crash safety on PostgreSQL, with real processes: a worker killed (``SIGKILL``) in the middle
of a report leaves nothing stuck — after a restart the report completes exactly once — and a
process killed in the middle of issuing an invoice leaves no half-written invoice and no gap
in the numbers (PostgreSQL rolls the open transaction back). The messages outbox gets the same test: a worker killed right after the provider accepted a
message never causes a second send of it, and never loses the ones it had not sent yet."""

import datetime
import os
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from billing import services as billing
from billing.inputs import InvoiceLineInput
from billing.models import Invoice
from clinicos.models import Membership, Notification
from patients.tests.factories import PatientFactory
from reporting import services as reporting
from reporting.models import Report

pytestmark = [
    pytest.mark.security,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="kills real processes holding PostgreSQL transactions"),
]
ROOT = Path(settings.BASE_DIR)
DAY = datetime.date(2026, 11, 10)

# The first worker dawdles after building the report (so the test can kill it while the
# report is "generating"); the script runs the real worker command otherwise unchanged.
SLOW_WORKER = """
import time, django
django.setup()
from reporting import files
build_xlsx = files.xlsx
files.xlsx = lambda *args: (time.sleep(120), build_xlsx(*args))[1]
from django.core.management import call_command
call_command("worker", "--no-startup-delay", "--no-reload", "--interval", "0.2")
"""

# Sends the clinic's due messages through the file provider, and hangs right after the
# provider accepted the first one (before its "sent" is recorded) until it is killed.
SEND_AND_HANG = """
import sys, time, django
django.setup()
from django.test import override_settings
from clinicos.messaging import providers, services
from clinicos.models import Clinic
from clinicos.scoping import scope
accept = providers.FileProvider.send
def accept_then_hang(self, message):
    provider_id = accept(self, message)
    print("accepted", message.message_id, flush=True)
    time.sleep(120)
    return provider_id
providers.FileProvider.send = accept_then_hang
clinic = Clinic.objects.get(pk=int(sys.argv[1]))
with override_settings(MESSAGING_PROVIDERS={"sms": "clinicos.messaging.providers.FileProvider"}, MESSAGING_FILE_PATH=sys.argv[2]), scope(clinic=clinic):
    services.send_due(clinic=clinic)
"""

# Issues an invoice, says so, and stays inside the transaction until it is killed.
ISSUE_AND_HANG = """
import sys, time, django
django.setup()
from django.db import transaction
from django_scopes import scopes_disabled
from billing import services
from billing.models import Invoice
from clinicos.models import User
with scopes_disabled(), transaction.atomic():
    invoice = Invoice.objects.get(pk=int(sys.argv[1]))
    issued = services.invoice_issue(invoice=invoice, user=User.objects.get(pk=int(sys.argv[2])))
    print(issued.number, flush=True)
    time.sleep(120)
"""


def _environment(**extra: str) -> dict:
    database = connection.settings_dict
    url = f"postgres://{database['USER']}@{database['HOST'] or '127.0.0.1'}:{database['PORT'] or 5432}/{database['NAME']}"
    return {**os.environ, "DJANGO_SETTINGS_MODULE": "clinicos.settings_test", "DATABASE_URL": url, **extra}


def _python(script: str, *args: str, env: dict | None = None, **popen) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", script, *args], cwd=ROOT, env=env or _environment(), **popen)


def _wait_for(condition, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_a_worker_killed_mid_report_leaves_nothing_stuck_and_the_report_completes_once(clinic, clinic_admin):
    membership = Membership.objects.get(clinic=clinic, user=clinic_admin)
    report, _ = reporting.report_request(membership=membership, user=clinic_admin, report_type="revenue", start_date=DAY, end_date=DAY)
    worker = _python(SLOW_WORKER)
    try:
        _wait_for(lambda: Report.objects.get(pk=report.pk).status == Report.Status.GENERATING)
        _wait_for(lambda: Report.objects.get(pk=report.pk).progress >= 50)
    finally:
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=30)
    stuck = Report.objects.get(pk=report.pk)
    assert stuck.status == Report.Status.GENERATING and not stuck.xlsx_file and not stuck.pdf_file
    assert DBTaskResult.objects.filter(status=TaskResultStatus.RUNNING).count() == 1

    # A new worker (here with an expired lease at once) recovers it and finishes the job.
    restarted = subprocess.run(
        [sys.executable, "manage.py", "worker", "--batch", "--no-startup-delay", "--no-reload"],
        cwd=ROOT,
        env=_environment(TASK_LEASE_SECONDS="0"),
        timeout=180,
        capture_output=True,
        text=True,
    )
    assert restarted.returncode == 0, restarted.stderr
    done = Report.objects.get(pk=report.pk)
    assert done.status == Report.Status.COMPLETED and done.attempts == 2 and done.progress == 100
    assert Path(done.xlsx_file.path).stat().st_size > 0 and Path(done.pdf_file.path).read_bytes().startswith(b"%PDF")
    assert Report.objects.filter(clinic=clinic, start_date=DAY, end_date=DAY).count() == 1
    assert Notification.objects.filter(recipient=clinic_admin, kind=Notification.Kind.REPORT_READY).count() == 1
    statuses = sorted(DBTaskResult.objects.values_list("status", flat=True))
    assert statuses == [TaskResultStatus.FAILED, TaskResultStatus.SUCCESSFUL]
    assert not DBTaskResult.objects.filter(status=TaskResultStatus.RUNNING).exists()


def test_a_process_killed_mid_issue_leaves_no_half_written_invoice_and_no_gap_in_the_numbers(clinic, front_desk):
    patient = PatientFactory(clinic=clinic)
    line = [InvoiceLineInput(description="Consultation", unit_price=Decimal("800.00"))]
    first = billing.invoice_create(clinic=clinic, user=front_desk, patient=patient, lines=line)
    second = billing.invoice_create(clinic=clinic, user=front_desk, patient=patient, lines=line)
    hung = _python(ISSUE_AND_HANG, str(first.pk), str(front_desk.pk), stdout=subprocess.PIPE, text=True)
    try:
        number_while_open = hung.stdout.readline().strip()
    finally:
        os.kill(hung.pid, signal.SIGKILL)
        hung.wait(timeout=30)
    assert number_while_open, "the killed process had issued the invoice inside its transaction"
    _wait_for(lambda: not _backend_of_pid_alive(hung.pid))

    untouched = Invoice.objects.get(pk=first.pk)
    assert untouched.status == Invoice.Status.DRAFT and not untouched.number and untouched.issued_at is None
    issued = billing.invoice_issue(invoice=second, user=front_desk)
    assert issued.number == number_while_open  # the killed transaction's number was never used: no gap
    again = billing.invoice_issue(invoice=untouched, user=front_desk)
    assert int(again.number.rsplit("/", 1)[-1]) == int(issued.number.rsplit("/", 1)[-1]) + 1


def _backend_of_pid_alive(pid: int) -> bool:
    """Whether PostgreSQL still holds the killed client's session (it notices the closed
    socket and rolls its transaction back within moments)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND state LIKE 'idle in transaction%%'")
        return cursor.fetchone()[0] > 0


def test_a_worker_killed_mid_send_never_sends_a_message_twice_nor_loses_one(clinic, tmp_path, settings):
    from django.utils import timezone

    from clinicos.messaging import services as messaging
    from clinicos.messaging.models import MessageRules, OutboundMessage

    MessageRules.objects.create(clinic=clinic, quiet_start=None, quiet_end=None, email_enabled=False)
    patient = PatientFactory(clinic=clinic, email="")
    recipient = messaging.Recipient(patient_id=patient.pk, first_name="Asha", phone=patient.mobile)
    for n in range(3):
        messaging.queue(
            clinic=clinic,
            recipient=recipient,
            message=messaging.Message(kind="reminder", key=f"kill:{n}", due=timezone.now(), values={"when": f"slot {n}"}),
        )
    sent_file = tmp_path / "sent.jsonl"
    worker = _python(SEND_AND_HANG, str(clinic.pk), str(sent_file), stdout=subprocess.PIPE, text=True)
    try:
        accepted = worker.stdout.readline().split()
    finally:
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=30)
    assert accepted[0] == "accepted"
    held = OutboundMessage.objects.filter(clinic=clinic, status="sending")
    assert held.count() == 3  # the dead worker's lease holds all three

    # The next worker, once the lease has expired: the accepted one is recorded as sent (the
    # provider has it), the other two go out — each exactly once.
    settings.MESSAGING_PROVIDERS = {**settings.MESSAGING_PROVIDERS, "sms": "clinicos.messaging.providers.FileProvider"}
    settings.MESSAGING_FILE_PATH = str(sent_file)
    OutboundMessage.objects.filter(clinic=clinic).update(lease_until=timezone.now())
    assert messaging.recover_expired_leases() == 3
    assert OutboundMessage.objects.get(pk=int(accepted[1])).status == "sent"
    messaging.send_due(clinic=clinic)
    lines = sent_file.read_text().splitlines()
    assert len(lines) == 3 and len({line for line in lines}) == 3
    assert set(OutboundMessage.objects.filter(clinic=clinic).values_list("status", flat=True)) == {"sent"}
