"""Scheduling: doctors' availability, appointments, the doctors' calendar feeds, and what
happens between visits: recalls and the waitlist (with its offers of freed slots)."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from clinicos.choices import Gender
from clinicos.fields import BoundedTextField
from clinicos.models import Clinic, ClinicOwnedModel, Department, DoctorProfile, Resource, audited_history
from clinicos.scoping import ClinicScopedManager
from leads.models import Lead
from patients.models import Patient


class WorkingHours(ClinicOwnedModel):
    """A weekly block when a doctor sees patients (several blocks a day are fine)."""

    class Weekday(models.IntegerChoices):
        MONDAY = 0, "Monday"
        TUESDAY = 1, "Tuesday"
        WEDNESDAY = 2, "Wednesday"
        THURSDAY = 3, "Thursday"
        FRIDAY = 4, "Friday"
        SATURDAY = 5, "Saturday"
        SUNDAY = 6, "Sunday"

    doctor = models.ForeignKey(DoctorProfile, on_delete=models.CASCADE, related_name="working_hours")
    weekday = models.PositiveSmallIntegerField(choices=Weekday)
    start_time = models.TimeField()
    end_time = models.TimeField()
    slot_minutes = models.PositiveSmallIntegerField(default=30)

    history = audited_history()

    class Meta:
        ordering = ["doctor", "weekday", "start_time"]
        constraints = [
            models.CheckConstraint(condition=Q(end_time__gt=models.F("start_time")), name="working_hours_end_after_start"),
            models.CheckConstraint(condition=Q(slot_minutes__gte=5, slot_minutes__lte=240), name="working_hours_slot_range"),
        ]
        indexes = [models.Index(fields=["clinic", "doctor", "weekday"], name="working_hours_lookup")]

    def __str__(self):
        return f"{self.doctor} {self.get_weekday_display()} {self.start_time:%H:%M}–{self.end_time:%H:%M}"


class AvailabilityException(ClinicOwnedModel):
    """Leave (the doctor is away), an extra session, or a clinic holiday (no doctor)."""

    class Kind(models.TextChoices):
        LEAVE = "leave", "Leave"
        EXTRA = "extra", "Extra session"
        HOLIDAY = "holiday", "Clinic holiday"

    doctor = models.ForeignKey(DoctorProfile, on_delete=models.CASCADE, null=True, blank=True, related_name="exceptions")
    kind = models.CharField(max_length=10, choices=Kind)
    date = models.DateField()
    start_time = models.TimeField(null=True, blank=True, help_text="Empty for the whole day.")
    end_time = models.TimeField(null=True, blank=True)
    reason = models.CharField(max_length=200, blank=True)

    history = audited_history()

    class Meta:
        ordering = ["date", "start_time"]
        indexes = [models.Index(fields=["clinic", "date"], name="availability_exception_day")]

    def __str__(self):
        who = self.doctor or "Clinic"
        return f"{who}: {self.get_kind_display()} on {self.date}"


class AppointmentStatus(models.TextChoices):
    EXPECTED = "expected", "Expected"
    SCHEDULED = "scheduled", "Scheduled"
    CONFIRMED = "confirmed", "Confirmed"
    ARRIVED = "arrived", "Arrived"
    CHECKED_IN = "checked_in", "Checked-in"
    IN_PROGRESS = "in_progress", "In progress"
    COMPLETED = "completed", "Completed"
    CANCELLED = "cancelled", "Cancelled"
    NO_SHOW = "no_show", "No-show"


# Before the patient is in the building: an appointment may still be moved or cancelled.
PRE_ARRIVAL_STATUSES = frozenset({AppointmentStatus.EXPECTED, AppointmentStatus.SCHEDULED, AppointmentStatus.CONFIRMED})

# Appointments that no longer hold their slot.
RELEASED_STATUSES = (AppointmentStatus.CANCELLED, AppointmentStatus.NO_SHOW)


class AppointmentType(models.TextChoices):
    CONSULTATION = "consultation", "Consultation"
    FOLLOW_UP = "follow_up", "Follow-up"
    SCAN = "scan", "Scan"
    PROCEDURE = "procedure", "Procedure"
    IVF_CONSULT = "ivf_consult", "IVF Consult"
    IUI_PROCEDURE = "iui_procedure", "IUI Procedure"
    EMERGENCY = "emergency", "Emergency"
    ROUTINE_CHECKUP = "routine_checkup", "Routine Checkup"


class Appointment(ClinicOwnedModel):
    class BookedVia(models.TextChoices):
        DESK = "desk", "Front desk"
        LEAD_INSTANT = "lead_instant", "Instant booking from a lead"
        API = "api", "API"
        PORTAL = "portal", "Patient portal"
        WAITLIST = "waitlist", "Waitlist offer"
        IMPORT = "import", "Imported"

    reference = models.CharField(max_length=30, editable=False, help_text="e.g. ABC01-A1234")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, null=True, blank=True, related_name="appointments")
    lead = models.ForeignKey(Lead, on_delete=models.SET_NULL, null=True, blank=True, related_name="appointments")
    # Snapshot of who is coming, for walk-ins and leads (and kept for patients as booked).
    walk_in_name = models.CharField(max_length=150, blank=True)
    walk_in_phone = models.CharField(max_length=20, blank=True)
    walk_in_dob = models.DateField(null=True, blank=True)
    walk_in_sex = models.CharField(max_length=10, choices=Gender, blank=True)
    doctor = models.ForeignKey(DoctorProfile, on_delete=models.PROTECT, related_name="appointments")
    department = models.ForeignKey(Department, on_delete=models.SET_NULL, null=True, blank=True)
    resource = models.ForeignKey(Resource, on_delete=models.PROTECT, null=True, blank=True, related_name="appointments")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    duration_minutes = models.PositiveSmallIntegerField(default=30)
    type = models.CharField(max_length=20, choices=AppointmentType, default=AppointmentType.CONSULTATION)
    reason = models.CharField(max_length=250, blank=True)
    notes = BoundedTextField(max_length=5000, blank=True)
    status = models.CharField(max_length=12, choices=AppointmentStatus, default=AppointmentStatus.SCHEDULED)
    booked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    booked_via = models.CharField(max_length=15, choices=BookedVia, default=BookedVia.DESK)
    availability_override_reason = models.CharField(max_length=200, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    arrived_at = models.DateTimeField(null=True, blank=True)
    checked_in_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    cancel_reason = models.CharField(max_length=250, blank=True)
    no_show_at = models.DateTimeField(null=True, blank=True)
    confirmed_by_patient = models.BooleanField(default=False, help_text="Confirmed from the link in a reminder.")
    external_reference = models.CharField(
        max_length=100, blank=True, help_text="ID of this appointment in the system it was imported from."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = audited_history()

    class Meta:
        ordering = ["starts_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["clinic", "reference"], name="appointment_reference_unique"),
            models.UniqueConstraint(
                fields=["clinic", "external_reference"], condition=~Q(external_reference=""), name="appointment_external_reference_unique"
            ),
            models.CheckConstraint(condition=Q(ends_at__gt=models.F("starts_at")), name="appointment_ends_after_start"),
            models.CheckConstraint(condition=Q(duration_minutes__gte=15, duration_minutes__lte=480), name="appointment_duration_range"),
            # Overlap is forbidden by PostgreSQL exclusion constraints (migration 0002).
        ]
        indexes = [
            # With the id, a page of a day's arrivals (ordered by start, then id) is read from
            # the index alone before its forty rows are fetched.
            models.Index(fields=["clinic", "starts_at", "id"], name="appointment_day"),
            models.Index(fields=["clinic", "doctor", "starts_at"], name="appointment_doctor_day"),
            models.Index(fields=["clinic", "resource", "starts_at"], name="appointment_resource_day"),
            models.Index(fields=["clinic", "patient", "starts_at"], name="appointment_patient"),
            models.Index(fields=["clinic", "status", "starts_at"], name="appointment_status_day"),
        ]

    def __str__(self):
        return f"{self.reference} {self.who}"

    @property
    def who(self) -> str:
        return self.name_shown(
            patient_name=self.patient.full_name if self.patient is not None else None,
            lead_name=self.lead.name if self.lead is not None else None,
            walk_in_name=self.walk_in_name,
        )

    @staticmethod
    def name_shown(*, patient_name: str | None, lead_name: str | None, walk_in_name: str) -> str:
        """Who the appointment is for: the patient, else the lead (unless a walk-in name
        was taken at the desk), else the walk-in's name. The calendar, which reads plain
        rows rather than objects, shows the same name."""
        if patient_name is not None:
            return patient_name
        if lead_name is not None and not walk_in_name:
            return lead_name
        return walk_in_name or "—"

    @property
    def holds_slot(self) -> bool:
        return self.status not in RELEASED_STATUSES


class ReferenceSequence(models.Model):
    """The last appointment number of a clinic (ABC01-A1001, A1002, …), locked while used."""

    clinic = models.OneToOneField(Clinic, on_delete=models.CASCADE, related_name="+")
    last_number = models.PositiveIntegerField(default=1000)

    objects = ClinicScopedManager()

    def __str__(self):
        return f"Appointment references of clinic {self.clinic_id}: last {self.last_number}"


class CalendarFeed(ClinicOwnedModel):
    """A doctor's secret iCal URL. Only the token's hash is stored; a new token revokes the old."""

    doctor = models.ForeignKey(DoctorProfile, on_delete=models.CASCADE, related_name="calendar_feeds")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"Calendar feed of {self.doctor}"


class PartOfDay(models.TextChoices):
    ANY = "any", "Any time"
    MORNING = "morning", "Mornings"
    AFTERNOON = "afternoon", "Afternoons"


class Recall(ClinicOwnedModel):
    """A patient the clinic should see again by a date: from a visit's follow-up date that
    was not booked, or added by hand. It closes itself when the patient books."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        BOOKED = "booked", "Booked"
        CLOSED = "closed", "Closed"

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="recalls")
    doctor = models.ForeignKey(DoctorProfile, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    due_date = models.DateField()
    reason = models.CharField(max_length=200)
    status = models.CharField(max_length=10, choices=Status, default=Status.OPEN)
    visit_id = models.BigIntegerField(null=True, blank=True, help_text="The visit whose follow-up this is.")
    appointment = models.ForeignKey("Appointment", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    closed_reason = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    history = audited_history()

    class Meta:
        ordering = ["due_date", "id"]
        constraints = [
            # One recall per visit's follow-up.
            models.UniqueConstraint(fields=["clinic", "visit_id"], condition=Q(visit_id__isnull=False), name="recall_one_per_visit"),
        ]
        indexes = [
            models.Index(fields=["clinic", "due_date"], condition=Q(status="open"), name="recall_open_due"),
            models.Index(fields=["clinic", "patient"], condition=Q(status="open"), name="recall_open_patient"),
        ]

    def __str__(self):
        return f"Recall of {self.patient} by {self.due_date:%d %b %Y}"


class RecallAttempt(ClinicOwnedModel):
    """One try to reach a recalled patient: a message sent, or a call logged by the desk."""

    class Way(models.TextChoices):
        MESSAGE = "message", "Message"
        CALL = "call", "Phone call"

    recall = models.ForeignKey(Recall, on_delete=models.CASCADE, related_name="attempts")
    way = models.CharField(max_length=10, choices=Way)
    note = models.CharField(max_length=250, blank=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["clinic", "recall"], name="recall_attempt_recall")]

    def __str__(self):
        return f"{self.get_way_display()} about {self.recall}"


class WaitlistEntry(ClinicOwnedModel):
    """A patient who wants an earlier or any time with a doctor (or any doctor of a
    department) between two dates: freed slots are offered to them, urgent first."""

    class Status(models.TextChoices):
        WAITING = "waiting", "Waiting"
        BOOKED = "booked", "Booked"
        REMOVED = "removed", "Removed"

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="waitlist_entries")
    doctor = models.ForeignKey(DoctorProfile, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    department = models.ForeignKey(Department, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    earliest_date = models.DateField()
    latest_date = models.DateField()
    part_of_day = models.CharField(max_length=10, choices=PartOfDay, default=PartOfDay.ANY)
    urgent = models.BooleanField(default=False)
    note = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=10, choices=Status, default=Status.WAITING)
    appointment = models.ForeignKey("Appointment", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    added_via = models.CharField(max_length=10, default="desk")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    history = audited_history()

    class Meta:
        ordering = ["-urgent", "created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(doctor__isnull=False) | Q(department__isnull=False), name="waitlist_entry_doctor_or_department"
            ),
            models.CheckConstraint(condition=Q(latest_date__gte=models.F("earliest_date")), name="waitlist_entry_dates_in_order"),
        ]
        indexes = [
            models.Index(fields=["clinic", "latest_date"], condition=Q(status="waiting"), name="waitlist_waiting"),
            models.Index(fields=["clinic", "patient"], condition=Q(status="waiting"), name="waitlist_waiting_patient"),
        ]

    def __str__(self):
        return f"{self.patient} waiting {self.earliest_date:%d %b}–{self.latest_date:%d %b}"


class WaitlistOffer(ClinicOwnedModel):
    """A freed slot offered to one waiting patient, claimable through a link for 15 minutes.
    The first claim books it; the others learn it is taken."""

    class Status(models.TextChoices):
        OFFERED = "offered", "Offered"
        CLAIMED = "claimed", "Claimed"
        TAKEN = "taken", "Taken by someone else"
        EXPIRED = "expired", "Expired"

    entry = models.ForeignKey(WaitlistEntry, on_delete=models.CASCADE, related_name="offers")
    doctor = models.ForeignKey(DoctorProfile, on_delete=models.CASCADE, related_name="+")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    round = models.PositiveSmallIntegerField(default=1)
    token_hash = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Status, default=Status.OFFERED)
    appointment = models.ForeignKey("Appointment", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # A slot is offered to an entry once.
            models.UniqueConstraint(fields=["clinic", "entry", "doctor", "starts_at"], name="waitlist_offer_once"),
        ]
        indexes = [
            models.Index(fields=["clinic", "doctor", "starts_at"], name="waitlist_offer_slot"),
            models.Index(fields=["expires_at"], condition=Q(status="offered"), name="waitlist_offer_open"),
        ]

    def __str__(self):
        return f"Offer of {self.starts_at:%Y-%m-%d %H:%M} to {self.entry.patient}"
