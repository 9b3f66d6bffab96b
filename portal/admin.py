from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from clinicos.admin import ReadOnlyAdmin
from portal.models import LoginCode, OnlineBooking, PortalToken


@admin.register(OnlineBooking)
class OnlineBookingAdmin(SimpleHistoryAdmin):
    list_display = ("clinic", "is_enabled", "days_ahead", "earliest_minutes", "notice_hours")
    list_select_related = ("clinic",)
    filter_horizontal = ("doctors",)


@admin.register(LoginCode)
class LoginCodeAdmin(ReadOnlyAdmin):
    """Who asked for codes, when and from where (the codes themselves are never kept)."""

    list_display = ("created_at", "channel", "address", "is_deliverable", "attempts", "used_at", "requested_ip")
    list_filter = ("channel", "is_deliverable")
    search_fields = ("address",)
    exclude = ("code_hash",)


@admin.register(PortalToken)
class PortalTokenAdmin(ReadOnlyAdmin):
    list_display = ("address", "created_at", "expires_at", "revoked_at", "last_used_at")
    search_fields = ("address",)
    exclude = ("key_hash",)
