from django.apps import AppConfig


class ReportingConfig(AppConfig):
    name = "reporting"

    def ready(self):
        from clinicos import enums, navigation
        from clinicos.roles import Perm

        navigation.register_settings_tab("Import", "import_list")
        navigation.register_settings_tab("Data export", "data_export_list")
        from clinicos.worker import register_recovery
        from reporting.models import Report, ReportType
        from reporting.services import reports_recover_stuck

        register_recovery(reports_recover_stuck)  # a killed worker's report is queued again
        enums.register("report_types", ReportType)
        enums.register("report_statuses", Report.Status)
        navigation.register(navigation.NavItem("Reports", "report_list", Perm.REPORTS_VIEW, order=70))

        navigation.register_dashboard_panel(
            navigation.DashboardPanel(
                "clinic_analytics",
                "reporting/_dashboard_admin.html",
                Perm.REPORTS_VIEW,
                _admin_dashboard,
                order=40,
            )
        )


def _admin_dashboard(request) -> dict:
    """The range from ``?date_from=&date_to=`` (this month by default; a bad range says so
    and shows this month)."""
    from reporting.dashboards import admin_dashboard
    from reporting.forms import DashboardRangeForm

    today = request.clinic.today()
    chosen = "date_from" in request.GET or "date_to" in request.GET
    form = DashboardRangeForm(request.GET if chosen else None, initial={"date_from": today.replace(day=1), "date_to": today})
    first, last = today.replace(day=1), today
    if chosen and form.is_valid():
        first, last = form.cleaned_data["date_from"], form.cleaned_data["date_to"]
    return {"form": form, **admin_dashboard(request.clinic, first, last)}
