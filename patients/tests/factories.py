import datetime

import factory
from django.core.files.base import ContentFile

from clinicos.tests.factories import ClinicFactory, UserFactory
from patients import identity
from patients.models import Document, InsuranceProvider, Patient, Person, UhidSequence


def image_bytes(image_format: str = "PNG", size: tuple[int, int] = (6, 4), exif: bytes | None = None) -> bytes:
    """A real (tiny) picture in ``image_format``, as a camera or a scanner would send it."""
    import io

    from PIL import Image

    out = io.BytesIO()
    extra = {"exif": exif} if exif else {}
    Image.new("RGB", size, (200, 40, 90)).save(out, format=image_format, **extra)
    return out.getvalue()


MINIMAL_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Count 1/Kids[3 0 R]>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)


class InsuranceProviderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = InsuranceProvider

    clinic = factory.SubFactory(ClinicFactory)
    name = factory.Sequence(lambda n: f"Insurer {n}")


class PersonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Person

    phone = factory.Sequence(lambda n: f"+9198{n:08d}")


class UhidSequenceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = UhidSequence

    clinic = factory.SubFactory(ClinicFactory)
    year = 2026


class PatientFactory(factory.django.DjangoModelFactory):
    """A registered patient. Derived columns (search keys, UHID) are filled the way the
    registration service fills them."""

    class Meta:
        model = Patient
        skip_postgeneration_save = True  # the care-team hook writes its own rows

    clinic = factory.SubFactory(ClinicFactory)
    uhid = factory.LazyAttributeSequence(lambda o, n: f"{o.clinic.uhid_prefix}-2026-{n + 100:03d}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    gender = "female"
    date_of_birth = datetime.date(1990, 5, 17)
    mobile = factory.Sequence(lambda n: f"+9197{n:08d}")
    registration_date = factory.LazyFunction(datetime.date.today)
    search_name = factory.LazyAttribute(lambda o: identity.search_key(f"{o.first_name} {o.last_name}"))
    search_name_last_first = factory.LazyAttribute(lambda o: identity.search_key(f"{o.last_name} {o.first_name}"))
    mobile_digits_reversed = factory.LazyAttribute(lambda o: identity.digits_reversed(o.mobile))

    @factory.post_generation
    def care_team(patient, create, extracted, **kwargs):
        """As registration does: the assigned doctor joins the care team."""
        if create and patient.assigned_doctor_id:
            from patients.services import care_team_add

            care_team_add(patient=patient, doctor=patient.assigned_doctor)

    @factory.post_generation
    def name_key(patient, create, extracted, **kwargs):
        """As registration does: the name joins the clinic's names the fuzzy search ranks."""
        if create:
            from patients.services import _remember_name

            _remember_name(patient)


class DocumentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Document

    patient = factory.SubFactory(PatientFactory)
    clinic = factory.SelfAttribute("patient.clinic")
    name = "Consent form"
    document_type = Document.Type.CONSENT
    file = factory.LazyFunction(lambda: ContentFile(MINIMAL_PDF, name="consent.pdf"))
    original_name = "consent.pdf"
    content_type = "application/pdf"
    size = len(MINIMAL_PDF)
    checksum_sha256 = "0" * 64
    uploaded_by = factory.SubFactory(UserFactory)
