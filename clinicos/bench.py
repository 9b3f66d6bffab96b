"""Synthetic data at scale for the benchmark (``manage.py seed_bench``, PostgreSQL only).

A clinic of its own, ``BENCH`` (Asia/Kolkata), with one login per role named like the demo
ones (``frontdesk@bench.example``… password ``Demo-Clinic-2025!``), ``doctors`` doctors
working Monday to Saturday, then patients, five years of appointments (about 30 a day per
doctor), leads, and issued, paid invoices.

The rows are built as model instances with the services' own helpers for every derived
column (search keys, reversed phone digits, UHIDs, appointment references, document
numbers), and streamed to PostgreSQL with ``COPY``. The big tables' secondary indexes are
dropped before and built after; the sequences the services number from (UHIDs, appointment
references, invoice and receipt numbers) are left at the last number used, so the app goes
on numbering after them."""

import datetime
import json
import random
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal

from django.core.management.base import CommandError
from django.db import connection, models, transaction
from django.utils import timezone

from billing.models import DocumentSequence, Invoice, InvoiceLine, Method, Payment, Service
from billing.services import financial_year_code, format_document_number
from clinicos import services
from clinicos.models import Clinic, Department, DoctorProfile, User
from clinicos.roles import Role
from clinicos.scoping import scopes_disabled
from leads.models import DEFAULT_INQUIRIES, DEFAULT_SOURCES, Lead, LeadStatus
from patients import identity
from patients.models import Patient, UhidSequence
from patients.services import CARE_TEAM_PERMISSION, _apply_derived_fields
from scheduling.models import Appointment, AppointmentStatus, ReferenceSequence, WorkingHours

BENCH_CODE = "BENCH"
PASSWORD = "Demo-Clinic-2025!"
SLOT_MINUTES = 15
FEE = Decimal("800.00")
DAY_START = datetime.time(9, 0)
FIRST_NAMES = [
    "Ananya",
    "Aarav",
    "Diya",
    "Vivaan",
    "Isha",
    "Aditya",
    "Kavya",
    "Arjun",
    "Meera",
    "Rohan",
    "Priya",
    "Karan",
    "Sneha",
    "Rahul",
    "Pooja",
    "Nikhil",
    "Anjali",
    "Varun",
    "Neha",
    "Siddharth",
    "Lakshmi",
    "Rajesh",
    "Divya",
    "Suresh",
    "Kiran",
    "Manoj",
    "Swathi",
    "Ganesh",
    "Deepa",
    "Vikram",
    "Nandini",
    "Harish",
    "Asha",
    "Prakash",
    "Revathi",
    "Mohan",
    "Bhavana",
    "Sanjay",
    "Shalini",
    "Ashok",
    "Latha",
    "Ravi",
    "Geetha",
    "Naveen",
    "Sunita",
    "Ajay",
    "Madhuri",
    "Venkat",
    "Rekha",
    "Anand",
]
LAST_NAMES = [
    "Sharma",
    "Rao",
    "Iyer",
    "Reddy",
    "Nair",
    "Menon",
    "Kumar",
    "Singh",
    "Patel",
    "Gupta",
    "Shetty",
    "Acharya",
    "Pillai",
    "Verma",
    "Joshi",
    "Desai",
    "Kulkarni",
    "Naik",
    "Hegde",
    "Bhat",
    "Krishnan",
    "Subramanian",
    "Chatterjee",
    "Banerjee",
    "Das",
    "Mukherjee",
    "Mehta",
    "Shah",
    "Kapoor",
    "Malhotra",
    "Agarwal",
    "Jain",
    "Srinivasan",
    "Varma",
    "Gowda",
]
ROLE_LOGINS = {
    Role.ADMIN: "Bench Administrator",
    Role.FRONT_DESK: "Bench Front Desk",
    Role.NURSE: "Bench Nurse",
    Role.CRO: "Bench CRO",
    Role.BILLING: "Bench Billing",
    Role.LAB: "Bench Lab",
    Role.PHARMACIST: "Bench Pharmacist",
}


@dataclass(frozen=True)
class Sizes:
    patients: int
    appointments: int
    doctors: int
    leads: int
    invoices: int


def seed(sizes: Sizes, *, log: Callable[[str], None] = print, rng_seed: int = 2026) -> Clinic:
    """Load the benchmark clinic. Refuses SQLite, and refuses when a clinic ``BENCH``
    already exists (real data is never mixed with synthetic rows: use a fresh database)."""
    if connection.vendor != "postgresql":
        raise CommandError("seed_bench loads millions of rows with PostgreSQL's COPY: point DATABASE_URL at a PostgreSQL database.")
    if sizes.doctors < 1 or min(sizes.patients, sizes.appointments, sizes.leads, sizes.invoices) < 0:
        raise CommandError("Ask for at least one doctor, and no negative counts.")
    if sizes.patients == 0 and (sizes.appointments or sizes.invoices):
        raise CommandError("Appointments and invoices need patients.")
    with scopes_disabled():
        if Clinic.objects.filter(code=BENCH_CODE).exists():
            raise CommandError(f"A clinic {BENCH_CODE} exists already: seed_bench only fills a fresh database (drop it and migrate again).")
        rng = random.Random(rng_seed)
        with transaction.atomic():
            clinic, staff, doctors, service = _clinic_and_staff(sizes.doctors)
        today = clinic.today()
        log(f"Clinic {clinic.code} with {len(doctors)} doctors and a login per role (password {PASSWORD}).")
        # Enough days (Monday to Saturday, 30 a doctor) for the appointments, the last
        # month of them still ahead: today's calendar and arrivals are full.
        first_day = today - datetime.timedelta(days=max(int(sizes.appointments / (len(doctors) * 30) * 7 / 6) - 30, 1))
        rows = Rows(clinic, rng, first_day, today)
        loader = Loader(clinic)
        patients = loader.load(Patient, rows.patients(sizes.patients, staff[Role.FRONT_DESK]), sizes.patients, log)
        appointments = loader.load(
            Appointment, rows.appointments(doctors, patients, sizes.appointments, staff[Role.FRONT_DESK]), sizes.appointments, log
        )
        _care_team(clinic)
        _name_keys(clinic)
        loader.load(Lead, rows.leads(sizes.leads, staff[Role.CRO]), sizes.leads, log)
        invoices = loader.load(Invoice, rows.invoices(doctors, patients, sizes.invoices, staff[Role.BILLING]), sizes.invoices, log)
        loader.load(InvoiceLine, rows.invoice_lines(invoices, service), sizes.invoices, log)
        loader.load(Payment, rows.payments(invoices, staff[Role.BILLING]), sizes.invoices, log)
        loader.finish(log)
        rows.save_sequences()
        log(f"Done: {patients.count:,} patients, {appointments.count:,} appointments, {sizes.leads:,} leads, {invoices.count:,} invoices.")
        return clinic


# --- The clinic and its people --------------------------------------------------------------


def _user(email: str, full_name: str) -> User:
    user = User.objects.filter(email__iexact=email).first()
    return user or User.objects.create_user(email=email, password=PASSWORD, full_name=full_name)


def _clinic_and_staff(doctor_count: int):
    clinic = Clinic.objects.create(
        code=BENCH_CODE,
        name="ClinicOS Benchmark Clinic",
        timezone="Asia/Kolkata",
        currency="INR",
        uhid_prefix="BEN",
        country="IN",
        state="Karnataka",
        city="Bengaluru",
        address="1 Benchmark Road",
    )
    departments = [Department.objects.create(clinic=clinic, name=name) for name in ("Reproductive Medicine", "Gynaecology", "Sonography")]
    staff = {}
    for role, name in ROLE_LOGINS.items():
        user = _user(f"{role.value}@bench.example", name)
        services.membership_grant(clinic=clinic, user=user, roles=[role.value])
        staff[role] = user
    doctors = []
    for index in range(doctor_count):
        email = "doctor@bench.example" if index == 0 else f"doctor{index + 1}@bench.example"
        user = _user(email, f"{FIRST_NAMES[index % len(FIRST_NAMES)]} {LAST_NAMES[index % len(LAST_NAMES)]} {index + 1}")
        services.membership_grant(clinic=clinic, user=user, roles=[Role.DOCTOR.value])
        doctor = services.doctor_profile_save(
            clinic=clinic,
            user=user,
            specialization="Reproductive Medicine",
            registration_number=f"BEN-{index + 1:05d}",
            registration_council="Karnataka Medical Council",
            qualifications="MBBS, MS (OBG)",
            color="#2F6FDE",
            consultation_fee=Decimal("800.00"),
            department=departments[index % len(departments)],
        )
        doctors.append(doctor)
    WorkingHours.objects.bulk_create(
        WorkingHours(clinic=clinic, doctor=doctor, weekday=weekday, start_time=datetime.time(9), end_time=datetime.time(17))
        for doctor in doctors
        for weekday in range(6)
    )
    service = Service.objects.create(
        clinic=clinic, name="Consultation", service_type=Service.Type.CONSULTATION, department=departments[0], price=Decimal("800.00")
    )
    return clinic, staff, doctors, service


# --- Loading with COPY -----------------------------------------------------------------------


@dataclass
class IdRange:
    first: int
    count: int

    def pick(self, rng: random.Random) -> int:
        return self.first + rng.randrange(self.count)

    def __iter__(self) -> Iterator[int]:
        return iter(range(self.first, self.first + self.count))


class Loader:
    """COPY model instances into their table with explicit ids, the table's secondary
    indexes dropped first and built again in ``finish``."""

    def __init__(self, clinic: Clinic):
        self.clinic = clinic
        self.dropped: list[str] = []
        self.tables: list[str] = []

    def load(self, model: type[models.Model], rows: Iterable[models.Model], expected: int, log) -> IdRange:
        table = str(model._meta.db_table)
        first = self._next_id(table)
        self._drop_indexes(table)
        fields = list(model._meta.concrete_fields)
        columns = ", ".join(connection.ops.quote_name(str(field.column)) for field in fields)
        started = timezone.now()
        count = 0
        now = timezone.now()
        statement = f"COPY {connection.ops.quote_name(table)} ({columns}) FROM STDIN"
        with transaction.atomic(), connection.cursor() as cursor, cursor.cursor.copy(statement) as copy:
            for count, row in enumerate(rows, start=1):
                row.pk = first + count - 1
                copy.write_row([_column_value(field, row, now) for field in fields])
        self._move_sequence(table)
        self.tables.append(table)
        seconds = (timezone.now() - started).total_seconds()
        log(f"  {count:>9,} {model._meta.verbose_name_plural} in {seconds:.0f} s")
        assert count == expected, (model, count, expected)
        return IdRange(first, count)

    def finish(self, log) -> None:
        started = timezone.now()
        with connection.cursor() as cursor:
            # Inside an outer transaction (the tests) the foreign keys' deferred checks are
            # still pending, and PostgreSQL builds no index over pending trigger events.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
            for definition in self.dropped:
                cursor.execute(definition)
            # VACUUM as autovacuum would soon: hint bits set and the visibility map built, so
            # the first measurements do not pay for the load (it cannot run in a transaction:
            # the suite's small seed only analyses).
            command = "ANALYZE" if connection.in_atomic_block else "VACUUM (ANALYZE)"
            for table in dict.fromkeys(self.tables):
                cursor.execute(f"{command} {connection.ops.quote_name(table)}")
        log(
            f"  {len(self.dropped)} indexes built and the tables vacuumed and analysed in {(timezone.now() - started).total_seconds():.0f} s"
        )

    def _next_id(self, table: str) -> int:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT COALESCE(MAX(id), 0) + 1 FROM {connection.ops.quote_name(table)}")
            return cursor.fetchone()[0]

    def _move_sequence(self, table: str) -> None:
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence(%s, 'id'), (SELECT COALESCE(MAX(id), 1) FROM {connection.ops.quote_name(table)}))",
                [table],
            )

    def _drop_indexes(self, table: str) -> None:
        """Drop the indexes no constraint needs (the primary key, unique and exclusion
        constraints stay: they keep the data right while it loads)."""
        with connection.cursor() as cursor:
            cursor.execute(
                """
                SELECT i.indexname, i.indexdef FROM pg_indexes i
                WHERE i.tablename = %s AND i.schemaname = current_schema()
                  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = (quote_ident(i.schemaname) || '.' || quote_ident(i.indexname))::regclass)
                """,
                [table],
            )
            for name, definition in cursor.fetchall():
                cursor.execute(f"DROP INDEX {connection.ops.quote_name(name)}")
                self.dropped.append(definition)


def _column_value(field: models.Field, row: models.Model, now: datetime.datetime):
    value = getattr(row, field.attname)
    if value is None and (getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False)):
        return now
    if isinstance(field, models.JSONField):
        return json.dumps(value)
    return value


def _aware(day: datetime.date, time: datetime.time, tz) -> datetime.datetime:
    return datetime.datetime.combine(day, time, tzinfo=tz)


# --- The rows -------------------------------------------------------------------------------


def _phone(rng: random.Random) -> str:
    return f"+91{rng.choice('6789')}{rng.randrange(10**9):09d}"


class Rows:
    """The row generators, and the counters they leave for the sequences."""

    def __init__(self, clinic: Clinic, rng: random.Random, first_day: datetime.date, today: datetime.date):
        self.clinic, self.rng, self.first_day, self.today = clinic, rng, first_day, today
        self.uhid_counters: Counter = Counter()
        self.invoice_counters: Counter = Counter()
        self.receipt_counters: Counter = Counter()
        self.last_reference = 1000
        self.invoiced: list[tuple[datetime.datetime, int]] = []  # (issued at, patient id) per invoice

    def patients(self, count: int, user: User) -> Iterator[Patient]:
        clinic, rng = self.clinic, self.rng
        span = (self.today - self.first_day).days
        days = sorted(self.first_day + datetime.timedelta(days=rng.randrange(span + 1)) for _ in range(count))
        for registered in days:
            self.uhid_counters[registered.year] += 1
            patient = Patient(
                clinic=clinic,
                first_name=rng.choice(FIRST_NAMES),
                last_name=rng.choice(LAST_NAMES),
                gender=rng.choice(("female", "female", "male")),
                date_of_birth=registered - datetime.timedelta(days=rng.randrange(20 * 365, 45 * 365)),
                mobile=_phone(rng),
                city="Bengaluru",
                state="Karnataka",
                country="IN",
                registration_date=registered,
                created_by=user,
                created_at=_aware(registered, datetime.time(10), clinic.tzinfo),
            )
            patient.uhid = f"{clinic.uhid_prefix}-{registered.year}-{self.uhid_counters[registered.year]:03d}"
            _apply_derived_fields(patient)
            yield patient

    def appointments(self, doctors: list[DoctorProfile], patients: IdRange, count: int, user: User) -> Iterator[Appointment]:
        """About 30 a day per doctor (15-minute slots from 09:00), Monday to Saturday, up
        to a month ahead; the past ones completed, no-shows or cancelled, the rest booked."""
        clinic, rng, tz = self.clinic, self.rng, self.clinic.tzinfo
        day, made = self.first_day, 0
        while made < count:
            if day.weekday() != 6:
                for doctor in doctors:
                    for slot in range(30):
                        if made == count:
                            return
                        starts = _aware(day, DAY_START, tz) + datetime.timedelta(minutes=SLOT_MINUTES * slot)
                        ends = starts + datetime.timedelta(minutes=SLOT_MINUTES)
                        if day < self.today:
                            status = rng.choices(
                                (AppointmentStatus.COMPLETED, AppointmentStatus.NO_SHOW, AppointmentStatus.CANCELLED), (80, 8, 12)
                            )[0]
                        else:
                            status = rng.choice((AppointmentStatus.SCHEDULED, AppointmentStatus.CONFIRMED))
                        self.last_reference += 1
                        made += 1
                        yield Appointment(
                            clinic=clinic,
                            reference=f"{clinic.code}-A{self.last_reference}",
                            patient_id=patients.pick(rng),
                            doctor=doctor,
                            department_id=doctor.department_id,
                            starts_at=starts,
                            ends_at=ends,
                            duration_minutes=SLOT_MINUTES,
                            status=status,
                            booked_by=user,
                            completed_at=ends if status == AppointmentStatus.COMPLETED else None,
                            cancelled_at=starts - datetime.timedelta(days=1) if status == AppointmentStatus.CANCELLED else None,
                            no_show_at=starts + datetime.timedelta(hours=1) if status == AppointmentStatus.NO_SHOW else None,
                            created_at=starts - datetime.timedelta(days=7),
                        )
            day += datetime.timedelta(days=1)

    def leads(self, count: int, cro: User) -> Iterator[Lead]:
        clinic, rng = self.clinic, self.rng
        statuses = (LeadStatus.NEW, LeadStatus.CONTACTED, LeadStatus.STALLING, LeadStatus.CONVERTED, LeadStatus.LOST)
        now = timezone.now()
        for _ in range(count):
            added = now - datetime.timedelta(minutes=rng.randrange(2 * 365 * 24 * 60))
            status = rng.choices(statuses, (20, 30, 10, 25, 15))[0]
            phone = _phone(rng)
            open_lead = status in (LeadStatus.NEW, LeadStatus.CONTACTED)
            yield Lead(
                clinic=clinic,
                name=f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
                phone=phone,
                phone_digits_reversed=identity.digits_reversed(phone),
                gender="female",
                age=rng.randrange(22, 42),
                source=rng.choice(DEFAULT_SOURCES),
                inquiry=rng.choice(DEFAULT_INQUIRIES),
                status=status,
                assigned_to=cro if status == LeadStatus.STALLING else None,
                next_follow_up=self.today + datetime.timedelta(days=rng.randrange(-5, 10)) if open_lead else None,
                contacted_at=added + datetime.timedelta(hours=2) if status != LeadStatus.NEW else None,
                reached_cro_at=added + datetime.timedelta(days=1) if status in (LeadStatus.STALLING, LeadStatus.CONVERTED) else None,
                sent_to_cro_at=added + datetime.timedelta(days=1) if status == LeadStatus.STALLING else None,
                converted_at=added + datetime.timedelta(days=3) if status == LeadStatus.CONVERTED else None,
                lost_at=added + datetime.timedelta(days=3) if status == LeadStatus.LOST else None,
                lost_reason="Not interested" if status == LeadStatus.LOST else "",
                date_added=added,
                created_by=cro,
            )

    def invoices(self, doctors: list[DoctorProfile], patients: IdRange, count: int, user: User) -> Iterator[Invoice]:
        """Issued consultation invoices of 800 (exempt: a bill of supply), spread evenly
        over the days, numbered per financial year as the service numbers them; all paid."""
        clinic, rng = self.clinic, self.rng
        span = max((self.today - self.first_day).days, 1)
        for index in range(count):
            day = self.first_day + datetime.timedelta(days=index * span // count)
            year_start, _ = clinic.financial_year_of(day)
            self.invoice_counters[year_start] += 1
            at = _aware(day, datetime.time(9, 30), clinic.tzinfo) + datetime.timedelta(seconds=rng.randrange(8 * 3600))
            patient_id = patients.pick(rng)
            self.invoiced.append((at, patient_id))
            yield Invoice(
                clinic=clinic,
                patient_id=patient_id,
                doctor=rng.choice(doctors),
                number=format_document_number(
                    code=clinic.code,
                    series=DocumentSequence.Series.INVOICE,
                    year_code=financial_year_code(clinic, day),
                    number=self.invoice_counters[year_start],
                ),
                status=Invoice.Status.PAID,
                document_type=Invoice.DocumentType.BILL_OF_SUPPLY,
                issue_date=day,
                due_date=day,
                place_of_supply=clinic.state,
                subtotal=FEE,
                total_amount=FEE,
                amount_paid=FEE,
                created_by=user,
                created_at=at,
                issued_by=user,
                issued_at=at,
            )

    def invoice_lines(self, invoices: IdRange, service: Service) -> Iterator[InvoiceLine]:
        for invoice_id in invoices:
            yield InvoiceLine(
                clinic=self.clinic,
                invoice_id=invoice_id,
                service=service,
                description=service.name,
                hsn_sac=service.hsn_sac,
                unit_price=FEE,
                line_total=FEE,
                taxable_value=FEE,
            )

    def payments(self, invoices: IdRange, user: User) -> Iterator[Payment]:
        methods = (Method.CASH, Method.UPI, Method.UPI, Method.DEBIT_CARD, Method.CREDIT_CARD)
        for invoice_id, (at, patient_id) in zip(invoices, self.invoiced, strict=True):
            received = at + datetime.timedelta(minutes=5)
            day = timezone.localdate(received, self.clinic.tzinfo)
            year_start, _ = self.clinic.financial_year_of(day)
            self.receipt_counters[year_start] += 1
            yield Payment(
                clinic=self.clinic,
                patient_id=patient_id,
                invoice_id=invoice_id,
                amount=FEE,
                method=self.rng.choice(methods),
                receipt_number=format_document_number(
                    code=self.clinic.code,
                    series=DocumentSequence.Series.RECEIPT,
                    year_code=financial_year_code(self.clinic, day),
                    number=self.receipt_counters[year_start],
                ),
                received_by=user,
                received_at=received,
            )

    def save_sequences(self) -> None:
        """Leave each counter at the last number used, so the app numbers on after it."""
        clinic = self.clinic
        for year, last in self.uhid_counters.items():
            UhidSequence.objects.update_or_create(clinic=clinic, year=year, defaults={"last_number": last})
        ReferenceSequence.objects.update_or_create(clinic=clinic, defaults={"last_number": self.last_reference})
        for series, counters in (
            (DocumentSequence.Series.INVOICE, self.invoice_counters),
            (DocumentSequence.Series.RECEIPT, self.receipt_counters),
        ):
            for year_start, last in counters.items():
                DocumentSequence.objects.update_or_create(
                    clinic=clinic, series=series, year_start=year_start, defaults={"last_number": last}
                )


def _name_keys(clinic: Clinic) -> None:
    """As registration does: every distinct name, for the fuzzy search."""
    from patients.models import PatientNameKey

    table = connection.ops.quote_name(PatientNameKey._meta.db_table)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {table} (clinic_id, search_name)
            SELECT DISTINCT clinic_id, search_name FROM patients_patient WHERE clinic_id = %s
            ON CONFLICT DO NOTHING
            """,
            [clinic.pk],
        )


def _care_team(clinic: Clinic) -> None:
    """As booking does: every doctor joins the care team of the patients booked with them."""
    from django.contrib.auth.models import Permission

    from patients.models import CareTeamGrant

    app_label, codename = CARE_TEAM_PERMISSION.split(".")
    permission = Permission.objects.get(content_type__app_label=app_label, codename=codename)
    table = connection.ops.quote_name(CareTeamGrant._meta.db_table)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {table} (user_id, permission_id, content_object_id)
            SELECT DISTINCT d.user_id, %s, a.patient_id
            FROM scheduling_appointment a JOIN clinicos_doctorprofile d ON d.id = a.doctor_id
            WHERE a.clinic_id = %s AND a.patient_id IS NOT NULL
            ON CONFLICT DO NOTHING
            """,
            [permission.pk, clinic.pk],
        )
