"""``manage.py backup PATH``: one archive with the database, the stored files and a manifest
(``clinicos.backup``)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from clinicos.backup import BackupError, backup


class Command(BaseCommand):
    help = "Write a backup archive (pg_dump -Fc, the stored files, a manifest of row counts and checksums) to PATH."

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path)

    def handle(self, *args, path: Path, **options):
        try:
            manifest = backup(path)
        except BackupError as error:
            raise CommandError(str(error)) from None
        rows = sum(manifest["database"]["rows"].values())
        self.stdout.write(f"Backed up {rows} rows and {len(manifest['media']['files'])} files to {path}.")
