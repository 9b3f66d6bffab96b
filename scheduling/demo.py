"""Demo scheduling data: weekly hours for every demo doctor, a clinic holiday, and a
fortnight of appointments around today in every status. Idempotent."""

import datetime
import random
from typing import Any

from django.db import transaction
from django.utils import timezone

from clinicos.models import Clinic, DoctorProfile, Resource, User
from leads.models import Lead, LeadStatus
from patients.models import Patient
from scheduling import services
from scheduling.models import Appointment, AppointmentStatus, AppointmentType, WorkingHours

HOURS: dict[str, dict[str, Any]] = {
    "ABC01": {"days": range(0, 6), "blocks": [(datetime.time(9, 0), datetime.time(13, 0)), (datetime.time(14, 0), datetime.time(18, 0))]},
    "XYZ02": {
        "days": range(0, 5),
        "blocks": [(datetime.time(8, 30), datetime.time(12, 30)), (datetime.time(13, 30), datetime.time(17, 30))],
    },
}
TYPES = {
    "ABC01": [
        AppointmentType.CONSULTATION,
        AppointmentType.IVF_CONSULT,
        AppointmentType.SCAN,
        AppointmentType.FOLLOW_UP,
        AppointmentType.IUI_PROCEDURE,
    ],
    "XYZ02": [AppointmentType.CONSULTATION, AppointmentType.FOLLOW_UP, AppointmentType.ROUTINE_CHECKUP, AppointmentType.PROCEDURE],
}
REASONS = ["Review of scan results", "First consultation", "Follow-up after treatment", "Blood test review", "Routine check"]


def seed(stdout=None) -> None:
    for code, plan in HOURS.items():
        clinic = Clinic.objects.filter(code=code).first()
        if clinic is None:
            continue
        doctors = list(DoctorProfile.objects.for_clinic(clinic).select_related("user", "clinic"))
        for doctor in doctors:
            if not WorkingHours.objects.filter(doctor=doctor).exists():
                for weekday in plan["days"]:
                    for start, end in plan["blocks"]:
                        services.working_hours_add(doctor=doctor, weekday=weekday, start_time=start, end_time=end)
        if not Appointment.objects.for_clinic(clinic).exists():
            _appointments(clinic, doctors)
            _between_visits(clinic, doctors)
        if stdout:
            stdout.write(f"  {Appointment.objects.for_clinic(clinic).count()} appointments at {clinic.name}")


@transaction.atomic
def _appointments(clinic: Clinic, doctors: list[DoctorProfile]) -> None:
    rng = random.Random(f"appointments-{clinic.code}")
    desk = User.objects.get(email=f"frontdesk@{clinic.code.lower()}.example")
    patients = list(Patient.objects.for_clinic(clinic).filter(status="active").order_by("pk")[:150])
    leads = list(Lead.objects.for_clinic(clinic).filter(status__in=[LeadStatus.NEW, LeadStatus.CONTACTED])[:10])
    rooms = list(Resource.objects.for_clinic(clinic).filter(kind="room"))
    now = timezone.now()
    today = timezone.localdate(now, clinic.tzinfo)
    for offset in range(-7, 8):
        day = today + datetime.timedelta(days=offset)
        for index, doctor in enumerate(doctors):
            for start, end in services.availability_blocks(doctor=doctor, day=day):
                moment = start
                while moment + datetime.timedelta(minutes=30) <= end:
                    if rng.random() < 0.45:
                        _one(clinic, doctor, moment, now, rng, desk, patients, leads, rooms[index % len(rooms)] if rooms else None)
                    moment += datetime.timedelta(minutes=30)


@transaction.atomic
def _between_visits(clinic: Clinic, doctors: list[DoctorProfile]) -> None:
    """Reminders for the week ahead (in the outbox, sent by the worker as they fall due), a
    few recalls and patients on the waitlist."""
    from scheduling.services import messages, recalls, waitlist

    upcoming = Appointment.objects.for_clinic(clinic).filter(
        starts_at__gt=timezone.now(), status__in=services.PRE_ARRIVAL, patient__isnull=False
    )
    for appointment in upcoming.select_related("clinic", "patient", "doctor__user"):
        messages.appointment_reminders_queue(appointment)
    rng = random.Random(f"between-visits-{clinic.code}")
    patients = list(Patient.objects.for_clinic(clinic).filter(status="active").order_by("-pk")[:8])
    today = clinic.today()
    for patient, days, reason in zip(patients[:4], (-5, 2, 6, 20), RECALL_REASONS, strict=False):
        recall = recalls.RecallInput(
            patient=patient, due_date=today + datetime.timedelta(days=days), reason=reason, doctor=rng.choice(doctors)
        )
        recalls.recall_create(clinic=clinic, data=recall, user=None)
    for patient in patients[4:7]:
        entry = waitlist.WaitlistInput(
            patient=patient,
            doctor=rng.choice(doctors),
            earliest_date=today,
            latest_date=today + datetime.timedelta(days=rng.choice([5, 10, 14])),
            part_of_day=rng.choice(["any", "morning", "afternoon"]),
            urgent=patient is patients[4],
        )
        waitlist.waitlist_add(clinic=clinic, data=entry, user=None)


RECALL_REASONS = ["Review of thyroid results", "Six-month diabetes review", "Follow-up scan", "Blood pressure check"]


def _status_for(start: datetime.datetime, now: datetime.datetime, rng: random.Random, for_lead: bool) -> str:
    S = AppointmentStatus
    if start + datetime.timedelta(minutes=30) < now - datetime.timedelta(hours=2):
        return rng.choices([S.COMPLETED, S.NO_SHOW, S.CANCELLED], weights=[8, 1, 1])[0]
    if start.date() == now.date() or abs(start - now) < datetime.timedelta(hours=3):
        if start < now:
            return rng.choice([S.COMPLETED, S.IN_PROGRESS, S.CHECKED_IN, S.ARRIVED])
        return rng.choice([S.CONFIRMED, S.SCHEDULED, S.CHECKED_IN if start - now < datetime.timedelta(hours=1) else S.SCHEDULED])
    return S.EXPECTED if for_lead else rng.choice([S.SCHEDULED, S.CONFIRMED])


def _one(clinic, doctor, start, now, rng, desk, patients, leads, room):
    end = start + datetime.timedelta(minutes=30)
    if services.busy_elsewhere(clinic=clinic, doctors=[doctor], start=start, end=end):
        return  # the doctor who works in both clinics is one person: never in two places at once
    for_lead = bool(leads) and rng.random() < 0.08 and start > now
    status = _status_for(start, now, rng, for_lead)
    appointment = Appointment(
        clinic=clinic,
        doctor=doctor,
        department=doctor.department,
        starts_at=start,
        ends_at=start + datetime.timedelta(minutes=30),
        duration_minutes=30,
        type=rng.choice(TYPES[clinic.code]),
        reason=rng.choice(REASONS),
        status=status,
        booked_by=desk,
        resource=room if rng.random() < 0.3 else None,
        reference=services._next_reference(clinic),
    )
    if for_lead:
        lead = rng.choice(leads)
        appointment.lead, appointment.walk_in_name, appointment.walk_in_phone = lead, lead.name, lead.phone
        appointment.booked_via = Appointment.BookedVia.LEAD_INSTANT
    else:
        appointment.patient = rng.choice(patients)
    stamp = start - datetime.timedelta(minutes=10)
    for field_status, field_name in services.STATUS_TIMESTAMPS.items():
        if field_status == status:
            setattr(appointment, field_name, min(stamp, now))
    if status in (AppointmentStatus.CHECKED_IN, AppointmentStatus.IN_PROGRESS, AppointmentStatus.COMPLETED):
        appointment.arrived_at = appointment.checked_in_at = min(stamp, now)
    if status == AppointmentStatus.CANCELLED:
        appointment.cancel_reason, appointment.cancelled_by = "Patient called to cancel", desk
    # Resource clashes are skipped rather than double booked.
    if (
        appointment.resource
        and services._clashing(Appointment.objects.filter(resource=appointment.resource), start, appointment.ends_at).exists()
    ):
        appointment.resource = None
    appointment.save()
