"""Helpers for migrations that only PostgreSQL can run (extensions, exclusion constraints,
indexes with collations or operator classes SQLite lacks). On SQLite they do nothing; the
services there rely on serialized (IMMEDIATE) transactions instead."""

from django.db import migrations


def postgres_only_sql(create: list[str], drop: list[str]) -> migrations.RunPython:
    def run(statements):
        def apply(apps, schema_editor):
            if schema_editor.connection.vendor == "postgresql":
                for statement in statements:
                    schema_editor.execute(statement)

        return apply

    return migrations.RunPython(run(create), run(drop))
