"""Background work of the clinical record, on Django's tasks framework (the database
worker, ``manage.py db_worker``)."""

from django.tasks import task
from django_scopes import scopes_disabled

from clinical import services


@task()
def escalate_critical_result(result_id: int) -> bool:
    """Enqueued with ``run_after`` = entry + the clinic's minutes when a critical result is
    entered; escalates only if it is still unacknowledged then."""
    with scopes_disabled():  # a task has no request: the result names its own clinic
        return services.critical_result_escalate(result_id=result_id)
