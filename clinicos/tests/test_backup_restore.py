"""Backup and restore on PostgreSQL, for real: ``manage.py backup`` writes one archive, and
``manage.py restore`` into a fresh, empty database gives back the same chart, the same
invoice PDF and the same audit trail; a damaged or incomplete archive, or a database that is
not empty, makes the restore exit non-zero."""

import io
import json
import os
import subprocess
import sys
import tarfile
import uuid
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection

from billing import services as billing
from billing.inputs import InvoiceLineInput
from patients.tests.factories import DocumentFactory, PatientFactory

pytestmark = [
    pytest.mark.security,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="pg_dump and pg_restore"),
]
ROOT = Path(settings.BASE_DIR)

# What a user sees of one chart, one invoice's PDF (less the "Printed … by" line) and the
# audit trail, printed as JSON, from whichever database DATABASE_URL names.
FINGERPRINT = """
import hashlib, io, json, sys, django
django.setup()
from django_scopes import scopes_disabled
from pypdf import PdfReader
from billing import pdf
from billing.models import Invoice
from clinicos.models import AuditLog, User
from patients.models import Document, Patient
with scopes_disabled():
    patient = Patient.objects.get(pk=int(sys.argv[1]))
    invoice = Invoice.objects.get(pk=int(sys.argv[2]))
    printer = User.objects.get(pk=int(sys.argv[3]))
    chart = {field.name: str(getattr(patient, field.attname)) for field in Patient._meta.concrete_fields}
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.invoice_pdf(invoice=invoice, printed_by=printer))).pages)
    audit = list(AuditLog.objects.order_by("pk").values_list("pk", "action", "entity_type", "entity_repr", "changes"))
    documents = [(d.name, hashlib.sha256(d.file.read()).hexdigest()) for d in Document.objects.filter(patient=patient).order_by("pk")]
print(json.dumps({
    "chart": chart,
    "invoice": [line for line in text.splitlines() if not line.startswith("Printed")],
    "audit": audit,
    "documents": documents,
}, default=str, sort_keys=True))
"""


def _url(name: str) -> str:
    database = connection.settings_dict
    return f"postgres://{database['USER']}@{database['HOST'] or '127.0.0.1'}:{database['PORT'] or 5432}/{name}"


def _manage(*args: str, database: str, media: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "clinicos.settings_test", "DATABASE_URL": _url(database), "MEDIA_ROOT": str(media)}
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture
def empty_database():
    name = f"clinicos_restore_{uuid.uuid4().hex[:10]}"
    admin = dict(connection.settings_dict)
    with psycopg.connect(
        dbname="postgres", user=admin["USER"], host=admin["HOST"] or "127.0.0.1", port=admin["PORT"] or 5432, autocommit=True
    ) as db:
        db.execute(f'CREATE DATABASE "{name}"')
        yield name
        db.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def records(clinic, front_desk):
    """A chart with a document and a national id, an issued invoice, and their audit trail."""
    patient = PatientFactory(clinic=clinic, first_name="Meera", last_name="Iyer")
    DocumentFactory(clinic=clinic, patient=patient)
    invoice = billing.invoice_create(
        clinic=clinic, user=front_desk, patient=patient, lines=[InvoiceLineInput(description="Consultation", unit_price=Decimal("800.00"))]
    )
    invoice = billing.invoice_issue(invoice=invoice, user=front_desk)
    billing.payment_record(invoice=invoice, user=front_desk, amount=Decimal("300.00"), method="cash")
    return [str(patient.pk), str(invoice.pk), str(front_desk.pk)]


def test_a_restore_into_a_fresh_database_gives_back_the_chart_the_invoice_and_the_audit_trail(records, tmp_path, empty_database):
    archive = tmp_path / "clinic.backup"
    call_command("backup", str(archive))
    with tarfile.open(archive) as tar:
        names = tar.getnames()
        manifest = json.load(tar.extractfile("manifest.json"))
    assert "database.dump" in names and any(name.startswith("media/patient-documents") or name.startswith("media/") for name in names)
    assert manifest["database"]["rows"]["billing_invoice"] == 1 and manifest["media"]["files"]

    restored_media = tmp_path / "restored-media"
    restored = _manage("manage.py", "restore", str(archive), database=empty_database, media=restored_media)
    assert restored.returncode == 0, restored.stderr
    assert "Restored and verified" in restored.stdout

    original = _manage("-c", FINGERPRINT, *records, database=connection.settings_dict["NAME"], media=Path(settings.MEDIA_ROOT))
    copy = _manage("-c", FINGERPRINT, *records, database=empty_database, media=restored_media)
    assert original.returncode == 0 and copy.returncode == 0, original.stderr + copy.stderr
    before, after = json.loads(original.stdout), json.loads(copy.stdout)
    assert before["audit"] and before["documents"] and any("800.00" in line for line in before["invoice"])
    assert after == before

    # Restoring again over what is now a non-empty database is refused.
    again = _manage("manage.py", "restore", str(archive), database=empty_database, media=restored_media)
    assert again.returncode != 0 and "not empty" in again.stderr


def _rewrite(archive: Path, damaged: Path, *, drop: str | None = None, corrupt: str | None = None) -> None:
    with tarfile.open(archive) as source, tarfile.open(damaged, "w") as target:
        for member in source.getmembers():
            if member.name == drop:
                continue
            data = source.extractfile(member).read()
            if member.name == corrupt:
                data = data[:-10] + b"0123456789"
            target.addfile(member, io.BytesIO(data))


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ({"corrupt": "database.dump"}, "checksum"),
        ({"drop": "database.dump"}, "missing"),
        ({"drop": "manifest.json"}, "no manifest"),
        ({"corrupt": "MEDIA"}, "checksum"),
        ({"drop": "MEDIA"}, "missing"),
    ],
)
def test_a_damaged_archive_is_refused_and_nothing_is_restored(records, tmp_path, empty_database, damage, message):
    archive = tmp_path / "clinic.backup"
    call_command("backup", str(archive))
    with tarfile.open(archive) as tar:
        media_member = next(name for name in tar.getnames() if name.startswith("media/"))
    damage = {key: media_member if value == "MEDIA" else value for key, value in damage.items()}
    damaged = tmp_path / "damaged.backup"
    _rewrite(archive, damaged, **damage)
    result = _manage("manage.py", "restore", str(damaged), database=empty_database, media=tmp_path / "m")
    assert result.returncode != 0 and message in result.stderr, result.stderr
    with psycopg.connect(_url(empty_database)) as db:
        assert db.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'").fetchone()[0] == 0


def test_a_file_that_is_not_an_archive_is_refused(tmp_path, empty_database):
    bogus = tmp_path / "bogus.backup"
    bogus.write_bytes(b"not a tar file")
    result = _manage("manage.py", "restore", str(bogus), database=empty_database, media=tmp_path / "m")
    assert result.returncode != 0 and "Cannot read" in result.stderr
    missing = _manage("manage.py", "restore", str(tmp_path / "nothing-here"), database=empty_database, media=tmp_path / "m")
    assert missing.returncode != 0
