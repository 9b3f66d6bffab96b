"""A report whose worker was killed mid-way is not stuck forever: once its lease expires the
task is failed and the report queued again (at most MAX_ATTEMPTS times), and asking for it
again gives it back to a worker instead of answering the same stuck report."""

import datetime

import pytest
from django.tasks import TaskResultStatus
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from clinicos.models import Membership, Notification
from clinicos.worker import MAX_ATTEMPTS, recover_stuck_work
from reporting import services
from reporting.models import Report

pytestmark = pytest.mark.security
DAY = datetime.date(2026, 11, 10)


def _request(clinic, user):
    membership = Membership.objects.get(clinic=clinic, user=user)
    return services.report_request(membership=membership, user=user, report_type="revenue", start_date=DAY, end_date=DAY)


def _killed_mid_way(report: Report, *, hours_ago: float = 2) -> DBTaskResult:
    """What ``kill -9`` of the worker leaves: the report generating, its task running, both
    started long ago (the real kill is tested on PostgreSQL in clinicos/tests/test_crash_safety.py)."""
    started = timezone.now() - datetime.timedelta(hours=hours_ago)
    Report.objects.filter(pk=report.pk).update(status=Report.Status.GENERATING, started_at=started, progress=50, attempts=1)
    task = DBTaskResult.objects.get(status=TaskResultStatus.READY)
    DBTaskResult.objects.filter(pk=task.pk).update(status=TaskResultStatus.RUNNING, started_at=started, worker_ids=["killed"])
    return task


def test_a_killed_workers_report_is_queued_again_and_completes_once(clinic, clinic_admin, run_worker, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        report, _ = _request(clinic, clinic_admin)
    task = _killed_mid_way(report)
    with django_capture_on_commit_callbacks(execute=True):
        recovered = recover_stuck_work()
    assert recovered == {"tasks": 1, "rows": 1}
    assert DBTaskResult.objects.get(pk=task.pk).status == TaskResultStatus.FAILED
    report.refresh_from_db()
    assert report.status == Report.Status.QUEUED and report.progress == 0
    run_worker()
    report.refresh_from_db()
    assert report.status == Report.Status.COMPLETED and report.attempts == 2 and report.xlsx_file and report.pdf_file
    assert Notification.objects.filter(recipient=clinic_admin, kind=Notification.Kind.REPORT_READY).count() == 1
    assert recover_stuck_work() == {"tasks": 0, "rows": 0}


def test_asking_again_for_a_stuck_report_gives_it_back_to_a_worker(clinic, clinic_admin, run_worker, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        report, _ = _request(clinic, clinic_admin)
    _killed_mid_way(report)
    with django_capture_on_commit_callbacks(execute=True):
        again, created = _request(clinic, clinic_admin)
    assert again.pk == report.pk and not created and again.status == Report.Status.QUEUED
    run_worker()
    assert Report.objects.get(pk=report.pk).status == Report.Status.COMPLETED


def test_a_report_still_within_its_lease_is_left_alone(clinic, clinic_admin, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        report, _ = _request(clinic, clinic_admin)
    _killed_mid_way(report, hours_ago=0.01)
    assert recover_stuck_work() == {"tasks": 0, "rows": 0}
    assert Report.objects.get(pk=report.pk).status == Report.Status.GENERATING


def test_a_report_that_kills_its_worker_every_time_fails_and_can_be_asked_for_anew(
    clinic, clinic_admin, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        report, _ = _request(clinic, clinic_admin)
    _killed_mid_way(report)
    Report.objects.filter(pk=report.pk).update(attempts=MAX_ATTEMPTS)
    recover_stuck_work()
    report.refresh_from_db()
    assert report.status == Report.Status.FAILED and "worker stopped" in report.error
    assert Notification.objects.filter(recipient=clinic_admin, title__contains="could not be generated").exists()
    with django_capture_on_commit_callbacks(execute=True):
        fresh, created = _request(clinic, clinic_admin)
    assert created and fresh.pk != report.pk and fresh.status == Report.Status.QUEUED
