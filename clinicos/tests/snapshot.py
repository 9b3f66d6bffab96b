"""A copy of every table's rows, taken once and put back before each test that wants it.

The demo clinic takes seconds to seed; copying its rows back with ``INSERT … SELECT`` takes
a fraction of one. The copies are plain tables beside the real ones (``<prefix><table>``):
Django's flush only empties the models' tables, so they survive between tests, on SQLite
and on PostgreSQL alike.
"""

from django.contrib.contenttypes.models import ContentType
from django.core.management.color import no_style
from django.db import connection, transaction


class TableSnapshot:
    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.tables: list[str] = []

    def take(self) -> None:
        """Copy the rows of every model table (committed, outside any test transaction)."""
        self.tables = sorted(connection.introspection.django_table_names(only_existing=True, include_views=False))
        quote = connection.ops.quote_name
        with transaction.atomic(), connection.cursor() as cursor:
            for table in self.tables:
                copy = quote(self.prefix + table)
                cursor.execute(f"DROP TABLE IF EXISTS {copy}")
                cursor.execute(f"CREATE TABLE {copy} AS SELECT * FROM {quote(table)}")

    def restore(self) -> None:
        """Every model table holds exactly the snapshot's rows again. Inside a test's
        transaction (the ``db`` fixture) this is rolled back with it; in a transactional
        test (a browser test) it is committed, and the test's flush empties it after."""
        assert self.tables, "restore() before take()"
        quote = connection.ops.quote_name
        with transaction.atomic(), connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("TRUNCATE " + ", ".join(quote(table) for table in self.tables))
            else:  # SQLite checks foreign keys at commit (Django declares them deferred)
                for table in self.tables:
                    cursor.execute(f"DELETE FROM {quote(table)}")
            for table in self.tables:
                cursor.execute(f"INSERT INTO {quote(table)} SELECT * FROM {quote(self.prefix + table)}")
            self._reset_sequences(cursor)
        # Content types come back with the snapshot's ids: forget the ones cached since.
        ContentType.objects.clear_cache()

    def _reset_sequences(self, cursor) -> None:
        """Rows came back with their ids: the next insert must not reuse one."""
        from django.apps import apps

        models = [model for model in apps.get_models(include_auto_created=True) if model._meta.db_table in self.tables]
        for statement in connection.ops.sequence_reset_sql(no_style(), models):
            cursor.execute(statement)
