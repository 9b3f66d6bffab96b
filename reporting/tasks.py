"""Reports are generated off the request, by the database worker (``manage.py db_worker``)."""

from django.tasks import task
from django_scopes import scopes_disabled

from reporting import services


@task()
def generate_report(report_id: int) -> str:
    with scopes_disabled():  # a task has no request: the report names its own clinic
        return services.report_generate(report_id=report_id).status
