import datetime

import pytest
import time_machine
from django.contrib.auth.password_validation import validate_password
from django.core import mail
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.utils import timezone

from clinicos.tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_rate_limits():
    cache.clear()


def test_staff_log_in_with_email_and_land_in_their_clinic(client, front_desk, clinic):
    response = client.post("/accounts/login/", {"login": front_desk.email, "password": TEST_PASSWORD}, follow=True)
    assert response.redirect_chain[-1][0] == f"/c/{clinic.code}/"
    assert response.status_code == 200


def test_wrong_password_shows_a_message_on_the_login_page(client, front_desk):
    response = client.post("/accounts/login/", {"login": front_desk.email, "password": "Nope-Nope-1!"})
    assert response.status_code == 200
    assert "email address and/or password you specified are not correct" in response.content.decode()


def test_login_is_locked_after_five_failures(client, front_desk):
    for _ in range(5):
        client.post("/accounts/login/", {"login": front_desk.email, "password": "Nope-Nope-1!"})
    response = client.post("/accounts/login/", {"login": front_desk.email, "password": TEST_PASSWORD})
    assert response.status_code == 200  # still the login page, not logged in
    assert "Too many failed login attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_nobody_can_sign_up_on_their_own(client):
    response = client.post("/accounts/signup/", {"email": "new@example.test", "password1": "Str0ng-Pass!", "password2": "Str0ng-Pass!"})
    assert "Sign Up Closed" in response.content.decode() or response.status_code in (403, 302)
    from clinicos.models import User

    assert not User.objects.filter(email="new@example.test").exists()


@pytest.mark.parametrize(
    "password, problem",
    [
        ("Sh0rt!", "too short"),
        ("alllowercase1!", "upper-case"),
        ("ALLUPPERCASE1!", "lower-case"),
        ("NoDigitsHere!", "a digit"),
        ("NoSpecial123", "special character"),
    ],
)
def test_passwords_must_meet_the_specs_rules(password, problem):
    with pytest.raises(ValidationError) as raised:
        validate_password(password)
    assert problem in " ".join(raised.value.messages)


def test_a_strong_password_is_accepted():
    validate_password("Clinic-Day-2026!")


def test_passwords_are_hashed_with_argon2_in_production():
    from clinicos import settings as production

    assert production.PASSWORD_HASHERS[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"


def test_password_reset_sends_an_email(client, front_desk):
    response = client.post("/accounts/password/reset/", {"email": front_desk.email})
    assert response.status_code == 302
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [front_desk.email]
    assert "/accounts/password/reset/key/" in mail.outbox[0].body


def test_admin_login_goes_through_allauth(client):
    response = client.get("/admin/login/?next=/admin/")
    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/")


def test_session_expires_after_thirty_idle_minutes_and_slides_on_activity(client, front_desk, clinic, settings):
    assert settings.SESSION_COOKIE_AGE == 30 * 60
    client.force_login(front_desk)
    client.get(f"/c/{clinic.code}/")
    # Each request pushes the server-side expiry 30 minutes ahead (the cookie itself
    # also ends when the browser closes).
    remaining = client.session.get_expiry_date() - timezone.now()
    assert datetime.timedelta(minutes=29) < remaining <= datetime.timedelta(minutes=30)
    # After the idle window the server no longer knows the session.
    session = client.session
    session.set_expiry(-1)
    session.save()
    response = client.get(f"/c/{clinic.code}/")
    assert response.status_code == 302 and "/accounts/login/" in response.url


def test_the_session_is_saved_at_most_once_a_minute_while_in_use(client, front_desk, clinic):
    from django.contrib.sessions.models import Session

    def stored_expiry():
        return Session.objects.get(session_key=client.session.session_key).expire_date

    client.force_login(front_desk)
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        client.get(f"/c/{clinic.code}/")
        first_expiry = stored_expiry()
        traveller.shift(datetime.timedelta(seconds=30))
        client.get(f"/c/{clinic.code}/")
        assert stored_expiry() == first_expiry  # not written again within the minute
        traveller.shift(datetime.timedelta(seconds=31))
        client.get(f"/c/{clinic.code}/")
        assert stored_expiry() == first_expiry + datetime.timedelta(seconds=61)  # a minute on: the idle window slides


def test_logout_ends_the_session(client, front_desk, clinic):
    client.force_login(front_desk)
    client.post("/accounts/logout/")
    assert client.get(f"/c/{clinic.code}/").status_code == 302
