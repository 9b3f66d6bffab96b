"""The main navigation, assembled from what the installed apps register.

Each app adds its own section in its ``AppConfig.ready()`` (Leads, Patients, Schedule,
…), so this lower app never imports a higher one and a section appears only once the
app that serves it exists. Each entry names the permission it needs; the header shows
an entry only to memberships that hold it.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.urls import reverse

from clinicos.roles import DASHBOARD_PANEL_ROLES, Perm


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str  # takes the clinic code as its only argument
    perm: Perm
    order: int


_registry: dict[str, NavItem] = {}


def url_with_id_slot(name: str, clinic_code: str) -> str:
    """The URL of ``name`` for one clinic with ``{}`` where the object's id goes: reversed
    once per page, then filled in with ``str.format`` for each of a thousand rows."""
    placeholder = 987654321
    return reverse(name, args=[clinic_code, placeholder]).replace(str(placeholder), "{}")


def register(item: NavItem) -> None:
    _registry[item.url_name] = item


def items_for(membership, path: str = "") -> list[dict]:
    """The entries this membership may use; ``current`` marks the one whose section the
    page at ``path`` belongs to (Settings › Staff highlights Settings)."""
    if membership is None:
        return []
    code = membership.clinic.code
    home = reverse("dashboard", args=[code])
    items = []
    for item in sorted(_registry.values(), key=lambda item: item.order):
        if membership.has_perm_in_clinic(item.perm):
            url = reverse(item.url_name, args=[code])
            current = path == url or (url != home and path.startswith(url))
            items.append({"label": item.label, "url": url, "url_name": item.url_name, "current": current})
    return items


# The header's search box: one app (patients) registers the URL that answers it.
_search: dict[str, object] = {}


def register_search(url_name: str, perm: Perm) -> None:
    _search.update(url_name=url_name, perm=perm)


def search_url_for(membership) -> str | None:
    if membership is None or not _search or not membership.has_perm_in_clinic(_search["perm"]):
        return None
    return reverse(str(_search["url_name"]), args=[membership.clinic.code])


# Settings pages that other apps own (e.g. the leads' sources and website keys): shown
# as further tabs of the Settings section.
_settings_tabs: dict[str, str] = {}


def register_settings_tab(label: str, url_name: str) -> None:
    _settings_tabs[url_name] = label


def settings_tabs_for(membership, path: str = "") -> list[dict]:
    if membership is None:
        return []
    code = membership.clinic.code
    tabs = [{"label": label, "url": reverse(url_name, args=[code])} for url_name, label in _settings_tabs.items()]
    return [{**tab, "current": tab["url"] == path} for tab in tabs]


# Panels other apps add to the dashboard (the front desk's day, the lab's worklist, Billing's
# financial snapshot…), each for the memberships holding its permission and, when
# ``roles.DASHBOARD_PANEL_ROLES`` names the panel, one of those roles (a panel is someone's
# day, not everyone who may see it);
# ``context`` computes what its template shows, in a bounded number of queries.
@dataclass(frozen=True)
class DashboardPanel:
    key: str
    template: str
    perm: Perm
    context: Callable[[Any], dict]
    order: int = 50

    @property
    def roles(self) -> frozenset:
        return DASHBOARD_PANEL_ROLES.get(self.key, frozenset())


_panels: dict[str, DashboardPanel] = {}


def register_dashboard_panel(panel: DashboardPanel) -> None:
    _panels[panel.key] = panel


def dashboard_panels_for(request) -> list[dict]:
    membership = request.membership
    return [
        {"template": panel.template, "data": panel.context(request)}
        for panel in sorted(_panels.values(), key=lambda panel: panel.order)
        if membership.has_perm_in_clinic(panel.perm) and (not panel.roles or any(membership.has_role(role) for role in panel.roles))
    ]
