"""Background work of the clinical record, on Django's tasks framework (the database
worker, ``manage.py worker``)."""

from django.tasks import task

from clinical import services
from clinical.models import LabResult
from clinicos.scoping import scope_of_row


@task()
def escalate_critical_result(result_id: int) -> bool:
    """Enqueued with ``run_after`` = entry + the clinic's minutes when a critical result is
    entered; escalates only if it is still unacknowledged then."""
    with scope_of_row(LabResult, result_id) as clinic:  # a task has no request: the result names its clinic
        return clinic is not None and services.critical_result_escalate(result_id=result_id)
