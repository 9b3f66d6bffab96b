"""The OpenAPI document names each schema once: django-ninja names a component after its
class, so two classes of one name (the portal's ``InvoiceOut`` and billing's) would make one
silently describe the other's operations."""

import typing
from collections import defaultdict

import pydantic

OUR_APPS = {"clinicos", "patients", "leads", "scheduling", "clinical", "billing", "reporting", "portal"}


def _models_in(annotation, seen: set) -> None:
    if isinstance(annotation, type) and issubclass(annotation, pydantic.BaseModel):
        if annotation in seen:
            return
        seen.add(annotation)
        for field in annotation.model_fields.values():
            _models_in(field.annotation, seen)
        return
    for argument in typing.get_args(annotation):
        _models_in(argument, seen)


def schema_classes_by_name() -> dict[str, set[type]]:
    import clinicos.urls  # noqa: F401  (registers every app's router on the API)
    from clinicos.api import api

    seen: set[type] = set()
    for _prefix, router in api._routers:
        for path_view in router.path_operations.values():
            for operation in path_view.operations:
                for model in operation.models:
                    _models_in(model, seen)
                for response in (operation.response_models or {}).values():
                    _models_in(response, seen)
    by_name: dict[str, set[type]] = defaultdict(set)
    for model in seen:
        if model.__module__.split(".")[0] not in OUR_APPS:
            continue  # django-ninja's own wrappers (BodyParams, NinjaResponseSchema…) are not components
        by_name[model.__name__].add(model)
    return by_name


def test_no_two_schema_classes_share_a_name():
    by_name = schema_classes_by_name()
    assert len(by_name) > 50, "the walk reaches the API's schemas"
    shared = {
        name: sorted(f"{model.__module__}.{model.__qualname__}" for model in models) for name, models in by_name.items() if len(models) > 1
    }
    assert shared == {}


def test_the_document_holds_the_staff_and_the_portal_invoice_apart():
    import clinicos.urls  # noqa: F401
    from clinicos.api import api

    schema = api.get_openapi_schema(path_prefix="/api/v1/")
    components = schema["components"]["schemas"]
    assert "InvoiceOut" in components and "PortalInvoiceOut" in components
    assert set(components["InvoiceOut"]["properties"]) != set(components["PortalInvoiceOut"]["properties"])


def test_every_operation_that_takes_an_id_documents_its_404():
    """An id of someone else's row answers 404; the document says so for path ids and for a
    ``patient_id`` query (the portal's lists), so clients and schemathesis expect it."""
    import clinicos.urls  # noqa: F401
    from clinicos.api import api

    schema = api.get_openapi_schema(path_prefix="/api/v1/")
    missing = [
        f"{method.upper()} {path}"
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
        if any(parameter["name"].endswith("_id") for parameter in operation.get("parameters", [])) and "404" not in operation["responses"]
    ]
    assert missing == []


def test_each_status_is_documented_once_per_operation():
    import clinicos.urls  # noqa: F401
    from clinicos.api import api

    schema = api.get_openapi_schema(path_prefix="/api/v1/")
    for operations in schema["paths"].values():
        for operation in operations.values():
            assert all(isinstance(code, str) for code in operation["responses"]), operation["operationId"]
