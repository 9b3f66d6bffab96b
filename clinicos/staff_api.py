"""The clinic's administration in the JSON API: staff, departments, rooms and machines
(/api/v1/clinics/{code}/staff…, departments…, resources…). Administrators only; the
rules are the services' (``clinicos.services``), as on the Settings pages."""

import datetime

from django.http import Http404
from ninja import Router, Schema, Status

from clinicos import selectors, services
from clinicos.api import Day, Input, Problem, check_query_days, clinic_context, field_problem
from clinicos.models import Department, Membership, Resource
from clinicos.roles import Perm

router = Router(tags=["clinic administration"])


# --- Staff ------------------------------------------------------------------------------


class StaffOut(Schema):
    id: int
    email: str
    full_name: str
    roles: list[str]
    is_active: bool
    invited: bool
    last_login: datetime.datetime | None


class StaffInvite(Input):
    email: str
    full_name: str = ""
    roles: list[str]


class StaffPatch(Input):
    roles: list[str] | None = None
    is_active: bool | None = None


def staff_out(membership: Membership) -> StaffOut:
    user = membership.user
    return StaffOut(
        id=membership.pk,
        email=user.email,
        full_name=user.full_name,
        roles=membership.roles,
        is_active=membership.is_active,
        invited=user.has_pending_invitation,
        last_login=user.last_login,
    )


@router.get("/{code}/staff", response=list[StaffOut])
def staff_list(request, code: str):
    """Everyone on the clinic's staff, active first. ``invited``: has not yet set a
    password from the invitation email."""
    ctx = clinic_context(request, code, Perm.SETTINGS_MANAGE)
    return [staff_out(m) for m in selectors.staff_of_clinic(clinic=ctx.clinic)]


@router.post("/{code}/staff", response={201: StaffOut, 409: Problem, 422: Problem, 503: Problem})
def staff_create(request, code: str, payload: StaffInvite):
    """Invite a person by email with one or more roles. A new person gets an account and
    an email with a link to set a password (``invited: true``); someone who already has
    an account simply joins (``invited: false``). 409 when they are already on the staff."""
    ctx = clinic_context(request, code, Perm.SETTINGS_MANAGE)
    membership, _invited = services.staff_invite(
        clinic=ctx.clinic,
        invited_by=ctx.user,
        email=payload.email,
        full_name=payload.full_name,
        roles=payload.roles,
        base_url=request.build_absolute_uri("/"),
    )
    return Status(201, staff_out(membership))


@router.patch("/{code}/staff/{member_id}", response={200: StaffOut, 409: Problem, 422: Problem})
def staff_patch(request, code: str, member_id: int, payload: StaffPatch):
    """Change roles and/or deactivate (``is_active: false``: the person's sessions and
    tokens end at once) or reactivate. 409 when the clinic would be left without an
    active administrator."""
    ctx = clinic_context(request, code, Perm.SETTINGS_MANAGE)
    membership = selectors.membership_get(clinic=ctx.clinic, pk=member_id)
    membership = services.staff_update(membership=membership, roles=payload.roles, is_active=payload.is_active)
    return staff_out(membership)


# --- Departments --------------------------------------------------------------------------


class DepartmentOut(Schema):
    id: int
    name: str
    description: str
    is_active: bool


class DepartmentWrite(Input):
    name: str
    description: str = ""


class DepartmentPatch(Input):
    name: str | None = None
    description: str | None = None
    is_active: bool | None = None


def department_out(department: Department) -> DepartmentOut:
    return DepartmentOut(id=department.pk, name=department.name, description=department.description, is_active=department.is_active)


@router.get("/{code}/departments", response=list[DepartmentOut])
def department_list(request, code: str):
    ctx = clinic_context(request, code, Perm.SETTINGS_MANAGE)
    return [department_out(d) for d in selectors.departments_with_usage(clinic=ctx.clinic)]


@router.post("/{code}/departments", response={201: DepartmentOut, 422: Problem})
def department_create(request, code: str, payload: DepartmentWrite):
    """Add a department (its name unique in the clinic, whatever the case)."""
    ctx = clinic_context(request, code, Perm.SETTINGS_MANAGE)
    department = services.department_save(clinic=ctx.clinic, data=payload.model_dump())
    return Status(201, department_out(department))


@router.patch("/{code}/departments/{department_id}", response={200: DepartmentOut, 422: Problem})
def department_patch(request, code: str, department_id: int, payload: DepartmentPatch):
    """Rename, describe, deactivate (``is_active: false``) or reactivate."""
    ctx = clinic_context(request, code, Perm.SETTINGS_MANAGE)
    department = selectors.department_get(clinic=ctx.clinic, pk=department_id)
    data = {field: value for field, value in payload.model_dump(exclude_unset=True).items() if value is not None}
    department = services.department_save(clinic=ctx.clinic, department=department, data=data)
    return department_out(department)


@router.delete("/{code}/departments/{department_id}", response={204: None, 409: Problem})
def department_delete(request, code: str, department_id: int):
    """Delete a department nobody uses; 409 when doctors, rooms or services still belong
    to it (deactivate it instead)."""
    ctx = clinic_context(request, code, Perm.SETTINGS_MANAGE)
    department = selectors.department_get(clinic=ctx.clinic, pk=department_id)
    services.department_delete(department=department)
    return Status(204, None)


# --- Rooms and machines -------------------------------------------------------------------


class ResourceOut(Schema):
    id: int
    name: str
    kind: str
    department_id: int | None
    is_active: bool


class ResourceWrite(Input):
    name: str
    kind: str = Resource.Kind.ROOM.value
    department_id: int | None = None


class ResourcePatch(Input):
    name: str | None = None
    kind: str | None = None
    department_id: int | None = None
    is_active: bool | None = None


def resource_out(resource: Resource) -> ResourceOut:
    return ResourceOut(
        id=resource.pk, name=resource.name, kind=resource.kind, department_id=resource.department_id, is_active=resource.is_active
    )


def _resource_data(clinic, payload: Input) -> dict | Status:
    """The payload as service data: ``kind`` checked, ``department_id`` resolved in this
    clinic (``null`` removes the department); a 422 Status when either is wrong."""
    data = {
        field: value for field, value in payload.model_dump(exclude_unset=True).items() if value is not None or field == "department_id"
    }
    if "kind" in data and data["kind"] not in Resource.Kind.values:
        return field_problem("kind", f"Use one of: {', '.join(Resource.Kind.values)}.")
    if "department_id" in data:
        department_id = data.pop("department_id")
        data["department"] = None
        if department_id is not None:
            data["department"] = Department.objects.filter(clinic=clinic, pk=department_id).first()
            if data["department"] is None:
                return field_problem("department_id", "There is no such department in this clinic.")
    return data


@router.get("/{code}/resources", response=list[ResourceOut])
def resource_list(request, code: str):
    ctx = clinic_context(request, code, Perm.SETTINGS_MANAGE)
    return [resource_out(r) for r in selectors.resources_of_clinic(clinic=ctx.clinic)]


@router.post("/{code}/resources", response={201: ResourceOut, 422: Problem})
def resource_create(request, code: str, payload: ResourceWrite):
    """Add a room or a machine (``kind``: room or machine)."""
    ctx = clinic_context(request, code, Perm.SETTINGS_MANAGE)
    data = _resource_data(ctx.clinic, payload)
    if isinstance(data, Status):
        return data
    resource = services.resource_save(clinic=ctx.clinic, data=data)
    return Status(201, resource_out(resource))


@router.patch("/{code}/resources/{resource_id}", response={200: ResourceOut, 422: Problem})
def resource_patch(request, code: str, resource_id: int, payload: ResourcePatch):
    """Rename, move to another department, deactivate or reactivate."""
    ctx = clinic_context(request, code, Perm.SETTINGS_MANAGE)
    resource = selectors.resource_get(clinic=ctx.clinic, pk=resource_id)
    data = _resource_data(ctx.clinic, payload)
    if isinstance(data, Status):
        return data
    resource = services.resource_save(clinic=ctx.clinic, resource=resource, data=data)
    return resource_out(resource)


# --- The audit trail -------------------------------------------------------------------------

AUDIT_PAGE_SIZE = 100


class AuditUserOut(Schema):
    id: int
    full_name: str
    email: str


class AuditEntryOut(Schema):
    id: int
    at: datetime.datetime
    user: AuditUserOut | None
    action: str
    entity_type: str
    entity_name: str
    entity_id: str
    entity_repr: str
    patient_id: int | None
    changes: dict
    ip_address: str | None


class AuditPage(Schema):
    count: int
    page: int
    page_size: int
    results: list[AuditEntryOut]


@router.get("/{code}/audit", response={200: AuditPage, 404: Problem, 422: Problem})
def audit_list(
    request,
    code: str,
    patient_id: int | None = None,
    user_id: int | None = None,
    since: Day | None = None,
    until: Day | None = None,
    page: int = 1,
):
    """The clinic's audit trail, newest first (administrators): every change, field by field,
    and every sign-in, sign-out, failed sign-in and token issued. ``patient_id`` gives one
    patient's trail (404 for a patient of another clinic); ``since`` and ``until`` are the
    clinic's calendar days, inclusive; times are in the clinic's zone."""
    from django.core.paginator import Paginator

    ctx = clinic_context(request, code, Perm.AUDIT_VIEW)
    check_query_days(since=since, until=until)
    if patient_id is not None and not selectors.clinic_has_patient(clinic=ctx.clinic, patient_id=patient_id):
        raise Http404
    entries = selectors.audit_log_search(clinic=ctx.clinic, user_id=user_id, patient_id=patient_id, date_from=since, date_to=until)
    current = Paginator(entries, AUDIT_PAGE_SIZE).get_page(page)
    zone = ctx.clinic.tzinfo
    return {
        "count": current.paginator.count,
        "page": current.number,
        "page_size": AUDIT_PAGE_SIZE,
        "results": [
            {
                "id": entry.pk,
                "at": entry.created_at.astimezone(zone),
                "user": entry.user,
                "action": entry.action,
                "entity_type": entry.entity_type,
                "entity_name": entry.entity_name,
                "entity_id": entry.entity_id,
                "entity_repr": entry.entity_repr,
                "patient_id": entry.patient_id,
                "changes": entry.changes,
                "ip_address": entry.ip_address,
            }
            for entry in current
        ],
    }
