"""Billing inputs parsed at the edge (billing.inputs): amounts and invoice lines."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from billing.inputs import AmountField, InvoiceLineInput, checked_amount, invoice_lines_parse, parse_amount


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("", "Enter an amount."),
        (None, "Enter an amount."),
        (True, "Enter an amount."),
        ("abc", "Enter an amount, e.g. 500 or 499.50."),
        ("NaN", "Enter an amount, e.g. 500 or 499.50."),
        ("10.005", "Use at most 2 decimal places."),
        ("-1", "The amount cannot be negative."),
        ("10000000000", "This amount is too large."),
    ],
)
def test_an_amount_that_is_not_one_is_named(raw, message):
    with pytest.raises(ValidationError) as refused:
        parse_amount(raw, "amount")
    assert refused.value.message_dict == {"amount": [message]}


def test_an_amount_is_a_decimal_in_cents():
    assert parse_amount(" 499.5 ", "amount") == Decimal("499.50")
    assert parse_amount(7, "amount") == Decimal("7.00")


def test_a_service_takes_only_a_parsed_amount_and_still_checks_it():
    with pytest.raises(TypeError, match="parsed at the edge"):
        checked_amount("5", "amount")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="more than 0"):
        checked_amount(Decimal("0"), "amount", allow_zero=False)
    assert checked_amount(Decimal("5"), "amount") == Decimal("5.00")


def test_the_page_field_cleans_to_a_decimal_with_the_same_messages():
    field = AmountField(required=False, allow_zero=False)
    assert field.clean("1,5".replace(",", ".")) == Decimal("1.50")
    assert field.clean("") is None
    with pytest.raises(ValidationError, match="more than 0"):
        field.clean("0")


def test_lines_are_typed_and_every_bad_field_is_named_at_once():
    class Row:
        pk = 9

    lines = invoice_lines_parse([{"service": Row(), "quantity": "2"}, {"description": " Dressing ", "unit_price": "150", "discount": ""}])
    assert lines == [
        InvoiceLineInput(service_id=9, quantity=2),
        InvoiceLineInput(description="Dressing", unit_price=Decimal("150.00")),
    ]
    with pytest.raises(ValidationError) as refused:
        invoice_lines_parse([{"description": "X", "quantity": True, "unit_price": "ten"}, {"description": "Y", "discount": "-1"}])
    assert set(refused.value.message_dict) == {"lines.0.quantity", "lines.0.unit_price", "lines.1.discount"}
    with pytest.raises(ValueError, match="colour"):
        invoice_lines_parse([{"description": "X", "colour": "red"}])
