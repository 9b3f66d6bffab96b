"""A standing guard: schemathesis drives every operation of /api/v1/openapi.json
in-process, with a bearer token, and checks that nothing answers 500, that every
status code is one the schema documents, and that every answer's body fits the schema
documented for that status.

One test per operation (so parallel workers share them out and a failure names its
operation), each with a fixed budget of examples drawn from a fixed seed
(``derandomize``): a failure reproduces on the next run and on every machine.
Path parameters ``code`` are pinned to the test clinic (random codes would only test the
404 of unknown clinics); everything else — ids, query strings, bodies — is generated.
"""

import pytest
import schemathesis
from django.core.cache import cache
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from clinicos.roles import Role
from clinicos.wsgi import application
from leads.tests.factories import LeadFactory
from patients.tests.factories import DocumentFactory
from scheduling.tests.factories import AppointmentFactory

pytestmark = [pytest.mark.django_db, pytest.mark.schemathesis]
EXAMPLES_PER_OPERATION = 40
# Logging out would end the token the rest of the run uses (logout is tested on its own).
SKIPPED_OPERATIONS = {"POST /api/v1/auth/logout"}


def _documented_operations() -> list[str]:
    """ "METHOD /path" of every operation the API documents, read from django-ninja
    without a request, so that the tests can be named at collection."""
    import clinicos.urls  # noqa: F401  (registers every app's router on the API)
    from clinicos.api import api

    paths = api.get_openapi_schema(path_prefix="/api/v1/")["paths"]
    return sorted(f"{method.upper()} {path}" for path, operations in paths.items() for method in operations)


OPERATIONS = _documented_operations()
_loaded_schema = None


def _schema():
    """The schema as schemathesis reads it from the running application (once per process)."""
    global _loaded_schema
    if _loaded_schema is None:
        _loaded_schema = _in_process(lambda: schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application))
    return _loaded_schema


def _in_process(call):
    # Like Django's test client: the in-process WSGI calls must not close the test's
    # database connection (and its transaction) at the end of each request.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        return call()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def test_every_operation_the_application_serves_is_fuzzed():
    served = sorted(
        f"{operation.method.upper()} {operation.path}" for operation in (result.ok() for result in _schema().get_all_operations())
    )
    assert len(served) >= 25
    assert served == OPERATIONS


@pytest.mark.parametrize("label", [label for label in OPERATIONS if label not in SKIPPED_OPERATIONS])
def test_no_operation_answers_500_or_an_undocumented_status(label, clinic, make_member, api_client):
    cache.clear()
    api = api_client(make_member(*Role))
    DocumentFactory(clinic=clinic, patient__clinic=clinic)
    LeadFactory(clinic=clinic)
    AppointmentFactory(clinic=clinic)
    method, path = label.split(" ", 1)
    operation = _schema()[path][method]
    headers = {"Authorization": f"Bearer {api.token}"}

    @given(case=operation.as_strategy())
    @settings(max_examples=EXAMPLES_PER_OPERATION, derandomize=True, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    def run(case):
        if case.path_parameters and "code" in case.path_parameters:
            case.path_parameters["code"] = clinic.code
        case.call_and_validate(headers=headers, checks=[not_a_server_error, status_code_conformance, response_schema_conformance])

    _in_process(run)
