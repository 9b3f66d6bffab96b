"""Clinic scopes: a query on a clinic-owned model made outside a clinic raises.

Every clinic-owned model's ``objects`` is a django-scopes ``ScopedManager`` on the
``clinic`` dimension (pretix's approach). Inside ``scope(clinic=…)`` every query is
filtered to that clinic, whatever the code forgot; outside any scope a read raises
``ScopeError`` instead of silently reading every clinic.

Who enters a scope:
- pages: ``clinicos.tenancy.clinic_view``; the API: ``clinicos.api.clinic_context``;
- token-resolved entry points (iCal feed, website lead capture) after resolving the token;
- the patient portal per block: a read across one person's charts in several clinics says
  so with ``scopes_disabled()`` and filters on those charts (``portal.services.patients_of``);
  work on one clinic's rows (its booking rules, a PDF) runs inside ``scope(clinic=…)``;
- management commands, explicitly (``scope`` or ``scopes_disabled``); tasks inside the
  scope of the row they work on (``scope_of_row``);
- the Django admin (platform administrators): scopes disabled by ``ClinicScopeMiddleware``;
- tests: the root ``conftest.py`` disables scopes around test code, and every request made
  through the test client starts again with scopes on (the middleware), like in production.

The few reads that must cross clinics on purpose (a user's memberships, resolving a
token) say so with ``scopes_disabled()`` at the place they do it.
"""

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

from django.conf import settings
from django.db import models
from django.http import HttpRequest, HttpResponse
from django_scopes import ScopedManager, ScopeError, scope, scopes_disabled
from django_scopes.manager import DisabledQuerySet
from django_scopes.state import state as scope_state

__all__ = [
    "ClinicQuerySet",
    "ClinicScopedManager",
    "ClinicScopeMiddleware",
    "ScopeError",
    "enter_clinic_scope",
    "scope",
    "scope_of_row",
    "scopes_disabled",
]


class ClinicQuerySet(models.QuerySet):
    def for_clinic(self, clinic):
        """Selectors still name their clinic: the scope is the safety net, not the filter."""
        return self.filter(clinic=clinic)


class OutOfScopeQuerySet(DisabledQuerySet):
    """What a clinic-owned manager hands out with no clinic scope active.

    django-scopes' disabled queryset refuses to be built on (``all()``, ``filter()``),
    which breaks Django itself (model forms copy their choice querysets at import time),
    yet lets ``exists()`` and ``exclude(…).count()`` through. This one may be built on
    freely, but every way to read or change rows raises ``ScopeError``."""

    _QS = models.QuerySet

    # Building a query reads nothing: allowed (the result is still out of scope).
    all = _QS.all
    filter = _QS.filter
    complex_filter = _QS.complex_filter
    order_by = _QS.order_by
    reverse = _QS.reverse
    only = _QS.only
    annotate = _QS.annotate
    values = _QS.values
    values_list = _QS.values_list
    select_for_update = _QS.select_for_update

    def for_clinic(self, clinic):
        return self.filter(clinic=clinic)

    def _refuse(self, *args: Any, **kwargs: Any) -> Any:
        return self.error()

    # Running a query: refused.
    _fetch_all = _refuse
    exists = _refuse
    count = _refuse
    aggregate = _refuse
    in_bulk = _refuse
    contains = _refuse
    explain = _refuse
    iterator = _refuse
    update = _refuse
    delete = _refuse
    bulk_update = _refuse
    _update = _refuse
    _raw_delete = _refuse


class ClinicManager(models.Manager.from_queryset(ClinicQuerySet)):  # type: ignore[misc]
    pass


_LibraryScopedManager: type = type(ScopedManager(_manager_class=ClinicManager, clinic="clinic"))


class ClinicScopedManager(_LibraryScopedManager):
    """The ``objects`` of every clinic-owned model."""

    def get_queryset(self):
        queryset = super().get_queryset()
        if isinstance(queryset, DisabledQuerySet):
            return OutOfScopeQuerySet(self.model, using=self._db, missing_scopes=queryset.missing_scopes)
        return queryset

    def for_clinic(self, clinic):
        return self.get_queryset().for_clinic(clinic)


@contextmanager
def scope_of_row(model: type[models.Model], pk: int) -> Iterator[Any]:
    """For a task given a row's id: the row's clinic, with that clinic's scope entered for the
    work (``None``, and no scope, when the row is gone). Only the row's clinic is read
    outside a scope; everything the task then reads is confined to that one clinic, so a
    filter it forgets cannot add up every clinic."""
    from clinicos.models import Clinic

    clinic_id = model._base_manager.filter(pk=pk).values_list("clinic_id", flat=True).first()
    clinic = Clinic.objects.filter(pk=clinic_id).first() if clinic_id is not None else None
    if clinic is None:
        yield None
        return
    with scope(clinic=clinic):
        yield clinic


def enter_clinic_scope(request: HttpRequest, clinic) -> None:
    """Scope the rest of this request to ``clinic`` (the API resolves its clinic in a
    function call, not a decorator; the scope ends with the request)."""
    stack = getattr(request, "clinic_scope_stack", None)
    if stack is None:
        raise RuntimeError("ClinicScopeMiddleware is not installed: no request scope to enter.")
    stack.enter_context(scope(clinic=clinic))


class ClinicScopeMiddleware:
    """Every request starts with clinic scopes on and no clinic chosen, whatever the
    thread ran before, and any scope entered during it ends with it. The Django admin is
    for platform administrators, who work across clinics: scopes are off there."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response
        self.admin_prefix = "/" + getattr(settings, "ADMIN_URL_PREFIX", "admin/")

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # Set the library's state directly: scope() would copy the keys of an outer scope.
        token = scope_state.set({"_enabled": True})
        try:
            with ExitStack() as stack:
                request.clinic_scope_stack = stack  # type: ignore[attr-defined]
                if request.path.startswith(self.admin_prefix):
                    stack.enter_context(scopes_disabled())
                return self.get_response(request)
        finally:
            scope_state.reset(token)
