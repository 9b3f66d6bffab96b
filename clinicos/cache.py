"""Caches that fail soft: a cache that is down (Redis unreachable, the database cache's
table missing) is logged and treated as empty, never turned into an error page. The cache
holds login rate limits and cached sessions; losing them for a while beats a login that
answers 500. Sessions also live in the database (``cached_db``), so nobody is logged out."""

import logging
from contextlib import nullcontext
from functools import wraps
from typing import Any

from django.core.cache.backends.db import DatabaseCache
from django.core.cache.backends.redis import RedisCache
from django.db import DatabaseError, transaction
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)
CACHE_ERRORS = (DatabaseError, RedisError, OSError)

# method -> what it answers when the cache cannot be reached. ``add`` says "added": lock
# holders (allauth's rate-limit lock) go ahead, so a cache outage suspends login rate
# limits for its duration rather than refusing every login.
FALLBACKS: dict[str, Any] = {
    "get": None,
    "get_many": {},
    "has_key": False,
    "add": True,
    "set": None,
    "set_many": [],
    "touch": False,
    "delete": False,
    "delete_many": None,
    "incr": None,
    "decr": None,
    "clear": None,
}


def _fail_soft(method_name, method, fallback, guard):
    @wraps(method)
    def wrapper(self, *args, **kwargs):
        try:
            with guard():
                return method(self, *args, **kwargs)
        except CACHE_ERRORS as error:
            logger.error("Cache %s failed (%s): carrying on without the cache.", method_name, error)
            if method_name == "get":
                return args[1] if len(args) > 1 else kwargs.get("default")  # the caller's default
            if method_name in ("incr", "decr"):
                raise ValueError("The cache is unavailable.") from error
            return fallback

    return wrapper


def fail_soft(cache_class, guard=nullcontext):
    namespace = {name: _fail_soft(name, getattr(cache_class, name), fallback, guard) for name, fallback in FALLBACKS.items()}
    return type(f"FailSoft{cache_class.__name__}", (cache_class,), namespace)


# A failed query inside a transaction would abort it on PostgreSQL: each database cache
# call gets its own savepoint, so a cache failure never spoils the request's transaction.
FailSoftDatabaseCache = fail_soft(DatabaseCache, guard=transaction.atomic)
FailSoftRedisCache = fail_soft(RedisCache)
