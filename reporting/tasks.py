"""Reports are generated off the request, by the database worker (``manage.py worker``)."""

from django.tasks import task

from clinicos.scoping import scope_of_row
from reporting import services
from reporting.models import Report


@task()
def generate_report(report_id: int) -> str:
    with scope_of_row(Report, report_id) as clinic:  # a task has no request: the report names its clinic
        if clinic is None:
            return "missing"
        return services.report_generate(report_id=report_id).status
