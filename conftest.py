"""Shared personas: a clinic with a member for every role, and a user of another clinic;
API clients that log in as integrations do; the browser for end-to-end tests."""

import os

import pytest
from django_scopes import scopes_disabled

from clinicos.roles import Role
from clinicos.tests.factories import ClinicFactory, DoctorProfileFactory, MembershipFactory, UserFactory

# --- Clinic scopes -----------------------------------------------------------------------
# Test code (fixtures, factories, assertions on the database) works across clinics, so
# scopes are off around it, explicitly. Every request the test makes still starts with
# scopes on (clinicos.scoping.ClinicScopeMiddleware), exactly as in production: a view or
# an endpoint that forgets its clinic raises ScopeError in the tests too.


@pytest.fixture(autouse=True)
def _empty_cache():
    """Each test starts with an empty cache, as a fresh server would (cached list counts,
    rate limits and sessions of an earlier test never leak into the next one)."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def _empty_message_outbox():
    """What the memory provider "sent" (``clinicos.messaging.providers.sent``) starts empty."""
    from clinicos.messaging import providers

    providers.sent.clear()
    providers.failures.clear()
    yield
    providers.sent.clear()
    providers.failures.clear()


def pytest_collection_modifyitems(config, items):
    """A test that measures time runs alone (``make test`` runs them after the parallel
    suite, ``-n 0 -m timing``): beside other workers it would measure them."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        alone = pytest.mark.skip(reason="measures time: run alone after the parallel suite (make test does)")
        for item in items:
            if item.get_closest_marker("timing"):
                item.add_marker(alone)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item):
    with scopes_disabled():
        return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    if item.get_closest_marker("scopes_enabled"):
        return (yield)
    with scopes_disabled():
        return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item, nextitem):
    with scopes_disabled():
        return (yield)


def in_clinic_scope(clinic, function):
    """``function`` to run in a new thread, inside ``clinic``'s scope: a thread starts
    with no scope, as a background task does, and must enter one explicitly."""
    from django_scopes import scope

    def run(*args, **kwargs):
        with scope(clinic=clinic):
            return function(*args, **kwargs)

    return run


@pytest.fixture
def clinic(db):
    return ClinicFactory(code="ABC01", name="Sunrise Fertility Centre", uhid_prefix="JAN", timezone="Asia/Kolkata")


@pytest.fixture
def other_clinic(db):
    return ClinicFactory(code="XYZ02", name="Lakeside Family Clinic", uhid_prefix="LFC", timezone="Europe/London", currency="GBP")


@pytest.fixture
def make_member(clinic):
    """make_member(Role.NURSE) -> a user with that role in ``clinic``."""

    def make(*roles: Role, in_clinic=None):
        target = in_clinic or clinic
        user = UserFactory(full_name=f"{'/'.join(role.label for role in roles)} User")
        MembershipFactory(clinic=target, user=user, roles=[role.value for role in roles])
        return user

    return make


@pytest.fixture
def clinic_admin(make_member):
    return make_member(Role.ADMIN)


@pytest.fixture
def clinician(clinic):
    profile = DoctorProfileFactory(clinic=clinic, user=UserFactory(full_name="Kavya Rao"), specialization="Reproductive Medicine")
    return profile.user


@pytest.fixture
def front_desk(make_member):
    return make_member(Role.FRONT_DESK)


@pytest.fixture
def outsider(make_member, other_clinic):
    """An admin of another clinic: must never see anything of ``clinic``."""
    return make_member(Role.ADMIN, in_clinic=other_clinic)


@pytest.fixture
def login(client):
    def do_login(user):
        client.force_login(user)
        return client

    return do_login


# --- The API as integrations call it ---------------------------------------------------


class ApiClient:
    """A Django test client that logs in through ``POST /api/v1/auth/login`` and sends
    ``Authorization: Bearer <token>`` on every call, as an integration does."""

    def __init__(self, client, user, password=None, *, token=None):
        from clinicos.tests.factories import TEST_PASSWORD

        self.client = client
        self.user = user
        if token is not None:  # a token this user logged in for earlier (the URL walk's shared ones)
            self.token = token
            return
        response = client.post(
            "/api/v1/auth/login", {"email": user.email, "password": password or TEST_PASSWORD}, content_type="application/json"
        )
        assert response.status_code == 200, response.content
        self.token = response.json()["token"]
        client.logout()  # nothing but the token authenticates what follows

    def _call(self, method, path, data=None, **extra):
        extra.setdefault("HTTP_AUTHORIZATION", f"Bearer {self.token}")
        call = getattr(self.client, method)
        if data is None:
            return call(path, **extra)
        is_upload = isinstance(data, dict) and any(hasattr(value, "read") for value in data.values())
        if method != "get" and not is_upload:
            extra.setdefault("content_type", "application/json")  # JSON bodies, as integrations send
        return call(path, data, **extra)

    def get(self, path, data=None, **extra):
        return self._call("get", path, data, **extra)

    def post(self, path, data=None, **extra):
        return self._call("post", path, data, **extra)

    def patch(self, path, data=None, **extra):
        return self._call("patch", path, data, **extra)

    def put(self, path, data=None, **extra):
        return self._call("put", path, data, **extra)

    def delete(self, path, **extra):
        return self._call("delete", path, None, **extra)


@pytest.fixture
def api_client(client):
    """api_client(user) -> an ApiClient holding a bearer token of ``user``."""
    from django.core.cache import cache

    cache.clear()  # login rate limits from earlier tests must not refuse the login

    def make(user, password=None):
        return ApiClient(client, user, password)

    return make


# --- End-to-end: Playwright driving Debian's Chromium ---------------------------------

import shutil  # noqa: E402
from pathlib import Path  # noqa: E402

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCREENSHOTS = Path(__file__).resolve().parent / "test-artifacts" / "screenshots"
VIEWPORTS = {"desktop": {"width": 1280, "height": 800}, "tablet": {"width": 800, "height": 1280}, "phone": {"width": 390, "height": 844}}


@pytest.fixture(scope="session")
def browser():
    if not (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM)):
        pytest.skip(f"No Chromium at {CHROMIUM}: install Debian's chromium package to run the end-to-end tests")
    # Playwright's sync API runs an event loop in this thread; Django's ORM calls made by
    # the test itself are still plain synchronous calls.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def open_page(browser, live_server):
    """open_page("desktop"|"tablet"|"phone") -> a fresh page (own cookies) on the live server."""
    contexts = []

    def make(viewport="desktop"):
        context = browser.new_context(viewport=VIEWPORTS[viewport], base_url=live_server.url)
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def screenshot():
    """screenshot(page, name) -> the PNG's path. Screenshots are for people to look at:
    on a busy machine a full-page capture can fail ("Unable to capture screenshot"), so it
    is retried, then taken of the viewport only, and a capture that still fails is a
    warning, never a failed test."""
    import warnings

    from playwright.sync_api import Error as PlaywrightError

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page, name):
        path = SCREENSHOTS / f"{name}.png"
        for attempt, full_page in ((1, True), (2, True), (3, False)):
            try:
                page.screenshot(path=str(path), full_page=full_page, timeout=15_000)
                return path
            except PlaywrightError as error:
                if attempt == 3:
                    warnings.warn(f"No screenshot {name}: {error}", stacklevel=2)
                    return None
                page.wait_for_timeout(500 * attempt)
        return None

    return take


@pytest.fixture(scope="session")
def demo_snapshot(django_db_setup, django_db_blocker):
    """The demo clinics, seeded once per test process (each xdist worker has its own
    database) and kept as a copy of every table. The database is then put back exactly as
    the migrations left it, so tests that do not ask for the demo never see it."""
    from django.core.management import call_command

    from clinicos.tests.snapshot import TableSnapshot

    migrated, demo = TableSnapshot("snap_migrated_"), TableSnapshot("snap_demo_")
    with django_db_blocker.unblock():
        migrated.take()
        with open(os.devnull, "w") as quiet:
            call_command("seed_demo", stdout=quiet)
        demo.take()
        migrated.restore()
    return demo


@pytest.fixture
def demo_data(demo_snapshot, db):
    """The demo clinics, as ``manage.py seed_demo`` leaves them, at the start of the test.
    In a test's transaction (``db``) they go with its rollback; in a browser test (the live
    server makes it transactional) they are committed and flushed after the test."""
    demo_snapshot.restore()


DEMO_PASSWORD = "Demo-Clinic-2025!"


def browser_login(page, email, password=DEMO_PASSWORD):
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
