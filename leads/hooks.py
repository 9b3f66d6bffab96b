"""Steps that other apps own and leads' operations run (``clinicos.hooks``)."""

import datetime
from dataclasses import dataclass

from clinicos.hooks import RequiredStep, RequiredSteps

# Run inside the converting transaction, with ``lead`` and ``patient``: scheduling moves
# the lead's appointments to the patient it became.
LEAD_CONVERSION_STEPS = RequiredSteps("Converting a lead", expects=("scheduling.appointments",))


@dataclass(frozen=True)
class InstantBooking:
    """What booking a new lead's preferred time gave: the appointment (its id, reference,
    start and doctor), or, when that time was not free, the next free times."""

    appointment_id: int | None = None
    reference: str = ""
    start: datetime.datetime | None = None
    doctor_id: int | None = None
    next_free: tuple[tuple[datetime.datetime, int], ...] = ()  # (start, doctor profile id)


# Called inside the creating transaction with ``lead``, ``user``, ``membership``, ``start``
# (aware) and ``doctor_id`` (or None: any doctor free then); answers an InstantBooking.
LEAD_INSTANT_BOOKING = RequiredStep("Booking a new lead's preferred time", owner="scheduling")
