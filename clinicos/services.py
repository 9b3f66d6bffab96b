"""Every write of core data: clinics, memberships, API tokens.

Services are keyword-only, validate, and run in one transaction. Views and the API
call them; neither writes models directly.
"""

import hashlib
import secrets

from allauth.account.adapter import get_adapter
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP
from django.conf import settings
from django.contrib.auth import logout
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import constant_time_compare

from clinicos.models import ApiToken, Clinic, DoctorProfile, Membership, User

LOGIN_FAILED_MESSAGE = "The email address or password is not correct."
MFA_REQUIRED_MESSAGE = "This account uses two-factor authentication: send the 6-digit code as otp_code."
MFA_FAILED_MESSAGE = "The two-factor code is not correct."
RATE_LIMITED_MESSAGE = "Too many failed login attempts. Please wait a few minutes and try again."


class LoginFailed(Exception):
    pass


class LoginRateLimited(Exception):
    pass


# --- Clinics ------------------------------------------------------------------------------

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
    "require_admin_mfa",
    "doctors_see_all_patients",
)


@transaction.atomic
def clinic_update(*, clinic: Clinic, **changes) -> Clinic:
    """Change a clinic's own settings (its code, UHID prefix and status belong to the
    platform administrator)."""
    unknown = set(changes) - set(CLINIC_EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"Not editable here: {', '.join(sorted(unknown))}")
    clinic = Clinic.objects.select_for_update().get(pk=clinic.pk)
    for field, value in changes.items():
        setattr(clinic, field, value)
    clinic.full_clean()
    clinic.save()
    return clinic


# --- Memberships and doctors ----------------------------------------------------------


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
    return membership


@transaction.atomic
def membership_set_active(*, membership: Membership, active: bool) -> Membership:
    """Deactivate (or reactivate) a user's place in a clinic. Deactivating ends the
    user's API tokens at once: integrations log in again and see only what is left."""
    membership = Membership.objects.select_for_update().get(pk=membership.pk)
    if membership.is_active != active:
        membership.is_active = active
        membership.save()
    if not active:
        api_tokens_revoke(user=membership.user)
    return membership


@transaction.atomic
def doctor_profile_save(*, clinic: Clinic, user: User, **fields) -> DoctorProfile:
    profile = DoctorProfile.objects.select_for_update().filter(clinic=clinic, user=user).first()
    if profile is None:
        profile = DoctorProfile(clinic=clinic, user=user)
    elif all(getattr(profile, field) == value for field, value in fields.items()):
        return profile  # nothing to change, nothing to record
    for field, value in fields.items():
        setattr(profile, field, value)
    profile.full_clean()
    profile.save()
    return profile


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
    return user, raw_token, api_token


def api_logout(*, request) -> None:
    api_token = getattr(request, "api_token", None)
    if api_token is not None:
        ApiToken.objects.filter(pk=api_token.pk).update(revoked_at=timezone.now())
    elif request.user.is_authenticated:
        logout(request)
