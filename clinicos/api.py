"""The JSON API (django-ninja) at /api/v1: authentication, tenancy and error conventions,
plus the core endpoints (login, logout, metadata).

Every clinic endpoint takes the clinic code in its path and starts with
``ctx = clinic_context(request, code, Perm.X)``: the same membership check as the pages
(404 for other clinics, 403 for a role without the permission). Errors are always JSON
``{"detail": …}``.
"""

import datetime
import json
import types
import typing
from decimal import Decimal
from typing import Annotated, Any

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from ninja import NinjaAPI, Schema, Status
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.parser import Parser
from ninja.security import HttpBearer, django_auth
from pydantic import BeforeValidator, ValidationInfo, field_validator
from pydantic import ValidationError as PydanticValidationError

from clinicos import enums, selectors, services
from clinicos.dates import check_day, check_day_range
from clinicos.errors import DomainError, field_problems, form_problems
from clinicos.roles import Perm
from clinicos.scoping import enter_clinic_scope
from clinicos.tenancy import (
    ClinicContext,
    ClinicSuspended,
    check_write_allowed,
    membership_for,
    mfa_enrolment_message,
    needs_mfa_enrolment,
)
from clinicos.text import NUL_MESSAGE, SURROGATE_MESSAGE, first_surrogate_path, has_surrogate


class BearerTokenAuth(HttpBearer):
    def authenticate(self, request, token):
        api_token = services.api_token_authenticate(raw_token=token)
        if api_token is None:
            return None
        # The rest of Django (the audit trail, access logs, permission checks) reads
        # request.user: a token request is that user's request, exactly like a session.
        request.user = api_token.user
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


# --- One problem shape -----------------------------------------------------------------


class FieldProblem(Schema):
    loc: list[str | int]
    msg: str
    type: str


class Problem(Schema):
    """Every error answer: ``detail`` is a sentence, or field problems for bad input (422).
    Conflicts may add members (``next_free`` slots, ``duplicates``)."""

    model_config = {"extra": "allow"}

    detail: str | list[FieldProblem]


# No text field of the API takes more (a SOAP section is the longest); a field whose column
# holds less says so with its own limit, checked by the service's model validation.
MAX_TEXT_LENGTH = 10_000


def _admits(annotation: Any, kinds: tuple[type, ...]) -> bool:
    """Whether a field's type (through ``X | None``, ``list[X]``, ``Annotated``) takes one of ``kinds``."""
    if isinstance(annotation, type):
        return issubclass(annotation, kinds)
    return any(_admits(arg, kinds) for arg in typing.get_args(annotation) if arg is not types.NoneType)


def _is_numeric_text(value: Any) -> bool:
    return isinstance(value, str) and value.strip().lstrip("+-").replace(".", "", 1).isdigit()


class Input(Schema):
    """Base of every request body. Text with NUL characters or lone surrogates never reaches a
    library or the database (PostgreSQL refuses both, argon2 and the cache keys choke on the
    second); a number is not ``true`` or ``false``; a date is ``YYYY-MM-DD``, never a number of
    seconds."""

    @field_validator("*", mode="before")
    @classmethod
    def _strict_kinds(cls, value: Any, info: ValidationInfo) -> Any:
        field = cls.model_fields.get(info.field_name or "")
        if field is None:
            return value
        annotation = field.annotation
        if isinstance(value, bool) and not _admits(annotation, (bool,)) and _admits(annotation, (int, float, Decimal)):
            raise ValueError("Send a number, not true or false.")
        takes_time = _admits(annotation, (datetime.date, datetime.datetime))
        if takes_time and (isinstance(value, int | float) or _is_numeric_text(value)):
            raise ValueError("Send a date as YYYY-MM-DD (a time as YYYY-MM-DDTHH:MM with its offset).")
        return value

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul_characters(cls, value: Any) -> Any:
        texts = value if isinstance(value, list) else [value]
        for text in texts:
            if isinstance(text, str) and "\x00" in text:
                raise ValueError(NUL_MESSAGE)
            if isinstance(text, str) and has_surrogate(text):
                raise ValueError(SURROGATE_MESSAGE)
            if isinstance(text, str) and len(text) > MAX_TEXT_LENGTH:
                raise ValueError(f"At most {MAX_TEXT_LENGTH:,} characters.")
        return value


def _iso_day(value: Any) -> Any:
    if isinstance(value, bool | int | float) or _is_numeric_text(value):
        raise ValueError("Send a date as YYYY-MM-DD.")
    return value


# A date in a query string: ``YYYY-MM-DD`` only (pydantic alone reads ``0`` as 1970-01-01).
Day = Annotated[datetime.date, BeforeValidator(_iso_day)]


# --- Request bodies ---------------------------------------------------------------------


class BodyRefused(Exception):
    """A request body refused before any schema or library sees it."""

    def __init__(self, status: int, detail: Any):
        super().__init__(detail if isinstance(detail, str) else "Invalid body.")
        self.status = status
        self.detail = detail


def json_object_of(request) -> dict:
    """The body of a JSON request as a dict: 415 for another content type, 400 for bytes that
    are not UTF-8 or not JSON, 422 for JSON that is not an object or holds a lone surrogate
    (naming where)."""
    if request.content_type != "application/json":
        raise BodyRefused(415, "Send the body as application/json.")
    try:
        data = json.loads(request.body.decode("utf-8"))
    except UnicodeDecodeError:
        raise BodyRefused(400, "The body is not UTF-8.") from None
    except json.JSONDecodeError:
        raise BodyRefused(400, "The body is not valid JSON.") from None
    if not isinstance(data, dict):
        raise BodyRefused(422, [{"loc": ["body"], "msg": "The body must be a JSON object.", "type": "type_error"}])
    path = first_surrogate_path(data)
    if path is not None:
        raise BodyRefused(422, [{"loc": ["body", *path], "msg": SURROGATE_MESSAGE, "type": "value_error"}])
    return data


class StrictJsonParser(Parser):
    """django-ninja's body parser, strict: see ``json_object_of``. (ninja wraps what it
    raises in a 400; ``on_http_error`` answers with the refusal's own status.)"""

    def parse_body(self, request):
        return json_object_of(request)


# What every operation may answer besides its own responses, added to the OpenAPI
# document so that clients (and schemathesis) know them.
STANDARD_PROBLEMS = {
    "400": "Malformed request (e.g. a body that is not JSON).",
    "401": "Authentication required.",
    "403": "Your role in this clinic does not allow this, or the clinic is suspended.",
    "404": "Not found, or not in your clinics.",
    "422": "Invalid input: field problems in detail.",
}


class ClinicOsApi(NinjaAPI):
    def get_openapi_schema(self, *args, **kwargs):
        schema = super().get_openapi_schema(*args, **kwargs)
        problem_ref = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}
        for path, operations in schema["paths"].items():
            for operation in operations.values():
                # django-ninja keys an operation's own answers by int: one key per status.
                responses = operation["responses"] = {str(code): answer for code, answer in operation.get("responses", {}).items()}
                for code, description in STANDARD_PROBLEMS.items():
                    if code in ("401", "403") and not operation.get("security"):
                        continue
                    if code == "404" and "{" not in path:
                        continue
                    responses.setdefault(code, {"description": description, **problem_ref})
        schema.setdefault("components", {}).setdefault("schemas", {}).setdefault(
            "Problem", Problem.model_json_schema(ref_template="#/components/schemas/{model}")
        )
        return schema


api = ClinicOsApi(
    title="ClinicOS API",
    version="1",
    description="JSON API of ClinicOS. Authenticate with `POST /api/v1/auth/login` and send "
    "`Authorization: Bearer <token>`, or use a logged-in browser session. Errors are "
    '`{"detail": …}` (the `Problem` schema).',
    urls_namespace="api",
    auth=[BearerTokenAuth(), django_auth],
    docs_decorator=_docs_without_strict_csp,
    parser=StrictJsonParser(),
)


# --- Error conventions: one handler per kind --------------------------------------------


def problem(request, status: int, detail: Any, **extra: Any):
    return api.create_response(request, {"detail": detail, **extra}, status=status)


def field_problem(field: str, message: str, location: str = "body") -> Status:
    """A 422 naming one field, for checks an endpoint makes itself (e.g. an unknown id)."""
    return Status(422, {"detail": [{"loc": [location, field], "msg": message, "type": "value_error"}]})


def check_query_days(**days) -> None:
    """Dates sent in a query string: within the accepted range, ``*_from`` ≤ ``*_to``.
    Answers 422 naming the query parameter."""
    names = tuple(days)
    try:
        if len(names) == 2:
            check_day_range(*days.values(), names=names)
        else:
            for name, day in days.items():
                check_day(day, name)
    except DjangoValidationError as error:
        raise NinjaValidationError(field_problems(error, location="query"))


def optional_body[SchemaT: Schema](request, schema: type[SchemaT]) -> SchemaT | None:
    """The body parsed into ``schema``, or None when there is none (for operations whose
    body is optional, which django-ninja cannot declare); refused as ``json_object_of`` says,
    and fields that do not fit answer 422."""
    if not request.body or not request.body.strip():
        return None
    if request.content_type in ("multipart/form-data", "application/x-www-form-urlencoded") and not request.POST:
        return None  # an empty form post: no body
    try:
        return schema.model_validate(json_object_of(request))
    except BodyRefused as refused:
        raise HttpError(refused.status, "refused") from refused
    except PydanticValidationError as error:
        raise NinjaValidationError([dict(detail) for detail in error.errors(include_url=False, include_context=False)])


def form_error_detail(form, rename: dict[str, str] | None = None) -> dict:
    """A bound form's errors as the API's 422 body."""
    return {"detail": form_problems(form, rename)}


@api.exception_handler(HttpError)
def on_http_error(request, exc):
    refused = exc.__cause__
    if isinstance(refused, BodyRefused):
        return problem(request, refused.status, refused.detail)
    return problem(request, exc.status_code, str(exc))


@api.exception_handler(DjangoValidationError)
def on_validation_error(request, exc):
    return problem(request, 422, field_problems(exc))


@api.exception_handler(DomainError)
def on_domain_error(request, exc):
    return problem(request, exc.status_code, str(exc), **exc.problem_fields())


@api.exception_handler(PermissionDenied)
def on_permission_denied(request, exc):
    return problem(request, 403, str(exc) or "Not allowed.")


@api.exception_handler(ClinicSuspended)
def on_clinic_suspended(request, exc):
    return problem(request, 403, str(exc))


@api.exception_handler(AuthenticationError)
def on_unauthenticated(request, exc):
    return problem(request, 401, "Authentication required.")


@api.exception_handler(Http404)
def on_not_found(request, exc):
    return problem(request, 404, "Not found.")


def clinic_context(request, code: str, perm: Perm) -> ClinicContext:
    """Resolve the clinic of an API call, check the caller may work there, and confine
    the rest of the request to that clinic (its scope). The same checks as the pages:
    404 for other clinics, the clinic's two-factor rule, 403 for a role without ``perm``,
    suspended clinics read-only."""
    user = request.auth
    membership = membership_for(user, code)
    if needs_mfa_enrolment(membership):
        raise PermissionDenied(mfa_enrolment_message(membership))
    if not membership.has_perm_in_clinic(perm):
        raise PermissionDenied("Your role in this clinic does not allow this.")
    check_write_allowed(membership.clinic, request.method)
    enter_clinic_scope(request, membership.clinic)
    return ClinicContext(clinic=membership.clinic, membership=membership, user=user)


# --- Auth -------------------------------------------------------------------------------


class LoginIn(Input):
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


@api.post("/auth/login", auth=None, response={200: LoginOut, 401: Problem, 403: Problem, 429: Problem}, tags=["auth"])
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
    return Status(
        200,
        {
            "token": raw_token,
            "expires_at": api_token.expires_at.isoformat(),
            "user": user,
            "memberships": [
                {"clinic": membership.clinic.code, "roles": membership.roles} for membership in selectors.memberships_for_user(user=user)
            ],
        },
    )


@api.post("/auth/logout", response={200: Problem}, tags=["auth"])
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


__all__ = ["HttpError", "Input", "Problem", "api", "clinic_context", "field_problem", "form_error_detail"]
