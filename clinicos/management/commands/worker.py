"""``manage.py worker``: django-tasks' database worker (``db_worker``, same options) that
first recovers the work a killed worker left behind, and keeps doing so every minute while it
runs; every few seconds it also runs the periodic jobs (the outbox's dispatch, the waitlist's
next round: ``clinicos.worker.register_periodic``)."""

import logging
import threading
import time

from django.db import close_old_connections, connection
from django_tasks_db.management.commands.db_worker import Command as DatabaseWorkerCommand

from clinicos.worker import recover_stuck_work, run_periodic

RECOVERY_INTERVAL_SECONDS = 60
PERIODIC_SECONDS = 10


class Command(DatabaseWorkerCommand):
    help = "Run the background worker, recovering tasks whose worker died (their lease expired)."

    def handle(self, *args, **options):
        recover_stuck_work()
        stop = threading.Event()
        if not options.get("batch"):
            threading.Thread(target=self._recover_every_minute, args=(stop,), name="task-lease-recovery", daemon=True).start()
        try:
            super().handle(*args, **options)
        finally:
            stop.set()

    @staticmethod
    def _recover_every_minute(stop: threading.Event) -> None:
        last_recovery = time.monotonic()
        while not stop.wait(PERIODIC_SECONDS):
            try:
                close_old_connections()
                if time.monotonic() - last_recovery >= RECOVERY_INTERVAL_SECONDS:
                    last_recovery = time.monotonic()
                    recover_stuck_work()
                run_periodic()
            except Exception:  # the next round tries again; the worker itself carries on
                logging.getLogger(__name__).exception("Recovering stuck work failed")
            finally:
                connection.close()
