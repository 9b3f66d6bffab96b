from clinicos import navigation, selectors


def shell(request):
    """What the base layout needs: the current clinic, the user's other clinics (for the
    switcher), the navigation and the permissions of the current membership."""
    membership = getattr(request, "membership", None)
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    clinic_memberships = _LazyList(lambda: list(selectors.memberships_for_user(user=user)))
    return {
        "current_clinic": membership.clinic if membership else None,
        "current_membership": membership,
        "perms_in_clinic": {perm.value: True for perm in membership.permissions} if membership else {},
        "nav_items": navigation.items_for(membership, request.path),
        "header_search_url": navigation.search_url_for(membership),
        "clinic_memberships": clinic_memberships,
        "settings_extra_tabs": _LazyList(lambda: navigation.settings_tabs_for(membership, request.path)),
    }


class _LazyList:
    """Evaluated only by templates that use it (error pages and JSON never do)."""

    def __init__(self, load):
        self._load = load
        self._items = None

    def _get(self):
        if self._items is None:
            self._items = self._load()
        return self._items

    def __iter__(self):
        return iter(self._get())

    def __len__(self):
        return len(self._get())

    def __bool__(self):
        return bool(self._get())
