"""Reading the outbox: a clinic's messages (by status and kind), a patient's, an appointment's."""

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from clinicos.messaging.choices import MessageStatus
from clinicos.messaging.models import OutboundMessage
from clinicos.models import Clinic


def messages_of_clinic(
    *,
    clinic: Clinic,
    status: str | None = None,
    kind: str | None = None,
    patient_id: int | None = None,
    subject: tuple[str, int] | None = None,
) -> QuerySet[OutboundMessage]:
    found = OutboundMessage.objects.for_clinic(clinic).select_related("clinic").order_by("-scheduled_for", "-id")
    if status:
        found = found.filter(status=status)
    if kind:
        found = found.filter(kind=kind)
    if patient_id is not None:
        found = found.filter(patient_id=patient_id)
    if subject is not None:
        found = found.filter(subject_type=subject[0], subject_id=subject[1])
    return found


def failed_count(*, clinic: Clinic) -> int:
    return OutboundMessage.objects.for_clinic(clinic).filter(status__in=[MessageStatus.FAILED, MessageStatus.UNDELIVERED]).count()


def message_get(*, clinic: Clinic, pk: int) -> OutboundMessage:
    return get_object_or_404(OutboundMessage.objects.for_clinic(clinic).select_related("clinic"), pk=pk)
