"""Panels that higher apps add to a lead's page (scheduling offers an instant booking),
loaded lazily by HTMX from their own URLs so that this app never imports them."""

from dataclasses import dataclass

from django.urls import reverse

from clinicos.roles import Perm


@dataclass(frozen=True)
class LeadPanel:
    key: str
    url_name: str  # takes the clinic code and the lead id
    perm: Perm
    order: int


_panels: dict[str, LeadPanel] = {}


def register_panel(panel: LeadPanel) -> None:
    _panels[panel.key] = panel


def panels_for(membership, lead) -> list[dict]:
    return [
        {"key": panel.key, "url": reverse(panel.url_name, args=[membership.clinic.code, lead.pk])}
        for panel in sorted(_panels.values(), key=lambda panel: panel.order)
        if membership.has_perm_in_clinic(panel.perm)
    ]
