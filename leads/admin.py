from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from leads.models import Lead, LeadApiKey, LeadOption


@admin.register(Lead)
class LeadAdmin(SimpleHistoryAdmin):
    list_display = ("name", "clinic", "status", "source", "inquiry", "assigned_to", "date_added")
    list_filter = ("clinic", "status", "source", "inquiry")
    search_fields = ("name", "phone", "email")
    list_select_related = ("clinic", "assigned_to")
    readonly_fields = ("converted_patient", "duplicate_of_lead", "duplicate_of_patient", "status")


@admin.register(LeadOption)
class LeadOptionAdmin(SimpleHistoryAdmin):
    list_display = ("label", "kind", "clinic", "is_active")
    list_filter = ("clinic", "kind")


@admin.register(LeadApiKey)
class LeadApiKeyAdmin(SimpleHistoryAdmin):
    list_display = ("name", "prefix", "clinic", "created_at", "revoked_at", "last_used_at")
    list_filter = ("clinic",)
    readonly_fields = ("prefix", "created_at", "last_used_at")
