"""The Reports page: ask for a report, watch it generate (the list refreshes itself while
one is pending), open it on screen, download its PDF and XLSX."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods
from django.views.decorators.vary import vary_on_headers

from billing.models import Service
from clinicos.errors import REFUSALS, add_error_to_form
from clinicos.models import Department, DoctorProfile
from clinicos.roles import Perm, Role
from clinicos.tenancy import ClinicRequest, clinic_view
from reporting import files, selectors, services
from reporting.forms import ReportRequestForm
from reporting.models import Report
from reporting.reports import REPORTS

PAGE_SIZE = 20


def _form(request: ClinicRequest, data=None) -> ReportRequestForm:
    clinic = request.clinic
    today = clinic.today()
    doctors = DoctorProfile.objects.for_clinic(clinic).select_related("user") if request.membership.has_role(Role.ADMIN) else []
    return ReportRequestForm(
        data,
        types=services.types_for(request.membership),
        doctors=doctors,
        departments=Department.objects.for_clinic(clinic).filter(is_active=True),
        services=Service.objects.for_clinic(clinic).filter(is_active=True),
        # The dashboard's figures link here with the report and the range filled in.
        initial={
            "start_date": today.replace(day=1),
            "end_date": today,
            **{name: request.GET[name] for name in ("report_type", "start_date", "end_date") if request.GET.get(name)},
        },
    )


@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
@clinic_view(Perm.REPORTS_VIEW)
def report_list(request: ClinicRequest) -> HttpResponse:
    form = _form(request, request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            report, created = services.report_request(
                membership=request.membership,
                user=request.user,
                report_type=form.cleaned_data["report_type"],
                start_date=form.cleaned_data["start_date"],
                end_date=form.cleaned_data["end_date"],
                parameters=form.parameters(),
            )
        except REFUSALS as error:
            add_error_to_form(form, error)
        else:
            messages.success(request, f"{report} is queued." if created else f"{report} was already asked for: here it is.")
            return redirect("report_list", request.clinic.code)
    reports = Paginator(selectors.reports_for(membership=request.membership), PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "form": form,
        "page": reports,
        "pending": any(report.status in Report.PENDING for report in reports),
        "definitions": [REPORTS[t] for t in services.types_for(request.membership)],
    }
    template = "reporting/report_list.html#reports" if request.htmx else "reporting/report_list.html"
    return render(request, template, context, status=422 if form.errors else 200)


@require_GET
@clinic_view(Perm.REPORTS_VIEW)
def report_detail(request: ClinicRequest, report_id: int) -> HttpResponse:
    """The report on screen (computed again from the same selectors), with its files."""
    report = selectors.report_get(membership=request.membership, pk=report_id)
    context: dict = {"report": report}
    if report.status == Report.Status.COMPLETED:
        data = REPORTS[report.report_type].build(report.clinic, report.start_date, report.end_date, report.parameters)
        svg = files.chart_svg(data)
        from clinical.charts import svg_data_uri

        context.update(table=files.table(data), notes=[n for n in data.notes if n], chart_uri=svg_data_uri(svg) if svg else None)
    return render(request, "reporting/report_detail.html", context)


@require_GET
@clinic_view(Perm.REPORTS_VIEW)
def report_download(request: ClinicRequest, report_id: int, file_format: str) -> HttpResponse | FileResponse:
    if file_format not in selectors.CONTENT_TYPES:
        raise Http404("PDF or XLSX only.")
    report = selectors.report_get(membership=request.membership, pk=report_id)
    try:
        return selectors.report_file_response(request, report=report, file_format=file_format)
    except REFUSALS as error:
        messages.error(request, str(error))
        return redirect("report_detail", request.clinic.code, report.pk)
