"""Clinical inputs parsed at the edge (clinical.inputs): the services take these typed values."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from clinical.inputs import LabResultInput, VitalsInput, number_or_none


@pytest.mark.parametrize(
    ("raw", "number"),
    [
        ("4.2", Decimal("4.2")),
        (" 1,250 ", Decimal("1250")),
        (4.2, Decimal("4.2")),
        (7, Decimal("7")),
        ("-0.5", Decimal("-0.5")),
        ("positive", None),
        ("NaN", None),
        ("Infinity", None),
        ("1e12", None),
        ("", None),
        (None, None),
        (True, None),
    ],
)
def test_a_number_is_read_once_or_not_at_all(raw, number):
    assert number_or_none(raw) == number


def test_a_lab_result_keeps_the_text_as_typed_and_the_number_it_reads_as():
    entry = LabResultInput.of(test_id="12", value=" 4.20 ", unit=" mIU/L ", final=True, flag=" high ", flag_reason=" re-run ")
    assert entry == LabResultInput(
        test_id=12, text="4.20", number=Decimal("4.20"), unit="mIU/L", final=True, flag="high", flag_reason="re-run"
    )
    text_result = LabResultInput.of(test_id=3, value="Positive")
    assert (text_result.text, text_result.number) == ("Positive", None)


def test_a_test_id_that_is_not_a_number_matches_no_test():
    assert LabResultInput.of(test_id="abc", value="1").test_id == -1
    assert LabResultInput.of(test_id=None, value="1").test_id == -1


def test_vitals_are_numbers_or_blank_and_every_bad_field_is_named():
    vitals = VitalsInput.parse({"pulse_rate": "72", "temperature_celsius": 36.6, "weight_kg": "", "notes": "  calm "})
    assert vitals.pulse_rate == Decimal("72") and vitals.temperature_celsius == Decimal("36.6")
    assert vitals.weight_kg is None and vitals.notes == "calm"
    with pytest.raises(ValidationError) as raised:
        VitalsInput.parse({"pulse_rate": "fast", "weight_kg": "NaN", "height_cm": "170"})
    assert raised.value.message_dict == {"pulse_rate": ["Enter a number."], "weight_kg": ["Enter a number."]}


def test_a_field_vitals_do_not_have_is_a_programming_error():
    with pytest.raises(ValueError, match="mood"):
        VitalsInput.parse({"mood": "good"})


@pytest.mark.parametrize(
    ("duration", "last_day"),
    [
        ("5 days", "2026-12-09"),
        ("1 day", "2026-12-05"),
        ("2 weeks", "2026-12-18"),
        ("1 month", "2027-01-03"),
        ("10d", "2026-12-14"),
        ("as needed", None),
        ("ongoing", None),
        ("0 days", None),
    ],
)
def test_a_course_ends_after_its_duration(duration, last_day):
    import datetime

    from clinical.selectors.prescriptions import course_end

    expected = datetime.date.fromisoformat(last_day) if last_day else None
    assert course_end(duration, datetime.date(2026, 12, 5)) == expected
