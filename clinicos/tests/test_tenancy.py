import pytest
from allauth.mfa.models import Authenticator

from clinicos.models import Clinic, Membership
from clinicos.roles import Role
from clinicos.tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db


def test_member_enters_their_clinic_with_the_code_in_any_case(login, front_desk, clinic):
    response = login(front_desk).get("/c/abc01/")
    assert response.status_code == 200
    assert response.context["current_clinic"] == clinic


def test_user_of_another_clinic_gets_404_without_learning_anything(login, outsider, clinic):
    response = login(outsider).get(f"/c/{clinic.code}/settings/")
    assert response.status_code == 404
    body = response.content.decode()
    assert clinic.name not in body and "Staff" not in body


def test_unknown_clinic_gives_404(login, front_desk):
    assert login(front_desk).get("/c/NOPE9/").status_code == 404


def test_inactive_clinic_cannot_be_entered(login, front_desk, clinic):
    Clinic.objects.filter(pk=clinic.pk).update(status=Clinic.Status.INACTIVE)
    assert login(front_desk).get(f"/c/{clinic.code}/").status_code == 404


def test_inactive_membership_cannot_enter(login, front_desk, clinic):
    Membership.objects.filter(user=front_desk).update(is_active=False)
    assert login(front_desk).get(f"/c/{clinic.code}/").status_code == 404


def test_suspended_clinic_is_readable_with_a_banner(login, clinic_admin, clinic):
    Clinic.objects.filter(pk=clinic.pk).update(status=Clinic.Status.SUSPENDED)
    response = login(clinic_admin).get(f"/c/{clinic.code}/")
    assert response.status_code == 200
    assert "This clinic is suspended" in response.content.decode()


def test_suspended_clinic_refuses_writes_with_a_clear_message_and_stores_nothing(login, clinic_admin, clinic):
    Clinic.objects.filter(pk=clinic.pk).update(status=Clinic.Status.SUSPENDED)
    response = login(clinic_admin).post(
        f"/c/{clinic.code}/settings/", {"name": "Renamed", "timezone": "Asia/Kolkata", "currency": "INR", "country": "IN"}
    )
    assert response.status_code == 403
    assert "suspended" in response.content.decode()
    clinic.refresh_from_db()
    assert clinic.name == "Sunrise Fertility Centre"


def test_suspended_clinic_refuses_api_writes(api_client, clinic, clinic_admin):
    from patients.models import Patient

    Clinic.objects.filter(pk=clinic.pk).update(status=Clinic.Status.SUSPENDED)
    api = api_client(clinic_admin)
    new = {"first_name": "Ritu", "gender": "female", "date_of_birth": "1990-01-01", "mobile": "9876501234"}
    response = api.post(f"/api/v1/clinics/{clinic.code}/patients", new)
    assert response.status_code == 403 and "suspended" in response.json()["detail"]
    assert not Patient.objects.exists()
    assert api.get(f"/api/v1/clinics/{clinic.code}/patients").status_code == 200


def test_a_user_with_one_clinic_goes_straight_to_it_after_login(login, front_desk, clinic):
    response = login(front_desk).get("/clinics/")
    assert response.status_code == 302 and response.url == f"/c/{clinic.code}/"


def test_a_user_with_several_clinics_picks_one_and_can_switch(login, clinician, clinic, other_clinic):
    MembershipFactory(clinic=other_clinic, user=clinician, roles=[Role.DOCTOR.value])
    client = login(clinician)
    picker = client.get("/clinics/")
    assert picker.status_code == 200
    body = picker.content.decode()
    assert clinic.name in body and other_clinic.name in body
    dashboard = client.get(f"/c/{other_clinic.code}/").content.decode()
    # The header's switcher offers the other clinic.
    assert f'href="/c/{clinic.code}/"' in dashboard and f'href="/c/{other_clinic.code}/"' in dashboard


def test_user_with_no_clinic_is_told_so(login, db):
    from clinicos.tests.factories import UserFactory

    response = login(UserFactory()).get("/clinics/")
    assert "not a member of any active clinic" in response.content.decode()


def test_clinic_requiring_admin_mfa_sends_admins_to_set_it_up(login, clinic_admin, front_desk, clinic):
    Clinic.objects.filter(pk=clinic.pk).update(require_admin_mfa=True)
    response = login(clinic_admin).get(f"/c/{clinic.code}/")
    assert response.status_code == 302 and response.url == "/accounts/2fa/totp/activate/"
    # Other roles are not asked.
    assert login(front_desk).get(f"/c/{clinic.code}/").status_code == 200
    # Once the admin has TOTP, the clinic opens.
    Authenticator.objects.create(user=clinic_admin, type=Authenticator.Type.TOTP, data={"secret": "JBSWY3DPEHPK3PXP"})
    assert login(clinic_admin).get(f"/c/{clinic.code}/").status_code == 200


def test_clinic_scoped_queries_only_return_the_clinics_rows(clinic, other_clinic):
    from clinicos.models import Department
    from clinicos.tests.factories import DepartmentFactory

    mine = DepartmentFactory(clinic=clinic)
    DepartmentFactory(clinic=other_clinic)
    assert list(Department.objects.for_clinic(clinic)) == [mine]


def test_every_clinic_owned_model_sits_behind_the_clinic_scope():
    """A model with a clinic is clinic-owned: its ``objects`` must be the scoped manager, or
    a query that forgets its clinic would read every clinic's rows instead of raising.
    (Audit history rows are copies written by django-simple-history, read by the audit
    page through ``AuditLog``.)"""
    from django.apps import apps

    from clinicos.models import Clinic
    from clinicos.scoping import ClinicScopedManager

    unscoped = []
    for model in apps.get_models():
        field = next((f for f in model._meta.get_fields() if f.name == "clinic"), None)
        if field is None or getattr(field, "related_model", None) is not Clinic or model.__name__.startswith("Historical"):
            continue
        if not isinstance(model._default_manager, ClinicScopedManager) or not isinstance(model.objects, ClinicScopedManager):
            unscoped.append(model._meta.label)
    assert not unscoped, f"give these models objects = ClinicScopedManager(): {unscoped}"
