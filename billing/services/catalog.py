"""The service catalog: prices and tax classes."""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction

from billing import arithmetic
from billing.arithmetic import ZERO
from billing.models import (
    Service,
    TaxClass,
)
from clinicos.models import Clinic, Department, User
from clinicos.text import check_no_nul

# --- The catalog --------------------------------------------------------------------------------

SERVICE_FIELDS = (
    "name",
    "service_type",
    "department",
    "lab_test",
    "price",
    "default_duration_minutes",
    "tax_class",
    "tax_rate",
    "hsn_sac",
    "is_active",
)


@transaction.atomic
def service_save(*, clinic: Clinic, user: User, service: Service | None = None, **data) -> Service:
    unknown = set(data) - set(SERVICE_FIELDS)
    if unknown:
        raise ValueError(f"Not service fields: {', '.join(sorted(unknown))}")
    check_no_nul(**{key: value for key, value in data.items() if isinstance(value, str)})
    service = service or Service(clinic=clinic)
    for key, value in data.items():
        setattr(service, key, value.strip() if isinstance(value, str) else value)
    errors: dict[str, str] = {}
    if service.department_id and not Department.objects.filter(clinic=clinic, pk=service.department_id).exists():
        errors["department"] = "Choose one of this clinic's departments."
    if service.lab_test is not None and service.lab_test.clinic_id != clinic.pk:
        errors["lab_test"] = "Choose a test of this clinic's catalog."
    if service.tax_class == TaxClass.EXEMPT:
        service.tax_rate = ZERO
    elif service.tax_rate is None or service.tax_rate <= 0:
        errors["tax_rate"] = "A taxable service needs its rate, e.g. 18 (GST) or 20 (VAT)."
    if service.price is not None and arithmetic.has_more_than_two_places(Decimal(service.price)):
        errors["price"] = "Use at most 2 decimal places."
    if errors:
        raise ValidationError(errors)
    service.full_clean()
    service.save()
    return service
