"""``manage.py bench_database``: create the PostgreSQL database DATABASE_URL names, if missing
(``make bench`` runs it before ``migrate``)."""

import psycopg
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Create the benchmark's PostgreSQL database (the one DATABASE_URL names) if it does not exist."
    requires_system_checks: list = []

    def handle(self, *args, **options):
        database = settings.DATABASES["default"]
        if "postgresql" not in database["ENGINE"]:
            raise CommandError("The benchmark runs on PostgreSQL: set BENCH_DATABASE_URL to a postgres:// URL.")
        params = {"host": database.get("HOST") or None, "port": database.get("PORT") or None, "user": database.get("USER") or None}
        params["password"] = database.get("PASSWORD") or None
        with psycopg.connect(dbname="postgres", autocommit=True, **{k: v for k, v in params.items() if v}) as maintenance:
            if maintenance.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database["NAME"]]).fetchone():
                return
            maintenance.execute(psycopg.sql.SQL("CREATE DATABASE {}").format(psycopg.sql.Identifier(database["NAME"])))
        self.stdout.write(f"Created the database {database['NAME']}.")
