from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from simple_history.admin import SimpleHistoryAdmin

from clinicos import services
from clinicos.messaging.models import MessageRules, OutboundMessage
from clinicos.models import (
    ApiToken,
    AuditLog,
    Clinic,
    Department,
    DoctorProfile,
    Membership,
    ReadAccessLog,
    Resource,
    User,
)
from clinicos.roles import Role


class UserCreationForm(AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email", "full_name", "phone")


class UserEditForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


class MembershipForm(forms.ModelForm):
    roles = forms.MultipleChoiceField(choices=Role.choices, widget=forms.CheckboxSelectMultiple)

    class Meta:
        model = Membership
        fields = ("clinic", "user", "roles", "is_active")


class MembershipInline(admin.TabularInline):
    model = Membership
    fk_name = "user"
    form = MembershipForm
    extra = 0
    autocomplete_fields = ("clinic",)


@admin.register(User)
class UserAdmin(SimpleHistoryAdmin, DjangoUserAdmin):
    add_form = UserCreationForm
    form = UserEditForm
    ordering = ("email",)
    list_display = ("email", "full_name", "phone", "is_active", "is_staff", "last_login")
    list_filter = ("is_active", "is_staff", "is_superuser", "memberships__clinic")
    search_fields = ("email", "full_name", "phone")
    inlines = (MembershipInline,)

    def save_formset(self, request, form, formset, change):
        super().save_formset(request, form, formset, change)
        _end_tokens_of_deactivated(formset.forms)

    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Person", {"fields": ("full_name", "phone")}),
        ("Platform access", {"fields": ("is_active", "is_staff", "is_superuser")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "full_name", "phone", "password1", "password2")}),)
    readonly_fields = ("last_login", "date_joined")


@admin.register(Clinic)
class ClinicAdmin(SimpleHistoryAdmin):
    list_display = ("code", "name", "city", "country", "timezone", "currency", "status")
    list_filter = ("status", "country", "require_admin_mfa")
    search_fields = ("code", "name", "city")
    ordering = ("code",)


@admin.register(Membership)
class MembershipAdmin(SimpleHistoryAdmin):
    form = MembershipForm
    list_display = ("user", "clinic", "roles_display", "is_active")
    list_filter = ("clinic", "is_active")
    search_fields = ("user__email", "user__full_name", "clinic__code", "clinic__name")
    autocomplete_fields = ("user", "clinic")
    list_select_related = ("user", "clinic")

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        _end_tokens_of_deactivated([form])


def _end_tokens_of_deactivated(forms) -> None:
    """A membership switched off in the admin ends the user's sessions and API tokens and
    takes a doctor out of booking, as the service does for the app. (The platform
    administrator may leave a clinic without an administrator; the app may not.)"""
    for form in forms:
        if not form.instance.pk or not {"is_active", "roles"} & set(form.changed_data):
            continue
        services.doctor_profile_sync(form.instance)
        if "is_active" in form.changed_data and not form.instance.is_active:
            services.user_sign_out_everywhere(user=form.instance.user)


@admin.register(DoctorProfile)
class DoctorProfileAdmin(SimpleHistoryAdmin):
    list_display = ("user", "clinic", "specialization", "registration_number", "consultation_fee", "is_public", "is_active")
    list_filter = ("clinic", "is_active", "is_public", "specialization")
    search_fields = ("user__full_name", "user__email", "registration_number", "specialization")
    autocomplete_fields = ("user", "clinic")
    list_select_related = ("user", "clinic")


@admin.register(Department)
class DepartmentAdmin(SimpleHistoryAdmin):
    list_display = ("name", "clinic")
    list_filter = ("clinic",)
    search_fields = ("name", "clinic__code")
    list_select_related = ("clinic",)


@admin.register(Resource)
class ResourceAdmin(SimpleHistoryAdmin):
    list_display = ("name", "kind", "clinic", "department", "is_active")
    list_filter = ("clinic", "kind", "is_active")
    search_fields = ("name", "clinic__code")
    list_select_related = ("clinic", "department")


class ReadOnlyAdmin(admin.ModelAdmin):
    """Audit records can be read, never added, changed or deleted."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AuditLog)
class AuditLogAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "clinic", "user", "action", "entity_name", "entity_repr", "ip_address")
    list_filter = ("action", "entity_type", "clinic")
    search_fields = ("entity_repr", "user__email", "entity_id")
    date_hierarchy = "created_at"
    list_select_related = ("clinic", "user")


@admin.register(ReadAccessLog)
class ReadAccessLogAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "clinic", "user", "action", "entity_repr", "ip_address")
    list_filter = ("action", "entity_type", "clinic")
    search_fields = ("entity_repr", "user__email", "entity_id")
    date_hierarchy = "created_at"
    list_select_related = ("clinic", "user")


@admin.register(ApiToken)
class ApiTokenAdmin(ReadOnlyAdmin):
    list_display = ("user", "created_at", "expires_at", "revoked_at", "last_used_at")
    search_fields = ("user__email",)
    list_select_related = ("user",)
    exclude = ("key_hash",)


@admin.register(OutboundMessage)
class OutboundMessageAdmin(ReadOnlyAdmin):
    """The outbox, read only: a message is changed by the worker, a delivery report or
    "send again" on the clinic's Messages page — never by hand."""

    list_display = ("scheduled_for", "clinic", "kind", "channel", "status", "attempts", "sent_at", "last_error")
    list_filter = ("status", "kind", "channel", "clinic")
    search_fields = ("provider_id", "dedup_key")
    exclude = ("body", "recipient")  # a login code, a phone number: not for the platform's staff
    date_hierarchy = "scheduled_for"
    list_select_related = ("clinic",)


@admin.register(MessageRules)
class MessageRulesAdmin(SimpleHistoryAdmin):
    list_display = ("clinic", "sms_enabled", "email_enabled", "whatsapp_enabled", "quiet_start", "quiet_end")
    list_select_related = ("clinic",)
