"""Settings → Data export (the clinic's full export: ask, watch it build, download) and
Settings → Import (another system's patients and appointments: upload, map, check, import)."""

from django.contrib import messages
from django.http import FileResponse, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from clinicos.audit import record_read
from clinicos.errors import REFUSALS, error_message
from clinicos.roles import Perm
from clinicos.tenancy import ClinicRequest, clinic_view
from reporting.interop import export, imports
from reporting.models import DataExport, DataImport, ImportKind


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


# --- Settings → Import ------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@clinic_view(Perm.SETTINGS_MANAGE)
def import_list(request: ClinicRequest) -> HttpResponse:
    """Upload a CSV or XLSX of patients or appointments; the next page maps its columns."""
    problem = ""
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None:
            problem = "Choose a CSV or XLSX file."
        else:
            try:
                data_import = imports.import_upload(
                    clinic=request.clinic, user=request.user, kind=request.POST.get("kind", ""), upload=upload
                )
            except REFUSALS as error:
                problem = error_message(error)
            else:
                return redirect("import_detail", request.clinic.code, data_import.pk)
    recent = DataImport.objects.for_clinic(request.clinic).select_related("requested_by")[:20]
    context = {
        "imports": recent,
        "kinds": ImportKind.choices,
        "problem": problem,
        "heading": "Settings",
        "subtitle": "Patients and appointments from another system",
    }
    return render(request, "reporting/import_list.html", context, status=422 if problem else 200)


@require_http_methods(["GET", "POST"])
@clinic_view(Perm.SETTINGS_MANAGE)
def import_detail(request: ClinicRequest, import_id: int) -> HttpResponse:
    """Map the columns, check (a dry run that lists every row's problems), then import."""
    data_import = get_object_or_404(DataImport.objects.for_clinic(request.clinic), pk=import_id)
    problem = ""
    if request.method == "POST" and data_import.status in (DataImport.Status.UPLOADED, DataImport.Status.CHECKED):
        mapping = {name: request.POST.get(f"map_{name}", "") for name in imports.FIELDS[data_import.kind]}
        try:
            imports.import_remap(data_import=data_import, mapping=mapping)
            if request.POST.get("action") == "import":
                imports.import_start(data_import=data_import)
            else:
                imports.import_run(import_id=data_import.pk, write=False)
        except REFUSALS as error:
            problem = error_message(error)
        else:
            return redirect("import_detail", request.clinic.code, data_import.pk)
    data_import.refresh_from_db()
    with data_import.file.open("rb") as source:
        header, _ = imports.read_table(source.read(), data_import.original_name)
    fields = [
        (name, label, required, data_import.mapping.get(name, ""))
        for name, (label, _, required) in imports.FIELDS[data_import.kind].items()
    ]
    context = {
        "data_import": data_import,
        "header": header,
        "fields": fields,
        "problem": problem,
        "pending": data_import.status in (DataImport.Status.QUEUED, DataImport.Status.RUNNING),
        "heading": "Settings",
        "subtitle": f"Import of {data_import.original_name}",
    }
    template = "reporting/import_detail.html#outcome" if request.htmx else "reporting/import_detail.html"
    return render(request, template, context, status=422 if problem else 200)
