from django.apps import AppConfig


class ClinicosConfig(AppConfig):
    name = "clinicos"
    verbose_name = "ClinicOS core"

    def ready(self):
        from clinicos import audit, enums, navigation  # noqa: F401  (audit connects its signal receivers)
        from clinicos.choices import Gender
        from clinicos.models import AuditLog, Clinic, Resource
        from clinicos.navigation import NavItem
        from clinicos.roles import Perm, Role

        navigation.register(NavItem("Dashboard", "dashboard", Perm.DASHBOARD_VIEW, order=0))
        navigation.register(NavItem("Settings", "clinic_settings", Perm.SETTINGS_MANAGE, order=90))
        navigation.register(NavItem("Audit", "audit_log", Perm.AUDIT_VIEW, order=95))
        navigation.register(NavItem("Messages", "message_list", Perm.MESSAGES_VIEW, order=86))
        navigation.register_settings_tab("Messages", "message_settings")

        enums.register("roles", Role)
        enums.register("genders", Gender)
        enums.register("clinic_statuses", Clinic.Status)
        enums.register("resource_kinds", Resource.Kind)
        enums.register("audit_actions", AuditLog.Action)

        from clinicos.messaging import services as messaging
        from clinicos.messaging.choices import Channel, MessageKind, MessageStatus
        from clinicos.messaging.tasks import dispatch_due
        from clinicos.worker import register_periodic, register_recovery

        register_periodic(dispatch_due)  # the outbox: what is due leaves within seconds
        register_recovery(lambda cutoff: messaging.recover_expired_leases())  # a dead worker's messages
        enums.register("message_kinds", MessageKind)
        enums.register("message_channels", Channel)
        enums.register("message_statuses", MessageStatus)
