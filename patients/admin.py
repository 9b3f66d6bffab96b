from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from clinicos.admin import ReadOnlyAdmin
from patients.models import Document, InsuranceProvider, Patient


@admin.register(InsuranceProvider)
class InsuranceProviderAdmin(SimpleHistoryAdmin):
    list_display = ("name", "clinic", "contact_person", "phone", "is_active")
    list_filter = ("clinic", "is_active")
    search_fields = ("name", "clinic__code")
    list_select_related = ("clinic",)


@admin.register(Patient)
class PatientAdmin(SimpleHistoryAdmin):
    """For platform support: identity fields only; clinics manage patients in the app."""

    list_display = ("uhid", "first_name", "last_name", "clinic", "gender", "registration_date", "status")
    list_filter = ("clinic", "status", "gender")
    search_fields = ("uhid", "search_name", "mobile")
    list_select_related = ("clinic",)
    readonly_fields = ("uhid", "clinic", "created_by", "person")
    exclude = ("national_id_encrypted", "national_id_hash")

    def has_delete_permission(self, request, obj=None):
        return False  # patients are archived, never deleted


@admin.register(Document)
class DocumentAdmin(ReadOnlyAdmin):
    list_display = ("name", "document_type", "patient", "clinic", "uploaded_at", "is_deleted")
    list_filter = ("clinic", "document_type", "is_deleted")
    search_fields = ("name", "patient__uhid")
    list_select_related = ("patient", "clinic")
    exclude = ("file",)
