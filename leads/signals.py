"""Signals for optional listeners in higher apps (scheduling moves a lead's appointments
to the patient it became)."""

from django.dispatch import Signal

# Sent inside the converting transaction, with ``lead`` and ``patient``.
lead_converted = Signal()
