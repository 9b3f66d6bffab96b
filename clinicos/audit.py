"""The audit trail: every change of an audited model and every read of a patient's record.

Changes: django-simple-history writes a historical row for each save through the ORM
(not for ``bulk_create``, ``bulk_update`` or ``queryset.update()`` — audited models are
changed through services that save row by row). Here we add the IP address and user
agent to that row and copy the change, field by field, into ``AuditLog``, the one table
the audit page reads.

Reads: history records nothing for reads, so features that show a patient's record call
``record_read``.
"""

import datetime
import functools
from collections.abc import Callable, Sequence
from typing import Any

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db.models import Model
from django.dispatch import receiver
from django.http import HttpRequest
from simple_history.models import HistoricalRecords
from simple_history.signals import post_create_historical_record, pre_create_historical_record

from clinicos.models import AuditLog, Clinic, Membership, ReadAccessLog, User

HISTORY_ACTIONS = {"+": AuditLog.Action.CREATE, "~": AuditLog.Action.UPDATE, "-": AuditLog.Action.DELETE}
MAX_VALUE_LENGTH = 500


def client_ip(request: HttpRequest) -> str | None:
    # REMOTE_ADDR is what the server saw; behind a proxy, SECURE_PROXY_SSL_HEADER's
    # deployment should set it correctly (e.g. gunicorn --forwarded-allow-ips).
    return request.META.get("REMOTE_ADDR") or None


def client_user_agent(request: HttpRequest) -> str:
    return request.META.get("HTTP_USER_AGENT", "")[:500]


def current_request() -> HttpRequest | None:
    return getattr(HistoricalRecords.context, "request", None)


@receiver(pre_create_historical_record)
def add_request_origin(sender, history_instance, **kwargs):
    request = current_request()
    if request is not None:
        history_instance.ip_address = client_ip(request)
        history_instance.user_agent = client_user_agent(request)


def _patient_id_of(instance: Model) -> int | None:
    """The chart a row belongs to: the patient itself, or the row's patient."""
    if instance._meta.label_lower == "patients.patient":
        return instance.pk
    return getattr(instance, "patient_id", None)


def _clinic_id_of(instance: Model) -> int | None:
    if isinstance(instance, Clinic):
        return instance.pk
    return getattr(instance, "clinic_id", None)


# Bookkeeping fields that say nothing to a reader of the audit trail.
UNSHOWN_FIELDS = frozenset({"id", "clinic", "created_at", "updated_at", "password", "last_login"})


def _zone_of(instance: Model | None) -> datetime.tzinfo:
    """The clinic's zone, for the times a change shows (the page is read in that zone): the
    clinic the instance holds, else one query (only for a change that shows a time)."""
    if instance is None:
        return datetime.UTC
    if isinstance(instance, Clinic):
        return instance.tzinfo
    clinic: Any = instance._state.fields_cache.get("clinic")
    clinic_id = _clinic_id_of(instance)
    if clinic is None and clinic_id:
        clinic = Clinic._base_manager.filter(pk=clinic_id).first()
    return clinic.tzinfo if clinic is not None else datetime.UTC


def _shown(field, value, instance: Model | None = None, zone: Callable[[], Any] | None = None) -> str | None:
    """A value as a person reads it: choice labels, Yes/No, related rows by name, moments in
    the clinic's zone."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime.datetime) and value.tzinfo is not None:
        return value.astimezone(zone() if zone else datetime.UTC).strftime("%d %b %Y %H:%M %Z")
    if field.is_relation:
        # The row the saved instance already holds (a service set it), else one query with
        # the base manager: the audit trail names related rows whatever scope is active.
        related = field.get_cached_value(instance, None) if instance is not None and field.is_cached(instance) else None
        if related is None or related.pk != value:
            related = field.related_model._base_manager.filter(pk=value).first()
        text = str(related) if related is not None else f"#{value} (deleted)"
    elif field.choices:
        text = str(dict(field.flatchoices).get(value, value))
    elif isinstance(value, bool):
        text = "Yes" if value else "No"
    elif isinstance(value, list):
        text = ", ".join(map(str, value))
    else:
        text = str(value)
    return text if len(text) <= MAX_VALUE_LENGTH else text[: MAX_VALUE_LENGTH - 1] + "…"


def _field_changes(history_instance, instance: Model | None = None) -> dict:
    """{field name: {label, old, new}} for the fields this history row changed
    (``instance``, the row just saved, may already hold the related rows it names)."""
    model = history_instance.instance_type
    tracked = {field.name for field in history_instance.tracked_fields}
    fields = {field.name: field for field in model._meta.concrete_fields if field.name in tracked and field.name not in UNSHOWN_FIELDS}
    zone = functools.cache(lambda: _zone_of(instance))

    def change(name, old, new):
        field = fields[name]
        return {
            "label": str(field.verbose_name).capitalize(),
            "old": _shown(field, old, zone=zone),
            "new": _shown(field, new, instance, zone=zone),
        }

    if history_instance.history_type == "~":
        previous = history_instance.prev_record
        if previous is None:
            return {}
        # Compared here rather than with diff_against(), which skips non-editable fields.
        return {
            name: change(name, getattr(previous, field.attname), getattr(history_instance, field.attname))
            for name, field in fields.items()
            if getattr(previous, field.attname) != getattr(history_instance, field.attname)
        }
    if history_instance.history_type == "+":
        values = {name: getattr(history_instance, field.attname, None) for name, field in fields.items()}
        return {name: change(name, None, value) for name, value in values.items() if value not in (None, "", [], {})}
    return {}


@receiver(post_create_historical_record)
def write_audit_log(sender, instance, history_instance, history_user, **kwargs):
    changes = _field_changes(history_instance, instance)
    if history_instance.history_type == "~" and not changes:
        return  # a save that changed nothing is not worth an audit line
    AuditLog.objects.create(
        clinic_id=_clinic_id_of(instance),
        user=history_user if getattr(history_user, "pk", None) else None,
        action=HISTORY_ACTIONS[history_instance.history_type],
        entity_type=instance._meta.label_lower,
        entity_name=str(instance._meta.verbose_name).capitalize(),
        entity_id=str(instance.pk),
        entity_repr=str(instance)[:250],
        patient_id=_patient_id_of(instance),
        changes=changes,
        ip_address=history_instance.ip_address,
        user_agent=history_instance.user_agent,
        created_at=history_instance.history_date,
    )


def audit_bulk_created(instances: Sequence[Model], history_rows: list, user: User | None) -> None:
    """The audit lines of rows created in bulk (an import): ``bulk_history_create`` sends no
    signal, so the lines ``write_audit_log`` would write are written here, in one insert."""
    AuditLog.objects.bulk_create(
        [
            AuditLog(
                clinic_id=_clinic_id_of(instance),
                user=user,
                action=AuditLog.Action.CREATE,
                entity_type=instance._meta.label_lower,
                entity_name=str(instance._meta.verbose_name).capitalize(),
                entity_id=str(instance.pk),
                entity_repr=str(instance)[:250],
                patient_id=_patient_id_of(instance),
                changes=_field_changes(history_row, instance),
                created_at=history_row.history_date,
            )
            for instance, history_row in zip(instances, history_rows, strict=True)
        ]
    )


def record_read(
    request: HttpRequest,
    *,
    clinic: Clinic,
    obj: Model,
    action: str = "view",
    patient_id: int | None = None,
) -> ReadAccessLog:
    """Log that ``request.user`` opened ``obj`` (a chart, a document, a result).

    Call it from every view or API endpoint that shows a patient's record; pass
    ``patient_id`` when ``obj`` is not the patient itself.
    """
    return ReadAccessLog.objects.create(
        clinic=clinic,
        user=request.user,
        action=action,
        entity_type=obj._meta.label_lower,
        entity_id=str(obj.pk),
        entity_repr=str(obj)[:250],
        patient_id=patient_id,
        path=request.get_full_path()[:500],
        ip_address=client_ip(request),
        user_agent=client_user_agent(request),
    )


# --- Sign-ins ------------------------------------------------------------------------------


def record_sign_in_event(*, action: str, request: HttpRequest | None, user: User | None = None, email: str = "") -> list[AuditLog]:
    """A sign-in, sign-out, failed sign-in or token issue on the trail of every clinic the
    person works in (with the IP address; never a password). An address nobody has is kept
    without a clinic: the platform's administrators see it."""
    clinic_ids: list[int | None] = list(Membership._base_manager.filter(user=user).values_list("clinic_id", flat=True)) if user else []
    entries = [
        AuditLog(
            clinic_id=clinic_id,
            user=user,
            action=action,
            entity_type="clinicos.user",
            entity_name="User",
            entity_id=str(user.pk) if user else "",
            entity_repr=(user.email if user else email)[:250],
            ip_address=client_ip(request) if request is not None else None,
            user_agent=client_user_agent(request) if request is not None else "",
        )
        for clinic_id in clinic_ids or [None]
    ]
    return AuditLog._base_manager.bulk_create(entries)


@receiver(user_logged_in)
def _signed_in(sender, request, user, **kwargs):
    record_sign_in_event(action=AuditLog.Action.LOGIN, request=request, user=user)


@receiver(user_logged_out)
def _signed_out(sender, request, user, **kwargs):
    if user is not None:
        record_sign_in_event(action=AuditLog.Action.LOGOUT, request=request, user=user)


@receiver(user_login_failed)
def _sign_in_failed(sender, credentials, request=None, **kwargs):
    email = str(credentials.get("email") or credentials.get("username") or "").strip().lower()[:250]
    user = User.objects.filter(email__iexact=email).first() if email else None
    record_sign_in_event(action=AuditLog.Action.LOGIN_FAILED, request=request, user=user, email=email)
