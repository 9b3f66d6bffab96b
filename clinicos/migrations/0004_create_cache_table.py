"""`migrate` alone prepares the database: the database cache table (used when no
REDIS_URL is set: login rate limits, cached sessions) is created here rather than by a
separate `createcachetable` step a deploy could forget."""

from django.core.management import call_command
from django.db import migrations


def create_cache_table(apps, schema_editor):
    # A no-op for caches that are not database caches (Redis, the tests' memory cache).
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


class Migration(migrations.Migration):
    dependencies = [("clinicos", "0003_apitoken_password_fingerprint")]

    operations = [migrations.RunPython(create_cache_table, migrations.RunPython.noop)]
