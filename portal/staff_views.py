"""The clinic's side of the portal: Settings → Online booking (administrators)."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from clinicos.errors import add_error_to_form
from clinicos.roles import Perm
from clinicos.tenancy import ClinicRequest, clinic_view
from portal import services
from portal.forms import OnlineBookingForm
from portal.models import OnlineBooking


@require_http_methods(["GET", "POST"])
@clinic_view(Perm.SETTINGS_MANAGE)
def online_booking_settings(request: ClinicRequest) -> HttpResponse:
    rules = OnlineBooking.objects.filter(clinic=request.clinic).first() or OnlineBooking(clinic=request.clinic)
    form = OnlineBookingForm(request.POST or None, instance=rules, clinic=request.clinic)
    if request.method == "POST" and form.is_valid():
        try:
            rules = services.online_booking_save(clinic=request.clinic, **form.cleaned_data)
        except ValidationError as error:
            add_error_to_form(form, error)
        else:
            messages.success(request, "Online booking is saved." if rules.is_enabled else "Online booking is off.")
            return redirect("online_booking_settings", request.clinic.code)
    return render(
        request,
        "portal/online_booking_settings.html",
        {"form": form, "heading": "Settings", "subtitle": "What patients may book themselves in the portal"},
        status=422 if form.errors else 200,
    )
