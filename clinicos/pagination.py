"""Pagination for the pages' lists that can hold a million rows (patients, invoices, leads):
the total is counted once a minute, not on every page turn (a ``COUNT(*)`` over a clinic's
patients costs more than the page). The API keeps exact counts: integrations page by them."""

import hashlib

from django.core.cache import cache
from django.core.paginator import Paginator
from django.db import connection
from django.utils.functional import cached_property

COUNT_SECONDS = 60


class CachedCountPaginator(Paginator):
    """Counts as Django's paginator does, and keeps the count a minute for the same query
    (same clinic, same visibility, same filters: the SQL itself is the key)."""

    @cached_property
    def count(self) -> int:
        query = self.object_list.query  # type: ignore[attr-defined]
        sql, params = query.sql_with_params()
        key = "list-count:" + hashlib.sha256(f"{connection.alias}|{sql}|{params!r}".encode()).hexdigest()
        cached = cache.get(key)
        if cached is None:
            cached = super().count
            cache.set(key, cached, COUNT_SECONDS)
        return cached
