"""Queries per request, held to the scale issue's budgets: at most two of fixed overhead on
any logged-in page (the user and the membership; the session comes from the cache), and
at most twelve for a page, whatever the number of rows behind it."""

import pytest

pytestmark = pytest.mark.django_db


def test_a_logged_in_page_costs_two_queries_before_its_own_work(login, front_desk, clinic, django_assert_num_queries):
    client = login(front_desk)
    client.get(f"/c/{clinic.code}/patients/search/?q=")  # the session is now in the cache
    with django_assert_num_queries(2) as captured:
        response = client.get(f"/c/{clinic.code}/patients/search/?q=")
    assert response.status_code == 200
    tables = " ".join(query["sql"] for query in captured.captured_queries)
    assert "clinicos_user" in tables and "clinicos_membership" in tables and "django_session" not in tables


PAGE_BUDGET = 12


def test_every_benchmarked_page_stays_within_twelve_queries(client, demo_data):
    """The pages ``make bench`` drives, on the demo clinic: each within the budget (the
    dashboards, a panel per figure, have their own budgets in reporting's tests)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django_scopes import scopes_disabled

    from clinicos import benchmark
    from clinicos.models import Clinic, User
    from conftest import DEMO_PASSWORD

    with scopes_disabled():
        pages = [
            p for p in benchmark.probes(Clinic.objects.get(code="ABC01"), logins="abc01.example") if not p.name.startswith("dashboard")
        ]
    assert len(pages) >= 25
    tokens: dict[str, str] = {}
    over = {}
    for page in pages:
        email = f"{page.user}@abc01.example"
        headers = {f"HTTP_{name.upper().replace('-', '_')}": value for name, value in (page.headers or {}).items()}
        if page.api:
            if email not in tokens:
                login = client.post("/api/v1/auth/login", {"email": email, "password": DEMO_PASSWORD}, content_type="application/json")
                tokens[email] = login.json()["token"]
            headers["HTTP_AUTHORIZATION"] = f"Bearer {tokens[email]}"
        else:
            client.force_login(User.objects.get(email=email))
        assert client.get(page.path, **headers).status_code == 200, page  # warm: the session is cached
        with CaptureQueriesContext(connection) as captured:
            client.get(page.path, **headers)
        if len(captured) > PAGE_BUDGET:
            over[page.name] = len(captured)
    assert not over, f"over {PAGE_BUDGET} queries: {over}"
