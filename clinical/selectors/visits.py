"""Reads of visits, vital signs and the medical history."""

from django.db.models import Q, QuerySet
from django.http import Http404
from django.urls import reverse

from clinical.models import (
    Visit,
    VitalSigns,
)
from clinical.services import HISTORY_LISTS
from clinicos.models import Clinic, User
from clinicos.roles import Perm
from patients.chart import ChartNotice
from patients.models import Patient
from patients.selectors import patients_visible_to

# --- Visits, vital signs and the medical history --------------------------------------------


def visit_get_for_user(*, user: User, clinic: Clinic, pk) -> Visit:
    visible = patients_visible_to(user=user, clinic=clinic).values("pk")
    visit = (
        Visit.objects.for_clinic(clinic)
        .select_related(
            *("patient__clinic", "patient__assigned_doctor__user", "patient__allergy_statement"),
            *("doctor__user", "appointment", "note", "clinic"),
        )
        .filter(pk=pk, patient__in=visible)
        .first()
    )
    if visit is None:
        raise Http404("No such visit.")
    return visit


def vitals_of_patient(*, patient: Patient) -> QuerySet[VitalSigns]:
    return (
        VitalSigns.objects.filter(clinic_id=patient.clinic_id, patient=patient)
        .select_related("recorded_by")
        .order_by("-recorded_at", "-id")
    )


def vitals_of_visit(*, visit: Visit) -> QuerySet[VitalSigns]:
    return VitalSigns.objects.filter(clinic_id=visit.clinic_id, visit=visit).select_related("recorded_by").order_by("-recorded_at", "-id")


def vitals_of_visit_and_latest(*, visit: Visit) -> tuple[list[VitalSigns], VitalSigns | None]:
    """The visit's vitals and the patient's latest (often one of them), in one query."""
    latest = vitals_of_patient(patient=visit.patient).values("pk")[:1]
    rows = list(vitals_of_patient(patient=visit.patient).filter(Q(visit=visit) | Q(pk__in=latest)))
    return [vitals for vitals in rows if vitals.visit_id == visit.pk], (rows[0] if rows else None)


def history_items(*, kind: str, patient: Patient) -> QuerySet:
    model, _fields = HISTORY_LISTS[kind]
    return model.objects.filter(clinic_id=patient.clinic_id, patient=patient).select_related("recorded_by")


def history_item_get(*, kind: str, patient: Patient, pk):
    model, _fields = HISTORY_LISTS[kind]
    item = model.objects.filter(clinic_id=patient.clinic_id, patient=patient, pk=pk).first()
    if item is None:
        raise Http404
    return item


def open_visit_notices(membership, patient: Patient) -> list[ChartNotice]:
    """The chart's way back to a consultation in progress, for those who may open visits:
    the reader's own open visit first ("Back to the visit"), else whoever's it is."""
    if not membership.has_perm_in_clinic(Perm.CLINICAL_VIEW):
        return []
    open_visits = (
        Visit.objects.for_clinic(membership.clinic)
        .filter(patient=patient, status=Visit.Status.IN_PROGRESS)
        .select_related("doctor__user")
        .order_by("started_at")
    )
    notices = []
    for visit in open_visits[:3]:
        mine = visit.doctor.user_id == membership.user_id
        notices.append(
            ChartNotice(
                text=f"Visit {visit.reference} is in progress{'' if mine else f' with {visit.doctor}'}.",
                link_label="Back to the visit" if mine else "Open the visit",
                url=reverse("visit_detail", args=[membership.clinic.code, visit.pk]),
            )
        )
    return notices
