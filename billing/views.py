"""Billing's pages: the invoice list, writing and issuing an invoice, taking a payment in
two taps, deposits, refunds and credit notes, the chart's Billing tab (the ledger), the
day close, the service catalog, and the PDFs. Thin: rules in ``billing.services``, reads
in ``billing.selectors``."""

import datetime
from decimal import Decimal

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from billing import pdf, selectors, services
from billing.forms import (
    ApplyDepositForm,
    CancelForm,
    DayCloseForm,
    InvoiceFilterForm,
    InvoiceHeaderForm,
    InvoiceLineFormSet,
    PaymentForm,
    RefundForm,
    ServiceForm,
)
from billing.inputs import InvoiceLineInput
from billing.models import Invoice, Method
from clinical.models import Visit
from clinicos.audit import record_read
from clinicos.errors import REFUSALS, add_error_to_form, error_message
from clinicos.pagination import CachedCountPaginator
from clinicos.roles import Perm
from clinicos.tenancy import ClinicRequest, clinic_view
from patients.selectors import patient_get_for_user, patient_list
from scheduling.models import Appointment

PAGE_SIZE = 25


def _invoice_url(request: ClinicRequest, invoice) -> str:
    return reverse("invoice_detail", args=[request.clinic.code, invoice.pk])


# --- The list -----------------------------------------------------------------------------------


@require_GET
@clinic_view(Perm.BILLING_VIEW)
def invoice_list(request: ClinicRequest) -> HttpResponse:
    form = InvoiceFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    invoices = selectors.invoice_list(
        clinic=request.clinic,
        status=filters.get("status", ""),
        q=filters.get("q", ""),
        date_from=filters.get("date_from"),
        date_to=filters.get("date_to"),
    )
    page = CachedCountPaginator(invoices, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "billing/invoice_list.html",
        {"form": form, "page": page, "query": query.urlencode(), "today": request.clinic.today()},
    )


# --- Writing an invoice --------------------------------------------------------------------------


def _line_formset(request: ClinicRequest, data=None, initial=None):
    services_qs = selectors.services_of_clinic(clinic=request.clinic, active_only=True)
    formset = InvoiceLineFormSet(data, initial=initial, prefix="lines", services=services_qs)  # type: ignore[call-arg]
    return formset


def _lines_initial(lines: list[InvoiceLineInput]) -> list[dict]:
    return [
        {
            "service": line.service_id,
            "description": line.description,
            "quantity": line.quantity,
            "unit_price": f"{line.unit_price:.2f}" if line.unit_price is not None else "",
            "discount": f"{line.discount:.2f}" if line.discount else "",
            "price_missing": line.price_missing,
            "free_reason": line.free_reason,
        }
        for line in lines
    ]


def _with_blank_rows(data, formset_prefix: str = "lines", add: int = 0):
    """A POST asking for another line re-renders the form with one more row."""
    data = data.copy()
    total = int(data.get(f"{formset_prefix}-TOTAL_FORMS", "0") or 0)
    data[f"{formset_prefix}-TOTAL_FORMS"] = str(min(total + add, 50))
    return data


def _invoice_form_page(request: ClinicRequest, *, patient, invoice=None, header=None, lines=None, status: int = 200):
    return render(
        request,
        "billing/invoice_form.html",
        {
            "patient": patient,
            "invoice": invoice,
            "header": header,
            "lines": lines,
            "services_prices": {s.pk: f"{s.price:.2f}" for s in lines.services} if lines is not None else {},
        },
        status=status,
    )


def _save_invoice(request: ClinicRequest, *, patient, invoice=None):
    """Shared by new and edit: ``add_line`` adds a row; otherwise save through the service."""
    data = request.POST
    if "add_line" in data:
        data = _with_blank_rows(data, add=1)
    header = InvoiceHeaderForm(data)
    lines = _line_formset(request, data)
    if "add_line" in request.POST:
        header.is_valid()
        lines.is_valid()
        return _invoice_form_page(request, patient=patient, invoice=invoice, header=header, lines=lines)
    if header.is_valid() and lines.is_valid():
        values = {
            "lines": lines.line_inputs(),
            "due_date": header.cleaned_data["due_date"],
            "discount_amount": header.cleaned_data["discount_amount"] or Decimal("0.00"),
            "notes": header.cleaned_data["notes"],
        }
        try:
            if invoice is None:
                visit = _visit_from(request, patient)
                invoice = services.invoice_create(clinic=request.clinic, user=request.user, patient=patient, visit=visit, **values)
            else:
                services.invoice_update(invoice=invoice, user=request.user, **values)
        except REFUSALS as error:
            _spread_line_errors(error, header, lines)
        else:
            messages.success(request, "Invoice saved as a draft. Check it, then issue it.")
            return redirect(_invoice_url(request, invoice))
    return _invoice_form_page(request, patient=patient, invoice=invoice, header=header, lines=lines, status=422)


def _visit_from(request: ClinicRequest, patient):
    visit_id = request.POST.get("visit") or request.GET.get("visit")
    if not visit_id:
        return None
    visit = Visit.objects.for_clinic(request.clinic).filter(pk=visit_id if str(visit_id).isdigit() else 0, patient=patient).first()
    if visit is None:
        raise Http404("No such visit.")
    return visit


def _spread_line_errors(error, header, lines) -> None:
    """Put a service's ``lines.<i>.<field>`` messages on the line's own field."""
    from django.core.exceptions import ValidationError

    if isinstance(error, ValidationError) and hasattr(error, "error_dict"):
        filled = [form for form in lines.forms if hasattr(form, "cleaned_data") and not form.is_blank]
        for field, messages_ in error.message_dict.items():
            parts = field.split(".")
            if parts[0] == "lines" and len(parts) == 3 and parts[1].isdigit() and int(parts[1]) < len(filled):
                target = filled[int(parts[1])]
                name = parts[2].removesuffix("_id")
                target.add_error(name if name in target.fields else None, messages_)
            elif field in header.fields:
                header.add_error(field, messages_)
            else:
                header.add_error(None, messages_)
    else:
        add_error_to_form(header, error)


@require_http_methods(["GET", "POST"])
@clinic_view(Perm.BILLING_EDIT)
def invoice_new(request: ClinicRequest) -> HttpResponse:
    """A new invoice for a patient (``?patient=``), optionally for one of their visits."""
    patient_id = request.POST.get("patient") or request.GET.get("patient")
    if not patient_id:
        return _choose_patient(request)
    patient = patient_get_for_user(user=request.user, clinic=request.clinic, pk=patient_id)
    if request.method == "POST":
        return _save_invoice(request, patient=patient)
    initial = [{"quantity": 1}]
    visit = _visit_from(request, patient)
    if visit is not None:
        initial = _lines_initial(services.suggested_lines_for_visit(visit))
    return _invoice_form_page(
        request,
        patient=patient,
        header=InvoiceHeaderForm(initial={"discount_amount": "0.00"}),
        lines=_line_formset(request, initial=initial + [{}]),
    )


def _choose_patient(request: ClinicRequest) -> HttpResponse:
    """New invoice without a patient yet: find them first (name, UHID or phone)."""
    query = request.GET.get("q", "").strip()[:100]
    found = list(patient_list(user=request.user, clinic=request.clinic, filters={"q": query, "status": "active"})[:20]) if query else []
    return render(request, "billing/invoice_choose_patient.html", {"query": query, "found": found})


@require_http_methods(["GET", "POST"])
@clinic_view(Perm.BILLING_EDIT)
def invoice_edit(request: ClinicRequest, invoice_id: int) -> HttpResponse:
    invoice = selectors.invoice_get(clinic=request.clinic, pk=invoice_id)
    if invoice.status != Invoice.Status.DRAFT:
        messages.error(request, f"Invoice {invoice.number} is issued: it cannot be changed. Cancel it with a credit note instead.")
        return redirect(_invoice_url(request, invoice))
    if request.method == "POST":
        return _save_invoice(request, patient=invoice.patient, invoice=invoice)
    header = InvoiceHeaderForm(
        initial={"due_date": invoice.due_date, "discount_amount": f"{invoice.discount_amount:.2f}", "notes": invoice.notes}
    )
    initial = _lines_initial([InvoiceLineInput.of_row(line) for line in selectors.invoice_lines(invoice)])
    return _invoice_form_page(
        request, patient=invoice.patient, invoice=invoice, header=header, lines=_line_formset(request, initial=initial + [{}])
    )


@require_POST
@clinic_view(Perm.BILLING_EDIT)
def invoice_delete(request: ClinicRequest, invoice_id: int) -> HttpResponse:
    invoice = selectors.invoice_get(clinic=request.clinic, pk=invoice_id)
    patient_id = invoice.patient_id
    try:
        services.invoice_delete(invoice=invoice, user=request.user)
    except REFUSALS as error:
        messages.error(request, error_message(error))
        return redirect(_invoice_url(request, invoice))
    messages.success(request, "The draft invoice was deleted.")
    return redirect(reverse("patient_chart", args=[request.clinic.code, patient_id]) + "?tab=billing")


# --- One invoice -------------------------------------------------------------------------------


def _invoice_page(
    request: ClinicRequest, invoice, *, payment_form=None, deposit_form=None, cancel_form=None, status: int = 200
) -> HttpResponse:
    lines = selectors.invoice_lines(invoice)
    balance = invoice.balance_due
    deposit_available = services.deposit_available(patient=invoice.patient) if invoice.status in Invoice.OPEN_STATUSES else 0
    context = {
        "invoice": invoice,
        "patient": invoice.patient,
        "lines": lines,
        "unpriced": [line for line in lines if line.price_missing],
        "split": selectors.tax_split(invoice, lines),
        "payments": selectors.invoice_payments(invoice),
        "applications": selectors.invoice_deposit_applications(invoice),
        "credit_note": selectors.invoice_credit_note(invoice),
        "overdue": invoice.is_overdue_on(request.clinic.today()),
        "today": request.clinic.today(),
        "deposit_available": deposit_available,
        "payment_form": payment_form or PaymentForm(initial={"amount": f"{balance:.2f}", "method": Method.CASH}),
        "deposit_form": deposit_form or ApplyDepositForm(initial={"amount": f"{min(balance, deposit_available):.2f}"}),
        "cancel_form": cancel_form or CancelForm(),
        "may_refund": request.membership.has_perm_in_clinic(Perm.BILLING_REFUND),
        "may_edit": request.membership.has_perm_in_clinic(Perm.BILLING_EDIT),
        "visit_open": invoice.visit_id is not None and invoice.visit.status != Visit.Status.COMPLETED,
    }
    return render(request, "billing/invoice_detail.html", context, status=status)


@require_GET
@clinic_view(Perm.BILLING_VIEW)
def invoice_detail(request: ClinicRequest, invoice_id: int) -> HttpResponse:
    invoice = selectors.invoice_get(clinic=request.clinic, pk=invoice_id)
    record_read(request, clinic=request.clinic, obj=invoice, patient_id=invoice.patient_id)
    return _invoice_page(request, invoice)


@require_POST
@clinic_view(Perm.BILLING_EDIT)
def invoice_issue(request: ClinicRequest, invoice_id: int) -> HttpResponse:
    """Issue the draft; the checkout's quick buttons (``pay_method`` cash or UPI) also take
    the whole balance in the same transaction: both happen, or neither."""
    invoice = selectors.invoice_get(clinic=request.clinic, pk=invoice_id)
    pay_method = request.POST.get("pay_method", "")
    try:
        if pay_method:
            invoice, payment = services.invoice_issue_and_collect(invoice=invoice, user=request.user, method=pay_method)
        else:
            invoice, payment = services.invoice_issue(invoice=invoice, user=request.user), None
    except REFUSALS as error:
        messages.error(request, error_message(error))
    else:
        done = f"{invoice.get_document_type_display()} {invoice.number} issued"
        if payment is not None:
            done += (
                f"; {request.clinic.currency} {payment.amount} received ({payment.get_method_display()}), receipt {payment.receipt_number}"
            )
        messages.success(request, done + ".")
    return redirect(_invoice_url(request, invoice))


@require_POST
@clinic_view(Perm.BILLING_EDIT)
def invoice_pay(request: ClinicRequest, invoice_id: int) -> HttpResponse:
    invoice = selectors.invoice_get(clinic=request.clinic, pk=invoice_id)
    form = PaymentForm(request.POST)
    if form.is_valid():
        try:
            payment = services.payment_record(invoice=invoice, user=request.user, **form.cleaned_data)
        except REFUSALS as error:
            add_error_to_form(form, error)
        else:
            messages.success(
                request,
                f"{request.clinic.currency} {payment.amount} received ({payment.get_method_display()}), receipt {payment.receipt_number}.",
            )
            return redirect(_invoice_url(request, invoice))
    invoice.refresh_from_db()
    return _invoice_page(request, invoice, payment_form=form, status=422)


@require_POST
@clinic_view(Perm.BILLING_EDIT)
def invoice_apply_deposit(request: ClinicRequest, invoice_id: int) -> HttpResponse:
    invoice = selectors.invoice_get(clinic=request.clinic, pk=invoice_id)
    form = ApplyDepositForm(request.POST)
    if form.is_valid():
        try:
            services.deposit_apply(invoice=invoice, user=request.user, amount=form.cleaned_data["amount"])
        except REFUSALS as error:
            add_error_to_form(form, error)
        else:
            messages.success(request, f"{request.clinic.currency} {form.cleaned_data['amount']} applied from the patient's deposits.")
            return redirect(_invoice_url(request, invoice))
    return _invoice_page(request, invoice, deposit_form=form, status=422)


@require_POST
@clinic_view(Perm.BILLING_REFUND)
def invoice_cancel(request: ClinicRequest, invoice_id: int) -> HttpResponse:
    invoice = selectors.invoice_get(clinic=request.clinic, pk=invoice_id)
    form = CancelForm(request.POST)
    if form.is_valid():
        try:
            note = services.invoice_cancel(
                invoice=invoice, user=request.user, membership=request.membership, reason=form.cleaned_data["reason"]
            )
        except REFUSALS as error:
            add_error_to_form(form, error)
        else:
            messages.success(request, f"Invoice {invoice.number} cancelled: credit note {note.number} issued.")
            return redirect(_invoice_url(request, invoice))
    return _invoice_page(request, invoice, cancel_form=form, status=422)


@require_GET
@clinic_view(Perm.BILLING_VIEW)
def invoice_pdf(request: ClinicRequest, invoice_id: int) -> HttpResponse:
    invoice = selectors.invoice_get(clinic=request.clinic, pk=invoice_id)
    document = "credit_note" if request.GET.get("document") == "credit_note" else "invoice"
    try:
        content = pdf.invoice_pdf_for_request(request, invoice=invoice, document=document)
    except REFUSALS as error:
        messages.error(request, error_message(error))
        return redirect(_invoice_url(request, invoice))
    number = invoice.credit_note.number if document == "credit_note" else invoice.number or f"draft-{invoice.pk}"
    return pdf.pdf_response(content, number)


# --- Front desk: bill a visit in one tap ---------------------------------------------------------


@require_POST
@clinic_view(Perm.BILLING_EDIT)
def bill_appointment(request: ClinicRequest, appointment_id: int) -> HttpResponse:
    """Today's "Bill": the completed visit's invoice, prepared from the visit if need be."""
    appointment = Appointment.objects.for_clinic(request.clinic).filter(pk=appointment_id).first()
    if appointment is None:
        raise Http404("No such appointment.")
    visit = Visit.objects.for_clinic(request.clinic).filter(appointment=appointment).select_related("doctor__user", "patient").first()
    if visit is None:
        messages.error(request, "This appointment has no visit to bill.")
        return redirect("front_desk_today", request.clinic.code)
    return _bill(request, visit)


@require_POST
@clinic_view(Perm.BILLING_EDIT)
def bill_visit(request: ClinicRequest, visit_id: int) -> HttpResponse:
    visit = Visit.objects.for_clinic(request.clinic).filter(pk=visit_id).select_related("doctor__user", "patient").first()
    if visit is None:
        raise Http404("No such visit.")
    return _bill(request, visit)


def _bill(request: ClinicRequest, visit) -> HttpResponse:
    try:
        invoice = services.invoice_draft_for_visit(visit=visit, user=request.user)
    except REFUSALS as error:
        messages.error(request, error_message(error))
        return redirect("front_desk_today", request.clinic.code)
    return redirect(_invoice_url(request, invoice))


# --- Payments, deposits, refunds -------------------------------------------------------------


@require_GET
@clinic_view(Perm.BILLING_VIEW)
def payment_receipt(request: ClinicRequest, payment_id: int) -> HttpResponse:
    payment = selectors.payment_get(clinic=request.clinic, pk=payment_id)
    return pdf.pdf_response(pdf.receipt_pdf_for_request(request, payment=payment), payment.receipt_number)


@require_http_methods(["GET", "POST"])
@clinic_view(Perm.BILLING_REFUND)
def payment_refund(request: ClinicRequest, payment_id: int) -> HttpResponse:
    payment = selectors.payment_get(clinic=request.clinic, pk=payment_id)
    form = RefundForm(request.POST or None, initial={"amount": f"{payment.refundable:.2f}", "method": payment.method})
    if request.method == "POST" and form.is_valid():
        try:
            refund = services.refund_record(payment=payment, user=request.user, membership=request.membership, **form.cleaned_data)
        except REFUSALS as error:
            add_error_to_form(form, error)
        else:
            messages.success(request, f"{request.clinic.currency} {refund.amount} refunded from {payment.receipt_number}.")
            if payment.invoice_id:
                return redirect(_invoice_url(request, payment.invoice))
            return redirect(reverse("patient_chart", args=[request.clinic.code, payment.patient_id]) + "?tab=billing")
    return render(request, "billing/refund_form.html", {"payment": payment, "form": form}, status=422 if form.errors else 200)


@require_http_methods(["GET", "POST"])
@clinic_view(Perm.BILLING_EDIT)
def deposit_new(request: ClinicRequest, patient_id: int) -> HttpResponse:
    patient = patient_get_for_user(user=request.user, clinic=request.clinic, pk=patient_id)
    form = PaymentForm(request.POST or None, initial={"method": Method.CASH})
    form.fields["amount"].initial = ""
    if request.method == "POST" and form.is_valid():
        try:
            deposit = services.deposit_record(clinic=request.clinic, patient=patient, user=request.user, **form.cleaned_data)
        except REFUSALS as error:
            add_error_to_form(form, error)
        else:
            messages.success(request, f"Deposit of {request.clinic.currency} {deposit.amount} received, receipt {deposit.receipt_number}.")
            return redirect(reverse("patient_chart", args=[request.clinic.code, patient.pk]) + "?tab=billing")
    return render(
        request,
        "billing/deposit_form.html",
        {"patient": patient, "form": form, "available": services.deposit_available(patient=patient)},
        status=422 if form.errors else 200,
    )


# --- The chart's Billing tab and the statement ----------------------------------------------------


@require_GET
@clinic_view(Perm.BILLING_VIEW)
def patient_tab_billing(request: ClinicRequest, patient_id: int) -> HttpResponse:
    patient = patient_get_for_user(user=request.user, clinic=request.clinic, pk=patient_id)
    record_read(request, clinic=request.clinic, obj=patient, action="view ledger", patient_id=patient.pk)
    entries, balance = selectors.patient_ledger(patient=patient)
    unbilled = list(
        Visit.objects.for_clinic(request.clinic)
        .filter(patient=patient, status=Visit.Status.COMPLETED)
        .exclude(invoices__status__in=[s for s in Invoice.Status.values if s != Invoice.Status.CANCELLED])
        .select_related("doctor__user")
        .order_by("-started_at")[:5]
    )
    context = {
        "patient": patient,
        "entries": list(reversed(entries)),
        "balance": balance,
        "owed": max(balance, 0),
        "credit": max(-balance, 0),
        "deposit_available": services.deposit_available(patient=patient),
        "drafts": list(selectors.invoice_list(clinic=request.clinic, patient=patient, status=Invoice.Status.DRAFT)[:10]),
        "open_invoices": list(selectors.open_invoices_of_patient(patient=patient)),
        "unbilled_visits": unbilled,
        "today": request.clinic.today(),
    }
    return render(request, "billing/tab_billing.html", context)


@require_GET
@clinic_view(Perm.BILLING_VIEW)
def patient_statement(request: ClinicRequest, patient_id: int) -> HttpResponse:
    patient = patient_get_for_user(user=request.user, clinic=request.clinic, pk=patient_id)
    record_read(request, clinic=request.clinic, obj=patient, action="print statement", patient_id=patient.pk)
    return pdf.pdf_response(pdf.statement_pdf(patient=patient, printed_by=request.user), f"statement-{patient.uhid}")


# --- The day close --------------------------------------------------------------------------------


@require_GET
@clinic_view(Perm.BILLING_VIEW)
def day_close(request: ClinicRequest) -> HttpResponse:
    """Each user's collections of a day by method, for the evening cash count. The front
    desk sees their own; billing officers and administrators everyone's."""
    form = DayCloseForm(request.GET or None)
    today = request.clinic.today()
    day = form.cleaned_data.get("day") if form.is_valid() else None
    day = day or today
    everyone = request.membership.has_perm_in_clinic(Perm.FINANCIALS_VIEW)
    close = selectors.day_close(clinic=request.clinic, day=day, user=None if everyone else request.user)
    nav = {"prev": (day - datetime.timedelta(days=1)).isoformat(), "next": (day + datetime.timedelta(days=1)).isoformat()}
    return render(
        request, "billing/day_close.html", {"form": form, "day": day, "today": today, "close": close, "everyone": everyone, "nav": nav}
    )


# --- The service catalog ---------------------------------------------------------------------------


@require_GET
@clinic_view(Perm.SERVICES_MANAGE)
def service_list(request: ClinicRequest) -> HttpResponse:
    services_qs = selectors.services_of_clinic(clinic=request.clinic)
    return render(request, "billing/service_list.html", {"services": services_qs})


@require_http_methods(["GET", "POST"])
@clinic_view(Perm.SERVICES_MANAGE)
def service_edit(request: ClinicRequest, service_id: int | None = None) -> HttpResponse:
    service = selectors.service_get(clinic=request.clinic, pk=service_id) if service_id else None
    form = ServiceForm(request.POST or None, instance=service, clinic=request.clinic)
    if request.method == "POST" and form.is_valid():
        data = {field: form.cleaned_data[field] for field in form.Meta.fields}
        try:
            saved = services.service_save(clinic=request.clinic, user=request.user, service=service, **data)
        except REFUSALS as error:
            add_error_to_form(form, error)
        else:
            messages.success(request, f"{saved.name} saved.")
            return redirect("service_list", request.clinic.code)
    return render(request, "billing/service_form.html", {"form": form, "service": service}, status=422 if form.errors else 200)
