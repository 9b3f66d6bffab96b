from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HttpResponseClientRedirect

from clinicos.errors import REFUSALS, TransitionNotAllowed, add_error_to_form, error_message
from clinicos.pagination import CachedCountPaginator
from clinicos.redirects import next_url
from clinicos.roles import Perm
from clinicos.tenancy import ClinicRequest, clinic_view
from leads import panels, selectors, services
from leads.forms import ActivityForm, ApiKeyForm, DateRangeForm, LeadFilterForm, LeadForm, MoveForm, OptionForm
from leads.models import LeadApiKey, LeadOption, LeadStatus
from patients.forms import PatientForm

LIST_PAGE_SIZE = 25


def _filters(request: ClinicRequest) -> tuple[LeadFilterForm, dict]:
    form = LeadFilterForm(request.GET or None, clinic=request.clinic)
    return form, (form.cleaned_data if form.is_valid() else {})


@require_GET
@vary_on_headers("HX-Request")
@clinic_view(Perm.LEADS_WORK)
def lead_board(request: ClinicRequest) -> HttpResponse:
    """The pipeline: a column per status, cards that move by drag and drop or "Move to…"."""
    form, filters = _filters(request)
    context = {
        "form": form,
        "columns": selectors.pipeline_board(clinic=request.clinic, filters=filters),
        "statuses": LeadStatus.choices,
        "query": request.GET.urlencode(),
        "now": timezone.now(),
        "can_reopen": _can_reopen(request),
    }
    template = "leads/board.html#board" if request.htmx else "leads/board.html"
    return render(request, template, context, status=400 if form.errors else 200)


@require_GET
@vary_on_headers("HX-Request")
@clinic_view(Perm.LEADS_WORK)
def lead_list(request: ClinicRequest) -> HttpResponse:
    form, filters = _filters(request)
    leads = selectors.leads_filtered(clinic=request.clinic, filters=filters)
    leads = leads.order_by(*selectors.SORTS.get(filters.get("sort") or "newest", selectors.SORTS["newest"]))
    page = CachedCountPaginator(leads, LIST_PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {"form": form, "page": page, "query": query.urlencode(), "now": timezone.now()}
    template = "leads/lead_list.html#results" if request.htmx else "leads/lead_list.html"
    return render(request, template, context, status=400 if form.errors else 200)


@require_http_methods(["GET", "POST"])
@clinic_view(Perm.LEADS_WORK)
def lead_add(request: ClinicRequest) -> HttpResponse:
    """The "Add lead" form: a modal over any leads page (HTMX), or a page of its own."""
    form = LeadForm(request.POST or None, clinic=request.clinic)
    if request.method == "POST" and form.is_valid():
        try:
            lead = services.lead_create(clinic=request.clinic, user=request.user, data=form.cleaned_data)
        except REFUSALS as error:
            add_error_to_form(form, error)
        else:
            messages.success(request, _added_message(lead))
            target = reverse("lead_detail", args=[request.clinic.code, lead.pk])
            return HttpResponseClientRedirect(target) if request.htmx else redirect(target)
    template = "leads/lead_add.html#lead-form" if request.htmx else "leads/lead_add.html"
    return render(request, template, {"form": form}, status=400 if form.errors else 200)


def _added_message(lead) -> str:
    if lead.duplicate_of_patient_id:
        return f"{lead.name} was added — note: this phone belongs to patient {lead.duplicate_of_patient}."
    if lead.duplicate_of_lead_id:
        return f"{lead.name} was added — note: this phone matches an open lead ({lead.duplicate_of_lead.name})."
    return f"{lead.name} was added as a new inquiry."


@require_GET
@clinic_view(Perm.LEADS_WORK)
def lead_detail(request: ClinicRequest, lead_id: int) -> HttpResponse:
    lead = selectors.lead_get(clinic=request.clinic, pk=lead_id)
    context = {
        "lead": lead,
        "activities": lead.activities.select_related("created_by")[:200],
        "moves": [
            (s, LeadStatus(s).label)
            for s in services.ALLOWED_MOVES[lead.status]
            if s != LeadStatus.CONVERTED and (lead.status != LeadStatus.LOST or _can_reopen(request))
        ],
        "can_convert": services.can_move(lead.status, LeadStatus.CONVERTED),
        "move_form": MoveForm(clinic=request.clinic),
        "activity_form": ActivityForm(),
        "now": timezone.now(),
        "panels": panels.panels_for(request.membership, lead) if lead.is_open else [],
        "may_open_chart": request.membership.has_perm_in_clinic(Perm.PATIENTS_VIEW),
    }
    return render(request, "leads/lead_detail.html", context)


@require_http_methods(["GET", "POST"])
@clinic_view(Perm.LEADS_WORK)
def lead_edit(request: ClinicRequest, lead_id: int) -> HttpResponse:
    lead = selectors.lead_get(clinic=request.clinic, pk=lead_id)
    form = LeadForm(request.POST or None, instance=lead, clinic=request.clinic)
    if request.method == "POST" and form.is_valid():
        try:
            services.lead_update(lead=lead, changes={f: form.cleaned_data[f] for f in form.changed_data})
        except REFUSALS as error:
            add_error_to_form(form, error)
        else:
            messages.success(request, "The lead was saved.")
            return redirect("lead_detail", request.clinic.code, lead.pk)
    return render(request, "leads/lead_edit.html", {"form": form, "lead": lead}, status=400 if form.errors else 200)


@require_POST
@clinic_view(Perm.LEADS_WORK)
def lead_move(request: ClinicRequest, lead_id: int) -> HttpResponse:
    """Move a lead (from its page, a card's "Move to…" or a drag on the board)."""
    lead = selectors.lead_get(clinic=request.clinic, pk=lead_id)
    form = MoveForm(request.POST, clinic=request.clinic)
    problem = None
    if not form.is_valid():
        problem = "; ".join(str(msg) for errors in form.errors.values() for msg in errors)
    else:
        try:
            moved = services.lead_move(
                lead=lead,
                to_status=form.cleaned_data["to_status"],
                user=request.user,
                membership=request.membership,
                note=form.cleaned_data["note"],
                lost_reason=form.cleaned_data["lost_reason"],
                cro=form.cleaned_data["cro"],
            )
        except REFUSALS as refused:
            problem = error_message(refused)
        else:
            messages.success(request, f"{moved.name} is now “{moved.get_status_display()}”.")
    if problem:
        messages.error(request, problem)
    if request.htmx and request.POST.get("from") == "board":
        return _board_partial(request, status=409 if problem else 200)
    return redirect(next_url(request, reverse("lead_detail", args=[request.clinic.code, lead.pk])))


def _can_reopen(request: ClinicRequest) -> bool:
    return request.membership.has_perm_in_clinic(Perm.LEADS_REOPEN)


def _board_partial(request: ClinicRequest, status: int) -> HttpResponse:
    filters_form = LeadFilterForm(request.GET or None, clinic=request.clinic)
    filters = filters_form.cleaned_data if filters_form.is_valid() else {}
    context = {
        "columns": selectors.pipeline_board(clinic=request.clinic, filters=filters),
        "statuses": LeadStatus.choices,
        "now": timezone.now(),
        "board_messages": True,
        "can_reopen": _can_reopen(request),
    }
    return render(request, "leads/board.html#board", context, status=status)


@require_POST
@clinic_view(Perm.LEADS_WORK)
def lead_log_activity(request: ClinicRequest, lead_id: int) -> HttpResponse:
    lead = selectors.lead_get(clinic=request.clinic, pk=lead_id)
    form = ActivityForm(request.POST)
    if form.is_valid():
        try:
            services.lead_log_activity(lead=lead, user=request.user, **form.cleaned_data)
        except REFUSALS as error:
            messages.error(request, error_message(error))
        else:
            messages.success(request, "Logged.")
    else:
        messages.error(request, "Please check the call or note: " + "; ".join(str(m) for e in form.errors.values() for m in e))
    return redirect("lead_detail", request.clinic.code, lead.pk)


@require_http_methods(["GET", "POST"])
@clinic_view(Perm.LEADS_WORK)
def lead_convert(request: ClinicRequest, lead_id: int) -> HttpResponse:
    """Registration form pre-filled from the lead; saving creates the patient and marks the
    lead Converted in one transaction."""
    lead = selectors.lead_get(clinic=request.clinic, pk=lead_id)
    if lead.converted_patient_id:
        messages.info(request, "This lead was already converted.")
        return _after_conversion(request, lead)
    initial = {k: v for k, v in services.registration_defaults(lead).items() if v not in (None, "")}
    form = PatientForm(request.POST or None, clinic=request.clinic, initial=initial)
    if not request.membership.has_perm_in_clinic(Perm.NATIONAL_ID_RECORD):
        del form.fields["national_id"]  # the front desk records it at the first visit
    if request.method == "POST" and form.is_valid():
        try:
            result = services.lead_convert(
                lead=lead,
                user=request.user,
                registration=form.patient_data(),
                national_id=form.cleaned_data.get("national_id"),
                membership=request.membership,
            )
        except services.AlreadyConverted:
            lead.refresh_from_db()
            messages.info(request, "This lead was already converted.")
            return _after_conversion(request, lead)
        except TransitionNotAllowed as refused:
            messages.error(request, str(refused))
            return redirect("lead_detail", request.clinic.code, lead.pk)
        except REFUSALS as error:
            add_error_to_form(form, error)
        else:
            messages.success(request, f"{result.patient.full_name} is now a patient: {result.patient.uhid}.")
            return _after_conversion(request, result.lead)
    return render(request, "leads/lead_convert.html", {"form": form, "lead": lead}, status=400 if form.errors else 200)


def _after_conversion(request: ClinicRequest, lead) -> HttpResponse:
    """The new patient's chart for those who may open it; a CRO (who may not) stays on the
    lead, which names the patient it became."""
    if request.membership.has_perm_in_clinic(Perm.PATIENTS_VIEW):
        return redirect("patient_chart", request.clinic.code, lead.converted_patient_id)
    return redirect("lead_detail", request.clinic.code, lead.pk)


@require_GET
@clinic_view(Perm.LEADS_WORK)
def cro_queue(request: ClinicRequest) -> HttpResponse:
    return render(request, "leads/cro_queue.html", {"queues": selectors.cro_queue(clinic=request.clinic)})


@require_GET
@clinic_view(Perm.LEADS_WORK)
def follow_ups(request: ClinicRequest) -> HttpResponse:
    today = request.clinic.today()
    return render(request, "leads/follow_ups.html", {"leads": selectors.follow_ups_due(clinic=request.clinic, day=today), "today": today})


@require_GET
@clinic_view(Perm.LEADS_WORK)
def lead_dashboard(request: ClinicRequest) -> HttpResponse:
    form = DateRangeForm(request.GET or None)
    dates = form.cleaned_data if form.is_valid() else {}
    stats = selectors.dashboard_stats(clinic=request.clinic, date_from=dates.get("date_from"), date_to=dates.get("date_to"))
    funnel = selectors.dashboard_funnel(clinic=request.clinic, date_from=dates.get("date_from"), date_to=dates.get("date_to"))
    widest = max([row["count"] for row in funnel["by_stage_reached"]] + [1])
    context = {
        "form": form,
        "stats": stats,
        "funnel": funnel,
        "widest": widest,
        "widest_source": max([row["count"] for row in stats["by_source"]] + [1]),
    }
    return render(request, "leads/dashboard.html", context, status=400 if form.errors else 200)


@require_http_methods(["GET", "POST"])
@clinic_view(Perm.SETTINGS_MANAGE)
def lead_settings(request: ClinicRequest) -> HttpResponse:
    """Lead sources and inquiry types, and the website's API keys."""
    option_form = OptionForm(request.POST if request.POST.get("form") == "option" else None)
    key_form = ApiKeyForm(request.POST if request.POST.get("form") == "key" else None)
    new_key = None
    if request.method == "POST":
        if request.POST.get("form") == "option" and option_form.is_valid():
            try:
                services.lead_option_add(clinic=request.clinic, **option_form.cleaned_data)
            except REFUSALS as error:
                add_error_to_form(option_form, error)
            else:
                messages.success(request, "The option was added.")
                return redirect("lead_settings", request.clinic.code)
        elif request.POST.get("form") == "key" and key_form.is_valid():
            key, new_key = services.api_key_create(clinic=request.clinic, user=request.user, **key_form.cleaned_data)
            key_form = ApiKeyForm()
    options = services.lead_options_by_kind(clinic=request.clinic)
    context = {
        "option_form": option_form,
        "key_form": key_form,
        "new_key": new_key,
        "sources": options[LeadOption.Kind.SOURCE],
        "inquiries": options[LeadOption.Kind.INQUIRY],
        "keys": LeadApiKey.objects.for_clinic(request.clinic).select_related("created_by"),
    }
    has_errors = option_form.errors or key_form.errors
    return render(request, "leads/lead_settings.html", context, status=400 if has_errors else 200)


@require_POST
@clinic_view(Perm.SETTINGS_MANAGE)
def api_key_revoke(request: ClinicRequest, key_id: int) -> HttpResponse:
    key = selectors.api_key_get(clinic=request.clinic, pk=key_id)
    services.api_key_revoke(key=key)
    messages.success(request, f"The key “{key.name}” was revoked: the website can no longer send leads with it.")
    return redirect("lead_settings", request.clinic.code)
