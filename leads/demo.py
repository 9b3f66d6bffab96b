"""About 60 demo leads for Sunrise Fertility Centre (ABC01), across every status, source
and CRO, with a little history. Deterministic and idempotent (keyed on the phone)."""

import datetime
import random

from django.utils import timezone

from clinicos.models import Clinic, Membership, User
from clinicos.roles import Role
from leads import services
from leads.models import DEFAULT_INQUIRIES, DEFAULT_SOURCES, Lead, LeadStatus

LEAD_COUNT = 60
NAMES = [
    "Aarthi",
    "Bhargavi",
    "Chitra",
    "Durga",
    "Esha",
    "Fathima",
    "Girija",
    "Hamsa",
    "Indu",
    "Jyothi",
    "Kamala",
    "Latha",
    "Madhuri",
    "Nalini",
    "Padma",
    "Rekha",
    "Sahana",
    "Tara",
    "Uma",
    "Vani",
]
SURNAMES = ["Rao", "Gowda", "Shetty", "Nair", "Iyengar", "Reddy", "Kumar", "Naik", "Acharya", "Hegde"]
PROBLEMS = [
    "Trying to conceive for 3 years",
    "PCOS, irregular cycles",
    "Second opinion after failed IUI",
    "Low AMH, asks about egg freezing",
    "Husband's semen analysis abnormal",
    "General fertility check",
]
PLAN = (
    [LeadStatus.NEW] * 14 + [LeadStatus.CONTACTED] * 14 + [LeadStatus.STALLING] * 10 + [LeadStatus.CONVERTED] * 12 + [LeadStatus.LOST] * 10
)
LOST_REASONS = ["Cost too high", "Chose another clinic", "Not ready yet", "Moved away"]


def _second_cro(clinic: Clinic) -> None:
    """A second CRO, so that round-robin has someone to alternate with."""
    from clinicos import services as core_services
    from clinicos.management.commands.seed_demo import demo_user_create

    user = User.objects.filter(email="cro2@abc01.example").first()
    if user is None:
        user = demo_user_create(email="cro2@abc01.example", full_name="Neha Joshi")
    core_services.membership_grant(clinic=clinic, user=user, roles=[Role.CRO.value])


def seed(stdout=None) -> None:
    clinic = Clinic.objects.filter(code="ABC01").first()
    if clinic is None:
        return
    rng = random.Random("leads-ABC01")
    _second_cro(clinic)
    desk = User.objects.get(email="frontdesk@abc01.example")
    admin_membership = Membership.objects.get(clinic=clinic, user__email="admin@abc01.example")
    existing = set(Lead.objects.for_clinic(clinic).values_list("phone", flat=True))
    now = timezone.now()
    for n in range(LEAD_COUNT):
        phone = f"+91970{n:07d}"
        if phone in existing:
            continue
        target = PLAN[n % len(PLAN)]
        follow_up = timezone.localdate(now, clinic.tzinfo) + datetime.timedelta(days=rng.randint(-2, 5)) if n % 3 == 0 else None
        lead = services.lead_create(
            clinic=clinic,
            user=desk,
            data={
                "name": f"{rng.choice(NAMES)} {rng.choice(SURNAMES)}",
                "phone": phone,
                "age": rng.randint(24, 42),
                "gender": "female",
                "source": DEFAULT_SOURCES[n % len(DEFAULT_SOURCES)],
                "inquiry": DEFAULT_INQUIRIES[n % len(DEFAULT_INQUIRIES)],
                "problem": rng.choice(PROBLEMS),
            },
        )
        # Spread the enquiries over the last ten weeks, some follow-ups already overdue
        # (set directly: the service rightly refuses a follow-up in the past).
        Lead.objects.filter(pk=lead.pk).update(
            date_added=now - datetime.timedelta(days=rng.randint(0, 70), hours=rng.randint(0, 10)), next_follow_up=follow_up
        )
        lead.refresh_from_db()
        if target == LeadStatus.NEW:
            continue
        if target == LeadStatus.CONVERTED:
            services.lead_convert(lead=lead, user=desk, registration={})
            continue
        lead = services.lead_move(lead=lead, to_status=LeadStatus.CONTACTED, user=desk, note="First call done.")
        if target == LeadStatus.STALLING:
            lead = services.lead_move(lead=lead, to_status=LeadStatus.STALLING, user=desk, note="Hesitant about cost.")
            Lead.objects.filter(pk=lead.pk).update(sent_to_cro_at=now - datetime.timedelta(hours=rng.randint(1, 96)))
        elif target == LeadStatus.LOST:
            services.lead_move(
                lead=lead, to_status=LeadStatus.LOST, user=desk, membership=admin_membership, lost_reason=rng.choice(LOST_REASONS)
            )
    if stdout:
        cros = sum(1 for m in Membership.objects.for_clinic(clinic) if m.has_role(Role.CRO))
        stdout.write(f"  {Lead.objects.for_clinic(clinic).count()} leads at {clinic.name} ({cros} CRO)")
