"""Demo data: two clinics, a user for every role in each, a doctor in both, a platform
superuser. Safe to run again: it updates what exists instead of duplicating it."""

import functools
import importlib
import importlib.util
from decimal import Decimal

from django.apps import apps
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand
from django.db import transaction

from clinicos import services
from clinicos.models import Clinic, Department, Resource, User
from clinicos.roles import Role
from clinicos.scoping import scopes_disabled

DEMO_PASSWORD = "Demo-Clinic-2025!"


@functools.cache
def demo_password_hash() -> str:
    """One hash of the demo password for every demo user: a strong hash takes a tenth of a
    second by design, and twenty of them were most of a fresh seed's time."""
    return make_password(DEMO_PASSWORD)


def demo_user_create(*, email: str, full_name: str, **flags) -> User:
    return User.objects.create(email=email.lower(), full_name=full_name, password=demo_password_hash(), **flags)


CLINICS = [
    {
        "code": "ABC01",
        "name": "Sunrise Fertility Centre",
        "timezone": "Asia/Kolkata",
        "currency": "INR",
        "uhid_prefix": "JAN",
        "country": "IN",
        "state": "Karnataka",
        "city": "Bengaluru",
        "address": "12 Residency Road, Ashok Nagar",
        "phone": "+918041234567",
        "email": "frontdesk@sunrise-fertility.example",
        "tax_id": "29AAECS1234K1Z9",
        "registration_details": "Registered under the Karnataka Private Medical Establishments Act, Reg. No. BLR/KPME/2019/1234",
        "departments": ["Reproductive Medicine", "Embryology", "Sonography"],
        "resources": [
            ("Consultation Room 1", Resource.Kind.ROOM),
            ("Consultation Room 2", Resource.Kind.ROOM),
            ("Procedure Room", Resource.Kind.ROOM),
            ("Ultrasound Machine", Resource.Kind.MACHINE),
        ],
        "people": {
            Role.ADMIN: "Anita Desai",
            Role.DOCTOR: "Kavya Rao",
            Role.NURSE: "Meena Kumari",
            Role.FRONT_DESK: "Priya Sharma",
            Role.CRO: "Rahul Verma",
            Role.BILLING: "Suresh Iyer",
            Role.LAB: "Farah Khan",
            Role.PHARMACIST: "Vikram Singh",
        },
        "doctor": {
            "specialization": "Reproductive Medicine",
            "registration_number": "KMC-45821",
            "registration_council": "Karnataka Medical Council",
            "qualifications": "MBBS, MS (OBG), Fellowship in Reproductive Medicine",
            "color": "#2F6FDE",
            "consultation_fee": Decimal("800.00"),
            "department": "Reproductive Medicine",
        },
    },
    {
        "code": "XYZ02",
        "name": "Lakeside Family Clinic",
        "timezone": "Europe/London",
        "currency": "GBP",
        "uhid_prefix": "LFC",
        "country": "GB",
        "state": "England",
        "city": "Windermere",
        "address": "4 Lake Road",
        "phone": "+441539441234",
        "email": "reception@lakeside-clinic.example",
        "tax_id": "GB980780684",
        "financial_year_start_month": 4,
        "registration_details": "Registered with the Care Quality Commission, provider ID 1-123456789",
        "departments": ["General Practice", "Nursing"],
        "resources": [
            ("Room A", Resource.Kind.ROOM),
            ("Room B", Resource.Kind.ROOM),
            ("ECG Machine", Resource.Kind.MACHINE),
        ],
        "people": {
            Role.ADMIN: "Helen Carter",
            Role.DOCTOR: "James Whitfield",
            Role.NURSE: "Sarah Collins",
            Role.FRONT_DESK: "Emily Turner",
            Role.CRO: "Oliver Hughes",
            Role.BILLING: "Grace Patel",
            Role.LAB: "Daniel Brooks",
            Role.PHARMACIST: "Lucy Morgan",
        },
        "doctor": {
            "specialization": "General Practice",
            "registration_number": "GMC-7123456",
            "registration_council": "General Medical Council",
            "qualifications": "MBBS, MRCGP",
            "color": "#1F8A5B",
            "consultation_fee": Decimal("65.00"),
            "department": "General Practice",
        },
    },
]

SHARED_DOCTOR = {
    "email": "shared.doctor@example.com",
    "full_name": "Nisha Menon",
    "specialization": "Gynaecology",
    "registration_number": "MCI-99812",
    "registration_council": "National Medical Commission",
    "qualifications": "MBBS, MD (OBG)",
    "color": "#B5478A",
}


class Command(BaseCommand):
    help = "Load the demo clinics and users (idempotent)."

    def handle(self, *args, **options):
        # Demo data spans both clinics and the platform's users: this command works
        # across clinics on purpose, so it turns clinic scopes off explicitly.
        with scopes_disabled(), transaction.atomic():
            self._seed()

    def _seed(self):
        root = self._user("root@example.com", "Platform Administrator", is_staff=True, is_superuser=True)
        shared_doctor = self._user(SHARED_DOCTOR["email"], SHARED_DOCTOR["full_name"])
        for spec in CLINICS:
            clinic = self._clinic(spec)
            departments = {name: Department.objects.get_or_create(clinic=clinic, name=name)[0] for name in spec["departments"]}
            for name, kind in spec["resources"]:
                Resource.objects.get_or_create(clinic=clinic, name=name, defaults={"kind": kind})
            for role, full_name in spec["people"].items():
                email = f"{role.value}@{spec['code'].lower()}.example"
                user = self._user(email, full_name)
                services.membership_grant(clinic=clinic, user=user, roles=[role.value])
                if role == Role.DOCTOR:
                    doctor = dict(spec["doctor"])
                    doctor["department"] = departments[doctor["department"]]
                    services.doctor_profile_save(clinic=clinic, user=user, **doctor)
            services.membership_grant(clinic=clinic, user=shared_doctor, roles=[Role.DOCTOR.value])
            services.doctor_profile_save(
                clinic=clinic,
                user=shared_doctor,
                specialization=SHARED_DOCTOR["specialization"],
                registration_number=SHARED_DOCTOR["registration_number"],
                registration_council=SHARED_DOCTOR["registration_council"],
                qualifications=SHARED_DOCTOR["qualifications"],
                color=SHARED_DOCTOR["color"],
                consultation_fee=spec["doctor"]["consultation_fee"],
            )
        # Each app adds its own demo data from a ``demo.py`` with a ``seed(stdout)`` function,
        # in the order of INSTALLED_APPS (so patients exist before their appointments).
        for app_config in apps.get_app_configs():
            module_name = f"{app_config.name}.demo"
            if importlib.util.find_spec(module_name) is not None:
                importlib.import_module(module_name).seed(stdout=self.stdout)
        self.stdout.write(self.style.SUCCESS(f"Demo data ready. Log in as {root.email} or <role>@abc01.example, password {DEMO_PASSWORD}"))

    def _clinic(self, spec) -> Clinic:
        fields = {key: value for key, value in spec.items() if key not in {"code", "departments", "resources", "people", "doctor"}}
        clinic, created = Clinic.objects.get_or_create(code=spec["code"], defaults=fields)
        if not created:
            changed = [key for key, value in fields.items() if getattr(clinic, key) != value]
            if changed:
                for key in changed:
                    setattr(clinic, key, fields[key])
                clinic.save()
        return clinic

    def _user(self, email, full_name, **flags) -> User:
        user = User.objects.filter(email__iexact=email).first()
        if user is None:
            return demo_user_create(email=email, full_name=full_name, **flags)
        if not user.check_password(DEMO_PASSWORD) or user.full_name != full_name:
            user.full_name = full_name
            user.password = demo_password_hash()
            user.save()
        return user
