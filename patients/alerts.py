"""Alerts in the patient banner (allergies, later an outstanding balance…): apps register
a provider in their ``AppConfig.ready()``; the banner shows what each returns. Alerts are
safety information every role that handles the patient sees."""

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Alert:
    level: str  # "danger" (red band) or "warning" (amber)
    text: str


_providers: list[Callable] = []


def register_provider(provider: Callable) -> None:
    if provider not in _providers:
        _providers.append(provider)


def alerts_for(patient) -> list[Alert]:
    return [alert for provider in _providers for alert in provider(patient)]
