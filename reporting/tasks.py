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


@task()
def build_data_export(export_id: int) -> str:
    """The clinic's full export (reporting.interop.export), inside the export's clinic."""
    from reporting.interop import export
    from reporting.models import DataExport

    with scope_of_row(DataExport, export_id) as clinic:
        if clinic is None:
            return "missing"
        return export.data_export_build(export_id=export_id).status


@task()
def run_data_import(import_id: int) -> str:
    """An import of another system's rows (reporting.interop.imports), inside its clinic."""
    from reporting.interop import imports
    from reporting.models import DataImport

    with scope_of_row(DataImport, import_id) as clinic:
        if clinic is None:
            return "missing"
        try:
            return imports.import_run(import_id=import_id, write=True).status
        except Exception as error:
            DataImport.objects.filter(pk=import_id).update(
                status=DataImport.Status.FAILED, problems=[{"row": 0, "field": "", "message": str(error)[:500]}]
            )
            raise
