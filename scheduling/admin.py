from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from scheduling.models import Appointment, AvailabilityException, WorkingHours


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
