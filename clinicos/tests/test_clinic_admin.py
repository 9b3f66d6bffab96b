"""Clinic administration: staff invitations, roles and deactivation, doctors' profiles,
departments, rooms and machines, the clinic's own settings — in the pages and in the
API (bearer tokens), with the rules of ``clinicos.services``."""

import re
from decimal import Decimal

import pytest
from allauth.mfa.models import Authenticator
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile

from clinicos import services
from clinicos.models import ApiToken, AuditLog, Clinic, Department, DoctorProfile, Membership, Resource, User
from clinicos.roles import Role
from clinicos.tests.factories import (
    TEST_PASSWORD,
    DepartmentFactory,
    DoctorProfileFactory,
    MembershipFactory,
    ResourceFactory,
    UserFactory,
)
from patients.tests.factories import image_bytes

pytestmark = pytest.mark.django_db

PNG = image_bytes("PNG")
NEW_PASSWORD = "Nurse-Shift-2026!"


def api_url(clinic, path):
    return f"/api/v1/clinics/{clinic.code}/{path}"


def page(clinic, path=""):
    return f"/c/{clinic.code}/settings/{path}"


def invitation_link(message) -> str:
    return re.search(r"https?://\S+/accounts/password/reset/key/\S+", message.body).group(0)


# --- Staff: invitations -------------------------------------------------------------------


def test_inviting_a_new_person_creates_an_account_without_password_and_emails_a_link(client, clinic, clinic_admin):
    client.force_login(clinic_admin)
    response = client.post(page(clinic, "staff/"), {"email": " Asha.Nurse@Example.com ", "full_name": "Asha Nair", "roles": ["nurse"]})
    assert response.status_code == 302
    user = User.objects.get(email="asha.nurse@example.com")
    assert not user.has_usable_password() and user.full_name == "Asha Nair"
    membership = Membership.objects.get(user=user, clinic=clinic)
    assert membership.roles == ["nurse"] and membership.is_active and membership.invited_by == clinic_admin
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["asha.nurse@example.com"] and clinic.name in message.subject
    assert "Nurse" in message.body and clinic_admin.full_name in message.body
    # The staff list shows the pending invitation.
    listing = client.get(page(clinic, "staff/")).content.decode()
    assert "Asha Nair" in listing and "Invited" in listing


def test_the_invited_person_sets_a_password_from_the_link_and_logs_in(client, clinic, clinic_admin):
    services.staff_invite(
        clinic=clinic,
        invited_by=clinic_admin,
        email="ravi@example.com",
        full_name="Ravi K",
        roles=["frontdesk"],
        base_url="http://testserver/",
    )
    link = invitation_link(mail.outbox[0])
    response = client.get(link)
    assert response.status_code == 302  # allauth moves the key out of the URL into the session
    form_url = response.url
    too_simple = client.post(form_url, {"password1": "password", "password2": "password"})
    assert too_simple.status_code == 200 and "password" in too_simple.content.decode().lower()
    assert not User.objects.get(email="ravi@example.com").has_usable_password()
    done = client.post(form_url, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert done.status_code == 302
    user = User.objects.get(email="ravi@example.com")
    assert user.check_password(NEW_PASSWORD) and not user.has_pending_invitation
    login = client.post("/accounts/login/", {"login": "ravi@example.com", "password": NEW_PASSWORD})
    assert login.status_code == 302
    assert client.get(f"/c/{clinic.code}/").status_code == 200
    # The link works once.
    client.logout()
    reused = client.get(link, follow=True)
    assert "password1" not in reused.content.decode()


def test_inviting_someone_who_already_has_an_account_just_adds_the_membership(client, clinic, other_clinic, clinic_admin, api_client):
    doctor_elsewhere = UserFactory(full_name="Dr. Meera Iyer")
    MembershipFactory(clinic=other_clinic, user=doctor_elsewhere, roles=["doctor"])
    api = api_client(clinic_admin)
    response = api.post(api_url(clinic, "staff"), {"email": doctor_elsewhere.email.upper(), "full_name": "ignored", "roles": ["doctor"]})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["invited"] is False and body["is_active"] is True and body["roles"] == ["doctor"]
    assert body["email"] == doctor_elsewhere.email and set(body) >= {"id", "email", "roles", "is_active", "invited"}
    assert mail.outbox == []
    doctor_elsewhere.refresh_from_db()
    assert doctor_elsewhere.full_name == "Dr. Meera Iyer" and doctor_elsewhere.check_password(TEST_PASSWORD)
    assert Membership.objects.filter(user=doctor_elsewhere).count() == 2


def test_api_invitation_of_a_new_person_answers_invited_true(api_client, clinic, clinic_admin):
    response = api_client(clinic_admin).post(
        api_url(clinic, "staff"), {"email": "lab@example.com", "full_name": "Lab Tech", "roles": ["lab", "pharmacist"]}
    )
    assert response.status_code == 201
    assert response.json()["invited"] is True and response.json()["roles"] == ["lab", "pharmacist"]
    assert len(mail.outbox) == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "not-an-email", "full_name": "X", "roles": ["nurse"]}, "email"),
        ({"email": "", "full_name": "X", "roles": ["nurse"]}, "email"),
        ({"email": "new@example.com", "full_name": "", "roles": ["nurse"]}, "full_name"),
        ({"email": "new@example.com", "full_name": "X", "roles": []}, "roles"),
        ({"email": "new@example.com", "full_name": "X", "roles": ["surgeon"]}, "roles"),
    ],
)
def test_bad_invitations_are_422_and_store_nothing(api_client, clinic, clinic_admin, body, field):
    users_before = User.objects.count()
    response = api_client(clinic_admin).post(api_url(clinic, "staff"), body)
    assert response.status_code == 422
    assert any(problem["loc"][-1] == field for problem in response.json()["detail"]), response.json()
    assert User.objects.count() == users_before and mail.outbox == []


def test_bad_invitation_in_the_page_shows_the_message_and_stores_nothing(client, clinic, clinic_admin):
    client.force_login(clinic_admin)
    response = client.post(page(clinic, "staff/"), {"email": "new@example.com", "full_name": "", "roles": ["nurse"]})
    assert response.status_code == 400
    assert "Enter the person&#x27;s full name." in response.content.decode()
    assert not User.objects.filter(email="new@example.com").exists()


def test_inviting_someone_already_on_the_staff_is_a_conflict(api_client, clinic, clinic_admin, front_desk):
    response = api_client(clinic_admin).post(api_url(clinic, "staff"), {"email": front_desk.email, "full_name": "", "roles": ["nurse"]})
    assert response.status_code == 409 and "already on the staff" in response.json()["detail"]
    assert Membership.objects.get(user=front_desk, clinic=clinic).roles == ["frontdesk"]


def test_an_invitation_that_cannot_be_sent_keeps_nothing(api_client, clinic, clinic_admin, monkeypatch):
    def refuse(*args, **kwargs):
        raise ConnectionRefusedError("SMTP down")

    monkeypatch.setattr(services, "send_mail", refuse)
    response = api_client(clinic_admin).post(api_url(clinic, "staff"), {"email": "x@example.com", "full_name": "X", "roles": ["nurse"]})
    assert response.status_code == 503 and "could not be sent" in response.json()["detail"]
    assert not User.objects.filter(email="x@example.com").exists()


def test_the_invitation_can_be_sent_again_until_the_password_is_set(client, clinic, clinic_admin, front_desk):
    membership, _ = services.staff_invite(
        clinic=clinic, invited_by=clinic_admin, email="n@example.com", full_name="N", roles=["nurse"], base_url="http://testserver/"
    )
    client.force_login(clinic_admin)
    client.post(page(clinic, f"staff/{membership.pk}/resend-invitation/"))
    assert len(mail.outbox) == 2 and mail.outbox[1].to == ["n@example.com"]
    already = Membership.objects.get(user=front_desk, clinic=clinic)
    response = client.post(page(clinic, f"staff/{already.pk}/resend-invitation/"), follow=True)
    assert "already set a password" in response.content.decode() and len(mail.outbox) == 2


# --- Staff: roles, deactivation, the last administrator ---------------------------------


def test_changing_roles_is_audited_with_old_and_new_values(client, clinic, clinic_admin, front_desk):
    membership = Membership.objects.get(user=front_desk, clinic=clinic)
    client.force_login(clinic_admin)
    response = client.post(page(clinic, f"staff/{membership.pk}/"), {"roles": ["frontdesk", "billing"], "is_active": "on"})
    assert response.status_code == 302
    membership.refresh_from_db()
    assert membership.roles == ["frontdesk", "billing"]
    change = AuditLog.objects.filter(entity_type="clinicos.membership", entity_id=str(membership.pk), action="update").latest("created_at")
    assert change.user == clinic_admin
    assert change.changes["roles"]["old"] == "frontdesk" and change.changes["roles"]["new"] == "frontdesk, billing"


def test_deactivation_ends_the_session_and_the_bearer_token_at_once(client, clinic, clinic_admin, front_desk, api_client):
    from django.test import Client

    api = api_client(front_desk)
    assert api.get(api_url(clinic, "patients")).status_code == 200
    desk_browser = Client()
    desk_browser.force_login(front_desk)
    assert desk_browser.get(f"/c/{clinic.code}/").status_code == 200

    membership = Membership.objects.get(user=front_desk, clinic=clinic)
    response = api_client(clinic_admin).patch(api_url(clinic, f"staff/{membership.pk}"), {"is_active": False})
    assert response.status_code == 200 and response.json()["is_active"] is False

    assert api.get(api_url(clinic, "patients")).status_code == 401
    ended = desk_browser.get(f"/c/{clinic.code}/")
    assert ended.status_code == 302 and "/accounts/login/" in ended.url
    assert not ApiToken.objects.filter(user=front_desk, revoked_at__isnull=True).exists()
    # Logging in again does not bring the clinic back.
    assert desk_browser.login(email=front_desk.email, password=TEST_PASSWORD)
    assert desk_browser.get(f"/c/{clinic.code}/").status_code == 404


def test_a_deactivated_doctor_leaves_booking_and_comes_back_on_reactivation(clinic, clinic_admin, clinician):
    membership = Membership.objects.get(user=clinician, clinic=clinic)
    services.staff_update(membership=membership, is_active=False)
    assert not DoctorProfile.objects.get(user=clinician).is_active
    from clinicos.selectors import doctors_of_clinic

    assert clinician not in [d.user for d in doctors_of_clinic(clinic=clinic)]
    services.staff_update(membership=membership, is_active=True)
    assert DoctorProfile.objects.get(user=clinician).is_active
    # Taking the doctor role away also takes them out of booking.
    services.staff_update(membership=membership, roles=["nurse"])
    assert not DoctorProfile.objects.get(user=clinician).is_active


def test_a_deactivated_cro_leaves_the_round_robin(clinic, make_member):
    from leads.services import active_cros

    first, second = make_member(Role.CRO), make_member(Role.CRO)
    assert active_cros(clinic=clinic) == [first, second]
    services.staff_update(membership=Membership.objects.get(user=first, clinic=clinic), is_active=False)
    assert active_cros(clinic=clinic) == [second]


def test_the_last_active_administrator_cannot_be_removed(api_client, client, clinic, clinic_admin, make_member):
    mine = Membership.objects.get(user=clinic_admin, clinic=clinic)
    api = api_client(clinic_admin)
    for body in ({"is_active": False}, {"roles": ["doctor"]}):
        response = api.patch(api_url(clinic, f"staff/{mine.pk}"), body)
        assert response.status_code == 409 and "at least one active administrator" in response.json()["detail"]
    mine.refresh_from_db()
    assert mine.is_active and mine.roles == ["admin"]
    client.force_login(clinic_admin)
    response = client.post(page(clinic, f"staff/{mine.pk}/"), {"roles": ["admin"]})  # is_active unticked
    assert response.status_code == 400 and "at least one active administrator" in response.content.decode()
    # With a second administrator, the first may step down.
    make_member(Role.ADMIN)
    assert api.patch(api_url(clinic, f"staff/{mine.pk}"), {"roles": ["doctor"]}).status_code == 200


def test_a_clinic_without_administrators_can_still_deactivate_other_staff(clinic, front_desk):
    membership = Membership.objects.get(user=front_desk, clinic=clinic)
    services.staff_update(membership=membership, is_active=False)
    assert not Membership.objects.get(pk=membership.pk).is_active


def test_roles_are_validated_on_patch(api_client, clinic, clinic_admin, front_desk):
    membership = Membership.objects.get(user=front_desk, clinic=clinic)
    response = api_client(clinic_admin).patch(api_url(clinic, f"staff/{membership.pk}"), {"roles": ["king"]})
    assert response.status_code == 422 and response.json()["detail"][0]["loc"][-1] == "roles"


def test_staff_list_shows_last_login_and_reads_a_bounded_number_of_queries(
    client, clinic, clinic_admin, make_member, django_assert_max_num_queries
):
    for _ in range(25):
        make_member(Role.NURSE)
    client.force_login(clinic_admin)
    User.objects.filter(pk=clinic_admin.pk).update(last_login="2026-11-20T09:15:00Z")
    with django_assert_max_num_queries(14):
        response = client.get(page(clinic, "staff/"))
    body = response.content.decode()
    assert response.status_code == 200 and body.count("Nurse User") == 25 and "20 Nov 2026, 14:45" in body  # clinic time


def test_api_staff_list(api_client, clinic, clinic_admin, front_desk):
    response = api_client(clinic_admin).get(api_url(clinic, "staff"))
    assert response.status_code == 200
    rows = {row["email"]: row for row in response.json()}
    assert rows[front_desk.email]["roles"] == ["frontdesk"] and rows[front_desk.email]["invited"] is False
    assert rows[clinic_admin.email]["last_login"] is not None  # the token login counts


# --- Who may administer -------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.FRONT_DESK, Role.DOCTOR, Role.NURSE, Role.BILLING, Role.CRO])
def test_only_administrators_administer(client, api_client, clinic, make_member, role):
    user = make_member(role)
    client.force_login(user)
    for path in ("", "staff/", "doctors/", "departments/", "resources/"):
        assert client.get(page(clinic, path)).status_code == 403
    api = api_client(user)
    assert api.get(api_url(clinic, "staff")).status_code == 403
    assert api.post(api_url(clinic, "departments"), {"name": "Sneaky"}).status_code == 403
    assert not Department.objects.filter(name="Sneaky").exists()


def test_another_clinics_staff_is_404(api_client, clinic, other_clinic, clinic_admin):
    theirs = MembershipFactory(clinic=other_clinic, roles=["admin"])
    response = api_client(clinic_admin).patch(api_url(clinic, f"staff/{theirs.pk}"), {"is_active": False})
    assert response.status_code == 404
    assert Membership.objects.get(pk=theirs.pk).is_active


# --- Doctors -------------------------------------------------------------------------------


def test_admin_edits_a_doctors_profile_with_a_checked_signature(client, clinic, clinic_admin, clinician):
    department = DepartmentFactory(clinic=clinic, name="Reproductive Medicine")
    membership = Membership.objects.get(user=clinician, clinic=clinic)
    client.force_login(clinic_admin)
    data = {
        "specialization": "Reproductive Medicine",
        "qualifications": "MBBS, MS (OBG)",
        "registration_number": "KMC-45678",
        "registration_council": "Karnataka Medical Council",
        "department": department.pk,
        "consultation_fee": "800.00",
        "color": "#AA3377",
        "is_public": "",
        "is_active": "on",
    }
    not_an_image = SimpleUploadedFile("sign.png", b"GIF89a not really", content_type="image/png")
    response = client.post(page(clinic, f"doctors/{membership.pk}/"), {**data, "signature": not_an_image})
    assert response.status_code == 400 and "Only JPEG, PNG and WebP files" in response.content.decode()
    assert DoctorProfile.objects.get(user=clinician).registration_council == ""

    signature = SimpleUploadedFile("sign.png", PNG, content_type="image/png")
    assert client.post(page(clinic, f"doctors/{membership.pk}/"), {**data, "signature": signature}).status_code == 302
    profile = DoctorProfile.objects.get(user=clinician)
    assert profile.registration_council == "Karnataka Medical Council" and profile.consultation_fee == Decimal("800.00")
    assert profile.department == department and not profile.is_public and profile.signature_content_type == "image/png"
    assert "signatures/" in profile.signature.name and "sign" not in profile.signature.name.rsplit("/", 1)[1]
    shown = client.get(page(clinic, f"doctors/{membership.pk}/")).content.decode()
    assert "data:image/png;base64," in shown
    listing = client.get(page(clinic, "doctors/")).content.decode()
    assert "KMC-45678" in listing and "Karnataka Medical Council" in listing and "Private" in listing


def test_a_doctor_edits_their_own_profile_but_not_fee_listing_or_others(client, clinic, clinician, make_member):
    client.force_login(clinician)
    response = client.get(f"/c/{clinic.code}/my-doctor-profile/")
    assert response.status_code == 200 and "consultation_fee" not in response.content.decode()
    response = client.post(
        f"/c/{clinic.code}/my-doctor-profile/",
        {
            "specialization": "IVF",
            "qualifications": "MBBS",
            "registration_number": "KMC-1",
            "registration_council": "KMC",
            "color": "#112233",
            "consultation_fee": "1",
        },
    )
    assert response.status_code == 302
    profile = DoctorProfile.objects.get(user=clinician)
    assert profile.specialization == "IVF" and profile.consultation_fee == Decimal("0.00")
    other = DoctorProfileFactory(clinic=clinic)
    other_membership = Membership.objects.get(user=other.user, clinic=clinic)
    assert client.get(page(clinic, f"doctors/{other_membership.pk}/")).status_code == 403
    # Not a doctor: no profile of their own to edit.
    client.force_login(make_member(Role.NURSE))
    assert client.get(f"/c/{clinic.code}/my-doctor-profile/").status_code == 403


def test_a_new_doctor_gets_a_profile_and_becomes_bookable(client, clinic, clinic_admin, make_member):
    from clinicos.selectors import doctors_of_clinic

    doctor = make_member(Role.DOCTOR)
    membership = Membership.objects.get(user=doctor, clinic=clinic)
    client.force_login(clinic_admin)
    assert "Profile missing" in client.get(page(clinic, "doctors/")).content.decode()
    missing = client.post(
        page(clinic, f"doctors/{membership.pk}/"),
        {"specialization": "", "registration_number": "", "consultation_fee": "-5", "color": "red"},
    )
    assert missing.status_code == 400 and not DoctorProfile.objects.filter(user=doctor).exists()
    body = missing.content.decode()
    assert "This field is required." in body and "Use a colour like #2F6FDE." in body
    created = client.post(
        page(clinic, f"doctors/{membership.pk}/"),
        {
            "specialization": "Dermatology",
            "registration_number": "DMC-9",
            "consultation_fee": "500",
            "color": "#2F6FDE",
            "is_public": "on",
            "is_active": "on",
        },
    )
    assert created.status_code == 302
    assert doctor in [d.user for d in doctors_of_clinic(clinic=clinic)]


# --- Departments ------------------------------------------------------------------------


def test_departments_add_rename_deactivate_and_delete(api_client, clinic, clinic_admin):
    api = api_client(clinic_admin)
    created = api.post(api_url(clinic, "departments"), {"name": " Cardiology ", "description": "Heart"})
    assert created.status_code == 201 and created.json()["name"] == "Cardiology" and created.json()["is_active"] is True
    department_id = created.json()["id"]
    duplicate = api.post(api_url(clinic, "departments"), {"name": "cardiology"})
    assert duplicate.status_code == 422 and "already has a department" in duplicate.json()["detail"][0]["msg"]
    empty = api.post(api_url(clinic, "departments"), {"name": "  "})
    assert empty.status_code == 422
    renamed = api.patch(api_url(clinic, f"departments/{department_id}"), {"name": "Cardiology & Vascular", "is_active": False})
    assert renamed.status_code == 200 and renamed.json() == {
        "id": department_id,
        "name": "Cardiology & Vascular",
        "description": "Heart",
        "is_active": False,
    }
    assert [d["name"] for d in api.get(api_url(clinic, "departments")).json()] == ["Cardiology & Vascular"]
    assert api.delete(api_url(clinic, f"departments/{department_id}")).status_code == 204
    assert not Department.objects.filter(pk=department_id).exists()


def test_a_department_in_use_cannot_be_deleted(api_client, client, clinic, clinic_admin):
    department = DepartmentFactory(clinic=clinic, name="Andrology")
    DoctorProfileFactory(clinic=clinic, department=department)
    DoctorProfileFactory(clinic=clinic, department=department)
    ResourceFactory(clinic=clinic, department=department)
    response = api_client(clinic_admin).delete(api_url(clinic, f"departments/{department.pk}"))
    assert response.status_code == 409
    assert response.json()["detail"] == (
        "Andrology is still used by 2 doctors and 1 room or machine: deactivate it instead, or move them to another department first."
    )
    assert Department.objects.filter(pk=department.pk).exists()
    client.force_login(clinic_admin)
    page_answer = client.post(page(clinic, f"departments/{department.pk}/delete/"), follow=True)
    assert "Andrology is still used by 2 doctors" in page_answer.content.decode()
    assert Department.objects.filter(pk=department.pk).exists()


def test_inactive_departments_leave_the_pickers(client, clinic, clinic_admin, clinician):
    active = DepartmentFactory(clinic=clinic, name="Gynaecology")
    inactive = DepartmentFactory(clinic=clinic, name="Closed Wing", is_active=False)
    client.force_login(clinic_admin)
    membership = Membership.objects.get(user=clinician, clinic=clinic)
    form_page = client.get(page(clinic, f"doctors/{membership.pk}/")).content.decode()
    assert active.name in form_page and inactive.name not in form_page
    resources_page = client.get(page(clinic, "resources/")).content.decode()
    assert active.name in resources_page and inactive.name not in resources_page


def test_department_list_page_and_query_count(client, clinic, clinic_admin, django_assert_max_num_queries):
    for n in range(15):
        department = DepartmentFactory(clinic=clinic, name=f"Dept {n:02d}")
        DoctorProfileFactory(clinic=clinic, department=department)
    client.force_login(clinic_admin)
    with django_assert_max_num_queries(12):
        response = client.get(page(clinic, "departments/"))
    assert response.status_code == 200 and "Dept 14" in response.content.decode()
    bad = client.post(page(clinic, "departments/"), {"name": "Dept 03", "is_active": "on"})
    assert bad.status_code == 400 and "already has a department called" in bad.content.decode()


# --- Rooms and machines ---------------------------------------------------------------------


def test_rooms_and_machines_add_rename_and_deactivate(api_client, clinic, other_clinic, clinic_admin):
    api = api_client(clinic_admin)
    department = DepartmentFactory(clinic=clinic)
    created = api.post(api_url(clinic, "resources"), {"name": "Ultrasound 1", "kind": "machine", "department_id": department.pk})
    assert created.status_code == 201
    assert created.json() | {"id": 0} == {
        "id": 0,
        "name": "Ultrasound 1",
        "kind": "machine",
        "department_id": department.pk,
        "is_active": True,
    }
    resource_id = created.json()["id"]
    assert api.post(api_url(clinic, "resources"), {"name": "ULTRASOUND 1"}).status_code == 422
    assert api.post(api_url(clinic, "resources"), {"name": "X", "kind": "spaceship"}).status_code == 422
    theirs = DepartmentFactory(clinic=other_clinic)
    foreign = api.post(api_url(clinic, "resources"), {"name": "Y", "department_id": theirs.pk})
    assert foreign.status_code == 422 and foreign.json()["detail"][0]["loc"][-1] == "department_id"
    patched = api.patch(api_url(clinic, f"resources/{resource_id}"), {"name": "Ultrasound A", "is_active": False, "department_id": None})
    assert patched.status_code == 200 and patched.json()["name"] == "Ultrasound A"
    assert patched.json()["is_active"] is False and patched.json()["department_id"] is None
    assert [r["name"] for r in api.get(api_url(clinic, "resources")).json()] == ["Ultrasound A"]
    assert Resource.objects.filter(name__in=["X", "Y"]).count() == 0


def test_resource_pages(client, clinic, clinic_admin):
    client.force_login(clinic_admin)
    assert client.post(page(clinic, "resources/"), {"name": "Consulting room 2", "kind": "room", "is_active": "on"}).status_code == 302
    resource = Resource.objects.get(name="Consulting room 2")
    assert client.post(page(clinic, f"resources/{resource.pk}/"), {"name": "Room 2B", "kind": "room"}).status_code == 302
    resource.refresh_from_db()
    assert resource.name == "Room 2B" and not resource.is_active
    change = AuditLog.objects.filter(entity_type="clinicos.resource", entity_id=str(resource.pk), action="update").latest("created_at")
    assert (change.changes["name"]["old"], change.changes["name"]["new"]) == ("Consulting room 2", "Room 2B")
    assert (change.changes["is_active"]["old"], change.changes["is_active"]["new"]) == ("Yes", "No")


# --- The clinic's settings -------------------------------------------------------------------


SETTINGS = {
    "name": "Sunrise Fertility Centre",
    "phone": "+918041234567",
    "email": "desk@sunrise.example",
    "address": "12 Residency Road",
    "city": "Bengaluru",
    "state": "",
    "country": "IN",
    "timezone": "Asia/Kolkata",
    "currency": "INR",
    "financial_year_start_month": "4",
    "critical_result_escalation_minutes": "30",
    "invoice_requires_completed_visit": "on",
    "invoice_due_days": "0",
    "registration_details": "KPME Reg. No. BLR/2019/1234",
    "tax_id": "",
    "doctors_see_all_patients": "on",
}


def test_a_valid_gstin_is_stored_and_fills_in_the_state(client, clinic, clinic_admin):
    client.force_login(clinic_admin)
    response = client.post(page(clinic), {**SETTINGS, "tax_id": "27aapfu0939f1zv"})
    assert response.status_code == 302
    clinic.refresh_from_db()
    assert clinic.tax_id == "27AAPFU0939F1ZV" and clinic.state == "Maharashtra"
    preview = client.get(page(clinic)).content.decode()
    assert "GSTIN 27AAPFU0939F1ZV" in preview and "KPME Reg. No. BLR/2019/1234" in preview


@pytest.mark.parametrize(
    ("tax_id", "state", "message"),
    [
        ("27AAPFU0939F1ZA", "", "check character is wrong"),
        ("12345", "", "A GSTIN has 15 characters"),
        ("27AAPFU0939F1ZV", "Karnataka", "registered in Maharashtra"),
    ],
)
def test_a_wrong_gstin_is_refused_with_a_clear_message(client, clinic, clinic_admin, tax_id, state, message):
    client.force_login(clinic_admin)
    response = client.post(page(clinic), {**SETTINGS, "tax_id": tax_id, "state": state})
    assert response.status_code == 400 and message in response.content.decode()
    clinic.refresh_from_db()
    assert clinic.tax_id == "" and clinic.registration_details == ""


def test_a_uk_clinic_has_a_vat_number(client, clinic, clinic_admin):
    Clinic.objects.filter(pk=clinic.pk).update(country="GB")
    client.force_login(clinic_admin)
    assert "VAT number" in client.get(page(clinic)).content.decode()
    bad = client.post(
        page(clinic), {**SETTINGS, "country": "GB", "currency": "GBP", "timezone": "Europe/London", "tax_id": "GB 123 4567 89"}
    )
    assert bad.status_code == 400 and "not a valid UK VAT number" in bad.content.decode()
    good = client.post(
        page(clinic), {**SETTINGS, "country": "GB", "currency": "GBP", "timezone": "Europe/London", "tax_id": "GB 980 7806 84"}
    )
    assert good.status_code == 302
    clinic.refresh_from_db()
    assert clinic.tax_id == "GB980780684"


def test_the_logo_is_checked_stored_privately_and_shown_on_the_letterhead(client, clinic, clinic_admin):
    client.force_login(clinic_admin)
    pdf = SimpleUploadedFile("logo.png", b"%PDF-1.4 not a logo", content_type="image/png")
    refused = client.post(page(clinic), {**SETTINGS, "logo": pdf})
    assert refused.status_code == 400 and "Only JPEG, PNG and WebP files" in refused.content.decode()
    logo = SimpleUploadedFile("Our Logo.png", PNG, content_type="image/png")
    assert client.post(page(clinic), {**SETTINGS, "logo": logo}).status_code == 302
    clinic.refresh_from_db()
    assert clinic.logo_content_type == "image/png" and clinic.logo.name.startswith(f"clinics/{clinic.pk}/logo-")
    assert 'class="letterhead-logo" src="data:image/png;base64,' in client.get(page(clinic)).content.decode()
    assert client.post(page(clinic), {**SETTINGS, "remove_logo": "on"}).status_code == 302
    clinic.refresh_from_db()
    assert not clinic.logo


def test_the_financial_year_follows_the_setting():
    import datetime

    clinic = Clinic(financial_year_start_month=4)
    assert clinic.financial_year_of(datetime.date(2026, 3, 31)) == (datetime.date(2025, 4, 1), datetime.date(2026, 3, 31))
    assert clinic.financial_year_label(datetime.date(2026, 11, 23)) == "2026–27"
    clinic.financial_year_start_month = 1
    assert clinic.financial_year_label(datetime.date(2026, 11, 23)) == "2026"
    assert clinic.financial_year_of(datetime.date(2026, 1, 1)) == (datetime.date(2026, 1, 1), datetime.date(2026, 12, 31))


def test_the_settings_page_shows_the_current_financial_year(client, clinic, clinic_admin):
    Clinic.objects.filter(pk=clinic.pk).update(financial_year_start_month=1)
    clinic.refresh_from_db()
    client.force_login(clinic_admin)
    response = client.get(page(clinic))
    assert response.context["financial_year"] == clinic.financial_year_label(response.context["financial_year_start"])
    assert response.context["financial_year_start"].month == 1 and response.context["financial_year_start"].day == 1


def test_two_factor_for_clinical_roles_applies_to_pages_and_tokens(client, api_client, clinic, clinic_admin, make_member):
    nurse = make_member(Role.NURSE)
    desk = make_member(Role.FRONT_DESK)
    client.force_login(clinic_admin)
    assert client.post(page(clinic), {**SETTINGS, "require_clinical_mfa": "on"}).status_code == 302
    clinic.refresh_from_db()
    assert clinic.require_clinical_mfa and not clinic.require_admin_mfa
    client.force_login(nurse)
    response = client.get(f"/c/{clinic.code}/")
    assert response.status_code == 302 and response.url == "/accounts/2fa/totp/activate/"
    response = api_client(nurse).get(api_url(clinic, "patients"))
    assert response.status_code == 403 and "requires clinical staff to use two-factor" in response.json()["detail"]
    # Not a clinical role: unaffected. An enrolled nurse: allowed.
    client.force_login(desk)
    assert client.get(f"/c/{clinic.code}/").status_code == 200
    Authenticator.objects.create(user=nurse, type=Authenticator.Type.TOTP, data={"secret": "JBSWY3DPEHPK3PXP"})
    client.force_login(nurse)
    assert client.get(f"/c/{clinic.code}/").status_code == 200


def test_two_factor_for_administrators_still_applies(client, clinic, clinic_admin):
    Clinic.objects.filter(pk=clinic.pk).update(require_admin_mfa=True)
    client.force_login(clinic_admin)
    assert client.get(page(clinic)).status_code == 302


def test_doctors_see_all_patients_setting_is_saved_and_honoured(client, clinic, clinic_admin, clinician):
    from patients.selectors import patients_visible_to
    from patients.tests.factories import PatientFactory

    patient = PatientFactory(clinic=clinic)
    client.force_login(clinic_admin)
    settings_without = {key: value for key, value in SETTINGS.items() if key != "doctors_see_all_patients"}
    assert client.post(page(clinic), settings_without).status_code == 302
    clinic.refresh_from_db()
    assert not clinic.doctors_see_all_patients
    assert patient not in patients_visible_to(user=clinician, clinic=clinic)


def test_settings_changes_are_in_the_audit_trail_with_old_and_new(client, clinic, clinic_admin):
    client.force_login(clinic_admin)
    client.post(page(clinic), {**SETTINGS, "financial_year_start_month": "1"})
    change = AuditLog.objects.filter(entity_type="clinicos.clinic", action="update").latest("created_at")
    assert change.changes["financial_year_start_month"]["old"] == "April"
    assert change.changes["financial_year_start_month"]["new"] == "January"


def test_the_critical_result_escalation_minutes_are_a_clinic_rule_within_bounds(client, clinic, clinic_admin):
    client.force_login(clinic_admin)
    refused = client.post(page(clinic), {**SETTINGS, "critical_result_escalation_minutes": "2"})
    assert refused.status_code == 400 and "greater than or equal to 5" in refused.content.decode()
    assert client.post(page(clinic), {**SETTINGS, "critical_result_escalation_minutes": "45"}).status_code == 302
    clinic.refresh_from_db()
    assert clinic.critical_result_escalation_minutes == 45
