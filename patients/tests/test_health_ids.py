"""National health identifiers on the chart: ABHA number (14 digits, XX-XXXX-XXXX-XXXX), ABHA
address (name@abdm; @sbx only in ABDM's sandbox), NHS number (modulus 11) — checked by the
form and the API alike, unique per clinic, shown on the banner and PDFs, found by the header
search exactly."""

import pytest
from django.core.exceptions import ValidationError

from patients import identity
from patients.models import Patient
from patients.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("number", "valid"),
    [("9434765919", True), ("9434765918", False), ("4010232137", True), ("401023213", False), ("94347659AB", False), ("0000000000", True)],
)
def test_the_nhs_number_check_digit(number, valid):
    assert identity.nhs_number_is_valid(number) is valid


def test_abha_numbers_and_addresses_are_format_checked(settings):
    assert identity.normalize_abha_number("91-1234-5678-9012") == "91123456789012"
    assert identity.abha_number_display("91123456789012") == "91-1234-5678-9012"
    for bad in ("91-1234-5678-901", "9112345678901234", "91-ABCD-5678-9012"):
        with pytest.raises(ValidationError):
            identity.normalize_abha_number(bad)
    assert identity.normalize_abha_address(" Meera.Iyer@ABDM ") == "meera.iyer@abdm"
    with pytest.raises(ValidationError):
        identity.normalize_abha_address("meera@sbx")  # the sandbox's, refused in production
    settings.ABDM_SANDBOX = True
    assert identity.normalize_abha_address("meera@sbx") == "meera@sbx"
    with pytest.raises(ValidationError):
        identity.normalize_abha_address("meera@gmail.com")


def test_the_api_takes_checks_and_shows_them(api_client, front_desk, clinic):
    api = api_client(front_desk)
    patient = PatientFactory(clinic=clinic)
    url = f"/api/v1/clinics/{clinic.code}/patients/{patient.pk}"
    bad = api.patch(url, {"nhs_number": "943 476 5918"})
    assert bad.status_code == 422 and "nhs_number" in str(bad.json()["detail"])
    assert api.patch(url, {"abha_number": "91-1234"}).status_code == 422
    patient.refresh_from_db()
    assert patient.nhs_number == "" and patient.abha_number == ""
    good = api.patch(url, {"nhs_number": "943 476 5919", "abha_number": "91-1234-5678-9012", "abha_address": "Meera@abdm"})
    assert good.status_code == 200, good.content
    assert (good.json()["nhs_number"], good.json()["abha_number"], good.json()["abha_address"]) == (
        "9434765919",
        "91123456789012",
        "meera@abdm",
    )
    other = PatientFactory(clinic=clinic)
    taken = api.patch(f"/api/v1/clinics/{clinic.code}/patients/{other.pk}", {"abha_number": "91123456789012"})
    assert taken.status_code == 422 and "Another patient of this clinic" in str(taken.json()["detail"])

    # Another clinic may hold the same number (a person registered in two clinics).
    from clinicos.tests.factories import ClinicFactory

    elsewhere = PatientFactory(clinic=ClinicFactory(code="ELS01"), abha_number="91123456789012")
    assert elsewhere.pk


def test_the_chart_banner_the_pdf_and_the_header_search_show_them(login, front_desk, clinic, clinician):
    patient = PatientFactory(
        clinic=clinic, first_name="Meera", abha_number="91123456789012", abha_address="meera@abdm", nhs_number="9434765919"
    )
    client = login(front_desk)
    banner = client.get(f"/c/{clinic.code}/patients/{patient.pk}/").content.decode()
    assert "ABHA 91-1234-5678-9012" in banner and "meera@abdm" in banner and "NHS 943 476 5919" in banner
    for typed in ("91-1234-5678-9012", "91123456789012", "943 476 5919", "Meera@ABDM"):
        found = client.get(f"/c/{clinic.code}/patients/search/", {"q": typed}).content.decode()
        assert patient.uhid in found, typed


def test_the_registration_form_refuses_a_bad_abha_number_and_stores_nothing(login, front_desk, clinic):
    before = Patient.objects.count()
    page = login(front_desk).post(
        f"/c/{clinic.code}/patients/new/full/",
        {
            "first_name": "Ann",
            "last_name": "Lee",
            "mobile": "9845012399",
            "gender": "female",
            "date_of_birth": "1990-01-01",
            "abha_number": "91-1234",
        },
    )
    assert page.status_code in (400, 422) and "An ABHA number has 14 digits" in page.content.decode()
    assert "NHS number" not in page.content.decode()  # a clinic in India is not asked for one
    assert Patient.objects.count() == before
