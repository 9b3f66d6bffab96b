"""Hostile input at the API's edge: lone surrogates, bytes that are not UTF-8, bodies of
another type or shape, booleans for numbers and numbers for dates are refused before any
library or the database sees them (a 4xx naming the field, never a 500), and nothing is
stored. Called as integrations call: a bearer token from ``POST /api/v1/auth/login``."""

import json

import pytest

from clinicos.roles import Role
from leads.models import Lead
from leads.tests.factories import LeadFactory
from patients.models import Patient

pytestmark = [pytest.mark.security, pytest.mark.django_db]

SURROGATE_JSON = '"A\\ud800B"'  # JSON text: a lone high surrogate escaped, as a client can send it


def url(clinic, tail: str) -> str:
    return f"/api/v1/clinics/{clinic.code}{tail}"


@pytest.fixture
def desk(api_client, make_member):
    return api_client(make_member(Role.FRONT_DESK, Role.CRO))


def raw(api, method: str, path: str, body: bytes | str, content_type: str = "application/json"):
    return getattr(api.client, method)(path, body, content_type=content_type, HTTP_AUTHORIZATION=f"Bearer {api.token}")


def field_of(response) -> list:
    return [problem["loc"][-1] for problem in response.json()["detail"]]


def test_a_lone_surrogate_at_login_is_a_422_not_a_500(client, front_desk):
    body = '{"email": ' + SURROGATE_JSON + ', "password": "x"}'
    response = client.post("/api/v1/auth/login", body, content_type="application/json")
    assert response.status_code == 422 and field_of(response) == ["email"]
    body = '{"email": "' + front_desk.email + '", "password": ' + SURROGATE_JSON + "}"
    assert client.post("/api/v1/auth/login", body, content_type="application/json").status_code == 422


@pytest.mark.parametrize(
    "body",
    ['{"phone": ' + SURROGATE_JSON + "}", '{"email": ' + SURROGATE_JSON + "}", "[1, 2]", "null", b"\xff\xfe{", '{"' + "\\udc00" + '": 1}'],
)
def test_the_portals_request_code_answers_202_whatever_it_is_sent(client, body):
    assert client.post("/api/v1/portal/auth/request-code", body, content_type="application/json").status_code == 202
    assert client.post("/api/v1/portal/auth/request-code", body, content_type="text/plain").status_code == 202


def test_a_surrogate_in_any_text_field_is_refused_naming_it_and_nothing_is_stored(desk, clinic):
    for field in ("first_name", "city", "referring_doctor"):
        body = '{"first_name": "Asha", "last_name": "Rao", "gender": "female", "age_years": 30, "mobile": "9845012345", "%s": %s}'
        response = raw(desk, "post", url(clinic, "/patients"), body % (field, SURROGATE_JSON))
        assert response.status_code == 422 and field in field_of(response), response.content
    nested = '{"first_name": "Asha", "last_name": "Rao", "gender": "female", "age_years": 30, "x": {"y": [' + SURROGATE_JSON + "]}}"
    response = raw(desk, "post", url(clinic, "/patients"), nested)
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["body", "x", "y", 0]
    assert not Patient.objects.filter(clinic=clinic).exists()


def test_bytes_that_are_not_utf8_are_a_400_on_every_body_even_an_optional_one(desk, clinic):
    lead = LeadFactory(clinic=clinic)
    for method, path in (("post", url(clinic, "/patients")), ("post", url(clinic, f"/leads/{lead.pk}/convert"))):
        response = raw(desk, method, path, b'{"first_name": "\xff\xfe"}')
        assert response.status_code == 400 and response.json() == {"detail": "The body is not UTF-8."}
    assert not Patient.objects.filter(clinic=clinic).exists()
    assert Lead.objects.get(pk=lead.pk).converted_patient_id is None


def test_a_body_of_another_type_is_a_415(desk, clinic):
    body = json.dumps({"first_name": "Asha", "last_name": "Rao", "gender": "female", "age_years": 30})
    for content_type in ("text/plain", "application/xml", "application/x-www-form-urlencoded"):
        response = raw(desk, "post", url(clinic, "/patients"), body, content_type)
        assert response.status_code == 415, (content_type, response.content)
    assert not Patient.objects.filter(clinic=clinic).exists()


@pytest.mark.parametrize("body", ["[]", "null", '"text"', "1", "true"])
def test_a_body_that_is_not_an_object_is_a_422_not_a_no_op(desk, clinic, body):
    lead = LeadFactory(clinic=clinic)
    assert raw(desk, "post", url(clinic, "/patients"), body).status_code == 422
    assert raw(desk, "patch", url(clinic, f"/leads/{lead.pk}"), body).status_code == 422
    converted = raw(desk, "post", url(clinic, f"/leads/{lead.pk}/convert"), body)
    assert converted.status_code == 422 and converted.json()["detail"][0]["msg"] == "The body must be a JSON object."
    assert Lead.objects.get(pk=lead.pk).converted_patient_id is None


def test_true_is_not_a_number(desk, clinic):
    body = {"first_name": "Asha", "last_name": "Rao", "gender": "female", "age_years": True, "mobile": "9845012345"}
    response = desk.post(url(clinic, "/patients"), body)
    assert response.status_code == 422 and field_of(response) == ["age_years"]
    assert response.json()["detail"][0]["msg"].endswith("Send a number, not true or false.")
    assert not Patient.objects.filter(clinic=clinic).exists()


@pytest.mark.parametrize("day", [0, "0", 1700000000, "1700000000", True])
def test_a_date_is_a_date_not_a_number_of_seconds(desk, clinic, day):
    body = {"first_name": "Asha", "last_name": "Rao", "gender": "female", "date_of_birth": day, "mobile": "9845012345"}
    response = desk.post(url(clinic, "/patients"), body)
    assert response.status_code == 422 and field_of(response) == ["date_of_birth"]
    assert desk.get(url(clinic, f"/availability/free-slots?date={day}")).status_code == 422
    assert not Patient.objects.filter(clinic=clinic).exists()


def test_well_formed_input_still_passes(desk, clinic):
    body = {"first_name": "Asha", "last_name": "Rao", "gender": "female", "date_of_birth": "1995-04-02", "mobile": "9845012345"}
    assert desk.post(url(clinic, "/patients"), body).status_code == 201
    assert desk.get(url(clinic, "/availability/free-slots?date=2030-01-07")).status_code == 200


def test_a_nul_in_an_api_query_string_is_dropped_before_the_database_sees_it(desk, clinic, client, front_desk):
    assert desk.get(url(clinic, "/services?service_type=%00")).status_code == 200  # a 500 on PostgreSQL before
    assert desk.get(url(clinic, "/invoices?status=%00")).status_code in (200, 422)
    client.force_login(front_desk)
    assert client.get(f"/c/{clinic.code}/patients/?q=a%00b").status_code == 400  # the page's form says why
