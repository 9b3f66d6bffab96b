"""Platform usage: one record per completed visit, for billing clinics."""

import datetime
from decimal import Decimal

from django.utils import timezone

from billing.arithmetic import ZERO
from billing.models import (
    UsagePrice,
    UsageRecord,
)
from clinical.models import Visit

# --- Platform usage ------------------------------------------------------------------------------


def usage_unit_price(*, usage_type: str, currency: str, on: datetime.date) -> Decimal:
    price = UsagePrice.objects.filter(usage_type=usage_type, currency=currency, effective_from__lte=on).order_by("-effective_from").first()
    return price.unit_price if price else ZERO


def record_visit_usage(*, visit: Visit) -> UsageRecord:
    """A completed visit costs the clinic one unit of platform usage, priced from the
    platform's price list on that day (multi-clinic-platform's usage tracking)."""
    clinic = visit.clinic
    occurred_at = visit.completed_at or timezone.now()
    record, _ = UsageRecord.objects.get_or_create(
        visit=visit,
        defaults={
            "clinic": clinic,
            "usage_type": UsagePrice.UsageType.VISIT_COMPLETED,
            "units": 1,
            "unit_price": usage_unit_price(
                usage_type=UsagePrice.UsageType.VISIT_COMPLETED, currency=clinic.currency, on=timezone.localdate(occurred_at, clinic.tzinfo)
            ),
            "currency": clinic.currency,
            "occurred_at": occurred_at,
        },
    )
    return record
