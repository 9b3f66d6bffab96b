"""The notification centre in the JSON API (/api/v1/clinics/{code}/notifications): each
member of staff reads and marks their own notifications; anyone else's is a 404."""

import datetime

from ninja import Router, Schema

from clinicos import selectors, services
from clinicos.api import clinic_context
from clinicos.models import Notification
from clinicos.roles import Perm

router = Router(tags=["notifications"])


class NotificationOut(Schema):
    id: int
    kind: str
    title: str
    url: str
    created_at: datetime.datetime
    read_at: datetime.datetime | None


def notification_out(notification: Notification) -> dict:
    return {field: getattr(notification, field) for field in NotificationOut.model_fields} | {"id": notification.pk}


@router.get("/{code}/notifications", response=list[NotificationOut])
def notification_list(request, code: str, unread: bool = False):
    """The caller's notifications in this clinic, newest first (at most 100);
    ``unread=1`` for the unread ones only."""
    ctx = clinic_context(request, code, Perm.DASHBOARD_VIEW)
    notifications = selectors.notifications_of(clinic=ctx.clinic, user=ctx.user, unread_only=unread)[:100]
    return [notification_out(n) for n in notifications]


@router.post("/{code}/notifications/{notification_id}/read", response=NotificationOut)
def notification_read(request, code: str, notification_id: int):
    """Mark one of the caller's notifications read (again: no change)."""
    ctx = clinic_context(request, code, Perm.DASHBOARD_VIEW)
    notification = selectors.notification_get(clinic=ctx.clinic, user=ctx.user, pk=notification_id)
    return notification_out(services.notification_mark_read(notification=notification))
