"""The JSON API (django-ninja) at /api/v1: authentication, tenancy and error conventions,
plus the core endpoints (login, logout, metadata).

Every clinic endpoint takes the clinic code in its path and starts with
``ctx = clinic_context(request, code, Perm.X)``: the same membership check as the pages
(404 for other clinics, 403 for a role without the permission). Errors are always JSON
``{"detail": …}``.
"""

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from ninja import NinjaAPI, Schema, Status
from ninja.errors import AuthenticationError, HttpError
from ninja.security import HttpBearer, django_auth

from clinicos import enums, selectors, services
from clinicos.roles import Perm
from clinicos.tenancy import ClinicContext, ClinicSuspended, check_write_allowed, membership_for


class BearerTokenAuth(HttpBearer):
    def authenticate(self, request, token):
        api_token = services.api_token_authenticate(raw_token=token)
        if api_token is None:
            return None
        request.api_token = api_token
        return api_token.user


def _docs_without_strict_csp(view):
    # Swagger UI sets inline styles; the docs page alone relaxes style-src for that.
    from django.utils.csp import CSP
    from django.views.decorators.csp import csp_override

    return csp_override(
        {
            "default-src": [CSP.SELF],
            "script-src": [CSP.SELF],
            "style-src": [CSP.SELF, CSP.UNSAFE_INLINE],
            "img-src": [CSP.SELF, "data:"],
            "frame-ancestors": [CSP.NONE],
        }
    )(view)


api = NinjaAPI(
    title="ClinicOS API",
    version="1",
    description="JSON API of ClinicOS. Authenticate with `POST /api/v1/auth/login` and send "
    "`Authorization: Bearer <token>`, or use a logged-in browser session.",
    urls_namespace="api",
    auth=[BearerTokenAuth(), django_auth],
    docs_decorator=_docs_without_strict_csp,
)


# --- Error conventions ----------------------------------------------------------------


def django_validation_detail(exc: DjangoValidationError) -> list[dict]:
    """Field messages in the same shape as ninja's own 422s: [{loc, msg, type}]."""
    if hasattr(exc, "error_dict"):
        return [
            {"loc": ["body", field], "msg": message, "type": "value_error"}
            for field, messages in exc.message_dict.items()
            for message in messages
        ]
    return [{"loc": ["body"], "msg": message, "type": "value_error"} for message in exc.messages]


def form_error_detail(form, rename: dict[str, str] | None = None) -> dict:
    """A bound form's errors as the API's 422 body, naming fields as the JSON does."""
    rename = rename or {}
    return {
        "detail": [
            {"loc": ["body", rename.get(field, field)] if field != "__all__" else ["body"], "msg": message, "type": "value_error"}
            for field, messages in form.errors.items()
            for message in messages
        ]
    }


@api.exception_handler(DjangoValidationError)
def on_validation_error(request, exc):
    return api.create_response(request, {"detail": django_validation_detail(exc)}, status=422)


@api.exception_handler(PermissionDenied)
def on_permission_denied(request, exc):
    return api.create_response(request, {"detail": str(exc) or "Not allowed."}, status=403)


@api.exception_handler(ClinicSuspended)
def on_clinic_suspended(request, exc):
    return api.create_response(request, {"detail": str(exc)}, status=403)


@api.exception_handler(AuthenticationError)
def on_unauthenticated(request, exc):
    return api.create_response(request, {"detail": "Authentication required."}, status=401)


@api.exception_handler(Http404)
def on_not_found(request, exc):
    return api.create_response(request, {"detail": "Not found."}, status=404)


def clinic_context(request, code: str, perm: Perm) -> ClinicContext:
    """Resolve the clinic of an API call and check the caller's role in it."""
    user = request.auth
    membership = membership_for(user, code)
    if not membership.has_perm_in_clinic(perm):
        raise PermissionDenied("Your role in this clinic does not allow this.")
    check_write_allowed(membership.clinic, request.method)
    return ClinicContext(clinic=membership.clinic, membership=membership, user=user)


# --- Auth -------------------------------------------------------------------------------


class LoginIn(Schema):
    email: str
    password: str
    otp_code: str | None = None


class UserOut(Schema):
    id: int
    email: str
    full_name: str


class MembershipOut(Schema):
    clinic: str
    roles: list[str]


class LoginOut(Schema):
    token: str
    expires_at: str
    user: UserOut
    memberships: list[MembershipOut]


class Detail(Schema):
    detail: str


@api.post("/auth/login", auth=None, response={200: LoginOut, 401: Detail, 429: Detail}, tags=["auth"])
def auth_login(request, payload: LoginIn):
    """Exchange email and password (and a two-factor code for users who turned it on)
    for a bearer token. Failed attempts count towards the same lockout as the login page."""
    try:
        user, raw_token, api_token = services.api_login(
            request=request, email=payload.email, password=payload.password, otp_code=payload.otp_code
        )
    except services.LoginRateLimited as exc:
        return Status(429, {"detail": str(exc)})
    except services.LoginFailed as exc:
        return Status(401, {"detail": str(exc)})
    return Status(200, {
        "token": raw_token,
        "expires_at": api_token.expires_at.isoformat(),
        "user": user,
        "memberships": [
            {"clinic": membership.clinic.code, "roles": membership.roles}
            for membership in selectors.memberships_for_user(user=user)
        ],
    })


@api.post("/auth/logout", response={200: Detail}, tags=["auth"])
def auth_logout(request):
    """Revoke the bearer token of this request (or end the browser session)."""
    services.api_logout(request=request)
    return Status(200, {"detail": "Logged out."})


# --- Metadata ---------------------------------------------------------------------------


class DoctorOut(Schema):
    id: int
    full_name: str
    specialization: str
    color: str


@api.get("/clinics/{code}/metadata/doctors", response=list[DoctorOut], tags=["metadata"])
def metadata_doctors(request, code: str):
    """The clinic's active doctors, for dropdowns and calendar colours."""
    ctx = clinic_context(request, code, Perm.DASHBOARD_VIEW)
    return [
        {"id": doctor.pk, "full_name": doctor.user.full_name, "specialization": doctor.specialization, "color": doctor.color}
        for doctor in selectors.doctors_of_clinic(clinic=ctx.clinic)
    ]


class EnumValue(Schema):
    value: str
    label: str


@api.get("/clinics/{code}/metadata/enums", response=dict[str, list[EnumValue]], tags=["metadata"])
def metadata_enums(request, code: str):
    """Every choice set the app uses, as ``{enum_name: [{value, label}]}``."""
    clinic_context(request, code, Perm.DASHBOARD_VIEW)
    return enums.all_enums()


__all__ = ["api", "clinic_context", "HttpError"]
