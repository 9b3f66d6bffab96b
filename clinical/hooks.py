"""Steps that other apps own and clinical's operations run (``clinicos.hooks``)."""

from clinicos.hooks import RequiredSteps

# Run inside the transaction that completes a visit, with ``visit`` and ``user``:
# billing records the platform usage the visit costs.
VISIT_COMPLETION_STEPS = RequiredSteps("Completing a visit", expects=("billing.usage",))
