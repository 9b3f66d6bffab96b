import datetime

import pytest
from django.utils import timezone

from clinicos.audit import record_read
from clinicos.models import AuditLog
from clinicos.roles import Role
from clinicos.tests.factories import AuditLogFactory, DepartmentFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

VALID_SETTINGS = {
    "name": "Sunrise Fertility & IVF Centre",
    "phone": "+918041234567",
    "email": "desk@sunrise.example",
    "address": "12 Residency Road",
    "city": "Bengaluru",
    "state": "Karnataka",
    "country": "IN",
    "timezone": "Asia/Kolkata",
    "currency": "INR",
    "financial_year_start_month": "4",
    "critical_result_escalation_minutes": "30",
    "invoice_requires_completed_visit": "on",
    "invoice_due_days": "0",
    "doctors_see_all_patients": "on",
}


def nav_labels(response):
    return [item["label"] for item in response.context["nav_items"]]


def test_navigation_shows_each_role_only_what_it_may_use(login, make_member, clinic):
    assert nav_labels(login(make_member(Role.ADMIN)).get(f"/c/{clinic.code}/")) == [
        "Dashboard",
        "Leads",
        "Patients",
        "Schedule",
        "Billing",
        "Reports",
        "Insurers",
        "Messages",
        "Settings",
        "Audit",
    ]
    assert nav_labels(login(make_member(Role.FRONT_DESK)).get(f"/c/{clinic.code}/")) == [
        "Dashboard",
        "Leads",
        "Patients",
        "Schedule",
        "Billing",
        "Messages",
    ]
    assert nav_labels(login(make_member(Role.DOCTOR)).get(f"/c/{clinic.code}/")) == ["Dashboard", "Patients", "Schedule", "Lab", "Reports"]
    assert nav_labels(login(make_member(Role.LAB)).get(f"/c/{clinic.code}/")) == ["Dashboard", "Patients", "Lab"]
    assert nav_labels(login(make_member(Role.PHARMACIST)).get(f"/c/{clinic.code}/")) == ["Dashboard", "Patients", "Pharmacy"]
    assert nav_labels(login(make_member(Role.BILLING)).get(f"/c/{clinic.code}/")) == [
        "Dashboard",
        "Patients",
        "Schedule",
        "Billing",
        "Reports",
        "Insurers",
    ]
    assert nav_labels(login(make_member(Role.CRO)).get(f"/c/{clinic.code}/")) == ["Dashboard", "Leads", "Schedule", "Reports", "Messages"]


def test_front_desk_dashboard_shows_the_clinic_the_roles_and_the_clinic_date(login, front_desk, clinic):
    response = login(front_desk).get(f"/c/{clinic.code}/")
    body = response.content.decode()
    today = timezone.localtime(timezone.now(), clinic.tzinfo)
    assert clinic.name in body and "Front desk" in body
    assert today.strftime("%B %Y") in body
    assert "Staff" not in body  # the staff table is for administrators


def test_admin_dashboard_counts_staff_and_lists_doctors(login, clinic_admin, clinician, clinic):
    body = login(clinic_admin).get(f"/c/{clinic.code}/").content.decode()
    assert "Dr. Kavya Rao" in body and "Reproductive Medicine" in body
    assert "Latest changes" in body


def test_doctor_dashboard_shows_their_profile(login, clinician, clinic):
    body = login(clinician).get(f"/c/{clinic.code}/").content.decode()
    assert "Reproductive Medicine" in body and "Registration" in body


def test_dashboard_query_count_is_bounded(login, clinic_admin, clinic, django_assert_max_num_queries):
    client = login(clinic_admin)
    for _ in range(10):
        DepartmentFactory(clinic=clinic)
    # 14 for the page, 4 for Billing's financial snapshot (received, refunded, owed, top
    # services), 15 for the clinic's analytics (reporting.dashboards; every role's dashboard
    # is counted with the demo data in reporting/tests/test_dashboards.py)
    with django_assert_max_num_queries(33):
        response = client.get(f"/c/{clinic.code}/")
    assert response.status_code == 200
    assert "10 departments" in response.content.decode() and "Collected today" in response.content.decode()


def test_settings_are_saved_and_audited_with_ip_and_user_agent(login, clinic_admin, clinic):
    client = login(clinic_admin)
    response = client.post(f"/c/{clinic.code}/settings/", VALID_SETTINGS, REMOTE_ADDR="203.0.113.9", HTTP_USER_AGENT="Tablet/1.0")
    assert response.status_code == 302
    clinic.refresh_from_db()
    assert clinic.name == "Sunrise Fertility & IVF Centre"
    entry = AuditLog.objects.for_clinic(clinic).filter(entity_type="clinicos.clinic", action="update").get()
    assert entry.user == clinic_admin
    assert entry.ip_address == "203.0.113.9" and entry.user_agent == "Tablet/1.0"
    assert entry.changes["name"] == {"label": "Name", "old": "Sunrise Fertility Centre", "new": "Sunrise Fertility & IVF Centre"}
    historical = clinic.history.first()
    assert historical.history_user == clinic_admin and historical.ip_address == "203.0.113.9"


def test_settings_with_bad_input_show_field_errors_and_store_nothing(login, clinic_admin, clinic):
    bad = {**VALID_SETTINGS, "timezone": "Mars/Olympus", "currency": "rupees", "email": "not-an-email", "name": ""}
    response = login(clinic_admin).post(f"/c/{clinic.code}/settings/", bad)
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert set(errors) == {"timezone", "currency", "email", "name"}
    assert "Mars/Olympus" in response.content.decode()
    clinic.refresh_from_db()
    assert clinic.name == "Sunrise Fertility Centre"
    assert not AuditLog.objects.filter(entity_type="clinicos.clinic", action="update").exists()


def test_audit_page_shows_field_changes_and_filters_by_user_model_and_date(login, clinic_admin, front_desk, clinic):
    AuditLogFactory(clinic=clinic, user=front_desk, entity_type="clinicos.department", entity_name="Department", entity_repr="Embryology")
    AuditLogFactory(
        clinic=clinic,
        user=clinic_admin,
        entity_type="clinicos.resource",
        entity_name="Resource",
        entity_repr="Ultrasound",
        changes={"name": {"label": "name", "old": "Scanner", "new": "Ultrasound"}},
        created_at=timezone.now() - datetime.timedelta(days=10),
    )
    client = login(clinic_admin)
    body = client.get(f"/c/{clinic.code}/audit/").content.decode()
    assert "Embryology" in body and "Ultrasound" in body
    assert '<span class="old">Embryo</span>' in body

    by_user = client.get(f"/c/{clinic.code}/audit/", {"user": front_desk.pk}).content.decode()
    assert "Embryology" in by_user and "Ultrasound" not in by_user
    by_model = client.get(f"/c/{clinic.code}/audit/", {"entity_type": "clinicos.resource"}).content.decode()
    assert "Ultrasound" in by_model and "Embryology" not in by_model
    today = timezone.localdate(timezone.now(), clinic.tzinfo).isoformat()
    by_date = client.get(f"/c/{clinic.code}/audit/", {"date_from": today}).content.decode()
    assert "Embryology" in by_date and "Ultrasound" not in by_date


def test_audit_page_never_shows_another_clinics_entries(login, clinic_admin, clinic, other_clinic):
    AuditLogFactory(clinic=other_clinic, entity_repr="Secret Lakeside Room")
    body = login(clinic_admin).get(f"/c/{clinic.code}/audit/").content.decode()
    assert "Secret Lakeside Room" not in body


def test_audit_page_rejects_a_reversed_date_range(login, clinic_admin, clinic):
    response = login(clinic_admin).get(f"/c/{clinic.code}/audit/", {"date_from": "2026-05-10", "date_to": "2026-05-01"})
    assert response.status_code == 400
    assert "The end date must be on or after the start date." in response.content.decode()


def test_audit_page_htmx_request_gets_only_the_results(login, clinic_admin, clinic):
    response = login(clinic_admin).get(f"/c/{clinic.code}/audit/", HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert 'id="audit-results"' in body and "<html" not in body


def test_audit_reads_tab_lists_record_access(login, clinic_admin, front_desk, clinic, rf):
    request = rf.get("/c/ABC01/some-chart/", REMOTE_ADDR="198.51.100.7", HTTP_USER_AGENT="Chrome")
    request.user = front_desk
    record_read(request, clinic=clinic, obj=clinic, action="view")
    body = login(clinic_admin).get(f"/c/{clinic.code}/audit/", {"view": "reads"}).content.decode()
    assert front_desk.full_name in body and "198.51.100.7" in body


def test_audit_page_query_count_does_not_grow_with_entries(login, clinic_admin, clinic, django_assert_max_num_queries):
    client = login(clinic_admin)
    for _ in range(40):
        AuditLogFactory(clinic=clinic)
    with django_assert_max_num_queries(12):
        response = client.get(f"/c/{clinic.code}/audit/")
    assert len(response.context["page"]) >= 40


def test_error_pages_are_friendly(login, front_desk, clinic):
    response = login(front_desk).get(f"/c/{clinic.code}/audit/")
    assert response.status_code == 403
    assert "Your role does not allow this page" in response.content.decode()
    response = login(front_desk).get("/c/NOPE9/")
    assert "Page not found" in response.content.decode()


def test_times_are_shown_in_the_clinics_timezone(login, clinic_admin, clinic, other_clinic):
    moment = datetime.datetime(2026, 1, 1, 0, 0, tzinfo=datetime.UTC)
    AuditLogFactory(clinic=clinic, created_at=moment, entity_repr="Kolkata entry")
    body = login(clinic_admin).get(f"/c/{clinic.code}/audit/").content.decode()
    assert "2026-01-01 05:30:00" in body  # Asia/Kolkata is UTC+5:30

    london_admin = UserFactory()
    MembershipFactory(clinic=other_clinic, user=london_admin, roles=[Role.ADMIN.value])
    AuditLogFactory(clinic=other_clinic, created_at=datetime.datetime(2026, 7, 1, 12, 0, tzinfo=datetime.UTC))
    body = login(london_admin).get(f"/c/{other_clinic.code}/audit/").content.decode()
    assert "2026-07-01 13:00:00" in body  # British Summer Time


def test_unknown_api_paths_answer_json(client):
    response = client.get("/api/v1/no-such-endpoint")
    assert response.status_code == 404 and response.json() == {"detail": "Not found."}


def test_server_errors_under_the_api_answer_json(rf):
    from clinicos.views import server_error

    response = server_error(rf.get("/api/v1/clinics/ABC01/metadata/doctors"))
    assert response.status_code == 500 and response["Content-Type"] == "application/json"


def test_an_expired_form_gets_a_friendly_page_and_stores_nothing(clinic_admin, clinic):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(clinic_admin)
    response = client.post(f"/c/{clinic.code}/settings/", {"name": "Hijacked"})
    assert response.status_code == 403 and "nothing was saved" in response.content.decode()
    clinic.refresh_from_db()
    assert clinic.name != "Hijacked"


def test_guardian_grants_object_permissions(clinic, front_desk):
    from guardian.shortcuts import assign_perm

    from clinicos.models import Department

    department = DepartmentFactory(clinic=clinic)
    other = DepartmentFactory(clinic=clinic)
    assign_perm("clinicos.view_department", front_desk, department)
    front_desk = type(front_desk).objects.get(pk=front_desk.pk)  # fresh permission cache
    assert front_desk.has_perm("clinicos.view_department", department)
    assert not front_desk.has_perm("clinicos.view_department", other)
    assert Department.objects.count() == 2


@pytest.mark.django_db
def test_every_page_names_its_icon_and_favicon_ico_finds_it(client, clinic_admin, clinic):
    from django.contrib.staticfiles import finders

    assert finders.find("img/favicon.svg")
    answer = client.get("/favicon.ico")
    assert answer.status_code == 301 and answer.url.endswith("img/favicon.svg")
    client.force_login(clinic_admin)
    page = client.get(f"/c/{clinic.code}/").content.decode()
    assert '<link rel="icon" href="/static/img/favicon.svg"' in page
    client.logout()
    from django.urls import reverse

    assert '<link rel="icon" href="/static/img/favicon.svg"' in client.get(reverse("portal_login")).content.decode()
