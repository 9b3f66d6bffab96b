from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from clinicos import services
from clinicos.audit import record_read
from clinicos.models import AuditLog, Clinic, Membership, ReadAccessLog
from clinicos.roles import ROLE_PERMISSIONS, Perm, Role, roles_have_permission
from clinicos.tests.factories import (
    AuditLogFactory,
    ClinicFactory,
    DoctorProfileFactory,
    MembershipFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


# --- Roles --------------------------------------------------------------------------


def test_clinical_records_are_for_clinical_roles_only():
    assert roles_have_permission(["doctor"], Perm.CLINICAL_VIEW)
    assert roles_have_permission(["nurse"], Perm.CLINICAL_VIEW)
    for role in ("admin", "frontdesk", "cro", "billing"):
        assert not roles_have_permission([role], Perm.CLINICAL_VIEW), role


def test_doctors_cannot_see_billing_and_cros_do_not_browse_patients():
    assert not roles_have_permission(["doctor"], Perm.BILLING_VIEW)
    assert not roles_have_permission(["cro"], Perm.PATIENTS_VIEW)
    assert roles_have_permission(["frontdesk"], Perm.BILLING_EDIT)


def test_several_roles_add_up():
    assert roles_have_permission(["admin", "doctor"], Perm.CLINICAL_VIEW)
    assert roles_have_permission(["admin", "doctor"], Perm.SETTINGS_MANAGE)


def test_every_permission_is_held_by_some_role():
    assert all(ROLE_PERMISSIONS[perm] for perm in Perm)


# --- Models and services --------------------------------------------------------------


def test_clinic_code_and_prefix_are_validated():
    clinic = Clinic(name="X", code="ab", uhid_prefix="j", timezone="Nowhere/City", currency="rupee")
    with pytest.raises(ValidationError) as raised:
        clinic.full_clean()
    assert {"code", "uhid_prefix", "timezone", "currency"} <= set(raised.value.message_dict)


def test_membership_needs_known_roles(clinic):
    user = UserFactory()
    with pytest.raises(ValidationError):
        services.membership_grant(clinic=clinic, user=user, roles=["surgeon"])
    with pytest.raises(ValidationError):
        services.membership_grant(clinic=clinic, user=user, roles=[])
    assert not Membership.objects.filter(user=user).exists()


def test_membership_grant_is_one_row_per_clinic_and_records_role_changes(clinic):
    user = UserFactory()
    services.membership_grant(clinic=clinic, user=user, roles=["frontdesk"])
    services.membership_grant(clinic=clinic, user=user, roles=["frontdesk", "cro"])
    services.membership_grant(clinic=clinic, user=user, roles=["frontdesk", "cro"])  # no change, no history
    membership = Membership.objects.get(user=user)
    assert membership.roles == ["frontdesk", "cro"]
    assert membership.history.count() == 2
    change = AuditLog.objects.filter(entity_type="clinicos.membership", action="update").get()
    assert change.changes["roles"]["old"] == "frontdesk" and change.changes["roles"]["new"] == "frontdesk, cro"


def test_one_membership_per_user_and_clinic_is_enforced_by_the_database(clinic):
    membership = MembershipFactory(clinic=clinic)
    with pytest.raises(IntegrityError), transaction.atomic():
        Membership.objects.create(clinic=clinic, user=membership.user, roles=["nurse"])


def test_doctor_fee_cannot_be_negative(clinic):
    doctor = DoctorProfileFactory(clinic=clinic)
    with pytest.raises(ValidationError):
        services.doctor_profile_save(clinic=clinic, user=doctor.user, consultation_fee=Decimal("-1.00"))


def test_clinic_update_refuses_platform_owned_fields(clinic):
    with pytest.raises(ValueError):
        services.clinic_update(clinic=clinic, code="HACK1")


def test_emails_are_unique_whatever_their_case():
    UserFactory(email="Same@Example.test".lower())
    with pytest.raises(IntegrityError), transaction.atomic():
        from clinicos.models import User

        User.objects.create(email="SAME@example.test", full_name="Copy")


# --- Audit -------------------------------------------------------------------------------


def test_audit_records_cannot_be_changed_or_deleted(clinic):
    entry = AuditLogFactory(clinic=clinic)
    entry.entity_repr = "tampered"
    with pytest.raises(PermissionError):
        entry.save()
    with pytest.raises(PermissionError):
        entry.delete()
    assert AuditLog.objects.get(pk=entry.pk).entity_repr == "Embryology"


def test_creating_a_record_is_audited_with_its_values(clinic):
    department = services.doctor_profile_save(
        clinic=clinic, user=UserFactory(full_name="Dr. New"), specialization="ENT", registration_number="R-1"
    )
    entry = AuditLog.objects.filter(entity_type="clinicos.doctorprofile", entity_id=str(department.pk)).get()
    assert entry.action == AuditLog.Action.CREATE and entry.clinic == clinic
    assert entry.changes["specialization"]["new"] == "ENT"


def test_user_history_never_stores_the_password():
    user = UserFactory()
    user.set_password("Another-Pass-2!")
    user.save()
    assert not hasattr(user.history.first(), "password")
    assert all("password" not in entry.changes for entry in AuditLog.objects.filter(entity_type="clinicos.user"))


def test_record_read_logs_who_opened_what_from_where(rf, clinic, front_desk):
    request = rf.get("/c/ABC01/patients/7/", REMOTE_ADDR="192.0.2.5", HTTP_USER_AGENT="Safari iPad")
    request.user = front_desk
    entry = record_read(request, clinic=clinic, obj=clinic, action="view", patient_id=7)
    stored = ReadAccessLog.objects.get(pk=entry.pk)
    assert (stored.user, stored.patient_id, stored.ip_address, stored.user_agent, stored.path) == (
        front_desk,
        7,
        "192.0.2.5",
        "Safari iPad",
        "/c/ABC01/patients/7/",
    )


def test_roles_display_uses_the_labels():
    membership = Membership(roles=[Role.FRONT_DESK.value, Role.CRO.value])
    assert membership.roles_display == "Front desk, Customer relations officer"


def test_seed_demo_is_idempotent_and_creates_every_persona(demo_data):
    """``demo_data`` is what one run of seed_demo left; a second run changes nothing."""
    from django.core.management import call_command

    from clinicos.models import User

    first = (User.objects.count(), Membership.objects.count(), AuditLog.objects.count())
    call_command("seed_demo")
    assert (User.objects.count(), Membership.objects.count(), AuditLog.objects.count()) == first
    for code in ("abc01", "xyz02"):
        for role in Role:
            user = User.objects.get(email=f"{role.value}@{code}.example")
            assert user.check_password("Demo-Clinic-2025!")
            assert Membership.objects.get(user=user).roles == [role.value]
    shared = User.objects.get(email="shared.doctor@example.com")
    assert sorted(m.clinic.code for m in shared.memberships.all()) == ["ABC01", "XYZ02"]
    assert User.objects.get(email="root@example.com").is_superuser
    abc = Clinic.objects.get(code="ABC01")
    assert (abc.name, abc.timezone, abc.currency, abc.uhid_prefix) == ("Sunrise Fertility Centre", "Asia/Kolkata", "INR", "JAN")
    xyz = Clinic.objects.get(code="XYZ02")
    assert (xyz.name, xyz.timezone, xyz.currency, xyz.uhid_prefix) == ("Lakeside Family Clinic", "Europe/London", "GBP", "LFC")
    # the doctor of both clinics is never booked in both at once
    from scheduling.models import RELEASED_STATUSES, Appointment

    held = list(Appointment.objects.filter(doctor__user=shared).exclude(status__in=RELEASED_STATUSES).values_list("starts_at", "ends_at"))
    assert held and not any(a[0] < b[1] and b[0] < a[1] for i, a in enumerate(held) for b in held[i + 1 :])


def test_another_clinic_factory_gets_its_own_code():
    assert ClinicFactory().code != ClinicFactory().code
