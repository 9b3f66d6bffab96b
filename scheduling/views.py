import datetime

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HttpResponseClientRedirect, HttpResponseLocation

from clinicos.dates import parse_day
from clinicos.errors import REFUSALS, add_error_to_form, error_message
from clinicos.messaging import selectors as messaging_selectors
from clinicos.models import DoctorProfile
from clinicos.redirects import next_url
from clinicos.roles import Perm, Role
from clinicos.scoping import enter_clinic_scope
from clinicos.tenancy import ClinicRequest, clinic_view
from patients.selectors import patient_get_for_user, quick_search
from scheduling import selectors, services
from scheduling.forms import BookingForm, ExceptionForm, RescheduleForm, WorkingHoursForm
from scheduling.models import Appointment, AppointmentStatus


def _today(request: ClinicRequest) -> datetime.date:
    return request.clinic.today()


def _nav(day: datetime.date, step: int) -> dict:
    return {"prev": (day - datetime.timedelta(days=step)).isoformat(), "next": (day + datetime.timedelta(days=step)).isoformat()}


@require_GET
@clinic_view(Perm.SCHEDULE_VIEW)
def calendar_day(request: ClinicRequest) -> HttpResponse:
    """The day: a column per doctor, in the doctor's colour, availability shaded."""
    day, date_problem = _day_asked(request)
    all_doctors = selectors.calendar_doctors(clinic=request.clinic)
    # ``?department=``: only that department's doctors (a big clinic's day has forty columns).
    departments = sorted({d.department for d in all_doctors if d.department}, key=lambda department: department.name)
    department = next((d for d in departments if str(d.pk) == request.GET.get("department", "")), None)
    doctors = [d for d in all_doctors if department is None or d.department_id == department.pk]
    context = {
        "view": "day",
        "departments": departments,
        "department": department,
        "date_problem": date_problem,
        "day": day,
        "today": _today(request),
        "nav": _nav(day, 1),
        "doctors": doctors,
        **selectors.calendar(clinic=request.clinic, days=[day], doctors=doctors),
    }
    return _calendar_page(request, context)


@require_GET
@clinic_view(Perm.SCHEDULE_VIEW)
def calendar_week(request: ClinicRequest) -> HttpResponse:
    """One doctor's week (Monday to Sunday)."""
    day, date_problem = _day_asked(request)
    monday = day - datetime.timedelta(days=day.weekday())
    doctors = selectors.calendar_doctors(clinic=request.clinic)
    if not doctors:
        raise Http404("No doctors yet.")
    chosen = request.GET.get("doctor") or (
        request.membership.has_role(Role.DOCTOR) and next((str(d.pk) for d in doctors if d.user_id == request.user.pk), None)
    )
    doctor = next((d for d in doctors if str(d.pk) == str(chosen)), doctors[0])
    days = [monday + datetime.timedelta(days=n) for n in range(7)]
    context = {
        "view": "week",
        "date_problem": date_problem,
        "day": day,
        "today": _today(request),
        "nav": _nav(day, 7),
        "doctor": doctor,
        "doctors": doctors,
        **selectors.calendar(clinic=request.clinic, days=days, doctors=[doctor]),
    }
    return _calendar_page(request, context)


@require_GET
@clinic_view(Perm.SCHEDULE_VIEW)
def calendar_resources(request: ClinicRequest) -> HttpResponse:
    day, date_problem = _day_asked(request)
    resources = selectors.calendar_resources(clinic=request.clinic)
    context = {
        "view": "resources",
        "date_problem": date_problem,
        "day": day,
        "today": _today(request),
        "nav": _nav(day, 1),
        "doctors": [],
        **selectors.calendar(clinic=request.clinic, days=[day], resources=resources),
    }
    return _calendar_page(request, context)


def _day_asked(request: ClinicRequest) -> tuple[datetime.date, str | None]:
    return parse_day(request.GET.get("date"), _today(request))


def _calendar_page(request: ClinicRequest, context: dict) -> HttpResponse:
    """The calendar; a ``?date=`` it could not use shows today, says why, and answers 400."""
    return render(request, "scheduling/calendar.html", context, status=400 if context["date_problem"] else 200)


@require_http_methods(["GET", "POST"])
@clinic_view(Perm.SCHEDULE_BOOK)
def appointment_new(request: ClinicRequest) -> HttpResponse:
    """Book: from an empty calendar slot (a modal), a patient's chart or a lead's page."""
    initial = {
        "date": request.GET.get("date") or _today(request).isoformat(),
        "time": request.GET.get("time"),
        "doctor": request.GET.get("doctor"),
        "duration_minutes": services.DEFAULT_MINUTES,
    }
    initial.update(
        selectors.booking_prefill(clinic=request.clinic, patient_id=request.GET.get("patient", ""), lead_id=request.GET.get("lead", ""))
    )
    form = BookingForm(request.POST or None, clinic=request.clinic, initial=initial)
    next_free = []
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            booking = services.appointment_book(
                clinic=request.clinic,
                user=request.user,
                membership=request.membership,
                doctor=data["doctor"],
                start=data["start"],
                duration_minutes=data["duration_minutes"],
                type=data["type"],
                reason=data["reason"],
                patient=data["patient"],
                lead=data["lead_obj"],
                walk_in=data["walk_in"],
                resource=data["resource"],
                override_reason=data["override_reason"],
            )
        except services.SlotTaken as taken:
            form.add_error(None, str(taken))
            next_free = taken.next_free
        except REFUSALS as error:
            add_error_to_form(form, error)
        else:
            appointment = booking.appointment
            messages.success(
                request,
                f"Booked {appointment.reference}: {appointment.who}, "
                f"{timezone.localtime(appointment.starts_at):%a %d %b %H:%M} with {appointment.doctor}.",
            )
            for warning in booking.warnings:
                messages.warning(request, warning)
            target = reverse("calendar_day", args=[request.clinic.code]) + f"?date={data['date'].isoformat()}"
            return HttpResponseClientRedirect(target) if request.htmx else redirect(target)
    template = "scheduling/appointment_form.html#booking-form" if request.htmx else "scheduling/appointment_form.html"
    status = 409 if next_free else (400 if form.errors else 200)
    context = {"form": form, "next_free": next_free, **_patient_picks(request, form)}
    return render(request, template, context, status=status)


def _patient_picks(request: ClinicRequest, form: BookingForm) -> dict:
    """The matches of what was typed in "Find the patient", the one picked (or the only
    match, or the exact UHID) ticked, so a form coming back with an error keeps them."""
    typed = (form["patient_uhid"].value() or "").strip()[:100]
    picks = quick_search(user=request.user, clinic=request.clinic, query=typed) if typed else []
    chosen = str(form["patient"].value() or "")
    if not chosen and picks and (len(picks) == 1 or picks[0].uhid == typed.upper()):
        chosen = str(picks[0].pk)
    return {"picks": picks, "picked": chosen, "query": typed}


@require_GET
@clinic_view(Perm.SCHEDULE_BOOK)
def booking_patient_picks(request: ClinicRequest) -> HttpResponse:
    """The booking modal's patient matches as the receptionist types (an HTMX fragment)."""
    form = BookingForm(data=None, clinic=request.clinic, initial={"patient_uhid": request.GET.get("patient_uhid", "")})
    return render(request, "scheduling/_patient_picks.html", _patient_picks(request, form))


@require_GET
@vary_on_headers("HX-Request")
@clinic_view(Perm.SCHEDULE_VIEW)
def appointment_detail(request: ClinicRequest, appointment_id: int) -> HttpResponse:
    appointment = selectors.appointment_get(clinic=request.clinic, pk=appointment_id)
    local = timezone.localtime(appointment.starts_at)
    context = {
        "appointment": appointment,
        "moves": [(s, AppointmentStatus(s).label) for s in services.ALLOWED_MOVES[appointment.status]],
        "reschedule_form": RescheduleForm(
            clinic=request.clinic,
            initial={
                "doctor": appointment.doctor_id,
                "date": local.date(),
                "time": local.time(),
                "duration_minutes": appointment.duration_minutes,
            },
        ),
        "can_reschedule": appointment.status in services.PRE_ARRIVAL,
        "appointment_messages": _messages_of(request, appointment),
    }
    template = "scheduling/appointment_detail.html#detail" if request.htmx else "scheduling/appointment_detail.html"
    return render(request, template, context)


def _messages_of(request: ClinicRequest, appointment: Appointment) -> list:
    if not request.membership.has_perm_in_clinic(Perm.MESSAGES_VIEW):
        return []
    return list(messaging_selectors.messages_of_clinic(clinic=request.clinic, subject=("appointment", appointment.pk))[:50])


@require_POST
@clinic_view(Perm.SCHEDULE_BOOK)
def appointment_move(request: ClinicRequest, appointment_id: int) -> HttpResponse:
    """Reschedule (the form in the appointment, or a drag on the calendar)."""
    appointment = selectors.appointment_get(clinic=request.clinic, pk=appointment_id)
    form = RescheduleForm(request.POST, clinic=request.clinic)
    problem = None
    if not form.is_valid():
        problem = "; ".join(str(m) for errors in form.errors.values() for m in errors)
    else:
        data = form.cleaned_data
        try:
            services.appointment_reschedule(
                appointment=appointment,
                user=request.user,
                membership=request.membership,
                start=data["start"],
                duration_minutes=data["duration_minutes"],
                doctor=data["doctor"],
                override_reason=data["override_reason"],
            )
        except services.SlotTaken as taken:
            free = ", ".join(f"{timezone.localtime(s['start']):%H:%M}" for s in taken.next_free[:3])
            problem = f"{taken} Next free: {free or 'none in the next two weeks'}."
        except REFUSALS as refused:
            problem = error_message(refused)
        else:
            messages.success(request, f"{appointment.reference} moved to {data['start']:%a %d %b %H:%M}.")
    if problem:
        messages.error(request, problem)
    target = next_url(request, reverse("calendar_day", args=[request.clinic.code]))
    return HttpResponseClientRedirect(target) if request.htmx else redirect(target)


@require_POST
@clinic_view(Perm.SCHEDULE_CHECK_IN)
def appointment_status(request: ClinicRequest, appointment_id: int) -> HttpResponse:
    """One tap: Confirmed, Arrived, Checked-in, No-show… (Cancelled needs a reason)."""
    appointment = selectors.appointment_get(clinic=request.clinic, pk=appointment_id)
    try:
        updated = services.appointment_set_status(
            appointment=appointment, to_status=request.POST.get("status", ""), user=request.user, reason=request.POST.get("reason", "")
        )
    except REFUSALS as refused:
        messages.error(request, error_message(refused))
    else:
        messages.success(request, f"{updated.who}: {updated.get_status_display()}.")
    target = next_url(request, reverse("front_desk_today", args=[request.clinic.code]))
    if request.htmx and request.htmx.target == "today-board":
        # Today's board is fetched again and swapped in place: the list keeps its page and
        # its scroll, the row shows its new status and the waiting room its new patient.
        return HttpResponseLocation(target, target="#today-board", swap="outerHTML")
    return HttpResponseClientRedirect(target) if request.htmx else redirect(target)


@require_GET
@vary_on_headers("HX-Request")
@clinic_view(Perm.SCHEDULE_VIEW)
def front_desk_today(request: ClinicRequest) -> HttpResponse:
    """Arrivals with one-tap actions, and the waiting room; refreshes itself. ``?status=``
    or ``?walk_ins=1`` narrow the arrivals (the dashboard's figures link here)."""
    today = _today(request)
    appointments = selectors.day_list(clinic=request.clinic, day=today)
    status = request.GET.get("status", "")
    showing = ""
    if status in AppointmentStatus.values:
        appointments = appointments.filter(status=status)
        showing = AppointmentStatus(status).label
    elif request.GET.get("walk_ins") == "1":
        appointments = appointments.filter(lead__isnull=True).exclude(walk_in_name="")
        showing = "Walk-ins"
    now = timezone.now()
    filters = request.GET.copy()
    filters.pop("page", None)
    context = {
        "today": today,
        "page": selectors.arrivals_page(appointments, page=request.GET.get("page"), now=now),
        "query": filters.urlencode(),
        "waiting": selectors.waiting_room(clinic=request.clinic, limit=selectors.WAITING_SHOWN),
        "waiting_count": selectors.waiting_count(clinic=request.clinic),
        "check_in_statuses": [status.value for status in (*services.PRE_ARRIVAL, AppointmentStatus.ARRIVED)],
        "now": now,
        "showing": showing,
        "board_url": request.get_full_path(),
    }
    template = "scheduling/today.html#board" if request.htmx else "scheduling/today.html"
    return render(request, template, context)


@require_GET
@vary_on_headers("HX-Request")
@clinic_view(Perm.SCHEDULE_VIEW)
def my_schedule(request: ClinicRequest) -> HttpResponse:
    """A doctor's day and the next patient, updating by itself when someone checks in."""
    doctor = selectors.doctor_profile_of(clinic=request.clinic, user=request.user)
    today = _today(request)
    appointments = list(selectors.day_list(clinic=request.clinic, day=today, doctor=doctor)) if doctor else []
    waiting = selectors.waiting_room(clinic=request.clinic, doctor=doctor) if doctor else []
    context = {
        "doctor": doctor,
        "today": today,
        "appointments": appointments,
        "waiting": waiting,
        "next_patient": waiting[0] if waiting else None,
        "now": timezone.now(),
    }
    template = "scheduling/my_schedule.html#mine" if request.htmx else "scheduling/my_schedule.html"
    return render(request, template, context)


def _editable_doctor(request: ClinicRequest) -> DoctorProfile | None:
    """Whose availability this user may edit: anyone's with AVAILABILITY_EDIT_ANY, else
    their own (None: they have no doctor profile)."""
    any_doctor = request.membership.has_perm_in_clinic(Perm.AVAILABILITY_EDIT_ANY)
    doctors = selectors.doctors_editable_by(clinic=request.clinic, user=request.user, any_doctor=any_doctor)
    chosen = request.GET.get("doctor") or request.POST.get("doctor")
    return doctors.filter(pk=chosen).first() if chosen and str(chosen).isdigit() else doctors.first()


@require_http_methods(["GET", "POST"])
@clinic_view(Perm.AVAILABILITY_EDIT)
def availability(request: ClinicRequest) -> HttpResponse:
    doctor = _editable_doctor(request)
    if doctor is None:
        if request.method == "POST":
            raise PermissionDenied("You have no doctor profile in this clinic.")
        return render(request, "scheduling/availability.html", {"doctor": None})
    hours_form = WorkingHoursForm(request.POST if request.POST.get("form") == "hours" else None)
    exception_form = ExceptionForm(request.POST if request.POST.get("form") == "exception" else None)
    if request.method == "POST":
        try:
            if request.POST.get("form") == "hours" and hours_form.is_valid():
                services.working_hours_add(doctor=doctor, **hours_form.cleaned_data)
                messages.success(request, "Working hours added.")
                return redirect(f"{reverse('availability', args=[request.clinic.code])}?doctor={doctor.pk}")
            if request.POST.get("form") == "exception" and exception_form.is_valid():
                services.exception_add(clinic=request.clinic, doctor=doctor, **exception_form.cleaned_data)
                messages.success(request, "Saved.")
                return redirect(f"{reverse('availability', args=[request.clinic.code])}?doctor={doctor.pk}")
            if request.POST.get("form") == "remove":
                block_id = request.POST.get("block", "")
                if not block_id.isdigit():
                    return HttpResponseBadRequest("Choose the block to remove.")
                services.working_hours_remove(block=selectors.working_hours_block_get(clinic=request.clinic, doctor=doctor, pk=block_id))
                messages.success(request, "Block removed.")
                return redirect(f"{reverse('availability', args=[request.clinic.code])}?doctor={doctor.pk}")
        except REFUSALS as error:
            target = hours_form if request.POST.get("form") == "hours" else exception_form
            add_error_to_form(target, error)
    is_admin = request.membership.has_perm_in_clinic(Perm.AVAILABILITY_EDIT_ANY)
    context = {
        "doctor": doctor,
        "doctors": selectors.doctors_editable_by(clinic=request.clinic, user=request.user, any_doctor=True) if is_admin else [doctor],
        **selectors.availability_of(clinic=request.clinic, doctor=doctor, today=_today(request)),
        "hours_form": hours_form,
        "exception_form": exception_form,
    }
    return render(request, "scheduling/availability.html", context, status=400 if hours_form.errors or exception_form.errors else 200)


@require_POST
@clinic_view(Perm.CALENDAR_FEED)
def calendar_feed_renew(request: ClinicRequest) -> HttpResponse:
    doctor = selectors.doctor_profile_of(clinic=request.clinic, user=request.user)
    if doctor is None:
        messages.error(request, "You have no doctor profile in this clinic yet: ask the administrator.")
        return redirect("my_schedule", request.clinic.code)
    if request.POST.get("action") == "revoke":
        services.calendar_feed_revoke(doctor=doctor)
        messages.success(request, "Your calendar feed was turned off; the old address no longer works.")
        return redirect("my_schedule", request.clinic.code)
    raw = services.calendar_feed_renew(doctor=doctor)
    url = request.build_absolute_uri(reverse("calendar_feed", args=[raw]))
    messages.success(request, f"Your calendar address (keep it private; older addresses stop working): {url}")
    return redirect("my_schedule", request.clinic.code)


@require_GET
def calendar_feed(request, token: str) -> HttpResponse:
    """The doctor's appointments as iCalendar, for a phone's calendar app (secret URL)."""
    doctor = services.calendar_feed_doctor(raw=token)
    if doctor is None:
        raise Http404
    clinic = doctor.clinic
    enter_clinic_scope(request, clinic)  # the token decided the clinic
    appointments = selectors.feed_appointments(clinic=clinic, doctor=doctor)
    response = HttpResponse(
        services.ical_feed_text(clinic=clinic, doctor=doctor, appointments=appointments), content_type="text/calendar; charset=utf-8"
    )
    response["Cache-Control"] = "private, no-store"
    return response


@require_GET
@clinic_view(Perm.SCHEDULE_VIEW)
def patient_tab_appointments(request: ClinicRequest, patient_id: int) -> HttpResponse:
    """The chart's Appointments tab (registered through the patients' tab slots)."""
    patient = patient_get_for_user(user=request.user, clinic=request.clinic, pk=patient_id)
    upcoming, past = selectors.appointments_of_patient(clinic=request.clinic, patient=patient)
    context = {"patient": patient, "upcoming": upcoming, "past": past}
    return render(request, "scheduling/tab_appointments.html", context)


@require_http_methods(["GET", "POST"])
@clinic_view(Perm.SCHEDULE_BOOK_LEADS)
def lead_instant_booking(request: ClinicRequest, lead_id: int) -> HttpResponse:
    """On a lead's page: the first free slot today, booked with one click."""
    from leads.selectors import lead_get

    lead = lead_get(clinic=request.clinic, pk=lead_id)
    booked = selectors.upcoming_appointment_of_lead(clinic=request.clinic, lead=lead)
    if request.method == "POST" and booked is None and lead.is_open:
        doctor = selectors.doctor_get(clinic=request.clinic, pk=request.POST.get("doctor", ""))
        try:
            start = datetime.datetime.fromisoformat(request.POST.get("start", ""))
            booking = services.appointment_book(
                clinic=request.clinic,
                user=request.user,
                membership=request.membership,
                doctor=doctor,
                start=start,
                lead=lead,
                type="consultation",
                reason=f"Enquiry: {lead.inquiry}",
                booked_via=Appointment.BookedVia.LEAD_INSTANT,
            )
        except ValueError:
            messages.error(request, "That time could not be read: pick the slot again.")
        except REFUSALS as problem:
            messages.error(request, error_message(problem))
        else:
            messages.success(
                request,
                f"Booked {booking.appointment.reference} today at {timezone.localtime(booking.appointment.starts_at):%H:%M} with {doctor}.",
            )
        return redirect("lead_detail", request.clinic.code, lead.pk)
    slot = None
    if booked is None and lead.is_open:
        slots = services.free_slots(clinic=request.clinic, day=_today(request), limit=1)
        slot = slots[0] if slots else None
    return render(request, "scheduling/lead_instant_booking.html", {"lead": lead, "slot": slot, "booked": booked})
