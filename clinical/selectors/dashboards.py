"""The clinical roles' days on the dashboard: doctor, nurse, lab and pharmacy."""

import datetime

from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from clinical.models import (
    ClinicalNote,
    LabOrder,
    Visit,
    VitalSigns,
)
from clinical.selectors.labs import critical_results, lab_order_counts, results_to_review
from clinical.selectors.prescriptions import pharmacy_worklist
from clinicos.models import Clinic, User
from scheduling.models import Appointment, AppointmentStatus
from scheduling.selectors import with_waiting_time

# --- Dashboards ---------------------------------------------------------------------------------

DASHBOARD_LIST = 5
OPEN_LAB_STATUSES = (LabOrder.Status.ORDERED, LabOrder.Status.SAMPLE_COLLECTED, LabOrder.Status.IN_PROGRESS)


def doctor_clinical_day(*, clinic: Clinic, user: User) -> dict:
    """What waits for a doctor besides patients: results to sign off, critical results not
    yet acknowledged, and their visits whose note is still open — six queries."""
    to_review = results_to_review(clinic=clinic, user=user)
    critical = critical_results(clinic=clinic, user=user, acknowledged=False)
    open_visits = (
        Visit.objects.for_clinic(clinic)
        .filter(doctor__user=user, status=Visit.Status.IN_PROGRESS)
        .select_related("patient")
        .order_by("started_at", "id")
    )
    return {
        "to_review_count": to_review.count(),
        "to_review": list(to_review[:DASHBOARD_LIST]),
        "critical_count": critical.count(),
        "critical": list(critical[:DASHBOARD_LIST]),
        "open_visits_count": open_visits.count(),
        "open_visits": list(open_visits[:DASHBOARD_LIST]),
    }


def waiting_for_vitals(*, clinic: Clinic) -> QuerySet[Appointment]:
    """Checked-in patients with no vital signs recorded since they checked in (the nurse's
    queue), longest waiting first."""
    recorded = VitalSigns.objects.filter(clinic=clinic, patient=OuterRef("patient"), recorded_at__gte=OuterRef("checked_in_at"))
    return (
        Appointment.objects.for_clinic(clinic)
        .filter(status=AppointmentStatus.CHECKED_IN, patient__isnull=False)
        .exclude(Exists(recorded))
        .select_related("patient", "doctor__user")
        .order_by("checked_in_at", "starts_at")
    )


def nurse_day(*, clinic: Clinic) -> dict:
    waiting = waiting_for_vitals(clinic=clinic)
    rows = with_waiting_time(waiting[:DASHBOARD_LIST])
    count = waiting.count()
    today = clinic.today()
    start = timezone.make_aware(datetime.datetime.combine(today, datetime.time.min), clinic.tzinfo)
    return {
        "count": count,
        "waiting": rows,
        "more": count - len(rows),
        "checked_in": Appointment.objects.for_clinic(clinic).filter(status=AppointmentStatus.CHECKED_IN).count(),
        "vitals_today": VitalSigns.objects.for_clinic(clinic).filter(recorded_at__gte=start).count(),
    }


def lab_day(*, clinic: Clinic) -> dict:
    """The lab's worklist by status, how many open orders are urgent, the oldest open ones."""
    counts = lab_order_counts(clinic=clinic)
    open_orders = LabOrder.objects.for_clinic(clinic).filter(status__in=OPEN_LAB_STATUSES)
    return {
        "by_status": [(status, label, counts[status]) for status, label in LabOrder.Status.choices if status in OPEN_LAB_STATUSES],
        "open_count": sum(counts[status] for status in OPEN_LAB_STATUSES),
        "urgent_count": open_orders.filter(urgency=LabOrder.Urgency.URGENT).count(),
        "oldest": list(open_orders.select_related("patient").order_by("-urgency", "ordered_at", "id")[:DASHBOARD_LIST]),
    }


def pharmacy_day(*, clinic: Clinic) -> dict:
    to_dispense = pharmacy_worklist(clinic=clinic)
    return {"count": to_dispense.count(), "newest": list(to_dispense.prefetch_related(None)[:DASHBOARD_LIST])}


def follow_ups_due(*, clinic: Clinic, within_days: int = 7) -> QuerySet[ClinicalNote]:
    """Follow-ups a doctor asked for, due within a week (or overdue), not booked yet: the
    front desk calls these patients. Only the date and the doctor: no clinical content."""
    today = clinic.today()
    return (
        ClinicalNote.objects.for_clinic(clinic)
        .filter(
            follow_up_required=True, follow_up_appointment__isnull=True, follow_up_date__lte=today + datetime.timedelta(days=within_days)
        )
        .filter(visit__status=Visit.Status.COMPLETED)
        .select_related("visit__patient", "visit__doctor__user")
        .order_by("follow_up_date", "id")
    )


def front_desk_follow_ups(*, clinic: Clinic) -> dict:
    due = follow_ups_due(clinic=clinic)
    today = clinic.today()
    return {"today": today, "count": due.count(), "due": list(due[:DASHBOARD_LIST])}
