"""Reproducers of the defects found by trying the base as a new user and as an
integration would (issue "Base hardening"): each failed before its fix."""

import logging

import pytest
from allauth.mfa.models import Authenticator
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django_scopes import ScopeError

from clinicos import services
from clinicos.models import ApiToken, AuditLog, Clinic, Membership, ReadAccessLog
from clinicos.roles import Role
from clinicos.tests.factories import TEST_PASSWORD
from leads.models import Lead
from leads.tests.factories import LeadFactory
from patients.models import InsuranceProvider, Patient
from patients.tests.factories import MINIMAL_PDF, DocumentFactory, PatientFactory

pytestmark = pytest.mark.django_db


def patients_url(clinic, tail=""):
    return f"/api/v1/clinics/{clinic.code}/patients{tail}"


# --- 1. The API with bearer tokens ------------------------------------------------------


def test_a_chart_read_with_a_token_answers_and_is_logged_with_its_user(api_client, clinic, front_desk):
    patient = PatientFactory(clinic=clinic)
    response = api_client(front_desk).get(patients_url(clinic, f"/{patient.pk}"))
    assert response.status_code == 200 and response.json()["uhid"] == patient.uhid
    entry = ReadAccessLog.objects.get(patient_id=patient.pk)
    assert (entry.user, entry.action) == (front_desk, "api_view")


def test_a_document_download_with_a_token_is_served_and_logged(api_client, clinic, front_desk):
    document = DocumentFactory(clinic=clinic, patient__clinic=clinic)
    response = api_client(front_desk).get(patients_url(clinic, f"/{document.patient_id}/documents/{document.pk}/download"))
    assert response.status_code == 200 and b"".join(response.streaming_content).startswith(b"%PDF")
    assert ReadAccessLog.objects.filter(user=front_desk, action="api_download", entity_id=str(document.pk)).exists()


def test_changes_made_with_a_token_are_in_the_audit_trail_with_their_user(api_client, clinic, front_desk):
    patient = PatientFactory(clinic=clinic, city="Pune")
    response = api_client(front_desk).patch(patients_url(clinic, f"/{patient.pk}"), {"city": "Nagpur"})
    assert response.status_code == 200
    change = AuditLog.objects.filter(entity_type="patients.patient", entity_id=str(patient.pk), action="update").get()
    assert change.user == front_desk and change.changes["city"]["new"] == "Nagpur"


def test_the_clinics_two_factor_rule_applies_to_api_tokens(api_client, clinic, clinic_admin):
    patient = PatientFactory(clinic=clinic)
    Clinic.objects.filter(pk=clinic.pk).update(require_admin_mfa=True)
    api = api_client(clinic_admin)  # password only: the admin never enrolled
    response = api.get(patients_url(clinic, f"/{patient.pk}"))
    assert response.status_code == 403 and "two-factor" in response.json()["detail"]
    assert not ReadAccessLog.objects.exists()
    Authenticator.objects.create(user=clinic_admin, type=Authenticator.Type.TOTP, data={"secret": "JBSWY3DPEHPK3PXP"})
    assert api.get(patients_url(clinic, f"/{patient.pk}")).status_code == 200


def test_a_password_change_ends_every_token(api_client, clinic, front_desk):
    api = api_client(front_desk)
    assert api.get(patients_url(clinic)).status_code == 200
    front_desk.set_password("Another-Password-2!")
    front_desk.save()
    assert api.get(patients_url(clinic)).status_code == 401


def test_a_deactivated_membership_ends_access_and_tokens_at_once(api_client, clinic, front_desk):
    api = api_client(front_desk)
    membership = Membership.objects.get(user=front_desk, clinic=clinic)
    services.membership_set_active(membership=membership, active=False)
    assert api.get(patients_url(clinic)).status_code == 401
    assert not ApiToken.objects.filter(user=front_desk, revoked_at__isnull=True).exists()
    # Even a token issued after the deactivation does not open the clinic.
    assert api_client(front_desk).get(patients_url(clinic)).status_code == 404


# --- 2. Clinic scopes -------------------------------------------------------------------


@pytest.mark.scopes_enabled
def test_a_query_outside_a_clinic_scope_raises(clinic):
    from django_scopes import scope, scopes_disabled

    with scopes_disabled():
        patient = PatientFactory(clinic=clinic)
    for query in (
        lambda: Patient.objects.get(pk=patient.pk),
        lambda: list(Patient.objects.all()),
        lambda: Patient.objects.exists(),
        lambda: Patient.objects.exclude(pk=0).count(),
        lambda: Patient.objects.select_related("assigned_doctor").first(),
        lambda: Lead.objects.filter(clinic=clinic).update(name="x"),
    ):
        with pytest.raises(ScopeError):
            query()
    with scope(clinic=clinic):
        assert Patient.objects.get(pk=patient.pk) == patient


def test_inside_a_clinic_scope_another_clinics_rows_do_not_exist(clinic, other_clinic):
    from django_scopes import scope

    foreign = PatientFactory(clinic=other_clinic)
    with scope(clinic=clinic):
        assert not Patient.objects.filter(pk=foreign.pk).exists()  # even without for_clinic


# --- 3. One path for every rule ----------------------------------------------------------


def test_a_lead_patch_commits_together_or_not_at_all(api_client, clinic, front_desk):
    lead = LeadFactory(clinic=clinic, problem="Before")
    response = api_client(front_desk).patch(f"/api/v1/clinics/{clinic.code}/leads/{lead.pk}", {"problem": "After", "status": "stalling"})
    assert response.status_code == 409  # New → Stalling is not a move the flow allows
    lead.refresh_from_db()
    assert (lead.problem, lead.status) == ("Before", "new")


def test_the_age_limit_is_the_same_for_leads_and_patients(api_client, clinic, front_desk):
    api = api_client(front_desk)
    base = {"name": "Asha Rao", "phone": "9876543210", "source": "Website", "inquiry": "IVF"}
    assert api.post(f"/api/v1/clinics/{clinic.code}/leads", {**base, "age": 125}).status_code == 201
    too_old = api.post(f"/api/v1/clinics/{clinic.code}/leads", {**base, "age": 131})
    assert too_old.status_code == 422 and too_old.json()["detail"][0]["loc"] == ["body", "age"]


def test_the_api_refuses_a_follow_up_in_the_past_like_the_page(api_client, clinic, front_desk):
    lead = LeadFactory(clinic=clinic)
    response = api_client(front_desk).patch(f"/api/v1/clinics/{clinic.code}/leads/{lead.pk}", {"next_follow_up": "2020-01-01"})
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["body", "next_follow_up"]
    lead.refresh_from_db()
    assert lead.next_follow_up is None


def test_insurer_names_are_unique_whatever_their_case_in_the_service(clinic):
    from django.core.exceptions import ValidationError

    from patients.services import insurance_provider_save

    insurance_provider_save(clinic=clinic, data={"name": "Star Health"})
    with pytest.raises(ValidationError) as refused:
        insurance_provider_save(clinic=clinic, data={"name": "star  HEALTH"})
    assert "name" in refused.value.message_dict
    assert InsuranceProvider.objects.count() == 1


def test_domain_errors_answer_with_one_problem_shape(api_client, clinic, front_desk):
    existing = PatientFactory(clinic=clinic, mobile="+919876501234")
    new = {"first_name": "Ritu", "gender": "female", "date_of_birth": "1988-02-29", "mobile": "9876501234"}
    duplicate = api_client(front_desk).post(patients_url(clinic), new)
    assert duplicate.status_code == 409
    assert duplicate.json()["duplicates"] == [{"id": existing.pk, "uhid": existing.uhid, "full_name": existing.full_name}]
    assert isinstance(duplicate.json()["detail"], str)


# --- 4. No request ends in a 500 -------------------------------------------------------------


@pytest.mark.parametrize("query", ["?search=%00", "?search=ab%00cd"])
def test_nul_characters_in_search_boxes_are_stripped(api_client, clinic, front_desk, query):
    api = api_client(front_desk)
    assert api.get(patients_url(clinic, query)).status_code == 200
    assert api.get(f"/api/v1/clinics/{clinic.code}/leads{query}").status_code == 200


def test_nul_characters_in_page_searches_get_a_message(login, clinic, front_desk):
    client = login(front_desk)
    assert client.get(f"/c/{clinic.code}/patients/search/?q=%00").status_code == 200
    response = client.get(f"/c/{clinic.code}/patients/?q=a%00")
    assert response.status_code == 400 and "Null characters are not allowed" in response.content.decode()


def test_nul_characters_in_free_text_are_refused_with_a_message(api_client, clinic, front_desk):
    api = api_client(front_desk)
    patient = PatientFactory(clinic=clinic)
    response = api.patch(patients_url(clinic, f"/{patient.pk}"), {"city": "Pu\x00ne"})
    assert response.status_code == 422 and "NUL" in response.json()["detail"][0]["msg"]
    upload = SimpleUploadedFile("consent.pdf", MINIMAL_PDF, content_type="application/pdf")
    response = api.post(patients_url(clinic, f"/{patient.pk}/documents"), {"file": upload, "name": "a\x00b", "document_type": "consent"})
    assert response.status_code == 422
    assert not patient.documents.exists()


def test_date_filters_at_the_calendars_edges_get_422(api_client, clinic, front_desk):
    api = api_client(front_desk)
    for path in ("appointments", "dashboard/stats", "dashboard/funnel"):
        for query in ("?date_to=9999-12-31", "?date_from=0001-01-01"):
            response = api.get(f"/api/v1/clinics/{clinic.code}/{path}{query}")
            assert response.status_code == 422, f"{path}{query}"
            assert response.json()["detail"][0]["loc"][0] == "query"
    assert api.get(f"/api/v1/clinics/{clinic.code}/availability/free-slots?date=9999-12-31").status_code == 422


@pytest.mark.parametrize("page", ["leads/list/", "leads/dashboard/", "audit/", "patients/"])
def test_date_filters_at_the_calendars_edges_are_form_errors(login, clinic, clinic_admin, page):
    field = "registered_to" if page == "patients/" else "date_to"
    response = login(clinic_admin).get(f"/c/{clinic.code}/{page}?{field}=9999-12-31")
    assert response.status_code == 400 and "Choose a date between" in response.content.decode()


def test_an_unknown_api_path_is_a_json_404_whatever_the_method(client):
    for method in ("get", "post", "put", "patch", "delete"):
        response = getattr(client, method)("/api/v1/no/such/thing")
        assert response.status_code == 404 and response.json() == {"detail": "Not found."}, method


def test_a_broken_multipart_body_under_the_api_is_a_json_400(api_client, clinic, front_desk):
    patient = PatientFactory(clinic=clinic)
    api = api_client(front_desk)
    response = api.client.post(
        patients_url(clinic, f"/{patient.pk}/documents"),
        data=b'--xx\r\nContent-Disposition: form-data; name="file"\r\n',
        content_type="multipart/form-data; boundary=",
        HTTP_AUTHORIZATION=f"Bearer {api.token}",
    )
    assert response.status_code == 400 and "detail" in response.json()


def test_a_password_reset_when_mail_cannot_be_sent_shows_the_usual_page(client, front_desk, settings, caplog):
    settings.MAILERS = {
        "default": {"BACKEND": "django.core.mail.backends.smtp.EmailBackend", "OPTIONS": {"host": "127.0.0.1", "port": 9, "timeout": 2}}
    }
    with caplog.at_level(logging.ERROR, logger="clinicos.adapters"):
        response = client.post("/accounts/password/reset/", {"email": front_desk.email})
    assert response.status_code == 302 and response.url.endswith("/accounts/password/reset/done/")
    assert any("Could not send" in record.getMessage() for record in caplog.records)


# --- 6. Deploy and data hygiene -----------------------------------------------------------


def test_migrate_creates_the_database_cache_table(settings):
    """The deploy's `migrate` runs this migration: no separate createcachetable step."""
    import importlib
    from types import SimpleNamespace

    migration = importlib.import_module("clinicos.migrations.0004_create_cache_table")
    settings.CACHES = {"default": {"BACKEND": "clinicos.cache.FailSoftDatabaseCache", "LOCATION": "deploy_cache"}}
    assert "deploy_cache" not in connection.introspection.table_names()
    migration.create_cache_table(None, SimpleNamespace(connection=connection))
    assert "deploy_cache" in connection.introspection.table_names()


def test_a_broken_cache_never_turns_a_login_into_a_500(client, front_desk, settings):
    settings.CACHES = {"default": {"BACKEND": "clinicos.cache.FailSoftDatabaseCache", "LOCATION": "no_such_cache_table"}}
    from django.core.cache import caches

    caches._settings = None
    response = client.post(
        "/api/v1/auth/login", {"email": front_desk.email, "password": "Wrong-Password-1!"}, content_type="application/json"
    )
    assert response.status_code == 401
    response = client.post("/api/v1/auth/login", {"email": front_desk.email, "password": TEST_PASSWORD}, content_type="application/json")
    assert response.status_code == 200


def test_chart_pages_and_patient_json_are_never_cached(login, api_client, clinic, front_desk):
    patient = PatientFactory(clinic=clinic)
    page = login(front_desk).get(f"/c/{clinic.code}/patients/{patient.pk}/")
    assert "no-store" in page["Cache-Control"] and "private" in page["Cache-Control"]
    data = api_client(front_desk).get(patients_url(clinic, f"/{patient.pk}"))
    assert "no-store" in data["Cache-Control"] and "private" in data["Cache-Control"]


def test_one_locked_out_account_does_not_lock_out_everyone_behind_the_same_address(client, clinic, make_member):
    from django.core.cache import cache

    cache.clear()
    typists = [make_member(Role.FRONT_DESK) for _ in range(3)]
    for typist in typists:
        for _ in range(5):
            client.post("/api/v1/auth/login", {"email": typist.email, "password": "Wrong-1!"}, content_type="application/json")
    locked = client.post("/api/v1/auth/login", {"email": typists[0].email, "password": TEST_PASSWORD}, content_type="application/json")
    assert locked.status_code == 429  # per-account lockout stays
    colleague = make_member(Role.NURSE)
    response = client.post("/api/v1/auth/login", {"email": colleague.email, "password": TEST_PASSWORD}, content_type="application/json")
    assert response.status_code == 200


# --- 5. Every role rule in the matrix, every setting real -----------------------------------


@pytest.fixture
def restricted_clinic(clinic):
    Clinic.objects.filter(pk=clinic.pk).update(doctors_see_all_patients=False)
    clinic.refresh_from_db()
    return clinic


def test_doctors_see_only_their_care_teams_patients_when_the_clinic_says_so(restricted_clinic, clinician, login, api_client, front_desk):
    from scheduling.tests.factories import AppointmentFactory

    clinic = restricted_clinic
    mine = PatientFactory(clinic=clinic, first_name="Anita", assigned_doctor=clinician.doctor_profiles.get())
    booked = AppointmentFactory(clinic=clinic, doctor=clinician.doctor_profiles.get(), patient__first_name="Anjali").patient
    theirs = PatientFactory(clinic=clinic, first_name="Anusha")
    client = login(clinician)
    assert client.get(f"/c/{clinic.code}/patients/{mine.pk}/").status_code == 200
    assert client.get(f"/c/{clinic.code}/patients/{booked.pk}/").status_code == 200
    assert client.get(f"/c/{clinic.code}/patients/{theirs.pk}/").status_code == 404
    listing = client.get(f"/c/{clinic.code}/patients/").content.decode()
    assert "Anita" in listing and "Anjali" in listing and "Anusha" not in listing
    assert "Anusha" not in client.get(f"/c/{clinic.code}/patients/search/?q=anu").content.decode()
    api = api_client(clinician)
    assert api.get(patients_url(clinic, f"/{theirs.pk}")).status_code == 404
    assert {p["id"] for p in api.get(patients_url(clinic)).json()["results"]} == {mine.pk, booked.pk}
    # The front desk still sees everyone.
    assert api_client(front_desk).get(patients_url(clinic)).json()["count"] == 3


def test_an_id_beyond_64_bits_is_a_404_not_a_500(client, clinic, clinic_admin, api_client):
    """SQLite raises OverflowError comparing such an id; PostgreSQL finds nothing."""
    huge = 2**70
    client.force_login(clinic_admin)
    assert client.get(f"/c/{clinic.code}/settings/staff/{huge}/").status_code == 404
    assert client.get(f"/c/{clinic.code}/patients/{huge}/").status_code == 404
    api = api_client(clinic_admin)
    response = api.patch(f"/api/v1/clinics/{clinic.code}/staff/{huge}", {"is_active": False})
    assert response.status_code == 404 and response.json() == {"detail": "Not found."}
