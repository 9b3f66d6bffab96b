"""Pagination for the pages' lists that can hold a million rows (patients, invoices, leads):
the total is counted once a minute, not on every page turn (a ``COUNT(*)`` over a clinic's
patients costs more than the page). The API keeps exact counts, integrations page by them,
except for a search's matches (``patients?search=``), which are counted once a minute too."""

import hashlib

from django.core.cache import cache
from django.core.exceptions import EmptyResultSet
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import QuerySet
from django.utils.functional import cached_property

COUNT_SECONDS = 60


class CachedCountPaginator(Paginator):
    """Counts as Django's paginator does, and keeps the count a minute for the same query
    (same clinic, same visibility, same filters: the SQL itself is the key)."""

    @cached_property
    def count(self) -> int:
        if not isinstance(self.object_list, QuerySet):
            return super().count  # a list that keeps its own count (patients' PatientsByName)
        key = query_cache_key("list-count", self.object_list)
        if key is None:
            return 0
        cached = cache.get(key)
        if cached is None:
            cached = super().count
            cache.set(key, cached, COUNT_SECONDS)
        return cached


def query_cache_key(prefix: str, queryset) -> str | None:
    """A cache key for what ``queryset`` reads: its SQL and parameters, so that another
    clinic, user or filter never shares it. None for a query that can match nothing
    (``.none()``, an empty ``__in``), which has no SQL."""
    try:
        sql, params = queryset.query.sql_with_params()
    except EmptyResultSet:
        return None
    return f"{prefix}:" + hashlib.sha256(f"{connection.alias}|{sql}|{params!r}".encode()).hexdigest()
