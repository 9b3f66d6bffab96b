"""The one way to start background work: ``enqueue_on_commit``. A task is enqueued only once
the transaction that asked for it commits — a worker never picks up work about rows it
cannot see yet, nor about a change that rolled back."""

import datetime

from django.db import transaction
from django.tasks import Task


def enqueue_on_commit(task: Task, *args, run_after: datetime.datetime | None = None, **kwargs) -> None:
    def enqueue() -> None:
        (task.using(run_after=run_after) if run_after is not None else task).enqueue(*args, **kwargs)

    transaction.on_commit(enqueue)
