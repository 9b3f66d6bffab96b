"""The patient chart's tabs and notices, contributed by the apps that own them.

Patients registers Overview, Documents and History; scheduling, clinical and billing
register their own tabs in their ``AppConfig.ready()`` — this app never imports them.
Each tab is loaded lazily by HTMX from its own URL (taking the clinic code and the
patient id) and shown only to memberships holding its permission.
"""

from collections.abc import Callable
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


@dataclass(frozen=True)
class ChartNotice:
    """A line under the chart's banner pointing somewhere the reader is expected (e.g. back
    to the visit in progress). Not safety information: that is ``patients.alerts``."""

    text: str
    link_label: str
    url: str


# provider(membership, patient) -> notices for this reader (providers check permissions).
_notice_providers: list[Callable] = []


def register_notice_provider(provider: Callable) -> None:
    if provider not in _notice_providers:
        _notice_providers.append(provider)


def notices_for(membership, patient) -> list[ChartNotice]:
    return [notice for provider in _notice_providers for notice in provider(membership, patient)]
