"""``manage.py restore ARCHIVE``: into an empty database, checked against the archive's
manifest before and after (``clinicos.backup``); exits non-zero on any problem."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from clinicos.backup import BackupError, restore


class Command(BaseCommand):
    help = "Restore a backup archive into an empty database and MEDIA_ROOT, verifying its manifest."

    def add_arguments(self, parser):
        parser.add_argument("archive", type=Path)

    def handle(self, *args, archive: Path, **options):
        try:
            manifest = restore(archive)
        except BackupError as error:
            raise CommandError(str(error)) from None
        rows = sum(manifest["database"]["rows"].values())
        self.stdout.write(f"Restored and verified {rows} rows and {len(manifest['media']['files'])} files from {archive}.")
