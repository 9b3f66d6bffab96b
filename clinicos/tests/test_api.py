import datetime
import hashlib

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value, yield_hotp_counters_from_time
from django.core.cache import cache
from django.utils import timezone

from clinicos.models import ApiToken
from clinicos.roles import Role
from clinicos.tests.factories import TEST_PASSWORD, DoctorProfileFactory

pytestmark = pytest.mark.django_db
TOTP_SECRET = "JBSWY3DPEHPK3PXP"


@pytest.fixture(autouse=True)
def fresh_rate_limits():
    cache.clear()


def api_login(client, email, password, **extra):
    return client.post("/api/v1/auth/login", {"email": email, "password": password, **extra}, content_type="application/json")


def current_totp_code(secret=TOTP_SECRET):
    counter = next(iter(yield_hotp_counters_from_time()))
    return format_hotp_value(hotp_value(secret, counter))


def test_login_returns_a_token_the_user_and_their_memberships(client, front_desk, clinic):
    response = api_login(client, front_desk.email.upper(), TEST_PASSWORD)
    assert response.status_code == 200
    body = response.json()
    assert body["user"] == {"id": front_desk.pk, "email": front_desk.email, "full_name": front_desk.full_name}
    assert body["memberships"] == [{"clinic": clinic.code, "roles": [Role.FRONT_DESK.value]}]
    # Only the hash of the token is stored, and it expires.
    stored = ApiToken.objects.get(user=front_desk)
    assert stored.key_hash == hashlib.sha256(body["token"].encode()).hexdigest()
    assert body["token"] not in stored.key_hash
    assert stored.expires_at > timezone.now()


def test_token_opens_clinic_endpoints_until_logout(client, front_desk, clinician, clinic):
    token = api_login(client, front_desk.email, TEST_PASSWORD).json()["token"]
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    doctors = client.get(f"/api/v1/clinics/{clinic.code}/metadata/doctors", **auth)
    assert doctors.status_code == 200
    assert client.post("/api/v1/auth/logout", **auth).json() == {"detail": "Logged out."}
    after = client.get(f"/api/v1/clinics/{clinic.code}/metadata/doctors", **auth)
    assert after.status_code == 401 and after.json() == {"detail": "Authentication required."}


def test_expired_or_unknown_token_is_refused(client, front_desk, clinic):
    token = api_login(client, front_desk.email, TEST_PASSWORD).json()["token"]
    ApiToken.objects.update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    assert client.get(f"/api/v1/clinics/{clinic.code}/metadata/enums", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 401
    assert client.get(f"/api/v1/clinics/{clinic.code}/metadata/enums", HTTP_AUTHORIZATION="Bearer made-up").status_code == 401


def test_bad_credentials_get_401_with_a_detail(client, front_desk):
    response = api_login(client, front_desk.email, "Wrong-Password-1!")
    assert response.status_code == 401
    assert response.json() == {"detail": "The email address or password is not correct."}
    assert not ApiToken.objects.exists()


def test_inactive_user_cannot_log_in(client, front_desk):
    front_desk.is_active = False
    front_desk.save()
    assert api_login(client, front_desk.email, TEST_PASSWORD).status_code == 401


def test_missing_fields_get_422_with_field_messages(client):
    response = client.post("/api/v1/auth/login", {"email": "a@b.example"}, content_type="application/json")
    assert response.status_code == 422
    assert any(error["loc"][-1] == "password" for error in response.json()["detail"])
    response = client.post("/api/v1/auth/login", "not json", content_type="application/json")
    assert response.status_code in (400, 422)
    assert "detail" in response.json()


def test_repeated_failures_lock_the_account_for_a_while(client, front_desk):
    for _ in range(5):
        assert api_login(client, front_desk.email, "Wrong-Password-1!").status_code == 401
    locked = api_login(client, front_desk.email, TEST_PASSWORD)
    assert locked.status_code == 429
    assert "Too many failed login attempts" in locked.json()["detail"]


def test_two_factor_users_must_send_a_current_code(client, clinician):
    Authenticator.objects.create(user=clinician, type=Authenticator.Type.TOTP, data={"secret": TOTP_SECRET})
    without = api_login(client, clinician.email, TEST_PASSWORD)
    assert without.status_code == 401 and "two-factor" in without.json()["detail"]
    wrong = api_login(client, clinician.email, TEST_PASSWORD, otp_code="000000")
    assert wrong.status_code == 401
    right = api_login(client, clinician.email, TEST_PASSWORD, otp_code=current_totp_code())
    assert right.status_code == 200 and right.json()["token"]


def test_doctors_metadata_lists_only_this_clinics_active_doctors(api_client, front_desk, clinician, clinic, other_clinic):
    DoctorProfileFactory(clinic=other_clinic, specialization="Dermatology")
    DoctorProfileFactory(clinic=clinic, specialization="Retired", is_active=False)
    response = api_client(front_desk).get(f"/api/v1/clinics/{clinic.code}/metadata/doctors")
    profile = clinician.doctor_profiles.get()
    assert response.json() == [{"id": profile.pk, "full_name": "Kavya Rao", "specialization": "Reproductive Medicine", "color": "#2F6FDE"}]


def test_enums_metadata_lists_every_choice_set(api_client, front_desk, clinic):
    enums = api_client(front_desk).get(f"/api/v1/clinics/{clinic.code}/metadata/enums").json()
    assert {"value": "frontdesk", "label": "Front desk"} in enums["roles"]
    assert [item["value"] for item in enums["genders"]] == ["male", "female", "other"]
    assert {"roles", "genders", "clinic_statuses", "resource_kinds"} <= set(enums)


def test_session_api_writes_need_the_csrf_token(front_desk):
    from django.test import Client

    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(front_desk)
    assert csrf_client.post("/api/v1/auth/logout").status_code == 403


def test_openapi_schema_documents_the_endpoints(client):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    assert {
        "/api/v1/auth/login",
        "/api/v1/auth/logout",
        "/api/v1/clinics/{code}/metadata/doctors",
        "/api/v1/clinics/{code}/metadata/enums",
    } <= set(paths)
