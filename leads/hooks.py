"""Steps that other apps own and leads' operations run (``clinicos.hooks``)."""

from clinicos.hooks import RequiredSteps

# Run inside the converting transaction, with ``lead`` and ``patient``: scheduling moves
# the lead's appointments to the patient it became.
LEAD_CONVERSION_STEPS = RequiredSteps("Converting a lead", expects=("scheduling.appointments",))
