import factory
from django.utils import timezone

from clinicos.models import (
    ApiToken,
    AuditLog,
    Clinic,
    Department,
    DoctorProfile,
    Membership,
    ReadAccessLog,
    Resource,
    User,
)
from clinicos.roles import Role

TEST_PASSWORD = "Test-Password-1!"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.test")
    full_name = factory.Faker("name")
    phone = "+919876543210"

    @factory.post_generation
    def password(self, create, extracted, **kwargs):
        self.set_password(extracted or TEST_PASSWORD)
        if create:
            self.save(update_fields=["password"])


class ClinicFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Clinic
        django_get_or_create = ("code",)

    name = factory.Sequence(lambda n: f"Test Clinic {n}")
    code = factory.Sequence(lambda n: f"TC{n:03d}")
    timezone = "Asia/Kolkata"
    currency = "INR"
    uhid_prefix = factory.Sequence(lambda n: f"T{n:03d}")
    country = "IN"
    city = "Bengaluru"


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    clinic = factory.SubFactory(ClinicFactory)
    user = factory.SubFactory(UserFactory)
    roles = factory.LazyFunction(lambda: [Role.FRONT_DESK.value])


class DepartmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Department

    clinic = factory.SubFactory(ClinicFactory)
    name = factory.Sequence(lambda n: f"Department {n}")


class DoctorProfileFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DoctorProfile
        skip_postgeneration_save = True

    clinic = factory.SubFactory(ClinicFactory)
    user = factory.SubFactory(UserFactory, full_name=factory.Faker("name"))
    specialization = "General Practice"
    registration_number = factory.Sequence(lambda n: f"REG-{n:05d}")
    color = "#2F6FDE"

    @factory.post_generation
    def membership(self, create, extracted, **kwargs):
        if create:
            Membership.objects.get_or_create(clinic=self.clinic, user=self.user, defaults={"roles": [Role.DOCTOR.value]})


class ResourceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Resource

    clinic = factory.SubFactory(ClinicFactory)
    name = factory.Sequence(lambda n: f"Room {n}")
    kind = Resource.Kind.ROOM


class AuditLogFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AuditLog

    clinic = factory.SubFactory(ClinicFactory)
    user = factory.SubFactory(UserFactory)
    action = AuditLog.Action.UPDATE
    entity_type = "clinicos.department"
    entity_name = "Department"
    entity_id = "1"
    entity_repr = "Embryology"
    changes = factory.LazyFunction(lambda: {"name": {"label": "name", "old": "Embryo", "new": "Embryology"}})


class ReadAccessLogFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ReadAccessLog

    clinic = factory.SubFactory(ClinicFactory)
    user = factory.SubFactory(UserFactory)
    entity_type = "clinicos.department"
    entity_id = "1"
    entity_repr = "Embryology"


class ApiTokenFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ApiToken

    user = factory.SubFactory(UserFactory)
    key_hash = factory.Sequence(lambda n: f"{n:064x}")
    expires_at = factory.LazyFunction(lambda: timezone.now() + timezone.timedelta(hours=1))
