"""Normalizing what identifies a patient: phone numbers, names for search, national IDs.

National IDs (e.g. Aadhaar) are stored encrypted (Fernet) and, for exact-match search,
as an HMAC keyed separately from the encryption, so the stored hash cannot be reversed
by hashing every possible number without the key.
"""

import base64
import hashlib
import hmac
import re
import unicodedata

import phonenumbers
from cryptography.fernet import Fernet
from django.conf import settings
from django.core.exceptions import ValidationError


def normalize_phone(raw: str, *, default_region: str) -> str:
    """A phone number in E.164 (+919876543210), reading local numbers in the clinic's country."""
    try:
        number = phonenumbers.parse(raw.strip(), default_region.upper() or None)
    except phonenumbers.NumberParseException:
        raise ValidationError("Enter a valid phone number, e.g. 98765 43210 or +91 98765 43210.", code="invalid_phone")
    if not phonenumbers.is_valid_number(number):
        raise ValidationError("This phone number is not valid for its country.", code="invalid_phone")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phone_display(e164: str) -> str:
    try:
        return phonenumbers.format_number(phonenumbers.parse(e164, None), phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    except phonenumbers.NumberParseException:
        return e164


def digits_reversed(e164: str) -> str:
    """Trailing-digit search becomes a prefix search on the reversed digits (indexable)."""
    return re.sub(r"\D", "", e164)[::-1]


def search_key(text: str) -> str:
    """Lower case, accents removed, single spaces: 'José  Ñúñez' -> 'jose nunez'."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(stripped.casefold().split())


def _derived_key(purpose: str) -> bytes:
    secret = settings.NATIONAL_ID_KEY or settings.SECRET_KEY
    return hashlib.sha256(f"clinicos:{purpose}:{secret}".encode()).digest()


def _fernet() -> Fernet:
    return Fernet(base64.urlsafe_b64encode(_derived_key("national-id-encryption")))


def normalize_national_id(raw: str) -> str:
    return re.sub(r"[\s-]", "", raw).upper()


def encrypt_national_id(value: str) -> str:
    return _fernet().encrypt(value.encode()).decode()


def decrypt_national_id(token: str) -> str:
    return _fernet().decrypt(token.encode()).decode() if token else ""


def national_id_hash(value: str) -> str:
    return hmac.new(_derived_key("national-id-lookup"), normalize_national_id(value).encode(), hashlib.sha256).hexdigest()


# --- National health identifiers -------------------------------------------------------------
# India's ABHA number: 14 digits, written XX-XXXX-XXXX-XXXX (no check digit is published).
# An ABHA address: name@abdm (name@sbx in ABDM's sandbox only). The UK's NHS number: 10 digits,
# the last a modulus-11 check digit.

ABHA_ADDRESS = re.compile(r"^[a-z0-9][a-z0-9._]{2,31}@([a-z]+)$")


def normalize_abha_number(raw: str) -> str:
    digits = re.sub(r"[\s-]", "", raw or "")
    if not digits:
        return ""
    if not digits.isdigit() or len(digits) != 14:
        raise ValidationError("An ABHA number has 14 digits, e.g. 91-1234-5678-9012.")
    return digits


def abha_number_display(digits: str) -> str:
    return f"{digits[:2]}-{digits[2:6]}-{digits[6:10]}-{digits[10:]}" if len(digits) == 14 else digits


def normalize_abha_address(raw: str) -> str:
    address = (raw or "").strip().lower()
    if not address:
        return ""
    found = ABHA_ADDRESS.match(address)
    allowed = {"abdm", "sbx"} if settings.ABDM_SANDBOX else {"abdm"}
    if not found or found.group(1) not in allowed:
        raise ValidationError("An ABHA address looks like name@abdm (letters, digits, dots or underscores before the @).")
    return address


def nhs_number_is_valid(digits: str) -> bool:
    """Modulus 11: weights 10…2 on the first nine digits; 11 - remainder is the check digit
    (11 reads 0; 10 means the number is not valid)."""
    if len(digits) != 10 or not digits.isdigit():
        return False
    check = 11 - sum(int(digit) * weight for digit, weight in zip(digits[:9], range(10, 1, -1), strict=True)) % 11
    check = 0 if check == 11 else check
    return check != 10 and check == int(digits[9])


def normalize_nhs_number(raw: str) -> str:
    digits = re.sub(r"[\s-]", "", raw or "")
    if not digits:
        return ""
    if not nhs_number_is_valid(digits):
        raise ValidationError("This is not a valid NHS number (10 digits with a check digit, e.g. 943 476 5919).")
    return digits


def nhs_number_display(digits: str) -> str:
    return f"{digits[:3]} {digits[3:6]} {digits[6:]}" if len(digits) == 10 else digits
