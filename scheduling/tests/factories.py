import datetime

import factory
from django.utils import timezone

from clinicos.tests.factories import ClinicFactory, DoctorProfileFactory
from patients.tests.factories import PatientFactory
from scheduling.models import Appointment, AvailabilityException, CalendarFeed, ReferenceSequence, WorkingHours


def tomorrow_at(clinic, hour=10, minute=0):
    day = timezone.localdate(timezone.now(), clinic.tzinfo) + datetime.timedelta(days=1)
    return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=clinic.tzinfo)


class WorkingHoursFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WorkingHours

    clinic = factory.SubFactory(ClinicFactory)
    doctor = factory.SubFactory(DoctorProfileFactory, clinic=factory.SelfAttribute("..clinic"))
    weekday = 0
    start_time = datetime.time(9, 0)
    end_time = datetime.time(13, 0)


class AvailabilityExceptionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AvailabilityException

    clinic = factory.SubFactory(ClinicFactory)
    kind = AvailabilityException.Kind.HOLIDAY
    date = datetime.date(2030, 1, 1)
    reason = "New Year"


class AppointmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Appointment
        skip_postgeneration_save = True  # the care-team hook writes its own rows

    clinic = factory.SubFactory(ClinicFactory)
    doctor = factory.SubFactory(DoctorProfileFactory, clinic=factory.SelfAttribute("..clinic"))
    patient = factory.SubFactory(PatientFactory, clinic=factory.SelfAttribute("..clinic"))
    reference = factory.Sequence(lambda n: f"T-A{n + 5000}")
    starts_at = factory.LazyAttribute(lambda o: tomorrow_at(o.clinic, 10) + datetime.timedelta(hours=o.slot_offset))
    ends_at = factory.LazyAttribute(lambda o: o.starts_at + datetime.timedelta(minutes=o.duration_minutes))
    duration_minutes = 30
    type = "consultation"
    status = "scheduled"

    class Params:
        slot_offset = factory.Sequence(lambda n: n)  # a different hour each, so factories never clash

    @factory.post_generation
    def care_team(appointment, create, extracted, **kwargs):
        """As booking does: the doctor joins the patient's care team."""
        if create and appointment.patient_id:
            from patients.services import care_team_add

            care_team_add(patient=appointment.patient, doctor=appointment.doctor)


class ReferenceSequenceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ReferenceSequence

    clinic = factory.SubFactory(ClinicFactory)


class CalendarFeedFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CalendarFeed

    doctor = factory.SubFactory(DoctorProfileFactory)
    clinic = factory.SelfAttribute("doctor.clinic")
    token_hash = factory.Sequence(lambda n: f"{n:064x}")
