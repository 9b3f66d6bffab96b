from django.apps import AppConfig


class ReportingConfig(AppConfig):
    name = "reporting"

    def ready(self):
        from clinicos import enums, navigation
        from clinicos.roles import Perm
        from reporting.models import Report, ReportType

        enums.register("report_types", ReportType)
        enums.register("report_statuses", Report.Status)
        navigation.register(navigation.NavItem("Reports", "report_list", Perm.REPORTS_VIEW, order=70))
