"""Tenancy: which clinic a request works in, and whether this user may.

The clinic is in every URL (``/c/<clinic_code>/…`` for pages,
``/api/v1/clinics/{code}/…`` for the API). Both go through ``membership_for`` so that
a non-member, an unknown or inactive clinic, and another clinic's object all look the
same from outside: 404.
"""

from dataclasses import dataclass
from functools import wraps

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest
from django.shortcuts import redirect, render
from django.utils import timezone
from django_htmx.middleware import HtmxDetails

from clinicos.models import Clinic, Membership, User
from clinicos.roles import MFA_CLINICAL_ROLES, Perm, Role
from clinicos.scoping import scope, scopes_disabled

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SUSPENDED_MESSAGE = "This clinic is suspended: its records can be read but not changed. Please contact the ClinicOS platform administrator."


class ClinicRequest(HttpRequest):
    """What a clinic view can rely on (for editors; set by ``clinic_view``)."""

    clinic: Clinic
    membership: Membership
    user: User
    htmx: HtmxDetails


class ClinicSuspended(Exception):
    pass


def membership_for(user, clinic_code: str) -> Membership:
    """The user's active membership in an enterable clinic, or 404."""
    if user is None or not user.is_authenticated:
        raise Http404
    # Resolving which clinic a request works in is the one read made before any scope. All
    # the user's memberships come in that one query: the clinic switcher lists them too.
    with scopes_disabled():
        memberships = list(
            Membership.objects.select_related("clinic")
            .filter(user=user, is_active=True)
            .exclude(clinic__status=Clinic.Status.INACTIVE)
            .order_by("clinic__name")
        )
    user.__dict__["_enterable_memberships"] = memberships
    code = clinic_code.upper()
    membership = next((m for m in memberships if m.clinic.code == code), None)
    if membership is None:
        raise Http404("No such clinic.")
    membership.user = user
    remember_membership(user, membership)
    return membership


def remember_membership(user, membership: Membership) -> None:
    """Keep the resolved membership on the user object, so that ``*_get_for_user``
    selectors, which take the user, know its roles without another query."""
    cache = user.__dict__.setdefault("_clinic_memberships", {})
    cache[membership.clinic_id] = membership


def membership_of(user, clinic: Clinic) -> Membership | None:
    """The user's active membership in ``clinic`` (from the request's resolution when
    there was one), or None."""
    cached = user.__dict__.get("_clinic_memberships", {}).get(clinic.pk)
    if cached is not None:
        return cached
    with scopes_disabled():
        membership = Membership.objects.filter(user=user, clinic=clinic, is_active=True).select_related("clinic").first()
    if membership is not None:
        remember_membership(user, membership)
    return membership


def check_write_allowed(clinic: Clinic, method: str) -> None:
    if clinic.is_read_only and method not in SAFE_METHODS:
        raise ClinicSuspended(SUSPENDED_MESSAGE)


MFA_ENROLMENT_MESSAGE = "{clinic} requires {who} to use two-factor authentication. Set up an authenticator app in your account to continue."


def mfa_rule_for(membership: Membership) -> str | None:
    """Who the clinic's two-factor rule requires this member to be ("administrators",
    "clinical staff"), or None when no rule covers them."""
    clinic = membership.clinic
    if clinic.require_admin_mfa and membership.has_role(Role.ADMIN):
        return "administrators"
    if clinic.require_clinical_mfa and membership.has_any_role(MFA_CLINICAL_ROLES):
        return "clinical staff"
    return None


def needs_mfa_enrolment(membership: Membership) -> bool:
    """A clinic may require two-factor authentication for its administrators and for
    its clinical staff."""
    if mfa_rule_for(membership) is None:
        return False
    from allauth.mfa.models import Authenticator

    return not Authenticator.objects.filter(user=membership.user_id, type=Authenticator.Type.TOTP).exists()


def mfa_enrolment_message(membership: Membership) -> str:
    return MFA_ENROLMENT_MESSAGE.format(clinic=membership.clinic.name, who=mfa_rule_for(membership))


def clinic_view(perm: Perm):
    """Decorate a page view inside ``/c/<clinic_code>/``: login, membership (404),
    role (403), suspended clinics read-only, and the clinic's two-factor rule."""

    def decorator(view):
        @wraps(view)
        def wrapper(request, clinic_code: str, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path(), settings.LOGIN_URL)
            membership = membership_for(request.user, clinic_code)
            request.clinic = membership.clinic
            request.membership = membership
            if needs_mfa_enrolment(membership):
                from django.contrib import messages

                messages.warning(request, mfa_enrolment_message(membership))
                return redirect("mfa_activate_totp")
            if not membership.has_perm_in_clinic(perm):
                raise PermissionDenied("Your role in this clinic does not allow this page.")
            # Every time on the page is shown in the clinic's own timezone, and every
            # query of a clinic-owned model is confined to this clinic.
            timezone.activate(membership.clinic.tzinfo)
            try:
                with scope(clinic=membership.clinic):
                    check_write_allowed(membership.clinic, request.method)
                    return view(request, *args, **kwargs)
            except ClinicSuspended as suspended:
                return render(request, "clinicos/suspended.html", {"message": str(suspended)}, status=403)
            finally:
                timezone.deactivate()

        wrapper.required_permission = perm
        return wrapper

    return decorator


@dataclass(frozen=True)
class ClinicContext:
    """What an API endpoint knows after ``clinic_context``."""

    clinic: Clinic
    membership: Membership
    user: User
