"""``manage.py bench_outbox``: 10,000 reminders due at once, sent by one worker.

A clinic of its own (``OUTBOX``) gets ``--messages`` reminders, all due now, written the
way bookings write them (``clinicos.messaging.services.queue``); then one worker sends them
with the console provider (its output thrown away) and the figures are printed: how long
writing and sending took, and messages per second. The issue's floor: 10,000 within five
minutes on this machine. Rerun at will: the clinic's messages are deleted first."""

import contextlib
import datetime
import os
import time

from django.core.management.base import BaseCommand
from django.test import override_settings
from django.utils import timezone

from clinicos.messaging import services
from clinicos.messaging.models import MessageRules, OutboundMessage
from clinicos.models import Clinic
from clinicos.scoping import scope

FLOOR_SECONDS = 300


class Command(BaseCommand):
    help = "Benchmark the outbox: N reminders due at once, sent by one worker (console provider)."

    def add_arguments(self, parser):
        parser.add_argument("--messages", type=int, default=10_000)

    def handle(self, *args, messages: int, **options):
        clinic, _ = Clinic.objects.get_or_create(code="OUTBOX", defaults={"name": "Outbox Benchmark Clinic", "timezone": "Asia/Kolkata"})
        with scope(clinic=clinic):
            OutboundMessage.objects.filter(clinic=clinic).delete()
            rules, _ = MessageRules.objects.update_or_create(
                clinic=clinic, defaults={"quiet_start": None, "quiet_end": None, "email_enabled": False}
            )
            started = time.perf_counter()
            now = timezone.now()
            for n in range(messages):
                services.queue(
                    clinic=clinic,
                    rules=rules,
                    recipient=services.Recipient(patient_id=None, first_name="Asha", phone=f"+9198{n:08d}"),
                    message=services.Message(
                        kind="reminder",
                        key=f"bench:{n}",
                        due=now,
                        not_after=now + datetime.timedelta(hours=2),
                        values={
                            "doctor": "Dr Rao",
                            "when": "Mon 7 Dec 2026, 10:30 IST",
                            "reference": f"OUTBOX-A{n}",
                            "link": "https://x/m/a/t/",
                        },
                    ),
                )
            written = time.perf_counter() - started
            started = time.perf_counter()
            console = {
                "sms": "clinicos.messaging.providers.ConsoleProvider",
                "email": "clinicos.messaging.providers.ConsoleProvider",
                "whatsapp": "clinicos.messaging.providers.ConsoleProvider",
            }
            with open(os.devnull, "w") as nowhere, contextlib.redirect_stdout(nowhere), override_settings(MESSAGING_PROVIDERS=console):
                sent = services.send_due(clinic=clinic)
            sending = time.perf_counter() - started
            left = OutboundMessage.objects.filter(clinic=clinic, status="scheduled").count()
        verdict = "within" if sending <= FLOOR_SECONDS and sent == messages else "OVER"
        self.stdout.write(
            f"outbox: {messages} reminders written in {written:.1f} s; {sent} sent by one worker in {sending:.1f} s "
            f"({sent / sending:.0f}/s), {left} left — {verdict} the {FLOOR_SECONDS} s floor"
        )
