"""``manage.py bench_run``: measure every page against the seed_bench clinic (see clinicos/benchmark.py)."""

from django.core.management.base import BaseCommand

from clinicos import benchmark


class Command(BaseCommand):
    help = "Benchmark the pages and API calls against the BENCH clinic with gunicorn (make bench)."

    def add_arguments(self, parser):
        parser.add_argument("--repeat", type=int, default=30, help="Sequential requests per page (c=1).")
        parser.add_argument("--seconds", type=int, default=10, help="Seconds of wrk at 16 connections per page.")
        parser.add_argument("--only", default="", help="Only the pages whose name contains this, e.g. search.")

    def handle(self, *args, **options):
        benchmark.run(repeat=options["repeat"], seconds=options["seconds"], only=options["only"], log=self.stdout.write)
