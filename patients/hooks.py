"""Steps that other apps own and patients' operations run (``clinicos.hooks``)."""

from clinicos.hooks import RequiredSteps

# Run inside the registering transaction, with ``patient``: scheduling attaches a
# walk-in's appointments to the patient they turn out to be.
PATIENT_REGISTRATION_STEPS = RequiredSteps("Registering a patient", expects=("scheduling.walk_ins",))
