"""The outbox's worker task: send what is due at one clinic, inside that clinic's scope.
``manage.py worker`` runs ``dispatch_due`` every few seconds (each clinic with something
due, one after another); a message due now (a login code) also enqueues the task at once."""

import logging

from django.tasks import task
from django_scopes import scope

from clinicos.messaging import services
from clinicos.models import Clinic

logger = logging.getLogger(__name__)


@task
def send_due_messages(clinic_id: int) -> int:
    clinic = Clinic.objects.filter(pk=clinic_id).first()
    if clinic is None:
        return 0
    with scope(clinic=clinic):
        return services.send_due(clinic=clinic)


def dispatch_due() -> int:
    """Every clinic with messages due, each in its own scope; how many left."""
    handed = 0
    for clinic_id in services.clinics_with_due_messages():
        try:
            handed += send_due_messages.call(clinic_id)
        except Exception:  # one clinic's trouble must not hold up the others
            logger.exception("Sending the due messages of clinic %s failed", clinic_id)
    return handed
