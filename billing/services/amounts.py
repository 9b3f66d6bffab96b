"""Amounts typed in (pages and the API): parsed into Decimals with two places, within the
limits the database holds."""

from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError

from billing import arithmetic

MAX_AMOUNT = Decimal("9999999999.99")
# An invoice's subtotal stays below this, so that with any tax (at most 100 %) its total
# still fits the database's amounts.
INVOICE_LIMIT = Decimal("1000000000.00")


# --- Amounts typed in -------------------------------------------------------------------------


def parse_amount(value: Any, field: str, *, allow_zero: bool = True, errors: dict | None = None) -> Decimal | None:
    """A money amount as typed or sent: a number with at most 2 decimals, not negative
    (and above 0 unless ``allow_zero``). Problems go to ``errors[field]`` (or raise)."""
    problem = None
    amount = None
    if value is None or (isinstance(value, str) and not value.strip()):
        problem = "Enter an amount."
    else:
        try:
            amount = Decimal(str(value).strip())
        except InvalidOperation:
            problem = "Enter an amount, e.g. 500 or 499.50."
        else:
            if not amount.is_finite():
                problem = "Enter an amount, e.g. 500 or 499.50."
            elif arithmetic.has_more_than_two_places(amount):
                problem = "Use at most 2 decimal places."
            elif amount < 0:
                problem = "The amount cannot be negative."
            elif amount == 0 and not allow_zero:
                problem = "The amount must be more than 0."
            elif amount > MAX_AMOUNT:
                problem = "This amount is too large."
    if problem:
        if errors is None:
            raise ValidationError({field: problem})
        errors[field] = problem
        return None
    assert amount is not None
    return arithmetic.money(amount)
