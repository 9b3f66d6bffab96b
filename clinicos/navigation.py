"""The main navigation, assembled from what the installed apps register.

Each app adds its own section in its ``AppConfig.ready()`` (Leads, Patients, Schedule,
…), so this lower app never imports a higher one and a section appears only once the
app that serves it exists. Each entry names the permission it needs; the header shows
an entry only to memberships that hold it.
"""

from dataclasses import dataclass

from django.urls import reverse

from clinicos.roles import Perm


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str  # takes the clinic code as its only argument
    perm: Perm
    order: int


_registry: dict[str, NavItem] = {}


def register(item: NavItem) -> None:
    _registry[item.url_name] = item


def items_for(membership) -> list[dict]:
    if membership is None:
        return []
    code = membership.clinic.code
    return [
        {"label": item.label, "url": reverse(item.url_name, args=[code]), "url_name": item.url_name}
        for item in sorted(_registry.values(), key=lambda item: item.order)
        if membership.has_perm_in_clinic(item.perm)
    ]


# The header's search box: one app (patients) registers the URL that answers it.
_search: dict[str, object] = {}


def register_search(url_name: str, perm: Perm) -> None:
    _search.update(url_name=url_name, perm=perm)


def search_url_for(membership) -> str | None:
    if membership is None or not _search or not membership.has_perm_in_clinic(_search["perm"]):
        return None
    return reverse(str(_search["url_name"]), args=[membership.clinic.code])
