"""Clinical inputs as the services take them: typed values, parsed once at the edge (the
pages' forms and the API's schemas call these), so that no service parses a string.

A problem of shape (not a number, not a whole number) is a ``ValidationError`` naming the
field here; a problem of meaning (out of range, not a test of this order) is the service's."""

from collections.abc import Mapping
from dataclasses import dataclass, fields
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError

# Numbers beyond this are typing slips, not measurements (and beyond the columns' digits).
_LARGEST_NUMBER = Decimal("1e10")


def number_or_none(raw: Any) -> Decimal | None:
    """A number as typed ("4.2", "1,250") or sent (4.2); None when it is not a finite one."""
    if raw is None or isinstance(raw, bool):
        return None
    try:
        value = Decimal(str(raw).strip().replace(",", ""))
    except (InvalidOperation, ValueError):
        return None
    if not value.is_finite() or abs(value) >= _LARGEST_NUMBER:
        return None
    return value


@dataclass(frozen=True)
class LabResultInput:
    """One result as entered. ``text`` is the value as typed (a text test keeps it);
    ``number`` is the same value read as a number, when it is one (a numeric test needs it)."""

    test_id: int
    text: str
    number: Decimal | None
    unit: str = ""
    final: bool = False
    flag: str = ""
    flag_reason: str = ""

    @classmethod
    def of(
        cls, *, test_id: Any, value: Any, unit: str = "", final: bool = False, flag: str = "", flag_reason: str = ""
    ) -> "LabResultInput":
        text = "" if value is None else str(value).strip()
        test_id_text = str(test_id).strip()
        return cls(
            # Not a number: no order test has that id, so the service says "Not a test of this order".
            test_id=int(test_id_text) if test_id_text.isdigit() else -1,
            text=text,
            number=number_or_none(value),
            unit=(unit or "").strip(),
            final=bool(final),
            flag=(flag or "").strip(),
            flag_reason=(flag_reason or "").strip(),
        )


VITAL_MEASUREMENTS = (
    "systolic_bp",
    "diastolic_bp",
    "pulse_rate",
    "temperature_celsius",
    "respiratory_rate",
    "weight_kg",
    "height_cm",
    "oxygen_saturation",
)


@dataclass(frozen=True)
class VitalsInput:
    """A set of vital signs as numbers (None where not measured) and a note."""

    systolic_bp: Decimal | None = None
    diastolic_bp: Decimal | None = None
    pulse_rate: Decimal | None = None
    temperature_celsius: Decimal | None = None
    respiratory_rate: Decimal | None = None
    weight_kg: Decimal | None = None
    height_cm: Decimal | None = None
    oxygen_saturation: Decimal | None = None
    notes: str = ""

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> "VitalsInput":
        """From a form's values or an API body: each measurement blank or a number (every
        field that is not, named at once)."""
        unknown = set(data) - {field.name for field in fields(cls)}
        if unknown:
            raise ValueError(f"Not vital-sign fields: {', '.join(sorted(unknown))}")
        values: dict[str, Any] = {}
        errors: dict[str, str] = {}
        for name in VITAL_MEASUREMENTS:
            raw = data.get(name)
            if raw is None or (isinstance(raw, str) and not raw.strip()):
                values[name] = None
                continue
            values[name] = number_or_none(raw)
            if values[name] is None:
                errors[name] = "Enter a number."
        if errors:
            raise ValidationError(errors)
        return cls(**values, notes=(data.get("notes") or "").strip())

    def measurements(self) -> dict[str, Decimal | None]:
        return {name: getattr(self, name) for name in VITAL_MEASUREMENTS}
