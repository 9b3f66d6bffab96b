"""Reads of core data that views and the API share."""

import datetime
from dataclasses import dataclass

from django.core.cache import cache
from django.db.models import Count, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404

from clinicos.models import AuditLog, Clinic, Department, DoctorProfile, Membership, Notification, ReadAccessLog, Resource, User
from clinicos.roles import Perm, Role
from clinicos.scoping import scopes_disabled


def memberships_for_user(*, user: User) -> list[Membership]:
    """The clinics a user can enter, for the clinic picker and switcher: a read across
    clinics on purpose, so it is read here, inside the unscoped block, and no lazy
    unscoped queryset leaves it."""
    with scopes_disabled():
        return list(
            Membership.objects.filter(user=user, is_active=True)
            .exclude(clinic__status=Clinic.Status.INACTIVE)
            .select_related("clinic")
            .order_by("clinic__name")
        )


def members_with_role(*, clinic_id: int, role: Role) -> list[Membership]:
    """The clinic's active members (with an active login) who hold ``role``, by user id.
    Roles are a JSON list: held or not is decided here, in one place, for every database."""
    memberships = (
        Membership.objects.filter(clinic_id=clinic_id, is_active=True, user__is_active=True).select_related("user").order_by("user_id")
    )
    return [membership for membership in memberships if membership.has_role(role)]


def members_with_perm(*, clinic_id: int, perm: Perm) -> list[Membership]:
    """The clinic's active members whose roles grant ``perm`` (the bell's "tell the desk")."""
    memberships = (
        Membership.objects.filter(clinic_id=clinic_id, is_active=True, user__is_active=True).select_related("user").order_by("user_id")
    )
    return [membership for membership in memberships if membership.has_perm_in_clinic(perm)]


def doctors_of_clinic(*, clinic: Clinic, include_inactive: bool = False) -> QuerySet[DoctorProfile]:
    doctors = DoctorProfile.objects.for_clinic(clinic).select_related("user", "department")
    if not include_inactive:
        doctors = doctors.filter(is_active=True, user__is_active=True)
    return doctors.order_by("user__full_name")


def staff_of_clinic(*, clinic: Clinic) -> QuerySet[Membership]:
    return Membership.objects.for_clinic(clinic).select_related("user").order_by("-is_active", "user__full_name")


def audit_log_search(
    *,
    clinic: Clinic,
    user_id: int | None = None,
    entity_type: str | None = None,
    date_from: datetime.date | None = None,
    date_to: datetime.date | None = None,
    patient_id: int | None = None,
) -> QuerySet[AuditLog]:
    """Changes (and sign-ins) in this clinic, newest first; one patient's trail with
    ``patient_id``. Dates are the clinic's calendar days."""
    entries = AuditLog.objects.for_clinic(clinic).select_related("user")
    if user_id:
        entries = entries.filter(user_id=user_id)
    if patient_id:
        entries = entries.filter(patient_id=patient_id)
    if entity_type:
        entries = entries.filter(entity_type=entity_type)
    entries = _in_clinic_days(entries, clinic, date_from, date_to)
    return entries.order_by("-created_at", "-id")


def clinic_has_patient(*, clinic: Clinic, patient_id: int) -> bool:
    """Whether the id is a chart of this clinic (the core names no app above it: the model
    is looked up by name)."""
    from django.apps import apps

    return apps.get_model("patients", "Patient").objects.for_clinic(clinic).filter(pk=patient_id).exists()


def read_access_search(
    *,
    clinic: Clinic,
    user_id: int | None = None,
    date_from: datetime.date | None = None,
    date_to: datetime.date | None = None,
    patient_id: int | None = None,
) -> QuerySet[ReadAccessLog]:
    entries = ReadAccessLog.objects.for_clinic(clinic).select_related("user")
    if user_id:
        entries = entries.filter(user_id=user_id)
    if patient_id:
        entries = entries.filter(patient_id=patient_id)
    entries = _in_clinic_days(entries, clinic, date_from, date_to)
    return entries.order_by("-created_at", "-id")


def audited_entity_types(*, clinic: Clinic) -> list[tuple[str, str]]:
    return list(AuditLog.objects.for_clinic(clinic).order_by("entity_type").values_list("entity_type", "entity_name").distinct())


def _in_clinic_days(queryset, clinic, date_from, date_to):
    # Filter on an instant range (index-friendly) rather than on a date cast.
    tz = clinic.tzinfo
    if date_from:
        queryset = queryset.filter(created_at__gte=datetime.datetime.combine(date_from, datetime.time.min, tzinfo=tz))
    if date_to:
        next_day = date_to + datetime.timedelta(days=1)
        queryset = queryset.filter(created_at__lt=datetime.datetime.combine(next_day, datetime.time.min, tzinfo=tz))
    return queryset


def membership_get(*, clinic: Clinic, pk: int) -> Membership:
    """One membership of ``clinic`` (another clinic's id is a 404)."""
    return get_object_or_404(Membership.objects.for_clinic(clinic).select_related("user", "invited_by"), pk=pk)


@dataclass(frozen=True)
class DoctorOnStaff:
    membership: Membership
    profile: DoctorProfile | None


def doctors_on_staff(*, clinic: Clinic) -> list[DoctorOnStaff]:
    """Every member holding the doctor role, with their profile when they have one (a
    doctor without a profile cannot be booked yet). Two queries."""
    memberships = [m for m in staff_of_clinic(clinic=clinic) if Role.DOCTOR in m.roles]
    profiles = {p.user_id: p for p in DoctorProfile.objects.for_clinic(clinic).select_related("department")}
    return [DoctorOnStaff(membership=m, profile=profiles.get(m.user_id)) for m in memberships]


def doctor_profile_of(*, clinic: Clinic, user: User) -> DoctorProfile | None:
    return DoctorProfile.objects.for_clinic(clinic).select_related("user", "department").filter(user=user).first()


def departments_with_usage(*, clinic: Clinic) -> QuerySet[Department]:
    return (
        Department.objects.for_clinic(clinic)
        .annotate(doctor_count=Count("doctorprofile", distinct=True), resource_count=Count("resource", distinct=True))
        .order_by("-is_active", "name")
    )


def department_get(*, clinic: Clinic, pk: int) -> Department:
    return get_object_or_404(Department.objects.for_clinic(clinic), pk=pk)


def resources_of_clinic(*, clinic: Clinic) -> QuerySet[Resource]:
    return Resource.objects.for_clinic(clinic).select_related("department").order_by("-is_active", "kind", "name")


def resource_get(*, clinic: Clinic, pk: int) -> Resource:
    return get_object_or_404(Resource.objects.for_clinic(clinic).select_related("department"), pk=pk)


def notifications_of(*, clinic: Clinic, user: User, unread_only: bool = False) -> QuerySet[Notification]:
    notifications = Notification.objects.for_clinic(clinic).filter(recipient=user)
    return notifications.filter(read_at__isnull=True) if unread_only else notifications


UNREAD_COUNT_SECONDS = 60


def unread_count_key(clinic_id: int, user_id: int) -> str:
    return f"unread-notifications:{clinic_id}:{user_id}"


def unread_notification_count(*, clinic: Clinic, user: User) -> int:
    """The bell's figure, on every page: kept in the cache, which the services that add or
    read notifications clear (``clinicos.services.forget_unread_counts``)."""
    key = unread_count_key(clinic.pk, user.pk)
    count = cache.get(key)
    if count is None:
        count = notifications_of(clinic=clinic, user=user, unread_only=True).count()
        cache.set(key, count, UNREAD_COUNT_SECONDS)
    return count


def notification_get(*, clinic: Clinic, user: User, pk) -> Notification:
    """One of the user's own notifications in this clinic; anyone else's is a 404."""
    notification = notifications_of(clinic=clinic, user=user).filter(pk=pk).first() if str(pk).isdigit() else None
    if notification is None:
        raise Http404("No such notification.")
    return notification
