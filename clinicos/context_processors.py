from django_scopes import scope

from clinicos import navigation, selectors


def shell(request):
    """What the base layout needs: the current clinic, the user's other clinics (for the
    switcher), the navigation and the permissions of the current membership."""
    membership = getattr(request, "membership", None)
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    # The switcher's clinics: loaded with the request's own membership when there was one.
    known = user.__dict__.get("_enterable_memberships")
    clinic_memberships = known if known is not None else _LazyList(lambda: selectors.memberships_for_user(user=user))
    return {
        "current_clinic": membership.clinic if membership else None,
        "current_membership": membership,
        "perms_in_clinic": {perm.value: True for perm in membership.permissions} if membership else {},
        "nav_items": navigation.items_for(membership, request.path),
        "header_search_url": navigation.search_url_for(membership),
        "clinic_memberships": clinic_memberships,
        "settings_extra_tabs": _LazyList(lambda: navigation.settings_tabs_for(membership, request.path)),
        # The bell's count, drawn with the page (then polled): counted only when shown.
        "unread_notifications": _LazyCount(lambda: _unread_count(membership, user)) if membership else 0,
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


def _unread_count(membership, user) -> int:
    # Error pages render outside the view's clinic scope: enter the membership's own.
    with scope(clinic=membership.clinic):
        return selectors.unread_notification_count(clinic=membership.clinic, user=user)


class _LazyCount:
    """A number counted the first time a template prints or tests it."""

    def __init__(self, count):
        self._count = count
        self._value: int | None = None

    def _get(self) -> int:
        if self._value is None:
            self._value = self._count()
        return self._value

    def __int__(self):
        return self._get()

    def __bool__(self):
        return bool(self._get())

    def __gt__(self, other):
        return self._get() > other

    def __str__(self):
        return str(self._get())
