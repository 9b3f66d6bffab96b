"""The Orders pages: prescribing and ordering inside the visit (HTMX panels), the pharmacy
worklist, the lab worklist and order page, critical results, the chart's Prescriptions and
Labs tabs, the public prescription check, and the catalog and formulary settings. Thin:
the rules are in ``clinical.services``, the reads in ``clinical.selectors``."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_scopes import scopes_disabled

from clinical import charts, pdf, selectors, services
from clinical.forms import (
    COMMON_FREQUENCIES,
    AcknowledgeForm,
    FormularyItemForm,
    LabCancelForm,
    LabOrderForm,
    LabReportForm,
    LabTestForm,
    PrescriptionFinalizeForm,
    PrescriptionItemForm,
    ReferenceRangeFormSet,
)
from clinical.inputs import LabResultInput
from clinical.models import Dispensation, FormularyItem, LabOrder, LabResult, LabTest, Prescription, Visit
from clinicos.audit import record_read
from clinicos.downloads import pdf_response
from clinicos.errors import REFUSALS, add_error_to_form, error_message
from clinicos.redirects import next_url
from clinicos.roles import Perm
from clinicos.tenancy import ClinicRequest, clinic_view
from patients.selectors import patient_get_for_user

WORKLIST_PAGE_SIZE = 25


# --- The prescription panel of the visit --------------------------------------------------------


def _prescription_panel(request: ClinicRequest, visit: Visit, *, item_form=None, finalize_form=None, error: str = "", status: int = 200):
    prescription = selectors.prescription_of_visit(visit=visit)
    items = selectors.prescription_items(prescription) if prescription else []
    warnings = [warning for item in items for warning in item.warnings.all()]
    allergy_state = services.allergy_state(patient=visit.patient)
    may_write = request.membership.has_perm_in_clinic(Perm.PRESCRIPTIONS_WRITE)
    context = {
        "visit": visit,
        "patient": visit.patient,
        "prescription": prescription,
        "items": items,
        "warnings": warnings,
        "pending_warnings": [w for w in warnings if not w.override_reason],
        "allergy_unknown": allergy_state == services.AllergyState.UNKNOWN,
        "may_write": may_write,
        "item_form": item_form or PrescriptionItemForm(),
        "finalize_form": finalize_form or PrescriptionFinalizeForm(initial={"notes": prescription.notes if prescription else ""}),
        "formulary": selectors.formulary(clinic=request.clinic) if may_write else [],
        "frequencies": COMMON_FREQUENCIES,
        "history": list(
            Prescription.objects.filter(visit=visit, status=Prescription.Status.SUPERSEDED)
            .select_related("superseded_by")
            .order_by("-created_at")
        ),
        "error": error,
    }
    return render(request, "clinical/_prescription_panel.html", context, status=status)


@require_GET
@clinic_view(Perm.PRESCRIPTIONS_VIEW)
def visit_prescription(request: ClinicRequest, visit_id: int) -> HttpResponse:
    visit = selectors.visit_get_for_user(user=request.user, clinic=request.clinic, pk=visit_id)
    return _prescription_panel(request, visit)


@require_POST
@clinic_view(Perm.PRESCRIPTIONS_WRITE)
def visit_prescription_item_add(request: ClinicRequest, visit_id: int) -> HttpResponse:
    """Add a medicine: the first one starts the visit's draft prescription."""
    visit = selectors.visit_get_for_user(user=request.user, clinic=request.clinic, pk=visit_id)
    form = PrescriptionItemForm(request.POST)
    if form.is_valid():
        try:
            with transaction.atomic():
                prescription = selectors.prescription_of_visit(visit=visit)
                if prescription is None:
                    services.prescription_create(visit=visit, user=request.user, items=[form.cleaned_data])
                else:
                    services.prescription_item_add(prescription=prescription, user=request.user, data=form.cleaned_data)
        except REFUSALS as error:
            add_error_to_form(form, error)
        else:
            return _prescription_panel(request, visit)
    return _prescription_panel(request, visit, item_form=form, status=422)


@require_POST
@clinic_view(Perm.PRESCRIPTIONS_WRITE)
def prescription_item_remove(request: ClinicRequest, prescription_id: int, rx_item_id: int) -> HttpResponse:
    prescription = selectors.prescription_get_for_user(user=request.user, clinic=request.clinic, pk=prescription_id)
    item = prescription.items.filter(pk=rx_item_id).first()
    if item is None:
        raise Http404
    try:
        services.prescription_item_remove(prescription=prescription, user=request.user, item=item)
    except REFUSALS as error:
        return _prescription_panel(request, prescription.visit, error=error_message(error), status=409)
    return _prescription_panel(request, prescription.visit)


@require_POST
@clinic_view(Perm.PRESCRIPTIONS_WRITE)
def prescription_finalize(request: ClinicRequest, prescription_id: int) -> HttpResponse:
    """Finalize with a reason for each allergy warning, and the doctor's confirmation when
    nobody has recorded the allergies."""
    prescription = selectors.prescription_get_for_user(user=request.user, clinic=request.clinic, pk=prescription_id)
    form = PrescriptionFinalizeForm(request.POST)
    if form.is_valid():
        reasons = {}
        for key in request.POST:
            value = request.POST.get(key, "").strip()
            if key.startswith("reason_") and key[7:].isdigit() and value:
                reasons[int(key[7:])] = value
        try:
            with transaction.atomic():
                services.prescription_update(prescription=prescription, user=request.user, notes=form.cleaned_data["notes"])
                services.prescription_finalize(
                    prescription=prescription,
                    user=request.user,
                    reasons=reasons,
                    allergies_unknown_confirmed=form.cleaned_data["allergies_unknown_confirmed"],
                )
        except services.AllergyWarningsPending:
            return _prescription_panel(
                request,
                prescription.visit,
                finalize_form=form,
                error="Give a reason for each allergy warning before finalizing.",
                status=409,
            )
        except REFUSALS as error:
            add_error_to_form(form, error)
        else:
            return _prescription_panel(request, prescription.visit)
    return _prescription_panel(request, prescription.visit, finalize_form=form, status=409)


@require_POST
@clinic_view(Perm.PRESCRIPTIONS_WRITE)
def prescription_correct(request: ClinicRequest, prescription_id: int) -> HttpResponse:
    """Start a correction: a new draft with the same items, superseding this one once it is
    finalized (both are kept)."""
    prescription = selectors.prescription_get_for_user(user=request.user, clinic=request.clinic, pk=prescription_id)
    items = [{field: getattr(item, field) for field in services.PRESCRIPTION_ITEM_FIELDS} for item in prescription.items.all()]
    try:
        services.prescription_create(
            visit=prescription.visit, user=request.user, items=items, notes=prescription.notes, supersedes=prescription
        )
    except REFUSALS as error:
        return _prescription_panel(request, prescription.visit, error=error_message(error), status=409)
    return _prescription_panel(request, prescription.visit)


@require_POST
@clinic_view(Perm.PRESCRIPTIONS_WRITE)
def prescription_discard(request: ClinicRequest, prescription_id: int) -> HttpResponse:
    prescription = selectors.prescription_get_for_user(user=request.user, clinic=request.clinic, pk=prescription_id)
    visit = prescription.visit
    try:
        services.prescription_discard(prescription=prescription, user=request.user)
    except REFUSALS as error:
        return _prescription_panel(request, visit, error=error_message(error), status=409)
    return _prescription_panel(request, visit)


@require_GET
@clinic_view(Perm.PRESCRIPTIONS_VIEW)
def prescription_print(request: ClinicRequest, prescription_id: int) -> HttpResponse:
    """The A5 PDF (logged as a print)."""
    prescription = selectors.prescription_get_for_user(user=request.user, clinic=request.clinic, pk=prescription_id)
    try:
        content = pdf.prescription_pdf_for_request(request, prescription=prescription)
    except REFUSALS as error:
        messages.error(request, error_message(error))
        return redirect("visit_detail", request.clinic.code, prescription.visit_id)
    return pdf_response(content, f"{prescription.reference}.pdf")


# --- Pharmacy ------------------------------------------------------------------------------------


@require_GET
@clinic_view(Perm.PRESCRIPTIONS_DISPENSE)
def pharmacy_worklist(request: ClinicRequest) -> HttpResponse:
    """Finalized, valid prescriptions with something left to hand over."""
    search = request.GET.get("q", "").replace("\x00", "")[:60]
    page = Paginator(selectors.pharmacy_worklist(clinic=request.clinic, search=search), WORKLIST_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(request, "clinical/pharmacy_worklist.html", {"page": page, "search": search})


def _prescription_page(request: ClinicRequest, prescription: Prescription, *, error: str = "", status: int = 200) -> HttpResponse:
    items = selectors.prescription_items(prescription)
    context = {
        "prescription": prescription,
        "patient": prescription.patient,
        "items": items,
        "valid": services.prescription_is_valid(prescription),
        "dispensations": list(
            Dispensation.objects.filter(item__prescription=prescription).select_related("item", "dispensed_by").order_by("-dispensed_at")
        ),
        "may_dispense": request.membership.has_perm_in_clinic(Perm.PRESCRIPTIONS_DISPENSE),
        "error": error,
    }
    return render(request, "clinical/prescription_detail.html", context, status=status)


@require_GET
@clinic_view(Perm.PRESCRIPTIONS_VIEW)
def prescription_detail(request: ClinicRequest, prescription_id: int) -> HttpResponse:
    prescription = selectors.prescription_get_for_user(user=request.user, clinic=request.clinic, pk=prescription_id)
    record_read(request, clinic=request.clinic, obj=prescription, patient_id=prescription.patient_id)
    return _prescription_page(request, prescription)


@require_POST
@clinic_view(Perm.PRESCRIPTIONS_DISPENSE)
def prescription_dispense(request: ClinicRequest, prescription_id: int) -> HttpResponse:
    prescription = selectors.prescription_get_for_user(user=request.user, clinic=request.clinic, pk=prescription_id)
    quantities: dict[int, int] = {}
    for key in request.POST:
        value = request.POST.get(key, "").strip()
        if key.startswith("quantity_") and key[9:].isdigit() and value:
            try:
                quantities[int(key[9:])] = int(value)
            except ValueError:
                return _prescription_page(request, prescription, error="Quantities are whole numbers.", status=422)
    try:
        services.prescription_dispense(
            prescription=prescription, user=request.user, quantities=quantities, notes=request.POST.get("notes", "")
        )
    except REFUSALS as error:
        return _prescription_page(
            request, prescription, error=error_message(error), status=409 if not hasattr(error, "error_dict") else 422
        )
    messages.success(request, f"Dispensed from {prescription.reference}.")
    return redirect("prescription_detail", request.clinic.code, prescription.pk)


@require_GET
def prescription_verify(request: HttpRequest, token: str) -> HttpResponse:
    """The QR code's page, open to anyone holding the printout: genuine or not, and current
    or not — never the patient or the medicines."""
    with scopes_disabled():  # resolved by its random token, not by a clinic URL
        prescription = (
            Prescription.objects.select_related("clinic", "doctor__user", "superseded_by").filter(verification_token=token).first()
        )
        valid = prescription is not None and services.prescription_is_valid(prescription)
    response = render(
        request, "clinical/prescription_verify.html", {"prescription": prescription, "valid": valid}, status=200 if prescription else 404
    )
    response["Cache-Control"] = "no-store"
    response["X-Robots-Tag"] = "noindex"
    return response


# --- The lab panel of the visit --------------------------------------------------------------------


def _lab_panel(request: ClinicRequest, visit: Visit, *, form=None, created=None, status: int = 200) -> HttpResponse:
    orders = list(selectors.lab_orders_of_patient(patient=visit.patient).filter(visit=visit))
    may_order = request.membership.has_perm_in_clinic(Perm.LAB_ORDERS_CREATE)
    context = {
        "visit": visit,
        "orders": orders,
        "may_order": may_order,
        "created": created,
        "form": form or (LabOrderForm(catalog=selectors.lab_catalog(clinic=request.clinic)) if may_order else None),
    }
    return render(request, "clinical/_lab_panel.html", context, status=status)


@require_http_methods(["GET", "POST"])
@clinic_view(Perm.LAB_ORDERS_VIEW)
def visit_lab_orders(request: ClinicRequest, visit_id: int) -> HttpResponse:
    visit = selectors.visit_get_for_user(user=request.user, clinic=request.clinic, pk=visit_id)
    if request.method == "GET":
        return _lab_panel(request, visit)
    if not request.membership.has_perm_in_clinic(Perm.LAB_ORDERS_CREATE):
        raise PermissionDenied("Only doctors order lab tests.")
    form = LabOrderForm(request.POST, catalog=selectors.lab_catalog(clinic=request.clinic))
    if form.is_valid():
        try:
            order = services.lab_order_create(
                patient=visit.patient,
                user=request.user,
                lab_tests=list(form.cleaned_data["tests"]),
                urgency=form.cleaned_data["urgency"],
                visit=visit,
                clinical_notes=form.cleaned_data["clinical_notes"],
            )
        except REFUSALS as error:
            add_error_to_form(form, error)
        else:
            return _lab_panel(request, visit, created=order)
    return _lab_panel(request, visit, form=form, status=422)


# --- The lab: worklist, order page, critical results -------------------------------------------------


@require_GET
@clinic_view(Perm.LAB_ORDERS_VIEW)
def lab_worklist(request: ClinicRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    if status not in LabOrder.Status.values:
        status = ""
    orders = selectors.lab_orders_for_worklist(clinic=request.clinic, status=status or None)
    page = Paginator(orders, WORKLIST_PAGE_SIZE).get_page(request.GET.get("page"))
    counts = selectors.lab_order_counts(clinic=request.clinic)
    tabs = [("", "Open", sum(counts[s] for s in ("ordered", "sample_collected", "in_progress")))]
    tabs += [(value, label, counts[value]) for value, label in LabOrder.Status.choices]
    return render(request, "clinical/lab_worklist.html", {"page": page, "status": status, "tabs": tabs})


def _order_page(
    request: ClinicRequest, order: LabOrder, *, cancel_form=None, report_form=None, error: str = "", status: int = 200
) -> HttpResponse:
    tests = selectors.lab_order_tests(order)
    next_steps = [
        s for s in services.LAB_ORDER_TRANSITIONS[order.status] if s not in (LabOrder.Status.CANCELLED, LabOrder.Status.COMPLETED)
    ]
    context = {
        "order": order,
        "patient": order.patient,
        "tests": tests,
        "has_final_results": any(selectors.result_is_reported(test) for test in tests),
        "next_steps": [(s, LabOrder.Status(s).label) for s in next_steps],
        "may_work": request.membership.has_perm_in_clinic(Perm.LAB_WORK),
        "may_review": request.membership.has_perm_in_clinic(Perm.LAB_RESULTS_REVIEW),
        "results_open": order.status in services.RESULTS_ALLOWED_IN,
        "may_cancel": LabOrder.Status.CANCELLED in services.LAB_ORDER_TRANSITIONS[order.status],
        "cancel_form": cancel_form or LabCancelForm(),
        "report_form": report_form or LabReportForm(),
        "acknowledge_form": AcknowledgeForm(),
        "flags": LabResult.Flag.choices,
        "error": error,
    }
    return render(request, "clinical/lab_order.html", context, status=status)


@require_GET
@clinic_view(Perm.LAB_ORDERS_VIEW)
def lab_order_detail(request: ClinicRequest, order_id: int) -> HttpResponse:
    order = selectors.lab_order_get_for_user(user=request.user, clinic=request.clinic, pk=order_id)
    record_read(request, clinic=request.clinic, obj=order, patient_id=order.patient_id)
    return _order_page(request, order)


@require_POST
@clinic_view(Perm.LAB_WORK)
def lab_order_status(request: ClinicRequest, order_id: int) -> HttpResponse:
    order = selectors.lab_order_get_for_user(user=request.user, clinic=request.clinic, pk=order_id)
    to_status = request.POST.get("status", "")
    cancel_form = None
    try:
        if to_status == LabOrder.Status.CANCELLED:
            cancel_form = LabCancelForm(request.POST)
            if not cancel_form.is_valid():
                return _order_page(request, order, cancel_form=cancel_form, status=422)
            services.lab_order_set_status(order=order, user=request.user, to_status=to_status, reason=cancel_form.cleaned_data["reason"])
        else:
            services.lab_order_set_status(order=order, user=request.user, to_status=to_status)
    except REFUSALS as error:
        order.refresh_from_db()
        return _order_page(request, order, cancel_form=cancel_form, error=error_message(error), status=409)
    messages.success(request, f"{order.reference}: {LabOrder.Status(to_status).label.lower()}.")
    return redirect("lab_order_detail", request.clinic.code, order.pk)


@require_POST
@clinic_view(Perm.LAB_WORK)
def lab_order_results(request: ClinicRequest, order_id: int) -> HttpResponse:
    """Enter the results typed in the order page (blank rows are skipped)."""
    order = selectors.lab_order_get_for_user(user=request.user, clinic=request.clinic, pk=order_id)
    results = []
    for test_id in request.POST.getlist("test_id"):
        value = request.POST.get(f"value_{test_id}", "").strip()
        if not value:
            continue
        results.append(
            LabResultInput.of(
                test_id=test_id,
                value=value,
                final=request.POST.get(f"final_{test_id}") == "on",
                flag=request.POST.get(f"flag_{test_id}", ""),
                flag_reason=request.POST.get(f"flag_reason_{test_id}", ""),
            )
        )
    try:
        saved = services.lab_results_enter(order=order, user=request.user, results=results)
    except REFUSALS as error:
        order.refresh_from_db()
        return _order_page(request, order, error=error_message(error), status=422 if hasattr(error, "error_dict") else 409)
    critical = [r for r in saved if r.is_critical]
    if critical:
        messages.warning(
            request, f"{len(critical)} critical result{'s' if len(critical) > 1 else ''}: the ordering doctor has been alerted."
        )
    else:
        messages.success(request, f"{len(saved)} result{'s' if len(saved) != 1 else ''} saved.")
    return redirect("lab_order_detail", request.clinic.code, order.pk)


@require_POST
@clinic_view(Perm.LAB_WORK)
def lab_order_report(request: ClinicRequest, order_id: int) -> HttpResponse:
    """Attach (or, with ``remove``, take away) the lab's report file."""
    order = selectors.lab_order_get_for_user(user=request.user, clinic=request.clinic, pk=order_id)
    try:
        if request.POST.get("remove"):
            services.lab_report_remove(order=order, user=request.user)
        else:
            form = LabReportForm(request.POST, request.FILES)
            if not form.is_valid():
                return _order_page(request, order, report_form=form, status=422)
            services.lab_report_attach(order=order, user=request.user, upload=form.cleaned_data["report"])
    except REFUSALS as error:
        form = LabReportForm()
        add_error_to_form(form, error)
        return _order_page(request, order, report_form=form, status=422 if hasattr(error, "error_dict") else 409)
    return redirect("lab_order_detail", request.clinic.code, order.pk)


@require_GET
@clinic_view(Perm.LAB_ORDERS_VIEW)
def lab_order_report_download(request: ClinicRequest, order_id: int) -> FileResponse:
    order = selectors.lab_order_get_for_user(user=request.user, clinic=request.clinic, pk=order_id)
    if not order.report_file or order.report_removed_at is not None:
        raise Http404
    record_read(request, clinic=request.clinic, obj=order, action="download report", patient_id=order.patient_id)
    response = FileResponse(
        order.report_file.open("rb"), as_attachment=False, filename=order.report_file_name, content_type=order.report_content_type
    )
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@require_GET
@clinic_view(Perm.LAB_ORDERS_VIEW)
def lab_requisition_pdf(request: ClinicRequest, order_id: int) -> HttpResponse:
    order = selectors.lab_order_get_for_user(user=request.user, clinic=request.clinic, pk=order_id)
    record_read(request, clinic=request.clinic, obj=order, action="print requisition", patient_id=order.patient_id)
    content = pdf.lab_requisition_pdf(order=order, tests=selectors.lab_order_tests(order), printed_by=request.user)
    return pdf_response(content, f"requisition-{order.reference}.pdf")


@require_GET
@clinic_view(Perm.LAB_ORDERS_VIEW)
def lab_results_report_pdf(request: ClinicRequest, order_id: int) -> HttpResponse:
    """The results report (final results only; a 409 page until there is one)."""
    order = selectors.lab_order_get_for_user(user=request.user, clinic=request.clinic, pk=order_id)
    try:
        content = pdf.lab_results_report_pdf(request, order=order)
    except REFUSALS as error:
        return _order_page(request, order, error=error_message(error), status=409)
    return pdf_response(content, f"results-{order.reference}.pdf")


@require_POST
@clinic_view(Perm.LAB_RESULTS_REVIEW)
def lab_order_review(request: ClinicRequest, order_id: int) -> HttpResponse:
    order = selectors.lab_order_get_for_user(user=request.user, clinic=request.clinic, pk=order_id)
    try:
        services.lab_order_review(order=order, user=request.user)
    except REFUSALS as error:
        messages.error(request, error_message(error))
    else:
        messages.success(request, f"Results of {order.reference} signed off.")
    return redirect("lab_order_detail", request.clinic.code, order.pk)


@require_POST
@clinic_view(Perm.LAB_RESULTS_REVIEW)
def lab_result_acknowledge(request: ClinicRequest, result_id: int) -> HttpResponse:
    result = selectors.lab_result_get_for_user(user=request.user, clinic=request.clinic, pk=result_id)
    form = AcknowledgeForm(request.POST)
    back = next_url(request, reverse("critical_results", args=[request.clinic.code]))
    try:
        if not form.is_valid():
            raise ValidationError({"comment": "Say what was done about this critical result."})
        services.lab_result_acknowledge(result=result, user=request.user, comment=form.cleaned_data["comment"])
    except REFUSALS as error:
        messages.error(request, error_message(error))
    else:
        messages.success(request, f"Critical {result.lab_test.name} of {result.patient.full_name} acknowledged.")
    return redirect(back)


@require_GET
@clinic_view(Perm.LAB_ORDERS_VIEW)
def critical_results(request: ClinicRequest) -> HttpResponse:
    """Critical results nobody has acknowledged yet (and the last acknowledged ones), plus
    a doctor's completed orders still to sign off."""
    waiting = list(selectors.critical_results(clinic=request.clinic, user=request.user, acknowledged=False)[:100])
    done = list(selectors.critical_results(clinic=request.clinic, user=request.user, acknowledged=True)[:20])
    may_review = request.membership.has_perm_in_clinic(Perm.LAB_RESULTS_REVIEW)
    to_review = list(selectors.results_to_review(clinic=request.clinic, user=request.user)[:50]) if may_review else []
    context = {"waiting": waiting, "done": done, "to_review": to_review, "may_review": may_review, "form": AcknowledgeForm()}
    return render(request, "clinical/critical_results.html", context)


# --- The chart's Prescriptions and Labs tabs ------------------------------------------------------


@require_GET
@clinic_view(Perm.PRESCRIPTIONS_VIEW)
def patient_tab_prescriptions(request: ClinicRequest, patient_id: int) -> HttpResponse:
    patient = patient_get_for_user(user=request.user, clinic=request.clinic, pk=patient_id)
    record_read(request, clinic=request.clinic, obj=patient, action="view_prescriptions", patient_id=patient.pk)
    prescriptions = list(selectors.prescriptions_of_patient(patient=patient)[:50])
    today = timezone.localdate()
    return render(request, "clinical/tab_prescriptions.html", {"patient": patient, "prescriptions": prescriptions, "today": today})


@require_GET
@clinic_view(Perm.LAB_ORDERS_VIEW)
def patient_tab_labs(request: ClinicRequest, patient_id: int) -> HttpResponse:
    patient = patient_get_for_user(user=request.user, clinic=request.clinic, pk=patient_id)
    record_read(request, clinic=request.clinic, obj=patient, action="view_labs", patient_id=patient.pk)
    orders = list(selectors.lab_orders_of_patient(patient=patient)[:50])
    trends = []
    for lab_test, results in selectors.result_trends(patient=patient).items():
        chart = charts.lab_trend_chart(lab_test, results)
        if chart and len(results) > 1:
            trends.append(chart)
    return render(request, "clinical/tab_labs.html", {"patient": patient, "orders": orders, "trends": trends})


# --- Settings: the lab catalog and the formulary ---------------------------------------------------


@require_GET
@clinic_view(Perm.SETTINGS_MANAGE)
def lab_catalog_settings(request: ClinicRequest) -> HttpResponse:
    tests = selectors.lab_catalog(clinic=request.clinic, include_inactive=True)
    return render(request, "clinical/settings_lab_catalog.html", {"tests": tests})


@require_http_methods(["GET", "POST"])
@clinic_view(Perm.SETTINGS_MANAGE)
def lab_test_edit(request: ClinicRequest, lab_test_id: int | None = None) -> HttpResponse:
    lab_test = None
    if lab_test_id is not None:
        lab_test = LabTest.objects.for_clinic(request.clinic).filter(pk=lab_test_id).first()
        if lab_test is None:
            raise Http404
    form = LabTestForm(request.POST or None, instance=lab_test or LabTest(clinic=request.clinic))
    formset = ReferenceRangeFormSet(request.POST or None, instance=form.instance, prefix="ranges")
    if request.method == "POST" and form.is_valid() and formset.is_valid():
        try:
            services.lab_test_save(clinic=request.clinic, form=form, formset=formset)
        except REFUSALS as error:
            add_error_to_form(form, error)
        else:
            messages.success(request, f"{form.instance.name} saved.")
            return redirect("lab_catalog_settings", request.clinic.code)
    status = 422 if request.method == "POST" else 200
    return render(request, "clinical/settings_lab_test.html", {"form": form, "formset": formset, "lab_test": lab_test}, status=status)


@require_GET
@clinic_view(Perm.SETTINGS_MANAGE)
def formulary_settings(request: ClinicRequest) -> HttpResponse:
    items = selectors.formulary(clinic=request.clinic, include_inactive=True)
    return render(request, "clinical/settings_formulary.html", {"items": items, "form": FormularyItemForm()})


@require_http_methods(["GET", "POST"])
@clinic_view(Perm.SETTINGS_MANAGE)
def formulary_item_edit(request: ClinicRequest, formulary_item_id: int | None = None) -> HttpResponse:
    item = None
    if formulary_item_id is not None:
        item = FormularyItem.objects.for_clinic(request.clinic).filter(pk=formulary_item_id).first()
        if item is None:
            raise Http404
    form = FormularyItemForm(request.POST or None, instance=item or FormularyItem(clinic=request.clinic))
    if request.method == "POST" and form.is_valid():
        try:
            services.formulary_item_save(clinic=request.clinic, data=form.cleaned_data, item=item)
        except REFUSALS as error:
            add_error_to_form(form, error)
        else:
            messages.success(request, f"{form.cleaned_data['generic_name']} saved.")
            return redirect("formulary_settings", request.clinic.code)
    status = 422 if request.method == "POST" else 200
    return render(request, "clinical/settings_formulary_item.html", {"form": form, "item": item}, status=status)
