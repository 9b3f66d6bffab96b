"""Between visits, for the front desk and the CRO: the recall list, the waitlist, and the
chart's Messages tab (what was sent, and how the patient wants to hear from the clinic)."""

import datetime

from django.contrib import messages as flash
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from clinicos.errors import REFUSALS, add_error_to_form, error_message
from clinicos.messaging import selectors as messaging_selectors
from clinicos.roles import Perm
from clinicos.tenancy import ClinicRequest, clinic_view
from patients import services as patient_services
from patients.selectors import patient_get_for_user
from scheduling.forms import MessagePreferencesForm, RecallForm, WaitlistForm
from scheduling.models import Recall, WaitlistEntry
from scheduling.services import recalls, waitlist

PAGE_SIZE = 50
RECALL_VIEWS = {"week": "Due this week", "overdue": "Overdue", "open": "All open", "closed": "Closed"}


def _recalls_shown(request: ClinicRequest, view: str):
    today = request.clinic.today()
    found = Recall.objects.for_clinic(request.clinic).select_related("patient", "doctor__user").prefetch_related("attempts")
    if view == "closed":
        return found.exclude(status=Recall.Status.OPEN).order_by("-closed_at", "-id")
    found = found.filter(status=Recall.Status.OPEN)
    if view == "week":
        return found.filter(due_date__gte=today, due_date__lte=today + datetime.timedelta(days=7))
    if view == "overdue":
        return found.filter(due_date__lt=today)
    return found


@require_http_methods(["GET", "POST"])
@clinic_view(Perm.RECALLS_WORK)
def recall_list(request: ClinicRequest) -> HttpResponse:
    view = request.GET.get("view", "week") if request.GET.get("view", "week") in RECALL_VIEWS else "week"
    form = RecallForm(request.POST or None, clinic=request.clinic, initial={"uhid": request.GET.get("uhid", "")})
    if request.method == "POST" and form.is_valid():
        data = recalls.RecallInput(
            patient=form.cleaned_data["uhid"],
            due_date=form.cleaned_data["due_date"],
            reason=form.cleaned_data["reason"],
            doctor=form.cleaned_data["doctor"],
        )
        try:
            recall = recalls.recall_create(clinic=request.clinic, data=data, user=request.user)
        except REFUSALS as error:
            add_error_to_form(form, error)
        else:
            flash.success(request, f"{recall.patient.full_name} is on the recall list, due by {recall.due_date:%d %b %Y}.")
            return redirect(f"{request.path}?view=open")
    page = Paginator(_recalls_shown(request, view), PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"page": page, "view": view, "views": RECALL_VIEWS, "form": form, "today": request.clinic.today()}
    return render(request, "scheduling/recall_list.html", context, status=422 if form.errors else 200)


def _recalls_url(request: ClinicRequest) -> str:
    view = request.POST.get("view", "week")
    return f"/c/{request.clinic.code}/schedule/recalls/?view={view if view in RECALL_VIEWS else 'week'}"


@require_POST
@clinic_view(Perm.RECALLS_WORK)
def recall_send(request: ClinicRequest) -> HttpResponse:
    """Send the recall message to the recalls ticked (or the one whose button was pressed)."""
    ids = [int(value) for value in request.POST.getlist("recall") if value.isdigit()]
    chosen = list(Recall.objects.for_clinic(request.clinic).filter(pk__in=ids))
    if not chosen:
        flash.error(request, "Tick the patients to send a recall to.")
    else:
        sent = recalls.recalls_send(clinic=request.clinic, recalls=chosen, user=request.user)
        skipped = len(chosen) - sent
        flash.success(
            request,
            f"Recall sent to {sent} patient{'s' if sent != 1 else ''}."
            + (f" {skipped} already had one today or cannot be reached." if skipped else ""),
        )
    return redirect(_recalls_url(request))


@require_POST
@clinic_view(Perm.RECALLS_WORK)
def recall_update(request: ClinicRequest, recall_id: int) -> HttpResponse:
    recall = get_object_or_404(Recall.objects.for_clinic(request.clinic), pk=recall_id)
    action = request.POST.get("action")
    changes = (
        recalls.RecallChanges(call_note=request.POST.get("note", "") or "Called")
        if action == "call"
        else recalls.RecallChanges(status=Recall.Status.CLOSED, closed_reason=request.POST.get("note", ""))
        if action == "close"
        else recalls.RecallChanges(status=Recall.Status.OPEN)
    )
    try:
        recalls.recall_update(recall=recall, changes=changes, user=request.user)
    except REFUSALS as error:
        flash.error(request, error_message(error))
    else:
        flash.success(request, {"call": "Call logged.", "close": "Recall closed."}.get(action or "", "Recall reopened."))
    return redirect(_recalls_url(request))


@require_http_methods(["GET", "POST"])
@clinic_view(Perm.RECALLS_WORK)
def waitlist_list(request: ClinicRequest) -> HttpResponse:
    form = WaitlistForm(
        request.POST or None, clinic=request.clinic, initial={"uhid": request.GET.get("uhid", ""), "earliest_date": request.clinic.today()}
    )
    if request.method == "POST" and form.is_valid():
        data = waitlist.WaitlistInput(
            patient=form.cleaned_data["uhid"],
            doctor=form.cleaned_data["doctor"],
            department=form.cleaned_data["department"],
            earliest_date=form.cleaned_data["earliest_date"],
            latest_date=form.cleaned_data["latest_date"],
            part_of_day=form.cleaned_data["part_of_day"],
            urgent=form.cleaned_data["urgent"],
            note=form.cleaned_data["note"],
        )
        try:
            entry = waitlist.waitlist_add(clinic=request.clinic, data=data, user=request.user)
        except REFUSALS as error:
            add_error_to_form(form, error)
        else:
            flash.success(request, f"{entry.patient.full_name} is on the waitlist: freed times will be offered to them.")
            return redirect("waitlist_list", request.clinic.code)
    entries = (
        WaitlistEntry.objects.for_clinic(request.clinic)
        .filter(status=WaitlistEntry.Status.WAITING)
        .select_related("patient", "doctor__user", "department")
        .prefetch_related("offers")
    )
    page = Paginator(entries, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "scheduling/waitlist_list.html", {"page": page, "form": form}, status=422 if form.errors else 200)


@require_POST
@clinic_view(Perm.RECALLS_WORK)
def waitlist_remove(request: ClinicRequest, waitlist_id: int) -> HttpResponse:
    entry = get_object_or_404(WaitlistEntry.objects.for_clinic(request.clinic).select_related("patient"), pk=waitlist_id)
    try:
        waitlist.waitlist_remove(entry=entry)
    except REFUSALS as error:
        flash.error(request, error_message(error))
    else:
        flash.success(request, f"{entry.patient.full_name} is off the waitlist.")
    return redirect("waitlist_list", request.clinic.code)


@require_GET
@clinic_view(Perm.MESSAGES_VIEW)
def patient_tab_messages(request: ClinicRequest, patient_id: int) -> HttpResponse:
    """The chart's Messages tab: how the patient wants to hear from the clinic, and what was sent."""
    if not request.membership.has_perm_in_clinic(Perm.PATIENTS_VIEW):
        raise PermissionDenied("Your role in this clinic does not allow this.")
    patient = patient_get_for_user(user=request.user, clinic=request.clinic, pk=patient_id)
    return _messages_tab(request, patient, MessagePreferencesForm(instance=patient))


def _messages_tab(request: ClinicRequest, patient, form, status: int = 200, saved: bool = False) -> HttpResponse:
    shown = messaging_selectors.messages_of_clinic(clinic=request.clinic, patient_id=patient.pk)[:100]
    next_url = f"/c/{request.clinic.code}/patients/{patient.pk}/?tab=messages"
    context = {"patient": patient, "form": form, "messages_shown": shown, "next": next_url, "saved": saved}
    return render(request, "scheduling/tab_messages.html", context, status=status)


@require_POST
@clinic_view(Perm.PATIENTS_EDIT)
def patient_message_preferences(request: ClinicRequest, patient_id: int) -> HttpResponse:
    patient = patient_get_for_user(user=request.user, clinic=request.clinic, pk=patient_id)
    form = MessagePreferencesForm(request.POST, instance=patient)
    if form.is_valid():
        patient_services.message_preferences_set(
            patient=patient,
            changes={name: form.cleaned_data[name] for name in form.Meta.fields},
            reason="Message preferences changed at the desk",
        )
        patient.refresh_from_db()
        return _messages_tab(request, patient, MessagePreferencesForm(instance=patient), saved=True)
    return _messages_tab(request, patient, form, status=422)
