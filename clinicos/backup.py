"""Backups that cannot lie: one archive holds the database (``pg_dump -Fc``), every stored
file (documents, logos, signatures, lab reports, report files) and a manifest of row counts
and SHA-256 checksums; a restore goes into an empty database only, checks every checksum
before it touches anything, and checks the manifest again after. Any failure raises
``BackupError`` (the commands exit non-zero).

PostgreSQL only: SQLite is the zero-setup default for trying ClinicOS, not for keeping a
clinic's records (copy its file while nothing runs). With ``STORAGE_BACKEND=s3`` the files
live in the bucket: keep them with the bucket's versioning; the archive then holds the
database and says so."""

import datetime
import hashlib
import io
import json
import os
import subprocess
import tarfile
import tempfile
from pathlib import Path, PurePosixPath

from django.apps import apps
from django.conf import settings
from django.db import connection, transaction

FORMAT = 1
DUMP_NAME = "database.dump"
MANIFEST_NAME = "manifest.json"
MEDIA_PREFIX = "media/"


class BackupError(Exception):
    pass


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _postgres_environment() -> tuple[list[str], dict]:
    """Connection arguments for pg_dump / pg_restore, the password in the environment."""
    if connection.vendor != "postgresql":
        raise BackupError("Backups are for PostgreSQL (DATABASE_URL=postgres://…). SQLite is for trying ClinicOS out.")
    database = connection.settings_dict
    arguments = ["--dbname", database["NAME"], "--username", database["USER"] or "postgres"]
    arguments += ["--host", database["HOST"] or "127.0.0.1", "--port", str(database["PORT"] or 5432)]
    env = {**os.environ}
    if database.get("PASSWORD"):
        env["PGPASSWORD"] = database["PASSWORD"]
    return arguments, env


def _run_tool(command: list[str], env: dict) -> None:
    """pg_dump or pg_restore; its own message when it fails."""
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise BackupError(f"{command[0]} failed: {result.stderr.strip()}")


def row_counts() -> dict[str, int]:
    """Rows of every table the project's models (and Django's own) keep."""
    tables = sorted({model._meta.db_table for model in apps.get_models(include_auto_created=True) if model._meta.managed})
    counts = {}
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"SELECT count(*) FROM {connection.ops.quote_name(table)}")
            counts[table] = cursor.fetchone()[0]
    return counts


def _media_root() -> Path | None:
    return Path(settings.MEDIA_ROOT) if getattr(settings, "STORAGE_BACKEND", "local") == "local" else None


def _media_files(root: Path) -> list[Path]:
    return sorted(path for path in root.rglob("*") if path.is_file() and not path.is_symlink())


def backup(archive: Path) -> dict:
    """Write ``archive`` (a tar file); answers its manifest."""
    arguments, env = _postgres_environment()
    with tempfile.TemporaryDirectory(prefix="clinicos-backup-") as work, transaction.atomic():
        # One snapshot for the counts and the dump: on a live clinic rows arrive meanwhile,
        # and the manifest must describe exactly what the dump holds.
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            cursor.execute("SELECT pg_export_snapshot()")
            snapshot = cursor.fetchone()[0]
        rows = row_counts()
        dump = Path(work) / DUMP_NAME
        _run_tool(["pg_dump", "-Fc", "--no-owner", f"--snapshot={snapshot}", "--file", str(dump), *arguments], env)
        media = _media_root()
        files = {}
        if media is not None and media.exists():
            files = {
                str(path.relative_to(media).as_posix()): {"sha256": _sha256(path), "size": path.stat().st_size}
                for path in _media_files(media)
            }
        manifest = {
            "format": FORMAT,
            "created_at": datetime.datetime.now(datetime.UTC).isoformat(),
            "database": {"file": DUMP_NAME, "sha256": _sha256(dump), "rows": rows},
            "media": {"storage": "local" if media is not None else "s3 (not in this archive)", "files": files},
        }
        archive.parent.mkdir(parents=True, exist_ok=True)
        partial = archive.with_name(archive.name + ".partial")
        with tarfile.open(partial, "w") as tar:
            tar.add(dump, arcname=DUMP_NAME)
            if media is not None:
                for name in files:
                    tar.add(media / name, arcname=MEDIA_PREFIX + name)
            data = json.dumps(manifest, indent=2, sort_keys=True).encode()
            info = tarfile.TarInfo(MANIFEST_NAME)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        partial.replace(archive)  # a backup cut short never looks like a finished one
    return manifest


def _safe_member_name(name: str) -> str:
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts or not path.parts:
        raise BackupError(f"The archive holds an unsafe path: {name!r}.")
    return str(path)


def _read_manifest(tar: tarfile.TarFile) -> dict:
    try:
        stream = tar.extractfile(MANIFEST_NAME)
    except KeyError:
        raise BackupError("The archive has no manifest.json: it is not a ClinicOS backup, or it is cut short.") from None
    if stream is None:
        raise BackupError("manifest.json is not a file.")
    try:
        manifest = json.load(stream)
    except ValueError as error:
        raise BackupError(f"manifest.json is not valid JSON: {error}") from None
    if manifest.get("format") != FORMAT:
        raise BackupError(f"Unknown backup format {manifest.get('format')!r}.")
    return manifest


def _extract_checked(archive: Path, into: Path) -> dict:
    """Every member unpacked into ``into`` and checked against the manifest (nothing else
    is touched yet)."""
    try:
        tar = tarfile.open(archive, "r")  # noqa: SIM115  (closed by the ``with tar`` below)
    except (OSError, tarfile.TarError) as error:
        raise BackupError(f"Cannot read {archive}: {error}") from None
    with tar:
        manifest = _read_manifest(tar)
        for member in tar.getmembers():
            name = _safe_member_name(member.name)
            if not member.isfile():
                raise BackupError(f"The archive holds something that is not a file: {name!r}.")
        try:
            tar.extractall(into, filter="data")
        except (OSError, tarfile.TarError) as error:
            raise BackupError(f"The archive is damaged: {error}") from None
    dump = into / DUMP_NAME
    if not dump.is_file() or _sha256(dump) != manifest["database"]["sha256"]:
        raise BackupError("The database dump is missing or does not match its checksum.")
    for name, expected in manifest["media"]["files"].items():
        path = into / MEDIA_PREFIX / name
        if not path.is_file():
            raise BackupError(f"A stored file is missing from the archive: {name}.")
        if _sha256(path) != expected["sha256"]:
            raise BackupError(f"A stored file does not match its checksum: {name}.")
    return manifest


def _database_is_empty() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'")
        return cursor.fetchone()[0] == 0


def restore(archive: Path) -> dict:
    """Restore ``archive`` into the (empty) database and MEDIA_ROOT; answers its manifest
    once the restored rows and files have been checked against it."""
    arguments, env = _postgres_environment()
    if not _database_is_empty():
        raise BackupError("The database is not empty: restore into a new, empty database (createdb), never over live data.")
    with tempfile.TemporaryDirectory(prefix="clinicos-restore-") as work:
        manifest = _extract_checked(archive, Path(work))
        _run_tool(["pg_restore", "--no-owner", "--exit-on-error", *arguments, str(Path(work) / DUMP_NAME)], env)
        media = _media_root()
        if media is not None:
            for name in manifest["media"]["files"]:
                target = media / name
                target.parent.mkdir(parents=True, exist_ok=True)
                (Path(work) / MEDIA_PREFIX / name).replace(target)
    _verify(manifest)
    return manifest


def _verify(manifest: dict) -> None:
    connection.close()  # the restore wrote through another connection: read afresh
    restored = row_counts()
    expected = manifest["database"]["rows"]
    different = {table: (count, restored.get(table)) for table, count in expected.items() if restored.get(table) != count}
    if different:
        raise BackupError(f"Restored row counts differ from the manifest (table: expected, restored): {different}")
    media = _media_root()
    if media is None:
        return
    for name, file in manifest["media"]["files"].items():
        path = media / name
        if not path.is_file() or _sha256(path) != file["sha256"]:
            raise BackupError(f"Restored file does not match the manifest: {name}.")
