import datetime

import pytest
import time_machine
from django.core.cache import cache

from clinicos.roles import Role
from leads import services
from leads.models import Lead, LeadStatus
from leads.tests.factories import LeadFactory
from patients.models import Patient

pytestmark = pytest.mark.django_db
NEW = {"name": "Farzana Begum", "phone": "98860 11223", "source": "Google Ads", "inquiry": "IUI", "gender": "female", "age": 33}


@pytest.fixture
def api(api_client, front_desk):
    """The front desk's integration: a bearer token from POST /api/v1/auth/login."""
    return api_client(front_desk)


@pytest.fixture(autouse=True)
def fresh_cache():
    cache.clear()


def url(clinic, tail=""):
    return f"/api/v1/clinics/{clinic.code}/leads{tail}"


def test_create_list_and_get(api, clinic):
    created = api.post(url(clinic), NEW, content_type="application/json")
    assert created.status_code == 201
    body = created.json()
    assert (body["status"], body["phone"], body["status_label"]) == ("new", "+919886011223", "New Inquiry")
    listed = api.get(url(clinic, "?status=new&search=farz&page=1")).json()
    assert listed["count"] == 1 and listed["results"][0]["id"] == body["id"]
    assert api.get(url(clinic, f"/{body['id']}")).json()["name"] == "Farzana Begum"


def test_create_with_bad_input_answers_422(api, clinic):
    response = api.post(url(clinic), {**NEW, "phone": "abc", "source": "Billboard", "age": 300}, content_type="application/json")
    assert response.status_code == 422
    assert {e["loc"][-1] for e in response.json()["detail"]} == {"phone", "source", "age"}
    assert not Lead.objects.exists()


def test_patch_moves_and_refuses_forbidden_moves_with_409(api, clinic, make_member):
    cro = make_member(Role.CRO)
    lead = LeadFactory(clinic=clinic)
    moved = api.patch(url(clinic, f"/{lead.pk}"), {"status": "contacted", "note": "Called"}, content_type="application/json")
    assert moved.status_code == 200 and moved.json()["status"] == "contacted"
    sent = api.patch(url(clinic, f"/{lead.pk}"), {"status": "stalling"}, content_type="application/json").json()
    assert sent["assigned_to_id"] == cro.pk
    refused = api.patch(url(clinic, f"/{lead.pk}"), {"status": "new"}, content_type="application/json")
    assert refused.status_code == 409 and "cannot move" in refused.json()["detail"]
    no_reason = api.patch(url(clinic, f"/{lead.pk}"), {"status": "lost"}, content_type="application/json")
    assert no_reason.status_code == 422
    lost = api.patch(url(clinic, f"/{lead.pk}"), {"status": "lost", "lost_reason": "Chose another clinic"}, content_type="application/json")
    assert lost.json()["lost_reason"] == "Chose another clinic"
    reopen = api.patch(url(clinic, f"/{lead.pk}"), {"status": "contacted"}, content_type="application/json")
    assert reopen.status_code == 403  # front desk may not reopen
    bad_status = api.patch(url(clinic, f"/{lead.pk}"), {"status": "won"}, content_type="application/json")
    assert bad_status.status_code == 422


def test_convert_answers_201_with_the_patient_then_409(api, clinic):
    lead = LeadFactory(clinic=clinic, status=LeadStatus.CONTACTED, name="Neha Gupta", gender="female", age=30)
    response = api.post(
        url(clinic, f"/{lead.pk}/convert"), {"date_of_birth": "1995-04-02", "city": "Pune"}, content_type="application/json"
    )
    assert response.status_code == 201
    patient = Patient.objects.get()
    assert response.json()["patient"] == {"id": patient.pk, "uhid": patient.uhid}
    assert (patient.city, str(patient.date_of_birth), patient.date_of_birth_is_estimated) == ("Pune", "1995-04-02", False)
    again = api.post(url(clinic, f"/{lead.pk}/convert"), content_type="application/json")
    assert again.status_code == 409
    assert Patient.objects.count() == 1


def test_convert_without_a_body_uses_the_lead(api, clinic):
    lead = LeadFactory(clinic=clinic, name="Asha", gender="female", age=41)
    response = api.post(url(clinic, f"/{lead.pk}/convert"))
    assert response.status_code == 201


def test_convert_with_bad_registration_data_answers_422_and_changes_nothing(api, clinic):
    lead = LeadFactory(clinic=clinic, gender="", age=None)
    response = api.post(url(clinic, f"/{lead.pk}/convert"), {"date_of_birth": "2999-01-01"}, content_type="application/json")
    assert response.status_code == 422
    assert Lead.objects.get(pk=lead.pk).status == "new" and not Patient.objects.exists()


def test_dashboard_endpoints(api, clinic):
    LeadFactory(clinic=clinic, status="converted")
    LeadFactory(clinic=clinic, status="new")
    LeadFactory(clinic=clinic, status="stalling")
    stats = api.get(f"/api/v1/clinics/{clinic.code}/dashboard/stats").json()
    assert (stats["total_leads"], stats["converted"], stats["conversion_rate"], stats["cro_queue"]) == (3, 1, 33.33, 1)
    funnel = api.get(f"/api/v1/clinics/{clinic.code}/dashboard/funnel?date_from=2020-01-01&date_to=2099-12-31").json()
    assert {row["status"]: row["count"] for row in funnel["by_status"]}["stalling"] == 1
    bad = api.get(f"/api/v1/clinics/{clinic.code}/dashboard/stats?date_from=2026-05-01&date_to=2026-04-01")
    assert bad.status_code == 422


def test_roles_without_leads_get_403(api_client, clinic, make_member):
    for role in (Role.DOCTOR, Role.NURSE, Role.BILLING, Role.LAB, Role.PHARMACIST):
        assert api_client(make_member(role)).get(url(clinic)).status_code == 403


# --- Website capture ------------------------------------------------------------------------


@pytest.fixture
def website_key(clinic, clinic_admin):
    key, raw = services.api_key_create(clinic=clinic, user=clinic_admin, name="Website", allowed_origins="https://sunrise.example")
    return raw


def public_post(client, raw_key, body=None, **headers):
    return client.post(
        "/api/v1/public/leads",
        body or {"name": "Web Visitor", "phone": "9845000001", "inquiry": "IVF"},
        content_type="application/json",
        HTTP_X_API_KEY=raw_key,
        **headers,
    )


def test_website_posts_a_lead_with_its_key(client, clinic, website_key):
    response = public_post(client, website_key, HTTP_ORIGIN="https://sunrise.example")
    assert response.status_code == 201
    assert response["Access-Control-Allow-Origin"] == "https://sunrise.example"
    lead = Lead.objects.get()
    assert (lead.clinic, lead.source, lead.created_via) == (clinic, "Website", "website")


def test_keys_are_stored_hashed(clinic, website_key):
    from leads.models import LeadApiKey

    stored = LeadApiKey.objects.get()
    assert website_key not in (stored.key_hash, stored.prefix) and stored.key_hash == services.hash_api_key(website_key)


def test_website_capture_refuses_bad_keys_origins_and_input(client, clinic, clinic_admin, website_key):
    assert public_post(client, "lk_wrong").status_code == 401
    assert public_post(client, website_key, HTTP_ORIGIN="https://evil.example").status_code == 403
    bad = public_post(client, website_key, {"name": "", "phone": "x"})
    assert bad.status_code == 422
    key = services.api_key_authenticate(raw=website_key)
    services.api_key_revoke(key=key)
    assert public_post(client, website_key).status_code == 401
    assert not Lead.objects.exists()


def test_website_capture_is_rate_limited(client, website_key):
    # The limit counts per clock minute: the clock stands still so that the 31 posts share one.
    with time_machine.travel(datetime.datetime(2026, 11, 10, 6, 0, 5, tzinfo=datetime.UTC), tick=False):
        for n in range(30):
            assert public_post(client, website_key, {"name": f"V{n}", "phone": f"98450{n:05d}", "inquiry": "IVF"}).status_code == 201
        assert public_post(client, website_key).status_code == 429


def test_website_duplicates_are_flagged(client, clinic, website_key):
    public_post(client, website_key)
    public_post(client, website_key)
    first, second = Lead.objects.order_by("pk")
    assert second.duplicate_of_lead == first


def test_cors_preflight_answers_only_allowed_origins(client, website_key):
    allowed = client.options("/api/v1/public/leads", HTTP_ORIGIN="https://sunrise.example")
    assert allowed.status_code == 204 and allowed["Access-Control-Allow-Origin"] == "https://sunrise.example"
    other = client.options("/api/v1/public/leads", HTTP_ORIGIN="https://evil.example")
    assert "Access-Control-Allow-Origin" not in other
    # Only keys mentioning the origin are read, and then the origin must match exactly.
    for near_miss in ("https://sunrise.exampl", "https://sunrise.example.evil", "sunrise"):
        assert "Access-Control-Allow-Origin" not in client.options("/api/v1/public/leads", HTTP_ORIGIN=near_miss), near_miss
