from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "Patient portal"

    def ready(self):
        from clinicos import navigation

        navigation.register_settings_tab("Online booking", "online_booking_settings")
