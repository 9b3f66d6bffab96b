"""The Settings section, where a clinic runs itself: its profile, letterhead, tax
registration and rules; its staff (invitations, roles, deactivation); doctors'
profiles; departments; rooms and machines. Administrators only, except a doctor's own
profile. Every write goes through ``clinicos.services``."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from clinicos import selectors, services
from clinicos.errors import REFUSALS, add_error_to_form, error_message
from clinicos.forms import ClinicSettingsForm, DepartmentForm, DoctorProfileForm, ResourceForm, StaffEditForm, StaffInviteForm
from clinicos.models import DoctorProfile, Membership
from clinicos.roles import Perm, Role
from clinicos.tenancy import ClinicRequest, clinic_view
from clinicos.uploads import image_data_uri


def _base_url(request: ClinicRequest) -> str:
    return request.build_absolute_uri("/")


def _render(request: ClinicRequest, template: str, context: dict, *forms) -> HttpResponse:
    status = 400 if any(form is not None and form.is_bound and form.errors for form in forms) else 200
    return render(request, template, context, status=status)


# --- General: profile, letterhead, tax, rules ---------------------------------------------


@require_http_methods(["GET", "POST"])
@clinic_view(Perm.SETTINGS_MANAGE)
def clinic_settings(request: ClinicRequest) -> HttpResponse:
    clinic = request.clinic
    form = ClinicSettingsForm(request.POST or None, request.FILES or None, instance=clinic)
    if request.method == "POST" and form.is_valid():
        try:
            clinic = services.clinic_update(clinic=clinic, **form.setting_changes)
            if form.cleaned_data["logo"]:
                services.clinic_logo_set(clinic=clinic, upload=form.cleaned_data["logo"])
            elif form.cleaned_data["remove_logo"]:
                services.clinic_logo_set(clinic=clinic, upload=None)
        except REFUSALS as error:
            add_error_to_form(form, error)
        else:
            messages.success(request, "The clinic's settings were saved.")
            return redirect("clinic_settings", clinic.code)
    if form.errors:
        clinic.refresh_from_db()  # the header and letterhead show what is saved, not the rejected input
    today = timezone.localdate(timezone=clinic.tzinfo)
    year_start, year_end = clinic.financial_year_of(today)
    context = {
        "form": form,
        "section": "general",
        "logo_uri": image_data_uri(clinic.logo, clinic.logo_content_type),
        "financial_year": clinic.financial_year_label(today),
        "financial_year_start": year_start,
        "financial_year_end": year_end,
    }
    return _render(request, "clinicos/settings/general.html", context, form)


# --- Staff ------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@clinic_view(Perm.SETTINGS_MANAGE)
def staff_list(request: ClinicRequest) -> HttpResponse:
    """The clinic's staff, and the form to invite someone."""
    form = StaffInviteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            membership, invited = services.staff_invite(
                clinic=request.clinic,
                invited_by=request.user,
                base_url=_base_url(request),
                **form.cleaned_data,
            )
        except REFUSALS as error:
            add_error_to_form(form, error)
        else:
            if invited:
                messages.success(
                    request,
                    f"{membership.user.full_name} was invited: an email with a link to set a password went to {membership.user.email}.",
                )
            else:
                messages.success(request, f"{membership.user.full_name} already had a ClinicOS account and is now on this clinic's staff.")
            return redirect("staff_list", request.clinic.code)
    context = {
        "form": form,
        "section": "staff",
        "staff": selectors.staff_of_clinic(clinic=request.clinic).select_related("invited_by"),
    }
    return _render(request, "clinicos/settings/staff_list.html", context, form)


@require_http_methods(["GET", "POST"])
@clinic_view(Perm.SETTINGS_MANAGE)
def staff_edit(request: ClinicRequest, member_id: int) -> HttpResponse:
    membership = selectors.membership_get(clinic=request.clinic, pk=member_id)
    initial = {"roles": membership.roles, "is_active": membership.is_active}
    form = StaffEditForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            updated = services.staff_update(
                membership=membership, roles=form.cleaned_data["roles"], is_active=form.cleaned_data["is_active"]
            )
        except REFUSALS as error:
            add_error_to_form(form, error)
        else:
            if membership.is_active and not updated.is_active:
                messages.success(
                    request, f"{updated.user.full_name} can no longer work in this clinic: they were signed out and their API tokens ended."
                )
            else:
                messages.success(request, f"{updated.user.full_name}'s place in the clinic was saved.")
            return redirect("staff_list", request.clinic.code)
    context = {
        "form": form,
        "section": "staff",
        "member": membership,
        "is_self": membership.user_id == request.user.pk,
        "doctor_profile": selectors.doctor_profile_of(clinic=request.clinic, user=membership.user)
        if Role.DOCTOR in membership.roles
        else None,
    }
    return _render(request, "clinicos/settings/staff_edit.html", context, form)


@require_POST
@clinic_view(Perm.SETTINGS_MANAGE)
def staff_invitation_resend(request: ClinicRequest, member_id: int) -> HttpResponse:
    membership = selectors.membership_get(clinic=request.clinic, pk=member_id)
    try:
        services.staff_invitation_resend(membership=membership, invited_by=request.user, base_url=_base_url(request))
    except REFUSALS as error:
        messages.error(request, error_message(error))
    else:
        messages.success(request, f"A new invitation went to {membership.user.email}.")
    return redirect("staff_edit", request.clinic.code, membership.pk)


# --- Doctors ------------------------------------------------------------------------------


@require_http_methods(["GET"])
@clinic_view(Perm.SETTINGS_MANAGE)
def doctor_list(request: ClinicRequest) -> HttpResponse:
    doctors = selectors.doctors_on_staff(clinic=request.clinic)
    context = {"section": "doctors", "doctors": doctors, "doctor_profiles": [d.profile for d in doctors if d.profile]}
    return render(request, "clinicos/settings/doctor_list.html", context)


@require_http_methods(["GET", "POST"])
@clinic_view(Perm.SETTINGS_MANAGE)
def doctor_profile_edit(request: ClinicRequest, member_id: int) -> HttpResponse:
    """An administrator edits (or creates) the profile of a member with the doctor role."""
    membership = selectors.membership_get(clinic=request.clinic, pk=member_id)
    if Role.DOCTOR not in membership.roles:
        messages.error(request, f"{membership.user.full_name} does not have the doctor role: add it under Staff first.")
        return redirect("staff_edit", request.clinic.code, membership.pk)
    return _doctor_profile_page(request, membership, full_access=True, done_url=reverse("doctor_list", args=[request.clinic.code]))


@require_http_methods(["GET", "POST"])
@clinic_view(Perm.DOCTOR_PROFILE_EDIT_OWN)
def my_doctor_profile(request: ClinicRequest) -> HttpResponse:
    """A doctor edits their own professional details (fee, listing and department are
    the administrators')."""
    membership = request.membership
    if Role.DOCTOR not in membership.roles:  # pragma: no cover - the permission implies it
        raise PermissionDenied
    full_access = membership.has_perm_in_clinic(Perm.SETTINGS_MANAGE)
    return _doctor_profile_page(
        request, membership, full_access=full_access, done_url=reverse("my_doctor_profile", args=[request.clinic.code])
    )


def _doctor_profile_page(request: ClinicRequest, membership: Membership, *, full_access: bool, done_url: str) -> HttpResponse:
    clinic = request.clinic
    profile = selectors.doctor_profile_of(clinic=clinic, user=membership.user) or DoctorProfile(clinic=clinic, user=membership.user)
    form = DoctorProfileForm(request.POST or None, request.FILES or None, instance=profile, clinic=clinic, full_access=full_access)
    if request.method == "POST" and form.is_valid():
        try:
            services.doctor_profile_save(
                clinic=clinic,
                user=membership.user,
                signature=form.cleaned_data["signature"] or None,
                remove_signature=form.cleaned_data["remove_signature"],
                **form.profile_changes,
            )
        except REFUSALS as error:
            add_error_to_form(form, error)
        else:
            messages.success(request, f"Dr. {membership.user.full_name}'s profile was saved.")
            return redirect(done_url)
    if profile.pk and form.errors:
        profile.refresh_from_db()
    context = {
        "form": form,
        "section": "doctors" if full_access and done_url.endswith("/doctors/") else "my_profile",
        "member": membership,
        "profile": profile,
        "full_access": full_access,
        "signature_uri": image_data_uri(profile.signature, profile.signature_content_type),
    }
    return _render(request, "clinicos/settings/doctor_edit.html", context, form)


# --- Departments --------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@clinic_view(Perm.SETTINGS_MANAGE)
def department_list(request: ClinicRequest) -> HttpResponse:
    form = DepartmentForm(request.POST or None, initial={"is_active": True})
    if request.method == "POST" and form.is_valid():
        try:
            department = services.department_save(clinic=request.clinic, data=form.cleaned_data)
        except REFUSALS as error:
            add_error_to_form(form, error)
        else:
            messages.success(request, f"The department {department.name} was added.")
            return redirect("department_list", request.clinic.code)
    context = {"form": form, "section": "departments", "departments": selectors.departments_with_usage(clinic=request.clinic)}
    return _render(request, "clinicos/settings/department_list.html", context, form)


@require_http_methods(["GET", "POST"])
@clinic_view(Perm.SETTINGS_MANAGE)
def department_edit(request: ClinicRequest, department_id: int) -> HttpResponse:
    department = selectors.department_get(clinic=request.clinic, pk=department_id)
    form = DepartmentForm(request.POST or None, instance=department)
    if request.method == "POST" and form.is_valid():
        try:
            services.department_save(clinic=request.clinic, department=department, data=form.cleaned_data)
        except REFUSALS as error:
            add_error_to_form(form, error)
        else:
            messages.success(request, "The department was saved.")
            return redirect("department_list", request.clinic.code)
    if form.errors:
        department.refresh_from_db()
    return _render(
        request, "clinicos/settings/department_edit.html", {"form": form, "section": "departments", "department": department}, form
    )


@require_POST
@clinic_view(Perm.SETTINGS_MANAGE)
def department_delete(request: ClinicRequest, department_id: int) -> HttpResponse:
    department = selectors.department_get(clinic=request.clinic, pk=department_id)
    try:
        services.department_delete(department=department)
    except REFUSALS as error:
        messages.error(request, error_message(error))
        return redirect("department_edit", request.clinic.code, department.pk)
    messages.success(request, f"The department {department.name} was deleted.")
    return redirect("department_list", request.clinic.code)


# --- Rooms and machines -------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@clinic_view(Perm.SETTINGS_MANAGE)
def resource_list(request: ClinicRequest) -> HttpResponse:
    form = ResourceForm(request.POST or None, clinic=request.clinic, initial={"is_active": True})
    if request.method == "POST" and form.is_valid():
        try:
            resource = services.resource_save(clinic=request.clinic, data=form.cleaned_data)
        except REFUSALS as error:
            add_error_to_form(form, error)
        else:
            messages.success(request, f"{resource} was added.")
            return redirect("resource_list", request.clinic.code)
    context = {"form": form, "section": "resources", "resources": selectors.resources_of_clinic(clinic=request.clinic)}
    return _render(request, "clinicos/settings/resource_list.html", context, form)


@require_http_methods(["GET", "POST"])
@clinic_view(Perm.SETTINGS_MANAGE)
def resource_edit(request: ClinicRequest, resource_id: int) -> HttpResponse:
    resource = selectors.resource_get(clinic=request.clinic, pk=resource_id)
    form = ResourceForm(request.POST or None, instance=resource, clinic=request.clinic)
    if request.method == "POST" and form.is_valid():
        try:
            services.resource_save(clinic=request.clinic, resource=resource, data=form.cleaned_data)
        except REFUSALS as error:
            add_error_to_form(form, error)
        else:
            messages.success(request, "The room or machine was saved.")
            return redirect("resource_list", request.clinic.code)
    if form.errors:
        resource.refresh_from_db()
    return _render(request, "clinicos/settings/resource_edit.html", {"form": form, "section": "resources", "resource": resource}, form)
