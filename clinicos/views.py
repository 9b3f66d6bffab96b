from typing import Any, cast

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers

from clinicos import navigation, selectors, services
from clinicos.forms import AuditFilterForm
from clinicos.models import Department, Resource, User
from clinicos.roles import Perm, Role
from clinicos.tenancy import ClinicRequest, clinic_view

AUDIT_PAGE_SIZE = 50


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return redirect("clinic_picker")


@require_GET
@login_required
def clinic_picker(request: HttpRequest) -> HttpResponse:
    """After login: straight into the only clinic, or a choice between several."""
    memberships = selectors.memberships_for_user(user=cast(User, request.user))
    if len(memberships) == 1 and "choose" not in request.GET:
        return redirect("dashboard", memberships[0].clinic.code)
    return render(request, "clinicos/clinic_picker.html", {"memberships": memberships})


@require_GET
@clinic_view(Perm.DASHBOARD_VIEW)
def dashboard(request: ClinicRequest) -> HttpResponse:
    clinic, membership = request.clinic, request.membership
    now = timezone.localtime(timezone.now(), clinic.tzinfo)
    context = {
        "now_in_clinic": now,
        "links": [item for item in navigation.items_for(membership) if item["url_name"] != "dashboard"],
        "permission_labels": sorted(perm.label for perm in membership.permissions),
        "doctor_profile": None,
        "panels": navigation.dashboard_panels_for(request),
    }
    if membership.has_role(Role.DOCTOR):
        context["doctor_profile"] = selectors.doctors_of_clinic(clinic=clinic).filter(user=request.user).first()
    if membership.has_perm_in_clinic(Perm.SETTINGS_MANAGE):
        staff = list(selectors.staff_of_clinic(clinic=clinic).filter(is_active=True))
        context["staff_by_role"] = [(role.label, sum(1 for member in staff if member.has_role(role))) for role in Role]
        context["doctors"] = list(selectors.doctors_of_clinic(clinic=clinic))
        context["department_count"] = Department.objects.for_clinic(clinic).count()
        context["resource_counts"] = dict(
            Resource.objects.for_clinic(clinic).filter(is_active=True).values_list("kind").annotate(n=Count("id"))
        )
    context["doctor_colors"] = [d for d in [context["doctor_profile"], *context.get("doctors", [])] if d]  # type: ignore[misc]
    if membership.has_perm_in_clinic(Perm.AUDIT_VIEW):
        context["recent_changes"] = selectors.audit_log_search(clinic=clinic)[:5]
    return render(request, "clinicos/dashboard.html", context)


NOTIFICATION_PAGE_SIZE = 30


@require_GET
@clinic_view(Perm.DASHBOARD_VIEW)
def notification_list(request: ClinicRequest) -> HttpResponse:
    """The user's notifications in this clinic, newest first, unread ones marked."""
    notifications = selectors.notifications_of(clinic=request.clinic, user=request.user)
    page = Paginator(notifications, NOTIFICATION_PAGE_SIZE).get_page(request.GET.get("page"))
    unread = selectors.unread_notification_count(clinic=request.clinic, user=request.user)
    return render(request, "clinicos/notification_list.html", {"page": page, "unread": unread})


@require_GET
@clinic_view(Perm.DASHBOARD_VIEW)
def notification_bell(request: ClinicRequest) -> HttpResponse:
    """The header's bell with its unread count (polled by HTMX every 15 seconds)."""
    unread = selectors.unread_notification_count(clinic=request.clinic, user=request.user)
    return render(request, "clinicos/notification_bell.html", {"unread": unread})


@require_POST
@clinic_view(Perm.DASHBOARD_VIEW)
def notification_open(request: ClinicRequest, notification_id: int) -> HttpResponse:
    """Mark a notification read and go where it leads (only ever a path of this site)."""
    notification = selectors.notification_get(clinic=request.clinic, user=request.user, pk=notification_id)
    services.notification_mark_read(notification=notification)
    fallback = reverse("notification_list", args=[request.clinic.code])
    target = notification.url if notification.url.startswith("/") and not notification.url.startswith("//") else fallback
    return redirect(target)


@require_POST
@clinic_view(Perm.DASHBOARD_VIEW)
def notifications_read_all(request: ClinicRequest) -> HttpResponse:
    services.notifications_mark_all_read(clinic=request.clinic, user=request.user)
    return redirect("notification_list", request.clinic.code)


@require_GET
@vary_on_headers("HX-Request")
@clinic_view(Perm.AUDIT_VIEW)
def audit_log(request: ClinicRequest) -> HttpResponse:
    """Changes (field by field) and record reads in this clinic, filterable."""
    clinic = request.clinic
    show_reads = request.GET.get("view") == "reads"
    form = AuditFilterForm(request.GET or None, clinic=clinic, entity_types=selectors.audited_entity_types(clinic=clinic))
    filters = form.cleaned_data if form.is_valid() else {}
    user_id = filters["user"].pk if filters.get("user") else None
    entries: QuerySet[Any]
    if show_reads:
        entries = selectors.read_access_search(
            clinic=clinic,
            user_id=user_id,
            date_from=filters.get("date_from"),
            date_to=filters.get("date_to"),
            patient_id=filters.get("patient"),
        )
    else:
        entries = selectors.audit_log_search(
            clinic=clinic,
            user_id=user_id,
            entity_type=filters.get("entity_type") or None,
            date_from=filters.get("date_from"),
            date_to=filters.get("date_to"),
            patient_id=filters.get("patient"),
        )
    page = Paginator(entries, AUDIT_PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {"form": form, "page": page, "show_reads": show_reads, "query": query.urlencode()}
    template = "clinicos/audit_log.html#results" if request.htmx else "clinicos/audit_log.html"
    return render(request, template, context, status=400 if form.errors else 200)


# --- Error answers: JSON under /api/, the friendly pages elsewhere -------------------------


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


@csrf_exempt  # a JSON 404 for any method: an unknown path is not a CSRF question
def api_not_found(request: HttpRequest, *args, **kwargs) -> JsonResponse:
    """Any /api/ path that no endpoint serves."""
    return JsonResponse({"detail": "Not found."}, status=404)


def bad_request(request: HttpRequest, exception=None) -> HttpResponse:
    """A request Django could not read (e.g. a broken multipart body)."""
    if _is_api(request):
        return JsonResponse({"detail": "The request could not be read: check its body and Content-Type."}, status=400)
    return render(request, "400.html", status=400)


def page_not_found(request: HttpRequest, exception=None) -> HttpResponse:
    if _is_api(request):
        return api_not_found(request)
    return render(request, "404.html", status=404)


def permission_denied(request: HttpRequest, exception=None) -> HttpResponse:
    if _is_api(request):
        return JsonResponse({"detail": str(exception) or "Not allowed."}, status=403)
    return render(request, "403.html", status=403)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    if _is_api(request):
        return JsonResponse({"detail": "CSRF check failed: send the X-CSRFToken header or use a bearer token."}, status=403)
    return render(request, "403_csrf.html", status=403)


def server_error(request: HttpRequest) -> HttpResponse:
    if _is_api(request):
        return JsonResponse({"detail": "Something went wrong on our side. The error was logged."}, status=500)
    return render(request, "500.html", status=500)


def favicon(request: HttpRequest) -> HttpResponse:
    """The icon's real address (resolved per request: in production the name carries the
    file's hash, known once collectstatic has run)."""
    from django.templatetags.static import static

    return redirect(static("img/favicon.svg"), permanent=True)
