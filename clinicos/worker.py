"""What keeps background work from getting stuck: a task whose worker died (``kill -9``, an
out-of-memory kill, a lost machine) stays RUNNING forever in django-tasks' database backend,
and the row it was working on (a report "generating") with it. Every task holds a *lease*
(``TASK_LEASE_SECONDS`` from when it started); ``recover_stuck_work`` fails the tasks whose
lease has expired and lets each app put its own rows back to work (a report is queued again,
at most ``MAX_ATTEMPTS`` times, then failed with a message). ``manage.py worker`` runs it when
it starts and every minute while it runs."""

import datetime
import logging
from collections.abc import Callable

from django.conf import settings
from django.tasks import TaskResultStatus
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

logger = logging.getLogger(__name__)

# A row is given to a new worker this many times before it is failed for good: a job that
# kills its worker every time (out of memory) must not loop forever.
MAX_ATTEMPTS = 3

_recoveries: list[Callable[[datetime.datetime], int]] = []


def register_recovery(recover: Callable[[datetime.datetime], int]) -> None:
    """``recover(cutoff)`` puts the app's rows whose work started before ``cutoff`` and never
    finished back to work; it answers how many it touched."""
    if recover not in _recoveries:
        _recoveries.append(recover)


_periodic: list[Callable[[], object]] = []


def register_periodic(job: Callable[[], object]) -> None:
    """``job()`` runs every ``PERIODIC_SECONDS`` in every worker (the outbox's dispatch, the
    waitlist's next round): each job must be safe when two workers run it at once."""
    if job not in _periodic:
        _periodic.append(job)


def run_periodic() -> None:
    for job in _periodic:
        try:
            job()
        except Exception:  # the next round tries again; the other jobs carry on
            logger.exception("Periodic job %s failed", getattr(job, "__name__", job))


def lease_cutoff(now: datetime.datetime | None = None) -> datetime.datetime:
    return (now or timezone.now()) - datetime.timedelta(seconds=settings.TASK_LEASE_SECONDS)


def recover_stuck_work(now: datetime.datetime | None = None) -> dict[str, int]:
    now = now or timezone.now()
    cutoff = lease_cutoff(now)
    expired = DBTaskResult.objects.filter(status=TaskResultStatus.RUNNING, started_at__lt=cutoff).update(
        status=TaskResultStatus.FAILED,
        finished_at=now,
        exception_class_path="clinicos.worker.LeaseExpired",
        traceback=f"The worker running this task stopped: its lease of {settings.TASK_LEASE_SECONDS} s expired.",
    )
    rows = sum(recover(cutoff) for recover in _recoveries)
    if expired or rows:
        logger.warning("Recovered stuck work: %s task(s) failed, %s row(s) put back to work", expired, rows)
    return {"tasks": expired, "rows": rows}
