"""``manage.py backup PATH``: one archive with the database, the stored files and a manifest
(``clinicos.backup``)."""

from collections.abc import Callable
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from clinicos.backup import BackupError, backup


class ArchiveCommand(BaseCommand):
    """Runs ``work(path)`` on the one path argument; a BackupError is the command's error."""

    work: Callable[[Path], dict]
    done: str

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path)

    def handle(self, *args, path: Path, **options):
        try:
            manifest = self.work(path)
        except BackupError as error:
            raise CommandError(str(error)) from None
        rows, files = sum(manifest["database"]["rows"].values()), len(manifest["media"]["files"])
        self.stdout.write(self.done.format(rows=rows, files=files, path=path))


class Command(ArchiveCommand):
    help = "Write a backup archive (pg_dump -Fc, the stored files, a manifest of row counts and checksums) to PATH."
    work = staticmethod(backup)
    done = "Backed up {rows} rows and {files} files to {path}."
