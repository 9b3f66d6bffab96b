"""Billing inputs as the services take them: amounts as Decimals and invoice lines as
``InvoiceLineInput``, parsed once at the edge (the pages' forms and the API's schemas), so
that no service parses a string. The services still check what an amount may be
(``check_amount``): two places, not negative, within what the database holds."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from billing import arithmetic

MAX_AMOUNT = Decimal("9999999999.99")
NOT_AN_AMOUNT = "Enter an amount, e.g. 500 or 499.50."


def amount_problem(amount: Decimal, *, allow_zero: bool = True) -> str | None:
    """What is wrong with an amount, if anything (the rule the services apply too)."""
    if not amount.is_finite():
        return NOT_AN_AMOUNT
    if amount > MAX_AMOUNT:  # first: 1E+308 has no "places" to count
        return "This amount is too large."
    if arithmetic.has_more_than_two_places(amount):
        return "Use at most 2 decimal places."
    if amount < 0:
        return "The amount cannot be negative."
    if amount == 0 and not allow_zero:
        return "The amount must be more than 0."
    return None


def _refuse(problem: str, field: str, errors: dict | None) -> None:
    """A problem goes to ``errors[field]`` when the caller collects them, else it is raised."""
    if errors is None:
        raise ValidationError({field: problem})
    errors[field] = problem


def checked_amount(amount: Decimal, field: str, *, allow_zero: bool = True, errors: dict | None = None) -> Decimal:
    """For the services: an amount already parsed, checked by ``amount_problem`` (problems
    to ``errors[field]``, or raised) and rounded to cents."""
    if not isinstance(amount, Decimal):
        raise TypeError(f"{field} must be parsed at the edge into a Decimal (billing.inputs.parse_amount), not {type(amount).__name__}.")
    problem = amount_problem(amount, allow_zero=allow_zero)
    if problem:
        _refuse(problem, field, errors)
        return amount
    return arithmetic.money(amount)


def parse_amount(value: Any, field: str, *, allow_zero: bool = True, errors: dict | None = None) -> Decimal | None:
    """A money amount as typed or sent: a number with at most 2 decimals, not negative
    (and above 0 unless ``allow_zero``). Problems go to ``errors[field]`` (or raise)."""
    if value is None or isinstance(value, bool) or (isinstance(value, str) and not value.strip()):
        _refuse("Enter an amount.", field, errors)
        return None
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        _refuse(NOT_AN_AMOUNT, field, errors)
        return None
    problem = amount_problem(amount, allow_zero=allow_zero)
    if problem:
        _refuse(problem, field, errors)
        return None
    return arithmetic.money(amount)


AMOUNT_ATTRS = {"inputmode": "decimal", "autocomplete": "off", "class": "input-amount"}


class AmountField(forms.CharField):
    """An amount typed in a page: cleaned to a Decimal with ``parse_amount``'s messages
    (None when left blank and not required)."""

    def __init__(self, *, allow_zero: bool = True, **kwargs):
        self.allow_zero = allow_zero
        kwargs.setdefault("max_length", 20)
        kwargs.setdefault("widget", forms.TextInput(attrs=AMOUNT_ATTRS))
        super().__init__(**kwargs)

    def clean(self, value):
        text = super().clean(value)
        if not text:
            return None
        errors: dict[str, str] = {}
        amount = parse_amount(text, "amount", allow_zero=self.allow_zero, errors=errors)
        if errors:
            raise forms.ValidationError(errors["amount"])
        return amount


# --- Invoice lines ---------------------------------------------------------------------------

LINE_FIELDS = ("service", "service_id", "description", "quantity", "unit_price", "discount", "free_reason")


@dataclass(frozen=True)
class InvoiceLineInput:
    """One line as entered: a catalog service (its description, price and tax unless given)
    or free text. ``unit_price`` None means "the service's price". ``price_missing``: the
    line came without one (a lab test the catalog does not price) and may stay unpriced on a
    draft; ``free_reason``: why it is given free (its price then 0)."""

    service_id: int | None = None
    description: str = ""
    quantity: int = 1
    unit_price: Decimal | None = None
    discount: Decimal = Decimal("0.00")
    price_missing: bool = False
    free_reason: str = ""

    @classmethod
    def of_row(cls, line) -> "InvoiceLineInput":
        """A saved ``InvoiceLine`` as input again (to re-check it, or to fill the form)."""
        return cls(
            service_id=line.service_id,
            description=line.description,
            quantity=line.quantity,
            unit_price=None if line.price_missing else line.unit_price,
            discount=line.discount,
            price_missing=line.price_missing,
            free_reason=line.free_reason,
        )


def invoice_lines_parse(raw_lines: Sequence[Mapping[str, Any]]) -> list[InvoiceLineInput]:
    """Lines as typed or sent (``service`` a row or ``service_id``) → typed lines, or one
    ValidationError naming each problem as ``lines.<index>.<field>``."""
    errors: dict[str, str] = {}
    lines = []
    for index, raw in enumerate(raw_lines):
        unknown = set(raw) - set(LINE_FIELDS)
        if unknown:
            raise ValueError(f"Not invoice line fields: {', '.join(sorted(unknown))}")
        prefix = f"lines.{index}."
        price = raw.get("unit_price")
        blank_price = price is None or (isinstance(price, str) and not price.strip())
        line = InvoiceLineInput(
            service_id=raw.get("service_id") or getattr(raw.get("service"), "pk", None),
            description=str(raw.get("description") or "").strip(),
            quantity=_quantity(raw.get("quantity", 1), prefix, errors) or 1,
            unit_price=None if blank_price else parse_amount(price, prefix + "unit_price", errors=errors),
            discount=parse_amount(raw.get("discount") or "0", prefix + "discount", errors=errors) or Decimal("0.00"),
            free_reason=str(raw.get("free_reason") or "").strip(),
        )
        lines.append(line)
    if errors:
        raise ValidationError(errors)
    return lines


def _quantity(quantity: Any, prefix: str, errors: dict[str, str]) -> int | None:
    """A whole number from 1 to 10,000 (never a boolean)."""
    if isinstance(quantity, bool) or not isinstance(quantity, int | str) or not str(quantity).strip().lstrip("-").isdigit():
        errors[prefix + "quantity"] = "The quantity is a whole number, 1 or more."
        return None
    quantity = int(quantity)
    if quantity < 1:
        errors[prefix + "quantity"] = "The quantity must be at least 1."
    elif quantity > 10000:
        errors[prefix + "quantity"] = "The quantity can be at most 10,000."
    return quantity
