"""Settings → Data export: ask for the clinic's full export, watch it build, download it."""

from django.contrib import messages
from django.http import FileResponse, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from clinicos.audit import record_read
from clinicos.errors import REFUSALS, error_message
from clinicos.roles import Perm
from clinicos.tenancy import ClinicRequest, clinic_view
from reporting.interop import export
from reporting.models import DataExport


@require_http_methods(["GET", "POST"])
@clinic_view(Perm.SETTINGS_MANAGE)
def data_export_list(request: ClinicRequest) -> HttpResponse:
    if request.method == "POST":
        _, created = export.data_export_request(clinic=request.clinic, user=request.user)
        messages.success(
            request, "The export is being built: this page shows when it is ready." if created else "An export is already being built."
        )
        return redirect("data_export_list", request.clinic.code)
    exports = list(DataExport.objects.for_clinic(request.clinic).select_related("requested_by")[:20])
    pending = any(e.status in (DataExport.Status.QUEUED, DataExport.Status.RUNNING) for e in exports)
    context = {
        "exports": exports,
        "pending": pending,
        "heading": "Settings",
        "subtitle": "Everything of the clinic in one file, to keep or to move",
    }
    template = "reporting/data_export.html#exports" if request.htmx else "reporting/data_export.html"
    return render(request, template, context)


@require_GET
@clinic_view(Perm.SETTINGS_MANAGE)
def data_export_download(request: ClinicRequest, export_id: int) -> HttpResponse | FileResponse:
    data_export = get_object_or_404(DataExport.objects.for_clinic(request.clinic), pk=export_id)
    try:
        export.download_allowed(data_export)
    except REFUSALS as error:
        messages.error(request, error_message(error))
        return redirect("data_export_list", request.clinic.code)
    record_read(request, clinic=request.clinic, obj=data_export, action="download")
    return FileResponse(
        data_export.file.open("rb"), as_attachment=True, filename=f"{request.clinic.code}-export-{data_export.created_at:%Y%m%d-%H%M}.zip"
    )
