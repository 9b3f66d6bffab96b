"""``manage.py restore ARCHIVE``: into an empty database, checked against the archive's
manifest before and after (``clinicos.backup``); exits non-zero on any problem."""

from clinicos.backup import restore
from clinicos.management.commands.backup import ArchiveCommand


class Command(ArchiveCommand):
    help = "Restore a backup archive into an empty database and MEDIA_ROOT, verifying its manifest."
    work = staticmethod(restore)
    done = "Restored and verified {rows} rows and {files} files from {path}."
