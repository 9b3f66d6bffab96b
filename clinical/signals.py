"""Signals other apps listen to, so that clinical never imports them.

``visit_completed`` is sent inside the transaction that completes a visit, with
``visit`` and ``user``: Billing records the platform usage it costs."""

from django.dispatch import Signal

visit_completed = Signal()
