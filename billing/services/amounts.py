"""The limits of an invoice's amounts (an amount's own rules are ``billing.inputs``)."""

from decimal import Decimal

# An invoice's subtotal stays below this, so that with any tax (at most 100 %) its total
# still fits the database's amounts.
INVOICE_LIMIT = Decimal("1000000000.00")
