from django.contrib import messages
from django.http import FileResponse, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from clinicos import selectors as core_selectors
from clinicos.audit import record_read
from clinicos.errors import REFUSALS, add_error_to_form
from clinicos.models import AuditLog
from clinicos.pagination import CachedCountPaginator
from clinicos.roles import Perm
from clinicos.tenancy import ClinicRequest, clinic_view
from patients import chart, identity, selectors, services
from patients.forms import DocumentUploadForm, InsuranceProviderForm, PatientFilterForm, PatientForm
from patients.models import InsuranceProvider, Patient

LIST_PAGE_SIZE = 25


@require_GET
@vary_on_headers("HX-Request")
@clinic_view(Perm.PATIENTS_VIEW)
def patient_list(request: ClinicRequest) -> HttpResponse:
    form = PatientFilterForm(request.GET or None, clinic=request.clinic)
    filters = form.cleaned_data if form.is_valid() else {}
    patients = selectors.patient_list(user=request.user, clinic=request.clinic, filters=filters)
    page = CachedCountPaginator(patients, LIST_PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {"form": form, "page": page, "query": query.urlencode(), "today": timezone.localdate()}
    template = "patients/patient_list.html#results" if request.htmx else "patients/patient_list.html"
    return render(request, template, context, status=400 if form.errors else 200)


@require_GET
@clinic_view(Perm.PATIENTS_VIEW)
def patient_quick_search(request: ClinicRequest) -> HttpResponse:
    """Results as you type in the header's search box (an HTMX fragment)."""
    query = request.GET.get("q", "")[:100]
    results = selectors.quick_search(user=request.user, clinic=request.clinic, query=query) if query.strip() else []
    return render(request, "patients/quick_search_results.html", {"results": results, "query": query, "today": timezone.localdate()})


@require_http_methods(["GET", "POST"])
@clinic_view(Perm.PATIENTS_EDIT)
def patient_register(request: ClinicRequest, full: bool = False) -> HttpResponse:
    """Register a patient: the quick form for the desk, or the full form in sections."""
    form = PatientForm(request.POST or None, clinic=request.clinic, quick=not full)
    duplicates = []
    if request.method == "POST" and form.is_valid():
        try:
            patient = services.patient_register(
                clinic=request.clinic,
                user=request.user,
                data=form.patient_data(),
                national_id=form.cleaned_data.get("national_id"),
                allow_duplicate=request.POST.get("confirm_not_duplicate") == "yes",
            )
        except services.DuplicatePatient as duplicate:
            duplicates = duplicate.matches
        except REFUSALS as error:
            add_error_to_form(form, error)
        else:
            messages.success(request, f"{patient.full_name} is registered as {patient.uhid}.")
            return redirect("patient_chart", request.clinic.code, patient.pk)
    status = 400 if form.errors else (409 if duplicates else 200)
    context = {"form": form, "full": full, "duplicates": duplicates, "today": timezone.localdate()}
    return render(request, "patients/patient_register.html", context, status=status)


@require_GET
@clinic_view(Perm.PATIENTS_VIEW)
def patient_chart(request: ClinicRequest, patient_id: int) -> HttpResponse:
    patient = selectors.patient_get_for_user(user=request.user, clinic=request.clinic, pk=patient_id)
    record_read(request, clinic=request.clinic, obj=patient, action="view", patient_id=patient.pk)
    tabs = chart.tabs_for(request.membership, patient)
    active = request.GET.get("tab") or "overview"
    context = {
        "patient": patient,
        "tabs": tabs,
        "active_tab": next((t for t in tabs if t["key"] == active), tabs[0]),
        "notices": chart.notices_for(request.membership, patient),
    }
    return render(request, "patients/patient_chart.html", context)


@require_GET
@clinic_view(Perm.PATIENTS_VIEW)
def patient_tab_overview(request: ClinicRequest, patient_id: int) -> HttpResponse:
    patient = selectors.patient_get_for_user(user=request.user, clinic=request.clinic, pk=patient_id)
    record_read(request, clinic=request.clinic, obj=patient, action="view_overview", patient_id=patient.pk)
    show_national_id = request.membership.has_perm_in_clinic(Perm.NATIONAL_ID_VIEW)
    context = {
        "patient": patient,
        "mobile": identity.phone_display(patient.mobile),
        "national_id": identity.decrypt_national_id(patient.national_id_encrypted) if show_national_id else patient.national_id_masked,
        "today": timezone.localdate(),
    }
    return render(request, "patients/tabs/overview.html", context)


@require_GET
@clinic_view(Perm.DOCUMENTS_VIEW)
def patient_tab_documents(request: ClinicRequest, patient_id: int) -> HttpResponse:
    patient = selectors.patient_get_for_user(user=request.user, clinic=request.clinic, pk=patient_id)
    record_read(request, clinic=request.clinic, obj=patient, action="view_documents", patient_id=patient.pk)
    context = {"patient": patient, "documents": selectors.documents_of_patient(patient=patient), "form": DocumentUploadForm()}
    return render(request, "patients/tabs/documents.html", context)


@require_GET
@clinic_view(Perm.PATIENTS_VIEW)
def patient_tab_history(request: ClinicRequest, patient_id: int) -> HttpResponse:
    patient = selectors.patient_get_for_user(user=request.user, clinic=request.clinic, pk=patient_id)
    record_read(request, clinic=request.clinic, obj=patient, action="view_history", patient_id=patient.pk)
    # Everyone who may open the chart sees its own changes; those who read the audit trail
    # see the patient's whole trail (every record of theirs) and who opened it.
    auditor = request.membership.has_perm_in_clinic(Perm.AUDIT_VIEW)
    reads: list = []
    if auditor:
        changes = core_selectors.audit_log_search(clinic=request.clinic, patient_id=patient.pk)[:100]
        reads = list(core_selectors.read_access_search(clinic=request.clinic, patient_id=patient.pk)[:50])
    else:
        changes = (
            AuditLog.objects.for_clinic(request.clinic)
            .filter(entity_type="patients.patient", entity_id=str(patient.pk))
            .select_related("user")[:100]
        )
    context = {"patient": patient, "changes": changes, "reads": reads, "auditor": auditor}
    return render(request, "patients/tabs/history.html", context)


@require_http_methods(["GET", "POST"])
@clinic_view(Perm.PATIENTS_EDIT)
def patient_edit(request: ClinicRequest, patient_id: int) -> HttpResponse:
    patient = selectors.patient_get_for_user(user=request.user, clinic=request.clinic, pk=patient_id)
    initial = {"national_id": identity.decrypt_national_id(patient.national_id_encrypted)}
    form = PatientForm(request.POST or None, instance=patient, clinic=request.clinic, initial=initial)
    if request.method == "POST" and form.is_valid():
        changes = {field: form.cleaned_data[field] for field in form.changed_data if field in services.PATIENT_FIELDS}
        national_id = form.cleaned_data["national_id"] if "national_id" in form.changed_data else None
        try:
            services.patient_update(patient=patient, changes=changes, national_id=national_id)
        except REFUSALS as error:
            add_error_to_form(form, error)
        else:
            messages.success(request, "The patient's details were saved.")
            return redirect("patient_chart", request.clinic.code, patient.pk)
    return render(request, "patients/patient_edit.html", {"form": form, "patient": patient}, status=400 if form.errors else 200)


@require_POST
@clinic_view(Perm.PATIENTS_EDIT)
def patient_set_status(request: ClinicRequest, patient_id: int, status: str) -> HttpResponse:
    patient = selectors.patient_get_for_user(user=request.user, clinic=request.clinic, pk=patient_id)
    services.patient_set_status(patient=patient, status=status)
    verb = "archived" if status == Patient.Status.ARCHIVED else "brought back to the active list"
    messages.success(request, f"{patient.full_name} was {verb}.")
    return redirect("patient_chart", request.clinic.code, patient.pk)


@require_POST
@clinic_view(Perm.DOCUMENTS_UPLOAD)
def document_upload(request: ClinicRequest, patient_id: int) -> HttpResponse:
    patient = selectors.patient_get_for_user(user=request.user, clinic=request.clinic, pk=patient_id)
    form = DocumentUploadForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            document = services.document_upload(
                patient=patient,
                user=request.user,
                upload=form.cleaned_data["file"],
                name=form.cleaned_data["name"],
                document_type=form.cleaned_data["document_type"],
            )
        except REFUSALS as error:
            add_error_to_form(form, error)  # {"file": …} or {"document_type": …}: shown on those fields
        else:
            messages.success(request, f"“{document.name}” was uploaded.")
            return redirect(f"{_chart_url(request, patient)}?tab=documents")
    context = {"patient": patient, "documents": selectors.documents_of_patient(patient=patient), "form": form}
    return render(request, "patients/document_upload_failed.html", context, status=400)


def _chart_url(request, patient) -> str:
    return reverse("patient_chart", args=[request.clinic.code, patient.pk])


@require_GET
@clinic_view(Perm.DOCUMENTS_VIEW)
def document_download(request: ClinicRequest, patient_id: int, document_id: int) -> FileResponse:
    """Stream a document after the permission check; ``?inline=1`` previews it."""
    patient = selectors.patient_get_for_user(user=request.user, clinic=request.clinic, pk=patient_id)
    document = selectors.document_get_for_patient(patient=patient, pk=document_id)
    inline = request.GET.get("inline") == "1"
    record_read(request, clinic=request.clinic, obj=document, action="preview" if inline else "download", patient_id=patient.pk)
    response = FileResponse(
        document.file.open("rb"), as_attachment=not inline, filename=document.original_name, content_type=document.content_type
    )
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@require_POST
@clinic_view(Perm.DOCUMENTS_UPLOAD)
def document_share(request: ClinicRequest, patient_id: int, document_id: int) -> HttpResponse:
    patient = selectors.patient_get_for_user(user=request.user, clinic=request.clinic, pk=patient_id)
    document = selectors.document_get_for_patient(patient=patient, pk=document_id)
    shared = request.POST.get("shared") == "1"
    services.document_set_shared(document=document, shared=shared)
    if shared:
        messages.success(request, f"“{document.name}” is shared: the patient can download it in the portal.")
    else:
        messages.success(request, f"“{document.name}” is no longer shared with the patient.")
    return redirect(f"{_chart_url(request, patient)}?tab=documents")


@require_POST
@clinic_view(Perm.DOCUMENTS_UPLOAD)
def document_delete(request: ClinicRequest, patient_id: int, document_id: int) -> HttpResponse:
    patient = selectors.patient_get_for_user(user=request.user, clinic=request.clinic, pk=patient_id)
    document = selectors.document_get_for_patient(patient=patient, pk=document_id)
    services.document_soft_delete(document=document, user=request.user)
    messages.success(request, f"“{document.name}” was removed from the chart.")
    return redirect(f"{_chart_url(request, patient)}?tab=documents")


@require_GET
@clinic_view(Perm.INSURERS_MANAGE)
def insurer_list(request: ClinicRequest) -> HttpResponse:
    insurers = InsuranceProvider.objects.for_clinic(request.clinic).order_by("-is_active", "name")
    return render(request, "patients/insurer_list.html", {"insurers": insurers})


@require_http_methods(["GET", "POST"])
@clinic_view(Perm.INSURERS_MANAGE)
def insurer_edit(request: ClinicRequest, insurer_id: int | None = None) -> HttpResponse:
    insurer = selectors.insurer_get(clinic=request.clinic, pk=insurer_id) if insurer_id is not None else None
    form = InsuranceProviderForm(request.POST or None, instance=insurer, clinic=request.clinic)
    if request.method == "POST" and form.is_valid():
        try:
            services.insurance_provider_save(clinic=request.clinic, data=form.cleaned_data, provider=insurer)
        except REFUSALS as error:
            add_error_to_form(form, error)
        else:
            messages.success(request, "The insurer was saved.")
            return redirect("insurer_list", request.clinic.code)
    return render(request, "patients/insurer_edit.html", {"form": form, "insurer": insurer}, status=400 if form.errors else 200)
