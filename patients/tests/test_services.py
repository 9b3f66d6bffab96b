import datetime
import hashlib
import io
import threading

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from PIL import Image

from clinicos.models import AuditLog
from conftest import in_clinic_scope
from patients import identity, services
from patients.models import Document, Patient, Person, UhidSequence
from patients.tests.factories import MINIMAL_PDF, PatientFactory, image_bytes

pytestmark = pytest.mark.django_db
PNG = image_bytes("PNG")
JPEG = image_bytes("JPEG")
WEBP = image_bytes("WEBP")


def register(clinic, user, **overrides):
    data = {
        "first_name": "Lakshmi",
        "last_name": "Iyer",
        "gender": "female",
        "mobile": "+919876543210",
        "date_of_birth": datetime.date(1991, 3, 4),
        **overrides,
    }
    return services.patient_register(clinic=clinic, user=user, data=data, national_id=overrides.pop("national_id", None))


def test_uhids_are_sequential_per_clinic_and_year(clinic, other_clinic, front_desk):
    first = register(clinic, front_desk)
    second = register(clinic, front_desk, mobile="+919876543211", first_name="Meera")
    elsewhere = register(other_clinic, front_desk, mobile="+447700900123")
    year = first.registration_date.year
    assert (first.uhid, second.uhid) == (f"JAN-{year}-001", f"JAN-{year}-002")
    assert elsewhere.uhid == f"LFC-{year}-001"


def test_uhid_counts_past_999_with_more_digits(clinic, front_desk):
    UhidSequence.objects.create(clinic=clinic, year=datetime.date.today().year, last_number=999)
    assert register(clinic, front_desk).uhid.endswith("-1000")


def test_a_failed_registration_does_not_use_up_a_number(clinic, front_desk):
    with pytest.raises(ValidationError):
        register(clinic, front_desk, email="not-an-email")
    assert register(clinic, front_desk).uhid.endswith("-001")


def test_duplicates_by_phone_or_name_and_birth_date_are_refused_unless_confirmed(clinic, front_desk):
    existing = register(clinic, front_desk)
    with pytest.raises(services.DuplicatePatient) as same_phone:
        register(clinic, front_desk, first_name="Someone", last_name="Else")
    assert same_phone.value.matches == [existing]
    with pytest.raises(services.DuplicatePatient):
        register(clinic, front_desk, mobile="+919811111111", first_name="LAKSHMI", last_name="iyer")
    confirmed = services.patient_register(
        clinic=clinic,
        user=front_desk,
        allow_duplicate=True,
        data={
            "first_name": "Lakshmi",
            "last_name": "Iyer",
            "gender": "female",
            "mobile": "+919876543210",
            "date_of_birth": datetime.date(1991, 3, 4),
        },
    )
    assert confirmed.uhid != existing.uhid


def test_the_same_person_in_two_clinics_has_two_charts_linked_by_phone(clinic, other_clinic, front_desk):
    here = register(clinic, front_desk)
    there = register(other_clinic, front_desk)
    assert here.pk != there.pk and here.person_id == there.person_id
    assert Person.objects.get().phone == "+919876543210"


def test_national_id_is_encrypted_masked_and_findable_by_exact_match(clinic, front_desk):
    patient = register(clinic, front_desk, national_id="2345 6789 0123")
    stored = Patient.objects.get(pk=patient.pk)
    assert "234567890123" not in stored.national_id_encrypted
    assert identity.decrypt_national_id(stored.national_id_encrypted) == "234567890123"
    assert stored.national_id_masked == "XXXX-XXXX-0123"
    assert stored.national_id_hash == identity.national_id_hash("2345-6789-0123")
    # It never reaches the history tables or the audit trail.
    assert not hasattr(stored.history.first(), "national_id_encrypted")
    assert all("234567890123" not in str(entry.changes) for entry in AuditLog.objects.all())


def test_editing_records_field_changes_with_old_and_new_values(clinic, front_desk):
    patient = register(clinic, front_desk)
    services.patient_update(patient=patient, changes={"city": "Mysuru", "blood_group": "O+"})
    change = AuditLog.objects.filter(entity_type="patients.patient", action="update").get()
    assert change.changes["city"] == {"label": "City", "old": None, "new": "Mysuru"}
    assert change.changes["blood_group"]["new"] == "O+"


def test_archiving_keeps_the_patient(clinic, front_desk):
    patient = register(clinic, front_desk)
    services.patient_set_status(patient=patient, status="archived")
    assert Patient.objects.get(pk=patient.pk).is_archived


# --- Documents --------------------------------------------------------------------------


def upload(patient, user, content, name="scan.pdf", document_type="lab_report"):
    return services.document_upload(
        patient=patient, user=user, upload=SimpleUploadedFile(name, content), name="", document_type=document_type
    )


@pytest.mark.parametrize(
    "content, content_type", [(MINIMAL_PDF, "application/pdf"), (PNG, "image/png"), (JPEG, "image/jpeg"), (WEBP, "image/webp")]
)
def test_accepted_files_are_typed_from_their_content(clinic, front_desk, content, content_type):
    patient = PatientFactory(clinic=clinic)
    document = upload(patient, front_desk, content, name="whatever.bin")
    assert document.content_type == content_type
    stored = document.file.read()
    assert document.size == len(stored)
    assert document.checksum_sha256 == hashlib.sha256(stored).hexdigest()
    if content_type == "application/pdf":
        assert stored == content
    else:  # a picture is decoded and written again: the same picture, its own bytes
        with Image.open(io.BytesIO(stored)) as image:
            assert image.size == (6, 4) and image.format == content_type.split("/")[1].upper()


@pytest.mark.parametrize(
    "content",
    [
        b"\x89PNG\r\n\x1a\n" + b"\x00" * 64,
        b"\x89PNG\r\n\x1a\n<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>",
        image_bytes("PNG")[:40],  # cut short
        b"\xff\xd8\xff\xe0<script>alert(1)</script>",
        b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 64,
    ],
)
def test_a_file_that_only_starts_like_an_image_is_refused_and_nothing_is_stored(clinic, front_desk, content):
    patient = PatientFactory(clinic=clinic)
    with pytest.raises(ValidationError, match="could not be read"):
        upload(patient, front_desk, content, name="photo.png")
    assert not Document.objects.filter(patient=patient).exists()


def test_a_photos_camera_metadata_is_not_kept(clinic, front_desk):
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x8825] = {2: (12.0, 58.0, 0.0)}  # GPS latitude
    photo = image_bytes("JPEG", exif=exif.tobytes())
    assert b"PhoneMaker" in photo
    document = upload(PatientFactory(clinic=clinic), front_desk, photo, name="wound.jpg")
    assert b"PhoneMaker" not in document.file.read()


def test_an_executable_renamed_pdf_is_refused_and_nothing_is_stored(clinic, front_desk):
    patient = PatientFactory(clinic=clinic)
    with pytest.raises(ValidationError) as refused:
        upload(patient, front_desk, b"MZ\x90\x00\x03" + b"\x00" * 100, name="report.pdf")
    assert "Only PDF, JPEG, PNG and WebP" in str(refused.value)
    assert not Document.objects.exists()


def test_an_oversize_file_is_refused(clinic, front_desk, settings):
    settings.DOCUMENT_MAX_UPLOAD_BYTES = 1024
    patient = PatientFactory(clinic=clinic)
    with pytest.raises(ValidationError) as refused:
        upload(patient, front_desk, MINIMAL_PDF + b"0" * 2048)
    assert "the limit is" in str(refused.value)
    assert not Document.objects.exists()


def test_a_path_traversal_name_is_sanitized_and_the_stored_path_is_unguessable(clinic, front_desk):
    patient = PatientFactory(clinic=clinic)
    document = upload(patient, front_desk, MINIMAL_PDF, name="../../etc/passwd<script>.pdf")
    assert document.original_name == "passwd_script.pdf"
    assert ".." not in document.file.name and "passwd" not in document.file.name
    assert document.file.name.startswith(f"documents/{clinic.pk}/{patient.pk}/")


def test_unknown_document_type_is_refused(clinic, front_desk):
    with pytest.raises(ValidationError):
        upload(PatientFactory(clinic=clinic), front_desk, MINIMAL_PDF, document_type="selfie")


def test_soft_delete_keeps_the_record_and_says_who(clinic, front_desk):
    document = upload(PatientFactory(clinic=clinic), front_desk, MINIMAL_PDF)
    services.document_soft_delete(document=document, user=front_desk)
    document.refresh_from_db()
    assert document.is_deleted and document.deleted_by == front_desk and document.deleted_at


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the UHID race is settled by PostgreSQL row locks")
@pytest.mark.django_db(transaction=True)
def test_concurrent_registrations_get_distinct_gap_free_uhids(clinic, front_desk):
    from django.db import close_old_connections

    results, errors = [], []
    barrier = threading.Barrier(8)

    def register_one(n):
        try:
            barrier.wait()
            patient = register(clinic, front_desk, mobile=f"+9198765432{n:02d}", first_name=f"Racer{n}")
            results.append(patient.uhid)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            close_old_connections()

    threads = [threading.Thread(target=in_clinic_scope(clinic, register_one), args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    year = datetime.date.today().year
    assert sorted(results) == [f"JAN-{year}-{n:03d}" for n in range(1, 9)]
