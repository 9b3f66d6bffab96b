"""Every write of core data: clinics and their settings, staff (invitations, roles,
deactivation), doctors' profiles, departments, rooms and machines, API tokens.

Services are keyword-only, validate, and run in one transaction. Views and the API
call them; neither writes models directly.
"""

import hashlib
import logging
import secrets
from collections import Counter

from allauth.account.adapter import get_adapter
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP
from django.conf import settings
from django.contrib.auth import logout
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import F, ProtectedError
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import constant_time_compare

from clinicos import selectors
from clinicos.audit import record_sign_in_event
from clinicos.errors import Conflict, DomainError
from clinicos.models import ApiToken, AuditLog, Clinic, Department, DoctorProfile, Membership, Notification, Resource, User
from clinicos.roles import Role
from clinicos.tax import clean_tax_registration
from clinicos.text import check_no_nul
from clinicos.uploads import IMAGE_TYPES, check_upload

logger = logging.getLogger(__name__)

LOGIN_FAILED_MESSAGE = "The email address or password is not correct."
MFA_REQUIRED_MESSAGE = "This account uses two-factor authentication: send the 6-digit code as otp_code."
MFA_FAILED_MESSAGE = "The two-factor code is not correct."
RATE_LIMITED_MESSAGE = "Too many failed login attempts. Please wait a few minutes and try again."


class LoginFailed(Exception):
    pass


class LoginRateLimited(Exception):
    pass


# --- Clinics ------------------------------------------------------------------------------

# The clinic's rules (the Rules box of Settings); features that add a rule add it here.
CLINIC_RULE_FIELDS = (
    "require_admin_mfa",
    "require_clinical_mfa",
    "doctors_see_all_patients",
    "vitals_required_before_consultation",
    "bmi_asian_cutoffs",
    "critical_result_escalation_minutes",
    "invoice_requires_completed_visit",
    "invoice_due_days",
)
CLINIC_EDITABLE_FIELDS = (
    "name",
    "phone",
    "email",
    "address",
    "city",
    "state",
    "country",
    "timezone",
    "currency",
    "registration_details",
    "tax_id",
    "financial_year_start_month",
    *CLINIC_RULE_FIELDS,
)
IMAGE_MAX_UPLOAD_BYTES = 2 * 1024 * 1024


@transaction.atomic
def clinic_update(*, clinic: Clinic, **changes) -> Clinic:
    """Change a clinic's own settings (its code, UHID prefix and status belong to the
    platform administrator). The tax number is checked for the clinic's country."""
    unknown = set(changes) - set(CLINIC_EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"Not editable here: {', '.join(sorted(unknown))}")
    check_no_nul(**{field: value for field, value in changes.items() if isinstance(value, str)})
    clinic = Clinic.objects.select_for_update().get(pk=clinic.pk)
    for field, value in changes.items():
        setattr(clinic, field, value)
    clinic.tax_id, clinic.state = clean_tax_registration(country=clinic.country, state=clinic.state, tax_id=clinic.tax_id)
    clinic.full_clean()
    clinic.save()
    return clinic


def _store_image(instance, field: str, upload: UploadedFile | None) -> None:
    """Replace (or with ``None`` remove) an image of ``instance``: checked by content
    like documents, stored under a random name; the old file is removed after commit."""
    old_file = getattr(instance, field)
    old_name = old_file.name if old_file else ""
    if upload is None:
        setattr(instance, field, "")
        setattr(instance, f"{field}_content_type", "")
    else:
        checked = check_upload(upload, allowed=IMAGE_TYPES, max_bytes=IMAGE_MAX_UPLOAD_BYTES, field=field)
        getattr(instance, field).save(upload.name or field, checked.file, save=False)
        setattr(instance, f"{field}_content_type", checked.content_type)
    if old_name:
        storage = old_file.storage
        transaction.on_commit(lambda: storage.delete(old_name))


@transaction.atomic
def clinic_logo_set(*, clinic: Clinic, upload: UploadedFile | None) -> Clinic:
    """The letterhead's logo (PNG, JPEG or WebP, up to 2 MB); ``None`` removes it."""
    clinic = Clinic.objects.select_for_update().get(pk=clinic.pk)
    _store_image(clinic, "logo", upload)
    clinic.save()
    return clinic


# --- Staff: invitations, roles, deactivation --------------------------------------------

LAST_ADMIN_MESSAGE = "{clinic} needs at least one active administrator: make someone else an administrator first."
ALREADY_STAFF_MESSAGE = "{email} is already on the staff of {clinic}."


class EmailNotSent(DomainError):
    """The mail server refused the invitation; nothing was saved."""

    status_code = 503


@transaction.atomic
def membership_grant(*, clinic: Clinic, user: User, roles: list[str]) -> Membership:
    """Give a user roles in a clinic (creating or re-activating the membership)."""
    membership = Membership.objects.select_for_update().filter(clinic=clinic, user=user).first()
    if membership is None:
        membership = Membership(clinic=clinic, user=user)
    roles = list(dict.fromkeys(roles))
    if membership.pk and membership.roles == roles and membership.is_active:
        return membership  # nothing to change, nothing to record
    membership.roles = roles
    membership.is_active = True
    membership.full_clean()
    membership.save()
    doctor_profile_sync(membership)
    return membership


def _normalized_email(email: str) -> str:
    email = (email or "").strip().lower()
    check_no_nul(email=email)
    if not email:
        raise ValidationError({"email": "Enter the person's email address."})
    try:
        validate_email(email)
    except ValidationError:
        raise ValidationError({"email": "Enter a valid email address, e.g. asha@example.com."}) from None
    return email


@transaction.atomic
def staff_invite(
    *, clinic: Clinic, invited_by: User, email: str, full_name: str, roles: list[str], base_url: str
) -> tuple[Membership, bool]:
    """Add a person to the clinic's staff with ``roles``. Someone without an account
    gets one, with no password, and an email with a link to set it (allauth's reset
    flow); someone with an account (a doctor of another clinic) simply gains the
    membership. Returns the membership and whether an invitation was sent."""
    email = _normalized_email(email)
    full_name = (full_name or "").strip()
    check_no_nul(full_name=full_name)
    _lock_clinic(clinic)
    user = User.objects.filter(email__iexact=email).first()
    if user is not None:
        membership = Membership.objects.select_for_update().filter(clinic=clinic, user=user).first()
        if membership is not None and membership.is_active:
            raise Conflict(ALREADY_STAFF_MESSAGE.format(email=email, clinic=clinic.name))
    else:
        if not full_name:
            raise ValidationError({"full_name": "Enter the person's full name."})
        if len(full_name) > 150:
            raise ValidationError({"full_name": "Use at most 150 characters."})
        user = User(email=email, full_name=full_name)
        user.set_unusable_password()
        user.full_clean()
        user.save()
        membership = None
    if membership is None:
        membership = Membership(clinic=clinic, user=user)
    membership.roles = list(dict.fromkeys(roles or []))
    membership.is_active = True
    invite = user.has_pending_invitation
    if invite:
        membership.invited_at = timezone.now()
        membership.invited_by = invited_by
    membership.full_clean()
    membership.save()
    doctor_profile_sync(membership)
    if invite:
        _send_invitation(membership, base_url=base_url)
    return membership, invite


@transaction.atomic
def staff_invitation_resend(*, membership: Membership, invited_by: User, base_url: str) -> Membership:
    """Send the set-your-password email again (a new link; earlier ones stay valid until
    the password is set or they expire)."""
    membership = Membership.objects.select_for_update().select_related("user", "clinic").get(pk=membership.pk)
    if not membership.user.has_pending_invitation:
        raise Conflict(f"{membership.user.full_name} has already set a password: they can use “Forgot password?” on the login page.")
    if not membership.is_active:
        raise Conflict("Reactivate this membership before inviting the person again.")
    membership.invited_at = timezone.now()
    membership.invited_by = invited_by
    membership.save(update_fields=["invited_at", "invited_by", "updated_at"])
    _send_invitation(membership, base_url=base_url)
    return membership


def invitation_url(user: User, base_url: str) -> str:
    """allauth's password-reset link: setting a password is how an invitation is accepted."""
    from allauth.account.forms import default_token_generator
    from allauth.account.utils import user_pk_to_url_str

    path = reverse(
        "account_reset_password_from_key", kwargs={"uidb36": user_pk_to_url_str(user), "key": default_token_generator.make_token(user)}
    )
    return base_url.rstrip("/") + path


def _send_invitation(membership: Membership, *, base_url: str) -> None:
    context = {
        "membership": membership,
        "clinic": membership.clinic,
        "user": membership.user,
        "invited_by": membership.invited_by,
        "url": invitation_url(membership.user, base_url),
        "days": settings.PASSWORD_RESET_TIMEOUT // 86400,
    }
    subject = render_to_string("clinicos/email/invitation_subject.txt", context).strip()
    body = render_to_string("clinicos/email/invitation_message.txt", context)
    try:
        send_mail(subject, body, None, [membership.user.email])
    except Exception as exc:  # SMTP down, refused address: say so, keep nothing
        logger.exception("Invitation to %s could not be sent", membership.user.email)
        raise EmailNotSent("The invitation email could not be sent; nothing was saved. Please try again in a few minutes.") from exc


def _lock_clinic(clinic: Clinic) -> None:
    # Staff changes of one clinic queue on its row, so that two administrators demoting
    # each other at once cannot leave it without an administrator.
    Clinic.objects.select_for_update().filter(pk=clinic.pk).first()


@transaction.atomic
def staff_update(*, membership: Membership, roles: list[str] | None = None, is_active: bool | None = None) -> Membership:
    """Change a membership's roles and/or switch it off or on. Switching off ends the
    person's sessions and API tokens at once and takes them out of round-robin and
    booking; the clinic always keeps one active administrator."""
    _lock_clinic(membership.clinic)
    membership = Membership.objects.select_for_update().select_related("user", "clinic").get(pk=membership.pk)
    was_active = membership.is_active
    was_admin = was_active and Role.ADMIN in membership.roles
    if roles is not None:
        membership.roles = list(dict.fromkeys(roles))
    if is_active is not None:
        membership.is_active = is_active
    membership.full_clean()
    is_admin = membership.is_active and Role.ADMIN in membership.roles
    if was_admin and not is_admin and not _has_other_active_admin(membership):
        raise Conflict(LAST_ADMIN_MESSAGE.format(clinic=membership.clinic.name))
    membership.save()
    doctor_profile_sync(membership)
    if was_active and not membership.is_active:
        user_sign_out_everywhere(user=membership.user)
    return membership


def _has_other_active_admin(membership: Membership) -> bool:
    # A clinic has tens of staff, and JSON containment is not portable to SQLite: read
    # the active memberships' roles and look.
    others = Membership.objects.filter(clinic=membership.clinic, is_active=True).exclude(pk=membership.pk)
    return any(Role.ADMIN in roles for roles in others.values_list("roles", flat=True))


def membership_set_active(*, membership: Membership, active: bool) -> Membership:
    """Deactivate (or reactivate) a user's place in a clinic (see ``staff_update``)."""
    return staff_update(membership=membership, is_active=active)


def user_sign_out_everywhere(*, user: User) -> None:
    """End every session and API token of ``user`` at once: the sign-out generation is
    part of the session hash that Django checks on each request and that tokens keep."""
    User.objects.filter(pk=user.pk).update(sign_out_generation=F("sign_out_generation") + 1)
    user.refresh_from_db(fields=["sign_out_generation"])
    api_tokens_revoke(user=user)


def doctor_profile_sync(membership: Membership) -> None:
    """A doctor takes appointments only while their membership is active and holds the
    doctor role: switching either off takes them out of booking, switching back on
    brings them back."""
    should_take_appointments = membership.is_active and Role.DOCTOR in membership.roles
    profile = DoctorProfile.objects.select_for_update().filter(clinic=membership.clinic_id, user=membership.user_id).first()
    if profile is not None and profile.is_active != should_take_appointments:
        profile.is_active = should_take_appointments
        profile.save()


# --- Doctors' profiles --------------------------------------------------------------------

# Admins edit every field; a doctor edits their own professional details.
DOCTOR_PROFILE_FIELDS = (
    "specialization",
    "qualifications",
    "registration_number",
    "registration_council",
    "department",
    "consultation_fee",
    "color",
    "is_public",
    "is_active",
)
DOCTOR_SELF_EDITABLE_FIELDS = ("specialization", "qualifications", "registration_number", "registration_council", "color")


@transaction.atomic
def doctor_profile_save(
    *, clinic: Clinic, user: User, signature: UploadedFile | None = None, remove_signature: bool = False, **fields
) -> DoctorProfile:
    """Create or change a doctor's profile in ``clinic``. The user must be on the
    clinic's staff as a doctor; the department must be one of the clinic's."""
    unknown = set(fields) - set(DOCTOR_PROFILE_FIELDS)
    if unknown:
        raise ValueError(f"Not editable here: {', '.join(sorted(unknown))}")
    check_no_nul(**{field: value for field, value in fields.items() if isinstance(value, str)})
    department = fields.get("department")
    if department is not None and department.clinic_id != clinic.pk:
        raise ValidationError({"department": "Choose one of this clinic's departments."})
    profile = DoctorProfile.objects.select_for_update().filter(clinic=clinic, user=user).first()
    if profile is None:
        profile = DoctorProfile(clinic=clinic, user=user)
    elif signature is None and not remove_signature and all(getattr(profile, field) == value for field, value in fields.items()):
        return profile  # nothing to change, nothing to record
    for field, value in fields.items():
        setattr(profile, field, value)
    if signature is not None or (remove_signature and profile.signature):
        _store_image(profile, "signature", signature)
    profile.full_clean()
    profile.save()
    return profile


# --- Departments, rooms and machines ------------------------------------------------------

DEPARTMENT_FIELDS = ("name", "description", "is_active")
RESOURCE_FIELDS = ("name", "kind", "department", "is_active")


class InUse(Conflict):
    """A row other records still point to: deactivate it instead."""


@transaction.atomic
def department_save(*, clinic: Clinic, data: dict, department: Department | None = None) -> Department:
    unknown = set(data) - set(DEPARTMENT_FIELDS)
    if unknown:
        raise ValueError(f"Not editable here: {', '.join(sorted(unknown))}")
    if department is None:
        department = Department(clinic=clinic)
    else:
        department = Department.objects.select_for_update().get(pk=department.pk, clinic=clinic)
    for field, value in data.items():
        setattr(department, field, value.strip() if isinstance(value, str) else value)
    check_no_nul(name=department.name, description=department.description)
    if not department.name:
        raise ValidationError({"name": "Enter the department's name."})
    _check_name_free(Department, clinic, department, "This clinic already has a department called “{name}”.")
    department.full_clean(validate_constraints=False)
    return _save_unique(department, "This clinic already has a department called “{name}”.")


@transaction.atomic
def department_delete(*, department: Department) -> None:
    """Remove a department nobody uses; one still used by doctors, rooms or services is
    refused (deactivate it instead: it leaves the pickers and keeps the records)."""
    department = Department.objects.select_for_update().get(pk=department.pk)
    try:
        with transaction.atomic():
            department.delete()
    except ProtectedError as exc:
        raise InUse(
            f"{department.name} is still used by {_describe(exc.protected_objects)}: deactivate it instead, or move them to another department first."
        ) from None


def _describe(objects) -> str:
    counts = Counter(obj._meta for obj in objects)
    # Sorted by name: the order of Django's protected set varies between databases.
    ordered = sorted(counts.items(), key=lambda item: str(item[0].verbose_name))
    parts = [f"{n} {meta.verbose_name if n == 1 else meta.verbose_name_plural}" for meta, n in ordered]
    return ", ".join(parts[:-1]) + " and " + parts[-1] if len(parts) > 1 else parts[0]


@transaction.atomic
def resource_save(*, clinic: Clinic, data: dict, resource: Resource | None = None) -> Resource:
    """Add a room or machine, or rename, move or (de)activate one."""
    unknown = set(data) - set(RESOURCE_FIELDS)
    if unknown:
        raise ValueError(f"Not editable here: {', '.join(sorted(unknown))}")
    department = data.get("department")
    if department is not None and department.clinic_id != clinic.pk:
        raise ValidationError({"department": "Choose one of this clinic's departments."})
    if resource is None:
        resource = Resource(clinic=clinic)
    else:
        resource = Resource.objects.select_for_update().get(pk=resource.pk, clinic=clinic)
    for field, value in data.items():
        setattr(resource, field, value.strip() if isinstance(value, str) else value)
    check_no_nul(name=resource.name)
    if not resource.name:
        raise ValidationError({"name": "Enter a name, e.g. Consulting room 2 or Ultrasound."})
    _check_name_free(Resource, clinic, resource, "This clinic already has a room or machine called “{name}”.")
    resource.full_clean(validate_constraints=False)
    return _save_unique(resource, "This clinic already has a room or machine called “{name}”.")


def _check_name_free(model, clinic: Clinic, instance, message: str) -> None:
    taken = model.objects.filter(clinic=clinic, name__iexact=instance.name).exclude(pk=instance.pk).exists()
    if taken:
        raise ValidationError({"name": message.format(name=instance.name)})


def _save_unique(instance, message: str):
    # Two administrators adding the same name at once: the unique constraint decides.
    try:
        with transaction.atomic():
            instance.save()
    except IntegrityError:
        raise ValidationError({"name": message.format(name=instance.name)}) from None
    return instance


# --- API tokens ---------------------------------------------------------------------------


def _hash_token(raw_token: str) -> str:
    return hashlib.sha256(raw_token.encode()).hexdigest()


def api_token_issue(*, user: User) -> tuple[str, ApiToken]:
    raw_token = secrets.token_urlsafe(32)
    api_token = ApiToken.objects.create(
        user=user,
        key_hash=_hash_token(raw_token),
        expires_at=timezone.now() + settings.API_TOKEN_LIFETIME,
        password_fingerprint=user.get_session_auth_hash(),
    )
    return raw_token, api_token


def api_token_authenticate(*, raw_token: str) -> ApiToken | None:
    """The token's row if it is valid: not revoked or expired, its user active, and the
    user's password unchanged since it was issued (like Django's sessions, a new password
    ends every token)."""
    api_token = (
        ApiToken.objects.select_related("user")
        .filter(key_hash=_hash_token(raw_token), revoked_at__isnull=True, expires_at__gt=timezone.now())
        .first()
    )
    if api_token is None or not api_token.user.is_active:
        return None
    if not constant_time_compare(api_token.password_fingerprint, api_token.user.get_session_auth_hash()):
        return None
    return api_token


def api_tokens_revoke(*, user: User) -> int:
    """End every API token of a user (a deactivated membership, a suspected leak)."""
    return ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=timezone.now())


def _second_factor_ok(user: User, code: str) -> bool:
    code = code.strip().replace(" ", "")
    for authenticator in Authenticator.objects.filter(user=user):
        if authenticator.type == Authenticator.Type.TOTP and TOTP(authenticator).validate_code(code):
            return True
        if authenticator.type == Authenticator.Type.RECOVERY_CODES and RecoveryCodes(authenticator).validate_code(code):
            return True
    return False


def api_login(*, request, email: str, password: str, otp_code: str | None) -> tuple[User, str, ApiToken]:
    """Check the credentials exactly as the login page does (same rate limits) and issue
    a token. Users with two-factor authentication must also send a current code."""
    adapter = get_adapter(request)
    try:
        user = adapter.authenticate(request, email=email.strip().lower(), password=password)
    except ValidationError as exc:
        raise LoginRateLimited(RATE_LIMITED_MESSAGE) from exc
    if user is None or not user.is_active:
        raise LoginFailed(LOGIN_FAILED_MESSAGE)
    if Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists():
        if not otp_code:
            raise LoginFailed(MFA_REQUIRED_MESSAGE)
        if not _second_factor_ok(user, otp_code):
            raise LoginFailed(MFA_FAILED_MESSAGE)
    raw_token, api_token = api_token_issue(user=user)
    record_sign_in_event(action=AuditLog.Action.TOKEN, request=request, user=user)
    # A token login is a login: the staff list's "last login" shows it.
    user.last_login = timezone.now()
    User.objects.filter(pk=user.pk).update(last_login=user.last_login)
    return user, raw_token, api_token


def api_logout(*, request) -> None:
    api_token = getattr(request, "api_token", None)
    if api_token is not None:
        ApiToken.objects.filter(pk=api_token.pk).update(revoked_at=timezone.now())
    elif request.user.is_authenticated:
        logout(request)


# --- Notifications -------------------------------------------------------------------------


def notify(*, clinic: Clinic, recipients, kind: str, title: str, url: str = "") -> list[Notification]:
    """Tell members of staff something (the bell in the header). Recipients who are not
    active members of the clinic are skipped: a notification never reaches outside it."""
    active = set(Membership.objects.filter(clinic=clinic, is_active=True, user__is_active=True).values_list("user_id", flat=True))
    users = {getattr(recipient, "pk", recipient) for recipient in recipients} & active
    created = Notification.objects.bulk_create(
        [Notification(clinic=clinic, recipient_id=user_id, kind=kind, title=title[:250], url=url[:500]) for user_id in sorted(users)]
    )
    forget_unread_counts(clinic_id=clinic.pk, user_ids=users)
    return created


def forget_unread_counts(*, clinic_id: int, user_ids) -> None:
    """The bells' cached counts are stale: dropped now, and again once this transaction
    commits (a page loaded in between would have cached the count before the change)."""
    keys = [selectors.unread_count_key(clinic_id, user_id) for user_id in user_ids]
    if keys:
        cache.delete_many(keys)
        transaction.on_commit(lambda: cache.delete_many(keys))


def notify_admins(*, clinic: Clinic, kind: str, title: str, url: str = "") -> list[Notification]:
    admins = [membership.user_id for membership in selectors.members_with_role(clinic_id=clinic.pk, role=Role.ADMIN)]
    return notify(clinic=clinic, recipients=admins, kind=kind, title=title, url=url)


def notification_mark_read(*, notification: Notification) -> Notification:
    if notification.read_at is None:
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at"])
        forget_unread_counts(clinic_id=notification.clinic_id, user_ids=[notification.recipient_id])
    return notification


def notifications_mark_all_read(*, clinic: Clinic, user: User) -> int:
    marked = Notification.objects.filter(clinic=clinic, recipient=user, read_at__isnull=True).update(read_at=timezone.now())
    forget_unread_counts(clinic_id=clinic.pk, user_ids=[user.pk])
    return marked
