import factory

from clinicos.tests.factories import ClinicFactory
from leads.models import CroRotation, Lead, LeadActivity, LeadApiKey, LeadOption
from patients import identity


class LeadFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Lead

    clinic = factory.SubFactory(ClinicFactory)
    name = factory.Faker("name")
    phone = factory.Sequence(lambda n: f"+9199{n:08d}")
    phone_digits_reversed = factory.LazyAttribute(lambda o: identity.digits_reversed(o.phone))
    gender = "female"
    age = 31
    source = "Website"
    inquiry = "IVF"


class LeadActivityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LeadActivity

    lead = factory.SubFactory(LeadFactory)
    clinic = factory.SelfAttribute("lead.clinic")
    kind = LeadActivity.Kind.NOTE
    note = "Asked about IVF costs."


class LeadOptionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LeadOption

    clinic = factory.SubFactory(ClinicFactory)
    kind = LeadOption.Kind.SOURCE
    label = factory.Sequence(lambda n: f"Radio ad {n}")


class LeadApiKeyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LeadApiKey

    clinic = factory.SubFactory(ClinicFactory)
    name = "Main website"
    prefix = "lk_test"
    key_hash = factory.Sequence(lambda n: f"{n:064x}")


class CroRotationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CroRotation

    clinic = factory.SubFactory(ClinicFactory)
