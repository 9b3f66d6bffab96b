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
