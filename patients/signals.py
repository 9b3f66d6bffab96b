"""Signals for optional listeners in higher apps (scheduling attaches a walk-in's
appointments to the patient they turn out to be)."""

from django.dispatch import Signal

# Sent inside the registering transaction, with ``patient``.
patient_registered = Signal()
