"""The patient portal's pages (/portal/…), phone-first. A portal session holds the phone or
email a code proved and the profile (chart) being looked at; it never holds a staff login,
and staff pages never accept it."""

import datetime
from collections.abc import Callable
from functools import wraps

from django.contrib import messages
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from clinicos.audit import client_ip
from clinicos.errors import REFUSALS, add_error_to_form, error_message
from patients.models import Patient
from portal import documents, selectors, services
from portal.forms import NewPhoneForm, ProfileForm, RequestCodeForm, VerifyCodeForm
from scheduling.models import RELEASED_STATUSES, AppointmentType
from scheduling.services import SlotTaken

SESSION_KEY = "portal"
PENDING_KEY = "portal_pending_login"


class PortalRequest(HttpRequest):
    portal_identity: services.PortalIdentity
    portal_patients: list[Patient]
    portal_patient: Patient


def portal_view(view: Callable) -> Callable:
    """A page for a logged-in patient: the identity and the chosen profile on the request;
    no login (or a login whose charts are all gone) goes to the code login."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        stored = request.session.get(SESSION_KEY)
        if not stored:
            return redirect("portal_login")
        identity = services.PortalIdentity(stored["channel"], stored["address"])
        patients = services.patients_of(identity)
        if not patients:
            request.session.flush()
            return redirect("portal_login")
        current = next((p for p in patients if p.pk == stored.get("patient_id")), patients[0])
        request.portal_identity, request.portal_patients, request.portal_patient = identity, patients, current
        with timezone.override(current.clinic.tzinfo):  # times shown in the profile's clinic's zone
            return view(request, *args, **kwargs)

    return wrapper


def _context(request: PortalRequest, **extra) -> dict:
    return {"patient": request.portal_patient, "profiles": request.portal_patients, **extra}


# --- Login -----------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def login(request: HttpRequest) -> HttpResponse:
    if request.session.get(SESSION_KEY):
        return redirect("portal_home")
    form = RequestCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        login_value = form.cleaned_data["login"]
        services.login_code_request(**RequestCodeForm.as_identity_kwargs(login_value), ip=client_ip(request))
        request.session[PENDING_KEY] = login_value
        return redirect("portal_verify")
    return render(request, "portal/login.html", {"form": form}, status=422 if form.errors else 200)


@require_http_methods(["GET", "POST"])
def verify(request: HttpRequest) -> HttpResponse:
    login_value = request.session.get(PENDING_KEY)
    if not login_value:
        return redirect("portal_login")
    form = VerifyCodeForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            identity = services.login_code_verify(
                **RequestCodeForm.as_identity_kwargs(login_value), code=form.cleaned_data["code"], ip=client_ip(request)
            )
        except services.TooManyTries as exc:
            form.add_error("code", str(exc))
            status = 429
        except services.CodeRejected:
            form.add_error("code", "That code is wrong or has expired. Check the latest message, or ask for a new code.")
            status = 401
        else:
            patients = services.patients_of(identity)
            request.session.cycle_key()  # a new session id once logged in (no fixation)
            request.session.pop(PENDING_KEY, None)
            request.session[SESSION_KEY] = {"channel": identity.channel, "address": identity.address, "patient_id": patients[0].pk}
            return redirect("portal_profiles" if len(patients) > 1 else "portal_home")
    elif form.errors:
        status = 422
    return render(request, "portal/verify.html", {"form": form, "login_value": login_value}, status=status)


@require_POST
def resend(request: HttpRequest) -> HttpResponse:
    login_value = request.session.get(PENDING_KEY)
    if not login_value:
        return redirect("portal_login")
    services.login_code_request(**RequestCodeForm.as_identity_kwargs(login_value), ip=client_ip(request))
    messages.success(request, "If this phone or email is on your record, a new code is on its way.")
    return redirect("portal_verify")


@require_POST
def logout(request: HttpRequest) -> HttpResponse:
    request.session.flush()
    messages.success(request, "You are logged out.")
    return redirect("portal_login")


# --- Profiles and home -----------------------------------------------------------------------


@require_GET
@portal_view
def profiles(request: PortalRequest) -> HttpResponse:
    return render(request, "portal/profiles.html", _context(request))


@require_POST
@portal_view
def profile_use(request: PortalRequest, patient_id: int) -> HttpResponse:
    patient = services.own_row_or_404(services.patient_of, request.portal_identity, patient_id)
    request.session[SESSION_KEY] = {**request.session[SESSION_KEY], "patient_id": patient.pk}
    return redirect("portal_home")


@require_GET
@portal_view
def home(request: PortalRequest) -> HttpResponse:
    now = timezone.now()
    patient = request.portal_patient
    upcoming = list(
        services.appointments_of(request.portal_identity)
        .filter(patient=patient, starts_at__gte=now)
        .exclude(status__in=RELEASED_STATUSES)
        .order_by("starts_at")[:5]
    )
    return render(
        request,
        "portal/home.html",
        _context(
            request,
            upcoming=upcoming,
            can_book=bool(services.bookable_doctors(patient.clinic)),
            prescriptions=selectors.prescriptions(request.portal_identity, patient)[:3],
            balance=selectors.still_to_pay(selectors.invoices(request.portal_identity, patient)),
        ),
    )


# --- Appointments ------------------------------------------------------------------------------


@require_GET
@portal_view
def appointments(request: PortalRequest) -> HttpResponse:
    now = timezone.now()
    mine = list(services.appointments_of(request.portal_identity).filter(patient=request.portal_patient)[:200])
    # A cancelled (or missed) appointment is history, however far ahead it was booked.
    upcoming = sorted((a for a in mine if a.starts_at >= now and a.status not in RELEASED_STATUSES), key=lambda a: a.starts_at)
    can_change = services.appointments_changeable(upcoming)
    for appointment in upcoming:
        appointment.changeable = appointment.pk in can_change
    past = [a for a in mine if a not in upcoming]
    return render(request, "portal/appointments.html", _context(request, upcoming=upcoming, past=past))


@require_POST
@portal_view
def appointment_cancel(request: PortalRequest, appointment_id: int) -> HttpResponse:
    services.own_row_or_404(services.appointment_of, request.portal_identity, appointment_id)
    try:
        services.online_appointment_cancel(
            identity=request.portal_identity, appointment_id=appointment_id, reason=request.POST.get("reason", "")[:200]
        )
    except REFUSALS as error:
        messages.error(request, error_message(error))
    else:
        messages.success(request, "Your appointment is cancelled. The clinic has been told.")
    return redirect("portal_appointments")


def _day_from(request: HttpRequest, clinic) -> datetime.date:
    try:
        return datetime.date.fromisoformat(request.GET.get("date", ""))
    except ValueError:
        return clinic.today()


def _slot_page(request: PortalRequest, *, template: str, moving=None, status: int = 200, **extra) -> HttpResponse:
    """The doctor / day / free-slot picker shared by booking and moving."""
    clinic = request.portal_patient.clinic
    doctors = services.bookable_doctors(clinic)
    rules = services.online_booking(clinic)
    day = _day_from(request, clinic)
    doctor_id = moving.doctor_id if moving else _int(request.GET.get("doctor"))
    doctor = next((d for d in doctors if d.pk == doctor_id), doctors[0] if doctors and not moving else None)
    slots: list[dict] = []
    last_day = clinic.today()
    if rules is not None and doctor is not None:
        _, last_day = services.booking_window(clinic, rules)
        day = min(max(day, clinic.today()), last_day)
        slots = services.bookable_slots(clinic=clinic, doctor_id=doctor.pk, day=day)
    days = [clinic.today() + datetime.timedelta(days=offset) for offset in range((last_day - clinic.today()).days + 1)][:14]
    tz = clinic.tzinfo
    offered = [{"value": slot["start"].isoformat(), "label": timezone.localtime(slot["start"], tz)} for slot in slots]
    # A time tapped is confirmed on the next screen (with the appointment type) before it is booked.
    chosen = next((slot for slot in offered if slot["value"] == request.GET.get("start")), None)
    return render(
        request,
        template,
        _context(
            request,
            clinic=clinic,
            doctors=doctors,
            doctor=doctor,
            day=day,
            days=days,
            previous_day=day - datetime.timedelta(days=1) if day > clinic.today() else None,
            next_day=day + datetime.timedelta(days=1) if day < last_day else None,
            slots=offered,
            chosen=chosen,
            types=[
                (value, AppointmentType(value).label)
                for value in (rules.appointment_types if rules else [])
                if value in AppointmentType.values
            ],
            moving=moving,
            rules=rules,
            **extra,
        ),
        status=status,
    )


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _start_from(request: HttpRequest) -> datetime.datetime | None:
    try:
        start = datetime.datetime.fromisoformat(request.POST.get("start", ""))
    except ValueError:
        return None
    return start if timezone.is_aware(start) else None


@require_http_methods(["GET", "POST"])
@portal_view
def book(request: PortalRequest) -> HttpResponse:
    if request.method == "GET":
        return _slot_page(request, template="portal/book.html")
    start = _start_from(request)
    if start is None:
        return _slot_page(request, template="portal/book.html", error="Choose one of the free times.", status=422)
    try:
        appointment = services.online_appointment_book(
            identity=request.portal_identity,
            patient=request.portal_patient,
            doctor_id=_int(request.POST.get("doctor")),
            start=start,
            type=request.POST.get("type") or "consultation",
        )
    except SlotTaken as taken:
        tz = request.portal_patient.clinic.tzinfo
        next_free = [{"value": s["start"].isoformat(), "label": timezone.localtime(s["start"], tz)} for s in taken.next_free]
        return _slot_page(request, template="portal/book.html", error=str(taken), next_free=next_free, status=409)
    except REFUSALS as error:
        return _slot_page(request, template="portal/book.html", error=error_message(error), status=422)
    when = timezone.localtime(appointment.starts_at, appointment.clinic.tzinfo)
    messages.success(request, f"Booked: {when:%a %d %b, %H:%M} with {appointment.doctor.user.full_name}. The clinic has been told.")
    return redirect("portal_appointments")


@require_POST
@portal_view
def waitlist_join(request: PortalRequest) -> HttpResponse:
    """From the booking page: "tell me if an earlier time frees up" with this doctor."""
    today = request.portal_patient.clinic.today()
    try:
        earliest = datetime.date.fromisoformat(request.POST.get("earliest", "")) if request.POST.get("earliest") else today
        latest = datetime.date.fromisoformat(request.POST.get("latest", ""))
    except ValueError:
        return _slot_page(request, template="portal/book.html", error="Give the last day that would suit you.", status=422)
    try:
        services.waitlist_join(
            identity=request.portal_identity,
            patient=request.portal_patient,
            doctor_id=_int(request.POST.get("doctor")),
            earliest=earliest,
            latest=latest,
            part_of_day=request.POST.get("part_of_day") or "any",
        )
    except REFUSALS as error:
        return _slot_page(request, template="portal/book.html", error=error_message(error), status=422)
    messages.success(request, f"You are on the waitlist until {latest:%d %b}: when a time frees up, we will send you a link to take it.")
    return redirect("portal_appointments")


@require_http_methods(["GET", "POST"])
@portal_view
def appointment_move(request: PortalRequest, appointment_id: int) -> HttpResponse:
    appointment = services.own_row_or_404(services.appointment_of, request.portal_identity, appointment_id)
    if request.method == "GET":
        return _slot_page(request, template="portal/book.html", moving=appointment)
    start = _start_from(request)
    if start is None:
        return _slot_page(request, template="portal/book.html", moving=appointment, error="Choose one of the free times.", status=422)
    try:
        moved = services.online_appointment_reschedule(identity=request.portal_identity, appointment_id=appointment_id, start=start)
    except REFUSALS as error:
        return _slot_page(request, template="portal/book.html", moving=appointment, error=error_message(error), status=409)
    when = timezone.localtime(moved.starts_at, moved.clinic.tzinfo)
    messages.success(request, f"Moved to {when:%a %d %b, %H:%M}. The clinic has been told.")
    return redirect("portal_appointments")


# --- Records -------------------------------------------------------------------------------------


@require_GET
@portal_view
def prescriptions(request: PortalRequest) -> HttpResponse:
    items = selectors.prescriptions(request.portal_identity, request.portal_patient)[:100]
    return render(request, "portal/prescriptions.html", _context(request, prescriptions=items, today=request.portal_patient.clinic.today()))


@require_GET
@portal_view
def prescription_pdf(request: PortalRequest, prescription_id: int) -> HttpResponse:
    return documents.prescription_pdf(request, services.own_row_or_404(selectors.prescription, request.portal_identity, prescription_id))


@require_GET
@portal_view
def results(request: PortalRequest) -> HttpResponse:
    orders = selectors.lab_orders(request.portal_identity, request.portal_patient)[:100]
    return render(request, "portal/results.html", _context(request, orders=orders))


@require_GET
@portal_view
def lab_report(request: PortalRequest, order_id: int) -> FileResponse:
    return documents.lab_report(services.own_row_or_404(selectors.lab_order, request.portal_identity, order_id))


@require_GET
@portal_view
def invoices(request: PortalRequest) -> HttpResponse:
    items = list(selectors.invoices(request.portal_identity, request.portal_patient)[:100])
    balance = selectors.still_to_pay(items)
    return render(request, "portal/invoices.html", _context(request, invoices=items, balance=balance))


@require_GET
@portal_view
def invoice_pdf(request: PortalRequest, invoice_id: int) -> HttpResponse:
    return documents.invoice_pdf(services.own_row_or_404(selectors.invoice, request.portal_identity, invoice_id))


@require_GET
@portal_view
def receipt_pdf(request: PortalRequest, payment_id: int) -> HttpResponse:
    return documents.receipt_pdf(services.own_row_or_404(selectors.receipt, request.portal_identity, payment_id))


@require_GET
@portal_view
def shared_documents(request: PortalRequest) -> HttpResponse:
    items = selectors.documents(request.portal_identity, request.portal_patient)[:100]
    return render(request, "portal/documents.html", _context(request, documents=items))


@require_GET
@portal_view
def document_file(request: PortalRequest, document_id: int) -> FileResponse:
    return documents.shared_document(services.own_row_or_404(selectors.document, request.portal_identity, document_id))


# --- Profile ---------------------------------------------------------------------------------------

PHONE_CHANGE_KEY = "portal_new_phone"


@require_http_methods(["GET", "POST"])
@portal_view
def phone_change(request: PortalRequest) -> HttpResponse:
    """A new phone: the patient types it, a code goes to it, the code proves it."""
    patient = request.portal_patient
    pending = request.session.get(PHONE_CHANGE_KEY)
    pending_phone = pending["phone"] if pending and pending.get("patient_id") == patient.pk else None
    phone_form = NewPhoneForm(request.POST if request.method == "POST" and "phone" in request.POST else None)
    code_form = VerifyCodeForm(request.POST if request.method == "POST" and "code" in request.POST else None)
    status = 200
    if phone_form.is_bound and phone_form.is_valid():
        try:
            phone = services.phone_change_request(
                identity=request.portal_identity, patient=patient, new_phone=phone_form.cleaned_data["phone"], ip=client_ip(request)
            )
        except REFUSALS as error:
            add_error_to_form(phone_form, error)
        else:
            request.session[PHONE_CHANGE_KEY] = {"patient_id": patient.pk, "phone": phone}
            return redirect("portal_phone_change")
    elif code_form.is_bound and pending_phone and code_form.is_valid():
        try:
            services.phone_change_confirm(
                identity=request.portal_identity,
                patient=patient,
                new_phone=pending_phone,
                code=code_form.cleaned_data["code"],
                ip=client_ip(request),
            )
        except services.TooManyTries as exc:
            code_form.add_error("code", str(exc))
            status = 429
        except services.CodeRejected:
            code_form.add_error("code", "That code is wrong or has expired. Ask for a new one.")
            status = 401
        else:
            request.session.pop(PHONE_CHANGE_KEY, None)
            if request.portal_identity.is_phone:  # logged in by the old phone: the new one opens the chart now
                request.session[SESSION_KEY] = {"channel": "phone", "address": pending_phone, "patient_id": patient.pk}
            messages.success(request, f"Your phone is now {pending_phone}. The clinic sees it on your record.")
            return redirect("portal_profile")
    if phone_form.errors or code_form.errors:
        status = status if status != 200 else 422
    return render(
        request,
        "portal/phone_change.html",
        _context(request, phone_form=phone_form, code_form=code_form, pending_phone=pending_phone),
        status=status,
    )


@require_http_methods(["GET", "POST"])
@portal_view
def profile(request: PortalRequest) -> HttpResponse:
    patient = request.portal_patient
    form = ProfileForm(request.POST or None, instance=Patient(**{f: getattr(patient, f) for f in services.PROFILE_FIELDS}))
    status = 200
    if request.method == "POST":
        if form.is_valid():
            changes = {field: form.cleaned_data[field] for field in services.PROFILE_FIELDS}
            try:
                services.profile_update(identity=request.portal_identity, patient=patient, changes=changes)
            except REFUSALS as error:
                add_error_to_form(form, error)
            else:
                messages.success(request, "Your details are saved. The clinic sees them on your record.")
                return redirect("portal_profile")
        status = 422
    return render(request, "portal/profile.html", _context(request, form=form), status=status)
