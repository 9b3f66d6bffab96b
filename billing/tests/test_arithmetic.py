"""The invoice arithmetic (billing.arithmetic): worked examples, then properties over
random invoices (hypothesis)."""

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from billing import arithmetic
from billing.arithmetic import LineInput, apportion, compute, money

D = Decimal


def test_a_worked_gst_invoice_within_the_state():
    lines = [
        LineInput(quantity=1, unit_price=D("800.00")),  # consultation, exempt
        LineInput(quantity=1, unit_price=D("2000.00"), taxable=True, tax_rate=D("18")),  # cosmetic procedure
        LineInput(quantity=3, unit_price=D("95.00"), discount=D("15.00"), taxable=True, tax_rate=D("12")),  # pharmacy
    ]
    result = compute(lines, discount=D("100.00"), tax_scheme="gst_intra")
    assert [a.line_total for a in result.lines] == [D("800.00"), D("2000.00"), D("270.00")]
    assert result.subtotal == D("3070.00")
    # 100 shared by 800 : 2000 : 270 → 26.06 / 65.15 / 8.79 (largest remainder)
    assert [a.invoice_discount_share for a in result.lines] == [D("26.06"), D("65.15"), D("8.79")]
    peel, pharmacy = result.lines[1], result.lines[2]
    assert peel.taxable_value == D("1934.85") and peel.cgst == peel.sgst == D("174.14")  # 9% of 1934.85 = 174.1365
    assert pharmacy.taxable_value == D("261.21") and pharmacy.cgst == pharmacy.sgst == D("15.67")  # 6% = 15.6726
    assert result.lines[0].tax == 0
    assert result.tax == D("379.62")
    assert result.total == D("3070.00") - D("100.00") + D("379.62")
    assert result.tax_invoice


def test_inter_state_is_igst_and_the_uk_is_vat():
    line = [LineInput(quantity=1, unit_price=D("2000.00"), taxable=True, tax_rate=D("18"))]
    igst = compute(line, tax_scheme="gst_inter")
    assert (igst.cgst, igst.sgst, igst.igst) == (0, 0, D("360.00"))
    vat = compute([LineInput(quantity=2, unit_price=D("49.99"), taxable=True, tax_rate=D("20"))], tax_scheme="vat")
    assert vat.vat == D("20.00") and vat.total == D("119.98")  # 20% of 99.98 = 19.996


def test_only_exempt_lines_make_a_bill_of_supply():
    result = compute([LineInput(quantity=1, unit_price=D("800.00"))], tax_scheme="gst_intra")
    assert not result.tax_invoice and result.tax == 0 and result.total == D("800.00")


def test_rounding_is_half_up_per_line():
    assert money(D("0.125")) == D("0.13") and money(D("0.135")) == D("0.14") and money(D("2.675")) == D("2.68")
    # two lines of 0.05 at 5% IGST: 0.0025 each rounds to 0.00 per line (not 0.01 on the sum)
    result = compute([LineInput(quantity=1, unit_price=D("0.05"), taxable=True, tax_rate=D("5"))] * 2, tax_scheme="gst_inter")
    assert result.igst == D("0.00")


def test_the_tax_scheme_follows_the_patients_recorded_state():
    assert arithmetic.tax_scheme_for(clinic_country="IN", clinic_state="Karnataka", patient_state="karnataka ") == "gst_intra"
    assert arithmetic.tax_scheme_for(clinic_country="IN", clinic_state="Karnataka", patient_state="Kerala") == "gst_inter"
    assert arithmetic.tax_scheme_for(clinic_country="IN", clinic_state="Karnataka", patient_state="") == "gst_intra"
    assert arithmetic.tax_scheme_for(clinic_country="GB", clinic_state="", patient_state="Wales") == "vat"


cents = st.integers(min_value=0, max_value=10_000_000).map(lambda n: D(n) / 100)
rates = st.sampled_from([D("0"), D("5"), D("12"), D("18"), D("28"), D("20"), D("7.5")])


@st.composite
def invoices(draw):
    lines = []
    for _ in range(draw(st.integers(min_value=1, max_value=8))):
        quantity = draw(st.integers(min_value=1, max_value=50))
        unit_price = draw(cents)
        discount = draw(st.integers(min_value=0, max_value=int(quantity * unit_price * 100)).map(lambda n: D(n) / 100))
        rate = draw(rates)
        lines.append(LineInput(quantity=quantity, unit_price=unit_price, discount=discount, taxable=rate > 0, tax_rate=rate))
    subtotal = sum((money(line.quantity * line.unit_price - line.discount) for line in lines), D("0"))
    discount = draw(st.integers(min_value=0, max_value=int(subtotal * 100)).map(lambda n: D(n) / 100))
    scheme = draw(st.sampled_from(["gst_intra", "gst_inter", "vat"]))
    return lines, discount, scheme


@settings(max_examples=300, deadline=None)
@given(invoices())
def test_totals_add_up_whatever_the_invoice(invoice):
    lines, discount, scheme = invoice
    result = compute(lines, discount=discount, tax_scheme=scheme)
    assert result.subtotal == sum((a.line_total for a in result.lines), D("0"))
    assert result.total == result.subtotal - discount + result.tax
    assert result.tax == sum((a.tax for a in result.lines), D("0"))
    assert result.total >= 0 and result.tax >= 0
    for amounts in [result.subtotal, result.tax, result.total, *(a.taxable_value for a in result.lines), *(a.tax for a in result.lines)]:
        assert amounts == amounts.quantize(D("0.01")), "every amount has 2 places"
    assert result.tax_invoice == any(line.taxable for line in lines)


@settings(max_examples=300, deadline=None)
@given(invoices())
def test_the_invoice_discount_is_shared_exactly_and_never_beyond_a_line(invoice):
    lines, discount, scheme = invoice
    result = compute(lines, discount=discount, tax_scheme=scheme)
    assert sum((a.invoice_discount_share for a in result.lines), D("0")) == discount
    for amounts in result.lines:
        assert D("0") <= amounts.invoice_discount_share <= amounts.line_total
        assert amounts.taxable_value == amounts.line_total - amounts.invoice_discount_share


@settings(max_examples=300, deadline=None)
@given(invoices())
def test_the_tax_split_is_per_line_half_up(invoice):
    lines, discount, scheme = invoice
    result = compute(lines, discount=discount, tax_scheme=scheme)
    for line, amounts in zip(lines, result.lines, strict=True):
        rate = line.tax_rate if line.taxable else D("0")
        if scheme == "gst_intra":
            assert amounts.cgst == amounts.sgst == money(amounts.taxable_value * rate / 2 / 100)
            assert amounts.igst == amounts.vat == 0
        elif scheme == "gst_inter":
            assert amounts.igst == money(amounts.taxable_value * rate / 100) and amounts.cgst == amounts.sgst == 0
        else:
            assert amounts.vat == money(amounts.taxable_value * rate / 100)


@given(st.integers(min_value=0, max_value=10**6), st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=10))
def test_apportion_adds_up_and_is_proportional_within_a_cent(amount_cents, weight_cents):
    weights = [D(w) / 100 for w in weight_cents]
    total = sum(weights, D("0"))
    amount = min(D(amount_cents) / 100, total)
    shares = apportion(amount, weights)
    assert sum(shares, D("0")) == (amount if total else 0)
    for share, weight in zip(shares, weights, strict=True):
        assert share <= weight
        if total:
            assert abs(share - amount * weight / total) < D("0.01")


def test_two_places_is_about_the_value_and_odd_numbers_are_refused_not_crashed():
    assert not arithmetic.has_more_than_two_places(D("10.500"))
    assert not arithmetic.has_more_than_two_places(D("1E+30"))
    assert arithmetic.has_more_than_two_places(D("10.005"))
    assert arithmetic.has_more_than_two_places(D("NaN")) and arithmetic.has_more_than_two_places(D("Infinity"))
    assert arithmetic.has_more_than_two_places(D("1E+1000000"))
