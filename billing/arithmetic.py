"""The invoice arithmetic, in one place. Pure functions on ``Decimal``; no float ever.

The rules, in order:

1. ``line total = quantity × unit price − line discount`` (all in cents already; the line
   discount is at most quantity × unit price).
2. ``subtotal = Σ line totals``; the invoice discount is at most the subtotal.
3. The invoice discount is shared among the lines in proportion to their totals, in whole
   cents, by the largest-remainder method: each line gets its share rounded down, and the
   cents left over go one each to the lines with the largest remainders (earlier lines
   first on a tie). The shares add up to the discount exactly and no share exceeds its line.
4. ``taxable value = line total − its share``. Tax is computed per line on that value and
   rounded **half-up to 2 places per line**:
   - India, within the clinic's state: CGST and SGST at half the rate each, each rounded;
   - India, the patient's recorded state differs (inter-state): IGST at the full rate;
   - elsewhere (the UK's VAT): one tax at the rate.
   Exempt lines (healthcare by a clinical establishment) carry no tax.
5. ``tax = Σ line taxes``; ``total = subtotal − discount + tax``.
6. The document is a **Tax invoice** if any line is taxable at a rate above 0, otherwise a
   **Bill of supply** (CGST Rules 46 and 49).
"""

from dataclasses import dataclass, field
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
HUNDRED = Decimal("100")


def money(value) -> Decimal:
    """Round half-up to cents."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass
class LineInput:
    quantity: int
    unit_price: Decimal
    discount: Decimal = ZERO
    taxable: bool = False
    tax_rate: Decimal = ZERO


@dataclass
class LineAmounts:
    line_total: Decimal
    invoice_discount_share: Decimal = ZERO
    taxable_value: Decimal = ZERO
    cgst: Decimal = ZERO
    sgst: Decimal = ZERO
    igst: Decimal = ZERO
    vat: Decimal = ZERO

    @property
    def tax(self) -> Decimal:
        return self.cgst + self.sgst + self.igst + self.vat

    @property
    def total(self) -> Decimal:
        return self.taxable_value + self.tax


@dataclass
class InvoiceAmounts:
    lines: list[LineAmounts] = field(default_factory=list)
    subtotal: Decimal = ZERO
    discount: Decimal = ZERO
    tax: Decimal = ZERO
    total: Decimal = ZERO
    cgst: Decimal = ZERO
    sgst: Decimal = ZERO
    igst: Decimal = ZERO
    vat: Decimal = ZERO
    tax_invoice: bool = False


def line_total(quantity: int, unit_price: Decimal, discount: Decimal) -> Decimal:
    return money(quantity * unit_price - discount)


def apportion(amount: Decimal, weights: list[Decimal]) -> list[Decimal]:
    """Split ``amount`` (cents, 0 ≤ amount ≤ Σ weights) in proportion to ``weights`` in
    whole cents that add up exactly (largest remainder; ties to the earlier weight)."""
    total = sum(weights, ZERO)
    if amount == 0 or total == 0:
        return [ZERO for _ in weights]
    exact = [amount * weight / total for weight in weights]
    shares = [value.quantize(CENT, rounding=ROUND_DOWN) for value in exact]
    left_over = int((amount - sum(shares, ZERO)) / CENT)
    by_remainder = sorted(range(len(weights)), key=lambda i: (-(exact[i] - shares[i]), i))
    for i in by_remainder[:left_over]:
        shares[i] += CENT
    return shares


def compute(lines: list[LineInput], *, discount: Decimal = ZERO, tax_scheme: str = "vat") -> InvoiceAmounts:
    """All of an invoice's amounts. ``tax_scheme`` is ``"gst_intra"``, ``"gst_inter"`` or
    ``"vat"``. Inputs are assumed valid (the service checks them first)."""
    totals = [line_total(line.quantity, line.unit_price, line.discount) for line in lines]
    subtotal = sum(totals, ZERO)
    shares = apportion(discount, totals)
    result = InvoiceAmounts(subtotal=subtotal, discount=discount)
    for line, total, share in zip(lines, totals, shares, strict=True):
        amounts = LineAmounts(line_total=total, invoice_discount_share=share, taxable_value=total - share)
        if line.taxable and line.tax_rate > 0:
            result.tax_invoice = True
            base = amounts.taxable_value
            if tax_scheme == "gst_intra":
                half_rate = line.tax_rate / 2
                amounts.cgst = money(base * half_rate / HUNDRED)
                amounts.sgst = money(base * half_rate / HUNDRED)
            elif tax_scheme == "gst_inter":
                amounts.igst = money(base * line.tax_rate / HUNDRED)
            else:
                amounts.vat = money(base * line.tax_rate / HUNDRED)
        result.lines.append(amounts)
    result.cgst = sum((a.cgst for a in result.lines), ZERO)
    result.sgst = sum((a.sgst for a in result.lines), ZERO)
    result.igst = sum((a.igst for a in result.lines), ZERO)
    result.vat = sum((a.vat for a in result.lines), ZERO)
    result.tax = result.cgst + result.sgst + result.igst + result.vat
    result.total = subtotal - discount + result.tax
    return result


def tax_scheme_for(*, clinic_country: str, clinic_state: str, patient_state: str) -> str:
    """GST within or across states in India (the place of supply is the patient's recorded
    state, the clinic's when none is recorded); one VAT-like tax elsewhere."""
    if clinic_country != "IN":
        return "vat"
    if patient_state and clinic_state and patient_state.strip().casefold() != clinic_state.strip().casefold():
        return "gst_inter"
    return "gst_intra"


def has_more_than_two_places(value: Decimal) -> bool:
    """``10.005`` yes; ``10.50``, ``10.500`` and ``1E+3`` no. Not a number (NaN, infinity): yes."""
    if not value.is_finite():
        return True
    try:
        exponent = value.normalize().as_tuple().exponent
    except ArithmeticError:  # beyond the decimal context (1E+1000000): not an amount anyway
        return True
    return isinstance(exponent, int) and exponent < -2
