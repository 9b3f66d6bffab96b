"""The outbox's pages: the clinic's messages (failed ones first to hand, "send again"),
Settings → Messages, Twilio's delivery reports, and the email opt-out link."""

import base64
import hashlib
import hmac

from django.conf import settings
from django.contrib import messages as flash
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from clinicos.errors import REFUSALS, add_error_to_form, error_message
from clinicos.messaging import selectors, services
from clinicos.messaging.choices import MessageKind, MessageStatus
from clinicos.messaging.forms import MessageRulesForm
from clinicos.models import Clinic
from clinicos.roles import Perm
from clinicos.scoping import scope
from clinicos.tenancy import ClinicRequest, clinic_view

PAGE_SIZE = 50


@require_http_methods(["GET"])
@clinic_view(Perm.MESSAGES_VIEW)
def message_list(request: ClinicRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    kind = request.GET.get("kind", "")
    found = selectors.messages_of_clinic(
        clinic=request.clinic,
        status=status if status in MessageStatus.values else None,
        kind=kind if kind in MessageKind.values else None,
    )
    page = Paginator(found, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "status": status,
        "kind": kind,
        "statuses": MessageStatus.choices,
        "kinds": MessageKind.choices,
        "failed_count": selectors.failed_count(clinic=request.clinic),
    }
    return render(request, "clinicos/messaging/message_list.html", context)


@require_POST
@clinic_view(Perm.MESSAGES_RESEND)
def message_send_again(request: ClinicRequest, message_id: int) -> HttpResponse:
    message = selectors.message_get(clinic=request.clinic, pk=message_id)
    try:
        services.message_send_again(message=message, user=request.user)
    except REFUSALS as error:
        flash.error(request, error_message(error))
    else:
        flash.success(request, f"The {message.get_kind_display().lower()} to {message.masked_recipient} is on its way again.")
    back = request.POST.get("next", "")
    if back.startswith(f"/c/{request.clinic.code}/") and "//" not in back:
        return redirect(back)
    return redirect("message_list", request.clinic.code)


@require_http_methods(["GET", "POST"])
@clinic_view(Perm.SETTINGS_MANAGE)
def message_settings(request: ClinicRequest) -> HttpResponse:
    rules = services.rules_of(request.clinic)
    form = MessageRulesForm(request.POST or None, instance=rules)
    if request.method == "POST" and form.is_valid():
        try:
            services.message_rules_save(clinic=request.clinic, **form.rule_changes)
        except ValidationError as error:
            if "reminder_lead_minutes" in getattr(error, "error_dict", {}):
                error = ValidationError({"reminder_hours": error.error_dict.pop("reminder_lead_minutes")} | error.error_dict)
            add_error_to_form(form, error)
        else:
            flash.success(request, "The message rules are saved.")
            return redirect("message_settings", request.clinic.code)
    context = {"form": form, "heading": "Settings", "subtitle": "What the clinic sends patients between visits, and how"}
    return render(request, "clinicos/messaging/settings.html", context, status=422 if form.errors else 200)


# --- Twilio's delivery reports ---------------------------------------------------------------------


def twilio_signature(url: str, params: dict[str, str], auth_token: str) -> str:
    """Twilio's X-Twilio-Signature: HMAC-SHA1 of the URL followed by each POST parameter's
    name and value, sorted by name, in base64."""
    payload = url + "".join(name + params[name] for name in sorted(params))
    return base64.b64encode(hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()).decode()


@csrf_exempt
@require_POST
def twilio_status(request: HttpRequest) -> HttpResponse:
    """``POST /hooks/twilio/status``: a signed delivery report moves its message forward."""
    params = {name: request.POST.get(name, "") for name in request.POST}
    given = request.headers.get("X-Twilio-Signature", "")
    token = settings.TWILIO_AUTH_TOKEN
    urls = {request.build_absolute_uri(), f"{settings.MESSAGING_PUBLIC_URL.rstrip('/')}{request.get_full_path()}"}
    if not token or not given or not any(hmac.compare_digest(twilio_signature(url, params, token), given) for url in urls):
        return HttpResponse("Invalid signature.", status=403, content_type="text/plain")
    if not params.get("MessageSid") or not params.get("MessageStatus"):
        return HttpResponse("MessageSid and MessageStatus are required.", status=400, content_type="text/plain")
    services.delivery_report(
        provider_id=params["MessageSid"], provider_status=params["MessageStatus"], error_code=params.get("ErrorCode", "")
    )
    return HttpResponse(status=204)


# --- The email's opt-out link ---------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def email_opt_out(request: HttpRequest, token: str) -> HttpResponse:
    """One click from an email: no more emails from that clinic (a POST, so that a mail
    scanner following the link changes nothing)."""
    from patients import services as patient_services
    from patients.models import Patient

    target = services.opt_out_target(token)
    clinic = Clinic.objects.filter(pk=target[0]).first() if target else None
    if clinic is None or target is None:
        return render(request, "clinicos/messaging/opt_out.html", {"unknown": True}, status=404)
    with scope(clinic=clinic):
        patient = get_object_or_404(Patient.objects.for_clinic(clinic), pk=target[1])
        done = False
        if request.method == "POST":
            patient_services.email_opt_out(patient=patient)
            done = True
        return render(request, "clinicos/messaging/opt_out.html", {"clinic": clinic, "done": done or not patient.reminders_by_email})
