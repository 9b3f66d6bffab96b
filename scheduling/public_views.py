"""Pages a patient opens from a message, without logging in: the link is the key. They show
only the clinic, the doctor and the time — never anything clinical."""

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from clinicos.errors import REFUSALS, error_message
from clinicos.models import Clinic
from clinicos.scoping import scope
from scheduling import services
from scheduling.models import Appointment
from scheduling.services import messages, waitlist


def _private(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    response["X-Robots-Tag"] = "noindex"
    return response


@require_http_methods(["GET", "POST"])
def appointment_link(request: HttpRequest, token: str) -> HttpResponse:
    """A reminder's link: confirm the appointment, or cancel it within the clinic's notice."""
    target = messages.appointment_from_link(token)
    clinic = Clinic.objects.filter(pk=target[0]).first() if target else None
    if clinic is None or target is None:
        raise Http404("This link is not valid.")
    with scope(clinic=clinic):
        appointment = (
            Appointment.objects.for_clinic(clinic).select_related("clinic", "doctor__user", "patient").filter(pk=target[1]).first()
        )
        if appointment is None:
            raise Http404("This link is not valid.")
        problem = done = ""
        if request.method == "POST":
            try:
                if request.POST.get("action") == "cancel":
                    appointment = services.cancel_by_patient(appointment)
                    done = "cancelled"
                else:
                    appointment = messages.confirm_by_patient(appointment)
                    done = "confirmed"
            except REFUSALS as error:
                problem = error_message(error)
        now = timezone.now()
        context = {
            "appointment": appointment,
            "clinic": clinic,
            "when": timezone.localtime(appointment.starts_at, clinic.tzinfo),
            "done": done,
            "problem": problem,
            "open": appointment.status in services.PRE_ARRIVAL and appointment.starts_at > now,
            "may_cancel": now < messages.cancel_deadline(appointment, clinic),
        }
        return _private(render(request, "scheduling/appointment_link.html", context, status=409 if problem else 200))


@require_http_methods(["GET", "POST"])
def waitlist_claim(request: HttpRequest, token: str) -> HttpResponse:
    """A waitlist offer's link: the first to claim the freed time gets it."""
    offer = waitlist.offer_by_token(token)
    if offer is None:
        raise Http404("This link is not valid.")
    answer = waitlist.offer_claim(raw=token) if request.method == "POST" else None
    if answer is not None:
        offer = answer.offer or offer
    clinic = offer.clinic
    context = {
        "offer": offer,
        "clinic": clinic,
        "when": timezone.localtime(offer.starts_at, clinic.tzinfo),
        "answer": answer,
        "expired": offer.status == offer.Status.EXPIRED or (offer.status == offer.Status.OFFERED and offer.expires_at <= timezone.now()),
    }
    status = 409 if answer is not None and answer.outcome in ("taken", "expired") else 200
    return _private(render(request, "scheduling/waitlist_claim.html", context, status=status))
