"""The patient chart's tabs, contributed by the apps that own them.

Patients registers Overview, Documents and History; scheduling, clinical and billing
register their own tabs in their ``AppConfig.ready()`` — this app never imports them.
Each tab is loaded lazily by HTMX from its own URL (taking the clinic code and the
patient id) and shown only to memberships holding its permission.
"""

from dataclasses import dataclass

from django.urls import reverse

from clinicos.roles import Perm


@dataclass(frozen=True)
class ChartTab:
    key: str
    label: str
    url_name: str
    perm: Perm
    order: int


_tabs: dict[str, ChartTab] = {}


def register_tab(tab: ChartTab) -> None:
    _tabs[tab.key] = tab


def tabs_for(membership, patient) -> list[dict]:
    code = membership.clinic.code
    return [
        {"key": tab.key, "label": tab.label, "url": reverse(tab.url_name, args=[code, patient.pk])}
        for tab in sorted(_tabs.values(), key=lambda tab: tab.order)
        if membership.has_perm_in_clinic(tab.perm)
    ]
