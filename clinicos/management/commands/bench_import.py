"""``manage.py bench_import``: a CSV of N patients from "another system" (default 100,000)
imported into a clinic of its own (``IMPORT``) the way the worker does, timed: the dry run,
the import, and a second run of the same file (which must create nothing). The issue's
floor: 100,000 rows within three minutes on this machine. Rerun at will: the clinic's
patients are deleted first (PostgreSQL only)."""

import time

from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from clinicos.models import Clinic, Membership, User
from clinicos.roles import Role
from clinicos.scoping import scope
from patients.models import Patient
from reporting.interop import imports

FLOOR_SECONDS = 180


def patients_csv(rows: int) -> bytes:
    lines = ["Patient No,Given name,Surname,Phone,Sex,DOB,City\n"]
    lines += [
        f"OLD-{n},Asha{n % 997},Rao{n % 101},98{n:08d},{'F' if n % 2 else 'M'},{(n % 28) + 1:02d}/{(n % 12) + 1:02d}/{1950 + n % 60},Mysuru\n"
        for n in range(rows)
    ]
    return "".join(lines).encode()


class Command(BaseCommand):
    help = "Benchmark importing N patients from a CSV (dry run, import, re-run)."

    def add_arguments(self, parser):
        parser.add_argument("--rows", type=int, default=100_000)

    def handle(self, *args, rows: int, **options):
        if connection.vendor != "postgresql":
            raise CommandError("The import benchmark runs on PostgreSQL.")
        clinic, _ = Clinic.objects.get_or_create(
            code="IMPORT", defaults={"name": "Import Benchmark Clinic", "timezone": "Asia/Kolkata", "uhid_prefix": "IMP"}
        )
        user, _ = User.objects.get_or_create(email="admin@import.example", defaults={"full_name": "Import Admin"})
        with scope(clinic=clinic):
            Membership.objects.get_or_create(clinic=clinic, user=user, defaults={"roles": [Role.ADMIN.value]})
            Patient.objects.filter(clinic=clinic).delete()
            content = patients_csv(rows)
            timings = {}
            for step, write in (("dry run", False), ("import", True), ("re-run", True)):
                data_import = imports.import_upload(
                    clinic=clinic, user=user, kind="patients", upload=SimpleUploadedFile("old.csv", content)
                )
                started = time.perf_counter()
                result = imports.import_run(import_id=data_import.pk, write=write)
                timings[step] = (time.perf_counter() - started, result.created, result.updated, len(result.problems))
        for step, (seconds, created, updated, problems) in timings.items():
            self.stdout.write(
                f"{step}: {rows} rows in {seconds:.1f} s ({rows / seconds:.0f}/s) — {created} created, {updated} updated, {problems} problems"
            )
        verdict = "within" if timings["import"][0] <= FLOOR_SECONDS else "OVER"
        self.stdout.write(f"import: {verdict} the {FLOOR_SECONDS} s floor for {rows} rows")
