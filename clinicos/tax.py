"""A clinic's tax registration: GSTIN in India, VAT number in the United Kingdom,
checked offline with python-stdnum (format, state code and check digit)."""

from django.core.exceptions import ValidationError
from stdnum import exceptions as stdnum_errors
from stdnum.gb import vat as gb_vat
from stdnum.in_ import gstin

TAX_ID_LABELS = {"IN": "GSTIN", "GB": "VAT number"}


def tax_id_label(country: str) -> str:
    return TAX_ID_LABELS.get(country, "Tax registration")


def clean_tax_registration(*, country: str, state: str, tax_id: str) -> tuple[str, str]:
    """The tax number in its standard form and the clinic's state (filled in from a GSTIN
    when empty), or a ValidationError on ``tax_id`` / ``state``."""
    tax_id = (tax_id or "").strip()
    state = (state or "").strip()
    if not tax_id:
        return "", state
    if country == "IN":
        try:
            tax_id = gstin.validate(tax_id)
        except stdnum_errors.InvalidChecksum:
            raise ValidationError(
                {"tax_id": "This GSTIN's check character is wrong: please copy it again from the GST certificate."}
            ) from None
        except stdnum_errors.ValidationError:
            raise ValidationError(
                {
                    "tax_id": "A GSTIN has 15 characters: 2-digit state code, PAN, entity number, Z and a check character (e.g. 29ABCDE1234F1Z5)."
                }
            ) from None
        registered_in = str(gstin.info(tax_id)["state"])
        if not state:
            state = registered_in
        elif state.casefold() != registered_in.casefold():
            raise ValidationError({"state": f"The GSTIN is registered in {registered_in}; the clinic's state says {state}."})
        return tax_id, state
    if country == "GB":
        try:
            return "GB" + gb_vat.validate(tax_id).removeprefix("GB"), state
        except stdnum_errors.ValidationError:
            raise ValidationError({"tax_id": "This is not a valid UK VAT number (e.g. GB 980 7806 84)."}) from None
    if len(tax_id) > 20:
        raise ValidationError({"tax_id": "Use at most 20 characters."})
    return tax_id, state
