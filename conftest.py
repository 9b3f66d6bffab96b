"""Shared personas: a clinic with a member for every role, and a user of another clinic."""

import pytest

from clinicos.roles import Role
from clinicos.tests.factories import ClinicFactory, DoctorProfileFactory, MembershipFactory, UserFactory


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
    profile = DoctorProfileFactory(clinic=clinic, user=UserFactory(full_name="Dr. Kavya Rao"), specialization="Reproductive Medicine")
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
