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
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)
    headers = {"Authorization": f"Bearer {api.token}"}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 25
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
    assert exercised == len(operations) - len(SKIPPED_OPERATIONS)
