"""A standing guard: schemathesis drives every operation of /api/v1/openapi.json
in-process, with a bearer token, and checks that nothing answers 500 and that every
status code is one the schema documents.

Path parameters ``code`` are pinned to the test clinic (random codes would only test the
404 of unknown clinics); everything else — ids, query strings, bodies — is generated.
Bounded by ``EXAMPLES_PER_OPERATION`` so the run stays well under two minutes.
"""

import pytest
import schemathesis
from django.core.cache import cache
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import status_code_conformance

from clinicos.roles import Role
from clinicos.wsgi import application
from leads.tests.factories import LeadFactory
from patients.tests.factories import DocumentFactory
from scheduling.tests.factories import AppointmentFactory

pytestmark = pytest.mark.django_db
EXAMPLES_PER_OPERATION = 40
# Logging out would end the token the rest of the run uses (logout is tested on its own).
SKIPPED_OPERATIONS = {"POST /api/v1/auth/logout"}


def test_no_operation_answers_500_or_an_undocumented_status(clinic, make_member, api_client):
    cache.clear()
    api = api_client(make_member(*Role))
    DocumentFactory(clinic=clinic, patient__clinic=clinic)
    LeadFactory(clinic=clinic)
    AppointmentFactory(clinic=clinic)
    # Like Django's test client: the in-process WSGI calls must not close the test's
    # database connection (and its transaction) at the end of each request.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)
        operations = [result.ok() for result in schema.get_all_operations()]
        assert len(operations) >= 25
        exercised = _exercise(operations, clinic, {"Authorization": f"Bearer {api.token}"})
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    assert exercised == len(operations) - len(SKIPPED_OPERATIONS)


def _exercise(operations, clinic, headers) -> int:
    exercised = 0
    for operation in operations:
        if f"{operation.method.upper()} {operation.path}" in SKIPPED_OPERATIONS:
            continue

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        def run(case):
            if case.path_parameters and "code" in case.path_parameters:
                case.path_parameters["code"] = clinic.code
            case.call_and_validate(headers=headers, checks=[not_a_server_error, status_code_conformance])

        run()
        exercised += 1
    return exercised
