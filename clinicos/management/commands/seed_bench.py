"""``manage.py seed_bench``: the benchmark clinic at scale (PostgreSQL only; see clinicos/bench.py)."""

from django.core.management.base import BaseCommand

from clinicos.bench import Sizes, seed


class Command(BaseCommand):
    help = "Load a benchmark clinic (code BENCH) with synthetic patients, appointments, leads and invoices. PostgreSQL only."

    def add_arguments(self, parser):
        parser.add_argument("--patients", type=int, default=1_000_000)
        parser.add_argument("--appointments", type=int, default=2_000_000)
        parser.add_argument("--doctors", type=int, default=40)
        parser.add_argument("--leads", type=int, default=100_000)
        parser.add_argument("--invoices", type=int, default=1_000_000)
        parser.add_argument("--if-missing", action="store_true", help="Do nothing when the BENCH clinic exists (make bench).")

    def handle(self, *args, **options):
        if options["if_missing"]:
            from clinicos.bench import BENCH_CODE
            from clinicos.models import Clinic
            from clinicos.scoping import scopes_disabled

            with scopes_disabled():
                if Clinic.objects.filter(code=BENCH_CODE).exists():
                    self.stdout.write(f"The {BENCH_CODE} clinic is loaded already.")
                    return
        sizes = Sizes(
            patients=options["patients"],
            appointments=options["appointments"],
            doctors=options["doctors"],
            leads=options["leads"],
            invoices=options["invoices"],
        )
        seed(sizes, log=self.stdout.write)
