"""Reads of prescriptions: the patient's, the visit's, the pharmacy's worklist and the
current medications they make."""

import datetime
import re
from typing import Any

from django.db.models import F, OuterRef, Prefetch, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils import timezone

from clinical.models import (
    AllergyWarning,
    Dispensation,
    Prescription,
    PrescriptionItem,
    Visit,
)
from clinicos.models import Clinic, User
from patients.identity import search_key
from patients.models import Patient
from patients.selectors import patients_visible_to

# --- Prescriptions ---------------------------------------------------------------------------


def prescription_get_for_user(*, user: User, clinic: Clinic, pk) -> Prescription:
    visible = patients_visible_to(user=user, clinic=clinic).values("pk")
    prescription = (
        Prescription.objects.for_clinic(clinic)
        .select_related("patient", "visit", "doctor__user", "doctor__department", "clinic", "supersedes")
        .filter(pk=pk, patient__in=visible)
        .first()
    )
    if prescription is None:
        raise Http404("No such prescription.")
    return prescription


def prescription_items(prescription: Prescription) -> list[Any]:
    """The items with their warnings and what has been dispensed (``dispensed``, ``left``)."""
    items: list = list(
        prescription.items.select_related("formulary_item")
        .prefetch_related(Prefetch("warnings", queryset=AllergyWarning.objects.select_related("acknowledged_by")))
        .annotate(dispensed=Coalesce(Sum("dispensations__quantity"), 0))
        .order_by("position", "id")
    )
    for item in items:
        item.left = item.quantity - item.dispensed
    return items


def prescriptions_of_patient(*, patient: Patient) -> QuerySet[Prescription]:
    return (
        Prescription.objects.filter(clinic_id=patient.clinic_id, patient=patient)
        .select_related("doctor__user", "visit", "supersedes")
        .prefetch_related("items")
        .order_by("-created_at", "-id")
    )


def prescription_of_visit(*, visit: Visit) -> Prescription | None:
    """The visit's prescription being written, else its finalized one."""
    prescriptions = {
        p.status: p
        for p in Prescription.objects.filter(
            clinic_id=visit.clinic_id, visit=visit, status__in=[Prescription.Status.DRAFT, Prescription.Status.FINALIZED]
        ).select_related("doctor__user", "supersedes")
    }
    return prescriptions.get(Prescription.Status.DRAFT) or prescriptions.get(Prescription.Status.FINALIZED)


def pharmacy_worklist(*, clinic: Clinic, search: str = "") -> QuerySet[Prescription]:
    """Finalized prescriptions still valid, with something left to dispense, newest first."""
    today = timezone.localdate(timezone=clinic.tzinfo)
    dispensed = Dispensation.objects.filter(item__prescription=OuterRef("pk")).values("item__prescription").annotate(total=Sum("quantity"))
    prescribed = PrescriptionItem.objects.filter(prescription=OuterRef("pk")).values("prescription").annotate(total=Sum("quantity"))
    rows = (
        Prescription.objects.for_clinic(clinic)
        .filter(status=Prescription.Status.FINALIZED, valid_until__gte=today)
        .annotate(
            prescribed_total=Coalesce(Subquery(prescribed.values("total")), 0),
            dispensed_total=Coalesce(Subquery(dispensed.values("total")), 0),
        )
        .filter(prescribed_total__gt=F("dispensed_total"))
        .select_related("patient", "doctor__user")
        .prefetch_related("items")
        .order_by("-finalized_at", "-id")
    )
    search = search.strip()
    if search:
        rows = rows.filter(
            Q(reference__iexact=search) | Q(patient__uhid__iexact=search) | Q(patient__search_name__startswith=search_key(search))
        )
    return rows


_COURSE = re.compile(r"(\d{1,3})\s*(day|d|week|wk|w|month|mo)s?\b", re.IGNORECASE)
_DAYS_PER = {"day": 1, "d": 1, "week": 7, "wk": 7, "w": 7, "month": 30, "mo": 30}


def course_end(duration: str, started: datetime.date) -> datetime.date | None:
    """The last day of a course written as "5 days", "2 weeks", "1 month" (None for "as
    needed", "ongoing" and anything else: then the prescription's validity is the end)."""
    match = _COURSE.search(duration or "")
    if match is None or int(match.group(1)) == 0:
        return None
    return started + datetime.timedelta(days=int(match.group(1)) * _DAYS_PER[match.group(2).lower()] - 1)


def current_prescribed_medicines(*, patient: Patient) -> list[PrescriptionItem]:
    """The items of the patient's valid finalized prescriptions whose course is still running
    (a 5-day course ends after 5 days, not when the prescription stops being valid): the
    current medications prescribed here, beside those in the history list. Each carries
    ``until``, the day it ends."""
    zone = patient.clinic.tzinfo
    today = timezone.localdate(timezone=zone)
    items = (
        PrescriptionItem.objects.filter(
            clinic_id=patient.clinic_id,
            prescription__patient=patient,
            prescription__status=Prescription.Status.FINALIZED,
            prescription__valid_until__gte=today,
        )
        .select_related("prescription")
        .order_by("medicine")
    )
    running = []
    for item in items:
        issued = item.prescription.finalized_at or item.prescription.created_at
        end = course_end(item.duration, timezone.localdate(issued, timezone=zone))
        item.until = min(end, item.prescription.valid_until) if end else item.prescription.valid_until
        if item.until >= today:
            running.append(item)
    return running
