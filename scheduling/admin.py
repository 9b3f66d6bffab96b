from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from scheduling.models import Appointment, AvailabilityException, Recall, WaitlistEntry, WorkingHours


@admin.register(Appointment)
class AppointmentAdmin(SimpleHistoryAdmin):
    list_display = ("reference", "clinic", "doctor", "starts_at", "status", "type")
    list_filter = ("clinic", "status", "type")
    search_fields = ("reference", "walk_in_name", "patient__uhid")
    list_select_related = ("clinic", "doctor__user")
    readonly_fields = ("reference",)


@admin.register(WorkingHours)
class WorkingHoursAdmin(SimpleHistoryAdmin):
    list_display = ("doctor", "clinic", "weekday", "start_time", "end_time", "slot_minutes")
    list_filter = ("clinic", "weekday")
    list_select_related = ("clinic", "doctor__user")


@admin.register(AvailabilityException)
class AvailabilityExceptionAdmin(SimpleHistoryAdmin):
    list_display = ("date", "kind", "doctor", "clinic", "start_time", "end_time", "reason")
    list_filter = ("clinic", "kind")


@admin.register(Recall)
class RecallAdmin(SimpleHistoryAdmin):
    list_display = ("due_date", "clinic", "patient", "reason", "status")
    list_filter = ("clinic", "status")
    list_select_related = ("clinic", "patient")
    raw_id_fields = ("patient", "doctor", "appointment")


@admin.register(WaitlistEntry)
class WaitlistEntryAdmin(SimpleHistoryAdmin):
    list_display = ("created_at", "clinic", "patient", "doctor", "earliest_date", "latest_date", "urgent", "status")
    list_filter = ("clinic", "status", "urgent")
    list_select_related = ("clinic", "patient", "doctor__user")
    raw_id_fields = ("patient", "doctor", "appointment")
