"""Gap-free numbers (UHIDs, appointment and visit references, prescription, lab order and
invoice numbers): one counter row per clinic (and year or series), incremented in the
database under a row lock. Every counter of the product goes through ``counter_next``."""

from django.db import IntegrityError, models, transaction
from django.db.models import F


def counter_next(model: type[models.Model], **key) -> int:
    """The next number of the counter row of ``model`` that ``key`` names (``clinic=…``,
    and ``year=…`` or ``series=…``). Call it inside the transaction that uses the number:
    the row stays locked until that transaction ends, so concurrent callers get
    consecutive numbers, and a transaction that fails gives its number back (the increment
    rolls back with it)."""
    manager = model._default_manager
    try:
        with transaction.atomic():  # a savepoint: a row created at the same moment elsewhere is fine
            manager.get_or_create(**key)
    except IntegrityError:
        pass
    counter = manager.select_for_update().get(**key)
    manager.filter(pk=counter.pk).update(last_number=F("last_number") + 1)
    counter.refresh_from_db(fields=["last_number"])
    return counter.last_number  # type: ignore[attr-defined]


def counter_next_block(model: type[models.Model], count: int, **key) -> int:
    """The first of ``count`` consecutive numbers of the counter (an import numbering many rows
    at once), under the same lock and rollback rules as ``counter_next``."""
    manager = model._default_manager
    try:
        with transaction.atomic():
            manager.get_or_create(**key)
    except IntegrityError:
        pass
    counter = manager.select_for_update().get(**key)
    manager.filter(pk=counter.pk).update(last_number=F("last_number") + count)
    counter.refresh_from_db(fields=["last_number"])
    return counter.last_number - count + 1  # type: ignore[attr-defined]
